// Public link types, and the translation of decoded RTM_NEWLINK messages
// into them (field names and values as `ip -d -j link show` reports them).
import { native, type LinkTable, type NativeDecodedMessage, type NativeLink, type NativeMacvlan } from './binding.js';
import type { LinkRef } from './validate.js';

const c = native.constants;

/** IFLA_MACVLAN_MODE. */
export type Mode = 'private' | 'vepa' | 'bridge' | 'passthru' | 'source';
/** Every macvlan mode, in the kernel's order. */
export const MODES: readonly Mode[] = ['private', 'vepa', 'bridge', 'passthru', 'source'];

export const modeValue: Readonly<Record<Mode, number>> = {
  private: c.MACVLAN_MODE_PRIVATE,
  vepa: c.MACVLAN_MODE_VEPA,
  bridge: c.MACVLAN_MODE_BRIDGE,
  passthru: c.MACVLAN_MODE_PASSTHRU,
  source: c.MACVLAN_MODE_SOURCE,
};

// Small-number lookups as arrays indexed by the value: a Map lookup for each
// link showed in listLinks() profiles.
const modeByValue: (Mode | undefined)[] = [];
for (const m of MODES) modeByValue[modeValue[m]] = m;

const operStates: (string | undefined)[] = [];
operStates[c.IF_OPER_UNKNOWN] = 'unknown';
operStates[c.IF_OPER_NOTPRESENT] = 'notpresent';
operStates[c.IF_OPER_DOWN] = 'down';
operStates[c.IF_OPER_LOWERLAYERDOWN] = 'lowerlayerdown';
operStates[c.IF_OPER_TESTING] = 'testing';
operStates[c.IF_OPER_DORMANT] = 'dormant';
operStates[c.IF_OPER_UP] = 'up';

/** What `createMacvlan` and `createMacvtap` take. */
export interface MacvlanSpec {
  /** The parent device, by name or ifindex (IFLA_LINK). */
  lower: LinkRef;
  /** Omitted: the kernel picks macvlan%d / macvtap%d. A '%d' pattern works too. */
  name?: string;
  /** Default 'bridge'. */
  mode?: Mode;
  /** 'aa:bb:cc:dd:ee:ff', unicast; omitted: the kernel picks a random one. */
  mac?: string;
  /** At most the lower's MTU. */
  mtu?: number;
  /** Bring the link up after creation (default false). */
  up?: boolean;
  /** IFLA_TXQLEN: the transmit queue length. */
  txQueueLen?: number;
  /** Multiqueue: with macvtap, one tap queue per open. */
  numTxQueues?: number;
  /** IFLA_NUM_RX_QUEUES. */
  numRxQueues?: number;
  /** MACVLAN_FLAG_NOPROMISC: passthru without making the lower promiscuous. */
  nopromisc?: boolean;
  /** MACVLAN_FLAG_NODST: source mode, do not also deliver by destination. */
  nodst?: boolean;
  /** IFLA_MACVLAN_BC_QUEUE_LEN. */
  bcQueueLen?: number;
  /** IFLA_MACVLAN_BC_CUTOFF (s32, Linux 6.6+). */
  bcCutoff?: number;
  /** Mode 'source': the allowed source MACs. */
  sourceMacs?: string[];
  /** Create the link straight into this namespace: a name under /run/netns, an nsfs path, or a pid. */
  netns?: string | number;
}

/** The macvlan/macvtap part of a link (IFLA_INFO_DATA). */
export interface MacvlanInfo {
  /** The mode; a number when this kernel knows a mode we do not. */
  mode: Mode | number;
  /** MACVLAN_FLAG_NOPROMISC: passthru without making the lower promiscuous. */
  nopromisc: boolean;
  /** MACVLAN_FLAG_NODST: source mode, do not also deliver by destination. */
  nodst: boolean;
  /** IFLA_MACVLAN_BC_QUEUE_LEN: the broadcast queue length asked for. */
  bcQueueLen?: number;
  /** IFLA_MACVLAN_BC_QUEUE_LEN_USED: what the kernel actually uses (the largest on the lower). */
  bcQueueLenUsed?: number;
  /** IFLA_MACVLAN_BC_CUTOFF (Linux 6.6+). */
  bcCutoff?: number;
  /** Mode 'source' only. */
  sourceMacs?: string[];
}

