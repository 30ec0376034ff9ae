// Addresses and routes: parsing and checking what the caller gives, and the
// results in the shape `ip -j address` / `ip -j route` report.
import { isIP } from 'node:net';

import { native, type NativeAddr, type NativeRoute } from './binding.js';
import { arrayOf, type LinkRef, integer, invalidType, invalidValue, linkRef, outOfRange, plainObject } from './validate.js';

const c = native.constants;

/** An address on a link. */
export interface Address {
  /** The link's ifindex. */
  index: number;
  /** IPv4 or IPv6. */
  family: 4 | 6;
  /** The address, without prefix length. */
  address: string;
  /** The prefix length, e.g. 24 (a point-to-point address: the peer's). */
  prefixLength: number;
  /** A point-to-point address's peer (IFA_ADDRESS, when not the address itself). */
  peer?: string;
}

/**
 * What a route does with a packet (rtm_type, RTN_*): 'unicast' forwards it;
 * 'blackhole', 'unreachable' and 'prohibit' drop it (the last two with an
 * ICMP error); 'throw' ends the table's lookup; 'local' and 'broadcast' are
 * the kernel's own routes for its addresses (table local, 255).
 */
export type RouteType =
  'unicast' | 'local' | 'broadcast' | 'anycast' | 'multicast' | 'blackhole' | 'unreachable' | 'prohibit' | 'throw' | 'nat' | 'xresolve';

/** Every route type, at its RTN_* value. */
export const ROUTE_TYPES: readonly RouteType[] = [
  'unicast',
  'local',
  'broadcast',
  'anycast',
  'multicast',
  'blackhole',
  'unreachable',
  'prohibit',
  'throw',
  'nat',
  'xresolve',
];

/** One next hop of a multipath route (RTA_MULTIPATH). */
export interface NextHopSpec {
  /** The outgoing link, by name or ifindex. */
  dev?: LinkRef;
  /** The next hop's address (of the route's family, or IPv6 for an IPv4 route). */
  gateway?: string;
  /** Its share of the flows, 1 to 256; default 1. */
  weight?: number;
}

/** What addRoute/deleteRoute take. */
export interface RouteSpec {
  /**
   * 'a.b.c.d/len', 'x::/len', a bare address (a host route), or 'default'
   * (IPv4's unless `family` or the gateway says IPv6).
   */
  dst: string;
  /** 4 or 6: which 'default' is meant; a Route from listRoutes() has it, so it can be passed back as it is. */
  family?: 4 | 6;
  /** The outgoing link, by name or ifindex (RTA_OIF). */
  dev?: LinkRef;
  /** The next hop's address (RTA_GATEWAY); an IPv4 route may name an IPv6 neighbour (RTA_VIA). */
  gateway?: string;
  /** Several next hops instead of `dev` and `gateway` (RTA_MULTIPATH), flows spread by weight. */
  nexthops?: NextHopSpec[];
  /** RTA_PRIORITY. */
  metric?: number;
  /** Default: main (254). */
  table?: number;
  /** Default 'unicast', which needs a dev, a gateway or next hops; 'blackhole', 'unreachable', 'prohibit' and 'throw' need none. */
  type?: RouteType;
  /** The source address for packets the host sends on this route (RTA_PREFSRC): one of its own. */
  prefsrc?: string;
  /** IPv4 only: serve only packets with this DS field (rtm_tos, 0-255; the kernel refuses ECN bits). */
  tos?: number;
}

/** One next hop of a multipath route as the kernel reports it. */
export interface NextHop {
  /** Outgoing ifindex. */
  dev?: number;
  /** The next hop's address; for an IPv4 route through an IPv6 neighbour (RTA_VIA), that IPv6 address. */
  gateway?: string;
  /** Its share of the flows (rtnh_hops + 1). */
  weight: number;
}

