// Native calls as promises, for a handle and for a tap queue. The addon
// takes an id with each call and hands back [id, errno, value] triples in
// batches; the promises, and what is pending, live here. So a call costs no
// N-API promise, and nothing in flight needs N-API when a worker is
// terminated.
import { constants } from 'node:os';

import {
  LinkOp,
  native,
  type AddrRouteOp,
  type LinkTable,
  type NativeAddr,
  type NativeError,
  type NativeLinkRequest,
  type NativeRoute,
  type NativeTapOpenParams,
  type NativeTapOpenResult,
  type RawNativeHandle,
  type RawTapQueue,
} from './binding.js';
import { errnoName } from './errors.js';
import { packedLinkNumbers, packLinkStrings } from './link_request.js';

const { ECANCELED } = constants.errno;

/**
 * What a call's promise settles with, made as its answer settles: a call
 * with one needs no promise or async function of its own between the
 * addon and its caller (a create in a burst of 500 allocates less while
 * the caller's loop issues it). On failure the promise rejects with the
 * Answer itself, `error` set to the reason: the caller turns that into its
 * own error in a reaction (`.then(undefined, ...)`), where V8's async stack
 * trace has the caller's frames.
 */
export interface Answer {
  result(value: unknown): unknown;
  error: unknown;
}

class Pending {
  constructor(
    readonly resolve: (value: unknown) => void,
    readonly reject: (reason: unknown) => void,
    /** What the owner's reasonOf is told about the call (a tap queue: read or write). */
    readonly tag: number,
    /** A call answered in parts: each part (a dump's LinkTable), or null when the parts so far are void. */
    readonly part: ((value: unknown) => void) | undefined,
    readonly answer: Answer | undefined,
  ) {}

  fulfil(value: unknown): void {
    const { answer } = this;
    if (!answer) return this.resolve(value);
    try {
      this.resolve(answer.result(value));
    } catch (e) {
      this.fail(e);
    }
  }

  fail(reason: unknown): void {
    const { answer } = this;
    if (!answer) return this.reject(reason);
    answer.error = reason;
    this.reject(answer);
  }
}

// `new Promise(capture)` leaves its resolving functions here: no executor
// closure a call. Taken at once: left here, they would keep the promise
// and what waits on it alive.
const nothing = (): void => undefined;
let capturedResolve: (value: unknown) => void = nothing;
let capturedReject: (reason: unknown) => void = nothing;
function capture(resolve: (value: unknown) => void, reject: (reason: unknown) => void): void {
  capturedResolve = resolve;
  capturedReject = reject;
}

// The errno of a part of an answer, and of the word that the parts so far
// are void (native/settle_batch.h).
const PART = -1;

/** Turns a failed call's NativeCallError into what its promise rejects with. */
type ReasonOf = (e: NativeCallError, tag: number) => unknown;

/** A failure as the I/O thread reported it: errno and the extended ACK. */
class NativeCallError extends Error implements NativeError {
  readonly errno: number;
  readonly extack?: string;
  readonly extackAttr?: string;
  constructor(errno: number, ext?: [string | undefined, string | undefined]) {
    super(`native call failed: ${errnoName(errno)}`);
    this.errno = errno;
    if (ext?.[0] !== undefined) this.extack = ext[0];
    if (ext?.[1] !== undefined) this.extackAttr = ext[1];
  }
}

/** The calls in flight of one native object, by id. */
class PendingCalls {
  readonly #pending = new Map<number, Pending>();
  readonly #reasonOf: ReasonOf | undefined;
  #nextId = 0;

  constructor(reasonOf?: ReasonOf) {
    this.#reasonOf = reasonOf;
  }

  reason(e: NativeCallError, tag: number): unknown {
    return this.#reasonOf ? this.#reasonOf(e, tag) : e;
  }

  nextId(): number {
    return this.#nextId++;
  }

  /** The first of `n` consecutive ids, for calls that one native call makes. */
  nextIds(n: number): number {
    const first = this.#nextId;
    this.#nextId += n;
    return first;
  }

  expect<T>(id: number, tag = 0, part?: (value: unknown) => void, answer?: Answer): Promise<T> {
    const promise = new Promise<T>(capture as (resolve: (value: T) => void, reject: (reason: unknown) => void) => void);
    this.#pending.set(id, new Pending(capturedResolve, capturedReject, tag, part, answer));
    capturedResolve = capturedReject = nothing;
    return promise;
  }

