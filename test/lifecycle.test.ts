// Kernel tests of handle and link lifecycles: creating into another
// namespace, moving, bulk deletion, failures that must leave nothing behind,
// close() with calls in flight, worker threads, two handles at once, process
// exit with an open handle, and a 500-request burst. Every test works in its
// own namespaces (test/helpers/netns.ts) and removes them, pass or fail.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

import { afterEach, beforeAll, describe, expect, it } from 'vitest';

import { Handle, HandleClosedError, NetlinkError, open, type Link } from '../src/index.js';
import { fdTarget } from './helpers/fds.js';
import { ipJson, makeNetns, NetnsSymlink, requireKernelAccess, type IpLink, type TestNetns } from './helpers/netns.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const distIndex = join(root, 'dist', 'index.js');
const workerScript = join(root, 'test', 'helpers', 'lifecycle-worker.mjs');
const terminateScript = join(root, 'test', 'helpers', 'lifecycle-terminate.mjs');
const terminateBusyScript = join(root, 'test', 'helpers', 'terminate-busy.mjs');

/** What `ip -d -j link show` prints beyond the shared IpLink fields. */
type IpLinkX = IpLink & {
  /** The lower's name, when it is in the same namespace. */
  link?: string;
  promiscuity?: number;
  linkinfo?: { info_kind?: string; info_data?: Record<string, unknown> };
};

// ---------------------------------------------------------------------------
// Per-test resources, released in afterEach whatever happened.

const spaces: TestNetns[] = [];
const handles: Handle[] = [];
const children: ChildProcess[] = [];

function netns(tag: string, options: { veth?: boolean } = {}): TestNetns {
  const ns = makeNetns(tag, options);
  spaces.push(ns);
  return ns;
}

async function openIn(ns: TestNetns): Promise<Handle> {
  const h = await open({ netns: ns.name });
  handles.push(h);
  return h;
}

afterEach(async () => {
  Handle.forceTemporaryName = false;
  for (const h of handles.splice(0)) await h.close().catch(() => undefined);
  for (const child of children.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  for (const ns of spaces.splice(0)) ns.remove();
});

beforeAll(() => {
  requireKernelAccess();
});

// ---------------------------------------------------------------------------
// Helpers.

function links(ns: TestNetns): IpLinkX[] {
  return ns.links() as IpLinkX[];
}

function linkNamed(ns: TestNetns, name: string): IpLinkX {
  const found = links(ns).find((l) => l.ifname === name);
  if (!found)
    throw new Error(
      `no link '${name}' in ${ns.name}: ${links(ns)
        .map((l) => l.ifname)
        .join(', ')}`,
    );
  return found;
}

function names(list: { ifname: string }[]): string[] {
  return list.map((l) => l.ifname).sort();
}

/** Every link of a namespace, in a form that shows any change that matters. */
function snapshot(ns: TestNetns): string[] {
  return links(ns)
    .map((l) =>
      JSON.stringify({
        ifindex: l.ifindex,
        ifname: l.ifname,
        kind: l.linkinfo?.info_kind,
        address: l.address,
        mtu: l.mtu,
        lower: l.link ?? l.link_index,
        group: l.group,
        promiscuity: l.promiscuity,
        up: l.flags.includes('UP'),
        data: l.linkinfo?.info_data,
      }),
    )
    .sort();
}

/** Which links a namespace has (not their state: an up macvlan makes its lower promiscuous). */
function identity(ns: TestNetns): string[] {
  return links(ns)
    .map((l) => `${l.ifindex} ${l.ifname} ${l.linkinfo?.info_kind ?? '-'} ${l.address ?? '-'}`)
    .sort();
}

/** Names of links in the caller's (the host's) namespace. */
function hostLinkNames(): string[] {
  return ipJson<IpLinkX[]>('link', 'show').map((l) => l.ifname);
}

/** Checks a Link against its `ip -d -j link show` entry, field by field. */
function expectMatchesIp(link: Link, j: IpLinkX, all: IpLinkX[]): void {
  expect(link.index).toBe(j.ifindex);
  expect(link.name).toBe(j.ifname);
  expect(link.mtu).toBe(j.mtu);
  expect(link.up).toBe(j.flags.includes('UP'));
  expect(link.operState).toBe(j.operstate.toLowerCase());
  expect(link.mac).toBe(j.address);
  expect(link.txQueueLen).toBe(j.txqlen);
  expect(link.numTxQueues).toBe(j.num_tx_queues);
  expect(link.numRxQueues).toBe(j.num_rx_queues);
  expect(link.minMtu).toBe(j.min_mtu);
  expect(link.maxMtu).toBe(j.max_mtu);
  expect(link.group).toBe(j.group === 'default' ? 0 : Number(j.group));
  expect(link.kind).toBe(j.linkinfo?.info_kind);
  if (j.link_netnsid !== undefined) {
    // The lower is in another namespace: ip shows its ifindex there.
    expect(link.lowerNetnsId).toBe(j.link_netnsid);
    expect(link.lower).toBe(j.link_index);
  } else if (j.link !== undefined) {
    expect(link.lowerNetnsId).toBeUndefined();
    expect(link.lower).toBe(all.find((l) => l.ifname === j.link)?.ifindex);
  }
  const data = j.linkinfo?.info_data;
  if (link.kind === 'macvlan' || link.kind === 'macvtap') {
    expect(data).toBeDefined();
    expect(link.macvlan?.mode).toBe(data?.mode);
    expect(link.macvlan?.nopromisc).toBe(data?.nopromisc === true);
    expect(link.macvlan?.nodst).toBe(data?.nodst === true);
    expect(link.macvlan?.bcQueueLen).toBe(data?.bcqueuelen);
  }
  if (link.kind === 'macvtap') {
    expect(link.tap?.device).toBe(`/dev/tap${j.ifindex}`);
  } else {
    expect(link.tap).toBeUndefined();
  }
}

/** `ip netns exec <ns> sleep 30`, resolved once the child is inside the namespace. */
async function processIn(ns: TestNetns): Promise<number> {
  const child = spawn('ip', ['netns', 'exec', ns.name, 'sleep', '30'], { stdio: 'ignore' });
  children.push(child);
  const pid = child.pid;
  if (pid === undefined) throw new Error('spawning ip netns exec failed');
  const want = `net:[${statSync(`/run/netns/${ns.name}`).ino}]`;
  const deadline = Date.now() + 5000;
  for (;;) {
    let now = '';
    try {
      now = readlinkSync(`/proc/${pid}/ns/net`);
    } catch {
      // not there yet, or gone
    }
    if (now === want) return pid;
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`pid ${pid} never entered ${ns.name}`);
    await delay(10);
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** `ip -n <ns> -o monitor link`, subscribed before it resolves. */
async function monitorLinks(ns: TestNetns): Promise<{ output: () => string; waitFor: (text: string) => Promise<boolean> }> {
  const child = spawn('ip', ['-n', ns.name, '-o', 'monitor', 'link'], { stdio: ['ignore', 'pipe', 'ignore'] });
  children.push(child);
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  const waitFor = async (text: string): Promise<boolean> => {
    const deadline = Date.now() + 3000;
    while (!out.includes(text)) {
      if (Date.now() > deadline) return false;
      await delay(10);
    }
    return true;
  };
  // Poke v1 until the monitor reports it: from then on it sees every event.
  for (let i = 0; ; i++) {
    ns.ip('link', 'set', 'v1', 'alias', `monitor-ready-${i}`);
    if (await waitFor('v1@')) break;
    if (i > 5) throw new Error('ip monitor did not start');
  }
  return { output: () => out, waitFor };
}

function mac(a: number, b: number): string {
  return `02:00:5e:${a.toString(16).padStart(2, '0')}:${(b >> 8).toString(16).padStart(2, '0')}:${(b & 0xff).toString(16).padStart(2, '0')}`;
}

async function rejection(p: Promise<unknown>): Promise<Error & { code?: string; errno?: number }> {
  try {
    await p;
  } catch (err) {
    return err as Error & { code?: string };
  }
  throw new Error('expected a rejection, but the call resolved');
}

function buildDist(): void {
  execFileSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(root, 'tsconfig.json')], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** Runs `node <args>`, inside `ns` (ip netns exec) when given, and reports how it ended. */
function runNode(
  args: string[],
  timeoutMs: number,
  ns?: TestNetns,
): Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string; ms: number }> {
  const started = Date.now();
  const [command, commandArgs] = ns ? ['ip', ['netns', 'exec', ns.name, process.execPath, ...args]] : [process.execPath, args];
  const child = spawn(command, commandArgs, { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, ms: Date.now() - started });
    });
  });
}