/** A link as the kernel reports it; agrees with `ip -d -j link show`. */
export interface Link {
  /** The ifindex. */
  index: number;
  /** IFLA_IFNAME. */
  name: string;
  /** IFLA_INFO_KIND: 'macvlan', 'macvtap', 'veth', ... */
  kind?: string;
  /** IFLA_ADDRESS, 'aa:bb:cc:dd:ee:ff'; absent for links without one. */
  mac?: string;
  /** IFLA_MTU. */
  mtu: number;
  /** IFF_UP (administrative). */
  up: boolean;
  /** 'up' | 'down' | 'lowerlayerdown' | 'unknown' | ... (IFLA_OPERSTATE). */
  operState: string;
  /** IFLA_LINK: the lower's ifindex. */
  lower?: number;
  /** IFLA_LINK_NETNSID: set when the lower lives in another namespace. */
  lowerNetnsId?: number;
  /** IFLA_TXQLEN: the transmit queue length. */
  txQueueLen?: number;
  /** IFLA_NUM_TX_QUEUES. */
  numTxQueues?: number;
  /** IFLA_NUM_RX_QUEUES. */
  numRxQueues?: number;
  /** IFLA_MIN_MTU: the smallest MTU the link accepts. */
  minMtu?: number;
  /** IFLA_MAX_MTU: the largest MTU the link accepts. */
  maxMtu?: number;
  /** IFLA_GROUP: the link's group number. */
  group?: number;
  /** The macvlan/macvtap attributes (IFLA_INFO_DATA); macvlan and macvtap links only. */
  macvlan?: MacvlanInfo;
  /** Why this link may not work as hoped, e.g. a lower that is a Wi-Fi device. */
  warnings?: string[];
  /** macvtap: the character device, '/dev/tapN' with N the ifindex. */
  tap?: {
    /** The device path, '/dev/tapN'. */
    device: string;
    /** The character device's major number. */
    major: number;
    /** The character device's minor number. */
    minor: number;
  };
}

/** Why a macvlan on a Wi-Fi station rarely works (see KERNEL.md, "Wi-Fi lowers"). */
export function wifiWarning(lower: string): string {
  return (
    `lower '${lower}' is a Wi-Fi device: most access points drop frames from MAC addresses that did not ` +
    'associate with them, so this link may get no traffic; most Wi-Fi drivers cannot bridge either'
  );
}

const FIXED = 8; // index, flags, type, hasMacvlan, truncated, kind, nameAt, nameEnd (native/js_link.cc)
const numberColumns = native.linkColumns.numbers.map((name) => ({
  key: name.startsWith('macvlan.') ? name.slice('macvlan.'.length) : name,
  macvlan: name.startsWith('macvlan.'),
}));
const stringColumns = native.linkColumns.strings;
const rareColumns = native.linkColumns.rare;

/** The rows of a link table, as NativeLink objects. */
export function rowsOf(table: LinkTable): NativeLink[] {
  const { count, numbers } = table;
  if (count === 0) return [];
  const strings = table.strings.split('\0');
  const macs = table.macs.split('\0');
  const kinds = kindsOf(table.kinds);
  const rare = table.rare === '' ? undefined : table.rare.split('\0');
  const nn = numberColumns.length;
  const ns = stringColumns.length;
  const nr = rareColumns.length;
  const rows: NativeLink[] = new Array<NativeLink>(count);
  for (let i = 0; i < count; i++) {
    const b = i * nn;
    const row: NativeLink = { index: numbers[b]!, flags: numbers[b + 1]!, type: numbers[b + 2]! };
    const fields = row as unknown as Record<string, number | string | boolean | NativeMacvlan>;
    if (numbers[b + 4] === 1) row.truncated = true;
    let macvlan: Record<string, number | string[]> | undefined;
    if (numbers[b + 3] === 1) macvlan = {};
    for (let k = FIXED; k < nn; k++) {
      const v = numbers[b + k]!;
      if (Number.isNaN(v)) continue;
      const column = numberColumns[k]!;
      if (!column.macvlan) fields[column.key] = v;
      else if (macvlan) macvlan[column.key] = v;
    }
    for (let k = 0; k < ns; k++) {
      const v = strings[i * ns + k]!;
      if (v !== '') fields[stringColumns[k]!] = v;
    }
    const kind = numbers[b + KIND]!;
    if (kind === kind) row.kind = kinds[kind]!;
    for (let k = 0; rare && k < nr; k++) {
      const v = rare[i * nr + k]!;
      if (v !== '') fields[rareColumns[k]!] = v;
    }
    if (macvlan) {
      const list = macs[i]!;
      if (list !== '') macvlan.macaddrData = list.split(',');
      row.macvlan = macvlan as NativeMacvlan;
    }
    rows[i] = row;
  }
  return rows;
}