  /**
   * The outcomes of the `n` calls from id `first` on, once every one has
   * settled: undefined for a call that succeeded, its reason for one that
   * failed. One promise for them all.
   */
  expectEach(first: number, n: number): Promise<unknown[]> {
    return new Promise<unknown[]>((resolve) => {
      const outcomes = new Array<unknown>(n).fill(undefined);
      let left = n;
      for (let r = 0; r < n; r++) {
        const done = (reason: unknown): void => {
          outcomes[r] = reason;
          if (--left === 0) resolve(outcomes);
        };
        // A change or delete succeeds with undefined (native Result()): the
        // same function records either outcome, one closure a request.
        this.#pending.set(first + r, new Pending(done, done, 0, undefined, undefined));
      }
    });
  }

  /** What the addon calls with (id, errno, value) triples as its arguments. */
  readonly settle = (...batch: unknown[]): void => this.settleBatch(batch);

  settleBatch(batch: unknown[]): void {
    for (let i = 0; i < batch.length; i += 3) {
      const id = batch[i] as number;
      const pending = this.#pending.get(id);
      const errno = batch[i + 1] as number;
      if (!pending) continue; // rejected by cancelAll() already
      if (errno < 0) {
        pending.part?.(errno === PART ? batch[i + 2] : null);
        continue;
      }
      this.#pending.delete(id);
      if (errno === 0) pending.fulfil(batch[i + 2]);
      else {
        const ext = batch[i + 2] as [string | undefined, string | undefined] | undefined;
        pending.fail(this.reason(new NativeCallError(errno, ext), pending.tag));
      }
    }
  }

  /** Rejects one pending call with `reason` as it is (one that was never started). */
  reject(id: number, reason: unknown): void {
    const pending = this.#pending.get(id);
    if (!pending) return;
    this.#pending.delete(id);
    pending.fail(reason);
  }

