// The host shim: why a host cannot reach its own macvlan/macvtap guests, and
// the one-call fix (a bridge-mode macvlan with an address and routes).
import { parseCidr, parseDst } from './addr_route.js';
import { asErrorOf, hintOf, NetlinkError } from './errors.js';
import { Handle, stepwiseOn, undoCreate } from './handle.js';
import type { Link } from './link.js';
import { arrayOf, type LinkRef, invalidType, invalidValue, linkName, linkRef, plainObject, showRef, unicastMac } from './validate.js';

/** What `hostShim` takes. */
export interface HostShimOptions {
  /** The lower the guests' macvlan/macvtap links sit on. */
  lower: LinkRef;
  /** Default: the kernel picks 'mvshim%d'. */
  name?: string;
  /** The shim's address with prefix, e.g. '192.0.2.254/32'. */
  address: string;
  /** Guests or networks to reach through the shim: '192.0.2.10' (a /32), '198.51.100.0/24', IPv6 too. */
  routes?: string[];
  /** The shim's MAC, unicast; omitted: the kernel picks a random one. */
  mac?: string;
}

/**
 * Frames from a macvlan/macvtap to its lower's own address never come back up
 * the host's stack, so the host cannot reach its guests. This makes a
 * bridge-mode macvlan on the same lower, gives it `address`, brings it up and
 * routes `routes` through it. All or nothing: if a step fails the shim is
 * deleted (its addresses and routes go with it) and the error is thrown.
 */
export async function hostShim(nl: Handle, options: HostShimOptions): Promise<Link> {
  if (!(nl instanceof Handle)) throw invalidType('nl', 'a Handle (from open())', nl);
  const o = plainObject(options, 'options', ['lower', 'name', 'address', 'routes', 'mac']);
  if (o.lower === undefined) throw invalidType('options.lower', 'a link name (string) or ifindex (number)', undefined);
  const lower = linkRef(o.lower, 'options.lower');
  const name = o.name === undefined ? 'mvshim%d' : linkName(o.name, 'options.name', true);
  const address = parseCidr(o.address, 'options.address');
  const mac = o.mac === undefined ? undefined : unicastMac(o.mac, 'options.mac');
  const routes =
    o.routes === undefined
      ? []
      : arrayOf(o.routes, 'options.routes', 'an array of addresses or CIDRs', (r, at) => {
          // 'default' is the shim address's family's.
          const dst = parseDst(r, at, address.family);
          return dst.prefixLength === (dst.family === 4 ? 32 : 128) ? dst.address : `${dst.address}/${dst.prefixLength}`;
        });

  const cidr = `${address.address}/${address.prefixLength}`;
  return stepwiseOn(nl, async () => {
    const shim = await nl.createMacvlan({ lower, name, mode: 'bridge', ...(mac ? { mac } : {}) });
    let step = `adding ${cidr} to the shim '${shim.name}'`;
    try {
      await nl.addAddress(shim.index, cidr, { nodad: address.family === 6 });
      step = `bringing the shim '${shim.name}' up`;
      await nl.setLink(shim.index, { up: true });
      for (const dst of routes) {
        step = `routing ${dst} through the shim '${shim.name}'`;
        await nl.addRoute({ dst, dev: shim.index });
      }
      step = `reading the shim '${shim.name}' back`;
      return await nl.getLink(shim.index);
    } catch (err) {
      await undoCreate(nl, shim.index);
      throw err instanceof NetlinkError ? shimError(err, `hostShim(lower ${showRef(lower)}, address '${cidr}')`, step) : err;
    }
  });
}

/**
 * A step's NetlinkError as hostShim's own: the step said in words (its
 * request named the shim by an ifindex that no longer exists) and the
 * rollback, after the step's own hint.
 */
function shimError(err: NetlinkError, operation: string, step: string): NetlinkError {
  const own = hintOf(err);
  return asErrorOf(err, operation, [`while ${step}`, ...(own ? [own] : []), 'the shim was removed again'].join('; '));
}

/** Removes a shim made by hostShim: deleting the link takes its address and routes with it. */
export async function removeHostShim(nl: Handle, ref: LinkRef): Promise<void> {
  if (!(nl instanceof Handle)) throw invalidType('nl', 'a Handle (from open())', nl);
  const r = linkRef(ref, 'ref');
  const asOurs = (e: unknown): never => {
    throw e instanceof NetlinkError ? asErrorOf(e, `removeHostShim(${showRef(r)})`) : e;
  };
  const link = await nl.getLink(r).catch(asOurs);
  if (link.kind !== 'macvlan')
    throw invalidValue('ref', `a macvlan host shim ('${link.name}' is ${link.kind ?? 'a link without a kind'})`, r);
  await nl.deleteLink(link.index).catch(asOurs);
}