// ---------------------------------------------------------------------------

describe('create into another namespace (spec.netns)', () => {
  it('by name, by /run/netns path and by pid: the link is in B as ip shows it, nothing in A', async () => {
    const a = netns('into-a');
    const b = netns('into-b', { veth: false });
    const nl = await openIn(a);
    const beforeA = identity(a);
    const pid = await processIn(b);

    const byName = await nl.createMacvtap({ lower: 'v0', name: 'byname0', mac: mac(1, 1), netns: b.name });
    const byPath = await nl.createMacvlan({ lower: 'v0', name: 'bypath0', mac: mac(1, 2), mode: 'private', netns: `/run/netns/${b.name}` });
    const byPid = await nl.createMacvtap({ lower: 'v0', name: 'bypid0', mac: mac(1, 3), mode: 'vepa', up: true, netns: pid });
    const unnamed = await nl.createMacvtap({ lower: 'v0', netns: b.name });

    const inB = links(b);
    expect(names(inB)).toEqual(['byname0', 'bypath0', 'bypid0', 'lo', unnamed.name].sort());
    expect(unnamed.name).toMatch(/^macvtap\d+$/);
    const v0 = linkNamed(a, 'v0');
    for (const [link, kind, mode, address] of [
      [byName, 'macvtap', 'bridge', mac(1, 1)],
      [byPath, 'macvlan', 'private', mac(1, 2)],
      [byPid, 'macvtap', 'vepa', mac(1, 3)],
      [unnamed, 'macvtap', 'bridge', undefined],
    ] as const) {
      const j = linkNamed(b, link.name);
      expectMatchesIp(link, j, inB);
      expect(link.kind).toBe(kind);
      expect(link.macvlan?.mode).toBe(mode);
      if (address) expect(link.mac).toBe(address);
      expect(link.up).toBe(link === byPid);
      // The lower stays in A: B sees it through a netnsid, by A's ifindex.
      expect(j.link_netnsid).toBeDefined();
      expect(j.link_index).toBe(v0.ifindex);
    }
    expect(identity(a)).toEqual(beforeA);
  });

  it('a name that exists in the creating namespace is free in B', async () => {
    const a = netns('dupa');
    const b = netns('dupb', { veth: false });
    const nl = await openIn(a);
    const mine = await nl.createMacvtap({ lower: 'v0', name: 'dup0', mac: mac(2, 1) });
    const beforeA = snapshot(a);

    const there = await nl.createMacvtap({ lower: 'v0', name: 'dup0', mac: mac(2, 2), netns: b.name });
    const alsoLower = await nl.createMacvlan({ lower: 'v0', name: 'v1', mac: mac(2, 3), netns: `/run/netns/${b.name}` });

    const inB = links(b);
    expect(names(inB)).toEqual(['dup0', 'lo', 'v1']);
    expectMatchesIp(there, linkNamed(b, 'dup0'), inB);
    expectMatchesIp(alsoLower, linkNamed(b, 'v1'), inB);
    expect(there.mac).toBe(mac(2, 2));
    expect(alsoLower.mac).toBe(mac(2, 3));
    // A still has exactly what it had: its own dup0 and v1, untouched.
    expect(snapshot(a)).toEqual(beforeA);
    expect(linkNamed(a, 'dup0').ifindex).toBe(mine.index);
    expect(linkNamed(a, 'dup0').address).toBe(mac(2, 1));

    // Taken in B: the kernel's EEXIST, said to be B's.
    const taken = await rejection(nl.createMacvlan({ lower: 'v0', name: 'dup0', netns: b.name }));
    expect(taken).toBeInstanceOf(NetlinkError);
    expect(taken.message).toBe("createMacvlan(name 'dup0', lower 'v0') failed: EEXIST; the target namespace has a link 'dup0'");
    expect(names(links(b))).toEqual(['dup0', 'lo', 'v1']);
    expect(snapshot(a)).toEqual(beforeA);
  });

  it('temporary-name fallback (Handle.forceTemporaryName): named and unnamed links land in B, no mvtmp* anywhere', async () => {
    const a = netns('tmpa');
    const b = netns('tmpb', { veth: false });
    const nl = await openIn(a);
    await nl.createMacvtap({ lower: 'v0', name: 'clash0', mac: mac(3, 9) });
    const beforeA = snapshot(a);
    const monitor = await monitorLinks(a);
    const pid = await processIn(b);

    Handle.forceTemporaryName = true;
    try {
      const named = await nl.createMacvtap({ lower: 'v0', name: 'clash0', mac: mac(3, 1), mode: 'private', netns: b.name });
      const unnamed = await nl.createMacvlan({ lower: 'v0', netns: `/run/netns/${b.name}` });
      const byPid = await nl.createMacvtap({ lower: 'v0', name: 'tpid0', mtu: 1400, netns: pid });

      const inB = links(b);
      expect(names(inB)).toEqual(['clash0', 'lo', 'tpid0', unnamed.name].sort());
      expect(unnamed.name).toMatch(/^macvlan\d+$/);
      expectMatchesIp(named, linkNamed(b, 'clash0'), inB);
      expectMatchesIp(unnamed, linkNamed(b, unnamed.name), inB);
      expectMatchesIp(byPid, linkNamed(b, 'tpid0'), inB);
      expect(named.mac).toBe(mac(3, 1));
      expect(named.macvlan?.mode).toBe('private');
      expect(unnamed.kind).toBe('macvlan');
      expect(byPid.mtu).toBe(1400);
      for (const l of [named, unnamed, byPid]) expect(l.lowerNetnsId).toBeDefined();
    } finally {
      Handle.forceTemporaryName = false;
    }

    // The hook did take the temporary path: A saw a mvtmp* link come and go.
    expect(await monitor.waitFor('mvtmp')).toBe(true);
    for (const list of [names(links(a)), names(links(b)), hostLinkNames()]) {
      expect(list.filter((n) => n.startsWith('mvtmp'))).toEqual([]);
    }
    expect(snapshot(a)).toEqual(beforeA);
  });

  it('temporary-name fallback keeps spec.up: the link is up in B, as it is on the direct path', async () => {
    const a = netns('tmpup');
    const b = netns('tmpupb', { veth: false });
    const nl = await openIn(a);
    const beforeA = identity(a);
    Handle.forceTemporaryName = true;
    try {
      const named = await nl.createMacvtap({ lower: 'v0', name: 'tup0', up: true, netns: b.name });
      const unnamed = await nl.createMacvlan({ lower: 'v0', up: true, netns: b.name });
      const inB = links(b);
      for (const l of [named, unnamed]) {
        const j = linkNamed(b, l.name);
        expectMatchesIp(l, j, inB);
        expect(j.flags).toContain('UP');
        expect(l.up).toBe(true);
      }
    } finally {
      Handle.forceTemporaryName = false;
    }
    expect(identity(a)).toEqual(beforeA);
  });

  for (const temporary of [false, true]) {
    it(`a name taken in B rejects with EEXIST and leaves both namespaces as they were${temporary ? ' (temporary-name path)' : ''}`, async () => {
      const a = netns('exa');
      const b = netns('exb');
      b.ip('link', 'add', 'onlyb', 'type', 'veth', 'peer', 'name', 'onlyb1');
      const nl = await openIn(a);
      const beforeA = snapshot(a);
      const beforeB = snapshot(b);

      Handle.forceTemporaryName = temporary;
      try {
        for (const name of ['onlyb', 'v0']) {
          const err = await rejection(nl.createMacvtap({ lower: 'v0', name, mac: mac(4, 1), netns: b.name }));
          expect(err).toBeInstanceOf(NetlinkError);
          expect(err.code).toBe('EEXIST');
          expect(err.errno).toBe(17);
          expect(err.message).toContain(`'${name}'`);
        }
      } finally {
        Handle.forceTemporaryName = false;
      }
      expect(snapshot(a)).toEqual(beforeA);
      expect(snapshot(b)).toEqual(beforeB);
      expect(hostLinkNames().filter((n) => n.startsWith('mvtmp'))).toEqual([]);
    });
  }

  it("netns naming the handle's own namespace, no name: resolves to the new link and leaves only it", async () => {
    const a = netns('selfns');
    const nl = await openIn(a);
    const before = names(links(a));
    const made = await nl.createMacvtap({ lower: 'v0', netns: a.name });
    const after = links(a);
    expect(names(after)).toEqual([...before, made.name].sort());
    expectMatchesIp(made, linkNamed(a, made.name), after);
  });
});