/** One netlink message as the codec decodes it. */
export type DecodedMessage = Omit<NativeDecodedMessage, 'link'> & { link?: NativeLink };

/** The codec on its own (tests, tools): messages of a buffer, links as rows. */
export function decodeMessages(bytes: Buffer): { messages: DecodedMessage[]; truncated: boolean } {
  const out = native.decodeMessages(bytes);
  return {
    truncated: out.truncated,
    messages: out.messages.map(({ link, ...m }) => (link ? { ...m, link: rowsOf(link)[0]! } : m)),
  };
}

export function modeOf(value: number): Mode | number {
  return modeByValue[value] ?? value;
}

function operState(value: number | undefined): string {
  return operStates[value ?? c.IF_OPER_UNKNOWN] ?? String(value);
}

// Links and their MacvlanInfo are made by constructors, not literals. V8
// gives a constructor's objects room inside the object for every property
// the constructor may assign; a literal's objects hold only the literal's
// own properties inside, and each property added later goes to a separate
// array, reallocated as it grows. With Object.prototype as the prototype
// they make plain objects, as a literal would. The order of the assignments
// is the order of the keys.

function macvlanObject(
  this: MacvlanInfo,
  modeValue: number | undefined,
  flagsValue: number | undefined,
  bcQueueLen: number | undefined,
  bcQueueLenUsed: number | undefined,
  bcCutoff: number | undefined,
  macaddrData: string[] | undefined,
): void {
  const mode = modeOf(modeValue ?? c.MACVLAN_MODE_VEPA);
  const flags = flagsValue ?? 0;
  this.mode = mode;
  this.nopromisc = (flags & c.MACVLAN_FLAG_NOPROMISC) !== 0;
  this.nodst = (flags & c.MACVLAN_FLAG_NODST) !== 0;
  if (bcQueueLen !== undefined) this.bcQueueLen = bcQueueLen;
  if (bcQueueLenUsed !== undefined) this.bcQueueLenUsed = bcQueueLenUsed;
  if (bcCutoff !== undefined) this.bcCutoff = bcCutoff;
  if (mode === 'source') this.sourceMacs = macaddrData ?? [];
}
macvlanObject.prototype = Object.prototype;
/** The MacvlanInfo of raw IFLA_INFO_DATA values. */
const MacvlanObject = macvlanObject as unknown as new (...args: Parameters<typeof macvlanObject>) => MacvlanInfo;

function linkObject(
  this: Link,
  index: number,
  name: string,
  mtu: number,
  up: boolean,
  operState: string,
  kind: string | undefined,
  mac: string | undefined,
  lower: number | undefined,
  lowerNetnsId: number | undefined,
  txQueueLen: number | undefined,
  numTxQueues: number | undefined,
  numRxQueues: number | undefined,
  minMtu: number | undefined,
  maxMtu: number | undefined,
  group: number | undefined,
  macvlan: MacvlanInfo | undefined,
  warnings: string[] | undefined,
  tap: Link['tap'],
): void {
  this.index = index;
  this.name = name;
  this.mtu = mtu;
  this.up = up;
  this.operState = operState;
  if (kind !== undefined) this.kind = kind;
  if (mac !== undefined) this.mac = mac;
  if (lower !== undefined) this.lower = lower;
  if (lowerNetnsId !== undefined) this.lowerNetnsId = lowerNetnsId;
  if (txQueueLen !== undefined) this.txQueueLen = txQueueLen;
  if (numTxQueues !== undefined) this.numTxQueues = numTxQueues;
  if (numRxQueues !== undefined) this.numRxQueues = numRxQueues;
  if (minMtu !== undefined) this.minMtu = minMtu;
  if (maxMtu !== undefined) this.maxMtu = maxMtu;
  if (group !== undefined) this.group = group;
  if (macvlan !== undefined) this.macvlan = macvlan;
  if (warnings !== undefined) this.warnings = warnings;
  if (tap !== undefined) this.tap = tap;
}
linkObject.prototype = Object.prototype;
const LinkObject = linkObject as unknown as new (...args: Parameters<typeof linkObject>) => Link;

