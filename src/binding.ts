// The only file that loads the addon. It describes the native surface as
// types; nothing here validates (that is validate.ts).
import { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** struct ifinfomsg requests, by what they do (native/rtnl_link.h LinkOp). */
export const LinkOp = { create: 0, change: 1, delete: 2, get: 3, dump: 4 } as const;
export type LinkOp = (typeof LinkOp)[keyof typeof LinkOp];

/** IFLA_INFO_DATA of a macvlan/macvtap, as raw numbers. */
export interface NativeMacvlan {
  mode?: number; // IFLA_MACVLAN_MODE
  flags?: number; // IFLA_MACVLAN_FLAGS
  macaddrMode?: number; // IFLA_MACVLAN_MACADDR_MODE
  macaddr?: string; // IFLA_MACVLAN_MACADDR
  macaddrData?: string[]; // IFLA_MACVLAN_MACADDR_DATA
  macaddrCount?: number; // IFLA_MACVLAN_MACADDR_COUNT
  bcQueueLen?: number; // IFLA_MACVLAN_BC_QUEUE_LEN
  bcQueueLenUsed?: number; // IFLA_MACVLAN_BC_QUEUE_LEN_USED
  bcCutoff?: number; // IFLA_MACVLAN_BC_CUTOFF
}

/** A decoded RTM_NEWLINK. */
export interface NativeLink {
  index: number;
  flags: number;
  type: number;
  name?: string;
  address?: string;
  mtu?: number;
  link?: number;
  txqlen?: number;
  operstate?: number;
  group?: number;
  numTxQueues?: number;
  numRxQueues?: number;
  linkNetnsid?: number;
  minMtu?: number;
  maxMtu?: number;
  master?: number;
  parentDevName?: string;
  kind?: string;
  macvlan?: NativeMacvlan;
  tapMajor?: number;
  tapMinor?: number;
  /** sysfs: 1 when this link is a Wi-Fi device (single-link requests only). */
  wireless?: number;
  /** sysfs: the name of this link's Wi-Fi lower (single-link requests only). */
  wirelessLower?: string;
  /** Decoding met an attribute cut short: what follows it is missing. */
  truncated?: boolean;
}

/** What a link request may carry; every field maps to one attribute. */
export interface NativeLinkRequest {
  index?: number;
  flags?: number;
  change?: number;
  name?: string;
  address?: string;
  mtu?: number;
  link?: number;
  txqlen?: number;
  group?: number;
  numTxQueues?: number;
  numRxQueues?: number;
  master?: number;
  netnsPid?: number;
  netnsFd?: number;
  extMask?: number;
  /** IFLA_LINK given by name: the I/O thread resolves it (ENODEV when missing) just before sending. */
  linkName?: string;
  kind?: string;
  macvlan?: NativeMacvlan;
}

/** The rejection of a native call: an Error with the kernel's answer. */
export interface NativeError extends Error {
  errno: number;
  extack?: string;
  extackAttr?: string;
}

/** RTM_*ADDR / RTM_*ROUTE requests (native/rtnl_addr_route.h AddrRouteOp). */
export const AddrRouteOp = { add: 0, delete: 1, dump: 2 } as const;
export type AddrRouteOp = (typeof AddrRouteOp)[keyof typeof AddrRouteOp];

/** struct ifaddrmsg + IFA_* */
export interface NativeAddr {
  index?: number;
  family?: 4 | 6;
  prefixLength?: number;
  scope?: number;
  address?: string;
  local?: string;
  label?: string;
  flags?: number;
}

/** struct rtmsg + RTA_* */
export interface NativeRoute {
  family?: 4 | 6;
  dstLength?: number;
  protocol?: number;
  scope?: number;
  type?: number;
  tos?: number;
  table?: number;
  dst?: string;
  gateway?: string;
  prefsrc?: string;
  oif?: number;
  priority?: number;
  nexthops?: { oif?: number; gateway?: string; weight: number }[];
}

/** A multicast listener read on the JS thread's loop. */
export interface NativeEventSocket {
  pause(): void;
  resume(): void;
  close(): void;
}

export interface NativeTapOpenParams {
  /** The link by name or ifindex: looked up on the I/O thread, no netlink request. */
  ref: string | number;
  queues: number;
  vnetHdr: boolean;
  /** 0: leave the kernel's default. */
  vnetHdrSize: number;
  nodeDir: string;
  /** -1: leave as is. */
  uid: number;
  gid: number;
  mode: number;
  /** TUN_F_* for TUNSETOFFLOAD (with vnetHdr). */
  offload: number;
}

export interface NativeTapOpenResult {
  index: number;
  name: string;
  mac?: string;
  path: string;
  madeNode: boolean;
  major: number;
  minor: number;
  features: number;
  /** TUN_F_* bits the kernel accepted when probed (0 without vnetHdr). */
  offloadSupported: number;
  fds: number[];
}

/**
 * Links as columns (native/js_link.h LinkTableBuilder): `numbers` holds
 * count x linkColumns.numbers.length values (NaN: absent; the `kind` column
 * indexes `kinds`, joined by NUL); `strings` the count x
 * linkColumns.strings.length string fields joined by NUL ('' is absent);
 * `rare` the same for linkColumns.rare, or '' when no link has one; `macs`
 * each link's source MACs joined by ',', links by NUL.
 */
export interface LinkTable {
  count: number;
  numbers: Float64Array;
  strings: string;
  macs: string;
  kinds: string;
  rare: string;
}

/** What a link request may read from sysfs for each link it returns. */
export const Probe = { tapDevice: 1, wireless: 2, all: 3, none: 0 } as const;

/**
 * The addon's tap queue (native/tap_queue.h). What cannot finish at once is
 * settled later through the constructor's `settle`, by id.
 */
export interface RawTapQueue {
  /**
   * A frame now, -errno now, or undefined: settled later. A frame is a
   * Buffer when it did not fit in the slab, else its place there: a number
   * >= 0, start * 65536 + length (frames settled later too).
   */
  read(id: number): Buffer | number | undefined;
  /** The buffer (below 64 KiB) the next frames are read into, from its start. */
  setSlab(slab: Buffer): void;
  /** 0: written; above 0: an errno; -1: settled later. */
  write(id: number, frame: Buffer): number;
  /** Drops pending reads and writes (the caller rejects them) and hands over the fd (closeTap closes it), or -1 if released before. */
  release(): number;
}

/**
 * The addon's handle (native/handle.h). Every call takes an id and returns
 * whether it was accepted (false once closing); the outcome arrives later
 * through the constructor's `settle`, its arguments (id, errno, value) triples.
 */
export interface RawNativeHandle {
  /**
   * `numbers` and `strings`: the request as a row (src/link_request.ts). With `indexes`, one call for each, the i-th with that ifindex and id `id + i`.
   * With `inParts` a dump also settles `[id, -1, part]` entries (LinkTables) before its result, and `[id, -2, undefined]` when those parts are void (the dump was sent again).
   */
  link(
    id: number,
    op: LinkOp,
    numbers: Float64Array,
    strings: string,
    netnsPath?: string,
    probes?: number,
    inParts?: boolean,
    indexes?: Int32Array,
  ): boolean;
  addr(id: number, op: AddrRouteOp, req: NativeAddr): boolean;
  route(id: number, op: AddrRouteOp, req: NativeRoute): boolean;
  subscribe(id: number, groups: number[], rcvbuf: number): boolean;
  openTap(id: number, params: NativeTapOpenParams): boolean;
  /** Closes a tap's fd and removes `node` (when not '') on the I/O thread, whatever ends the call; false once closing. */
  closeTap(id: number, fd: number, node: string, major: number, minor: number): boolean;
  /** Hands the calls made so far to the I/O thread (they wait until then). */
  flush(): void;
  /** Stops the I/O thread; `id` is settled once it has exited. False: nothing to wait for. */
  close(id: number): boolean;
}

export interface NativeDecodedMessage {
  type: number;
  flags: number;
  seq: number;
  pid: number;
  ack?: { error: number; message: string; offset?: number };
  link?: LinkTable;
}

type ConstantName =
  | `MACVLAN_MODE_${'PRIVATE' | 'VEPA' | 'BRIDGE' | 'PASSTHRU' | 'SOURCE'}`
  | `MACVLAN_FLAG_${'NOPROMISC' | 'NODST'}`
  | `MACVLAN_MACADDR_${'ADD' | 'DEL' | 'FLUSH' | 'SET'}`
  | `IFF_${'UP' | 'RUNNING' | 'LOWER_UP'}`
  | 'RTEXT_FILTER_SKIP_STATS'
  | `IF_OPER_${'UNKNOWN' | 'NOTPRESENT' | 'DOWN' | 'LOWERLAYERDOWN' | 'TESTING' | 'DORMANT' | 'UP'}`
  | `RTM_${'NEWLINK' | 'DELLINK' | 'GETLINK'}`
  | `NLMSG_${'ERROR' | 'DONE'}`
  | `NLM_F_${'ECHO' | 'DUMP_INTR'}`
  | 'RTNLGRP_LINK'
  | 'RTPROT_BOOT'
  | `RT_SCOPE_${'UNIVERSE' | 'LINK' | 'HOST' | 'NOWHERE'}`
  | 'RTN_UNICAST'
  | 'RT_TABLE_MAIN'
  | 'IFA_F_NODAD'
  | `TUN_F_${'CSUM' | 'TSO4' | 'TSO6' | 'TSO_ECN' | 'UFO' | 'USO4' | 'USO6'}`;

export interface NativeAddon {
  /** Uapi numbers, from the kernel headers the addon was built with. */
  constants: Readonly<Record<ConstantName, number>>;
  NativeHandle: new (netnsPath: string, settle: (...batch: unknown[]) => void, openedId: number) => RawNativeHandle;
  TapQueue: new (fd: number, vnetHdrLen: number, settle: (...batch: unknown[]) => void) => RawTapQueue;
  /** Closes the fds off the loop and removes `node` ('' for none) while it is the device major:minor, then calls done. */
  closeTap(fds: number[], node: string, major: number, minor: number, done: () => void): void;
  /** onEvents(links, deleted) with one '1' (RTM_DELLINK) or '0' in `deleted` a link; onEvents(null, errno) on an error. */
  EventSocket: new (fd: number, onEvents: (links: LinkTable | null, deletedOrErrno: string | number) => void) => NativeEventSocket;
  /** The column names of a LinkTable. */
  linkColumns: { numbers: string[]; strings: string[]; rare: string[] };
  /** The column names of a link request row ('macvlan' marks the block present). */
  linkRequestColumns: { numbers: string[]; strings: string[] };
  /** The request bytes for a row made by packLinkStrings (src/link_request.ts). */
  encodeLink(
    op: LinkOp,
    numbers: Float64Array,
    strings: string,
  ): {
    bytes: Buffer;
    attrs: { offset: number; length: number; name: string }[];
  };
  decodeMessages(bytes: Buffer): { messages: NativeDecodedMessage[]; truncated: boolean };
  /** A NETLINK_KOBJECT_UEVENT message of a macvtap's char device (add or remove), else null. */
  decodeTapUevent(bytes: Buffer): { add: boolean; ifindex: number; major: number; minor: number } | null;
  /** An AF_UNIX SOCK_SEQPACKET pair [reader (non-blocking), writer]: one write, one frame (tests of TapQueue). */
  seqpacketPair(): [number, number];
  /** Link tables' number buffers the addon keeps for the next tables, and how many tables have taken one (native/js_link.cc; tests). */
  numberBuffers(): { kept: number; reused: number };
  /** Link messages this thread has indexed from the attribute layout of the one before instead of walking them (native/js_link.cc AttrLayout; tests). */
  linkLayoutHits(): number;
  /** Done with a table: its numbers' buffer (when the addon lent it) is detached and kept for the next dump. */
  recycleNumbers(numbers: Float64Array): boolean;
  /** The macvtap uevents I/O threads have read while they had no request, since the process began (native/handle.cc; tests). */
  idleUeventsRead(): number;
  /** Whether the uevent listener's socket filter keeps this message (native/tap_uevents.cc). */
  tapUeventFilterPasses(bytes: Buffer): boolean;
  /** The function the addon makes every LinkTable with (native/js_link.h). */
  setLinkTableMaker(
    make: (count: number, numbers: Float64Array, strings: string, macs: string, kinds: string, rare: string) => LinkTable,
  ): void;
}

const require = createRequire(import.meta.url);
const load = require('node-gyp-build') as (dir: string) => unknown;

/** The package root: dist/.. when built, src/.. under the test runner. */
const packageRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

const addon = load(packageRoot) as NativeAddon;
// The addon sets its constants one key at a time, which leaves the object in
// dictionary mode, where every load in a hot loop is a slow lookup: a
// literal copy is a fast-mode object.
export const native: NativeAddon = { ...addon, constants: { ...addon.constants } };

// One call into JS makes a link table, an object of one shape: cheaper than
// the addon setting its six properties one by one.
addon.setLinkTableMaker((count, numbers, strings, macs, kinds, rare) => ({ count, numbers, strings, macs, kinds, rare }));