describe('setLink(ref, { netns })', () => {
  it('moves links by name, path and pid; resolves to undefined; they appear in B and leave A', async () => {
    const a = netns('mva');
    const b = netns('mvb', { veth: false });
    const nl = await openIn(a);
    const pid = await processIn(b);
    const one = await nl.createMacvtap({ lower: 'v0', name: 'move0', mac: mac(5, 1) });
    const two = await nl.createMacvlan({ lower: 'v0', name: 'move1', mac: mac(5, 2), mode: 'vepa' });
    const three = await nl.createMacvtap({ lower: 'v0', name: 'move2', mac: mac(5, 3) });
    const stays = await nl.createMacvtap({ lower: 'v0', name: 'stay0', mac: mac(5, 4) });

    expect(await nl.setLink('move0', { netns: b.name })).toBeUndefined();
    expect(await nl.setLink(two.index, { netns: `/run/netns/${b.name}` })).toBeUndefined();
    expect(await nl.setLink('move2', { netns: pid })).toBeUndefined();

    expect(names(links(a))).toEqual(['lo', 'stay0', 'v0', 'v1']);
    expect(linkNamed(a, 'stay0').ifindex).toBe(stays.index);
    const inB = links(b);
    expect(names(inB)).toEqual(['lo', 'move0', 'move1', 'move2']);
    const v0 = linkNamed(a, 'v0');
    for (const [l, kind, mode] of [
      [one, 'macvtap', 'bridge'],
      [two, 'macvlan', 'vepa'],
      [three, 'macvtap', 'bridge'],
    ] as const) {
      const j = linkNamed(b, l.name);
      expect(j.address).toBe(l.mac);
      expect(j.linkinfo?.info_kind).toBe(kind);
      expect(j.linkinfo?.info_data?.mode).toBe(mode);
      expect(j.link_netnsid).toBeDefined();
      expect(j.link_index).toBe(v0.ifindex);
    }
    // And a handle in B reads the moved link as ip does.
    const nlB = await openIn(b);
    expectMatchesIp(await nlB.getLink('move1'), linkNamed(b, 'move1'), inB);
    const gone = await rejection(nl.getLink('move0'));
    expect(gone).toBeInstanceOf(NetlinkError);
    expect(gone.code).toBe('ENODEV');
  });

  it('moves with a new name, MTU, MAC and up; each as ip then shows in B', async () => {
    const a = netns('mwa');
    const b = netns('mwb', { veth: false });
    const nl = await openIn(a);
    const link = await nl.createMacvlan({ lower: 'v0', name: 'mw0', mac: mac(8, 1) });
    expect(await nl.setLink('mw0', { netns: b.name, name: 'mw1', mtu: 1280, mac: mac(8, 2), txQueueLen: 7, up: true })).toBeUndefined();
    expect(names(links(a))).toEqual(['lo', 'v0', 'v1']);
    const j = linkNamed(b, 'mw1');
    expect([j.address, j.mtu, j.txqlen, j.flags.includes('UP')]).toEqual([mac(8, 2), 1280, 7, true]);
    expect(j.link_index).toBe(linkNamed(a, 'v0').ifindex);
    expect(j.ifindex).toBe(link.index);

    // From B, its lower (in A) cannot be read: the kernel's bare EINVAL for
    // an MTU above the lower's gets said.
    const nlB = await openIn(b);
    const beforeB = snapshot(b);
    const err = await rejection(nlB.setLink('mw1', { mtu: 9000 }));
    expect(err).toBeInstanceOf(NetlinkError);
    expect(err.code).toBe('EINVAL');
    expect(err.message).toContain("cannot be above its lower's, which is in another namespace");
    expect(snapshot(b)).toEqual(beforeB);
    expect((await nlB.setLink('mw1', { mtu: 1500 }))?.mtu).toBe(1500);
    expect(linkNamed(b, 'mw1').mtu).toBe(1500);
  });

  // do_setlink() moves the link first, then renames it, sets the rest and
  // opens it, in the target: a refusal there used to leave it moved.
  // The handle is opened by a symlink that then names another namespace: a
  // link moved back goes to the handle's own namespace all the same.
  it('a move the target refuses (its name taken there; the link cannot come up there) leaves both namespaces as they were', async () => {
    const a = netns('mra');
    const b = netns('mrb', { veth: false });
    const c = netns('mrc', { veth: false });
    b.ip('link', 'add', 'taken', 'type', 'veth', 'peer', 'name', 'taken1');
    const link = new NetnsSymlink();
    link.pointAt(a);
    const nl = await open({ netns: link.path });
    handles.push(nl);
    link.pointAt(c);
    const beforeC = snapshot(c);
    await nl.createMacvlan({ lower: 'v0', name: 'mr0', mac: mac(9, 1), mtu: 1400 });
    // A MAC equal to the lower's is accepted while down; macvlan_open() then
    // refuses it (EADDRINUSE), after the move.
    const busy = await nl.createMacvlan({ lower: 'v0', name: 'mr1', mac: linkNamed(a, 'v0').address });
    const beforeA = snapshot(a);
    const beforeB = snapshot(b);

    const named = await rejection(nl.setLink('mr0', { netns: b.name, name: 'taken', mtu: 1300, mac: mac(9, 2) }));
    expect(named).toBeInstanceOf(NetlinkError);
    expect(named.code).toBe('EEXIST');
    expect(named.message).toContain("the target namespace has a link 'taken'");
    expect(snapshot(a)).toEqual(beforeA);
    expect(snapshot(b)).toEqual(beforeB);

    const opened = await rejection(nl.setLink(busy.index, { netns: b.name, up: true, mtu: 1300 }));
    expect(opened).toBeInstanceOf(NetlinkError);
    expect(opened.code).toBe('EADDRINUSE');
    expect(snapshot(a)).toEqual(beforeA);
    expect(snapshot(b)).toEqual(beforeB);
    expect(snapshot(c)).toEqual(beforeC);
    expect(linkNamed(a, 'mr1').ifindex).toBe(busy.index);
  });

  it('a move into the namespace the link is in resolves to the link, changed as asked', async () => {
    const a = netns('msa');
    const nl = await openIn(a);
    const link = await nl.createMacvtap({ lower: 'v0', name: 'ms0', mac: mac(10, 1) });
    const same = await nl.setLink('ms0', { netns: a.name, name: 'ms1' });
    expect(same).toBeDefined();
    expect([same!.index, same!.name]).toEqual([link.index, 'ms1']);
    expectMatchesIp(same!, linkNamed(a, 'ms1'), links(a));
  });

  it('a netns that is not a network namespace is said as such, for setLink and create; nothing changes', async () => {
    const a = netns('mna');
    const nl = await openIn(a);
    await nl.createMacvlan({ lower: 'v0', name: 'mn0', mac: mac(11, 1) });
    const before = snapshot(a);
    for (const call of [
      () => nl.setLink('mn0', { netns: '/etc/hostname', mtu: 1300 }),
      () => nl.createMacvlan({ lower: 'v0', name: 'mn1', netns: '/etc/hostname' }),
      () => nl.createMacvtap({ lower: 'v0', netns: '/proc/self/ns/uts' }),
    ]) {
      const err = await rejection(call());
      expect(err).toBeInstanceOf(NetlinkError);
      expect(err.code).toBe('EINVAL');
      expect(err.message).toMatch(
        /: open the target namespace failed: EINVAL; '\/(etc\/hostname|proc\/self\/ns\/uts)' is not a network namespace/,
      );
      expect(err.message).not.toContain('passthru');
    }
    expect(snapshot(a)).toEqual(before);
  });
});