function warningsOf(kind: string | undefined, wirelessLower: string | undefined, truncated: boolean): string[] | undefined {
  const wifi = wirelessLower !== undefined && (kind === 'macvlan' || kind === 'macvtap');
  if (!wifi && !truncated) return undefined;
  const warnings: string[] = [];
  if (wifi) warnings.push(wifiWarning(wirelessLower));
  if (truncated) warnings.push('the kernel reply for this link had an attribute cut short: some fields may be missing');
  return warnings;
}

function tapOf(kind: string | undefined, index: number, major: number | undefined, minor: number | undefined): Link['tap'] {
  if (kind !== 'macvtap' || major === undefined || minor === undefined) return undefined;
  return { device: `/dev/tap${index}`, major, minor };
}

export function toLink(n: NativeLink): Link {
  const m = n.macvlan;
  return new LinkObject(
    n.index,
    n.name ?? '',
    n.mtu ?? 0,
    (n.flags & c.IFF_UP) !== 0,
    operState(n.operstate),
    n.kind,
    n.address,
    n.link,
    n.linkNetnsid,
    n.txqlen,
    n.numTxQueues,
    n.numRxQueues,
    n.minMtu,
    n.maxMtu,
    n.group,
    m && new MacvlanObject(m.mode, m.flags, m.bcQueueLen, m.bcQueueLenUsed, m.bcCutoff, m.macaddrData),
    warningsOf(n.kind, n.wirelessLower, n.truncated === true),
    tapOf(n.kind, n.index, n.tapMajor, n.tapMinor),
  );
}

// Where each field sits in a row of a link table (native/js_link.cc).
function columnOf(names: readonly string[], name: string): number {
  const i = names.indexOf(name);
  if (i < 0) throw new Error(`the addon's link table has no column '${name}'`);
  return i;
}
const numberCol = (name: string): number => columnOf(native.linkColumns.numbers, name);
const stringCol = (name: string): number => columnOf(native.linkColumns.strings, name);
const rareCol = (name: string): number => columnOf(native.linkColumns.rare, name);
const NUMBER_COLUMNS = native.linkColumns.numbers.length;
const STRING_COLUMNS = native.linkColumns.strings.length;
const RARE_COLUMNS = native.linkColumns.rare.length;
const INDEX = numberCol('index');
const KIND = numberCol('kind');
const FLAGS = numberCol('flags');
const HAS_MACVLAN = numberCol('hasMacvlan');
const TRUNCATED = numberCol('truncated');
const MTU = numberCol('mtu');
const LINK = numberCol('link');
const TXQLEN = numberCol('txqlen');
const OPERSTATE = numberCol('operstate');
const GROUP = numberCol('group');
const NUM_TX_QUEUES = numberCol('numTxQueues');
const NUM_RX_QUEUES = numberCol('numRxQueues');
const LINK_NETNSID = numberCol('linkNetnsid');
const MIN_MTU = numberCol('minMtu');
const MAX_MTU = numberCol('maxMtu');
const TAP_MAJOR = numberCol('tapMajor');
const TAP_MINOR = numberCol('tapMinor');
const MACVLAN_MODE = numberCol('macvlan.mode');
const MACVLAN_FLAGS = numberCol('macvlan.flags');
const MACVLAN_BC_QUEUE_LEN = numberCol('macvlan.bcQueueLen');
const MACVLAN_BC_QUEUE_LEN_USED = numberCol('macvlan.bcQueueLenUsed');
const MACVLAN_BC_CUTOFF = numberCol('macvlan.bcCutoff');
const NAME_AT = numberCol('nameAt');
const NAME_END = numberCol('nameEnd');
const NAME = stringCol('name');
const ADDRESS = stringCol('address');
const WIRELESS_LOWER = rareCol('wirelessLower');

// NaN is absent. Every number column holds a u32 or an s32: `>>> 0` and
// `| 0` change no value but tell V8 so, and it keeps small integers in the
// objects instead of a heap-allocated double for each field. Functions of
// the module, not closures in linksOf: a create's one-link table paid for
// their allocation.
function u32(numbers: Float64Array, at: number): number | undefined {
  const v = numbers[at]!;
  return v === v ? v >>> 0 : undefined;
}