  /** Rejects every pending call with ECANCELED. */
  cancelAll(): void {
    // An Error captures a stack: none for a close with nothing pending.
    if (this.#pending.size === 0) return;
    const cancelled = new NativeCallError(ECANCELED);
    for (const pending of this.#pending.values()) pending.fail(this.reason(cancelled, pending.tag));
    this.#pending.clear();
  }
}

/**
 * Calls a turn of the event loop hands to the addon after a burst, as the
 * addon settles answers (native/handle.cc kSettleSlice): 500 calls made in
 * one stretch of synchronous code would otherwise be packed and queued
 * inside it, and the caller's stretch is what holds up timers.
 */
const SUBMIT_SLICE = 64;

/**
 * Hands one call (ids from `first` on) to the addon, with what it was
 * queued with: false when it is closing.
 */
type Start = (first: number, arg: unknown) => boolean;

/** A link call (HandleCalls.link), as it waits in the queue. */
export interface LinkCall {
  readonly op: LinkOp;
  readonly req: NativeLinkRequest;
  readonly netnsPath: string | undefined;
  readonly probes: number | undefined;
}

/** Starts a native handle (its I/O thread) on a namespace path ('' for ours). */
export function openNative(netnsPath: string): HandleCalls {
  return new HandleCalls(netnsPath);
}

/** A handle's calls as promises, over the addon's RawNativeHandle. */
export class HandleCalls {
  /** Resolves to the I/O thread's id, once it is in the namespace with its socket open. */
  readonly opened: Promise<number>;
  readonly #calls = new PendingCalls();
  readonly #raw: RawNativeHandle;
  #closed: Promise<void> | undefined;
  // The first call of a stretch of synchronous code goes to the I/O thread
  // at once. Those that follow it wait here, [first id, ids, start, arg, ...]
  // from #queuedAt on, and go SUBMIT_SLICE at a time: the first slice when
  // the stretch ends, the others a turn of the event loop each. A slice is
  // one batch and one wakeup of the I/O thread (native/handle.cc Submit).
  // Calls made while some wait queue behind them, so that the I/O thread
  // gets every call in the order it was made. The array keeps its room
  // (up to #queuedEnd is in use): regrowing it cost a burst 80 bytes a call.
  #inStretch = false;
  readonly #queued: unknown[] = [];
  #queuedAt = 0;
  #queuedEnd = 0;
  #sliceScheduled = false;
  readonly #endStretch = (): void => {
    this.#inStretch = false;
    if (!this.#sliceScheduled) this.#submitSlice();
  };
  readonly #nextSlice = (): void => {
    this.#sliceScheduled = false;
    this.#submitSlice();
  };

  constructor(netnsPath: string) {
    const id = this.#calls.nextId();
    this.opened = this.#calls.expect(id);
    this.#raw = new native.NativeHandle(netnsPath, this.#calls.settle, id);
  }

  /**
   * A call: `start` hands it to the addon, now or in a later slice (so what
   * it reads, such as a request object, must not change after the call).
   * Its answer is registered before the I/O thread is woken, which may take
   * this CPU: one (with its parts, if any), or with `each`, the outcomes of
   * the `n` requests of one native call (PendingCalls.expectEach).
   */
  #submit<T>(start: Start, arg?: unknown, part?: (value: unknown) => void, each = 0, answer?: Answer): Promise<T> {
    const n = each || 1;
    const first = this.#calls.nextIds(n);
    // Registered before the start (which does not wake the I/O thread): a
    // refused start settles it, whether the call waited in the queue or not.
    const promise = this.#expect<T>(first, part, each, answer);
    if (this.#inStretch || this.#queuedEnd > 0) {
      const queued = this.#queued;
      const end = this.#queuedEnd;
      queued[end] = first;
      queued[end + 1] = n;
      queued[end + 2] = start;
      queued[end + 3] = arg;
      this.#queuedEnd = end + 4;
      return promise;
    }
    if (!this.#start(first, n, start, arg)) return promise;
    this.#raw.flush();
    this.#inStretch = true;
    queueMicrotask(this.#endStretch);
    return promise;
  }

  /**
   * Hands a call to the addon; false when it refused (closing: ECANCELED)
   * or threw, with its `n` ids rejected with that reason.
   */
  #start(first: number, n: number, start: Start, arg: unknown): boolean {
    let reason: unknown;
    try {
      if (start(first, arg)) return true;
      reason = new NativeCallError(ECANCELED);
    } catch (e) {
      reason = e; // a rejection, the same whether the call waited or not
    }
    for (let id = first; id < first + n; id++) this.#calls.reject(id, reason);
    return false;
  }

  #expect<T>(first: number, part: ((value: unknown) => void) | undefined, each: number, answer: Answer | undefined): Promise<T> {
    return each ? (this.#calls.expectEach(first, each) as Promise<T>) : this.#calls.expect<T>(first, 0, part, answer);
  }

  #submitSlice(): void {
    const queued = this.#queued;
    if (this.#queuedEnd === 0) return;
    const end = Math.min(this.#queuedEnd, this.#queuedAt + 4 * SUBMIT_SLICE);
    for (let i = this.#queuedAt; i < end; i += 4) {
      const start = queued[i + 2] as Start;
      const arg = queued[i + 3];
      queued[i + 2] = queued[i + 3] = undefined;
      this.#start(queued[i] as number, queued[i + 1] as number, start, arg);
    }
    this.#raw.flush();
    if (end < this.#queuedEnd) {
      this.#queuedAt = end;
      this.#sliceScheduled = true;
      setImmediate(this.#nextSlice);
    } else {
      this.#queuedAt = this.#queuedEnd = 0;
    }
  }

  link(
    op: typeof LinkOp.create | typeof LinkOp.get | typeof LinkOp.dump,
    req: NativeLinkRequest,
    netnsPath: string | undefined,
    probes: number,
  ): Promise<LinkTable>;
  link(op: typeof LinkOp.change | typeof LinkOp.delete, req: NativeLinkRequest, netnsPath?: string): Promise<void>;
  link(op: LinkOp, req: NativeLinkRequest, netnsPath?: string, probes?: number): Promise<unknown> {
    const call: LinkCall = { op, req, netnsPath, probes };
    return this.#submit(this.#startLink, call);
  }

  /** A link call whose promise settles with what `call` makes of its answer (see Answer). */
  linkAnswered<T>(call: LinkCall & Answer): Promise<T> {
    return this.#submit(this.#startLink, call, undefined, 0, call);
  }

  readonly #startLink = (id: number, arg: unknown): boolean => {
    const call = arg as LinkCall;
    const strings = packLinkStrings(call.req);
    return this.#raw.link(id, call.op, packedLinkNumbers, strings, call.netnsPath, call.probes);
  };

  /**
   * The same change or delete of many links in one native call, each its
   * own request in the I/O thread's batches (hundreds of calls through
   * link() cost a promise, a row and an N-API call each): `req` with each
   * of `indexes` as its ifindex. Resolves once all are answered: for each,
   * undefined or the NativeError it failed with.
   */
  linkEach(
    op: typeof LinkOp.change | typeof LinkOp.delete,
    req: NativeLinkRequest,
    indexes: readonly number[],
  ): Promise<(NativeError | undefined)[]> {
    const n = indexes.length;
    if (n === 0) return Promise.resolve([]);
    const list = Int32Array.from(indexes);
    return this.#submit(
      (first) => {
        const strings = packLinkStrings(req);
        return this.#raw.link(first, op, packedLinkNumbers, strings, undefined, undefined, undefined, list);
      },
      undefined,
      undefined,
      n,
    );
  }

  /**
   * A dump whose links come to `part` a few hundred at a time while the
   * kernel still dumps the rest (null: forget those so far, the dump was
   * sent again); the promise gives the last part.
   */
  dumpInParts(req: NativeLinkRequest, probes: number, part: (table: LinkTable | null) => void): Promise<LinkTable> {
    return this.#submit(
      (id) => {
        const strings = packLinkStrings(req);
        return this.#raw.link(id, LinkOp.dump, packedLinkNumbers, strings, undefined, probes, true);
      },
      undefined,
      part as (value: unknown) => void,
    );
  }

