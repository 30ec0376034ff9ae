// The handle: validation and composition in front of one native I/O thread.
import { randomBytes, randomInt } from 'node:crypto';

import {
  AddrRouteOp,
  LinkOp,
  Probe,
  native,
  type LinkTable,
  type NativeLink,
  type NativeError,
  type NativeLinkRequest,
  type NativeRoute,
  type NativeTapOpenResult,
} from './binding.js';
import { openNative, type Answer, type HandleCalls, type LinkCall } from './calls.js';
import { asErrorOf, HandleClosedError, NetlinkError, toNetlinkError } from './errors.js';
import {
  nextHops,
  parseCidr,
  parseDst,
  parseFamily,
  parseGateway,
  parseMetric,
  parseTable,
  toAddress,
  ROUTE_TYPES,
  toRoute,
  type Address,
  type Route,
  type RouteSpec,
} from './addr_route.js';
import { watchLinks, type LinkEventStream, type WatchOptions } from './events.js';
import { offloadBit, Tap, TAP_OFFLOADS, type TapOptions } from './tap.js';
import {
  MODES,
  firstLinkOf,
  linksOf,
  modeOf,
  modeValue,
  namedLinks,
  rowsOf,
  toLink,
  type Link,
  type MacvlanSpec,
  type Mode,
} from './link.js';
import {
  arrayOf,
  boolean,
  integer,
  invalidType,
  invalidValue,
  linkName,
  linkRef,
  netnsPath,
  netnsTarget,
  oneOf,
  outOfRange,
  plainObject,
  showRef,
  unicastMac,
  type NetnsTarget,
  type LinkRef,
} from './validate.js';

const c = native.constants;

/** Options of `open()`. */
export interface OpenOptions {
  /** A name under /run/netns, an nsfs path such as '/proc/4242/ns/net', or a pid. */
  netns?: string | number;
}

/** What `setLink` can change. */
export interface LinkChange {
  /** Set or clear IFF_UP (administrative state). */
  up?: boolean;
  /** The new MTU: at most the lower's. */
  mtu?: number;
  /** The new MAC, 'aa:bb:cc:dd:ee:ff', unicast. */
  mac?: string;
  /** The new name (IFLA_IFNAME). */
  name?: string;
  /** Move the link: a name under /run/netns, an nsfs path, or a pid. */
  netns?: string | number;
  /** The new macvlan mode (IFLA_MACVLAN_MODE). */
  mode?: Mode;
  /** The new transmit queue length (IFLA_TXQLEN). */
  txQueueLen?: number;
}

/** What `listLinks` takes: which links to list. */
export interface LinkFilter {
  /** IFLA_INFO_KIND, e.g. 'macvtap' (filtered in the kernel). */
  kind?: string;
  /** Only links whose lower (IFLA_LINK) is this one. */
  lower?: LinkRef;
  /**
   * Fill `tap` (the device number) of macvtaps. It costs a sysfs read per
   * macvtap, several times the dump itself, so it is off unless asked;
   * getLink, createMacvtap and openTap always have it.
   */
  tapDevices?: boolean;
}

/** What `setSourceMacs` does with the MACs: add, delete, replace the list with them, or flush it. */
export type SourceMacOp = 'add' | 'del' | 'set' | 'flush';

const SPEC_KEYS = [
  'lower',
  'name',
  'mode',
  'mac',
  'mtu',
  'up',
  'txQueueLen',
  'numTxQueues',
  'numRxQueues',
  'nopromisc',
  'nodst',
  'bcQueueLen',
  'bcCutoff',
  'sourceMacs',
  'netns',
] as const;
const CHANGE_KEYS = ['up', 'mtu', 'mac', 'name', 'netns', 'mode', 'txQueueLen'] as const;
const FILTER_KEYS = ['kind', 'lower', 'tapDevices'] as const;
const SOURCE_OPS: readonly SourceMacOp[] = ['add', 'del', 'set', 'flush'];
const TAP_KEYS = ['queues', 'vnetHdr', 'vnetHdrSize', 'nodeDir', 'owner', 'offloads'] as const;
/** MAX_TAP_QUEUES in drivers/net/tap.c. */
const MAX_TAP_QUEUES = 256;
/** sizeof(struct virtio_net_hdr), the kernel's default header size. */
const VNET_HDR_SIZE = 10;

/**
 * IFLA_MACVLAN_MACADDR_DATA holds the list, inside IFLA_INFO_DATA inside
 * IFLA_LINKINFO, whose nla_len is a u16: 12 bytes a MAC, less the other
 * attributes, leaves 5455; the kernel's own replies wrap past that too.
 */
const MAX_MACS_IN_ONE_REQUEST = 5440;

/** ETH_MIN_MTU: the smallest MTU macvlan accepts. */
const MIN_MTU = 68;
const U32_MAX = 0xffffffff;
/** The kernel refuses more queues than this (rtnl_create_link). */
const MAX_QUEUES = 4096;
/** Errno numbers we look at. */
const ENOENT = 2;
const ENODEV = 19;
const EEXIST = 17;
const EINVAL = 22;
const EOPNOTSUPP = 95;
/** What the native openTap says of a link that is not a macvtap. */
const EMEDIUMTYPE = 124;

const SKIP_STATS = { extMask: c.RTEXT_FILTER_SKIP_STATS };

/** Where openTap makes device nodes when /dev/tapN will not do. */
export const DEFAULT_NODE_DIR = '/run/macvlan';

/** The hint for ENODEV on a request that names one link. */
function notHere(req: NativeLinkRequest): (e: unknown) => string | undefined {
  const ref = req.index ?? req.name;
  return (e) => ((e as { errno?: number }).errno === ENODEV && ref !== undefined ? `no link ${showRef(ref)} in this namespace` : undefined);
}

/** The hint for EOPNOTSUPP on a delete: the kernel deletes only links that have a kind (rtnl_link_ops). */
function notDeletable(ref: LinkRef): string {
  return `${showRef(ref)} has no link kind (loopback or a hardware device), and the kernel deletes only links made with one`;
}

function refRequest(ref: LinkRef): NativeLinkRequest {
  return typeof ref === 'number' ? { index: ref } : { name: ref };
}

/**
 * A validated create: the request and what the create then needs to know.
 * On the common path it is also the call that the I/O thread gets and the
 * Answer that turns the kernel's echo into the Link: one object a create.
 */
class CreatePlan implements LinkCall, Answer {
  error: unknown = undefined;
  /** What finds the new link when the kernel does not echo it (set with the call). */
  findCreated: ((plan: CreatePlan) => Promise<Link>) | undefined = undefined;

  constructor(
    readonly kind: 'macvlan' | 'macvtap',
    readonly req: NativeLinkRequest,
    readonly lowerRef: LinkRef,
    readonly name: string | undefined,
    readonly mtu: number | undefined,
    /** The lower is looked up first: to check an MTU against its own, or to create into another namespace. */
    readonly lookup: boolean,
    readonly target: NetnsTarget | undefined,
  ) {}

  get op(): typeof LinkOp.create {
    return LinkOp.create;
  }
  get netnsPath(): undefined {
    return undefined;
  }
  get probes(): number {
    return Probe.all;
  }

  result(table: unknown): Link | Promise<Link> {
    return (Handle.ignoreCreateEcho ? undefined : firstLinkOf(table as LinkTable)) ?? this.findCreated!(this);
  }