function s32(numbers: Float64Array, at: number): number | undefined {
  const v = numbers[at]!;
  return v === v ? v | 0 : undefined;
}

function nonEmpty(v: string): string | undefined {
  return v === '' ? undefined : v;
}

function macList(list: string): string[] | undefined {
  return list === '' ? undefined : list.split(',');
}

// A table's kinds, split once for as long as they stay the same: every
// create's table has the same one, and every dump of a namespace the same few.
let lastKinds = '';
let lastKindList: string[] = [''];
function kindsOf(kinds: string): string[] {
  if (kinds !== lastKinds) {
    lastKinds = kinds;
    lastKindList = kinds.split('\0');
  }
  return lastKindList;
}

/** Which rows of a link table linksOf keeps. */
export interface LinkWhere {
  /** IFLA_INFO_KIND equals this. */
  kind?: string | undefined;
  /** IFLA_LINK is this ifindex, in this namespace (no IFLA_LINK_NETNSID). */
  lower?: number | undefined;
}

/**
 * Every link. The same shape as listLinks' filters: V8 optimizes linksOf
 * for one `where` shape, and `{}` from a create was a second that undid it.
 */
const ALL_LINKS: LinkWhere = { kind: undefined, lower: undefined };

/**
 * The links of a table, as toLink(row) makes them from rowsOf(table), read
 * straight from the columns: no rows in between, and the rows `where`
 * rejects are never built. They are appended to `links` (a dump's parts go
 * into one array), which is returned; without one and without a filter,
 * to a new array of the table's size (grown a push at a time, a 503-link
 * dump's array was copied six times: 10 KiB of young generation where 4
 * would do).
 */
export function linksOf(table: LinkTable, where: LinkWhere = ALL_LINKS, links?: Link[]): Link[] {
  const { count, numbers } = table;
  const kinds = kindsOf(table.kinds);
  const { kind: onlyKind, lower: onlyLower } = where;
  // The kind column indexes kinds: a filter by kind compares numbers.
  const onlyKindCode = onlyKind === undefined ? undefined : kinds.indexOf(onlyKind);
  if (onlyKindCode === -1) return links ?? [];
  const sized = links === undefined && onlyKind === undefined && onlyLower === undefined;
  const into: Link[] = sized ? new Array<Link>(count) : (links ?? []);
  let n = sized ? 0 : into.length;
  // Each name and address as a substring at the offsets the addon gives
  // (a third of what splitting the whole string cost); split only when a
  // name is not ASCII and there are none.
  const all = table.strings;
  const strings = numbers[NAME_AT] === numbers[NAME_AT] ? undefined : all.split('\0');
  // Split only when a link needs them: few have a rare field (a Wi-Fi
  // lower), only source-mode links have MACs there.
  let rare: string[] | undefined;
  let macs: string[] | undefined;
  for (let i = 0; i < count; i++) {
    const b = i * NUMBER_COLUMNS;
    const s = i * STRING_COLUMNS;
    const kindCode = numbers[b + KIND]!;
    if (onlyKindCode !== undefined && kindCode !== onlyKindCode) continue;
    const kind = kindCode === kindCode ? kinds[kindCode] : undefined;
    const lower = u32(numbers, b + LINK);
    const lowerNetnsId = s32(numbers, b + LINK_NETNSID);
    if (onlyLower !== undefined && (lower !== onlyLower || lowerNetnsId !== undefined)) continue;
    const index = numbers[b + INDEX]! | 0;
    let macvlan: MacvlanInfo | undefined;
    if (numbers[b + HAS_MACVLAN] === 1) {
      const mode = u32(numbers, b + MACVLAN_MODE);
      const sourceMacs = mode === c.MACVLAN_MODE_SOURCE ? macList((macs ??= table.macs.split('\0'))[i]!) : undefined;
      macvlan = new MacvlanObject(
        mode,
        u32(numbers, b + MACVLAN_FLAGS),
        u32(numbers, b + MACVLAN_BC_QUEUE_LEN),
        u32(numbers, b + MACVLAN_BC_QUEUE_LEN_USED),
        s32(numbers, b + MACVLAN_BC_CUTOFF),
        sourceMacs,
      );
    }
    const wirelessLower = table.rare === '' ? undefined : nonEmpty((rare ??= table.rare.split('\0'))[i * RARE_COLUMNS + WIRELESS_LOWER]!);
    const truncated = numbers[b + TRUNCATED] === 1;
    const tapMajor = u32(numbers, b + TAP_MAJOR);
    let name: string;
    let address: string;
    if (strings === undefined) {
      const end = numbers[b + NAME_END]!;
      name = all.substring(numbers[b + NAME_AT]!, end);
      address = all.substring(end + 1, i + 1 < count ? numbers[b + NUMBER_COLUMNS + NAME_AT]! - 1 : all.length);
    } else {
      name = strings[s + NAME]!;
      address = strings[s + ADDRESS]!;
    }
    into[n++] = new LinkObject(
      index,
      name,
      u32(numbers, b + MTU) ?? 0,
      (numbers[b + FLAGS]! & c.IFF_UP) !== 0,
      operState(u32(numbers, b + OPERSTATE)),
      kind,
      nonEmpty(address),
      lower,
      lowerNetnsId,
      u32(numbers, b + TXQLEN),
      u32(numbers, b + NUM_TX_QUEUES),
      u32(numbers, b + NUM_RX_QUEUES),
      u32(numbers, b + MIN_MTU),
      u32(numbers, b + MAX_MTU),
      u32(numbers, b + GROUP),
      macvlan,
      wirelessLower === undefined && !truncated ? undefined : warningsOf(kind, wirelessLower, truncated),
      tapMajor === undefined ? undefined : tapOf(kind, index, tapMajor, u32(numbers, b + TAP_MINOR)),
    );
  }
  return into;
}

