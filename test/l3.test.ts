// Kernel tests for addresses, routes and the host shim. Each test works in
// its own network namespaces (veth v0 <-> v1, both up) and checks what the
// library reports, and what it did, against `ip -j` (iproute2 6.1) and ping.
// Only documentation addresses: 192.0.2.0/24, 198.51.100.0/24, 2001:db8::/32.
import { execFileSync, spawnSync } from 'node:child_process';

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { NetlinkError, hostShim, open, removeHostShim, type Address, type Handle, type Route } from '../src/index.js';
// toLink/wifiWarning are internal (not re-exported by index.ts): the Wi-Fi
// warning is tested on the translation itself.
import { toLink, wifiWarning } from '../src/link.js';
import { TestScope } from './helpers/scope.js';
import { ipJson, NetnsSymlink, removeLeftoverNetns, requireKernelAccess, type TestNetns } from './helpers/netns.js';

/** Namespaces of this process: mvt-<TAG>-<random>; afterAll removes any left over. */
const TAG = `l3${process.pid}`;

// ---------------------------------------------------------------------------
// Per-test namespaces and handles, removed in afterEach.
// ---------------------------------------------------------------------------

const scope = new TestScope(TAG);
const netns = (options: { veth?: boolean } = {}): TestNetns => scope.netns(options);
const handleIn = (ns: TestNetns): Promise<Handle> => scope.handleIn(ns);

/** A fresh namespace with v0 <-> v1 up and a handle on it. */
async function setup(): Promise<{ ns: TestNetns; nl: Handle }> {
  const ns = netns();
  return { ns, nl: await handleIn(ns) };
}

beforeAll(() => {
  requireKernelAccess();
});

afterEach(() => scope.release());

afterAll(() => removeLeftoverNetns(TAG));

// ---------------------------------------------------------------------------
// The independent view: ip's JSON in the library's shapes.
// ---------------------------------------------------------------------------

interface IpAddrLink {
  ifindex: number;
  ifname: string;
  addr_info: { family: 'inet' | 'inet6'; local: string; address?: string; prefixlen: number }[];
}

interface IpRoute {
  dst: string;
  dev?: string;
  gateway?: string;
  metric?: number;
  type?: string;
  prefsrc?: string;
  tos?: string;
  via?: { host: string };
  nexthops?: { dev?: string; gateway?: string; via?: { host: string }; weight: number }[];
}

interface IpLinkBrief {
  ifindex: number;
  ifname: string;
}

/** `ip -j address show [dev X]` as Address[], sorted. */
function ipAddresses(ns: TestNetns, dev?: string): Address[] {
  const links = ipJson<IpAddrLink[]>('-n', ns.name, 'address', 'show', ...(dev === undefined ? [] : ['dev', dev]));
  return sortAddresses(
    links.flatMap((l) =>
      l.addr_info.map((a) => ({
        index: l.ifindex,
        family: a.family === 'inet6' ? (6 as const) : (4 as const),
        address: a.local,
        prefixLength: a.prefixlen,
        ...(a.address !== undefined && a.address !== a.local ? { peer: a.address } : {}),
      })),
    ),
  );
}

function sortAddresses(list: Address[]): Address[] {
  const key = (a: Address): string => `${a.index} ${a.family} ${a.address}/${a.prefixLength}`;
  return [...list].sort((a, b) => key(a).localeCompare(key(b)));
}

function ifindexes(ns: TestNetns): Map<string, number> {
  return new Map(ipJson<IpLinkBrief[]>('-n', ns.name, 'link', 'show').map((l) => [l.ifname, l.ifindex]));
}

/**
 * `ip [-6] -j route show [table N] [dev X]` as Route[]: ip prints a host
 * route's dst without a prefix ('198.51.100.7'), the library as a CIDR.
 */
function ipRoutes(ns: TestNetns, family: 4 | 6, filter: { table?: number; dev?: string } = {}): Route[] {
  const args = ['-n', ns.name, family === 6 ? '-6' : '-4', 'route', 'show'];
  if (filter.table !== undefined) args.push('table', String(filter.table));
  if (filter.dev !== undefined) args.push('dev', filter.dev);
  const index = ifindexes(ns);
  return sortRoutes(
    ipJson<IpRoute[]>(...args).map((r) => {
      const dst = r.dst === 'default' || r.dst.includes('/') ? r.dst : `${r.dst}/${family === 4 ? 32 : 128}`;
      const route: Route = { family, dst, table: filter.table ?? 254 };
      // Filtered by dev, ip leaves the dev out of each route.
      const dev = r.dev ?? filter.dev;
      if (dev !== undefined) {
        const i = index.get(dev);
        if (i === undefined) throw new Error(`ip names dev '${dev}', which it does not list`);
        route.dev = i;
      }
      // ip shows a next hop of another family (RTA_VIA) as via.host.
      const gateway = r.gateway ?? r.via?.host;
      if (gateway !== undefined) route.gateway = gateway;
      if (r.nexthops !== undefined) {
        route.nexthops = r.nexthops.map((h) => ({
          ...(h.dev === undefined ? {} : { dev: index.get(h.dev)! }),
          ...((h.gateway ?? h.via?.host) === undefined ? {} : { gateway: (h.gateway ?? h.via?.host)! }),
          weight: h.weight,
        }));
      }
      if (r.metric !== undefined) route.metric = r.metric;
      if (r.type !== undefined) route.type = r.type as Route['type'];
      if (r.prefsrc !== undefined) route.prefsrc = r.prefsrc;
      if (r.tos !== undefined) route.tos = Number(r.tos);
      return route;
    }),
  );
}

function sortRoutes(list: Route[]): Route[] {
  const key = (r: Route): string => `${r.family} ${r.table} ${r.dst} ${r.dev ?? ''} ${r.gateway ?? ''} ${r.metric ?? ''}`;
  return [...list].sort((a, b) => key(a).localeCompare(key(b)));
}

/** Only the fields ip can show, so the comparison is field by field on both sides. */
function comparable(list: Route[]): Route[] {
  return sortRoutes(
    list.map((r) => {
      const out: Route = { family: r.family, dst: r.dst, table: r.table };
      if (r.dev !== undefined) out.dev = r.dev;
      if (r.gateway !== undefined) out.gateway = r.gateway;
      if (r.nexthops !== undefined) out.nexthops = r.nexthops.map((h) => ({ ...h }));
      if (r.metric !== undefined) out.metric = r.metric;
      if (r.type !== undefined) out.type = r.type;
      if (r.prefsrc !== undefined) out.prefsrc = r.prefsrc;
      return out;
    }),
  );
}

