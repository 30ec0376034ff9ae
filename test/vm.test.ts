// A real guest on a macvtap: QEMU (TCG) gets the library's tap fds through
// spawn's stdio and boots the tiny guest from scripts/build-guest.sh, which
// pings 192.0.2.1, a veth peer in a second namespace that plays the host on
// the wire. Missing QEMU or guest is a failure, never a skip: beforeAll
// installs and builds them.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';

import { afterEach, beforeAll, describe, expect, it } from 'vitest';

import { open, qemuNetdevArgs, type Handle, type Tap } from '../src/index.js';
import { guestQemuArgs } from '../scripts/guest-qemu.mjs';
import { makeNetns, requireKernelAccess, type TestNetns } from './helpers/netns.js';

const GUEST_ADDR = '192.0.2.10';
const HOST_ADDR = '192.0.2.1';
const PINGS = 3;
/** TCG boots in a few seconds when idle; a loaded CI machine can take 20+. */
const BOOT_DEADLINE_MS = 50_000;

let guest: { kernel: string; initrd: string };

/** What the guest's /init printed and what became of QEMU. */
interface Boot {
  serial: string;
  stderr: string;
  exit: number | null;
  ms: number;
}

let cleanups: (() => unknown)[] = [];

afterEach(async () => {
  // Last in, first out: QEMU dies before its tap closes and its namespace goes.
  for (const fn of cleanups.reverse()) {
    try {
      await fn();
    } catch {
      // keep cleaning up
    }
  }
  cleanups = [];
});

// Not execFileSync: on a fresh machine the script's apt-get runs for minutes,
// and a worker whose event loop is blocked that long misses vitest's RPC
// deadline ("Timeout calling onTaskUpdate": the run fails though every test
// passed).
function buildGuest(script: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`build-guest.sh exited ${code}:\n${out}`))));
  });
}

beforeAll(async () => {
  requireKernelAccess();
  const script = fileURLToPath(new URL('../scripts/build-guest.sh', import.meta.url));
  const out = await buildGuest(script);
  const vars = new Map(
    out
      .trim()
      .split('\n')
      .map((l) => l.split('=', 2) as [string, string]),
  );
  guest = { kernel: vars.get('KERNEL') ?? '', initrd: vars.get('INITRD') ?? '' };
  expect(guest.kernel, `build-guest.sh printed:\n${out}`).not.toBe('');
  expect(guest.initrd, `build-guest.sh printed:\n${out}`).not.toBe('');
  // apt-get install on a fresh machine takes minutes.
}, 600_000);

function randomMac(): string {
  const b = randomBytes(6);
  b[0] = (b[0]! & 0xfc) | 0x02; // unicast, locally administered
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join(':');
}

/** v0 in the VM's namespace, its peer v1 in a "host" namespace with HOST_ADDR. */
function wire(): { vm: TestNetns; host: TestNetns } {
  const vm = makeNetns('vm');
  cleanups.push(() => vm.remove());
  const host = makeNetns('vmhost', { veth: false });
  cleanups.push(() => host.remove());
  vm.ip('link', 'set', 'v1', 'netns', host.name);
  host.ip('addr', 'add', `${HOST_ADDR}/24`, 'dev', 'v1');
  host.ip('link', 'set', 'v1', 'up');
  return { vm, host };
}

async function openHandle(ns: TestNetns): Promise<Handle> {
  const nl = await open({ netns: ns.name });
  cleanups.push(() => nl.close());
  return nl;
}