  addr(op: typeof AddrRouteOp.dump, req: NativeAddr): Promise<NativeAddr[]>;
  addr(op: typeof AddrRouteOp.add | typeof AddrRouteOp.delete, req: NativeAddr): Promise<void>;
  addr(op: AddrRouteOp, req: NativeAddr): Promise<unknown> {
    return this.#submit((id) => this.#raw.addr(id, op, req));
  }

  route(op: typeof AddrRouteOp.dump, req: NativeRoute): Promise<NativeRoute[]>;
  route(op: typeof AddrRouteOp.add | typeof AddrRouteOp.delete, req: NativeRoute): Promise<void>;
  route(op: AddrRouteOp, req: NativeRoute): Promise<unknown> {
    return this.#submit((id) => this.#raw.route(id, op, req));
  }

  /** An event socket's fd. */
  subscribe(groups: number[], rcvbuf: number): Promise<number> {
    return this.#submit((id) => this.#raw.subscribe(id, groups, rcvbuf));
  }

  openTap(params: NativeTapOpenParams): Promise<NativeTapOpenResult> {
    return this.#submit((id) => this.#raw.openTap(id, params));
  }

  /**
   * Closes a one-queue tap's fd, and removes the node its open made, on the
   * I/O thread (see TapCloseRequest in native/handle.cc); undefined once
   * the handle is closing, for the caller to close it on the thread pool.
   */
  closeTap(fd: number, node: string, major: number, minor: number): Promise<void> | undefined {
    if (this.#closed) return undefined;
    const id = this.#calls.nextId();
    const closed = this.#calls.expect<void>(id).catch(() => undefined); // cancelled by close(): closed all the same
    if (!this.#raw.closeTap(id, fd, node, major, minor)) {
      this.#calls.reject(id, undefined);
      return undefined;
    }
    this.#raw.flush();
    return closed;
  }

  /**
   * Stops the I/O thread. The calls still queued here reject (ECANCELED) at
   * once, and so do those the I/O thread has not sent when it stops; those
   * it sent settle with the kernel's answer: rtnetlink carries a request out
   * inside sendmsg() (netlink_rcv_skb), so a create sent is a link made, and
   * its promise says so. Only a dump can be cut short. Resolves when the
   * thread has exited, after every call of this handle has settled.
   */
  close(): Promise<void> {
    if (!this.#closed) {
      const queued = this.#queued;
      const cancelled = this.#queuedEnd > this.#queuedAt ? new NativeCallError(ECANCELED) : undefined;
      for (let i = this.#queuedAt; i < this.#queuedEnd; i += 4) {
        const first = queued[i] as number;
        for (let id = first; id < first + (queued[i + 1] as number); id++) this.#calls.reject(id, cancelled);
      }
      queued.length = 0;
      this.#queuedAt = this.#queuedEnd = 0;
      const id = this.#calls.nextId();
      const exited = this.#raw.close(id) ? this.#calls.expect<void>(id) : Promise.resolve();
      // Nothing settles after the thread has exited; this is only a guard.
      this.#closed = exited.finally(() => this.#calls.cancelAll());
    }
    return this.#closed;
  }
}

// A tap queue's slab, and the room below which it is replaced: a frame of
// a 1500-byte MTU with its Ethernet, VLAN and virtio-net headers fits.
const SLAB_BYTES = 16384;
const SLAB_MIN_ROOM = 1536;

/** What a tap queue's failed read or write rejects with: `reasonOf(e, TAP_READ or TAP_WRITE)`. */
export const TAP_READ = 0;
export const TAP_WRITE = 1;

/**
 * Closes tap fds off the event loop (one thread-pool job an fd) and removes
 * `node` ('' for none) while it is still the device major:minor.
 */
export function closeTapFds(fds: number[], node: string, major: number, minor: number): Promise<void> {
  return new Promise<void>((resolve) => native.closeTap(fds, node, major, minor, resolve));
}

/**
 * A tap queue over an open tap fd (`vnetHdrLen` 0 without IFF_VNET_HDR). Its
 * failures reject with what `reasonOf` makes of them: a frame costs one
 * promise, with no wrapper around it to translate the error.
 */
export function openTapQueue(fd: number, vnetHdrLen: number, reasonOf: ReasonOf): TapQueueCalls {
  return new TapQueueCalls(fd, vnetHdrLen, reasonOf);
}

/** One open tap fd with readiness-driven frame I/O, as promises, over the addon's RawTapQueue. */
export class TapQueueCalls {
  readonly #calls: PendingCalls;
  readonly #raw: RawTapQueue;
  #closed: Promise<void> | undefined;
  // Made by the first read: a tap opened only to hand its fds to QEMU
  // never costs one.
  #slab: Buffer | undefined;