/** Waits until ip shows the IPv6 link-local addresses of v0 and v1 (added when the carrier comes up), so dumps are stable. */
async function settleLinkLocal(ns: TestNetns): Promise<void> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const ll = ipAddresses(ns).filter((a) => a.family === 6 && a.address.startsWith('fe80:'));
    if (ll.length >= 2) return;
    if (Date.now() > deadline) throw new Error(`${ns.name}: v0/v1 never got their IPv6 link-local addresses`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function rejection(p: Promise<unknown>): Promise<Error & { code?: string }> {
  try {
    await p;
  } catch (err) {
    return err as Error & { code?: string };
  }
  throw new Error('expected a rejection, but the call succeeded');
}

/** iputils `ping`, or busybox's where iputils is not installed; neither is a failure, not a skip. */
let pingCommand: string[] | undefined;

function findPing(): string[] {
  for (const candidate of [['ping'], ['busybox', 'ping']]) {
    const r = spawnSync(candidate[0]!, [...candidate.slice(1), '-V'], { stdio: 'ignore' });
    if ((r.error as { code?: string } | undefined)?.code !== 'ENOENT') return candidate;
  }
  throw new Error('the host-shim tests need ping (apt-get install iputils-ping) or busybox');
}

/** `ping -c1 -W1` from inside a namespace: true when a reply came back. */
function pings(ns: TestNetns, address: string): boolean {
  pingCommand ??= findPing();
  try {
    execFileSync('ip', ['netns', 'exec', ns.name, ...pingCommand, '-c1', '-W1', address], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------
// Addresses
// ---------------------------------------------------------------------------

describe('addresses', () => {
  it('adds IPv4 and IPv6 (nodad) addresses as ip shows them, and deletes them', async () => {
    const { ns, nl } = await setup();
    const v0 = ifindexes(ns).get('v0')!;
    await settleLinkLocal(ns);

    await nl.addAddress('v0', '192.0.2.1/24');
    await nl.addAddress(v0, '2001:db8::1/64', { nodad: true });
    await nl.addAddress('v0', '198.51.100.7/32');

    const shown = ipAddresses(ns, 'v0');
    // The three we added are there as ip reports them (plus v0's link-local).
    expect(shown).toEqual(
      expect.arrayContaining([
        { index: v0, family: 4, address: '192.0.2.1', prefixLength: 24 },
        { index: v0, family: 6, address: '2001:db8::1', prefixLength: 64 },
        { index: v0, family: 4, address: '198.51.100.7', prefixLength: 32 },
      ]),
    );
    expect(sortAddresses(await nl.listAddresses('v0'))).toEqual(shown);
    expect(sortAddresses(await nl.listAddresses(v0))).toEqual(shown);

    // nodad: usable at once, not tentative (ip prints "nodad": true, no "tentative").
    const info = ipJson<{ addr_info: { local: string; nodad?: boolean; tentative?: boolean }[] }[]>(
      '-n',
      ns.name,
      'address',
      'show',
      'dev',
      'v0',
    )[0]!.addr_info.find((a) => a.local === '2001:db8::1')!;
    expect(info.nodad).toBe(true);
    expect(info.tentative).toBeUndefined();

    await nl.deleteAddress('v0', '192.0.2.1/24');
    await nl.deleteAddress(v0, '2001:db8::1/64');
    const after = ipAddresses(ns, 'v0');
    expect(after.map((a) => a.address)).not.toContain('192.0.2.1');
    expect(after.map((a) => a.address)).not.toContain('2001:db8::1');
    expect(after.map((a) => a.address)).toContain('198.51.100.7');
    expect(sortAddresses(await nl.listAddresses('v0'))).toEqual(after);
  });

  it('lists the addresses of every link without a ref', async () => {
    const { ns, nl } = await setup();
    await settleLinkLocal(ns);
    ns.ip('link', 'set', 'lo', 'up');
    ns.ip('address', 'add', '192.0.2.1/24', 'dev', 'v0');
    ns.ip('address', 'add', '192.0.2.2/24', 'dev', 'v1');
    ns.ip('address', 'add', '2001:db8:1::1/64', 'dev', 'v1', 'nodad');

    const shown = ipAddresses(ns);
    const index = ifindexes(ns);
    // Addresses on three links (lo: 127.0.0.1 and ::1).
    expect(new Set(shown.map((a) => a.index))).toEqual(new Set([index.get('lo'), index.get('v0'), index.get('v1')]));
    expect(sortAddresses(await nl.listAddresses())).toEqual(shown);
  });

  it('point-to-point addresses (a peer): made by ip and by the library, listed as ip shows them, deleted as listed', async () => {
    const { ns, nl } = await setup();
    await settleLinkLocal(ns);
    ns.ip('address', 'add', '192.0.2.1', 'peer', '192.0.2.2/32', 'dev', 'v0');
    ns.ip('address', 'add', '2001:db8:1::1', 'peer', '2001:db8:1::2/128', 'dev', 'v0', 'nodad');
    await nl.addAddress('v1', '198.51.100.1/32', { peer: '198.51.100.2' });
    await nl.addAddress('v1', '192.0.2.9/24');
    const shown = ipAddresses(ns).filter((a) => !a.address.startsWith('fe80:'));
    const peers = shown.flatMap((a) => (a.peer === undefined ? [] : [`${a.address} peer ${a.peer}/${a.prefixLength}`]));
    expect(peers.sort()).toEqual([
      '192.0.2.1 peer 192.0.2.2/32',
      '198.51.100.1 peer 198.51.100.2/32',
      '2001:db8:1::1 peer 2001:db8:1::2/128',
    ]);
    const listed = sortAddresses(await nl.listAddresses()).filter((a) => !a.address.startsWith('fe80:'));
    expect(listed).toEqual(shown);
    for (const a of listed) await nl.deleteAddress(a.index, `${a.address}/${a.prefixLength}`);
    expect(ipAddresses(ns).filter((a) => !a.address.startsWith('fe80:'))).toEqual([]);
    await expect(nl.addAddress('v1', '192.0.2.1/32', { peer: '2001:db8::1' })).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
  });

  it('rejects a duplicate address with NetlinkError EEXIST and the kernel text', async () => {
    const { ns, nl } = await setup();
    await nl.addAddress('v0', '192.0.2.1/24');
    const e4 = await rejection(nl.addAddress('v0', '192.0.2.1/24'));
    expect(e4).toBeInstanceOf(NetlinkError);
    expect(e4.code).toBe('EEXIST');
    expect((e4 as NetlinkError).errno).toBe(17);
    // The kernel says "ipv4: Address already assigned" (net/ipv4/devinet.c).
    expect(e4.message).toMatch(/Address already assigned/iu);
    expect(e4.message).toContain('192.0.2.1/24');

    await nl.addAddress('v0', '2001:db8::1/64', { nodad: true });
    const e6 = await rejection(nl.addAddress('v0', '2001:db8::1/64', { nodad: true }));
    expect(e6).toBeInstanceOf(NetlinkError);
    expect(e6.code).toBe('EEXIST');
    expect(e6.message).toMatch(/address already assigned/iu);

    // Deleting what is not there: EADDRNOTAVAIL, "ipv4: Address not found".
    const gone = await rejection(nl.deleteAddress('v0', '192.0.2.99/24'));
    expect(gone).toBeInstanceOf(NetlinkError);
    expect(gone.code).toBe('EADDRNOTAVAIL');
    expect(gone.message).toMatch(/Address not found/iu);

    // Nothing changed.
    expect(ipAddresses(ns, 'v0').filter((a) => a.address === '192.0.2.1' || a.address === '2001:db8::1')).toHaveLength(2);
  });
});

// ---------------------------------------------------------------------------
// Routes
// ---------------------------------------------------------------------------

/** A namespace with 192.0.2.1/24 and 2001:db8::1/64 on v0, so 192.0.2.2 and 2001:db8::2 are gateways. */
async function routedSetup(): Promise<{ ns: TestNetns; nl: Handle; v0: number; v1: number }> {
  const { ns, nl } = await setup();
  ns.ip('address', 'add', '192.0.2.1/24', 'dev', 'v0');
  ns.ip('address', 'add', '2001:db8::1/64', 'dev', 'v0', 'nodad');
  await settleLinkLocal(ns);
  const index = ifindexes(ns);
  return { ns, nl, v0: index.get('v0')!, v1: index.get('v1')! };
}

describe('routes', () => {
  it('adds IPv4 routes (dev, gateway, metric, table, default) as ip shows them', async () => {
    const { ns, nl, v0, v1 } = await routedSetup();
    await nl.addRoute({ dst: '198.51.100.0/25', dev: 'v0' });
    await nl.addRoute({ dst: '198.51.100.128/25', gateway: '192.0.2.2' });
    await nl.addRoute({ dst: '198.51.100.7', dev: v1, metric: 50 });
    await nl.addRoute({ dst: 'default', gateway: '192.0.2.2', dev: 'v0', metric: 10 });
    await nl.addRoute({ dst: '198.51.100.0/24', dev: 'v0', table: 100 });
    await nl.addRoute({ dst: 'default', gateway: '192.0.2.2', table: 100 });
    // Above 255 the table travels in RTA_TABLE (rtm_table is a u8).
    await nl.addRoute({ dst: '198.51.100.64/26', gateway: '192.0.2.3', table: 1000, metric: 7 });

    const main = ipRoutes(ns, 4);
    expect(main).toEqual(
      expect.arrayContaining([
        { family: 4, dst: '198.51.100.0/25', dev: v0, table: 254 },
        { family: 4, dst: '198.51.100.128/25', dev: v0, gateway: '192.0.2.2', table: 254 },
        { family: 4, dst: '198.51.100.7/32', dev: v1, metric: 50, table: 254 },
        { family: 4, dst: 'default', dev: v0, gateway: '192.0.2.2', metric: 10, table: 254 },
      ]),
    );
    expect(comparable(await nl.listRoutes({ family: 4 }))).toEqual(main);

    const t100 = ipRoutes(ns, 4, { table: 100 });
    expect(t100).toEqual(
      sortRoutes([
        { family: 4, dst: '198.51.100.0/24', dev: v0, table: 100 },
        { family: 4, dst: 'default', dev: v0, gateway: '192.0.2.2', table: 100 },
      ]),
    );
    expect(comparable(await nl.listRoutes({ table: 100, family: 4 }))).toEqual(t100);
    // Table 100 only has what we put there (IPv6 included: none).
    expect(comparable(await nl.listRoutes({ table: 100 }))).toEqual(t100);
    // Every route reports its table.
    for (const r of await nl.listRoutes({ table: 100 })) expect(r.table).toBe(100);

    const t1000 = ipRoutes(ns, 4, { table: 1000 });
    expect(t1000).toEqual([{ family: 4, dst: '198.51.100.64/26', dev: v0, gateway: '192.0.2.3', metric: 7, table: 1000 }]);
    expect(comparable(await nl.listRoutes({ table: 1000 }))).toEqual(t1000);
    await nl.deleteRoute({ dst: '198.51.100.64/26', gateway: '192.0.2.3', table: 1000, metric: 7 });
    expect(ipRoutes(ns, 4, { table: 1000 })).toEqual([]);
  });

  it('adds IPv6 routes (dev, gateway, metric, table, default) as ip -6 shows them', async () => {
    const { ns, nl, v0, v1 } = await routedSetup();
    await nl.addRoute({ dst: '2001:db8:1::/48', gateway: '2001:db8::2' });
    await nl.addRoute({ dst: '2001:db8:2::/64', dev: 'v1', metric: 77 });
    await nl.addRoute({ dst: '2001:db8:3::5', dev: 'v0' });
    await nl.addRoute({ dst: 'default', gateway: '2001:db8::2', dev: 'v0' });
    await nl.addRoute({ dst: '2001:db8:4::/64', gateway: '2001:db8::2', table: 100, metric: 5 });

    const main = ipRoutes(ns, 6);
    expect(main).toEqual(
      expect.arrayContaining([
        { family: 6, dst: '2001:db8:1::/48', dev: v0, gateway: '2001:db8::2', metric: 1024, table: 254 },
        { family: 6, dst: '2001:db8:2::/64', dev: v1, metric: 77, table: 254 },
        { family: 6, dst: '2001:db8:3::5/128', dev: v0, metric: 1024, table: 254 },
        { family: 6, dst: 'default', dev: v0, gateway: '2001:db8::2', metric: 1024, table: 254 },
      ]),
    );
    expect(comparable(await nl.listRoutes({ family: 6 }))).toEqual(main);

    const t100 = ipRoutes(ns, 6, { table: 100 });
    expect(t100).toEqual([{ family: 6, dst: '2001:db8:4::/64', dev: v0, gateway: '2001:db8::2', metric: 5, table: 100 }]);
    expect(comparable(await nl.listRoutes({ table: 100, family: 6 }))).toEqual(t100);
  });

  it('multipath and typed routes, made by ip and by the library, read back as ip shows them and delete as listed', async () => {
    const { ns, nl, v0, v1 } = await routedSetup();
    ns.ip('address', 'add', '198.51.100.1/24', 'dev', 'v1');
    ns.ip('route', 'add', '203.0.113.0/26', 'nexthop', 'via', '192.0.2.5', 'nexthop', 'via', '198.51.100.6', 'weight', '4');
    ns.ip('route', 'add', 'prohibit', '203.0.113.64/26', 'metric', '9');
    ns.ip('-6', 'route', 'add', '2001:db8:a::/48', 'nexthop', 'via', '2001:db8::5', 'nexthop', 'via', '2001:db8::6', 'weight', '2');
    await nl.addRoute({
      dst: '203.0.113.128/26',
      nexthops: [
        { gateway: '192.0.2.2', dev: 'v0' },
        { gateway: '198.51.100.3', weight: 3 },
      ],
    });
    await nl.addRoute({ dst: '203.0.113.192/26', type: 'blackhole' });
    await nl.addRoute({ dst: '198.51.100.128/25', type: 'unreachable', table: 100 });
    await nl.addRoute({ dst: '2001:db8:b::/48', nexthops: [{ gateway: '2001:db8::2' }, { gateway: '2001:db8::3', dev: v0, weight: 256 }] });
    await nl.addRoute({ dst: '2001:db8:c::/48', type: 'throw', metric: 3 });
    await nl.addRoute({ dst: '198.51.100.99', dev: 'v1', prefsrc: '198.51.100.1' });
    // IPv4 through IPv6 neighbours (RTA_VIA), made by ip and by the library.
    ns.ip('route', 'add', '198.51.100.32/28', 'via', 'inet6', '2001:db8::7', 'dev', 'v0');
    await nl.addRoute({ dst: '198.51.100.48/28', gateway: '2001:db8::8', dev: 'v0' });
    await nl.addRoute({ dst: '198.51.100.64/28', nexthops: [{ gateway: '2001:db8::9', dev: 'v0' }, { gateway: '192.0.2.9' }] });

    const v4 = ipRoutes(ns, 4);
    expect(v4).toEqual(
      expect.arrayContaining([
        {
          family: 4,
          dst: '203.0.113.0/26',
          table: 254,
          nexthops: [
            { dev: v0, gateway: '192.0.2.5', weight: 1 },
            { dev: v1, gateway: '198.51.100.6', weight: 4 },
          ],
        },
        { family: 4, dst: '203.0.113.64/26', table: 254, type: 'prohibit', metric: 9 },
        {
          family: 4,
          dst: '203.0.113.128/26',
          table: 254,
          nexthops: [
            { dev: v0, gateway: '192.0.2.2', weight: 1 },
            { dev: v1, gateway: '198.51.100.3', weight: 3 },
          ],
        },
        { family: 4, dst: '203.0.113.192/26', table: 254, type: 'blackhole' },
        { family: 4, dst: '198.51.100.99/32', table: 254, dev: v1, prefsrc: '198.51.100.1' },
        { family: 4, dst: '198.51.100.32/28', table: 254, dev: v0, gateway: '2001:db8::7' },
        { family: 4, dst: '198.51.100.48/28', table: 254, dev: v0, gateway: '2001:db8::8' },
        {
          family: 4,
          dst: '198.51.100.64/28',
          table: 254,
          nexthops: [
            { dev: v0, gateway: '2001:db8::9', weight: 1 },
            { dev: v0, gateway: '192.0.2.9', weight: 1 },
          ],
        },
      ]),
    );
    expect(comparable(await nl.listRoutes({ family: 4 }))).toEqual(v4);
    const v6 = ipRoutes(ns, 6);
    expect(v6).toEqual(
      expect.arrayContaining([
        {
          family: 6,
          dst: '2001:db8:b::/48',
          table: 254,
          metric: 1024,
          nexthops: [
            { dev: v0, gateway: '2001:db8::2', weight: 1 },
            { dev: v0, gateway: '2001:db8::3', weight: 256 },
          ],
        },
        expect.objectContaining({ family: 6, dst: '2001:db8:c::/48', table: 254, type: 'throw', metric: 3 }),
      ]),
    );
    expect(comparable(await nl.listRoutes({ family: 6 }))).toEqual(v6);
    expect(v6.find((r) => r.dst === '2001:db8:a::/48')?.nexthops).toHaveLength(2);
    const t100 = ipRoutes(ns, 4, { table: 100 });
    expect(t100).toEqual([{ family: 4, dst: '198.51.100.128/25', table: 100, type: 'unreachable' }]);
    expect(comparable(await nl.listRoutes({ table: 100 }))).toEqual(t100);
    // The kernel's own routes of the local table: typed, with their source.
    const local = ipRoutes(ns, 4, { table: 255 });
    expect(local).toEqual(
      expect.arrayContaining([{ family: 4, dst: '192.0.2.1/32', table: 255, dev: v0, type: 'local', prefsrc: '192.0.2.1' }]),
    );
    expect(comparable(await nl.listRoutes({ table: 255, family: 4 }))).toEqual(local);

    // Every multipath or typed route, passed back as listed, goes.
    for (const r of [...(await nl.listRoutes()), ...(await nl.listRoutes({ table: 100 }))]) {
      if (r.nexthops || (r.type && r.type !== 'local') || r.gateway?.includes(':')) await nl.deleteRoute(r);
    }
    const left = [...ipRoutes(ns, 4), ...ipRoutes(ns, 6), ...ipRoutes(ns, 4, { table: 100 })];
    expect(left.filter((r) => r.nexthops || r.type || (r.family === 4 && r.gateway?.includes(':')))).toEqual([]);
    expect(left.map((r) => r.dst)).toContain('198.51.100.99/32');
    // By dst alone, as ip route del: the first route to it.
    await nl.deleteRoute({ dst: '198.51.100.99' });
    expect(ipRoutes(ns, 4).map((r) => r.dst)).not.toContain('198.51.100.99/32');
  });

  it('filters by dev, family and table, and without a filter lists the main table of both families', async () => {
    const { ns, nl, v1 } = await routedSetup();
    ns.ip('address', 'add', '198.51.100.1/24', 'dev', 'v1');
    ns.ip('address', 'add', '2001:db8:9::1/64', 'dev', 'v1', 'nodad');
    await nl.addRoute({ dst: '192.0.2.128/25', dev: 'v1', metric: 3 });
    await nl.addRoute({ dst: '2001:db8:7::/48', dev: 'v1' });
    await nl.addRoute({ dst: '198.51.100.0/24', dev: 'v1', table: 100 });
    await nl.addRoute({ dst: '2001:db8:8::/48', dev: 'v0', table: 100 });

    const all = [...ipRoutes(ns, 4), ...ipRoutes(ns, 6)];
    expect(comparable(await nl.listRoutes())).toEqual(sortRoutes(all));

    const devV1 = sortRoutes([...ipRoutes(ns, 4, { dev: 'v1' }), ...ipRoutes(ns, 6, { dev: 'v1' })]);
    expect(devV1.length).toBeGreaterThanOrEqual(4);
    expect(devV1.every((r) => r.dev === v1)).toBe(true);
    expect(comparable(await nl.listRoutes({ dev: 'v1' }))).toEqual(devV1);
    expect(comparable(await nl.listRoutes({ dev: v1 }))).toEqual(devV1);
    expect(comparable(await nl.listRoutes({ dev: 'v1', family: 4 }))).toEqual(ipRoutes(ns, 4, { dev: 'v1' }));
    expect(comparable(await nl.listRoutes({ dev: 'v1', family: 6 }))).toEqual(ipRoutes(ns, 6, { dev: 'v1' }));

    const t100 = sortRoutes([...ipRoutes(ns, 4, { table: 100 }), ...ipRoutes(ns, 6, { table: 100 })]);
    expect(t100.map((r) => r.dst).sort()).toEqual(['198.51.100.0/24', '2001:db8:8::/48']);
    expect(comparable(await nl.listRoutes({ table: 100 }))).toEqual(t100);
    expect(comparable(await nl.listRoutes({ table: 100, dev: 'v1' }))).toEqual(ipRoutes(ns, 4, { table: 100, dev: 'v1' }));
    // A table nobody used is empty.
    expect(await nl.listRoutes({ table: 4242 })).toEqual([]);
  });

  it('deletes routes, and a missing one is a NetlinkError', async () => {
    const { ns, nl } = await routedSetup();
    await nl.addRoute({ dst: '198.51.100.0/24', gateway: '192.0.2.2', metric: 9 });
    await nl.addRoute({ dst: '198.51.100.0/24', dev: 'v1', table: 100 });
    await nl.addRoute({ dst: '2001:db8:1::/48', gateway: '2001:db8::2' });
    await nl.addRoute({ dst: 'default', gateway: '192.0.2.2' });

    await nl.deleteRoute({ dst: '198.51.100.0/24', gateway: '192.0.2.2', metric: 9 });
    await nl.deleteRoute({ dst: '198.51.100.0/24', dev: 'v1', table: 100 });
    await nl.deleteRoute({ dst: '2001:db8:1::/48', gateway: '2001:db8::2' });
    await nl.deleteRoute({ dst: 'default', gateway: '192.0.2.2' });

    const dsts = [...ipRoutes(ns, 4), ...ipRoutes(ns, 6), ...ipRoutes(ns, 4, { table: 100 })].map((r) => r.dst);
    expect(dsts).not.toContain('198.51.100.0/24');
    expect(dsts).not.toContain('2001:db8:1::/48');
    expect(dsts).not.toContain('default');
    // What the kernel made for the addresses is still there.
    expect(dsts).toContain('192.0.2.0/24');
    expect(dsts).toContain('2001:db8::/64');
    expect(comparable(await nl.listRoutes({ family: 4 }))).toEqual(ipRoutes(ns, 4));

    const missing = await rejection(nl.deleteRoute({ dst: '198.51.100.0/24', dev: 'v0' }));
    expect(missing).toBeInstanceOf(NetlinkError);
    expect(missing.code).toBe('ESRCH');
    expect(missing.message).toContain('198.51.100.0/24');
  });

  it('deletes each route listRoutes() gives, passed back as it is, the IPv6 default too', async () => {
    const { ns, nl } = await routedSetup();
    await nl.addRoute({ dst: 'default', dev: 'v1', table: 100 });
    await nl.addRoute({ dst: 'default', family: 6, dev: 'v1', table: 100 });
    await nl.addRoute({ dst: '198.51.100.0/24', gateway: '192.0.2.2', metric: 9, table: 100 });
    // Two routes to one dst that differ only in tos: each deletes as listed.
    ns.ip('route', 'add', '198.51.100.0/24', 'tos', '0x10', 'via', '192.0.2.3', 'metric', '9', 'table', '100');
    await nl.addRoute({ dst: '198.51.100.0/24', tos: 0x08, gateway: '192.0.2.4', metric: 9, table: 100 });
    const listed = await nl.listRoutes({ table: 100 });
    expect(sortRoutes(listed.filter((r) => r.family === 4))).toEqual(ipRoutes(ns, 4, { table: 100 }));
    expect(listed.flatMap((r) => (r.tos === undefined ? [] : [`${r.tos} via ${r.gateway!}`])).sort()).toEqual([
      '16 via 192.0.2.3',
      '8 via 192.0.2.4',
    ]);
    expect(
      listed
        .filter((r) => r.dst === 'default')
        .map((r) => r.family)
        .sort(),
    ).toEqual([4, 6]);
    expect(ipRoutes(ns, 6, { table: 100 }).map((r) => r.dst)).toContain('default');
    // IPv4's first: without the route's family, 'default' would mean IPv4's again.
    for (const route of listed.sort((a, b) => a.family - b.family)) await nl.deleteRoute(route);
    expect([...ipRoutes(ns, 4, { table: 100 }), ...ipRoutes(ns, 6, { table: 100 })]).toEqual([]);
    expect(await nl.listRoutes({ table: 100 })).toEqual([]);

    const mismatch = await rejection(nl.addRoute({ dst: '198.51.100.0/24', family: 6, dev: 'v1' }));
    expect(mismatch.code).toBe('ERR_INVALID_ARG_VALUE');
    expect(mismatch.message).toContain('route.family');
    const bad = await rejection(nl.addRoute({ dst: 'default', family: 5 as 4, dev: 'v1' }));
    expect(bad.code).toBe('ERR_INVALID_ARG_VALUE');
    const tos6 = await rejection(nl.addRoute({ dst: '2001:db8:9::/64', tos: 16, dev: 'v1' }));
    expect(tos6.message).toContain('route.tos');
    expect((await rejection(nl.addRoute({ dst: '198.51.100.0/24', tos: 256, dev: 'v1' }))).code).toBe('ERR_OUT_OF_RANGE');
  });
});

// ---------------------------------------------------------------------------
// Bad input, refused before the kernel; and kernel refusals
// ---------------------------------------------------------------------------

describe('bad input', () => {
  it('refuses malformed addresses and CIDRs with the field named', async () => {
    const { ns, nl } = await setup();
    const before = ipAddresses(ns);
    const cases: [unknown, string, RegExp][] = [
      ['192.0.2.300/24', 'ERR_INVALID_ARG_VALUE', /cidr/u],
      ['banana/24', 'ERR_INVALID_ARG_VALUE', /cidr/u],
      ['192.0.2.1', 'ERR_INVALID_ARG_VALUE', /cidr.*prefix length/u],
      ['2001:db8::1', 'ERR_INVALID_ARG_VALUE', /cidr.*prefix length/u],
      ['', 'ERR_INVALID_ARG_VALUE', /cidr/u],
      [42, 'ERR_INVALID_ARG_TYPE', /cidr/u],
      [undefined, 'ERR_INVALID_ARG_TYPE', /cidr/u],
    ];
    for (const [cidr, code, message] of cases) {
      const e = await rejection(nl.addAddress('v0', cidr as string));
      expect(e, `addAddress('v0', ${String(cidr)})`).toBeInstanceOf(TypeError);
      expect(e.code, `addAddress('v0', ${String(cidr)})`).toBe(code);
      expect(e.message).toMatch(message);
      const d = await rejection(nl.deleteAddress('v0', cidr as string));
      expect(d.code, `deleteAddress('v0', ${String(cidr)})`).toBe(code);
    }
    // A prefix that is not a number: either Node code is fair, as long as it is refused here.
    for (const cidr of ['192.0.2.1/24/8', '192.0.2.1/', '192.0.2.1/1e1', '192.0.2.1/x']) {
      const e = await rejection(nl.addAddress('v0', cidr));
      expect(e.code, cidr).toMatch(/^ERR_(INVALID_ARG_VALUE|OUT_OF_RANGE)$/u);
      expect(e.message, cidr).toContain('cidr');
    }
    expect(ipAddresses(ns)).toEqual(before);

    // Node's isIP() accepts a zone index ('%v0'); an rtnetlink address has none.
    const zoned = await rejection(nl.addAddress('v0', 'fe80::1%v0/64'));
    expect(zoned).toBeInstanceOf(TypeError);
    expect(zoned.code).toBe('ERR_INVALID_ARG_VALUE');
    expect(zoned.message).toContain('cidr');
  });

  it('refuses prefix lengths out of range with ERR_OUT_OF_RANGE', async () => {
    const { nl } = await setup();
    for (const cidr of ['192.0.2.1/33', '2001:db8::1/129', '192.0.2.1/-1', '2001:db8::1/1000', '198.51.100.0/99']) {
      const e = await rejection(nl.addAddress('v0', cidr));
      expect(e, cidr).toBeInstanceOf(RangeError);
      expect(e.code, cidr).toBe('ERR_OUT_OF_RANGE');
      expect(e.message, cidr).toMatch(/cidr.*prefix length from 0 to (32|128)/u);
    }
    const r = await rejection(nl.addRoute({ dst: '198.51.100.0/40', dev: 'v0' }));
    expect(r.code).toBe('ERR_OUT_OF_RANGE');
    expect(r.message).toContain('route.dst');
  });

  it('refuses a dst with host bits, saying which network was meant', async () => {
    const { ns, nl } = await setup();
    const e4 = await rejection(nl.addRoute({ dst: '198.51.100.7/24', dev: 'v0' }));
    expect(e4).toBeInstanceOf(TypeError);
    expect(e4.code).toBe('ERR_INVALID_ARG_VALUE');
    expect(e4.message).toContain('route.dst');
    expect(e4.message).toMatch(/did you mean '198\.51\.100\.0\/24'/u);

    const d4 = await rejection(nl.deleteRoute({ dst: '192.0.2.130/25', dev: 'v0' }));
    expect(d4.code).toBe('ERR_INVALID_ARG_VALUE');
    expect(d4.message).toMatch(/did you mean '192\.0\.2\.128\/25'/u);
    expect(ipRoutes(ns, 4)).toEqual([]);

    // IPv6: the suggestion is written the way people (and ip) write it.
    const e6 = await rejection(nl.addRoute({ dst: '2001:db8:1::7/48', dev: 'v0' }));
    expect(e6.code).toBe('ERR_INVALID_ARG_VALUE');
    expect(e6.message).toMatch(/did you mean '2001:db8:1::\/48'/u);
  });

  it('refuses an IPv4 gateway for an IPv6 route, a bad gateway, and a route with neither dev nor gateway', async () => {
    const { ns, nl } = await routedSetup();
    const before = [...ipRoutes(ns, 4), ...ipRoutes(ns, 6)];

    const wrong6 = await rejection(nl.addRoute({ dst: '2001:db8:1::/48', gateway: '192.0.2.2', dev: 'v0' }));
    expect(wrong6.code).toBe('ERR_INVALID_ARG_VALUE');
    expect(wrong6.message).toContain('route.gateway');
    expect(wrong6.message).toContain('IPv6');

    const notAnAddress = await rejection(nl.addRoute({ dst: '198.51.100.0/24', gateway: '192.0.2' }));
    expect(notAnAddress.code).toBe('ERR_INVALID_ARG_VALUE');
    expect(notAnAddress.message).toContain('route.gateway');

    const neither = await rejection(nl.addRoute({ dst: '198.51.100.0/24' }));
    expect(neither).toBeInstanceOf(TypeError);
    expect(neither.code).toBe('ERR_INVALID_ARG_VALUE');
    expect(neither.message).toMatch(/dev.*gateway/u);

    const malformed = await rejection(nl.addRoute({ dst: '198.51.100/24', dev: 'v0' }));
    expect(malformed.code).toBe('ERR_INVALID_ARG_VALUE');
    expect(malformed.message).toContain('route.dst');

    const typo = await rejection(nl.addRoute({ dst: '198.51.100.0/24', dev: 'v0', gw: '192.0.2.2' } as never));
    expect(typo.code).toBe('ERR_INVALID_ARG_VALUE');
    expect(typo.message).toContain('gw');

    const badMetric = await rejection(nl.addRoute({ dst: '198.51.100.0/24', dev: 'v0', metric: -1 }));
    expect(badMetric.code).toBe('ERR_OUT_OF_RANGE');
    expect(badMetric.message).toContain('route.metric');

    const badTable = await rejection(nl.listRoutes({ table: 0 }));
    expect(badTable.code).toBe('ERR_OUT_OF_RANGE');
    expect(badTable.message).toContain('filter.table');

    const badFamily = await rejection(nl.listRoutes({ family: 5 as 4 }));
    expect(badFamily.code).toBe('ERR_INVALID_ARG_VALUE');
    expect(badFamily.message).toContain('filter.family');

    expect([...ipRoutes(ns, 4), ...ipRoutes(ns, 6)]).toEqual(before);

    // Node's isIP() accepts a zone index ('%v0'); RTA_GATEWAY has none (the dev says where).
    const zoned = await rejection(nl.addRoute({ dst: '2001:db8:1::/48', gateway: 'fe80::1%v0', dev: 'v0' }));
    expect(zoned).toBeInstanceOf(TypeError);
    expect(zoned.code).toBe('ERR_INVALID_ARG_VALUE');
    expect(zoned.message).toContain('route.gateway');
  });

  it('validates before the kernel: the same bad calls on a closed handle give the argument error, not a closed-handle one', async () => {
    const { nl } = await setup();
    await nl.close();
    expect((await rejection(nl.addAddress('v0', '192.0.2.1/33'))).code).toBe('ERR_OUT_OF_RANGE');
    expect((await rejection(nl.addRoute({ dst: '198.51.100.7/24', dev: 'v0' }))).code).toBe('ERR_INVALID_ARG_VALUE');
    expect((await rejection(nl.addRoute({ dst: '198.51.100.0/24' }))).code).toBe('ERR_INVALID_ARG_VALUE');
    expect((await rejection(nl.addRoute({ dst: '2001:db8:1::/48', gateway: '192.0.2.2' }))).code).toBe('ERR_INVALID_ARG_VALUE');
    // And a good call on the closed handle is refused as such.
    expect((await rejection(nl.addAddress(1, '192.0.2.1/24'))).code).toBe('ERR_HANDLE_CLOSED');
  });

  it('passes kernel refusals back as NetlinkError with the kernel text', async () => {
    const { ns, nl } = await routedSetup();
    // No address covers 198.51.100.200: "Nexthop has invalid gateway", ENETUNREACH.
    const unreach = await rejection(nl.addRoute({ dst: '198.51.100.128/25', gateway: '198.51.100.200' }));
    expect(unreach).toBeInstanceOf(NetlinkError);
    expect(unreach.code).toBe('ENETUNREACH');
    expect((unreach as NetlinkError).errno).toBe(101);
    expect((unreach as NetlinkError).kernelMessage).toBe('Nexthop has invalid gateway');
    expect(unreach.message).toContain('Nexthop has invalid gateway');
    expect(unreach.message).toContain('198.51.100.128/25');
    expect(unreach.message).toContain('198.51.100.200');

    // The same route twice: EEXIST.
    await nl.addRoute({ dst: '198.51.100.0/24', dev: 'v0' });
    const dup = await rejection(nl.addRoute({ dst: '198.51.100.0/24', dev: 'v0' }));
    expect(dup).toBeInstanceOf(NetlinkError);
    expect(dup.code).toBe('EEXIST');

    // A dev that does not exist.
    const nodev = await rejection(nl.addRoute({ dst: '198.51.100.0/25', dev: 'nope0' }));
    expect(nodev).toBeInstanceOf(NetlinkError);
    expect(nodev.code).toBe('ENODEV');
    expect(nodev.message).toContain('nope0');

    expect(ipRoutes(ns, 4).map((r) => r.dst)).not.toContain('198.51.100.128/25');
  });
});

// ---------------------------------------------------------------------------
// The host shim
// ---------------------------------------------------------------------------

interface IpDetailLink {
  ifindex: number;
  ifname: string;
  link?: string;
  flags: string[];
  linkinfo?: { info_kind?: string; info_data?: { mode?: string } };
}

/**
 * H is the host: v0 (the lower, 192.0.2.1/24) <-> v1 (the wire's far end, up).
 * The guest is a bridge-mode macvlan on H's v0, living in namespace G with
 * 192.0.2.10/24.
 */
async function shimTopology(): Promise<{ host: TestNetns; guest: TestNetns; nl: Handle }> {
  const host = netns();
  const guest = netns({ veth: false });
  const nl = await handleIn(host);
  host.ip('address', 'add', '192.0.2.1/24', 'dev', 'v0');
  await nl.createMacvlan({ lower: 'v0', name: 'guest0', mode: 'bridge', netns: guest.name });
  guest.ip('link', 'set', 'lo', 'up');
  guest.ip('address', 'add', '192.0.2.10/24', 'dev', 'guest0');
  guest.ip('link', 'set', 'guest0', 'up');
  return { host, guest, nl };
}

/** Everything in H that a shim could leave behind. */
function hostState(ns: TestNetns): { links: string[]; addresses: Address[]; routes: Route[] } {
  return {
    links: ipJson<IpLinkBrief[]>('-n', ns.name, 'link', 'show')
      .map((l) => l.ifname)
      .sort(),
    addresses: ipAddresses(ns).filter((a) => !a.address.startsWith('fe80:')),
    routes: [...ipRoutes(ns, 4), ...ipRoutes(ns, 6)].filter((r) => !r.dst.startsWith('fe80:')),
  };
}

describe('hostShim', () => {
  it("routes 'default' in the family of the shim's address", async () => {
    const { host, nl } = await shimTopology();
    await hostShim(nl, { lower: 'v0', name: 'sh6', address: '2001:db8:bb::1/128', routes: ['2001:db8:cc::5', 'default'] });
    const v6 = ipJson<IpRoute[]>('-n', host.name, '-6', 'route', 'show', 'dev', 'sh6').map((r) => r.dst);
    expect(v6).toEqual(expect.arrayContaining(['2001:db8:cc::5', 'default']));
    expect(ipJson<IpRoute[]>('-n', host.name, '-4', 'route', 'show', 'dev', 'sh6')).toEqual([]);
  });

  it('lets the host reach a macvlan guest it could not reach before', async () => {
    const { host, guest, nl } = await shimTopology();
    // The guest is there and alive on its own side...
    expect(pings(guest, '192.0.2.10')).toBe(true);
    // ...but frames from the lower's own stack never reach its macvlans.
    expect(pings(host, '192.0.2.10')).toBe(false);

    const shim = await hostShim(nl, { lower: 'v0', name: 'shim0', address: '192.0.2.254/32', routes: ['192.0.2.10'] });
    expect(shim.name).toBe('shim0');
    expect(shim.kind).toBe('macvlan');
    expect(shim.up).toBe(true);
    expect(shim.macvlan?.mode).toBe('bridge');

    // What ip sees: a bridge-mode macvlan on v0, up, with the address and the route.
    const d = ipJson<IpDetailLink[]>('-n', host.name, '-d', 'link', 'show', 'dev', 'shim0')[0]!;
    expect(d.ifindex).toBe(shim.index);
    expect(d.link).toBe('v0');
    expect(d.flags).toContain('UP');
    expect(d.linkinfo?.info_kind).toBe('macvlan');
    expect(d.linkinfo?.info_data?.mode).toBe('bridge');
    expect(ipAddresses(host, 'shim0').filter((a) => a.family === 4)).toEqual([
      { index: shim.index, family: 4, address: '192.0.2.254', prefixLength: 32 },
    ]);
    expect(ipRoutes(host, 4, { dev: 'shim0' })).toEqual([{ family: 4, dst: '192.0.2.10/32', dev: shim.index, table: 254 }]);

    // The guest answers 192.0.2.254 directly: it is on the guest's /24.
    expect(pings(host, '192.0.2.10')).toBe(true);
    expect(pings(guest, '192.0.2.254')).toBe(true);

    await removeHostShim(nl, 'shim0');
    const after = hostState(host);
    expect(after.links).not.toContain('shim0');
    expect(after.addresses.map((a) => a.address)).not.toContain('192.0.2.254');
    expect(after.routes.map((r) => r.dst)).not.toContain('192.0.2.10/32');
    expect(pings(host, '192.0.2.10')).toBe(false);
  });

  it('removeHostShim takes the link, its address and its routes, and refuses a link that is not a shim', async () => {
    const { host, nl } = await shimTopology();
    const before = hostState(host);
    const shim = await hostShim(nl, { lower: 'v0', address: '192.0.2.253/32', routes: ['192.0.2.10', '198.51.100.0/24'] });
    // The kernel picked the name (mvshim%d).
    expect(shim.name).toMatch(/^mvshim\d+$/u);
    const during = hostState(host);
    expect(during.links).toEqual([...before.links, shim.name].sort());
    expect(
      during.routes
        .filter((r) => r.dev === shim.index)
        .map((r) => r.dst)
        .sort(),
    ).toEqual(['192.0.2.10/32', '198.51.100.0/24']);

    const gone = await rejection(removeHostShim(nl, 'noshim0'));
    expect(gone).toBeInstanceOf(NetlinkError);
    expect(gone.message).toBe("removeHostShim('noshim0') failed: ENODEV; no link 'noshim0' in this namespace");
    const notShim = await rejection(removeHostShim(nl, 'v0'));
    expect(notShim.code).toBe('ERR_INVALID_ARG_VALUE');
    expect(notShim.message).toBe("Expected ref to be a macvlan host shim ('v0' is veth), received 'v0'");
    expect(ipJson<IpLinkBrief[]>('-n', host.name, 'link', 'show', 'dev', 'v0')).toHaveLength(1);

    await removeHostShim(nl, shim.index);
    expect(hostState(host)).toEqual(before);
  });

  it('leaves nothing behind when a step fails (a route that already exists)', async () => {
    const { host, nl } = await shimTopology();
    // 192.0.2.10/32 already routed (via v0): the shim's second route is EEXIST;
    // its first route (198.51.100.0/24) and its address must go too.
    host.ip('route', 'add', '192.0.2.10/32', 'dev', 'v0');
    const before = hostState(host);

    const err = await rejection(
      hostShim(nl, { lower: 'v0', name: 'shim1', address: '192.0.2.254/32', routes: ['198.51.100.0/24', '192.0.2.10'] }),
    );
    expect(err).toBeInstanceOf(NetlinkError);
    expect(err.code).toBe('EEXIST');
    // The step in words, not a request on an ifindex that is gone.
    expect(err.message).toMatch(
      /^hostShim\(lower 'v0', address '192\.0\.2\.254\/32'\) failed: EEXIST; .*while routing 192\.0\.2\.10 through the shim 'shim1'.*; the shim was removed again$/u,
    );
    expect(err.message).not.toMatch(/dev #\d/u);
    expect((err as NetlinkError & { cause: NetlinkError }).cause.operation).toMatch(/^addRoute\(/u);

    const after = hostState(host);
    expect(after.links).not.toContain('shim1');
    expect(after.addresses.map((a) => a.address)).not.toContain('192.0.2.254');
    expect(after.routes.map((r) => r.dst)).not.toContain('198.51.100.0/24');
    expect(after).toEqual(before);
  });

  // close() after 0 to 11 round trips of another call: before, during and
  // after the shim's steps. The handle is opened by a symlink that close()
  // removes at once: the undo must not need to open the namespace again.
  it('a hostShim that close() cuts short leaves the whole shim or nothing, undone on its own socket', async () => {
    const { host } = await shimTopology();
    const before = hostState(host);
    const link = new NetnsSymlink();
    const seen = new Set<string>();
    for (let trips = 0; trips < 12; trips++) {
      link.pointAt(host);
      const nl = await open({ netns: link.path });
      const making = Promise.allSettled([
        hostShim(nl, { lower: 'v0', name: 'cut0', address: '192.0.2.254/32', routes: ['192.0.2.10', '198.51.100.0/24'] }),
      ]);
      for (let i = 0; i < trips; i++) await nl.getLink('v0');
      const closing = nl.close();
      link.pointAt(undefined);
      await closing;
      const [outcome] = await making;
      if (outcome!.status === 'fulfilled') {
        const routed = hostState(host).routes.filter((r) => r.dev === outcome!.value.index);
        expect(routed.map((r) => r.dst).sort()).toEqual(['192.0.2.10/32', '198.51.100.0/24']);
        host.ip('link', 'del', 'cut0');
        seen.add('made');
      } else {
        expect((outcome!.reason as { code?: string }).code).toBe('ERR_HANDLE_CLOSED');
        seen.add('undone');
      }
      expect(hostState(host)).toEqual(before);
    }
    expect([...seen].sort()).toEqual(['made', 'undone']);
  });

  it('refuses bad options before making anything', async () => {
    const { host, nl } = await shimTopology();
    const before = hostState(host);
    expect((await rejection(hostShim(nl, { lower: 'v0', address: '192.0.2.254' }))).code).toBe('ERR_INVALID_ARG_VALUE');
    expect((await rejection(hostShim(nl, { lower: 'v0', address: '192.0.2.254/32', routes: ['192.0.2.10/24'] }))).code).toBe(
      'ERR_INVALID_ARG_VALUE',
    );
    expect((await rejection(hostShim(nl, { address: '192.0.2.254/32' } as never))).code).toBe('ERR_INVALID_ARG_TYPE');
    expect(hostState(host)).toEqual(before);
  });
});

// ---------------------------------------------------------------------------
// The Wi-Fi warning
// ---------------------------------------------------------------------------

describe('wifi warning', () => {
  // There is no Wi-Fi device here (no cfg80211/mac80211_hwsim), so the
  // sysfs probe cannot be exercised end to end: the translation of what the
  // native layer reports (wirelessLower) is tested directly, and a real link
  // on a veth lower must carry no warning.
  it('warns, naming the lower, when a macvlan or macvtap sits on a Wi-Fi device', () => {
    for (const kind of ['macvlan', 'macvtap']) {
      const link = toLink({ index: 7, flags: 0, type: 1, name: 'mv0', kind, link: 3, wirelessLower: 'wlan0', macvlan: { mode: 4 } });
      expect(link.warnings, kind).toHaveLength(1);
      expect(link.warnings![0]).toContain("'wlan0'");
      expect(link.warnings![0]).toMatch(/Wi-Fi/u);
      expect(link.warnings).toEqual([wifiWarning('wlan0')]);
    }
    // Not for other kinds, and not without a Wi-Fi lower.
    expect(toLink({ index: 7, flags: 0, type: 1, name: 'br0', kind: 'bridge', wirelessLower: 'wlan0' }).warnings).toBeUndefined();
    expect(toLink({ index: 7, flags: 0, type: 1, name: 'mv0', kind: 'macvlan', macvlan: { mode: 4 } }).warnings).toBeUndefined();
  });

  it('gives no warning for a macvlan on a veth lower', async () => {
    const { nl } = await setup();
    const created = await nl.createMacvlan({ lower: 'v0', name: 'mv0' });
    expect(created.kind).toBe('macvlan');
    expect(created.warnings).toBeUndefined();
    expect((await nl.getLink('mv0')).warnings).toBeUndefined();
    const tap = await nl.createMacvtap({ lower: 'v0', name: 'mvt0' });
    expect(tap.warnings).toBeUndefined();
    for (const l of await nl.listLinks()) expect(l.warnings, l.name).toBeUndefined();
  });
});