describe('deleteLinks', () => {
  async function populate(ns: TestNetns, nl: Handle): Promise<Link[]> {
    const taps = await Promise.all(Array.from({ length: 50 }, (_, i) => nl.createMacvtap({ lower: 'v0', name: `dt${i}`, mac: mac(6, i) })));
    await nl.createMacvlan({ lower: 'v0', name: 'dm0', mac: mac(6, 100) });
    await nl.createMacvlan({ lower: 'v1', name: 'dm1', mac: mac(6, 101), mode: 'private' });
    ns.ip('link', 'add', 'p0', 'type', 'veth', 'peer', 'name', 'p1');
    // Groups other links are in must survive.
    ns.ip('link', 'set', 'dm1', 'group', '7');
    ns.ip('link', 'set', 'dt1', 'group', '7');
    ns.ip('link', 'set', 'p1', 'group', '42');
    ns.ip('link', 'set', 'dt3', 'group', '9');
    return taps;
  }

  function groups(ns: TestNetns): Map<string, string | undefined> {
    return new Map(links(ns).map((l) => [l.ifname, l.group]));
  }

  it('removes exactly the given subset (names and indexes mixed), other links and their groups untouched', async () => {
    const a = netns('dl');
    const nl = await openIn(a);
    const taps = await populate(a, nl);
    const before = links(a);
    const groupsBefore = groups(a);
    expect(groupsBefore.get('dt1')).toBe('7');

    // Every even tap (by name or by index, alternating), dt3 (in group 9), the
    // dm0 macvlan, and a whole veth pair; dt0 twice (by name and by index).
    const subset = taps.filter((_, i) => i % 2 === 0 || i === 3);
    const refs: (string | number)[] = subset.map((l, i) => (i % 2 ? l.index : l.name));
    refs.push('dm0', linkNamed(a, 'p0').ifindex, 'p1', taps[0]!.index);
    const gone = new Set([...subset.map((l) => l.name), 'dm0', 'p0', 'p1']);

    await nl.deleteLinks(refs);

    const after = links(a);
    expect(names(after)).toEqual(names(before.filter((l) => !gone.has(l.ifname))));
    expect(after.filter((l) => l.linkinfo?.info_kind === 'macvtap')).toHaveLength(50 - subset.length);
    for (const l of after) {
      expect(l.group).toBe(groupsBefore.get(l.ifname));
      expect(l.ifindex).toBe(before.find((x) => x.ifname === l.ifname)?.ifindex);
    }
    expect(groups(a).get('dm1')).toBe('7');
  });

  it('takes alternative names (ip link property add ... altname), as every other call does', async () => {
    const a = netns('dlalt');
    const nl = await openIn(a);
    await populate(a, nl);
    a.ip('link', 'property', 'add', 'dev', 'dt4', 'altname', 'uplink-of-vm4');
    a.ip('link', 'property', 'add', 'dev', 'dm0', 'altname', 'vm0-macvlan');
    expect((await nl.getLink('uplink-of-vm4')).name).toBe('dt4');
    const others = names(links(a)).filter((n) => !['dt4', 'dm0', 'dt5'].includes(n));
    await nl.deleteLinks(['uplink-of-vm4', 'dt5', 'vm0-macvlan']);
    expect(names(links(a))).toEqual(others);
  });

  for (const missing of ['name', 'index'] as const) {
    it(`with one missing ref (by ${missing}) rejects with ENODEV and deletes nothing`, async () => {
      const a = netns('dlmiss');
      const nl = await openIn(a);
      const taps = await populate(a, nl);
      const before = snapshot(a);
      const unused = Math.max(...links(a).map((l) => l.ifindex)) + 1000;
      const refs: (string | number)[] = [...taps.slice(0, 20).map((l, i) => (i % 2 ? l.index : l.name)), 'dm0', 'p0'];
      refs.splice(7, 0, missing === 'name' ? 'nosuch0' : unused);

      const err = await rejection(nl.deleteLinks(refs));
      expect(err).toBeInstanceOf(NetlinkError);
      expect(err.code).toBe('ENODEV');
      expect(err.message).toContain(missing === 'name' ? "'nosuch0'" : `#${unused}`);
      // Same links, same groups (snapshot includes the group).
      expect(snapshot(a)).toEqual(before);
    });
  }
});