/** A route as the kernel reports it. */
export interface Route {
  /** IPv4 or IPv6. */
  family: 4 | 6;
  /** CIDR; 'default' for 0/0. */
  dst: string;
  /** Outgoing ifindex (RTA_OIF); absent on a multipath route (see nexthops). */
  dev?: number;
  /** The next hop's address (RTA_GATEWAY); for an IPv4 route through an IPv6 neighbour (RTA_VIA), that IPv6 address. */
  gateway?: string;
  /** The next hops of a multipath route. */
  nexthops?: NextHop[];
  /** RTA_PRIORITY. */
  metric?: number;
  /** The routing table, e.g. 254 (main). */
  table: number;
  /** What the route does, when not 'unicast' (absent for unicast, as `ip -j route` leaves it out). */
  type?: RouteType;
  /** RTA_PREFSRC: the source address the host uses on this route. */
  prefsrc?: string;
  /** rtm_tos, when not 0: the route serves only packets with this DS field (IPv4). */
  tos?: number;
}

export interface Cidr {
  family: 4 | 6;
  address: string;
  prefixLength: number;
}

function family(address: string): 4 | 6 | 0 {
  if (address.includes('%')) return 0; // a zone index: isIP() accepts it, the kernel does not
  const f = isIP(address);
  return f === 4 || f === 6 ? f : 0;
}

/** 'a.b.c.d/len' or 'x::y/len' (the prefix optional when `hostDefault`). */
export function parseCidr(v: unknown, field: string, hostDefault = false): Cidr {
  if (typeof v !== 'string') throw invalidType(field, "an address with a prefix length, like '192.0.2.10/24'", v);
  const slash = v.indexOf('/');
  const address = slash < 0 ? v : v.slice(0, slash);
  const f = family(address);
  if (f === 0) throw invalidValue(field, "an IPv4 or IPv6 address with a prefix length, like '192.0.2.10/24' or '2001:db8::10/64'", v);
  const max = f === 4 ? 32 : 128;
  if (slash < 0) {
    if (!hostDefault) throw invalidValue(field, `an address with a prefix length (e.g. '${address}/${f === 4 ? 24 : 64}')`, v);
    return { family: f, address, prefixLength: max };
  }
  const text = v.slice(slash + 1);
  if (!/^\d{1,3}$/u.test(text) || Number(text) > max) {
    throw outOfRange(field, `a prefix length from 0 to ${max}`, v);
  }
  return { family: f, address, prefixLength: Number(text) };
}

function bytes(c: Cidr): number[] {
  if (c.family === 4) return c.address.split('.').map(Number);
  const [head = '', tail = ''] = c.address.split('::');
  const part = (s: string): number[] =>
    (s ? s.split(':') : []).flatMap((g) => {
      if (g.includes('.')) return g.split('.').map(Number);
      const n = parseInt(g, 16);
      return [n >> 8, n & 255];
    });
  const h = part(head);
  const t = part(tail);
  return [...h, ...new Array<number>(16 - h.length - t.length).fill(0), ...t];
}

