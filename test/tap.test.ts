// Data-plane tests: real Ethernet frames through /dev/tapN. Each test runs in
// its own network namespace(s) with a veth wire (v0 <-> v1, both up); the
// macvtaps sit on v0, and the far side (v1) is observed or driven through
// another macvtap opened with openTap, never AF_PACKET. Frames carry the
// local experimental EtherType 0x88b5 and a random marker, so IPv6 ND/MLD
// chatter on the wire is skipped. Every test checks that the process has the
// same fds afterwards as before (taps and handles closed).
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import {
  chownSync,
  existsSync,
  fstatSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';

import { Worker } from 'node:worker_threads';

import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { DEFAULT_NODE_DIR, NetlinkError, open, qemuNetdevArgs, type Handle, type Link, type Tap, type TapOptions } from '../src/index.js';
import { fdTarget } from './helpers/fds.js';
import { afterFinalizers, collected } from './helpers/gc.js';
import { ip, makeNetns, requireKernelAccess, type TestNetns } from './helpers/netns.js';

/** Namespaces of this process: mvt-<TAG>-<random>; afterAll removes any left over. */
const TAG = `tap${process.pid}`;
/** IEEE 802 local experimental EtherType 1. */
const ETHERTYPE = 0x88b5;
/** How long a frame may take to arrive before a test calls it lost. */
const ARRIVE_MS = 2000;
/** How long we watch for a frame that must not arrive. */
const ABSENT_MS = 300;

// ---------------------------------------------------------------------------
// Per-test bookkeeping: everything opened is closed, every namespace removed,
// and the process's fds are compared before and after.
// ---------------------------------------------------------------------------

interface TestState {
  namespaces: TestNetns[];
  handles: Handle[];
  taps: Tap[];
  fdsBefore: string[];
}

let state: TestState | undefined;

function current(): TestState {
  if (!state) throw new Error('no test is running');
  return state;
}

/** The process's open fds as 'N -> target' (the directory's own fd, gone by readlink time, drops out). */
function openFds(): string[] {
  const out: string[] = [];
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      out.push(`${fd} -> ${readlinkSync(`/proc/self/fd/${fd}`)}`);
    } catch {
      // the fd readdir itself used
    }
  }
  return out.sort();
}

function netns(tag: string, options: { veth?: boolean } = {}): TestNetns {
  const ns = makeNetns(`${TAG}-${tag}`, options);
  current().namespaces.push(ns);
  return ns;
}

async function handle(ns: TestNetns): Promise<Handle> {
  const nl = await open({ netns: ns.name });
  current().handles.push(nl);
  return nl;
}

async function openTap(nl: Handle, ref: string | number, options?: TapOptions): Promise<Tap> {
  const tap = await nl.openTap(ref, options);
  current().taps.push(tap);
  return tap;
}

/** Moves v1 of `ns` into a fresh namespace (the far side of the wire), up there. */
function farSide(ns: TestNetns, tag: string): TestNetns {
  const far = netns(tag, { veth: false });
  ns.ip('link', 'set', 'v1', 'netns', far.name);
  far.ip('link', 'set', 'v1', 'up');
  return far;
}