describe('bad input leaves nothing behind', () => {
  interface BadCase {
    what: string;
    /** Runs before the snapshot (e.g. the first passthru). */
    setup?: (nl: Handle, ns: TestNetns) => Promise<unknown>;
    call: (nl: Handle, b: TestNetns) => Promise<unknown>;
    error: typeof NetlinkError | typeof TypeError | typeof RangeError;
    code: string;
  }

  const cases: BadCase[] = [
    {
      what: 'mtu above the lower',
      call: (nl) => nl.createMacvtap({ lower: 'v0', name: 'bad0', mtu: 1501 }),
      error: RangeError,
      code: 'ERR_OUT_OF_RANGE',
    },
    {
      what: 'mtu above the lower, into another namespace',
      call: (nl, b) => nl.createMacvlan({ lower: 'v0', name: 'bad0', mtu: 9000, netns: b.name }),
      error: RangeError,
      code: 'ERR_OUT_OF_RANGE',
    },
    {
      what: 'nopromisc without passthru',
      call: (nl) => nl.createMacvlan({ lower: 'v0', name: 'bad0', mode: 'bridge', nopromisc: true }),
      error: TypeError,
      code: 'ERR_INVALID_ARG_VALUE',
    },
    {
      what: 'a name clash',
      call: (nl) => nl.createMacvtap({ lower: 'v0', name: 'v1', mac: mac(7, 1) }),
      error: NetlinkError,
      code: 'EEXIST',
    },
    {
      what: 'a name clash with a link made earlier',
      setup: (nl) => nl.createMacvtap({ lower: 'v0', name: 'here0' }),
      call: (nl) => nl.createMacvlan({ lower: 'v1', name: 'here0', mode: 'vepa' }),
      error: NetlinkError,
      code: 'EEXIST',
    },
    {
      what: 'a missing lower (by name)',
      call: (nl) => nl.createMacvtap({ lower: 'nosuch0', name: 'bad0' }),
      error: NetlinkError,
      code: 'ENODEV',
    },
    {
      what: 'a missing lower (by index)',
      call: (nl) => nl.createMacvlan({ lower: 999_999, name: 'bad0' }),
      error: NetlinkError,
      code: 'ENODEV',
    },
    {
      what: 'passthru twice on one lower',
      setup: (nl) => nl.createMacvlan({ lower: 'v1', name: 'pt0', mode: 'passthru' }),
      call: (nl) => nl.createMacvtap({ lower: 'v1', name: 'pt1', mode: 'passthru' }),
      error: NetlinkError,
      code: 'EINVAL',
    },
    {
      what: 'passthru twice on one lower, the second into another namespace',
      setup: (nl) => nl.createMacvtap({ lower: 'v1', name: 'pt0', mode: 'passthru', nopromisc: true }),
      call: (nl, b) => nl.createMacvlan({ lower: 'v1', name: 'pt1', mode: 'passthru', netns: b.name }),
      error: NetlinkError,
      code: 'EINVAL',
    },
    {
      what: 'a target namespace that does not exist',
      call: (nl) => nl.createMacvtap({ lower: 'v0', name: 'bad0', netns: 'mvt-no-such-namespace' }),
      error: NetlinkError,
      code: 'ENOENT',
    },
    {
      what: 'a multicast MAC',
      call: (nl) => nl.createMacvtap({ lower: 'v0', name: 'bad0', mac: '03:00:00:00:00:01' }),
      error: TypeError,
      code: 'ERR_INVALID_ARG_VALUE',
    },
  ];

  for (const c of cases) {
    it(`${c.what}: ${c.error.name} ${c.code}, links as before`, async () => {
      const a = netns('bad');
      const b = netns('badb', { veth: false });
      const nl = await openIn(a);
      if (c.setup) await c.setup(nl, a);
      const beforeA = snapshot(a);
      const beforeB = snapshot(b);

      const err = await rejection(c.call(nl, b));
      expect(err).toBeInstanceOf(c.error);
      expect(err.code).toBe(c.code);
      if (c.error !== NetlinkError) expect(err).not.toBeInstanceOf(NetlinkError);

      expect(snapshot(a)).toEqual(beforeA);
      expect(snapshot(b)).toEqual(beforeB);
      // The handle is still usable afterwards.
      expect((await nl.getLink('v0')).name).toBe('v0');
    });
  }

  it.each([
    { what: 'a create', call: (nl: Handle) => nl.createMacvtap({ lower: 'v0', name: 'taken0' }) },
    { what: 'a create that checks its MTU first', call: (nl: Handle) => nl.createMacvlan({ lower: 'v0', name: 'taken0', mtu: 1400 }) },
    { what: 'a rename', call: (nl: Handle) => nl.setLink('v1', { name: 'taken0' }) },
  ])("the kernel's error of $what carries the caller's async frames", async ({ call }) => {
    const nl = await openIn(netns('stack'));
    await nl.createMacvtap({ lower: 'v0', name: 'taken0' });
    async function callerOfTheCall(): Promise<unknown> {
      return await call(nl);
    }
    const err = await rejection(callerOfTheCall());
    expect(err).toBeInstanceOf(NetlinkError);
    expect(err.code).toBe('EEXIST');
    // vitest maps the stack to the sources and drops the "async" of its frames.
    expect(err.stack).toMatch(/\n\s+at (async )?callerOfTheCall \(/u);
  });
});

describe('close()', () => {
  function issue100(nl: Handle): Promise<unknown>[] {
    const calls: Promise<unknown>[] = [];
    for (let i = 0; i < 100; i++) {
      switch (i % 5) {
        case 0:
          calls.push(nl.createMacvtap({ lower: 'v0', name: `cl${i}`, mac: mac(8, i) }));
          break;
        case 1:
          calls.push(nl.getLink('v0'));
          break;
        case 2:
          calls.push(nl.listLinks());
          break;
        case 3:
          calls.push(nl.setLink('v1', { txQueueLen: 1000 + i }));
          break;
        default:
          calls.push(nl.listLinks({ kind: 'veth', lower: 'v1' }));
      }
    }
    return calls;
  }

  function expectSettledOrClosed(results: PromiseSettledResult<unknown>[]): { resolved: number; closed: number } {
    let resolved = 0;
    let closed = 0;
    for (const r of results) {
      if (r.status === 'fulfilled') {
        resolved++;
      } else {
        expect(r.reason).toBeInstanceOf(HandleClosedError);
        expect((r.reason as { code?: string }).code).toBe('ERR_HANDLE_CLOSED');
        closed++;
      }
    }
    expect(resolved + closed).toBe(100);
    return { resolved, closed };
  }

  /** A create resolved if and only if its link exists: one that rejected was never sent. */
  function expectCreatesAsTheyAnswered(ns: TestNetns, results: PromiseSettledResult<unknown>[]): void {
    const present = new Set(names(links(ns)));
    const answered = results.flatMap((r, i) => (i % 5 === 0 && r.status === 'fulfilled' ? [`cl${i}`] : []));
    expect([...present].filter((n) => n.startsWith('cl')).sort()).toEqual(answered.sort());
    expect([...present].filter((n) => !n.startsWith('cl')).sort()).toEqual(['lo', 'v0', 'v1']);
  }

  async function expectClosedNow(nl: Handle): Promise<void> {
    expect(nl.closed).toBe(true);
    const after = [
      nl.getLink('v0'),
      nl.getLink(1),
      nl.listLinks(),
      nl.createMacvtap({ lower: 'v0', name: 'late0' }),
      nl.createMacvlan({ lower: 'v0', name: 'late1', netns: 'somewhere' }),
      nl.setLink('v0', { mtu: 1400 }),
      nl.deleteLink('v1'),
      nl.deleteLinks(['v0', 'v1']),
      nl.setSourceMacs('v0', 'flush'),
    ];
    for (const p of after) {
      const err = await rejection(p);
      expect(err).toBeInstanceOf(HandleClosedError);
      expect(err.code).toBe('ERR_HANDLE_CLOSED');
    }
  }

  it('with 100 calls in flight: each settles (resolved or ERR_HANDLE_CLOSED, as the kernel had it), close resolves, again too', async () => {
    const a = netns('close');
    const nl = await openIn(a);
    const calls = issue100(nl);
    const closing = nl.close();
    const results = await Promise.allSettled(calls);
    await expect(closing).resolves.toBeUndefined();
    const { closed } = expectSettledOrClosed(results);
    // close() came before any reply could: the pending calls were rejected.
    expect(closed).toBeGreaterThan(0);
    await expect(nl.close()).resolves.toBeUndefined();
    await expectClosedNow(nl);
    expectCreatesAsTheyAnswered(a, results);
  });

  it('with 100 calls in flight and some already answered; two close() calls at once', async () => {
    const a = netns('close2');
    const nl = await openIn(a);
    const calls = issue100(nl);
    await Promise.race(calls);
    const [c1, c2] = [nl.close(), nl.close()];
    const results = await Promise.allSettled(calls);
    await expect(Promise.all([c1, c2])).resolves.toEqual([undefined, undefined]);
    const { resolved } = expectSettledOrClosed(results);
    expect(resolved).toBeGreaterThan(0);
    expectCreatesAsTheyAnswered(a, results);
    await expect(nl.close()).resolves.toBeUndefined();
    await expectClosedNow(nl);
    // The process is fine: a new handle works.
    const again = await openIn(a);
    expect((await again.getLink('v0')).name).toBe('v0');
  });

  // close() from another call's continuation, some microtask hops after
  // deleteLinks' dump is answered: across the rounds it comes before the
  // tagging, between the tagging and the group delete (the delete is then
  // refused, and the tagging undone), and after. The handle is opened by a
  // symlink that close() at once points at another namespace, whose links
  // have the same ifindexes: the undo must stay on the handle's own socket.
  it('a deleteLinks that close() cuts short deletes all or nothing, leaves every group as it was, and undoes in its own namespace', async () => {
    const a = netns('closedel');
    const b = netns('closedelb', { veth: false });
    const link = new NetnsSymlink();
    const seen = new Set<string>();
    for (let hops = 0; hops < 12; hops++) {
      link.pointAt(a);
      const nl = await open({ netns: link.path });
      handles.push(nl);
      const made = await Promise.all(
        Array.from({ length: 8 }, (_, i) => nl.createMacvlan({ lower: 'v0', name: `cd${i}`, mac: mac(12, i) })),
      );
      a.ip('link', 'set', 'cd1', 'group', '7');
      for (const l of made) b.ip('link', 'add', `b${l.index}`, 'index', String(l.index), 'type', 'bridge');
      const before = snapshot(a);
      const beforeB = snapshot(b);
      const deleting = Promise.allSettled([nl.deleteLinks(made.map((l) => l.name))]);
      void nl.getLink('v0').then(async () => {
        for (let i = 0; i < hops; i++) await null;
        const closing = nl.close();
        link.pointAt(b);
        await closing;
      });
      const [outcome] = await deleting;
      await nl.close();
      expect(snapshot(b)).toEqual(beforeB);
      const left = names(links(a)).filter((n) => n.startsWith('cd'));
      if (outcome!.status === 'fulfilled') {
        expect(left).toEqual([]);
        seen.add('deleted');
      } else {
        expect((outcome!.reason as { code?: string }).code).toBe('ERR_HANDLE_CLOSED');
        expect(snapshot(a)).toEqual(before);
        seen.add('kept');
        for (const l of made) a.ip('link', 'del', l.name);
      }
      for (const l of made) b.ip('link', 'del', `b${l.index}`);
    }
    expect(seen.has('kept')).toBe(true);
  });

  // As above for setLink, with close() also from the start: once its change
  // went through, the read-back is not cut short, so it never rejects with
  // the change made.
  it('a setLink that close() cuts short resolves with its change made, or rejects with nothing changed', async () => {
    const a = netns('closeset');
    const seen = new Set<string>();
    for (let round = 0; round < 40; round++) {
      const hops = round % 20;
      const nl = await openIn(a);
      const before = snapshot(a);
      const mtu = 1300 + round;
      const setting = Promise.allSettled([nl.setLink('v1', { mtu, txQueueLen: 2000 + round })]);
      // From the start (before the change goes), or after a reply.
      void (round < 20 ? Promise.resolve() : nl.getLink('v0')).then(async () => {
        for (let i = 0; i < hops; i++) await null;
        await nl.close();
      });
      const [outcome] = await setting;
      await nl.close();
      if (outcome!.status === 'fulfilled') {
        expect(outcome!.value).toMatchObject({ name: 'v1', mtu, txQueueLen: 2000 + round });
        expect(linkNamed(a, 'v1').mtu).toBe(mtu);
        seen.add('changed');
      } else {
        expect((outcome!.reason as { code?: string }).code).toBe('ERR_HANDLE_CLOSED');
        expect(snapshot(a)).toEqual(before);
        seen.add('kept');
      }
    }
    expect([...seen].sort()).toEqual(['changed', 'kept']);
  });

  it('an openTap under way at close() resolves to a Tap or rejects; no fd or node is left either way', async () => {
    const a = netns('closetapa');
    const b = netns('closetapb');
    // The same ifindex in both: /dev/tap700 is a's macvtap, so b's open makes a node of its own.
    a.ip('link', 'add', 'mt', 'index', '700', 'link', 'v0', 'type', 'macvtap');
    b.ip('link', 'add', 'mt', 'index', '700', 'link', 'v0', 'type', 'macvtap');
    const nodeDir = mkdtempSync(join(tmpdir(), 'mvt-nodes-'));
    const fds = (): string[] => readdirSync('/proc/self/fd').map((fd) => `${fd} ${fdTarget(Number(fd)) ?? ''}`);
    const before = new Set(fds());
    const ours = (): string[] => fds().filter((f) => !before.has(f) && (f.includes(nodeDir) || f.includes('socket:')));
    let cancelled = 0;
    for (let round = 0; round < 3; round++) {
      const nl = await openIn(b);
      const tap = Promise.allSettled([nl.openTap('mt', { queues: 2, nodeDir })]); // handled before it settles
      await nl.close();
      const [t] = await tap;
      if (t.status === 'fulfilled') {
        await t.value.close();
      } else {
        expect((t.reason as { code?: string }).code).toBe('ERR_HANDLE_CLOSED');
        cancelled++;
      }
    }
    expect(cancelled).toBeGreaterThan(0);
    // Tap fds close on the thread pool.
    for (let i = 0; i < 100 && (ours().length > 0 || readdirSync(nodeDir).length > 0); i++) await sleep(20);
    expect(ours()).toEqual([]);
    expect(readdirSync(nodeDir)).toEqual([]);
    rmSync(nodeDir, { recursive: true });
  });

  it('close() of an idle handle, then calls reject with ERR_HANDLE_CLOSED', async () => {
    const a = netns('close3');
    const nl = await openIn(a);
    expect(nl.closed).toBe(false);
    await nl.close();
    await nl.close();
    await expectClosedNow(nl);
  });
});

describe('worker threads', () => {
  beforeAll(() => buildDist(), 60_000);

  it('open, create, getLink and close inside a worker, which then exits on its own', async () => {
    const a = netns('wrk');
    const worker = new Worker(workerScript, {
      workerData: { library: distIndex, netns: a.name, mode: 'cycle', name: 'wk0', mac: mac(9, 1) },
    });
    const messages: { created: Link; got: Link; closed: boolean; afterClose: string }[] = [];
    worker.on('message', (m: (typeof messages)[number]) => messages.push(m));
    const errors: unknown[] = [];
    worker.on('error', (e) => errors.push(e));
    const code = await new Promise<number>((resolve) => worker.once('exit', resolve));

    expect(errors).toEqual([]);
    expect(code).toBe(0);
    expect(messages).toHaveLength(1);
    const m = messages[0]!;
    const all = links(a);
    expectMatchesIp(m.created, linkNamed(a, 'wk0'), all);
    expectMatchesIp(m.got, linkNamed(a, 'wk0'), all);
    expect(m.got.mac).toBe(mac(9, 1));
    expect(m.closed).toBe(true);
    expect(m.afterClose).toBe('ERR_HANDLE_CLOSED');
  });

  for (const load of ['idle', 'busy'] as const) {
    it(`terminating workers whose handles are open (${load === 'busy' ? 'calls in flight' : 'no calls pending'}) does not crash the process or leak`, async () => {
      const a = netns('wrkterm');
      const iterations = 12;
      const run = await runNode([terminateScript, distIndex, workerScript, a.name, String(iterations), load], 60_000);
      expect({ signal: run.signal, code: run.code, stderr: run.stderr }).toEqual({ signal: null, code: 0, stderr: '' });
      const result = JSON.parse(run.stdout.trim()) as {
        before: { threads: number; fds: number };
        after: { threads: number; fds: number };
        exitCodes: number[];
        ready: boolean[];
        names: string[];
      };
      expect(result.ready).toEqual(Array(iterations).fill(true));
      expect(result.exitCodes).toEqual(Array(iterations).fill(1));
      const made = ['warm0', ...Array.from({ length: iterations }, (_, i) => `wt${i}`)].sort();
      expect(result.names).toEqual(made);
      expect(names(links(a)).filter((n) => n.startsWith('w'))).toEqual(made);
      // The handles' I/O threads and sockets went away with their workers.
      expect(result.after).toEqual(result.before);
    }, 90_000);
  }

  it('terminating workers while a watch socket or tap is readable, or an openTap or watch is in flight: no abort, no fd or node left', async () => {
    const a = netns('wrkbusy');
    const nodeDir = mkdtempSync(join(tmpdir(), 'mvnodes-'));
    try {
      const run = await runNode([terminateBusyScript, distIndex, a.name, nodeDir, '8'], 120_000);
      expect({ signal: run.signal, code: run.code, stderr: run.stderr }).toEqual({ signal: null, code: 0, stderr: '' });
      const { before, after } = JSON.parse(run.stdout.trim()) as Record<
        'before' | 'after',
        { tapFds: number; sockets: number; nodes: number }
      >;
      expect(after).toEqual(before);
    } finally {
      rmSync(nodeDir, { recursive: true, force: true });
    }
  }, 150_000);
});

describe('two handles in two namespaces', () => {
  it('concurrent creates in both; each sees only its own links', async () => {
    const a = netns('twoa');
    const c = netns('twoc');
    const [nlA, nlC] = await Promise.all([openIn(a), openIn(c)]);
    const n = 30;
    const make = (nl: Handle, tag: number, i: number): Promise<Link> =>
      i % 3 === 0
        ? nl.createMacvlan({ lower: 'v0', name: `tw${i}`, mac: mac(tag, i) })
        : nl.createMacvtap({ lower: i % 2 ? 'v0' : 'v1', name: `tw${i}`, mac: mac(tag, i) });
    const all = await Promise.all(Array.from({ length: n }, (_, i) => [make(nlA, 0xa, i), make(nlC, 0xc, i)]).flat());
    const madeA = all.filter((_, i) => i % 2 === 0);
    const madeC = all.filter((_, i) => i % 2 === 1);

    for (const [nl, ns, made, tag] of [
      [nlA, a, madeA, 0xa],
      [nlC, c, madeC, 0xc],
    ] as const) {
      const ipLinks = links(ns);
      const listed = await nl.listLinks({ tapDevices: true });
      expect(listed.map((l) => l.name).sort()).toEqual(names(ipLinks));
      for (const l of listed)
        expectMatchesIp(
          l,
          ipLinks.find((j) => j.ifname === l.name)!,
          ipLinks,
        );
      const ours = listed.filter((l) => l.name.startsWith('tw'));
      expect(ours).toHaveLength(n);
      for (let i = 0; i < n; i++) {
        expect(made[i]!.name).toBe(`tw${i}`);
        expect(made[i]!.mac).toBe(mac(tag, i));
        expect(ours.find((l) => l.name === `tw${i}`)?.mac).toBe(mac(tag, i));
        expect(made[i]!.index).toBe(linkNamed(ns, `tw${i}`).ifindex);
      }
    }
  });
});

describe('process exit', () => {
  beforeAll(() => buildDist(), 60_000);

  it('a process with an idle open handle (never closed) exits on its own', async () => {
    const script = `
      const { open } = await import(${JSON.stringify(distIndex)});
      const nl = await open();
      console.log(JSON.stringify({ name: (await nl.getLink('lo')).name, closed: nl.closed }));
    `;
    const run = await runNode(['--input-type=module', '-e', script], 20_000);
    expect({ signal: run.signal, code: run.code, stderr: run.stderr }).toEqual({ signal: null, code: 0, stderr: '' });
    expect(JSON.parse(run.stdout)).toEqual({ name: 'lo', closed: false });
    expect(run.ms).toBeLessThan(5000);
  });

  it('a process with an open handle in another namespace and a last call in flight exits on its own', async () => {
    const a = netns('exit');
    const script = `
      const { open } = await import(${JSON.stringify(distIndex)});
      const nl = await open({ netns: ${JSON.stringify(a.name)} });
      const made = await nl.createMacvtap({ lower: 'v0', name: 'keep0', mac: ${JSON.stringify(mac(0xe, 1))} });
      console.log(JSON.stringify({ name: made.name, index: made.index }));
      nl.listLinks().then((l) => console.log(JSON.stringify({ count: l.length })));
    `;
    const run = await runNode(['--input-type=module', '-e', script], 20_000);
    expect({ signal: run.signal, code: run.code, stderr: run.stderr }).toEqual({ signal: null, code: 0, stderr: '' });
    expect(run.ms).toBeLessThan(5000);
    const lines = run.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toEqual([{ name: 'keep0', index: linkNamed(a, 'keep0').ifindex }, { count: 4 }]);
  });
});

describe('a handle on the namespace the process is in', () => {
  beforeAll(() => buildDist(), 60_000);

  it('by name and by /proc/self/ns/net, from inside it: opens, and reads /dev/tapN from its sysfs', async () => {
    const a = netns('self');
    const script = `
      const { open } = await import(${JSON.stringify(distIndex)});
      const out = [];
      for (const netns of [${JSON.stringify(a.name)}, '/proc/self/ns/net']) {
        const nl = await open({ netns });
        const made = await nl.createMacvtap({ lower: 'v0', name: 'self' + out.length });
        const listed = await nl.listLinks({ tapDevices: true });
        out.push({ made: made.tap, listed: listed.find((l) => l.name === made.name)?.tap, count: listed.length });
        await nl.close();
      }
      console.log(JSON.stringify(out));
    `;
    const run = await runNode(['--input-type=module', '-e', script], 20_000, a);
    expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: '' });
    const out = JSON.parse(run.stdout) as { made: Link['tap']; listed: Link['tap']; count: number }[];
    expect(out.map((o) => o.count)).toEqual([4, 5]);
    for (const [i, o] of out.entries()) {
      const index = linkNamed(a, `self${i}`).ifindex;
      const dev = execFileSync('ip', ['netns', 'exec', a.name, 'cat', `/sys/class/net/self${i}/macvtap/tap${index}/dev`], {
        encoding: 'utf8',
      }).trim();
      const [major, minor] = dev.split(':').map(Number);
      expect(o.made).toEqual({ device: `/dev/tap${index}`, major, minor });
      expect(o.listed).toEqual(o.made);
    }
  });
});

