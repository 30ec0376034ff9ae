// Public link types, and the translation of decoded RTM_NEWLINK messages
// into them (field names and values as `ip -d -j link show` reports them).
import { native, type LinkTable, type NativeDecodedMessage, type NativeLink, type NativeMacvlan } from './binding.js';

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

const modeByValue = new Map<number, Mode>(MODES.map((m) => [modeValue[m], m]));

const operStates = new Map<number, string>([
  [c.IF_OPER_UNKNOWN, 'unknown'],
  [c.IF_OPER_NOTPRESENT, 'notpresent'],
  [c.IF_OPER_DOWN, 'down'],
  [c.IF_OPER_LOWERLAYERDOWN, 'lowerlayerdown'],
  [c.IF_OPER_TESTING, 'testing'],
  [c.IF_OPER_DORMANT, 'dormant'],
  [c.IF_OPER_UP, 'up'],
]);

/** A link reference: its name or its ifindex. */
export type LinkRef = string | number;

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

const FIXED = 5; // index, flags, type, hasMacvlan, truncated (native/js_link.cc)
const numberColumns = native.linkColumns.numbers.map((name) => ({
  key: name.startsWith('macvlan.') ? name.slice('macvlan.'.length) : name,
  macvlan: name.startsWith('macvlan.'),
}));
const stringColumns = native.linkColumns.strings;

/** The rows of a link table, as NativeLink objects. */
export function rowsOf(table: LinkTable): NativeLink[] {
  const { count, numbers } = table;
  if (count === 0) return [];
  const strings = table.strings.split('\0');
  const macs = table.macs.split('\0');
  const nn = numberColumns.length;
  const ns = stringColumns.length;
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
  return modeByValue.get(value) ?? value;
}

export function toLink(n: NativeLink): Link {
  const link: Link = {
    index: n.index,
    name: n.name ?? '',
    mtu: n.mtu ?? 0,
    up: (n.flags & c.IFF_UP) !== 0,
    operState: operStates.get(n.operstate ?? c.IF_OPER_UNKNOWN) ?? String(n.operstate),
  };
  if (n.kind !== undefined) link.kind = n.kind;
  if (n.address !== undefined) link.mac = n.address;
  if (n.link !== undefined) link.lower = n.link;
  if (n.linkNetnsid !== undefined) link.lowerNetnsId = n.linkNetnsid;
  if (n.txqlen !== undefined) link.txQueueLen = n.txqlen;
  if (n.numTxQueues !== undefined) link.numTxQueues = n.numTxQueues;
  if (n.numRxQueues !== undefined) link.numRxQueues = n.numRxQueues;
  if (n.minMtu !== undefined) link.minMtu = n.minMtu;
  if (n.maxMtu !== undefined) link.maxMtu = n.maxMtu;
  if (n.group !== undefined) link.group = n.group;
  const m = n.macvlan;
  if (m) {
    const mode = modeOf(m.mode ?? c.MACVLAN_MODE_VEPA);
    const flags = m.flags ?? 0;
    const info: MacvlanInfo = {
      mode,
      nopromisc: (flags & c.MACVLAN_FLAG_NOPROMISC) !== 0,
      nodst: (flags & c.MACVLAN_FLAG_NODST) !== 0,
    };
    if (m.bcQueueLen !== undefined) info.bcQueueLen = m.bcQueueLen;
    if (m.bcQueueLenUsed !== undefined) info.bcQueueLenUsed = m.bcQueueLenUsed;
    if (m.bcCutoff !== undefined) info.bcCutoff = m.bcCutoff;
    if (mode === 'source') info.sourceMacs = m.macaddrData ?? [];
    link.macvlan = info;
  }
  const warnings: string[] = [];
  if (n.wirelessLower !== undefined && (n.kind === 'macvlan' || n.kind === 'macvtap')) warnings.push(wifiWarning(n.wirelessLower));
  if (n.truncated) warnings.push('the kernel reply for this link had an attribute cut short: some fields may be missing');
  if (warnings.length > 0) link.warnings = warnings;
  if (n.kind === 'macvtap' && n.tapMajor !== undefined && n.tapMinor !== undefined) {
    link.tap = { device: `/dev/tap${n.index}`, major: n.tapMajor, minor: n.tapMinor };
  }
  return link;
}