/** Boots the guest with the tap's fds and waits for it to power off. */
function boot(tap: Tap, mac: string, queues: number): Promise<Boot> {
  const { args, stdio } = qemuNetdevArgs(tap, { id: 'n0', firstFd: 3, mac });
  const qemuArgs = guestQemuArgs({
    kernel: guest.kernel,
    initrd: guest.initrd,
    queues,
    addr: `${GUEST_ADDR}/24`,
    peer: HOST_ADDR,
    count: PINGS,
    netdev: args,
  });
  const started = Date.now();
  const qemu: ChildProcess = spawn('qemu-system-x86_64', qemuArgs, { stdio: ['pipe', 'pipe', 'pipe', ...stdio] });
  cleanups.push(() => killed(qemu));
  let serial = '';
  let stderr = '';
  qemu.stdout!.setEncoding('utf8').on('data', (s: string) => (serial += s));
  qemu.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  return new Promise<Boot>((resolve, reject) => {
    const timer = setTimeout(() => {
      qemu.kill('SIGKILL');
      reject(
        new Error(
          `the guest did not power off within ${BOOT_DEADLINE_MS} ms; serial console:\n${serial.slice(-3000)}\nqemu stderr:\n${stderr}`,
        ),
      );
    }, BOOT_DEADLINE_MS);
    qemu.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    qemu.on('close', (exit) => {
      clearTimeout(timer);
      resolve({ serial, stderr, exit, ms: Date.now() - started });
    });
  });
}

/** SIGKILL unless already gone, and wait for the exit. */
function killed(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('close', () => resolve());
    child.kill('SIGKILL');
  });
}

/** Link counters as `ip -s -j link show` reports them. */
function stats(ns: TestNetns, dev: string): { rx: number; tx: number } {
  const [l] = JSON.parse(ns.ip('-s', '-j', 'link', 'show', 'dev', dev)) as {
    stats64: { rx: { packets: number }; tx: { packets: number } };
  }[];
  return { rx: l!.stats64.rx.packets, tx: l!.stats64.tx.packets };
}

async function pingFromGuest(queues: number): Promise<void> {
  const { vm, host } = wire();
  const nl = await openHandle(vm);
  const mac = randomMac();
  await nl.createMacvtap({ lower: 'v0', name: 'vt0', mode: 'bridge', up: true, mac });
  const tap = await nl.openTap('vt0', { vnetHdr: true, vnetHdrSize: 12, queues });
  cleanups.push(() => tap.close());
  expect(tap.fds).toHaveLength(queues);

  const run = await boot(tap, mac, queues);
  const diag = `serial console:\n${run.serial.slice(-3000)}\nqemu stderr:\n${run.stderr}`;
  const nic = /MV-GUEST: eth0 mac=(\S+) addr=\S+ queues=(\d+)/.exec(run.serial);
  const result = /MV-GUEST: RESULT (\w+) (\d+)\/(\d+)/.exec(run.serial);
  expect(nic, diag).not.toBeNull();
  expect(result, diag).not.toBeNull();
  expect(run.exit, diag).toBe(0);
  expect(nic![1], 'the guest NIC has the macvtap MAC').toBe(mac);
  expect(Number(nic![2]), 'queue pairs the guest sees').toBe(queues);
  expect(result![1], diag).toBe('ok');
  expect(Number(result![2]), diag).toBeGreaterThan(0);

  // The wire side saw the guest: its ARP request left a neighbour entry.
  const neigh = JSON.parse(host.ip('-j', 'neigh', 'show', 'dev', 'v1')) as { dst: string; lladdr?: string }[];
  expect(neigh.find((n) => n.dst === GUEST_ADDR)?.lladdr, JSON.stringify(neigh)).toBe(mac);
  // And the frames went through the macvtap (ARP + echo requests and replies).
  const s = stats(vm, 'vt0');
  expect(s.tx).toBeGreaterThanOrEqual(PINGS);
  expect(s.rx).toBeGreaterThanOrEqual(PINGS);
  console.log(`guest with ${queues} queue(s): booted, pinged and powered off in ${run.ms} ms`);
}

describe('QEMU guest on a macvtap (TCG)', () => {
  it("pings the host on the wire through the library's tap fd", async () => {
    await pingFromGuest(1);
  }, 60_000);

  it('multiqueue: two tap fds, mq=on, two queue pairs in the guest', async () => {
    await pingFromGuest(2);
  }, 60_000);
});