/** Polls until `cond` holds: a readiness wait, never an assertion about timing. */
async function waitUntil(what: string, cond: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Waits until each link has carrier (LOWER_UP): without it frames are dropped while write() succeeds. */
async function carrier(ns: TestNetns, ...names: string[]): Promise<void> {
  for (const name of names) {
    await waitUntil(`carrier on ${name} in ${ns.name}`, () => ns.links(name)[0]?.flags.includes('LOWER_UP') === true);
  }
}

// ---------------------------------------------------------------------------
// Frames
// ---------------------------------------------------------------------------

/** A random locally administered unicast MAC. */
function randomMac(): string {
  const b = randomBytes(6);
  b[0] = 0x02;
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join(':');
}

const BROADCAST = 'ff:ff:ff:ff:ff:ff';

function macBytes(mac: string): Buffer {
  return Buffer.from(mac.split(':').map((h) => parseInt(h, 16)));
}

/** A unique marker to put in one frame's payload. */
function marker(label: string): string {
  return `${label}-${randomBytes(6).toString('hex')}`;
}

/** The marker each frame made by ethFrame() carries. */
const marks = new WeakMap<Buffer, string>();

/** An Ethernet frame dst, src, 0x88b5, the marker, then a byte pattern up to `size`. */
function ethFrame(dst: string, src: string, mark: string, size = 60): Buffer {
  const f = Buffer.alloc(Math.max(size, 14 + mark.length));
  marks.set(f, mark);
  macBytes(dst).copy(f, 0);
  macBytes(src).copy(f, 6);
  f.writeUInt16BE(ETHERTYPE, 12);
  const end = 14 + f.write(mark, 14, 'latin1');
  for (let i = end; i < f.length; i++) f[i] = (i * 7) & 0xff;
  return f;
}

type Predicate = (f: Buffer) => boolean;

/** Our frame carrying this marker, or the marker of this frame (anything else, e.g. IPv6 ND/MLD, is skipped). */
function carrying(what: string | Buffer): Predicate {
  const mark = typeof what === 'string' ? what : marks.get(what);
  if (mark === undefined) throw new Error('carrying(): a frame not made by ethFrame()');
  return (f) => f.length >= 14 && f.readUInt16BE(12) === ETHERTYPE && f.includes(mark, 14, 'latin1');
}

/**
 * The read still outstanding on each tap queue. A read that outlives a
 * timeout stays queued in the library (reads are served in order), so the
 * next wait must pick it up rather than queue another one behind it.
 */
const outstanding = new WeakMap<Tap, Map<number, Promise<Buffer | Error>>>();

function pendingRead(tap: Tap, queue: number): Promise<Buffer | Error> {
  let byQueue = outstanding.get(tap);
  if (!byQueue) outstanding.set(tap, (byQueue = new Map()));
  let p = byQueue.get(queue);
  if (!p) {
    p = tap.readFrame(queue).then(
      (b) => b,
      (e: unknown) => (e instanceof Error ? e : new Error(String(e))),
    );
    byQueue.set(queue, p);
  }
  return p;
}

const TIMEOUT = Symbol('timeout');

/** The first frame on `queue` that satisfies `predicate`, or undefined after `ms`. */
async function nextFrame(tap: Tap, predicate: Predicate, ms: number, queue = 0): Promise<Buffer | undefined> {
  const deadline = Date.now() + ms;
  for (;;) {
    const left = deadline - Date.now();
    if (left <= 0) return undefined;
    const read = pendingRead(tap, queue);
    let timer: NodeJS.Timeout | undefined;
    const r = await Promise.race([read, new Promise<typeof TIMEOUT>((resolve) => (timer = setTimeout(resolve, left, TIMEOUT)))]);
    clearTimeout(timer);
    if (r === TIMEOUT) return undefined;
    outstanding.get(tap)?.delete(queue);
    if (r instanceof Error) throw r;
    if (predicate(r)) return r;
  }
}

async function expectFrame(tap: Tap, predicate: Predicate, ms = ARRIVE_MS, queue = 0): Promise<Buffer> {
  const f = await nextFrame(tap, predicate, ms, queue);
  expect(f, `a matching frame on ${tap.link.name} (${tap.device}) queue ${queue} within ${ms} ms`).toBeInstanceOf(Buffer);
  return f!;
}

async function expectNoFrame(tap: Tap, predicate: Predicate, ms = ABSENT_MS, queue = 0): Promise<void> {
  const f = await nextFrame(tap, predicate, ms, queue);
  expect(f, `no matching frame on ${tap.link.name} (${tap.device}) queue ${queue}`).toBeUndefined();
}

/** Settles `p` or fails after `ms` (a bound against hangs, not a timing assertion). */
async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: nothing after ${ms} ms`)), ms))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** "Within a couple of seconds": how soon a deleted link must fail a read. */
const SETTLE_MS = 2000;

/**
 * Awaits `p` and says how long it took. The guard that stops a hang is long
 * on purpose: a timer firing early would itself run JS and hide a promise
 * that was settled natively but not delivered.
 */
async function settledWithin<T>(p: Promise<T>, what: string): Promise<{ value: T; ms: number }> {
  const start = performance.now();
  const value = await within(p, 12_000, what);
  return { value, ms: Math.round(performance.now() - start) };
}

/** The error a promise rejects with (fails the test when it resolves). */
async function rejection(p: Promise<unknown>): Promise<Error & { code?: string }> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(Error);
    return e as Error & { code?: string };
  }
  throw new Error('expected a rejection, but the promise resolved');
}

// ---------------------------------------------------------------------------
// Device numbers
// ---------------------------------------------------------------------------

/** major:minor of a macvtap from sysfs as its own namespace shows it. */
function sysfsDev(ns: TestNetns, link: { name: string; index: number }): { major: number; minor: number } {
  const text = execFileSync('ip', ['netns', 'exec', ns.name, 'cat', `/sys/class/net/${link.name}/macvtap/tap${link.index}/dev`], {
    encoding: 'utf8',
  }).trim();
  const m = /^(\d+):(\d+)$/u.exec(text);
  if (!m) throw new Error(`unexpected sysfs dev for ${link.name}: '${text}'`);
  return { major: Number(m[1]), minor: Number(m[2]) };
}

/** glibc's makedev(): st_rdev as Node reports it. */
function makedev(major: number, minor: number): number {
  return (major % 0x1000) * 0x100 + (minor % 0x100) + Math.floor(minor / 0x100) * 0x100000 + Math.floor(major / 0x1000) * 2 ** 32;
}

/** The flags line of /proc/self/fdinfo/<fd>, as a number. */
function fdFlags(fd: number): number {
  const m = /^flags:\s+([0-7]+)$/mu.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'));
  if (!m) throw new Error(`no flags in /proc/self/fdinfo/${fd}`);
  return parseInt(m[1]!, 8);
}

const O_ACCMODE = 0o3;
const O_RDWR = 0o2;
const O_NONBLOCK = 0o4000;
const O_CLOEXEC = 0o2000000;

// ---------------------------------------------------------------------------

/**
 * The library leaves the nodes it made behind (some made here for uid 1234):
 * remove those of this test's links while the links still exist, so the
 * device number cannot belong to anyone else yet.
 */
function removeMadeNodes(taps: Tap[]): void {
  for (const tap of taps) {
    if (!tap.madeNode) continue;
    try {
      const st = lstatSync(tap.device);
      if (st.isCharacterDevice() && st.rdev === makedev(tap.major, tap.minor)) unlinkSync(tap.device);
    } catch {
      // already gone
    }
  }
}

beforeAll(async () => {
  requireKernelAccess();
  // Warm-up: whatever Node, libuv or the addon open once per process (and
  // keep) is opened here, so the per-test fd comparison sees only leaks.
  state = { namespaces: [], handles: [], taps: [], fdsBefore: [] };
  try {
    const ns = netns('warmup');
    const nl = await handle(ns);
    const a = await nl.createMacvtap({ lower: 'v0', mode: 'bridge', up: true });
    const b = await nl.createMacvtap({ lower: 'v0', mode: 'bridge', up: true });
    await carrier(ns, a.name, b.name);
    const ta = await openTap(nl, a.index);
    const tb = await openTap(nl, b.index, { vnetHdr: true });
    const mark = marker('warmup');
    await ta.writeFrame(ethFrame(b.mac!, a.mac!, mark));
    await nextFrame(tb, carrying(mark), ARRIVE_MS);
    await expect(openTap(nl, 'v0')).rejects.toThrow();
    await Promise.all([ta.close(), tb.close()]);
    await nl.close();
    // An async child: libuv keeps its SIGCHLD pipe for the life of the loop.
    await new Promise((resolve) => spawn('true', { stdio: 'ignore' }).on('close', resolve));
  } finally {
    for (const ns of state.namespaces) ns.remove();
    state = undefined;
  }
});

beforeEach(() => {
  state = { namespaces: [], handles: [], taps: [], fdsBefore: openFds() };
});

afterEach(async () => {
  const s = current();
  state = undefined;
  try {
    await Promise.allSettled(s.taps.map((t) => t.close()));
    await Promise.allSettled(s.handles.map((h) => h.close()));
    removeMadeNodes(s.taps);
    expect(openFds(), 'the fds of the process after the test (every tap and handle closed)').toEqual(s.fdsBefore);
  } finally {
    for (const ns of s.namespaces) ns.remove();
  }
});

afterAll(() => {
  for (const line of ip('netns', 'list').split('\n')) {
    const name = line.split(' ')[0];
    if (name?.startsWith(`mvt-${TAG}-`)) ip('netns', 'del', name);
  }
});

/** Two up macvtaps on v0 of `ns` in `mode`, with their taps open. */
async function siblings(
  ns: TestNetns,
  nl: Handle,
  mode: 'bridge' | 'private' | 'vepa',
  options: TapOptions = {},
): Promise<{ a: Link; b: Link; ta: Tap; tb: Tap }> {
  const a = await nl.createMacvtap({ lower: 'v0', name: 'mta', mode, mac: randomMac(), up: true });
  const b = await nl.createMacvtap({ lower: 'v0', name: 'mtb', mode, mac: randomMac(), up: true });
  await carrier(ns, 'v0', 'mta', 'mtb');
  const ta = await openTap(nl, 'mta', options);
  const tb = await openTap(nl, 'mtb', options);
  return { a, b, ta, tb };
}

// ---------------------------------------------------------------------------

describe('bridge mode', () => {
  it('delivers unicast and broadcast between sibling macvtaps, both ways', async () => {
    const ns = netns('bridge');
    const nl = await handle(ns);
    const { a, b, ta, tb } = await siblings(ns, nl, 'bridge');
    expect(ta.device).not.toBe(tb.device);

    const uni = ethFrame(b.mac!, a.mac!, marker('a-to-b'));
    await ta.writeFrame(uni);
    expect(await expectFrame(tb, carrying(uni))).toEqual(uni);

    const back = marker('b-to-a');
    await tb.writeFrame(ethFrame(a.mac!, b.mac!, back));
    await expectFrame(ta, carrying(back));

    const bc = ethFrame(BROADCAST, a.mac!, marker('bcast'));
    await ta.writeFrame(bc);
    const got = await expectFrame(tb, carrying(bc));
    expect(got).toEqual(bc);
  });

  it('frames() yields arriving frames and ends when the tap closes', async () => {
    const ns = netns('frames');
    const nl = await handle(ns);
    const { a, b, ta, tb } = await siblings(ns, nl, 'bridge');
    const wanted = [marker('f1'), marker('f2'), marker('f3')];
    const seen: string[] = [];
    const iterating = (async () => {
      for await (const f of tb.frames()) {
        const m = wanted.find((x) => carrying(x)(f));
        if (m) seen.push(m);
        if (seen.length === wanted.length) break;
      }
    })();
    for (const m of wanted) await ta.writeFrame(ethFrame(b.mac!, a.mac!, m));
    await within(iterating, ARRIVE_MS, 'frames() delivering three frames');
    expect(seen).toEqual(wanted);

    // A second iteration, ended by close(): it returns instead of throwing.
    const ended = (async () => {
      let n = 0;
      for await (const f of ta.frames()) if (carrying('never')(f)) n++;
      return n;
    })();
    await ta.close();
    await expect(within(ended, ARRIVE_MS, 'frames() after close()')).resolves.toBe(0);
  });
});

describe('private mode', () => {
  it('delivers nothing between siblings, yet their frames leave through the lower', async () => {
    const ns = netns('private');
    const far = farSide(ns, 'private-far');
    const nl = await handle(ns);
    const nlFar = await handle(far);
    // The observer: a passthru macvtap on v1 (it makes v1 promiscuous and gets every frame).
    const obs = await nlFar.createMacvtap({ lower: 'v1', name: 'obs', mode: 'passthru', up: true });
    await carrier(far, 'v1', obs.name);
    const to = await openTap(nlFar, obs.name);
    const { a, b, ta, tb } = await siblings(ns, nl, 'private');

    const uni = marker('a-to-b');
    await ta.writeFrame(ethFrame(b.mac!, a.mac!, uni));
    await expectFrame(to, carrying(uni));
    await expectNoFrame(tb, carrying(uni));

    const back = marker('b-to-a');
    await tb.writeFrame(ethFrame(a.mac!, b.mac!, back));
    await expectFrame(to, carrying(back));
    await expectNoFrame(ta, carrying(back));

    const bc = marker('bcast');
    await ta.writeFrame(ethFrame(BROADCAST, a.mac!, bc));
    await expectFrame(to, carrying(bc));
    await expectNoFrame(tb, carrying(bc));

    const out = ethFrame(randomMac(), a.mac!, marker('outside'));
    await ta.writeFrame(out);
    expect(await expectFrame(to, carrying(out))).toEqual(out);
  });
});

describe('vepa mode', () => {
  it('does not deliver between siblings with a plain veth peer', async () => {
    const ns = netns('vepa');
    const nl = await handle(ns);
    const { a, b, ta, tb } = await siblings(ns, nl, 'vepa');
    // The observer on the peer has b's MAC: it sees what leaves v0 for b, and reflects nothing.
    await nl.createMacvtap({ lower: 'v1', name: 'mobs', mode: 'bridge', mac: b.mac!, up: true });
    await carrier(ns, 'v1', 'mobs');
    const tobs = await openTap(nl, 'mobs');
    const uni = marker('a-to-b');
    await ta.writeFrame(ethFrame(b.mac!, a.mac!, uni));
    await expectFrame(tobs, carrying(uni));
    const bc = marker('bcast');
    await ta.writeFrame(ethFrame(BROADCAST, a.mac!, bc));
    await expectFrame(tobs, carrying(bc));
    await expectNoFrame(tb, (f) => carrying(uni)(f) || carrying(bc)(f));
  });

  it('delivers what a Linux bridge port reflects (hairpin on), not without hairpin', async () => {
    const ns = netns('vepa-hairpin');
    ns.ip('link', 'add', 'br0', 'type', 'bridge');
    ns.ip('link', 'set', 'v1', 'master', 'br0');
    ns.ip('link', 'set', 'br0', 'up');
    const portState = (): string | undefined =>
      (ns.links('v1')[0] as { linkinfo?: { info_slave_data?: { state?: string } } } | undefined)?.linkinfo?.info_slave_data?.state;
    await waitUntil('v1 forwarding in br0', () => portState() === 'forwarding');
    const nl = await handle(ns);
    const { a, b, ta, tb } = await siblings(ns, nl, 'vepa');

    // Hairpin off: the bridge never sends a frame back out of its ingress port.
    const before = marker('no-hairpin');
    await ta.writeFrame(ethFrame(b.mac!, a.mac!, before));
    await expectNoFrame(tb, carrying(before));

    execFileSync('bridge', ['-n', ns.name, 'link', 'set', 'dev', 'v1', 'hairpin', 'on']);
    const uni = ethFrame(b.mac!, a.mac!, marker('reflected'));
    await ta.writeFrame(uni);
    expect(await expectFrame(tb, carrying(uni))).toEqual(uni);

    const back = marker('reflected-back');
    await tb.writeFrame(ethFrame(a.mac!, b.mac!, back));
    await expectFrame(ta, carrying(back));

    const bc = marker('reflected-bcast');
    await ta.writeFrame(ethFrame(BROADCAST, a.mac!, bc));
    await expectFrame(tb, carrying(bc));
  });
});

describe('source mode', () => {
  it('receives frames by source MAC from the far side, and not from other sources', async () => {
    const ns = netns('source');
    const far = farSide(ns, 'source-far');
    const nl = await handle(ns);
    const nlFar = await handle(far);
    const allowed = randomMac();
    const other = randomMac();

    const src = await nl.createMacvtap({ lower: 'v0', name: 'msrc', mode: 'source', sourceMacs: [allowed], up: true });
    expect(src.macvlan?.sourceMacs).toEqual([allowed]);
    // A witness on the same lower: proves each frame did cross the wire.
    const wit = await nl.createMacvtap({ lower: 'v0', name: 'mwit', mode: 'bridge', mac: randomMac(), up: true });
    const sender = await nlFar.createMacvtap({ lower: 'v1', name: 'msend', mode: 'bridge', up: true });
    await carrier(ns, 'v0', 'msrc', 'mwit');
    await carrier(far, 'v1', 'msend');
    const ts = await openTap(nl, 'msrc');
    const tw = await openTap(nl, 'mwit');
    const tsend = await openTap(nlFar, sender.name);

    const fromAllowed = ethFrame(wit.mac!, allowed, marker('allowed'));
    await tsend.writeFrame(fromAllowed);
    expect(await expectFrame(ts, carrying(fromAllowed))).toEqual(fromAllowed);
    await expectFrame(tw, carrying(fromAllowed));

    const fromAllowedBc = marker('allowed-bcast');
    await tsend.writeFrame(ethFrame(BROADCAST, allowed, fromAllowedBc));
    await expectFrame(ts, carrying(fromAllowedBc));

    const fromOther = marker('other');
    await tsend.writeFrame(ethFrame(wit.mac!, other, fromOther));
    await expectFrame(tw, carrying(fromOther));
    // Addressed to the source-mode link itself: still not by destination.
    const toSrc = marker('other-to-src');
    await tsend.writeFrame(ethFrame(src.mac!, other, toSrc));
    await expectNoFrame(ts, (f) => carrying(fromOther)(f) || carrying(toSrc)(f));
  });
});

describe('passthru mode', () => {
  it('refuses a second link on the same lower and leaves nothing behind', async () => {
    const ns = netns('passthru');
    const nl = await handle(ns);
    const first = await nl.createMacvtap({ lower: 'v0', name: 'mpt', mode: 'passthru', up: true });
    expect(first.macvlan?.mode).toBe('passthru');
    const names = (): string[] =>
      ns
        .links()
        .map((l) => `${l.ifindex}:${l.ifname}`)
        .sort();
    const before = names();

    for (const attempt of [
      () => nl.createMacvtap({ lower: 'v0', name: 'mpt2', mode: 'passthru' }),
      () => nl.createMacvtap({ lower: 'v0', mode: 'passthru', up: true }),
      () => nl.createMacvlan({ lower: 'v0', name: 'mpt3', mode: 'passthru' }),
      () => nl.createMacvtap({ lower: 'v0', name: 'mbr', mode: 'bridge' }),
    ]) {
      const err = await rejection(attempt());
      expect(err).toBeInstanceOf(NetlinkError);
      expect((err as NetlinkError).code).toBe('EINVAL');
      expect(names()).toEqual(before);
    }
    // (v1 has v0 as IFLA_LINK too: it is the veth peer.)
    expect((await nl.listLinks({ lower: 'v0', kind: 'macvtap' })).map((l) => l.name)).toEqual(['mpt']);
    expect(await nl.listLinks({ lower: 'v0', kind: 'macvlan' })).toEqual([]);

    // The one passthru link still works: it gets what arrives on v0.
    await carrier(ns, 'v0', 'mpt');
    const tap = await openTap(nl, 'mpt');
    const peer = await nl.createMacvtap({ lower: 'v1', name: 'mpeer', mode: 'bridge', up: true });
    await carrier(ns, 'v1', 'mpeer');
    const tpeer = await openTap(nl, peer.name);
    const mark = marker('to-passthru');
    await tpeer.writeFrame(ethFrame(randomMac(), peer.mac!, mark));
    await expectFrame(tap, carrying(mark));
  });
});

describe('virtio-net header', () => {
  const configs: { name: string; options: TapOptions; size: number }[] = [
    { name: 'off (default)', options: {}, size: 0 },
    { name: 'off (explicit)', options: { vnetHdr: false }, size: 0 },
    { name: 'on, default size', options: { vnetHdr: true }, size: 10 },
    { name: 'on, size 10', options: { vnetHdr: true, vnetHdrSize: 10 }, size: 10 },
    { name: 'on, size 12', options: { vnetHdr: true, vnetHdrSize: 12 }, size: 12 },
  ];

  it.each(configs)('$name: the frame read back is the frame written', async ({ options, size }) => {
    const ns = netns('vnet');
    const nl = await handle(ns);
    const { a, b, ta, tb } = await siblings(ns, nl, 'bridge', options);
    expect(ta.vnetHdrSize).toBe(size);
    expect(tb.vnetHdrSize).toBe(size);
    for (const length of [60, 61, 1514]) {
      const f = ethFrame(b.mac!, a.mac!, marker(`len${length}`), length);
      await ta.writeFrame(f);
      expect(await expectFrame(tb, carrying(f))).toEqual(f);
    }
  });

  // Writer and reader with different settings: any disagreement between the
  // header size the library adds or strips and the one the kernel uses
  // shifts or cuts the frame.
  it('writer and reader with different header settings still see the same frame', async () => {
    const ns = netns('vnet-mixed');
    const nl = await handle(ns);
    const a = await nl.createMacvtap({ lower: 'v0', name: 'mta', mode: 'bridge', mac: randomMac(), up: true });
    const b = await nl.createMacvtap({ lower: 'v0', name: 'mtb', mode: 'bridge', mac: randomMac(), up: true });
    await carrier(ns, 'v0', 'mta', 'mtb');
    const settings: TapOptions[] = [{}, { vnetHdr: true, vnetHdrSize: 10 }, { vnetHdr: true, vnetHdrSize: 12 }];
    for (const w of settings) {
      for (const r of settings) {
        if (w === r) continue;
        const ta = await openTap(nl, 'mta', w);
        const tb = await openTap(nl, 'mtb', r);
        const f = ethFrame(b.mac!, a.mac!, marker('mixed'), 100);
        await ta.writeFrame(f);
        const got = await expectFrame(tb, carrying(f));
        expect(got, `written with ${JSON.stringify(w)}, read with ${JSON.stringify(r)}`).toEqual(f);
        await Promise.all([ta.close(), tb.close()]);
      }
    }
  });
});

describe('multiqueue', () => {
  it('opens one distinct fd per queue; every queue sends and one queue receives; QEMU args match', async () => {
    const ns = netns('mq');
    const nl = await handle(ns);
    const mq = await nl.createMacvtap({
      lower: 'v0',
      name: 'mmq',
      mode: 'bridge',
      mac: randomMac(),
      up: true,
      numTxQueues: 4,
      numRxQueues: 4,
    });
    expect(mq.numTxQueues).toBe(4);
    expect(mq.numRxQueues).toBe(4);
    const sib = await nl.createMacvtap({ lower: 'v0', name: 'msib', mode: 'bridge', mac: randomMac(), up: true });
    await carrier(ns, 'v0', 'mmq', 'msib');
    const tap = await openTap(nl, 'mmq', { queues: 4, vnetHdr: true, vnetHdrSize: 12 });
    const tsib = await openTap(nl, 'msib');

    expect(tap.fds).toHaveLength(4);
    expect(new Set(tap.fds).size).toBe(4);
    const { major, minor } = sysfsDev(ns, mq);
    for (const fd of tap.fds) {
      expect(readlinkSync(`/proc/self/fd/${fd}`)).toBe(tap.device);
      expect(fstatSync(fd).rdev).toBe(makedev(major, minor));
    }

    for (let q = 0; q < 4; q++) {
      const f = ethFrame(sib.mac!, mq.mac!, marker(`queue${q}`));
      await tap.writeFrame(f, q);
      expect(await expectFrame(tsib, carrying(f))).toEqual(f);
    }

    // The other way: the frame lands on exactly one of the four queues.
    const f = ethFrame(mq.mac!, sib.mac!, marker('to-mq'));
    await tsib.writeFrame(f);
    const got = await Promise.all([0, 1, 2, 3].map((q) => nextFrame(tap, carrying(f), 500, q)));
    expect(got.filter((x) => x !== undefined)).toEqual([f]);

    await expect(tap.readFrame(4)).rejects.toMatchObject({ code: 'ERR_OUT_OF_RANGE' });
    await expect(tap.writeFrame(f, -1)).rejects.toMatchObject({ code: 'ERR_OUT_OF_RANGE' });

    // The guest NIC gets the macvtap's MAC unless told otherwise.
    const q = qemuNetdevArgs(tap, { id: 'net0', firstFd: 3 });
    expect(q.args).toEqual(['-netdev', 'tap,id=net0,fds=3:4:5:6', '-device', `virtio-net-pci,netdev=net0,mac=${mq.mac!},mq=on,vectors=10`]);
    expect(q.stdio).toEqual(tap.fds);
    const other = randomMac();
    expect(qemuNetdevArgs(tap, { id: 'n0', firstFd: 10, mac: other }).args).toEqual([
      '-netdev',
      'tap,id=n0,fds=10:11:12:13',
      '-device',
      `virtio-net-pci,netdev=n0,mac=${other},mq=on,vectors=10`,
    ]);
    expect(qemuNetdevArgs(tsib, { id: 'n1', firstFd: 7 })).toEqual({
      args: ['-netdev', 'tap,id=n1,fd=7', '-device', `virtio-net-pci,netdev=n1,mac=${sib.mac!}`],
      stdio: tsib.fds,
    });
    for (const [options, code] of [
      [{ id: 5, firstFd: 3 }, 'ERR_INVALID_ARG_TYPE'],
      [{ id: '5net', firstFd: 3 }, 'ERR_INVALID_ARG_VALUE'],
      [{ id: 'n2', firstFd: 3, device: 7 }, 'ERR_INVALID_ARG_TYPE'],
      [{ id: 'n2', firstFd: 3, device: 'virtio,x=1' }, 'ERR_INVALID_ARG_VALUE'],
    ] as const) {
      expect(() => qemuNetdevArgs(tap, options as never), JSON.stringify(options)).toThrow(expect.objectContaining({ code }));
    }

    // Every queue's fd is closed once close() resolves (each on its own worker).
    const fds = tap.fds;
    await tap.close();
    expect(tap.fds).toEqual([]);
    for (const fd of fds) {
      const target = fdTarget(fd) ?? 'closed';
      expect(target === tap.device ? `fd ${fd} still open on ${target}` : 'not the tap').toBe('not the tap');
    }
  });
});

/**
 * A child that writes `frameHex` to fd 3, then waits (select; the fd is
 * O_NONBLOCK) for a frame containing `reply`, and prints JSON with the wall
 * clock of its write and whether the reply came.
 */
const CHILD_PEER = String.raw`
import json, os, select, sys, time
frame, reply = bytes.fromhex(sys.argv[1]), sys.argv[2].encode()
os.write(3, frame)
wrote = time.time() * 1000
got = False
deadline = time.time() + 8
while not got and time.time() < deadline:
    r, _, _ = select.select([3], [], [], max(0, deadline - time.time()))
    if not r: break
    try:
        got = reply in os.read(3, 65600)
    except BlockingIOError:
        pass
print(json.dumps({"wrote": wrote, "got": got}))
`;

describe('handing fds to a child process', () => {
  it("a child given tap.fds through spawn's stdio (qemuNetdevArgs) sends and receives frames", async () => {
    const ns = netns('child');
    const nl = await handle(ns);
    const vm = await nl.createMacvtap({ lower: 'v0', name: 'mvm', mode: 'bridge', mac: randomMac(), up: true });
    const sib = await nl.createMacvtap({ lower: 'v0', name: 'msib', mode: 'bridge', mac: randomMac(), up: true });
    await carrier(ns, 'v0', 'mvm', 'msib');
    const tap = await openTap(nl, 'mvm');
    const tsib = await openTap(nl, 'msib');
    const { stdio } = qemuNetdevArgs(tap, { id: 'net0', firstFd: 3 });
    expect(stdio).toEqual(tap.fds);

    const fromChild = ethFrame(sib.mac!, vm.mac!, marker('from-child'));
    const reply = marker('to-child');
    // The read is pending before the child writes: only the tap's readiness can wake us.
    const seen = nextFrame(tsib, carrying(fromChild), 12_000).then((f) => ({ f, at: Date.now() }));
    const child = spawn('python3', ['-c', CHILD_PEER, fromChild.toString('hex'), reply], { stdio: ['ignore', 'pipe', 'pipe', ...stdio] });
    let out = '';
    let err = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));

    const { f, at } = await seen;
    expect(f, 'the frame the child wrote, on the sibling').toEqual(fromChild);
    await tsib.writeFrame(ethFrame(vm.mac!, sib.mac!, reply));
    expect(await within(exited, 12_000, 'the child'), err).toBe(0);
    const result = JSON.parse(out) as { wrote: number; got: boolean };
    expect(result.got, 'the child read the reply from its fd').toBe(true);
    expect(at - result.wrote, 'ms from the child writing to JS seeing the frame').toBeLessThan(SETTLE_MS);
  });
});

describe('namespaces', () => {
  it('two namespaces with a macvtap of the same ifindex: each openTap gets its own device', async () => {
    // Fresh namespaces, links created in the same order: the same ifindexes.
    const nsA = netns('collide-a');
    const nsB = netns('collide-b');
    const nlA = await handle(nsA);
    const nlB = await handle(nsB);
    const macA = randomMac();
    const macB = randomMac();
    const made = async (ns: TestNetns, nl: Handle): Promise<[Link, Link]> => {
      const a = await nl.createMacvtap({ lower: 'v0', name: 'mta', mode: 'bridge', mac: macA, up: true });
      const b = await nl.createMacvtap({ lower: 'v0', name: 'mtb', mode: 'bridge', mac: macB, up: true });
      await carrier(ns, 'v0', 'mta', 'mtb');
      return [a, b];
    };
    const [aA, bA] = await made(nsA, nlA);
    const [aB, bB] = await made(nsB, nlB);
    expect(aB.index, 'the same ifindex in both namespaces').toBe(aA.index);
    expect(bB.index, 'the same ifindex in both namespaces').toBe(bA.index);

    const taA = await openTap(nlA, 'mta');
    const tbA = await openTap(nlA, 'mtb');
    const taB = await openTap(nlB, 'mta');
    const tbB = await openTap(nlB, 'mtb');
    const devs = new Set<string>();
    for (const [ns, link, tap] of [
      [nsA, aA, taA],
      [nsA, bA, tbA],
      [nsB, aB, taB],
      [nsB, bB, tbB],
    ] as const) {
      const dev = sysfsDev(ns, link);
      expect({ major: tap.major, minor: tap.minor }, `${link.name} in ${ns.name}`).toEqual(dev);
      expect(fstatSync(tap.fds[0]!).rdev).toBe(makedev(dev.major, dev.minor));
      expect(statSync(tap.device).rdev).toBe(makedev(dev.major, dev.minor));
      devs.add(`${dev.major}:${dev.minor}`);
    }
    expect(devs.size).toBe(4);

    const fromA = ethFrame(macB, macA, marker('in-A'));
    await taA.writeFrame(fromA);
    await expectFrame(tbA, carrying(fromA));
    await expectNoFrame(tbB, carrying(fromA));

    const fromB = ethFrame(macB, macA, marker('in-B'));
    await taB.writeFrame(fromB);
    await expectFrame(tbB, carrying(fromB));
    await expectNoFrame(tbA, carrying(fromB));
  });
});

describe('device nodes', () => {
  /**
   * A macvtap whose /dev/tapN is missing. /dev is shared by every namespace,
   * so a low /dev/tapN is likely another namespace's device: the link is made
   * by `ip` at a random high ifindex no node has yet (devtmpfs then makes
   * the link's own node, which is removed).
   */
  async function linkWithoutDevNode(ns: TestNetns, nl: Handle): Promise<{ link: Link; dev: { major: number; minor: number } }> {
    for (let i = 0; i < 10; i++) {
      const index = 100000 + randomBytes(3).readUIntBE(0, 3);
      const path = `/dev/tap${index}`;
      if (existsSync(path)) continue;
      const name = `mtn${i}`;
      ns.ip('link', 'add', 'link', 'v0', 'name', name, 'index', String(index), 'address', randomMac(), 'type', 'macvtap', 'mode', 'bridge');
      ns.ip('link', 'set', name, 'up');
      const link = await nl.getLink(name);
      expect(link.index).toBe(index);
      const dev = sysfsDev(ns, link);
      const st = lstatSync(path, { throwIfNoEntry: false });
      if (st) {
        expect(st.isCharacterDevice() && st.rdev === makedev(dev.major, dev.minor), `${path} is the new link's node`).toBe(true);
        unlinkSync(path);
      }
      expect(existsSync(path)).toBe(false);
      return { link, dev };
    }
    throw new Error('every /dev/tapN tried exists');
  }

  it('a one-queue tap and its handle close in any order: the fd closed and the node the open made removed', async () => {
    const ns = netns('close-order');
    const { link } = await linkWithoutDevNode(ns, await handle(ns));
    // A one-queue tap closes on its handle's I/O thread while the handle is
    // open, on the thread pool after; a close the handle's close() cancels
    // closes all the same.
    const orders: Record<string, (tap: Tap, nl: Handle) => Promise<unknown>> = {
      'the tap alone': (tap) => tap.close(),
      'the handle, then the tap': async (tap, nl) => {
        await nl.close();
        await tap.close();
      },
      'both at once, the tap first': (tap, nl) => Promise.all([tap.close(), nl.close()]),
      'both at once, the handle first': (tap, nl) => Promise.all([nl.close(), tap.close()]),
    };
    for (const [order, close] of Object.entries(orders)) {
      for (let round = 0; round < 8; round++) {
        const nl = await handle(ns);
        const tap = await openTap(nl, link.name);
        expect(tap.madeNode).toBe(true);
        const fd = tap.fds[0]!;
        await close(tap, nl);
        expect(fdTarget(fd), `fd ${fd} after closing ${order} (round ${round})`).not.toBe(tap.device);
        expect(existsSync(tap.device), `${tap.device} after closing ${order} (round ${round})`).toBe(false);
      }
    }
  });

  it('makes its own node when /dev/tapN is missing, and that node works', async () => {
    const ns = netns('nodev');
    const nl = await handle(ns);
    const { link, dev } = await linkWithoutDevNode(ns, nl);
    const sib = await nl.createMacvtap({ lower: 'v0', name: 'msib', mode: 'bridge', mac: randomMac(), up: true });
    await carrier(ns, 'v0', link.name, 'msib');

    const tap = await openTap(nl, link.name);
    expect(tap.madeNode).toBe(true);
    expect(tap.device.startsWith(`${DEFAULT_NODE_DIR}/`), tap.device).toBe(true);
    expect({ major: tap.major, minor: tap.minor }).toEqual(dev);
    const st = statSync(tap.device);
    expect(st.isCharacterDevice()).toBe(true);
    expect(st.rdev).toBe(makedev(dev.major, dev.minor));
    expect(st.mode & 0o777).toBe(0o600);
    expect(fstatSync(tap.fds[0]!).rdev).toBe(makedev(dev.major, dev.minor));

    const tsib = await openTap(nl, 'msib');
    const out = marker('from-made-node');
    await tap.writeFrame(ethFrame(sib.mac!, link.mac!, out));
    await expectFrame(tsib, carrying(out));
    const back = marker('to-made-node');
    await tsib.writeFrame(ethFrame(link.mac!, sib.mac!, back));
    await expectFrame(tap, carrying(back));

    // The node made for this open goes with it.
    await tap.close();
    expect(existsSync(tap.device), tap.device).toBe(false);
  });

  it('an open that fails removes the node it made and keeps no fd', async () => {
    const ns = netns('node-fail');
    const nl = await handle(ns);
    const { link } = await linkWithoutDevNode(ns, nl);
    // A macvtap takes at most 256 queues (MAX_TAP_QUEUES): with 250 open,
    // the 7th fd of the next open fails with EBUSY, after its node is made.
    const first = await openTap(nl, link.name, { queues: 250 });
    expect(first.madeNode).toBe(true);
    rmSync(first.device);
    const err = await rejection(nl.openTap(link.name, { queues: 10 }));
    expect(err).toBeInstanceOf(NetlinkError);
    expect(err.code).toBe('EBUSY');
    // Which step failed, in the library's words (not as the kernel's).
    expect(err.message).toMatch(/^openTap\('\w+'\) failed: EBUSY; cannot open \/\S+ for queue 7 of 10$/);
    expect((err as NetlinkError).kernelMessage).toBeUndefined();
    expect(existsSync(first.device), `${first.device} after the failed open`).toBe(false);
    // The queues of the first are untouched; a smaller open still works.
    expect(first.fds).toHaveLength(250);
    const second = await openTap(nl, link.name, { queues: 6 });
    expect(second.fds).toHaveLength(6);
  });

  const OWNER = { uid: 1234, gid: 1234, mode: 0o660 };

  it('gives a made node the requested owner and mode, and leaves /dev/tapN alone', async () => {
    const ns = netns('owner');
    const nl = await handle(ns);
    const link = await nl.createMacvtap({ lower: 'v0', name: 'mown', mode: 'bridge', up: true });
    const dev = sysfsDev(ns, link);
    const tap = await openTap(nl, link.name, { owner: OWNER });
    expect(tap.madeNode).toBe(true);
    expect(tap.device.startsWith('/dev/'), 'the shared /dev node is never re-owned').toBe(false);
    const st = statSync(tap.device);
    expect(st.isCharacterDevice()).toBe(true);
    expect(st.rdev).toBe(makedev(dev.major, dev.minor));
    expect({ uid: st.uid, gid: st.gid, mode: st.mode & 0o7777 }).toEqual(OWNER);

    // /dev/tapN, when it is this link's, keeps root ownership and 0600.
    try {
      const d = statSync(`/dev/tap${link.index}`);
      if (d.rdev === makedev(dev.major, dev.minor)) expect({ uid: d.uid, mode: d.mode & 0o777 }).toEqual({ uid: 0, mode: 0o600 });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
  });

  // The point of an owner: a QEMU running as that user opens the node by path.
  it('a node made for another user can be opened by that user', async () => {
    const ns = netns('owner-open');
    const nl = await handle(ns);
    const link = await nl.createMacvtap({ lower: 'v0', name: 'mown', mode: 'bridge', up: true });
    const tap = await openTap(nl, link.name, { owner: OWNER });
    expect(tap.madeNode).toBe(true);
    let outcome = 'opened';
    try {
      execFileSync('sh', ['-c', 'exec 3<>"$1"', 'sh', tap.device], { uid: OWNER.uid, gid: OWNER.gid, stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (e) {
      outcome = String((e as { stderr?: Buffer }).stderr ?? e).trim();
    }
    expect(outcome, `uid ${OWNER.uid} opening ${tap.device} read-write`).toBe('opened');
  });

  it('a node made without an owner is root-owned 0600, even where an earlier open made one for another user', async () => {
    const ns = netns('owner-stale');
    const nl = await handle(ns);
    const { link, dev } = await linkWithoutDevNode(ns, nl);
    const first = await openTap(nl, link.name, { owner: OWNER });
    await first.close();
    const second = await openTap(nl, link.name);
    expect(second.madeNode).toBe(true);
    const st = statSync(second.device);
    expect(st.rdev).toBe(makedev(dev.major, dev.minor));
    expect(
      { uid: st.uid, gid: st.gid, mode: st.mode & 0o7777 },
      `${second.device} (${first.device} was made for uid ${OWNER.uid})`,
    ).toEqual({
      uid: 0,
      gid: 0,
      mode: 0o600,
    });
  });

  it('nodes dead processes left behind (another owner, another mode, any device) are removed at the next open', async () => {
    const ns = netns('owner-left');
    const nl = await handle(ns);
    const { link, dev } = await linkWithoutDevNode(ns, nl);
    // As a process that died with the tap open would leave it.
    const dead = spawnSync('true').pid!;
    const left = `${DEFAULT_NODE_DIR}/tap${dev.major}_${dev.minor}-${dead}-1`;
    const leftOfAnother = `${DEFAULT_NODE_DIR}/tap${dev.major}_${dev.minor + 4000}-${dead}-2`;
    // Not a node of ours (a regular file), and the node of a live process.
    const notANode = `${DEFAULT_NODE_DIR}/tap${dev.major}_${dev.minor + 4001}-${dead}-3`;
    const alive = `${DEFAULT_NODE_DIR}/tap${dev.major}_${dev.minor + 4002}-${process.pid}-999999`;
    mkdirSync(DEFAULT_NODE_DIR, { recursive: true });
    execFileSync('mknod', ['-m', '0666', left, 'c', String(dev.major), String(dev.minor)]);
    execFileSync('mknod', ['-m', '0666', leftOfAnother, 'c', String(dev.major), String(dev.minor + 4000)]);
    execFileSync('mknod', ['-m', '0600', alive, 'c', String(dev.major), String(dev.minor + 4002)]);
    writeFileSync(notANode, '');
    chownSync(left, OWNER.uid, OWNER.gid);
    const tap = await openTap(nl, link.name);
    expect(existsSync(left)).toBe(false);
    expect(existsSync(leftOfAnother)).toBe(false);
    expect(existsSync(notANode)).toBe(true);
    expect(existsSync(alive)).toBe(true);
    rmSync(notANode);
    rmSync(alive);
    expect(tap.device).not.toBe(left);
    const st = statSync(tap.device);
    expect({ uid: st.uid, gid: st.gid, mode: st.mode & 0o7777, rdev: st.rdev }).toEqual({
      uid: 0,
      gid: 0,
      mode: 0o600,
      rdev: makedev(dev.major, dev.minor),
    });
    await tap.close();
    expect(existsSync(tap.device)).toBe(false);
  });

  it('two taps of one link each get a node of their own: owners apart, and one close() leaves the other', async () => {
    const ns = netns('owner-two');
    const nl = await handle(ns);
    const { link, dev } = await linkWithoutDevNode(ns, nl);
    const forQemu = await openTap(nl, link.name, { owner: OWNER });
    const mine = await openTap(nl, link.name);
    expect(mine.device).not.toBe(forQemu.device);
    const modeOf = (path: string): { uid: number; gid: number; mode: number; rdev: number } => {
      const st = statSync(path);
      return { uid: st.uid, gid: st.gid, mode: st.mode & 0o7777, rdev: st.rdev };
    };
    const rdev = makedev(dev.major, dev.minor);
    expect(modeOf(forQemu.device)).toEqual({ ...OWNER, rdev });
    expect(modeOf(mine.device)).toEqual({ uid: 0, gid: 0, mode: 0o600, rdev });
    await mine.close();
    expect(existsSync(mine.device)).toBe(false);
    expect(modeOf(forQemu.device)).toEqual({ ...OWNER, rdev });
    await forQemu.close();
    expect(existsSync(forQemu.device)).toBe(false);
  });
});

describe('lifecycle and hygiene', () => {
  it('a pending read rejects with ENOLINK when the link is deleted; close() still works', async () => {
    const ns = netns('enolink');
    const nl = await handle(ns);
    const link = await nl.createMacvtap({ lower: 'v0', name: 'mgone', mode: 'bridge', up: true });
    await carrier(ns, 'v0', 'mgone');
    const tap = await openTap(nl, link.name);

    // Read until the read fails (IPv6 chatter from the wire may arrive first).
    const failure = (async () => {
      for (;;) {
        try {
          await tap.readFrame();
        } catch (e) {
          return e as Error & { code?: string };
        }
      }
    })();
    await new Promise((r) => setImmediate(r));
    await nl.deleteLink(link.index);
    // Timed from here with nothing else scheduled on the loop: a rejection
    // the library settles but does not deliver to JS shows up as a delay.
    const first = await settledWithin(failure, 'a pending readFrame() after deleteLink()');
    expect(first.value).toBeInstanceOf(NetlinkError);
    expect(first.value.code).toBe('ENOLINK');
    expect(first.value.message).toContain('mgone');
    expect(first.ms, 'ms until the pending read rejected').toBeLessThan(SETTLE_MS);

    // A read started afterwards fails the same way instead of hanging, at
    // once: the queue knows the link is gone.
    const again = await settledWithin(rejection(tap.readFrame()), 'readFrame() on a deleted link');
    expect(again.value.code).toBe('ENOLINK');
    expect(again.ms, 'ms until the second read rejected').toBeLessThan(SETTLE_MS);
    // So does a write, which the kernel would drop and call sent.
    const frame = Buffer.alloc(60);
    frame.fill(0xff, 0, 6);
    const written = await settledWithin(rejection(tap.writeFrame(frame)), 'writeFrame() on a deleted link');
    expect(written.value).toBeInstanceOf(NetlinkError);
    expect(written.value.code).toBe('ENOLINK');
    expect(written.value.message).toContain("the link 'mgone' was deleted");

    await within(tap.close(), 3000, 'close() after the link was deleted');
    expect(tap.closed).toBe(true);
    expect(tap.fds).toEqual([]);
  });

  it('fds are O_RDWR | O_NONBLOCK | O_CLOEXEC; close() is idempotent and closes them', async () => {
    const ns = netns('fds');
    const nl = await handle(ns);
    const link = await nl.createMacvtap({ lower: 'v0', name: 'mfd', mode: 'bridge', up: true });
    const tap = await openTap(nl, link.name, { queues: 3 });
    const fds = tap.fds;
    expect(fds).toHaveLength(3);
    for (const fd of fds) {
      const flags = fdFlags(fd);
      expect(flags & O_CLOEXEC, `fd ${fd} flags 0${flags.toString(8)}: O_CLOEXEC`).toBe(O_CLOEXEC);
      expect(flags & O_NONBLOCK, `fd ${fd} flags 0${flags.toString(8)}: O_NONBLOCK`).toBe(O_NONBLOCK);
      expect(flags & O_ACCMODE, `fd ${fd} flags 0${flags.toString(8)}: O_RDWR`).toBe(O_RDWR);
      expect(readlinkSync(`/proc/self/fd/${fd}`)).toBe(tap.device);
    }
    // tap.fds is a copy: changing it changes nothing.
    tap.fds.pop();
    expect(tap.fds).toEqual(fds);

    await tap.close();
    await tap.close();
    await Promise.all([tap.close(), tap.close()]);
    expect(tap.closed).toBe(true);
    expect(tap.fds).toEqual([]);
    for (const fd of fds) expect(fdTarget(fd), `fd ${fd} after close()`).not.toBe(tap.device);
    expect(await rejection(tap.readFrame())).toMatchObject({
      code: 'ERR_HANDLE_CLOSED',
      message: `readFrame() on ${tap.device}: the tap is closed`,
    });
    expect(await rejection(tap.writeFrame(ethFrame(BROADCAST, randomMac(), 'x')))).toMatchObject({ code: 'ERR_HANDLE_CLOSED' });
    expect(() => qemuNetdevArgs(tap, { id: 'n0', firstFd: 3 })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
  });

  it('a tap that read, wrote and closed is collected once dropped (its native queue held nothing back)', async () => {
    const ns = netns('gc');
    const nl = await handle(ns);
    const link = await nl.createMacvtap({ lower: 'v0', name: 'mgc', mode: 'bridge', up: true });
    const ref = await (async () => {
      const tap = await nl.openTap(link.name, { queues: 2 });
      // Only the rejection's code is kept: until its stack is formatted, an
      // Error holds the receivers of its frames, this tap among them.
      const pending = tap.readFrame().then(
        () => 'resolved',
        (e: { code?: string }) => e.code,
      );
      await tap.writeFrame(ethFrame(BROADCAST, randomMac(), 'gc'));
      await tap.close();
      expect(await pending).toBe('ERR_HANDLE_CLOSED');
      return new WeakRef(tap);
    })();
    expect(await collected(ref)).toBe(true);
  });

  it('a tap dropped while open is collected, and its fds are closed', async () => {
    const ns = netns('gc-open');
    const nl = await handle(ns);
    const link = await nl.createMacvtap({ lower: 'v0', name: 'mgco', mode: 'bridge', up: true });
    const { ref, fds, device } = await (async () => {
      const tap = await nl.openTap(link.name, { queues: 2 });
      return { ref: new WeakRef(tap), fds: tap.fds, device: tap.device };
    })();
    for (const fd of fds) expect(readlinkSync(`/proc/self/fd/${fd}`)).toBe(device);
    expect(await collected(ref)).toBe(true);
    await afterFinalizers(() => fds.every((fd) => fdTarget(fd) !== device));
    for (const fd of fds) expect(fdTarget(fd), `fd ${fd}`).not.toBe(device);
  });

  // A made node keeps its owner; the device number comes back for the next
  // macvtap, and a node left behind would open that one.
  it('a made node goes when its Tap is collected unclosed, and when the worker that opened it is terminated', async () => {
    const ns = netns('gc-node');
    const nl = await handle(ns);
    const link = await nl.createMacvtap({ lower: 'v0', name: 'mgcn', mode: 'bridge' });
    const owner = { uid: 1234, gid: 1234 };
    const { ref, device } = await (async () => {
      const tap = await nl.openTap(link.name, { owner });
      return { ref: new WeakRef(tap), device: tap.device };
    })();
    expect(existsSync(device)).toBe(true);
    expect(await collected(ref)).toBe(true);
    await waitUntil(`the collected tap's node ${device} to be removed`, () => !existsSync(device));

    const worker = new Worker(
      `const { parentPort, workerData } = require('node:worker_threads');
       import(workerData.lib).then(async ({ open }) => {
         const nl = await open({ netns: workerData.ns });
         // Kept, and the worker kept running, until it is terminated:
         // collected or exiting by itself, the tap would take its node along.
         globalThis.tap = await nl.openTap(workerData.link, { owner: workerData.owner });
         setInterval(() => {}, 1000);
         parentPort.postMessage(globalThis.tap.device);
       });`,
      { eval: true, workerData: { lib: new URL('../dist/index.js', import.meta.url).href, ns: ns.name, link: link.name, owner } },
    );
    const [made] = (await once(worker, 'message')) as [string];
    expect(made.startsWith(DEFAULT_NODE_DIR)).toBe(true);
    expect(existsSync(made)).toBe(true);
    await worker.terminate();
    expect(existsSync(made), `${made} after the worker was terminated`).toBe(false);
  });

  it('a made node goes when the process ends by process.exit() or an uncaught exception (no environment cleanup runs)', async () => {
    const ns = netns('exit-node');
    const nl = await handle(ns);
    const link = await nl.createMacvtap({ lower: 'v0', name: 'mexn', mode: 'bridge' });
    for (const ending of ['process.exit(0)', "throw new Error('uncaught')"]) {
      const child = spawnSync(
        process.execPath,
        [
          '--input-type=module',
          '-e',
          `const { open } = await import(${JSON.stringify(new URL('../dist/index.js', import.meta.url).href)});
           const nl = await open({ netns: ${JSON.stringify(ns.name)} });
           const tap = await nl.openTap(${JSON.stringify(link.name)}, { owner: { uid: 1234, gid: 1234 } });
           console.log(tap.device);
           ${ending};`,
        ],
        { encoding: 'utf8', timeout: 20_000 },
      );
      const made = child.stdout.trim();
      expect(made.startsWith(`${DEFAULT_NODE_DIR}/tap`), `${ending}: ${child.stderr}`).toBe(true);
      expect(child.status).toBe(ending.startsWith('throw') ? 1 : 0);
      expect(existsSync(made), `${made} after ${ending}`).toBe(false);
    }
  });

  // A queue stays armed for the next read after one that waited; that must
  // not hold a dropped tap (nor its fds) until another frame comes.
  it('a tap dropped open after a read that waited for its frame is collected, and its fds are closed', async () => {
    const ns = netns('gc-read');
    const nl = await handle(ns);
    const link = await nl.createMacvtap({ lower: 'v0', name: 'mgcr', mode: 'bridge', up: true });
    await nl.createMacvtap({ lower: 'v0', name: 'mgcs', mode: 'bridge', up: true });
    await carrier(ns, 'v0', 'mgcr', 'mgcs');
    const sender = await openTap(nl, 'mgcs');
    const { ref, fds, device } = await (async () => {
      const tap = await nl.openTap(link.name);
      const read = tap.readFrame().then((f) => f.length);
      await new Promise((r) => setTimeout(r, 20)); // the read waits
      await sender.writeFrame(ethFrame(BROADCAST, randomMac(), 'wake'));
      expect(await within(read, 3000, 'the read')).toBeGreaterThan(0);
      return { ref: new WeakRef(tap), fds: tap.fds, device: tap.device };
    })();
    expect(await collected(ref)).toBe(true);
    await afterFinalizers(() => fds.every((fd) => fdTarget(fd) !== device));
    for (const fd of fds) expect(fdTarget(fd), `fd ${fd}`).not.toBe(device);
  });

  it('close() rejects a pending read with ERR_HANDLE_CLOSED', async () => {
    const ns = netns('close-pending');
    const nl = await handle(ns);
    // Down: nothing arrives, so the read is surely still pending at close().
    const link = await nl.createMacvtap({ lower: 'v0', name: 'mpend', mode: 'bridge' });
    const tap = await openTap(nl, link.name);
    const pending = rejection(tap.readFrame());
    await new Promise((r) => setImmediate(r));
    await tap.close();
    expect(await within(pending, 3000, 'the read pending at close()')).toMatchObject({ code: 'ERR_HANDLE_CLOSED' });
  });

  it('writeFrame() rejects a non-Buffer and a frame shorter than an Ethernet header', async () => {
    const ns = netns('write-args');
    const nl = await handle(ns);
    const link = await nl.createMacvtap({ lower: 'v0', name: 'marg', mode: 'bridge', up: true });
    const tap = await openTap(nl, link.name);
    for (const bad of ['not a frame', 42, null, undefined, new Uint8Array(60), [1, 2, 3]]) {
      const err = await rejection(tap.writeFrame(bad as unknown as Buffer));
      expect(err).toBeInstanceOf(TypeError);
      expect(err.code, `writeFrame(${String(bad)})`).toBe('ERR_INVALID_ARG_TYPE');
    }
    expect((await rejection(tap.writeFrame(new Uint8Array(60) as Buffer))).message).toBe(
      'Expected frame to be a Buffer, received an instance of Uint8Array',
    );
    // A queue given as a string is said as one, not as the number it reads like.
    const queue = await rejection(tap.readFrame('0' as unknown as number));
    expect([queue.code, queue.message]).toEqual(['ERR_INVALID_ARG_TYPE', "Expected queue to be an integer, received string '0'"]);
    for (const length of [0, 5, 13]) {
      const err = await rejection(tap.writeFrame(Buffer.alloc(length)));
      expect(err).toBeInstanceOf(RangeError);
      expect(err.code).toBe('ERR_OUT_OF_RANGE');
    }
    // Still usable afterwards.
    await expect(tap.writeFrame(ethFrame(BROADCAST, link.mac!, 'ok'))).resolves.toBeUndefined();
  });

  it('openTap() by name or ifindex names the link as ip does: index, name, MAC', async () => {
    const ns = netns('tap-link');
    const nl = await handle(ns);
    const mac = randomMac();
    ns.ip('link', 'add', 'link', 'v0', 'name', 'mref', 'address', mac, 'type', 'macvtap', 'mode', 'bridge');
    const [shown] = JSON.parse(ns.ip('-j', 'link', 'show', 'mref')) as { ifindex: number; ifname: string; address: string }[];
    expect(shown?.address).toBe(mac);
    for (const ref of ['mref', shown!.ifindex]) {
      const tap = await openTap(nl, ref);
      expect(tap.link, `openTap(${String(ref)})`).toEqual({ index: shown!.ifindex, name: shown!.ifname, mac: shown!.address });
    }
    // Renamed since: the ifindex finds it under its new name, the old name nothing.
    ns.ip('link', 'set', 'mref', 'name', 'mref2');
    expect((await openTap(nl, shown!.ifindex)).link.name).toBe('mref2');
    expect((await rejection(nl.openTap('mref'))).code).toBe('ENODEV');
  });

  it('openTap() refuses a macvlan, a veth and a missing link', async () => {
    const ns = netns('not-tap');
    const nl = await handle(ns);
    const mvl = await nl.createMacvlan({ lower: 'v0', name: 'mvl0', mode: 'bridge', up: true });
    for (const ref of [mvl.name, mvl.index, 'v0']) {
      const err = await rejection(nl.openTap(ref));
      expect(err).toBeInstanceOf(TypeError);
      expect(err.code, `openTap(${String(ref)})`).toBe('ERR_INVALID_ARG_VALUE');
      expect(err.message).toContain(typeof ref === 'number' ? mvl.name : ref);
    }
    const missing = await rejection(nl.openTap('nosuch0'));
    expect(missing).toBeInstanceOf(NetlinkError);
    expect(missing.code).toBe('ENODEV');
  });

  it('offloads: probed with vnetHdr, set as asked, refused without vnetHdr or csum', async () => {
    const ns = netns('offload');
    const nl = await handle(ns);
    const link = await nl.createMacvtap({ lower: 'v0', name: 'moff', mode: 'bridge', up: true });
    const plain = await openTap(nl, link.name);
    // Without the virtio-net header there is nowhere to carry offload metadata: nothing probed.
    expect(plain.offloads).toEqual({ supported: [], enabled: [] });
    const tap = await openTap(nl, link.name, { vnetHdr: true, offloads: ['csum', 'tso4', 'tso6'] });
    // Linux 6.18's macvtap accepts every TUN_F_* bit (USO since 6.2).
    expect(tap.offloads.supported).toEqual(['csum', 'tso4', 'tso6', 'tso_ecn', 'ufo', 'uso4', 'uso6']);
    expect(tap.offloads.enabled).toEqual(['csum', 'tso4', 'tso6']);
    // Its frames need the header readFrame() strips: refused, with why.
    const refused = await rejection(tap.readFrame());
    expect(refused.code).toBe('ERR_INVALID_STATE');
    expect(refused.message).toContain('opened with offloads (csum, tso4, tso6)');
    const none = await openTap(nl, link.name, { vnetHdr: true });
    expect(none.offloads.enabled).toEqual([]);
    for (const [options, text] of [
      [{ offloads: ['csum'] }, 'vnetHdr'],
      [{ vnetHdr: true, offloads: ['tso4'] }, "'csum'"],
      [{ vnetHdr: true, offloads: ['csum', 'tso_ecn'] }, "'tso4' or 'tso6'"],
      [{ vnetHdr: true, offloads: ['gso'] }, 'options.offloads[0]'],
    ] as const) {
      const err = await rejection(nl.openTap(link.name, options as unknown as TapOptions));
      expect(err).toBeInstanceOf(TypeError);
      expect(err.code).toBe('ERR_INVALID_ARG_VALUE');
      expect(err.message).toContain(text);
    }
  });
});