  /** The operation as errors name it: made only when one is. */
  get what(): string {
    const op = this.kind === 'macvlan' ? 'createMacvlan' : 'createMacvtap';
    return `${op}(${this.name ? `name '${this.name}', ` : ''}lower ${showRef(this.lowerRef)})`;
  }
}

function planCreate(kind: 'macvlan' | 'macvtap', spec: MacvlanSpec): CreatePlan {
  const s = plainObject(spec, 'spec', SPEC_KEYS);
  if (s.lower === undefined) throw invalidType('spec.lower', 'a link name (string) or ifindex (number)', undefined);
  const lowerRef = linkRef(s.lower, 'spec.lower');
  const name = s.name === undefined ? undefined : linkName(s.name, 'spec.name', true);
  const mode = s.mode === undefined ? 'bridge' : oneOf(s.mode, 'spec.mode', MODES);
  // The lower's keys are in the literal: added later, they would cost the
  // object a property array of its own.
  const req: NativeLinkRequest = {
    kind,
    name: name ?? `${kind}%d`,
    macvlan: { mode: modeValue[mode] },
    link: undefined,
    linkName: undefined,
  };
  const m = req.macvlan!;
  if (s.mac !== undefined) req.address = unicastMac(s.mac, 'spec.mac');
  if (s.mac !== undefined && mode === 'passthru') {
    // The kernel gives a passthru link its lower's MAC and ignores ours.
    throw invalidValue('spec.mac', "omitted with mode 'passthru' (a passthru link takes its lower's MAC)", s.mac);
  }
  const mtu = s.mtu === undefined ? undefined : integer(s.mtu, 'spec.mtu', MIN_MTU, U32_MAX);
  if (mtu !== undefined) req.mtu = mtu;
  if (s.up !== undefined && boolean(s.up, 'spec.up')) {
    req.flags = c.IFF_UP;
    req.change = c.IFF_UP;
  }
  if (s.txQueueLen !== undefined) req.txqlen = integer(s.txQueueLen, 'spec.txQueueLen', 0, U32_MAX);
  if (s.numTxQueues !== undefined) req.numTxQueues = integer(s.numTxQueues, 'spec.numTxQueues', 1, MAX_QUEUES);
  if (s.numRxQueues !== undefined) req.numRxQueues = integer(s.numRxQueues, 'spec.numRxQueues', 1, MAX_QUEUES);
  let flags = 0;
  if (s.nopromisc !== undefined && boolean(s.nopromisc, 'spec.nopromisc')) {
    if (mode !== 'passthru') throw invalidValue('spec.nopromisc', "used with mode 'passthru' only", true);
    flags |= c.MACVLAN_FLAG_NOPROMISC;
  }
  if (s.nodst !== undefined && boolean(s.nodst, 'spec.nodst')) {
    if (mode !== 'source') throw invalidValue('spec.nodst', "used with mode 'source' only", true);
    flags |= c.MACVLAN_FLAG_NODST;
  }
  if (flags) m.flags = flags;
  if (s.bcQueueLen !== undefined) m.bcQueueLen = integer(s.bcQueueLen, 'spec.bcQueueLen', 0, U32_MAX);
  if (s.bcCutoff !== undefined) m.bcCutoff = integer(s.bcCutoff, 'spec.bcCutoff', -0x80000000, 0x7fffffff);
  if (s.sourceMacs !== undefined) {
    if (mode !== 'source') throw invalidValue('spec.sourceMacs', "used with mode 'source' only", s.sourceMacs);
    m.macaddrMode = c.MACVLAN_MACADDR_SET;
    m.macaddrData = sourceMacList(s.sourceMacs, 'spec.sourceMacs', MAX_MACS_IN_ONE_REQUEST);
  }
  const target = s.netns === undefined ? undefined : netnsTarget(s.netns, 'spec.netns');

  // Without an MTU to check or another namespace to find the new link in
  // (by its lower's ifindex), the lower goes straight to the kernel (a name
  // is resolved on the I/O thread), which answers ENODEV for a missing
  // one: one round trip, not two.
  const lookup = mtu !== undefined || target !== undefined;
  if (!lookup) {
    if (typeof lowerRef === 'string') req.linkName = lowerRef;
    else req.link = lowerRef;
  }
  return new CreatePlan(kind, req, lowerRef, name, mtu, lookup, target);
}

/** ENODEV about the lower, said as such. */
function lowerMissing(plan: CreatePlan, e: unknown): unknown {
  if (e instanceof NetlinkError && e.code === 'ENODEV') {
    return new NetlinkError(plan.what, ENODEV, { hint: `the lower ${showRef(plan.lowerRef)} does not exist` });
  }
  return e;
}

/** A create's promise: the plan's Answer, or its failure said as the create's (made here, for the caller's async stack). */
function createRejected(reason: unknown): never {
  if (!(reason instanceof CreatePlan)) throw reason; // from findCreated, said already
  const e = reason.error;
  throw createFailed(reason, toNetlinkError(e, reason.what, undefined, notHere(reason.req)(e)));
}

function createFailed(plan: CreatePlan, e: unknown): unknown {
  // macvlan_common_newlink() answers a bare EINVAL when a passthru link
  // would share its lower, or a link would join a passthru lower; and when
  // the lower is not Ethernet (macvlan_port_create).
  if (e instanceof NetlinkError && e.code === 'EINVAL' && !e.kernelMessage && e.operation === plan.what) {
    return new NetlinkError(plan.what, e.errno, {
      hint:
        'the kernel gave no reason; the usual ones: a passthru link must be the only macvlan/macvtap on its lower, ' +
        'and no link can join a lower that has one; the lower must be an Ethernet device (not lo, not a tun)',
    });
  }
  return plan.lookup ? e : lowerMissing(plan, e);
}

/** Why a netns path was refused: missing (ENOENT), or not a network namespace (setns() says EINVAL). */
function netnsHint(err: unknown, path: string): string | undefined {
  const errno = (err as { errno?: unknown } | null)?.errno;
  if (!path) return undefined;
  if (errno === ENOENT) return `no namespace at '${path}'`;
  if (errno !== EINVAL) return undefined;
  return `'${path}' is not a network namespace (a name under /run/netns, or an nsfs file such as /proc/PID/ns/net)`;
}

/** A handle in the namespace a create or a move goes to. */
async function openTarget(target: NetnsTarget, what: string): Promise<Handle> {
  const path = netnsPath(target);
  return open({ netns: path }).catch((e: unknown) => {
    throw toNetlinkError(e, `${what}: open the target namespace`, undefined, netnsHint(e, path));
  });
}

/**
 * For compositions of a handle's calls in this package (hostShim): runs
 * `run` as one call of several steps (Handle.#stepwise), and deletes a link
 * it made as an undo does (Handle.#undo). Set by Handle's static block.
 */
export let stepwiseOn: <T>(nl: Handle, run: () => Promise<T>) => Promise<T>;
export let undoCreate: (nl: Handle, index: number) => Promise<void>;

/** Opens a handle on a network namespace (default: the caller's). */
export async function open(options: OpenOptions = {}): Promise<Handle> {
  const o = plainObject(options, 'options', ['netns']);
  const path = o.netns === undefined ? '' : netnsPath(netnsTarget(o.netns, 'options.netns'));
  const handle = openNative(path);
  let ioThread: number;
  try {
    ioThread = await handle.opened;
  } catch (err) {
    throw toNetlinkError(err, path ? `open({ netns: '${path}' })` : 'open()', undefined, netnsHint(err, path));
  }
  return new Handle(handle, path || undefined, ioThread);
}

