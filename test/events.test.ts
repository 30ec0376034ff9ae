// Kernel tests for link events (watchLinks): what `ip` does in a namespace
// comes out of the stream, in order, with the right names and `changed`
// fields; nothing from other namespaces; the initial listing; an overrun
// (ENOBUFS) under a storm turns into a resync whose result matches `ip`;
// the stream ends on abort and on close without leaking its socket.
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { open, type Handle, type LinkEvent, type LinkEventStream, type LinkField, type WatchOptions } from '../src/index.js';
import { TestScope } from './helpers/scope.js';
import { ipJson, removeLeftoverNetns, requireKernelAccess, type IpLink, type TestNetns } from './helpers/netns.js';

/** Namespaces of this process: mvt-<TAG>-<random>; afterAll removes any left over. */
const TAG = `ev${process.pid}`;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const scope = new TestScope(TAG);
const netns = (): TestNetns => scope.netns();
const handleIn = (ns: TestNetns): Promise<Handle> => scope.handleIn(ns);
const aborts: AbortController[] = [];
const loops: Promise<unknown>[] = [];

beforeAll(() => {
  requireKernelAccess();
});

afterEach(async () => {
  for (const ac of aborts.splice(0)) ac.abort();
  const running = Promise.allSettled(loops.splice(0));
  // Bounded waits: a stream that ignores its abort must fail its own test, not hang this hook.
  await Promise.race([running, sleep(2000)]);
  await scope.release(() => Promise.race([running, sleep(2000)]));
});

afterAll(() => removeLeftoverNetns(TAG));

function openFds(): number {
  return readdirSync('/proc/self/fd').length;
}

/** Polls `ok` until it holds, or fails naming `what`. */
async function until(ok: () => boolean, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(10);
  }
}

/** Iterates a stream in the background (for await), keeping every event. */
class Collector {
  readonly events: LinkEvent[] = [];
  readonly done: Promise<void>;
  readonly stream: LinkEventStream;
  error: unknown;

  constructor(nl: Handle, options: Omit<WatchOptions, 'signal'> = {}) {
    const ac = new AbortController();
    aborts.push(ac);
    const stream = nl.watchLinks({ ...options, signal: ac.signal });
    this.stream = stream;
    this.done = (async () => {
      for await (const ev of stream) this.events.push(ev);
    })().catch((err: unknown) => {
      this.error = err;
    });
    loops.push(this.done);
  }

  named(name: string): LinkEvent[] {
    return this.events.filter((e) => e.link.name === name);
  }

  async waitFor(what: string, ok: (e: LinkEvent) => boolean, ms?: number): Promise<LinkEvent> {
    await until(() => this.error !== undefined || this.events.some(ok), what, ms);
    if (this.error !== undefined) throw this.error;
    return this.events.find(ok)!;
  }
}

/**
 * With `existing: false` there is no event that says "subscribed": change
 * v1's MTU until that change comes out of the stream, so later changes are
 * certainly seen. Returns how many events came before.
 */
async function primed(ns: TestNetns, c: Collector): Promise<number> {
  for (let i = 0; i < 100; i++) {
    const mtu = 1400 + i;
    ns.ip('link', 'set', 'v1', 'mtu', String(mtu));
    await sleep(20);
    if (c.events.some((e) => e.link.name === 'v1' && e.link.mtu === mtu && e.changed?.includes('mtu'))) return c.events.length;
  }
  throw new Error('no event for v1 after 100 MTU changes: the stream never subscribed');
}

/**
 * Checks that `events` contains, in this order (other events may be in
 * between), one event matching each step; returns the positions.
 */
function expectInOrder(events: LinkEvent[], steps: { what: string; ok: (e: LinkEvent) => boolean }[]): number[] {
  const at: number[] = [];
  let from = 0;
  for (const step of steps) {
    const i = events.findIndex((e, j) => j >= from && step.ok(e));
    expect(i, `${step.what} (after position ${from - 1}) in ${JSON.stringify(events.map(brief))}`).toBeGreaterThanOrEqual(0);
    at.push(i);
    from = i + 1;
  }
  return at;
}