// What firstLinkOf reads a table into: a new array grew a 17-slot backing
// store for one Link, and pop() keeps this one's.
const scratch: Link[] = [];

/** The first link of a table (a create's echo, a get's one link), as linksOf makes it. */
export function firstLinkOf(table: LinkTable): Link | undefined {
  linksOf(table, ALL_LINKS, scratch);
  const first = scratch[0];
  while (scratch.length > 0) scratch.pop();
  return first;
}

/** The links a deleteLinks names, as read from a dump's table. */
export interface NamedLinks {
  /** Their ifindexes, each once, in the order first named. */
  indexes: number[];
  /** Their IFLA_GROUPs (0 where none), in the same order. */
  groups: number[];
  /** The groups of every link in the table. */
  used: Set<number>;
}

/**
 * The links of `table` that `refs` name (an ifindex or a name), read from
 * the columns without making Link objects; or the first ref that names
 * none, or the first that names a link without a kind (no rtnl_link_ops:
 * loopback, hardware), which RTM_DELLINK refuses with EOPNOTSUPP.
 */
export function namedLinks(
  table: LinkTable,
  refs: readonly (string | number)[],
): NamedLinks | { missing: string | number } | { kindless: string | number } {
  const { count, numbers } = table;
  // Only the lookups the refs need.
  const names = refs.some((r) => typeof r === 'string') ? table.strings.split('\0') : undefined;
  const byIndex = refs.some((r) => typeof r === 'number');
  const rowByIndex = new Map<number, number>();
  const rowByName = new Map<string, number>();
  const used = new Set<number>();
  for (let i = 0; i < count; i++) {
    const b = i * NUMBER_COLUMNS;
    if (byIndex) rowByIndex.set(numbers[b + INDEX]! | 0, i);
    if (names) rowByName.set(names[i * STRING_COLUMNS + NAME]!, i);
    used.add(u32(numbers, b + GROUP) ?? 0);
  }
  const rows = new Set<number>();
  for (const ref of refs) {
    const row = typeof ref === 'number' ? rowByIndex.get(ref) : rowByName.get(ref);
    if (row === undefined) return { missing: ref };
    const kind = numbers[row * NUMBER_COLUMNS + KIND]!;
    if (kind !== kind) return { kindless: ref };
    rows.add(row);
  }
  const indexes: number[] = [];
  const groups: number[] = [];
  for (const row of rows) {
    indexes.push(numbers[row * NUMBER_COLUMNS + INDEX]! | 0);
    groups.push(u32(numbers, row * NUMBER_COLUMNS + GROUP) ?? 0);
  }
  return { indexes, groups, used };
}