/**
 * One rtnetlink connection, bound to one network namespace, with its own
 * I/O thread. Every method returns a promise and never blocks the event loop.
 */
export class Handle {
  readonly #native: HandleCalls;
  readonly #closeHooks = new Set<() => void>();
  /** Calls of several steps under way (#stepwise): the socket outlives them. */
  readonly #underway = new Set<Promise<unknown>>();
  #closed = false;
  /** The namespace path this handle works in; undefined for the caller's own. */
  readonly netns: string | undefined;

  /**
   * The I/O thread's id: a task in this handle's namespace, which names it
   * to the kernel (IFLA_NET_NS_PID) for as long as the handle is open, even
   * if the path it was opened by names another namespace by then.
   */
  readonly #ioThread: number;

  /** @internal use `open()`. */
  constructor(nativeHandle: HandleCalls, netns: string | undefined, ioThread = 0) {
    this.#native = nativeHandle;
    this.netns = netns;
    this.#ioThread = ioThread;
  }

  /** Whether `close()` was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Stops the I/O thread and closes the socket. Idempotent. Pending calls the
   * kernel has not been sent reject (ERR_HANDLE_CLOSED); those it has settle
   * with its answer (HandleCalls.close). A call of several steps that close()
   * cuts short first undoes its steps on this socket, in this namespace.
   */
  async close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      for (const hook of this.#closeHooks) hook();
      this.#closeHooks.clear();
    }
    while (this.#underway.size > 0) await Promise.allSettled(this.#underway);
    await this.#native.close();
  }

