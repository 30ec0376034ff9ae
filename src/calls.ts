// A handle's native calls as promises. The addon takes an id with each call
// and hands back [id, errno, value] triples in batches; the promises, and
// what is pending, live here. So a call costs no N-API promise, and nothing
// in flight needs N-API when a worker is terminated.
import { constants } from 'node:os';

import {
  native,
  type AddrRouteOp,
  type LinkOp,
  type LinkTable,
  type NativeAddr,
  type NativeError,
  type NativeHandle,
  type NativeLinkRequest,
  type NativeRoute,
  type NativeTapOpenParams,
  type NativeTapOpenResult,
  type RawNativeHandle,
} from './binding.js';
import { errnoName } from './errors.js';
import { packLinkRequest } from './link_request.js';

const { ECANCELED } = constants.errno;

interface Pending {
  resolve(value: unknown): void;
  reject(reason: unknown): void;
}

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

/** Starts a native handle (its I/O thread) on a namespace path ('' for ours). */
export function openNative(netnsPath: string): NativeHandle {
  return new NativeCalls(netnsPath);
}

class NativeCalls implements NativeHandle {
  readonly opened: Promise<void>;
  readonly #pending = new Map<number, Pending>();
  readonly #raw: RawNativeHandle;
  #nextId = 0;
  #closed: Promise<void> | undefined;

  constructor(netnsPath: string) {
    const id = this.#nextId++;
    this.opened = this.#expect(id);
    this.#raw = new native.NativeHandle(netnsPath, this.#settle, id);
  }

  readonly #settle = (batch: unknown[]): void => {
    for (let i = 0; i < batch.length; i += 3) {
      const id = batch[i] as number;
      const pending = this.#pending.get(id);
      if (!pending) continue; // rejected by close() already
      this.#pending.delete(id);
      const errno = batch[i + 1] as number;
      if (errno === 0) pending.resolve(batch[i + 2]);
      else pending.reject(new NativeCallError(errno, batch[i + 2] as [string | undefined, string | undefined] | undefined));
    }
  };

  #expect<T>(id: number): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
    });
  }

  #submit<T>(start: (id: number) => boolean): Promise<T> {
    const id = this.#nextId++;
    return start(id) ? this.#expect<T>(id) : Promise.reject(new NativeCallError(ECANCELED));
  }

  link(
    op: typeof LinkOp.create | typeof LinkOp.get | typeof LinkOp.dump,
    req: NativeLinkRequest,
    netnsPath: string | undefined,
    probes: number,
  ): Promise<LinkTable>;
  link(op: typeof LinkOp.change | typeof LinkOp.delete, req: NativeLinkRequest, netnsPath?: string): Promise<void>;
  link(op: LinkOp, req: NativeLinkRequest, netnsPath?: string, probes?: number): Promise<unknown> {
    const [numbers, strings] = packLinkRequest(req);
    return this.#submit((id) => this.#raw.link(id, op, numbers, strings, netnsPath, probes));
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

  subscribe(groups: number[], rcvbuf: number): Promise<number> {
    return this.#submit((id) => this.#raw.subscribe(id, groups, rcvbuf));
  }

  openTap(params: NativeTapOpenParams): Promise<NativeTapOpenResult> {
    return this.#submit((id) => this.#raw.openTap(id, params));
  }

  /** Rejects every pending call (ECANCELED) at once, then stops the I/O thread. */
  close(): Promise<void> {
    if (!this.#closed) {
      const cancelled = new NativeCallError(ECANCELED);
      for (const pending of this.#pending.values()) pending.reject(cancelled);
      this.#pending.clear();
      const id = this.#nextId++;
      this.#closed = this.#raw.close(id) ? this.#expect<void>(id) : Promise.resolve();
    }
    return this.#closed;
  }
}
