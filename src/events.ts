// Link events: an async iterable over RTNLGRP_LINK notifications, with an
// initial listing that leaves no gap and a resync when the kernel overruns.
import { native, type NativeLink } from './binding.js';
import { HandleClosedError, errnoName } from './errors.js';
import { rowsOf, toLink, type Link } from './link.js';
import { boolean, integer, invalidType, plainObject } from './validate.js';

const c = native.constants;
const ENOBUFS = 105;

/** Fields whose change a 'new' event reports in `changed`. */
export type LinkField =
  | 'name'
  | 'up'
  | 'operState'
  | 'mtu'
  | 'mac'
  | 'lower'
  | 'txQueueLen'
  | 'group'
  | 'mode'
  | 'nopromisc'
  | 'nodst'
  | 'bcQueueLen'
  | 'bcCutoff'
  | 'sourceMacs';

/** One change to the links, as `watchLinks` yields it. */
export interface LinkEvent {
  /** 'new': the link was created or changed; 'del': it was deleted. */
  type: 'new' | 'del';
  /** The link as it is now (or was, when deleted). */
  link: Link;
  /** For a link that existed before: what changed. Absent for a creation. */
  changed?: LinkField[];
  /** Part of the initial listing (WatchOptions.existing). */
  existing?: true;
  /** Found by a re-dump after the kernel dropped events (ENOBUFS). */
  resync?: true;
}

/** What `watchLinks` takes. */
export interface WatchOptions {
  /** Ends the iteration. */
  signal?: AbortSignal;
  /** Start with a 'new' event for every link that exists (no gap before the first notification). */
  existing?: boolean;
  /** SO_RCVBUF of the event socket, bytes. Small buffers overrun under storms (then a resync runs). */
  receiveBuffer?: number;
}

/** An async iterable of link events that counts its resyncs. */
export interface LinkEventStream extends AsyncIterable<LinkEvent> {
  /** How many times the kernel overran the socket and the links were re-dumped. */
  readonly resyncs: number;
}

interface Lister {
  listLinks(): Promise<Link[]>;
  readonly closed: boolean;
}

interface Hooks {
  subscribe(groups: number[], rcvbuf: number): Promise<number>;
  onClose(fn: () => void): () => void;
}

/** Above this many unread notifications the socket is paused (the kernel then overruns and we resync). */
const HIGH_WATER = 10_000;

function changes(a: Link, b: Link): LinkField[] {
  const out: LinkField[] = [];
  if (a.name !== b.name) out.push('name');
  if (a.up !== b.up) out.push('up');
  if (a.operState !== b.operState) out.push('operState');
  if (a.mtu !== b.mtu) out.push('mtu');
  if (a.mac !== b.mac) out.push('mac');
  if (a.lower !== b.lower) out.push('lower');
  if (a.txQueueLen !== b.txQueueLen) out.push('txQueueLen');
  if (a.group !== b.group) out.push('group');
  const m = a.macvlan;
  const n = b.macvlan;
  if (m?.mode !== n?.mode) out.push('mode');
  if (m?.nopromisc !== n?.nopromisc) out.push('nopromisc');
  if (m?.nodst !== n?.nodst) out.push('nodst');
  if (m?.bcQueueLen !== n?.bcQueueLen) out.push('bcQueueLen');
  if (m?.bcCutoff !== n?.bcCutoff) out.push('bcCutoff');
  if (m?.sourceMacs?.join() !== n?.sourceMacs?.join()) out.push('sourceMacs');
  return out;
}