  constructor(fd: number, vnetHdrLen: number, reasonOf: ReasonOf) {
    this.#calls = new PendingCalls(reasonOf);
    this.#raw = new native.TapQueue(fd, vnetHdrLen, this.#settle);
  }

  // Frames are read into a slab and handed out as views of it, as
  // Buffer.allocUnsafe() hands out views of its pool: a frame kept keeps its
  // slab (16 KiB) alive. A new slab once too little room is left for a frame.
  #frameAt(place: number): Buffer {
    // Buffer.from(arrayBuffer, ...) skips subarray()'s species lookup.
    return Buffer.from(this.#slab!.buffer, (place / 65536) | 0, place & 0xffff);
  }

  #newSlab(): void {
    this.#slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
    this.#raw.setSlab(this.#slab);
  }

  // After the frames read so far (the last of them is `last`): a new slab
  // when too little room is left behind it.
  #renewSlabAfter(last: Buffer): void {
    if (SLAB_BYTES - last.byteOffset - last.length >= SLAB_MIN_ROOM) return;
    this.#newSlab();
  }

  readonly #settle = (...batch: unknown[]): void => {
    let last: Buffer | undefined;
    for (let i = 2; i < batch.length; i += 3) {
      const place = batch[i];
      if (typeof place === 'number') batch[i] = last = this.#frameAt(place);
    }
    if (last) this.#renewSlabAfter(last);
    this.#calls.settleBatch(batch);
  };

  read(): Promise<Buffer> {
    if (this.#slab === undefined) this.#newSlab();
    const id = this.#calls.nextId();
    const now = this.#raw.read(id);
    if (now === undefined) return this.#calls.expect<Buffer>(id, TAP_READ);
    if (typeof now !== 'number') return Promise.resolve(now);
    if (now < 0) return Promise.reject(this.#calls.reason(new NativeCallError(-now), TAP_READ));
    const frame = this.#frameAt(now);
    this.#renewSlabAfter(frame);
    return Promise.resolve(frame);
  }

  write(frame: Buffer): Promise<void> {
    const id = this.#calls.nextId();
    const now = this.#raw.write(id, frame);
    if (now === 0) return Promise.resolve();
    return now > 0 ? Promise.reject(this.#calls.reason(new NativeCallError(now), TAP_WRITE)) : this.#calls.expect<void>(id, TAP_WRITE);
  }

  /** Pending reads and writes reject (ECANCELED) at once; the fd is the caller's to close (native.closeTap), or -1 if released before. */
  release(): number {
    this.#calls.cancelAll();
    return this.#raw.release();
  }

  /** Pending reads and writes reject (ECANCELED) at once; the fd closes off the loop. */
  close(): Promise<void> {
    if (!this.#closed) {
      const fd = this.release();
      this.#closed = closeTapFds(fd < 0 ? [] : [fd], '', 0, 0);
    }
    return this.#closed;
  }
}