function brief(e: LinkEvent): string {
  return `${e.type} ${e.link.name}#${e.link.index}${e.changed ? ` [${e.changed.join(',')}]` : ''}${e.existing ? ' existing' : ''}${e.resync ? ' resync' : ''}`;
}

const changedHas = (e: LinkEvent, f: LinkField): boolean => e.type === 'new' && (e.changed ?? []).includes(f);

function ipLinks(ns: TestNetns): IpLink[] {
  return ipJson<IpLink[]>('-n', ns.name, 'link', 'show');
}

// ---------------------------------------------------------------------------

describe('watchLinks', () => {
  it('reports creates, renames, up/down, MTU changes and deletes made by ip, in order', async () => {
    const ns = netns();
    const nl = await handleIn(ns);
    const c = new Collector(nl);
    const start = await primed(ns, c);

    ns.ip('link', 'add', 'm0', 'link', 'v0', 'type', 'macvlan', 'mode', 'bridge');
    const m0 = ipLinks(ns).find((l) => l.ifname === 'm0')!.ifindex;
    ns.ip('link', 'set', 'm0', 'name', 'm1');
    ns.ip('link', 'set', 'm1', 'up');
    ns.ip('link', 'set', 'm1', 'mtu', '1400');
    ns.ip('link', 'set', 'm1', 'down');
    ns.ip('link', 'del', 'm1');
    await c.waitFor('the del of m1', (e) => e.type === 'del' && e.link.index === m0);

    const mine = c.events.slice(start).filter((e) => e.link.index === m0);
    const at = expectInOrder(mine, [
      {
        what: "'new' m0, a creation",
        ok: (e) => e.type === 'new' && e.link.name === 'm0' && e.changed === undefined && e.link.kind === 'macvlan',
      },
      { what: 'the rename to m1', ok: (e) => changedHas(e, 'name') && e.link.name === 'm1' },
      { what: 'm1 up', ok: (e) => changedHas(e, 'up') && e.link.up && e.link.name === 'm1' },
      { what: 'm1 MTU 1400', ok: (e) => changedHas(e, 'mtu') && e.link.mtu === 1400 },
      { what: 'm1 down', ok: (e) => changedHas(e, 'up') && !e.link.up },
      { what: "'del' m1", ok: (e) => e.type === 'del' && e.link.name === 'm1' },
    ]);
    // The creation is the first event of m0 and the deletion its last.
    expect(at[0]).toBe(0);
    expect(at[5]).toBe(mine.length - 1);
    // No event carries a field in `changed` that did not change, and none is flagged as listing or resync.
    for (const e of mine) {
      expect(e.existing).toBeUndefined();
      expect(e.resync).toBeUndefined();
      if (e.changed) expect(e.changed.length).toBeGreaterThan(0);
    }
    // The rename event says only what a rename changes.
    expect(mine[at[1]!]!.changed).not.toContain('mtu');
    expect(mine[at[3]!]!.changed).not.toContain('name');
    expect(c.error).toBeUndefined();
  });

  it("reports changes of the macvlan's own attributes: source MACs, bcQueueLen, nodst, group", async () => {
    const ns = netns();
    const nl = await handleIn(ns);
    const c = new Collector(nl);
    const start = await primed(ns, c);
    ns.ip('link', 'add', 'src0', 'link', 'v0', 'type', 'macvlan', 'mode', 'source');
    ns.ip('link', 'set', 'src0', 'up');
    await c.waitFor('src0 up', (e) => e.link.name === 'src0' && changedHas(e, 'up'));
    await nl.setSourceMacs('src0', 'add', ['02:00:00:00:ee:01']);
    const macs = await c.waitFor('the source MAC', (e) => e.link.name === 'src0' && changedHas(e, 'sourceMacs'));
    expect(macs.link.macvlan?.sourceMacs).toEqual(['02:00:00:00:ee:01']);
    ns.ip('link', 'set', 'src0', 'type', 'macvlan', 'bcqueuelen', '77');
    const bc = await c.waitFor('bcQueueLen 77', (e) => e.link.name === 'src0' && changedHas(e, 'bcQueueLen'));
    expect(bc.link.macvlan?.bcQueueLen).toBe(77);
    ns.ip('link', 'set', 'src0', 'type', 'macvlan', 'nodst');
    const nodst = await c.waitFor('nodst', (e) => e.link.name === 'src0' && changedHas(e, 'nodst'));
    expect(nodst.link.macvlan?.nodst).toBe(true);
    ns.ip('link', 'set', 'src0', 'group', '9');
    const group = await c.waitFor('group 9', (e) => e.link.name === 'src0' && changedHas(e, 'group'));
    expect(group.link.group).toBe(9);
    for (const e of c.events.slice(start)) if (e.changed) expect(e.changed.length).toBeGreaterThan(0);
    expect(c.error).toBeUndefined();
  });

  it('does not report what happens in another namespace', async () => {
    const ns = netns();
    const other = netns();
    const nl = await handleIn(ns);
    const c = new Collector(nl);
    const start = await primed(ns, c);

    other.ip('link', 'add', 'elsewhere0', 'link', 'v0', 'type', 'macvlan');
    other.ip('link', 'set', 'v0', 'mtu', '1280');
    other.ip('link', 'set', 'v1', 'down');
    other.ip('link', 'del', 'elsewhere0');
    // A change here after those: once it is seen, theirs would have been too.
    ns.ip('link', 'add', 'marker0', 'link', 'v0', 'type', 'macvlan');
    await c.waitFor('marker0', (e) => e.link.name === 'marker0');

    const after = c.events.slice(start);
    expect(after.map(brief)).not.toContainEqual(expect.stringContaining('elsewhere0'));
    expect(after.some((e) => e.link.mtu === 1280)).toBe(false);
    expect(after.some((e) => e.link.name === 'v1' && !e.link.up)).toBe(false);
    expect(after.filter((e) => e.link.name === 'marker0' && e.type === 'new').length).toBeGreaterThanOrEqual(1);
  });

  it('with existing: true starts with every link ip lists, then reports changes', async () => {
    const ns = netns();
    ns.ip('link', 'add', 'pre0', 'link', 'v0', 'type', 'macvlan', 'mode', 'private');
    ns.ip('link', 'set', 'v1', 'mtu', '1300');
    const nl = await handleIn(ns);
    const shown = ipLinks(ns);
    expect(shown.length).toBe(4); // lo, v0, v1, pre0

    const c = new Collector(nl, { existing: true });
    await until(() => c.events.length >= shown.length, `${shown.length} listing events`);
    const listing = c.events.slice(0, shown.length);
    for (const e of listing) {
      expect(e.type).toBe('new');
      expect(e.existing).toBe(true);
      expect(e.changed).toBeUndefined();
    }
    const fromIp = shown.map((l) => ({ index: l.ifindex, name: l.ifname, mtu: l.mtu, up: l.flags.includes('UP') }));
    const fromStream = listing.map((e) => ({ index: e.link.index, name: e.link.name, mtu: e.link.mtu, up: e.link.up }));
    const byIndex = (a: { index: number }, b: { index: number }): number => a.index - b.index;
    expect(fromStream.sort(byIndex)).toEqual(fromIp.sort(byIndex));
    expect(listing.find((e) => e.link.name === 'pre0')!.link.macvlan?.mode).toBe('private');

    ns.ip('link', 'add', 'post0', 'link', 'v0', 'type', 'macvlan');
    ns.ip('link', 'set', 'pre0', 'up');
    const created = await c.waitFor('post0', (e) => e.link.name === 'post0');
    expect(created.type).toBe('new');
    expect(created.existing).toBeUndefined();
    expect(created.changed).toBeUndefined();
    const up = await c.waitFor('pre0 up', (e) => e.link.name === 'pre0' && changedHas(e, 'up'));
    expect(up.existing).toBeUndefined();
    // The listing came first and only once.
    expect(c.events.slice(shown.length).some((e) => e.existing)).toBe(false);
    expect(c.events.indexOf(created)).toBeGreaterThanOrEqual(shown.length);
  });

  it('resyncs after an overrun: a storm into a small receive buffer ends in the state ip shows', async () => {
    const ns = netns();
    const nl = await handleIn(ns);
    const stream = nl.watchLinks({ existing: true, receiveBuffer: 4096 });
    const it = stream[Symbol.asyncIterator]();
    // The first event means the socket is subscribed and the listing done.
    const events: LinkEvent[] = [];
    const first = await it.next();
    expect(first.done).toBe(false);
    events.push(first.value as LinkEvent);

    // ~2000 changes while nothing reads: execFileSync blocks this thread's
    // loop, so the 4 KiB socket buffer overruns (ENOBUFS).
    const N = 200;
    const names = Array.from({ length: N }, (_, i) => `st${i}`);
    const lines: string[] = [];
    for (const n of names) lines.push(`link add ${n} link v0 type macvlan mode bridge`);
    // (Each 'down' waits for an RCU grace period in dev_deactivate, so MTU
    // changes, which do not, make up most of the storm.)
    for (let round = 0; round < 2; round++) {
      for (const n of names) lines.push(`link set ${n} up`);
      for (const n of names) lines.push(`link set ${n} down`);
    }
    for (const mtu of [1200, 1300, 1350, 1450, 1400]) for (const n of names) lines.push(`link set ${n} mtu ${mtu}`);
    for (const n of names.slice(0, 50)) lines.push(`link set ${n} name r${n}`);
    for (const n of names.slice(150)) lines.push(`link set ${n} up`);
    for (const n of names.slice(50, 100)) lines.push(`link del ${n}`);
    expect(lines.length).toBeGreaterThanOrEqual(2000);
    execFileSync('ip', ['-n', ns.name, '-batch', '-'], { input: `${lines.join('\n')}\n`, stdio: ['pipe', 'ignore', 'pipe'] });
    const marker = 'marker0';
    ns.ip('link', 'add', marker, 'link', 'v0', 'type', 'macvlan');

    // Now consume: until the marker is known and then a quiet second.
    const state = new Map<number, { name: string; up: boolean; mtu: number }>();
    const apply = (e: LinkEvent): void => {
      if (e.type === 'del') state.delete(e.link.index);
      else state.set(e.link.index, { name: e.link.name, up: e.link.up, mtu: e.link.mtu });
    };
    apply(events[0]!);
    let pending = it.next();
    const deadline = Date.now() + 30_000;
    let sawMarker = false;
    for (;;) {
      const quiet = sleep(sawMarker ? 1000 : 5000).then(() => 'quiet' as const);
      const r = await Promise.race([pending, quiet]);
      if (r === 'quiet') {
        if (sawMarker) break;
        throw new Error(`no event for ${marker} within 5 s of the last event; ${events.length} events so far`);
      }
      if (r.done) throw new Error('the stream ended during the storm');
      events.push(r.value);
      apply(r.value);
      if (r.value.link.name === marker) sawMarker = true;
      if (Date.now() > deadline) throw new Error('the stream never went quiet');
      pending = it.next();
    }

    expect(stream.resyncs).toBeGreaterThanOrEqual(1);
    expect(events.filter((e) => e.resync).length).toBeGreaterThan(0);
    const shown = ipLinks(ns);
    expect(shown.length).toBe(3 + 150 + 1); // lo, v0, v1, 150 st/rst links, the marker
    const expected = new Map(shown.map((l) => [l.ifindex, { name: l.ifname, up: l.flags.includes('UP'), mtu: l.mtu }]));
    expect(new Map([...state].sort((a, b) => a[0] - b[0]))).toEqual(new Map([...expected].sort((a, b) => a[0] - b[0])));

    // Still a live stream after the resync: a later change comes as a plain event.
    ns.ip('link', 'set', marker, 'mtu', '1280');
    const r = await Promise.race([pending, sleep(5000).then(() => undefined)]);
    if (r === undefined) throw new Error('no event after the storm');
    expect(r.done).toBe(false);
    const ev = r.value as LinkEvent;
    expect(ev.link.name).toBe(marker);
    expect(ev.changed).toContain('mtu');
    expect(ev.resync).toBeUndefined();
    await it.return?.();
  }, 90_000);

  it('ends within a second of an abort, and leaves no fd behind', async () => {
    const ns = netns();
    const nl = await handleIn(ns);
    const before = openFds();
    const ac = new AbortController();
    aborts.push(ac);
    const seen: LinkEvent[] = [];
    let ended = 0;
    const loop = (async () => {
      for await (const ev of nl.watchLinks({ signal: ac.signal, existing: true })) seen.push(ev);
      ended = Date.now();
    })();
    loops.push(loop);
    await until(() => seen.length >= 3, 'the listing');
    // The stream's socket is open now (so the count below is meaningful).
    expect(openFds()).toBeGreaterThan(before);

    const aborted = Date.now();
    ac.abort();
    await Promise.race([loop, sleep(1000)]);
    expect(ended, 'the for-await loop did not end within 1 s of abort()').toBeGreaterThan(0);
    expect(ended - aborted).toBeLessThan(1000);
    expect(openFds()).toBe(before);

    // Nothing more arrives, and the handle still works.
    const count = seen.length;
    ns.ip('link', 'add', 'late0', 'link', 'v0', 'type', 'macvlan');
    await sleep(200);
    expect(seen.length).toBe(count);
    expect((await nl.getLink('late0')).kind).toBe('macvlan');
  });

  it('does not start when the signal is already aborted', async () => {
    const ns = netns();
    const nl = await handleIn(ns);
    const before = openFds();
    const seen: LinkEvent[] = [];
    for await (const ev of nl.watchLinks({ signal: AbortSignal.abort(), existing: true })) seen.push(ev);
    expect(seen).toEqual([]);
    expect(openFds()).toBe(before);
  });

  it('an iterator left waiting at an event closes its socket on abort; one aborted while subscribing yields nothing', async () => {
    const ns = netns();
    const nl = await handleIn(ns);
    const before = openFds();
    const ac = new AbortController();
    const it = nl.watchLinks({ signal: ac.signal, existing: true })[Symbol.asyncIterator]();
    expect((await it.next()).done).toBe(false);
    // The caller stops pulling: the generator stays suspended at its yield.
    expect(openFds()).toBeGreaterThan(before);
    ac.abort();
    expect(openFds()).toBe(before);
    expect((await it.next()).done).toBe(true);

    const early = new AbortController();
    const it2 = nl.watchLinks({ signal: early.signal, existing: true })[Symbol.asyncIterator]();
    const first = it2.next(); // starts subscribing
    early.abort();
    expect((await first).done).toBe(true);
    expect(openFds()).toBe(before);
  });

  it('closes its socket when the loop breaks', async () => {
    const ns = netns();
    const nl = await handleIn(ns);
    const before = openFds();
    let got: LinkEvent | undefined;
    for await (const ev of nl.watchLinks({ existing: true })) {
      got = ev;
      break;
    }
    expect(got?.existing).toBe(true);
    expect(openFds()).toBe(before);
  });

  it('ends on nl.close(), and leaves no fd behind', async () => {
    const ns = netns();
    const before = openFds();
    const nl = await open({ netns: ns.name });
    const seen: LinkEvent[] = [];
    let ended = 0;
    let failure: unknown;
    const loop = (async () => {
      for await (const ev of nl.watchLinks({ existing: true })) seen.push(ev);
      ended = Date.now();
    })().catch((err: unknown) => {
      failure = err;
      ended = Date.now();
    });
    loops.push(loop);
    await until(() => seen.length >= 3, 'the listing');
    expect(openFds()).toBeGreaterThan(before);

    const closing = Date.now();
    await nl.close();
    await Promise.race([loop, sleep(1000)]);
    expect(ended, 'the for-await loop did not end within 1 s of close()').toBeGreaterThan(0);
    expect(ended - closing).toBeLessThan(1000);
    expect(failure).toBeUndefined();
    // The handle's own socket and thread are gone too.
    await until(() => openFds() === before, `the fd count to return to ${before} (now ${openFds()})`, 2000);

    // A watch on a closed handle rejects, as any call, leaving nothing open.
    const again: LinkEvent[] = [];
    const err = await (async () => {
      for await (const ev of nl.watchLinks()) again.push(ev);
    })().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((err as { code?: string } | undefined)?.code).toBe('ERR_HANDLE_CLOSED');
    expect(again).toEqual([]);
    expect(openFds()).toBe(before);
  });

  // close() can come while the watch subscribes (its socket is then closed
  // as it arrives: HandleCalls.subscribe) or while it lists the links.
  it('ends, without an error, on a close() while it is still starting; no fd is left', async () => {
    const ns = netns();
    const before = openFds();
    const outcomes = new Set<string>();
    for (let round = 0; round < 20; round++) {
      const nl = await open({ netns: ns.name });
      const seen: LinkEvent[] = [];
      const loop = (async () => {
        for await (const ev of nl.watchLinks({ existing: true })) seen.push(ev);
      })().then(
        () => undefined,
        (e: unknown) => e,
      );
      // Let the watch get as far as this round allows before the close.
      for (let i = 0; i < round % 5; i++) await new Promise((resolve) => setImmediate(resolve));
      await nl.close();
      expect(await loop).toBeUndefined();
      outcomes.add(seen.length === 0 ? 'none' : 'some');
    }
    await until(() => openFds() === before, `the fd count to return to ${before} (now ${openFds()})`, 2000);
    expect(outcomes.has('none')).toBe(true);
  });

  it('on a handle opened with { netns } sees that namespace only', async () => {
    const a = netns();
    const b = netns();
    a.ip('link', 'add', 'inA', 'link', 'v0', 'type', 'macvlan');
    b.ip('link', 'add', 'inB', 'link', 'v0', 'type', 'macvlan');
    const ca = new Collector(await handleIn(a), { existing: true });
    const cb = new Collector(await handleIn(b), { existing: true });
    await until(() => ca.events.length >= 4 && cb.events.length >= 4, 'both listings');

    // The listings are each namespace's links, as ip there shows them.
    const names = (ns: TestNetns): string[] =>
      ipLinks(ns)
        .map((l) => l.ifname)
        .sort();
    expect(
      ca.events
        .slice(0, 4)
        .map((e) => e.link.name)
        .sort(),
    ).toEqual(names(a));
    expect(
      cb.events
        .slice(0, 4)
        .map((e) => e.link.name)
        .sort(),
    ).toEqual(names(b));
    expect(names(a)).toContain('inA');
    expect(names(b)).toContain('inB');

    b.ip('link', 'add', 'newB', 'link', 'v0', 'type', 'macvlan');
    b.ip('link', 'set', 'inB', 'up');
    a.ip('link', 'add', 'newA', 'link', 'v0', 'type', 'macvlan');
    a.ip('link', 'set', 'inA', 'up');
    await ca.waitFor('inA up', (e) => e.link.name === 'inA' && changedHas(e, 'up'));
    await cb.waitFor('inB up', (e) => e.link.name === 'inB' && changedHas(e, 'up'));
    await ca.waitFor('newA', (e) => e.link.name === 'newA');
    await cb.waitFor('newB', (e) => e.link.name === 'newB');

    const namesSeen = (c: Collector): Set<string> => new Set(c.events.map((e) => e.link.name));
    expect(namesSeen(ca).has('newB')).toBe(false);
    expect(namesSeen(ca).has('inB')).toBe(false);
    expect(namesSeen(cb).has('newA')).toBe(false);
    expect(namesSeen(cb).has('inA')).toBe(false);
    // Same ifindexes exist in both namespaces; each stream's events all belong to its own.
    const idsA = new Set(ipLinks(a).map((l) => `${l.ifindex}:${l.ifname}`));
    const idsB = new Set(ipLinks(b).map((l) => `${l.ifindex}:${l.ifname}`));
    for (const e of ca.events) expect(idsA.has(`${e.link.index}:${e.link.name}`), brief(e)).toBe(true);
    for (const e of cb.events) expect(idsB.has(`${e.link.index}:${e.link.name}`), brief(e)).toBe(true);

    // A link moved from A to B leaves A's stream ('del') and enters B's ('new').
    const inA = ipLinks(a).find((l) => l.ifname === 'inA')!.ifindex;
    a.ip('link', 'set', 'inA', 'netns', b.name);
    const left = await ca.waitFor('inA leaving', (e) => e.type === 'del' && e.link.index === inA);
    expect(left.link.name).toBe('inA');
    const arrived = await cb.waitFor('inA arriving', (e) => e.type === 'new' && e.link.name === 'inA');
    expect(arrived.link.index).toBe(ipLinks(b).find((l) => l.ifname === 'inA')!.ifindex);
  });
});