export function watchLinks(handle: Lister, options: WatchOptions, hooks: Hooks): LinkEventStream {
  const o = plainObject(options, 'options', ['signal', 'existing', 'receiveBuffer']);
  if (o.signal !== undefined && !(o.signal instanceof AbortSignal)) throw invalidType('options.signal', 'an AbortSignal', o.signal);
  const signal = o.signal as AbortSignal | undefined;
  const existing = o.existing === undefined ? false : boolean(o.existing, 'options.existing');
  const rcvbuf = o.receiveBuffer === undefined ? 0 : integer(o.receiveBuffer, 'options.receiveBuffer', 1024, 0x7fffffff);

  const stream = {
    resyncs: 0,
    [Symbol.asyncIterator]: (): AsyncIterator<LinkEvent> => run()[Symbol.asyncIterator](),
  };

  async function* run(): AsyncGenerator<LinkEvent, void, undefined> {
    if (signal?.aborted) return;
    // A watch on a closed handle rejects, as any call; one whose handle
    // closes while it starts (subscribing, listing) ends, as it does later.
    const closedBefore = handle.closed;
    const endOnClose = (err: unknown): undefined => {
      if (closedBefore || !(err instanceof HandleClosedError)) throw err;
      return undefined;
    };
    let raw: { deleted: boolean; link: NativeLink }[] = [];
    let overrun = false;
    let failure: Error | undefined;
    let ended = false;
    let paused = false;
    let wake: (() => void) | undefined;
    const poke = (): void => {
      const w = wake;
      wake = undefined;
      w?.();
    };

    // Subscribe before listing: a change during the listing is then also a
    // notification, and the diff against `known` drops the duplicate.
    const fd = await hooks.subscribe([c.RTNLGRP_LINK], rcvbuf).catch(endOnClose);
    if (fd === undefined) return;
    const socket = new native.EventSocket(fd, (links, deletedOrErrno) => {
      if (links) {
        const deleted = String(deletedOrErrno);
        rowsOf(links).forEach((link, i) => raw.push({ deleted: deleted[i] === '1', link }));
        if (raw.length > HIGH_WATER && !paused) {
          paused = true;
          socket.pause();
        }
      } else if (deletedOrErrno === ENOBUFS) {
        overrun = true;
      } else {
        failure = new Error(`watchLinks(): reading events failed: ${errnoName(Number(deletedOrErrno))}`);
      }
      poke();
    });
    // The socket closes here, not only when the generator finishes: one
    // left suspended at a `yield` never does, and its socket kept the fd and
    // the event loop (the process could not exit).
    const stop = (): void => {
      ended = true;
      socket.close();
      poke();
    };
    signal?.addEventListener('abort', stop, { once: true });
    if (signal?.aborted) stop(); // while subscribing
    const unhook = hooks.onClose(stop);
    const known = new Map<number, Link>();
    const out: LinkEvent[] = [];

    try {
      const listed = await handle.listLinks().catch(endOnClose);
      if (listed === undefined) return;
      for (const link of listed) {
        known.set(link.index, link);
        if (existing) out.push({ type: 'new', link, existing: true });
      }
      socket.resume();
      for (;;) {
        while (out.length > 0 && !ended) yield out.shift()!;
        if (ended || signal?.aborted) return;
        if (overrun) {
          overrun = false;
          raw = [];
          stream.resyncs++;
          const relisted = await handle.listLinks().catch(endOnClose);
          if (relisted === undefined) return;
          const now = new Map(relisted.map((l) => [l.index, l]));
          for (const [index, link] of known) {
            if (!now.has(index)) out.push({ type: 'del', link, resync: true });
          }
          for (const [index, link] of now) {
            const before = known.get(index);
            if (!before) out.push({ type: 'new', link, resync: true });
            else {
              const changed = changes(before, link);
              if (changed.length > 0) out.push({ type: 'new', link, changed, resync: true });
            }
          }
          known.clear();
          for (const [index, link] of now) known.set(index, link);
          continue;
        }
        if (raw.length > 0) {
          const batch = raw;
          raw = [];
          for (const ev of batch) {
            const link = toLink(ev.link);
            if (ev.deleted) {
              known.delete(link.index);
              out.push({ type: 'del', link });
              continue;
            }
            const before = known.get(link.index);
            known.set(link.index, link);
            if (!before) out.push({ type: 'new', link });
            else {
              const changed = changes(before, link);
              if (changed.length > 0) out.push({ type: 'new', link, changed });
            }
          }
          if (paused) {
            paused = false;
            socket.resume();
          }
          continue;
        }
        if (failure) throw failure;
        if (handle.closed) return;
        await new Promise<void>((resolve) => (wake = resolve));
      }
    } finally {
      signal?.removeEventListener('abort', stop);
      unhook();
      socket.close();
    }
  }

  return stream;
}