describe('500 concurrent creates', () => {
  it('all succeed, ip lists 500 macvtaps, and deleteLinks of all leaves none', async () => {
    const a = netns('burst');
    const nl = await openIn(a);
    const count = 500;
    const made = await Promise.all(
      Array.from({ length: count }, (_, i) => nl.createMacvtap({ lower: i % 2 ? 'v0' : 'v1', name: `b${i}`, mac: mac(0xb, i) })),
    );
    expect(made.map((l) => l.name)).toEqual(Array.from({ length: count }, (_, i) => `b${i}`));
    expect(new Set(made.map((l) => l.index)).size).toBe(count);

    const taps = ipJson<IpLinkX[]>('-n', a.name, '-d', 'link', 'show', 'type', 'macvtap');
    expect(taps).toHaveLength(count);
    const byName = new Map(taps.map((t) => [t.ifname, t]));
    made.forEach((l, i) => {
      const t = byName.get(l.name);
      expect(t?.ifindex).toBe(l.index);
      expect(t?.address).toBe(mac(0xb, i));
      expect(t?.link).toBe(i % 2 ? 'v0' : 'v1');
    });

    await nl.deleteLinks(made.map((l, i) => (i % 3 ? l.name : l.index)));
    expect(ipJson<IpLinkX[]>('-n', a.name, 'link', 'show', 'type', 'macvtap')).toEqual([]);
    expect(names(links(a))).toEqual(['lo', 'v0', 'v1']);
  }, 60_000);
});