  /**
   * Runs a call of several steps: close() refuses its next step but keeps
   * the socket until the call has put back what its first steps did, so an
   * undo never reopens the namespace by a path that may since name another.
   */
  async #stepwise<T>(run: () => Promise<T>): Promise<T> {
    const call = run();
    this.#underway.add(call);
    try {
      return await call;
    } finally {
      this.#underway.delete(call);
    }
  }

  static {
    stepwiseOn = (nl, run) => nl.#stepwise(run);
    undoCreate = (nl, index) => nl.#undo((n) => n.link(LinkOp.delete, { index }));
  }

  /**
   * Runs one native call: rejects at once when closed, and when close() comes
   * first. The NetlinkError is made here, inside an async function, so V8's
   * async stack trace carries the caller's frames without a stack capture on
   * every call.
   */
  async #call<T>(
    operation: string,
    start: (n: HandleCalls) => Promise<T>,
    hint?: (e: unknown) => string | undefined,
    evenIfClosed = false,
  ): Promise<T> {
    if (this.#closed && !evenIfClosed) throw new HandleClosedError(operation);
    try {
      return await start(this.#native);
    } catch (e) {
      throw toNetlinkError(e, operation, undefined, hint?.(e));
    }
  }

  /**
   * Puts back what a call's first steps did, whatever comes of it, also
   * after close() has cut the call short (its next step refused): the call
   * is #stepwise, so the socket is still open.
   */
  async #undo(steps: (n: HandleCalls) => Promise<unknown>): Promise<void> {
    await steps(this.#native).catch(() => undefined);
  }

  /** A create, get or dump, its links decoded into rows. */
  async #linkRows(
    op: typeof LinkOp.create | typeof LinkOp.get | typeof LinkOp.dump,
    req: NativeLinkRequest,
    operation: string,
    probes: number,
    netnsPath?: string,
  ): Promise<NativeLink[]> {
    return rowsOf(await this.#call(operation, (n) => n.link(op, req, netnsPath, probes), notHere(req)));
  }

  /**
   * The one-link table of a GETLINK, or ENODEV said as such. `evenIfClosed`:
   * a #stepwise call's read of what its steps did, which close() does not cut.
   */
  async #getTable(ref: LinkRef, operation: string, probes: number, evenIfClosed = false): Promise<LinkTable> {
    const req = { ...refRequest(ref), ...SKIP_STATS };
    const table = await this.#call(operation, (n) => n.link(LinkOp.get, req, undefined, probes), notHere(req), evenIfClosed);
    if (table.count === 0) throw new NetlinkError(operation, ENODEV, { hint: `no link ${showRef(ref)} in this namespace` });
    return table;
  }

  /**
   * The link as the kernel tells it. Without sysfs facts unless asked
   * (`Probe`): a lookup that only needs its index, kind or MTU skips a
   * sysfs read a macvtap.
   */
  async #getNative(ref: LinkRef, operation: string, probes: number = Probe.none, evenIfClosed = false): Promise<NativeLink> {
    return rowsOf(await this.#getTable(ref, operation, probes, evenIfClosed))[0]!;
  }

  /** The link, or a NetlinkError with code 'ENODEV' when there is none. */
  async getLink(ref: LinkRef): Promise<Link> {
    const r = linkRef(ref, 'ref');
    return firstLinkOf(await this.#getTable(r, `getLink(${showRef(r)})`, Probe.all))!;
  }

  /** Every link, or those of one kind and/or on one lower. */
  async listLinks(filter: LinkFilter = {}): Promise<Link[]> {
    const f = plainObject(filter, 'filter', FILTER_KEYS);
    const kind = f.kind === undefined ? undefined : f.kind;
    if (kind !== undefined && typeof kind !== 'string') throw invalidType('filter.kind', 'a string', kind);
    if (kind === '') throw invalidValue('filter.kind', 'a non-empty string', kind);
    const lowerRef = f.lower === undefined ? undefined : linkRef(f.lower, 'filter.lower');
    const tapDevices = f.tapDevices === undefined ? false : boolean(f.tapDevices, 'filter.tapDevices');
    const operation = 'listLinks()';
    const lower = lowerRef === undefined ? undefined : await this.#getNative(lowerRef, operation);
    // The kernel filters by kind (IFLA_INFO_KIND in the dump request) but
    // ignores a kind it does not know, so the kind is checked here as well.
    const req: NativeLinkRequest = kind === undefined ? { ...SKIP_STATS } : { ...SKIP_STATS, kind };
    const probes = tapDevices ? Probe.tapDevice : Probe.none;
    // A large dump comes in parts, built while the kernel dumps the rest.
    const where = { kind, lower: lower?.index };
    let links: Link[] | undefined;
    const part = (table: LinkTable | null): void => {
      if (table === null) {
        links = undefined;
        return;
      }
      links = linksOf(table, where, links);
      native.recycleNumbers(table.numbers);
    };
    part(await this.#call(operation, (n) => n.dumpInParts(req, probes, part), notHere(req)));
    return links ?? [];
  }

  /** Creates a macvlan link. */
  createMacvlan(spec: MacvlanSpec): Promise<Link> {
    return this.#createLink('macvlan', spec);
  }

  /** Creates a macvtap link; the result carries `tap` (the /dev/tapN device). */
  createMacvtap(spec: MacvlanSpec): Promise<Link> {
    return this.#createLink('macvtap', spec);
  }

  #createLink(kind: 'macvlan' | 'macvtap', spec: MacvlanSpec): Promise<Link> {
    // No async function on the common path: 500 creates issued in one
    // loop each allocate their frame and promises there, and those pages
    // are what a burst's caller waits on (bench/RESULTS.md). The plan is
    // the call and its answer; one reaction turns a failure into the
    // create's error.
    let plan: CreatePlan;
    try {
      plan = planCreate(kind, spec);
    } catch (e) {
      return Promise.reject(e);
    }
    return plan.lookup ? this.#createChecked(plan) : this.#createAnswered(plan);
  }

  /** The create itself: the plan goes to the I/O thread and makes the Link of its answer. */
  #createAnswered(plan: CreatePlan): Promise<Link> {
    if (this.#closed) return Promise.reject(new HandleClosedError(plan.what));
    plan.findCreated = this.#findCreatedFor;
    return this.#native.linkAnswered<Link>(plan).then(undefined, createRejected);
  }

  readonly #findCreatedFor = (plan: CreatePlan): Promise<Link> => this.#findCreated(plan);

  /** A create whose lower is looked up first (CreatePlan.lookup). */
  async #createChecked(plan: CreatePlan): Promise<Link> {
    const { req } = plan;
    req.link = await this.#lowerIndex(plan);
    const { target } = plan;
    if (target !== undefined) {
      try {
        return await this.#stepwise(() => this.#createInto(plan.what, req, target));
      } catch (e) {
        throw createFailed(plan, e);
      }
    }
    return await this.#createAnswered(plan);
  }

  /** The lower's ifindex, when it is looked up first (CreatePlan.lookup). */
  async #lowerIndex(plan: CreatePlan): Promise<number> {
    let lower: NativeLink;
    try {
      lower = await this.#getNative(plan.lowerRef, plan.what);
    } catch (e) {
      throw lowerMissing(plan, e);
    }
    if (plan.mtu !== undefined) {
      // A macvlan made on a macvlan sits on that one's lower
      // (macvlan_common_newlink), and its MTU is checked against that.
      const stacked = (lower.kind === 'macvlan' || lower.kind === 'macvtap') && lower.link !== undefined && lower.linkNetnsid === undefined;
      const real = stacked ? await this.#getNative(lower.link!, plan.what).catch(() => lower) : lower;
      if (real.mtu !== undefined && plan.mtu > real.mtu) {
        const on = real === lower ? '' : ` under '${lower.name}'`;
        throw outOfRange('spec.mtu', `<= ${real.mtu} (the MTU of lower '${real.name}'${on})`, plan.mtu);
      }
    }
    return lower.index;
  }

  /**
   * Kernels before 6.3 do not echo RTM_NEWLINK: the new link is looked up
   * instead; for a kernel-picked name, the newest link of this kind on this
   * lower (ifindexes are allocated cyclically upwards).
   */
  async #findCreated(plan: CreatePlan): Promise<Link> {
    if (plan.name !== undefined && !plan.name.includes('%')) return this.getLink(plan.name);
    const mine = (await this.listLinks({ kind: plan.kind, lower: plan.req.link ?? plan.lowerRef })).sort((a, b) => b.index - a.index);
    if (!mine[0]) throw new NetlinkError(plan.what, ENODEV, { hint: 'the new link was not found' });
    // Read again by itself: the list has no macvtap's device number.
    return this.getLink(mine[0].index);
  }

  /**
   * Creates straight into another namespace. Linux 6.x resolves the name in
   * the target; older kernels also refused a name taken in the creating
   * namespace (EEXIST), so on that answer the link is made under a temporary
   * name here, then moved and renamed, and removed if the move fails.
   * The kernel does not echo a link made elsewhere: it is read back there,
   * by name, or by its MAC when the kernel picked the name.
   */
  async #createInto(what: string, req: NativeLinkRequest, target: NetnsTarget): Promise<Link> {
    const there = await openTarget(target, what);
    try {
      const named = !req.name!.includes('%');
      if (!named && req.address === undefined) req.address = randomLocalMac();
      const nsPath = 'path' in target ? target.path : undefined;
      const moveTo: NativeLinkRequest = 'pid' in target ? { netnsPid: target.pid } : {};
      try {
        if (Handle.forceTemporaryName) throw new NetlinkError(what, EEXIST);
        await this.#linkRows(LinkOp.create, { ...req, ...moveTo }, what, Probe.none, nsPath);
      } catch (err) {
        if (!(err instanceof NetlinkError) || err.code !== 'EEXIST') throw err;
        if (
          named &&
          (await there.getLink(req.name!).then(
            () => true,
            () => false,
          ))
        )
          throw asErrorOf(err, what, `the target namespace has a link '${req.name!}'`);
        // Moving a link closes it (dev_change_net_namespace): bring it up in
        // the move request, after the move, not at create.
        const { flags, change, ...down } = req;
        const tempName = `mvtmp${randomBytes(5).toString('hex')}`;
        const [echoed] = await this.#linkRows(LinkOp.create, { ...down, name: tempName }, what, Probe.none);
        const temp = echoed ?? (await this.#getNative(tempName, what));
        const move: NativeLinkRequest = { index: temp.index, name: req.name!, ...moveTo };
        if (change !== undefined) Object.assign(move, { flags, change });
        await this.#call(what, (n) => n.link(LinkOp.change, move, nsPath)).catch(async (moveErr: unknown) => {
          await this.#undo((n) => n.link(LinkOp.delete, { index: temp.index }));
          throw moveErr;
        });
      }
      if (named) return await there.getLink(req.name!);
      const found = (await there.listLinks({ kind: req.kind! })).find(
        (l) => l.mac === req.address && (l.lowerNetnsId !== undefined || l.lower === req.link),
      );
      if (!found) throw new NetlinkError(what, ENODEV, { hint: 'the new link was not found in the target namespace' });
      return await there.getLink(found.index);
    } finally {
      await there.close();
    }
  }

  /** Test hook: take the temporary-name path of #createInto. @internal */
  static forceTemporaryName = false;

  /** Test hook: creates find their link as on kernels before 6.3, which do not echo it. @internal */
  static ignoreCreateEcho = false;

  /** Changes a link. Resolves to the link as it is now, or to undefined when it moved to another namespace. */
  setLink(ref: LinkRef, change: LinkChange): Promise<Link | void> {
    return this.#stepwise(() => this.#setLink(ref, change));
  }

  async #setLink(ref: LinkRef, change: LinkChange): Promise<Link | void> {
    const r = linkRef(ref, 'ref');
    const ch = plainObject(change, 'change', CHANGE_KEYS);
    const what = `setLink(${showRef(r)})`;
    const req: NativeLinkRequest = {};
    if (ch.up !== undefined) {
      req.change = c.IFF_UP;
      req.flags = boolean(ch.up, 'change.up') ? c.IFF_UP : 0;
    }
    const mtu = ch.mtu === undefined ? undefined : integer(ch.mtu, 'change.mtu', MIN_MTU, U32_MAX);
    if (mtu !== undefined) req.mtu = mtu;
    if (ch.mac !== undefined) req.address = unicastMac(ch.mac, 'change.mac');
    if (ch.name !== undefined) req.name = linkName(ch.name, 'change.name');
    if (ch.txQueueLen !== undefined) req.txqlen = integer(ch.txQueueLen, 'change.txQueueLen', 0, U32_MAX);
    const mode = ch.mode === undefined ? undefined : oneOf(ch.mode, 'change.mode', MODES);
    const target = ch.netns === undefined ? undefined : netnsTarget(ch.netns, 'change.netns');

    const before = await this.#getNative(r, what);
    if (mode !== undefined) {
      if (before.kind !== 'macvlan' && before.kind !== 'macvtap') {
        throw invalidValue('change.mode', `set on a macvlan or macvtap link ('${before.name}' is ${before.kind ?? 'not one'})`, mode);
      }
      const from = before.macvlan?.mode;
      if ((from === c.MACVLAN_MODE_PASSTHRU) !== (mode === 'passthru')) {
        throw invalidValue('change.mode', 'a change that neither enters nor leaves passthru (the kernel refuses those)', mode);
      }
      req.kind = before.kind;
      req.macvlan = { mode: modeValue[mode] };
    }
    const macvlan = before.kind === 'macvlan' || before.kind === 'macvtap';
    if (mtu !== undefined && macvlan && before.link !== undefined && before.linkNetnsid === undefined) {
      const lower = await this.#getNative(before.link, what).catch(() => undefined);
      if (lower?.mtu !== undefined && mtu > lower.mtu) {
        throw outOfRange('change.mtu', `<= ${lower.mtu} (the MTU of lower '${lower.name}')`, mtu);
      }
    }
    // A lower in another namespace cannot be read from here, and
    // macvlan_change_mtu() refuses an MTU above its own with a bare EINVAL.
    const lowerElsewhere =
      mtu !== undefined && macvlan && before.linkNetnsid !== undefined
        ? (e: unknown) =>
            (e as NativeError).errno === EINVAL && !(e as NativeError).extack
              ? "the MTU of a macvlan/macvtap cannot be above its lower's, which is in another namespace"
              : undefined
        : undefined;
    req.index = before.index;
    if (target !== undefined) return this.#move(before, req, target, what, lowerElsewhere);
    const name = req.name;
    const renamed = name !== undefined && name !== before.name;
    // do_setlink() renames after the MTU, MAC and queue length; an MTU below
    // 1280 on the way has already flushed the link's IPv6 addresses, which
    // no restore brings back. So a taken name is found first.
    const taken = `a link '${name}' exists already`;
    const withOthers = Object.keys(req).some((k) => k !== 'index' && k !== 'name');
    if (renamed && withOthers && (await this.#getNative(name, what).catch(() => undefined))) {
      throw new NetlinkError(what, EEXIST, { hint: taken });
    }
    const hint = (e: unknown): string | undefined => (renamed && (e as NativeError).errno === EEXIST ? taken : lowerElsewhere?.(e));
    await this.#changeOrRestore(before, req, what, hint);
    return toLink(await this.#getNative(before.index, what, Probe.all, true));
  }

  async #changeOrRestore(
    before: NativeLink,
    req: NativeLinkRequest,
    what: string,
    hint?: (e: unknown) => string | undefined,
  ): Promise<void> {
    try {
      await this.#call(what, (n) => n.link(LinkOp.change, req), hint);
    } catch (err) {
      // do_setlink applies attributes one by one: put back what went through
      // (nothing when close() came before the change was sent).
      if (!(err instanceof HandleClosedError)) await this.#restore(before, req);
      throw err;
    }
  }

  /**
   * A move, with the other changes asked. do_setlink() moves the link first
   * and applies the rest in the target, so a refusal there (a name taken, a
   * MAC busy on the lower when it comes up) would leave it moved. The
   * changes a macvlan checks the same in any namespace (MTU, MAC, queue
   * length, mode) go first, here; the name is looked up in the target; and a
   * move the kernel refuses after it moved is moved back.
   */
  async #move(
    before: NativeLink,
    req: NativeLinkRequest,
    target: NetnsTarget,
    what: string,
    hint?: (e: unknown) => string | undefined,
  ): Promise<Link | void> {
    const { index, name, change, flags, ...local } = req;
    const move: NativeLinkRequest = { index, ...('pid' in target ? { netnsPid: target.pid } : {}) };
    if (name !== undefined) move.name = name;
    if (change !== undefined) Object.assign(move, { change, flags });
    const there = await openTarget(target, what);
    try {
      const taken = name === undefined ? undefined : await there.#getNative(name, what).catch(() => undefined);
      if (taken && !(taken.index === before.index && taken.address === before.address)) {
        throw new NetlinkError(what, EEXIST, { hint: `the target namespace has a link '${name}'` });
      }
      const changedHere = Object.keys(local).length > 0;
      if (changedHere) await this.#changeOrRestore(before, { index, ...local }, what, hint);
      try {
        await this.#call(what, (n) => n.link(LinkOp.change, move, 'path' in target ? target.path : undefined));
      } catch (err) {
        const mac = req.address ?? before.address;
        const stayed = await this.#getNative(index!, what, Probe.none, true).then(
          (l) => l.address === mac,
          () => false,
        );
        if (!stayed) await there.#moveBack(before, mac, this.#ioThread).catch(() => undefined);
        if (changedHere) await this.#restore(before, { index, ...local });
        throw err;
      }
    } finally {
      await there.close();
    }
    // Moving a link into the namespace it is in does nothing (net_eq() in
    // __dev_change_net_namespace), and then it is still here.
    const here = await this.#getNative(index!, what, Probe.all, true).catch(() => undefined);
    return here && here.address === (req.address ?? before.address) ? toLink(here) : undefined;
  }

  /**
   * Called on the target's handle: moves a link that arrived here back to
   * the namespace of the thread `homeThread` (the moving handle's I/O
   * thread), under its old name and up if it was. The kernel
   * keeps the ifindex when it is free in the target, so the link is looked
   * for by index, then among all, by its kind and MAC.
   */
  async #moveBack(before: NativeLink, mac: string | undefined, homeThread: number): Promise<void> {
    const arrivedAs = (l: NativeLink | undefined): boolean =>
      l !== undefined && l.kind === before.kind && l.address === mac && l.linkNetnsid !== undefined;
    const byIndex = await this.#getNative(before.index, 'moveBack').catch(() => undefined);
    const arrived = arrivedAs(byIndex)
      ? byIndex
      : rowsOf(await this.#native.link(LinkOp.dump, { ...SKIP_STATS }, undefined, Probe.none)).find(arrivedAs);
    if (arrived === undefined) return;
    const back: NativeLinkRequest = { index: arrived.index, netnsPid: homeThread, change: c.IFF_UP, flags: before.flags & c.IFF_UP };
    if (before.name !== undefined) back.name = before.name;
    await this.#native.link(LinkOp.change, back);
  }

  /** Puts back what `req` changed of the link `before` describes. */
  async #restore(before: NativeLink, req: NativeLinkRequest): Promise<void> {
    const back: NativeLinkRequest = { index: before.index };
    if (req.change !== undefined) {
      back.change = c.IFF_UP;
      back.flags = before.flags & c.IFF_UP;
    }
    if (req.mtu !== undefined && before.mtu !== undefined) back.mtu = before.mtu;
    if (req.address !== undefined && before.address !== undefined) back.address = before.address;
    if (req.name !== undefined && before.name !== undefined) back.name = before.name;
    if (req.txqlen !== undefined && before.txqlen !== undefined) back.txqlen = before.txqlen;
    if (req.macvlan && before.kind && before.macvlan?.mode !== undefined) {
      back.kind = before.kind;
      back.macvlan = { mode: before.macvlan.mode };
    }
    await this.#undo((n) => n.link(LinkOp.change, back));
  }

  /**
   * Changes the allowed source MACs of a mode 'source' link: 'add' and 'del'
   * one or more, 'set' replaces the list, 'flush' empties it.
   */
  setSourceMacs(ref: LinkRef, op: SourceMacOp, macs?: string[]): Promise<void> {
    return this.#stepwise(() => this.#setSourceMacs(ref, op, macs));
  }

  async #setSourceMacs(ref: LinkRef, op: SourceMacOp, macs?: string[]): Promise<void> {
    const r = linkRef(ref, 'ref');
    const o = oneOf(op, 'op', SOURCE_OPS);
    const what = `setSourceMacs(${showRef(r)}, '${o}')`;
    let list: string[] = [];
    if (o === 'flush') {
      if (macs !== undefined && (!Array.isArray(macs) || macs.length > 0)) throw invalidValue('macs', "omitted with 'flush'", macs);
    } else {
      if (macs === undefined) throw invalidType('macs', 'an array of MAC addresses', macs);
      list = sourceMacList(macs, 'macs', o === 'set' ? MAX_MACS_IN_ONE_REQUEST : Infinity);
      if (o !== 'set' && list.length === 0) throw invalidValue('macs', `at least one MAC address with '${o}'`, macs);
    }
    const link = await this.#getNative(r, what);
    if ((link.kind !== 'macvlan' && link.kind !== 'macvtap') || link.macvlan?.mode !== c.MACVLAN_MODE_SOURCE) {
      const is =
        link.kind !== 'macvlan' && link.kind !== 'macvtap'
          ? `is ${link.kind ?? 'a link without a kind'}`
          : `is in mode '${modeOf(link.macvlan?.mode ?? c.MACVLAN_MODE_VEPA)}'`;
      throw invalidValue('ref', `a macvlan/macvtap in mode 'source' ('${link.name}' ${is})`, ref);
    }
    const base = { index: link.index, kind: link.kind };
    if (o === 'set' || o === 'flush') {
      const macvlan = o === 'set' ? { macaddrMode: c.MACVLAN_MACADDR_SET, macaddrData: list } : { macaddrMode: c.MACVLAN_MACADDR_FLUSH };
      await this.#call(what, (n) => n.link(LinkOp.change, { ...base, macvlan }));
      return;
    }
    // IFLA_MACVLAN_MACADDR takes one address per request; they go out in one batch.
    const macaddrMode = o === 'add' ? c.MACVLAN_MACADDR_ADD : c.MACVLAN_MACADDR_DEL;
    const results = await Promise.allSettled(
      list.map((macaddr) => this.#call(what, (n) => n.link(LinkOp.change, { ...base, macvlan: { macaddrMode, macaddr } }))),
    );
    const failed = results.find((x): x is PromiseRejectedResult => x.status === 'rejected');
    if (failed) {
      // All or nothing: undo the ones that went through.
      const undo = o === 'add' ? c.MACVLAN_MACADDR_DEL : c.MACVLAN_MACADDR_ADD;
      const done = list.filter((_, i) => results[i]!.status === 'fulfilled');
      await this.#undo((n) =>
        Promise.allSettled(done.map((macaddr) => n.link(LinkOp.change, { ...base, macvlan: { macaddrMode: undo, macaddr } }))),
      );
      throw failed.reason;
    }
  }

  /**
   * Opens the /dev/tapN device of a macvtap in this handle's namespace: the
   * device number is read from sysfs as this namespace shows it, /dev/tapN
   * is used only when it is that device (otherwise a node is made in
   * `nodeDir`), and every fd is checked (fstat, TUNGETIFF) against the link.
   */
  async openTap(ref: LinkRef, options: TapOptions = {}): Promise<Tap> {
    const r = linkRef(ref, 'ref');
    const o = plainObject(options, 'options', TAP_KEYS);
    const queues = o.queues === undefined ? 1 : integer(o.queues, 'options.queues', 1, MAX_TAP_QUEUES);
    const vnetHdr = o.vnetHdr === undefined ? false : boolean(o.vnetHdr, 'options.vnetHdr');
    let vnetHdrSize = 0;
    if (o.vnetHdrSize !== undefined) {
      if (typeof o.vnetHdrSize !== 'number') throw invalidType('options.vnetHdrSize', 'a number', o.vnetHdrSize);
      if (!vnetHdr) throw invalidValue('options.vnetHdrSize', 'used with vnetHdr: true only', o.vnetHdrSize);
      if (o.vnetHdrSize !== 10 && o.vnetHdrSize !== 12) throw invalidValue('options.vnetHdrSize', '10 or 12', o.vnetHdrSize);
      vnetHdrSize = o.vnetHdrSize;
    }
    const nodeDir = o.nodeDir === undefined ? DEFAULT_NODE_DIR : o.nodeDir;
    if (typeof nodeDir !== 'string') throw invalidType('options.nodeDir', 'an absolute directory path (a string)', nodeDir);
    if (!nodeDir.startsWith('/') || nodeDir.includes('\0')) {
      throw invalidValue('options.nodeDir', 'an absolute directory path', nodeDir);
    }
    const owner = o.owner === undefined ? {} : plainObject(o.owner, 'options.owner', ['uid', 'gid', 'mode']);
    const uid = owner.uid === undefined ? -1 : integer(owner.uid, 'options.owner.uid', 0, 0xfffffffe);
    const gid = owner.gid === undefined ? -1 : integer(owner.gid, 'options.owner.gid', 0, 0xfffffffe);
    const mode = owner.mode === undefined ? 0o600 : integer(owner.mode, 'options.owner.mode', 0, 0o777);
    const offload = tapOffloads(o.offloads, vnetHdr);

    const what = `openTap(${showRef(r)})`;
    const hdr = vnetHdr ? vnetHdrSize || VNET_HDR_SIZE : 0;
    let opened: NativeTapOpenResult;
    try {
      // One the kernel-side work had begun for when close() came resolves to its Tap (HandleCalls.close).
      opened = await this.#call(what, (n) => n.openTap({ ref: r, queues, vnetHdr, vnetHdrSize, nodeDir, uid, gid, mode, offload }));
    } catch (err) {
      const errno = (err as { errno?: number }).errno;
      if (errno === ENODEV || errno === EMEDIUMTYPE) {
        // Not found, or not a macvtap: what the link is, in the words getLink uses.
        const link = await this.#getNative(r, what);
        if (link.kind !== 'macvtap') {
          throw invalidValue('ref', `a macvtap link ('${link.name}' is ${link.kind ?? 'a link without a kind'})`, ref);
        }
      }
      // The native open's text is ours (which step failed), not the kernel's.
      if (err instanceof NetlinkError && err.kernelMessage) throw new NetlinkError(what, err.errno, { hint: err.kernelMessage });
      throw err;
    }
    // Weakly: an open tap does not keep its handle from being collected.
    const calls = new WeakRef(this.#native);
    return new Tap(opened, hdr, offload, (fd, node, major, minor) => calls.deref()?.closeTap(fd, node, major, minor));
  }

  /** Resolves a link reference to its ifindex (a number is taken as is). */
  async #index(ref: LinkRef, what: string): Promise<number> {
    return typeof ref === 'number' ? ref : (await this.#getNative(ref, what)).index;
  }

  /**
   * Adds an address ('192.0.2.10/24', '2001:db8::10/64'). `nodad` skips
   * IPv6 duplicate address detection (IFA_F_NODAD), so the address is
   * usable at once. `peer` makes a point-to-point address: the prefix
   * length is then the peer's (`ip address add A peer P/len`).
   */
  async addAddress(ref: LinkRef, cidr: string, options: { nodad?: boolean; peer?: string } = {}): Promise<void> {
    const r = linkRef(ref, 'ref');
    const a = parseCidr(cidr, 'cidr');
    const o = plainObject(options, 'options', ['nodad', 'peer']);
    const nodad = o.nodad === undefined ? false : boolean(o.nodad, 'options.nodad');
    const peer = o.peer === undefined ? undefined : parseGateway(o.peer, 'options.peer');
    if (peer && peer.family !== a.family) throw invalidValue('options.peer', `an IPv${a.family} address like cidr`, o.peer);
    const what = `addAddress(${showRef(r)}, '${cidr}')`;
    const index = await this.#index(r, what);
    const req = {
      index,
      family: a.family,
      prefixLength: a.prefixLength,
      local: a.address,
      address: peer?.address ?? a.address,
      ...(nodad ? { flags: c.IFA_F_NODAD } : {}),
    };
    await this.#call(what, (n) => n.addr(AddrRouteOp.add, req));
  }

  /** Removes an address. */
  async deleteAddress(ref: LinkRef, cidr: string): Promise<void> {
    const r = linkRef(ref, 'ref');
    const a = parseCidr(cidr, 'cidr');
    const what = `deleteAddress(${showRef(r)}, '${cidr}')`;
    const index = await this.#index(r, what);
    // IFA_LOCAL alone, as `ip address del` sends it: with IFA_ADDRESS too,
    // inet_rtm_deladdr() would also match it against a peer's prefix.
    const req = { index, family: a.family, prefixLength: a.prefixLength, local: a.address };
    await this.#call(what, (n) => n.addr(AddrRouteOp.delete, req));
  }

  /** Addresses of one link, or of every link. */
  async listAddresses(ref?: LinkRef): Promise<Address[]> {
    const r = ref === undefined ? undefined : linkRef(ref, 'ref');
    const what = `listAddresses(${r === undefined ? '' : showRef(r)})`;
    const index = r === undefined ? undefined : await this.#index(r, what);
    const all = await this.#call(what, (n) => n.addr(AddrRouteOp.dump, index === undefined ? {} : { index }));
    return all.filter((a) => index === undefined || a.index === index).map(toAddress);
  }

  /** A route as the kernel takes it: checked, its links resolved to ifindexes; `what` names it in errors. */
  async #routeRequest(spec: RouteSpec, op: 'addRoute' | 'deleteRoute'): Promise<{ req: NativeRoute; what: string }> {
    const field = 'route';
    const s = plainObject(spec, field, ['family', 'dst', 'dev', 'gateway', 'nexthops', 'metric', 'table', 'type', 'prefsrc', 'tos']);
    const family = parseFamily(s.family, `${field}.family`);
    const gateway = s.gateway === undefined ? undefined : parseGateway(s.gateway, `${field}.gateway`);
    const hops = s.nexthops === undefined ? undefined : nextHops(s.nexthops, `${field}.nexthops`);
    const dst = parseDst(s.dst, `${field}.dst`, family ?? gateway?.family ?? hops?.family);
    if (family !== undefined && family !== dst.family) {
      throw invalidValue(`${field}.family`, `${dst.family}, the family of ${field}.dst`, s.family);
    }
    // An IPv4 route may go through an IPv6 neighbour (RTA_VIA); an IPv6
    // route only through an IPv6 one.
    const gatewayOk = (g: { family: 4 | 6 }): boolean => g.family === dst.family || dst.family === 4;
    if (gateway && !gatewayOk(gateway)) throw invalidValue(`${field}.gateway`, 'an IPv6 address like route.dst', s.gateway);
    const hopOfOtherFamily = hops?.list.findIndex((h) => h.gateway !== undefined && !gatewayOk(h.gateway)) ?? -1;
    if (hopOfOtherFamily >= 0) {
      const at = `${field}.nexthops[${hopOfOtherFamily}].gateway`;
      throw invalidValue(at, 'an IPv6 address like route.dst', hops!.list[hopOfOtherFamily]!.gateway!.address);
    }
    const dev = s.dev === undefined ? undefined : linkRef(s.dev, `${field}.dev`);
    if (hops && (dev !== undefined || gateway !== undefined)) {
      throw invalidValue(field, 'a route with either nexthops or its own dev and gateway, not both', spec);
    }
    const type = s.type === undefined ? 'unicast' : oneOf(s.type, `${field}.type`, ROUTE_TYPES);
    if (type === 'unicast' && dev === undefined && gateway === undefined && !hops && op === 'addRoute') {
      throw invalidValue(field, 'a route with a dev, a gateway, or nexthops (or a type such as blackhole)', spec);
    }
    const prefsrc = s.prefsrc === undefined ? undefined : parseGateway(s.prefsrc, `${field}.prefsrc`);
    if (prefsrc && prefsrc.family !== dst.family) {
      throw invalidValue(`${field}.prefsrc`, `an IPv${dst.family} address like ${field}.dst`, s.prefsrc);
    }
    const req: NativeRoute = { family: dst.family, dstLength: dst.prefixLength, table: parseTable(s.table, `${field}.table`) };
    if (dst.prefixLength > 0) req.dst = dst.address;
    if (gateway) req.gateway = gateway.address;
    if (prefsrc) req.prefsrc = prefsrc.address;
    const metric = parseMetric(s.metric, `${field}.metric`);
    if (metric !== undefined) req.priority = metric;
    const tos = s.tos === undefined ? 0 : integer(s.tos, `${field}.tos`, 0, 255);
    if (tos !== 0 && dst.family === 6) throw invalidValue(`${field}.tos`, '0 on an IPv6 route (the kernel has no tos there)', s.tos);
    if (tos !== 0) req.tos = tos;
    const via = gateway ? ` via ${gateway.address}` : hops ? ` via ${hops.list.length} next hops` : '';
    const what = `${op}(${String(s.dst)}${type === 'unicast' ? '' : ` ${type}`}${dev === undefined ? '' : ` dev ${showRef(dev)}`}${via})`;
    if (dev !== undefined) req.oif = await this.#index(dev, what);
    if (hops) {
      req.nexthops = [];
      for (const h of hops.list) {
        const hop: NonNullable<NativeRoute['nexthops']>[number] = { weight: h.weight };
        if (h.dev !== undefined) hop.oif = await this.#index(h.dev, what);
        if (h.gateway !== undefined) hop.gateway = h.gateway.address;
        req.nexthops.push(hop);
      }
    }
    if (op === 'addRoute') {
      req.protocol = c.RTPROT_BOOT;
      req.type = ROUTE_TYPES.indexOf(type) + 1;
      // What ip route add picks: host scope for the host's own, link scope
      // for a route without a gateway, universe for the rest.
      req.scope =
        type === 'local' || type === 'nat'
          ? c.RT_SCOPE_HOST
          : type === 'broadcast' || type === 'multicast' || type === 'anycast'
            ? c.RT_SCOPE_LINK
            : type === 'unicast' && gateway === undefined && !hops?.list.some((h) => h.gateway)
              ? c.RT_SCOPE_LINK
              : c.RT_SCOPE_UNIVERSE;
    } else {
      // RTN_UNSPEC (0) matches any type; a type given must match.
      if (s.type !== undefined) req.type = ROUTE_TYPES.indexOf(type) + 1;
      req.scope = c.RT_SCOPE_NOWHERE;
    }
    return { req, what };
  }

  /**
   * Adds a route: { dst, dev?, gateway?, nexthops?, metric?, table?, type?,
   * prefsrc? }.
   */
  async addRoute(spec: RouteSpec): Promise<void> {
    const { req, what } = await this.#routeRequest(spec, 'addRoute');
    await this.#call(what, (n) => n.route(AddrRouteOp.add, req));
  }

  /** Deletes a route, matched as `ip route del` matches. */
  async deleteRoute(spec: RouteSpec): Promise<void> {
    const { req, what } = await this.#routeRequest(spec, 'deleteRoute');
    await this.#call(what, (n) => n.route(AddrRouteOp.delete, req));
  }

  /** Routes of the main table (or `table`), optionally of one family or device. */
  async listRoutes(filter: { dev?: LinkRef; family?: 4 | 6; table?: number } = {}): Promise<Route[]> {
    const f = plainObject(filter, 'filter', ['dev', 'family', 'table']);
    const family = parseFamily(f.family, 'filter.family');
    const table = parseTable(f.table, 'filter.table');
    const dev = f.dev === undefined ? undefined : linkRef(f.dev, 'filter.dev');
    const what = 'listRoutes()';
    const oif = dev === undefined ? undefined : await this.#index(dev, what);
    const req: NativeRoute = { table, ...(family ? { family } : {}), ...(oif === undefined ? {} : { oif }) };
    const all = await this.#call(what, (n) => n.route(AddrRouteOp.dump, req));
    return all
      .filter((r) => r.table === table && (oif === undefined || r.oif === oif) && (family === undefined || r.family === family))
      .map(toRoute);
  }

  /**
   * Link events as an async iterable: 'new' (created or changed) and 'del'.
   * See WatchOptions for the initial listing, the receive buffer and resync.
   */
  watchLinks(options: WatchOptions = {}): LinkEventStream {
    return watchLinks(this, options, {
      subscribe: (groups, rcvbuf) => this.#call('watchLinks()', (n) => n.subscribe(groups, rcvbuf)),
      onClose: (fn) => {
        this.#closeHooks.add(fn);
        return () => this.#closeHooks.delete(fn);
      },
    });
  }

  /** Deletes one link. */
  async deleteLink(ref: LinkRef): Promise<void> {
    const r = linkRef(ref, 'ref');
    const missing = notHere(refRequest(r));
    const hint = (e: unknown): string | undefined => ((e as { errno?: number }).errno === EOPNOTSUPP ? notDeletable(r) : missing(e));
    await this.#call(`deleteLink(${showRef(r)})`, (n) => n.link(LinkOp.delete, refRequest(r)), hint);
  }

  /**
   * Deletes many links in one kernel teardown. Each RTM_DELLINK waits for
   * an RCU grace period (~16 ms); deleting one IFLA_GROUP waits once. The
   * links are put into a fresh group that no other link uses, then that
   * group is deleted. Nothing is deleted when any ref does not exist, or
   * when a link cannot be put into the group (those that were are put back
   * into their own).
   */
  deleteLinks(refs: LinkRef[]): Promise<void> {
    return this.#stepwise(() => this.#deleteLinks(refs));
  }

  async #deleteLinks(refs: LinkRef[]): Promise<void> {
    const wanted = arrayOf(refs, 'refs', 'an array of link names or ifindexes', linkRef);
    const what = `deleteLinks(${wanted.length} links)`;
    if (this.#closed) throw new HandleClosedError(what);
    if (wanted.length === 0) return;
    if (wanted.length === 1) return this.deleteLink(wanted[0]!);

    const table = await this.#call(what, (n) => n.link(LinkOp.dump, { ...SKIP_STATS }, undefined, Probe.none));
    let named = namedLinks(table, wanted);
    // A dump names each link by IFLA_IFNAME only; a GET by name also finds
    // an alternative name (IFLA_ALT_IFNAME), as every other call does.
    while ('missing' in named && typeof named.missing === 'string') {
      const alt = named.missing;
      const link = await this.#getNative(alt, what).catch(() => undefined);
      if (link === undefined) break;
      for (const [i, ref] of wanted.entries()) if (ref === alt) wanted[i] = link.index;
      named = namedLinks(table, wanted);
    }
    native.recycleNumbers(table.numbers);
    if ('missing' in named) {
      throw new NetlinkError(what, ENODEV, { hint: `no link ${showRef(named.missing)} in this namespace; nothing was deleted` });
    }
    if ('kindless' in named) {
      throw new NetlinkError(what, EOPNOTSUPP, { hint: `${notDeletable(named.kindless)}; nothing was deleted` });
    }
    const { indexes, groups, used } = named;
    let group: number;
    do group = randomInt(0x10000, 0x7fffffff);
    while (used.has(group));

    // All the group changes go as one native call; the untagging, one a
    // group the links came from (its failures give way to the error that
    // made it).
    const untag = (tagged: number[]): Promise<unknown> => {
      const byGroup = new Map<number, number[]>();
      for (const i of tagged) {
        const list = byGroup.get(groups[i]!);
        if (list) list.push(indexes[i]!);
        else byGroup.set(groups[i]!, [indexes[i]!]);
      }
      return this.#undo((n) => Promise.all([...byGroup].map(([g, list]) => n.linkEach(LinkOp.change, { group: g }, list))));
    };
    const outcomes = await this.#call(what, (n) => n.linkEach(LinkOp.change, { group }, indexes));
    const failed = outcomes.find((x) => x !== undefined);
    if (failed) {
      await untag(outcomes.flatMap((x, i) => (x === undefined ? [i] : [])));
      throw toNetlinkError(failed, what);
    }
    try {
      await this.#call(what, (n) => n.link(LinkOp.delete, { group }));
    } catch (err) {
      await untag(indexes.map((_, i) => i));
      throw err;
    }
  }
}