function text(c: { family: 4 | 6 }, b: number[]): string {
  if (c.family === 4) return b.join('.');
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((b[i]! << 8) | b[i + 1]!).toString(16));
  // RFC 5952: the longest run of two or more zero groups becomes '::'.
  let best = -1;
  let bestLength = 1;
  for (let i = 0; i < 8;) {
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLength) {
      best = i;
      bestLength = j - i;
    }
    i = j === i ? i + 1 : j;
  }
  if (best < 0) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLength).join(':')}`;
}

/** The network of a CIDR: the address with its host bits cleared. */
export function network(c: Cidr): string {
  const b = bytes(c);
  for (let i = 0; i < b.length; i++) {
    const keep = Math.max(0, Math.min(8, c.prefixLength - i * 8));
    b[i] = b[i]! & ((0xff << (8 - keep)) & 0xff);
  }
  return text(c, b);
}

function hasHostBits(c: Cidr): boolean {
  return bytes(c).join() !== bytes({ ...c, address: network(c) }).join();
}

/** A route destination: a CIDR without host bits, a bare address, or 'default'. */
export function parseDst(v: unknown, field: string, gatewayFamily: 4 | 6 | undefined): Cidr {
  if (v === 'default') {
    const f = gatewayFamily ?? 4;
    return { family: f, address: f === 4 ? '0.0.0.0' : '::', prefixLength: 0 };
  }
  const dst = parseCidr(v, field, true);
  if (hasHostBits(dst)) {
    throw invalidValue(
      field,
      `a network without host bits (did you mean '${text(dst, bytes({ ...dst, address: network(dst) }))}/${dst.prefixLength}'?)`,
      v,
    );
  }
  return dst;
}

export function parseGateway(v: unknown, field: string): { family: 4 | 6; address: string } {
  if (typeof v !== 'string') throw invalidType(field, 'an IPv4 or IPv6 address string', v);
  if (family(v) === 0) throw invalidValue(field, 'an IPv4 or IPv6 address', v);
  return { family: family(v) as 4 | 6, address: v };
}

/** RouteSpec.nexthops, checked; `family` is their gateways' (undefined without one). */
export function nextHops(
  v: unknown,
  field: string,
): { family: 4 | 6 | undefined; list: { dev?: LinkRef; gateway?: { family: 4 | 6; address: string }; weight: number }[] } {
  let family: 4 | 6 | undefined;
  const list = arrayOf(v, field, 'an array of next hops ({ dev?, gateway?, weight? })', (x, at) => {
    const h = plainObject(x, at, ['dev', 'gateway', 'weight']);
    const hop: { dev?: LinkRef; gateway?: { family: 4 | 6; address: string }; weight: number } = {
      weight: h.weight === undefined ? 1 : integer(h.weight, `${at}.weight`, 1, 256),
    };
    if (h.dev !== undefined) hop.dev = linkRef(h.dev, `${at}.dev`);
    if (h.gateway !== undefined) {
      hop.gateway = parseGateway(h.gateway, `${at}.gateway`);
      family ??= hop.gateway.family;
    }
    if (hop.dev === undefined && hop.gateway === undefined) throw invalidValue(at, 'a next hop with a dev, a gateway, or both', x);
    return hop;
  });
  if (list.length === 0) throw invalidValue(field, 'at least one next hop', v);
  return { family, list };
}

export function parseFamily(v: unknown, field: string): 4 | 6 | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number') throw invalidType(field, '4 or 6', v);
  if (v !== 4 && v !== 6) throw invalidValue(field, '4 or 6', v);
  return v;
}

export function parseTable(v: unknown, field: string): number {
  return v === undefined ? c.RT_TABLE_MAIN : integer(v, field, 1, 0xffffffff);
}

export function parseMetric(v: unknown, field: string): number | undefined {
  return v === undefined ? undefined : integer(v, field, 0, 0xffffffff);
}

export function toAddress(a: NativeAddr): Address {
  const address: Address = {
    index: a.index ?? 0,
    family: a.family === 6 ? 6 : 4,
    address: a.local ?? a.address ?? '',
    prefixLength: a.prefixLength ?? 0,
  };
  if (a.local !== undefined && a.address !== undefined && a.address !== a.local) address.peer = a.address;
  return address;
}

export function toRoute(r: NativeRoute): Route {
  const route: Route = {
    family: r.family === 6 ? 6 : 4,
    dst: r.dstLength === 0 || r.dst === undefined ? 'default' : `${r.dst}/${r.dstLength}`,
    table: r.table ?? 0,
  };
  if (r.oif !== undefined) route.dev = r.oif;
  if (r.gateway !== undefined) route.gateway = r.gateway;
  if (r.nexthops !== undefined) {
    route.nexthops = r.nexthops.map((h) => {
      const hop: NextHop = { weight: h.weight };
      if (h.oif !== undefined) hop.dev = h.oif;
      if (h.gateway !== undefined) hop.gateway = h.gateway;
      return hop;
    });
  }
  if (r.priority !== undefined) route.metric = r.priority;
  const type = r.type === undefined || r.type === c.RTN_UNICAST ? undefined : ROUTE_TYPES[r.type - 1];
  if (type !== undefined) route.type = type;
  if (r.prefsrc !== undefined) route.prefsrc = r.prefsrc;
  if (r.tos !== undefined) route.tos = r.tos;
  return route;
}