describe('a burst and the event loop', () => {
  /** Counts turns of the event loop (its check phase) until stopped. */
  function turnCounter(): { readonly turn: number; stop(): void } {
    let turn = 0;
    let running = true;
    const tick = (): void => {
      turn++;
      if (running) setImmediate(tick);
    };
    setImmediate(tick);
    return {
      get turn() {
        return turn;
      },
      stop() {
        running = false;
      },
    };
  }

  it('calls reach the kernel in the order they were made: a burst of 200, then a create and a delete made while it is still being handed over', async () => {
    const a = netns('order');
    const nl = await openIn(a);
    const burst = Array.from({ length: 200 }, (_, i) => nl.createMacvtap({ lower: 'v0', name: `o${i}` }));
    // The next turn: most of the burst still waits to go to the I/O thread
    // (a slice of 64 a turn), and these go behind it.
    const late = await new Promise<[Promise<Link>, Promise<void>]>((resolve) =>
      setImmediate(() => resolve([nl.createMacvtap({ lower: 'v0', name: 'late' }), nl.deleteLink('o199')])),
    );
    const made = await Promise.all(burst);
    const [lateLink] = await Promise.all(late);
    const indexes = made.map((l) => l.index);
    expect(indexes).toEqual([...indexes].sort((x, y) => x - y));
    expect(lateLink.index).toBeGreaterThan(indexes.at(-1)!);
    expect(names(links(a)).filter((n) => n.startsWith('o'))).toHaveLength(199);
    expect(names(links(a))).toContain('late');
  }, 30_000);

  it('at most 64 calls settle in one turn of the event loop: 300 getLink answers come over at least 5 turns', async () => {
    const a = netns('slices');
    const nl = await openIn(a);
    await nl.getLink('lo');
    const turns = turnCounter();
    const settledIn = new Map<number, number>();
    const answers = Array.from({ length: 300 }, () =>
      nl.getLink('lo').then(() => {
        settledIn.set(turns.turn, (settledIn.get(turns.turn) ?? 0) + 1);
      }),
    );
    // Every answer is in before this thread looks again.
    const until = performance.now() + 200;
    while (performance.now() < until);
    await Promise.all(answers);
    turns.stop();
    expect([...settledIn.values()].reduce((x, y) => x + y, 0)).toBe(300);
    expect(Math.max(...settledIn.values())).toBeLessThanOrEqual(64);
    expect(settledIn.size).toBeGreaterThanOrEqual(5);
  });
});