/** TapOptions.offloads as TUN_F_* bits, checked: they need vnetHdr, segmentation needs csum, ECN a TSO. */
function tapOffloads(v: unknown, vnetHdr: boolean): number {
  if (v === undefined) return 0;
  const names = arrayOf(v, 'options.offloads', 'an array of offload names', (x, at) => oneOf(x, at, TAP_OFFLOADS));
  if (names.length > 0 && !vnetHdr)
    throw invalidValue('options.offloads', 'used with vnetHdr: true only (offload metadata travels in the virtio-net header)', v);
  if (names.some((n) => n !== 'csum') && !names.includes('csum')) {
    throw invalidValue('options.offloads', "a list with 'csum' when it has segmentation offloads (the kernel ignores them without it)", v);
  }
  if (names.includes('tso_ecn') && !names.includes('tso4') && !names.includes('tso6')) {
    throw invalidValue('options.offloads', "a list with 'tso4' or 'tso6' when it has 'tso_ecn'", v);
  }
  return names.reduce((bits, n) => bits | offloadBit[n], 0);
}

/** A random locally administered unicast MAC, as the kernel's eth_hw_addr_random() makes. */
function randomLocalMac(): string {
  const b = randomBytes(6);
  b[0] = (b[0]! & 0xfe) | 0x02;
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join(':');
}

function sourceMacList(v: unknown, field: string, max: number): string[] {
  if (Array.isArray(v) && v.length > max) {
    throw outOfRange(
      field,
      `a list of at most ${max} MAC addresses (they travel in one netlink attribute, of at most 64 KiB; add more with 'add')`,
      v.length,
    );
  }
  const seen = new Set<string>();
  return arrayOf(v, field, 'an array of MAC addresses', (mac, at) => {
    const m = unicastMac(mac, at);
    if (seen.has(m)) throw invalidValue(at, 'a MAC address not already in the list', mac);
    seen.add(m);
    return m;
  });
}
