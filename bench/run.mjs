// `npm run bench`: the library against `ip` and a small C reference
// (bench/ref.c), in a throwaway network namespace with a veth lower.
//
// Every figure is the median of BENCH_RUNS runs with min and max; each
// contender is compared with the C reference measured in the same run
// ("x C" = contender time / C time, so 1.00 is C's speed and higher is
// slower; for frame rates it is C's rate / the contender's rate), and the
// table gives the median of those per-run ratios with their min and max.
// Prints one table, writes bench/out/results.json and bench/out/results.md
// (results-only.* when BENCH_ONLY picks some sections).
//
// The "handoff" rows measure the floor of the library's thread structure:
// bench/ref.c runs the same requests with a C caller that hands each one to
// an I/O thread and sleeps in epoll_wait() until it is done (as the JS
// thread does), and a pure ping-pong through that pair of threads. The
// "Node floor" rows run those requests through that I/O thread from JS
// (bench/floor.c, a bare N-API addon: a promise a call, no validation, no
// Link objects): the least any Node library pays whose event loop does not
// wait for the kernel.
//
// Sections (BENCH_ONLY=a,b,... runs only those; default all):
//   seq      sequential creates: C, C through an I/O thread (without, with the tap's device number), the Node floor, library
//   batch    C batched / library concurrent creates; on C's links, dumps and one-at-a-time deletes
//            (the dumps also: the Node floor followed by objects of a Link's size made in JS, the
//            library's calls without a page fault, the library in a process with the young
//            generation capped, and what one page fault costs here)
//   ip       execFile('ip') per call (from bench/spawner.mjs, a Node process) and ip -batch, creates and deletes
//   handoff  GETLINK of lo (C, C through an I/O thread, library) and the C ping-pong
//   loop     event-loop lateness (idle, concurrent creates, the Node floor's burst, rtnl_lock busy)
//   bigdump  dumps of BENCH_BIG_LINKS links
//   tap      openTap+close and frames
//   memory   the create/delete cycle check (default V8 settings, then young generation capped),
//            and Node's own fs.promises.stat() as many times (the platform reference)
//   and as shorthands the table's sections: create, delete (= seq,batch,ip),
//   dump (= batch,bigdump), frames (= tap).
//
// Sizes (environment):
//   BENCH_RUNS=5              runs per figure
//   BENCH_LINKS=500           links for creates, group deletes, ip -batch, listLinks
//   BENCH_EXEC_LINKS=100      links for execFile('ip') per call (scaled per link)
//   BENCH_DELETE_ONE_LINKS=100 links deleted one at a time (C, C through an I/O thread, library)
//   BENCH_BIG_LINKS=5000      links for the large dump
//   BENCH_TAP_ITERATIONS=20   openTap+close per run
//   BENCH_FRAMES=100000       frames per run and frame size
//   BENCH_INFLIGHT=64         frames in flight in the frame loops
//   BENCH_CYCLES=100000       create/delete cycles for the memory check
//   BENCH_CYCLE_BATCH=500     of which this many at a time
//   BENCH_CYCLE_SECONDS=170   stop the memory check after this long (and report the count)
//   BENCH_BUSY_LINKS=200      links the rtnl_lock-busy process creates/deletes in a loop
//   BENCH_SETTLE_MS=250       pause after bulk deletes before the next timed step
//   BENCH_HANDOFF_OPS=2000    requests per run in each handoff figure
//   BENCH_HANDOFF_WORK_US=200 the ping-pong's I/O thread is busy this long per request in one figure
//   BENCH_SEMI_SPACE_MB=1     --max-semi-space-size of the second memory check and of the capped
//                             listLinks process (0: neither); the check runs the same cycles (and
//                             time limit) as the first
//   BENCH_ONLY=               sections to run (see above), comma-separated
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { stat as statP } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { cpus, homedir, loadavg, release } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';

import { open } from '../dist/index.js';
import { latenessProbe } from './lateness-probe.mjs';
import { linkShaped } from './link-shaped.mjs';
import { Spawner } from './spawner.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const outDir = join(here, 'out');
const refBin = join(outDir, 'ref');
const floorAddon = join(outDir, 'floor.node');
let floor; // bench/floor.c, loaded once built

const SECTIONS = ['seq', 'batch', 'ip', 'handoff', 'loop', 'bigdump', 'tap', 'memory'];
const SECTION_ALIASES = { create: ['seq', 'batch', 'ip'], delete: ['seq', 'batch', 'ip'], dump: ['batch', 'bigdump'], frames: ['tap'] };

function sectionsToRun(raw) {
  if (raw === undefined || raw.trim() === '') return SECTIONS;
  const picked = new Set();
  for (const name of raw
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean)) {
    const list = SECTIONS.includes(name) ? [name] : SECTION_ALIASES[name];
    if (!list) throw new Error(`BENCH_ONLY: no section '${name}' (sections: ${[...SECTIONS, ...Object.keys(SECTION_ALIASES)].join(', ')})`);
    for (const s of list) picked.add(s);
  }
  return SECTIONS.filter((s) => picked.has(s));
}

function envInt(name, dflt, min = 1) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return dflt;
  const v = Number(raw);
  if (!Number.isInteger(v) || v < min) throw new Error(`${name} must be an integer >= ${min}, got '${raw}'`);
  return v;
}

const cfg = {
  runs: envInt('BENCH_RUNS', 5),
  links: envInt('BENCH_LINKS', 500, 2),
  execLinks: envInt('BENCH_EXEC_LINKS', 100),
  deleteOneLinks: envInt('BENCH_DELETE_ONE_LINKS', 100),
  bigLinks: envInt('BENCH_BIG_LINKS', 5000, 2),
  tapIterations: envInt('BENCH_TAP_ITERATIONS', 20),
  frames: envInt('BENCH_FRAMES', 100000),
  inflight: envInt('BENCH_INFLIGHT', 64),
  cycles: envInt('BENCH_CYCLES', 100000),
  cycleBatch: envInt('BENCH_CYCLE_BATCH', 500, 2),
  cycleSeconds: envInt('BENCH_CYCLE_SECONDS', 170),
  busyLinks: envInt('BENCH_BUSY_LINKS', 200),
  settleMs: envInt('BENCH_SETTLE_MS', 250, 0),
  handoffOps: envInt('BENCH_HANDOFF_OPS', 2000),
  handoffWorkUs: envInt('BENCH_HANDOFF_WORK_US', 200),
  semiSpaceMb: envInt('BENCH_SEMI_SPACE_MB', 1, 0),
  only: sectionsToRun(process.env.BENCH_ONLY),
};
const on = (section) => cfg.only.includes(section);
cfg.deleteOneLinks = Math.max(1, Math.min(cfg.deleteOneLinks, Math.floor((cfg.links - 1) / 3)));
const frameSizes = [64, 1500];
// The C I/O thread looks for work as long as the library's does.
const SPIN_US = Number(readFileSync(join(here, '..', 'native', 'netlink_socket.cc'), 'utf8').match(/kSpinMicros = (\d+);/)?.[1]);
if (!Number.isInteger(SPIN_US)) throw new Error('kSpinMicros not found in native/netlink_socket.cc');
const WARM_CREATES = 3000; // library creates before the timed runs (the warm-up's comment)
const dumpRepeats = 10; // dumps averaged within one run (after one untimed), C and library in turn twice

const tag = `mvbench-${process.pid}`;
const NS = tag;
const BUSY_NS = `${tag}-busy`;
const workDir = `/run/${tag}`;
const nodeDir = join(workDir, 'nodes');
const LOWER = 'v0';

const log = (...a) => process.stderr.write(`bench: ${a.join(' ')}\n`);
const now = () => performance.now();

// ---------------------------------------------------------------- cleanup

let busy; // the rtnl_lock-busy loop's pid (its process group), when running
let cleaned = false;
function cleanup() {
  if (cleaned) return;
  cleaned = true;
  stopBusy();
  spawner?.close();
  for (const ns of [NS, BUSY_NS]) {
    try {
      execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
    } catch {
      // not made
    }
  }
  rmSync(workDir, { recursive: true, force: true });
}
process.on('exit', cleanup);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    log(`${sig}: cleaning up`);
    cleanup();
    process.exit(128 + ({ SIGINT: 2, SIGTERM: 15, SIGHUP: 1 }[sig] ?? 0));
  });
}

function stopBusy() {
  if (!busy) return;
  try {
    process.kill(-busy, 'SIGTERM'); // its own process group: the shell loop and its ip
  } catch {
    // already gone
  }
  busy = undefined;
}

// ---------------------------------------------------------------- helpers

// Every command of a timed stretch runs through bench/spawner.mjs: this
// process forks only before the first measurement (why: spawner.mjs).
let spawner;
// { stdout, seconds }: the time is the spawner's, from execFile to its callback.
const ip = (args) => spawner.ip(args);

async function ref(...args) {
  const { stdout } = await ip(['netns', 'exec', NS, refBin, ...args.map(String)]);
  return JSON.parse(stdout);
}

// Node's headers, for bench/floor.c: beside this node, else node-gyp's copy
// (fetched when missing).
function nodeHeaders() {
  const beside = join(dirname(dirname(process.execPath)), 'include', 'node');
  if (existsSync(join(beside, 'node_api.h'))) return beside;
  const fetched = join(homedir(), '.cache', 'node-gyp', process.versions.node, 'include', 'node');
  if (!existsSync(join(fetched, 'node_api.h'))) execFileSync('npx', ['node-gyp', 'install'], { stdio: 'inherit' });
  return fetched;
}

/**
 * The Node floor (bench/floor.c): `n` requests through ref.c's I/O thread,
 * each a promise awaited before the next; seconds for all of them.
 * op 'create': macvtaps `prefix`0.. on ifindex `lower` (their tap numbers
 * from the uevents, as createMacvtap); 'dump': dumps (no spin after each, as
 * the library's I/O thread); `expect`: what each call must resolve to at
 * least (a dump's link count).
 */
async function floorSeconds(op, n, { lower = 0, prefix = '', spinUs = 0, expect = 1, each } = {}) {
  floor.open(`/run/netns/${NS}`, op, n, lower, prefix, spinUs);
  try {
    const t0 = now();
    for (let i = 0; i < n; i++) {
      const v = await floor.call();
      if (v < expect) throw new Error(`floor ${op} ${i}: ${v}, expected >= ${expect}`);
      each?.(v);
    }
    return (now() - t0) / 1000;
  } finally {
    floor.close();
  }
}

const randomGroup = () => 0x10000 + Math.floor(Math.random() * 0x7fff0000);
const names = (prefix, n, start = 0) => Array.from({ length: n }, (_, i) => `${prefix}${start + i}`);
const mean = (a) => a.reduce((x, y) => x + y, 0) / a.length;
const median = (a) => stats(a).median;
const settle = () => sleep(cfg.settleMs);

function stats(samples) {
  const s = [...samples].sort((a, b) => a - b);
  const mid = s.length >> 1;
  const median = s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
  return { median, min: s[0], max: s[s.length - 1], n: s.length };
}

async function ipBatch(netns, lines, file) {
  writeFileSync(file, lines.join('\n') + '\n');
  return (await ip(['-n', netns, '-batch', file])).seconds;
}

// Node's execFile('ip') and JSON.parse, timed in the spawner (a Node process
// as well).
function execDump() {
  return spawner.do({ op: 'run', file: 'ip', args: ['-n', NS, '-d', '-j', 'link', 'show'], parse: true });
}

// ---------------------------------------------------------------- setup

function machine() {
  const cc = (() => {
    try {
      return execFileSync('cc', ['--version']).toString().split('\n')[0];
    } catch {
      return 'unknown';
    }
  })();
  const meminfo = readFileSync('/proc/meminfo', 'utf8').match(/MemTotal:\s+(\d+)/);
  return {
    nproc: Number(execFileSync('nproc').toString().trim()),
    cpu: cpus()[0]?.model ?? 'unknown',
    memGiB: meminfo ? Math.round((Number(meminfo[1]) / 1048576) * 10) / 10 : undefined,
    kernel: release(),
    node: process.version,
    iproute2: execFileSync('ip', ['-V']).toString().trim(),
    cc,
    loadAtStart: loadavg().map((x) => +x.toFixed(2)),
  };
}

async function setupNamespace(ns, lower, peer) {
  await ip(['netns', 'add', ns]);
  // No IPv6: no addrconf work on links, and no ND/MLD frames in the frame loops.
  await ip(['netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
  await ip(['-n', ns, 'link', 'set', 'lo', 'up']);
  await ip(['-n', ns, 'link', 'add', lower, 'type', 'veth', 'peer', 'name', peer]);
  await ip(['-n', ns, 'link', 'set', lower, 'up']);
  await ip(['-n', ns, 'link', 'set', peer, 'up']);
}

// ---------------------------------------------------------------- library contenders

async function libCreateSeq(nl, lower, list) {
  const t0 = now();
  for (const name of list) await nl.createMacvtap({ lower, name, mode: 'bridge' });
  return (now() - t0) / 1000;
}

async function libCreateConcurrent(nl, lower, list) {
  const t0 = now();
  await Promise.all(list.map((name) => nl.createMacvtap({ lower, name, mode: 'bridge' })));
  return (now() - t0) / 1000;
}

// Also the minor page faults a call: V8's young-generation pages the Links
// land on after V8 gave them back (why: bench/idle-dump.mjs). No C
// contender allocates that way. `noFault`: the times of the calls during
// which the process took none (the fault counter is read outside the
// timed part).
async function libDumpMean(nl, expect) {
  const first = await nl.listLinks();
  if (first.length < expect) throw new Error(`listLinks() gave ${first.length} links, expected >= ${expect}`);
  const times = [];
  const noFault = [];
  let faults = 0;
  for (let i = 0; i < dumpRepeats; i++) {
    const faults0 = process.resourceUsage().minorPageFault;
    const t0 = now();
    await nl.listLinks();
    const seconds = (now() - t0) / 1000;
    const took = process.resourceUsage().minorPageFault - faults0;
    times.push(seconds);
    faults += took;
    if (took === 0) noFault.push(seconds);
  }
  return { seconds: mean(times), faults: faults / dumpRepeats, noFault };
}

async function cDumpMean(expect) {
  const r = await ref('dump', dumpRepeats + 1);
  if (r.links < expect) throw new Error(`C dump saw ${r.links} links, expected >= ${expect}`);
  return mean(r.seconds.slice(1));
}

// The C dump handed to an I/O thread each time, as the library's thread
// structure does (the thread-structure floor of a listLinks()); like the
// library's, its I/O thread does not spin for the next request after a dump.
async function cDumpIoMean() {
  const r = await ref('dump-io', dumpRepeats, 0);
  return r.seconds / r.n;
}

// The same through the Node floor: one untimed, then dumpRepeats timed.
async function floorDumpMean(expect) {
  await floorSeconds('dump', 1, { expect });
  return (await floorSeconds('dump', dumpRepeats, { expect })) / dumpRepeats;
}

// The Node floor's dump, each answer followed by as many objects of a
// listed Link's shape and size made in JS (bench/link-shaped.mjs): what any
// library returning Link objects pays, decoding aside. { seconds, faults }.
let shapedSink;
async function floorObjectsDumpMean(expect) {
  const each = (count) => {
    shapedSink = linkShaped(count);
  };
  await floorSeconds('dump', 1, { expect, each });
  const faults0 = process.resourceUsage().minorPageFault;
  const seconds = (await floorSeconds('dump', dumpRepeats, { expect, each })) / dumpRepeats;
  shapedSink = undefined;
  return { seconds, faults: (process.resourceUsage().minorPageFault - faults0) / dumpRepeats };
}

// The library in a process of its own with the young generation capped
// (bench/dump-capped.mjs), warmed by 300 calls: { seconds, faults }.
async function cappedDumpMean(expect) {
  const args = [`--max-semi-space-size=${cfg.semiSpaceMb}`, join(here, 'dump-capped.mjs'), `/run/netns/${NS}`, expect, 300, dumpRepeats];
  return JSON.parse((await spawner.do({ op: 'run', file: process.execPath, args: args.map(String) })).stdout);
}

// C, C through an I/O thread, the Node floor, library, and again: the
// host's load drifts within a run, and this way all see the same drift;
// then with `capped`, twice the library with the young generation capped. Returns
// the means, the library's faults a call and the times of its calls
// without a fault.
async function dumpsInTurn(nl, expect, capped) {
  const c = [];
  const cIo = [];
  const fl = [];
  const flObj = [];
  const lib = [];
  const faults = [];
  const noFault = [];
  const cap = [];
  for (let i = 0; i < 2; i++) {
    c.push(await cDumpMean(expect));
    cIo.push(await cDumpIoMean());
    fl.push(await floorDumpMean(expect));
    flObj.push(await floorObjectsDumpMean(expect));
    const l = await libDumpMean(nl, expect);
    lib.push(l.seconds);
    faults.push(l.faults);
    noFault.push(...l.noFault);
  }
  // After the library's rounds: a Node process starting and working in
  // between made this one's next calls fault more.
  for (let i = 0; capped && i < 2; i++) cap.push(await cappedDumpMean(expect));
  const libCapped = capped ? { seconds: mean(cap.map((k) => k.seconds)), faults: mean(cap.map((k) => k.faults)) } : undefined;
  const floorObjects = { seconds: mean(flObj.map((k) => k.seconds)), faults: mean(flObj.map((k) => k.faults)) };
  return [mean(c), mean(cIo), mean(fl), mean(lib), mean(faults), noFault, libCapped, floorObjects];
}

// One run's dumps of `expect` links: C and the library in turn, then
// `ip -d -j link show`; push()ed as cDump<suffix>, cDumpIo<suffix>,
// floorDump<suffix>, libDump<suffix>, execDump<suffix>. The library's calls
// without a page fault, when the run had any, as libDump<suffix>NoFault
// with that run's C time as cDump<suffix>NoFaultRef (a ratio per run), and
// their share as libDump<suffix>NoFaultShare; with `capped`, the library
// with the young generation capped as libDump<suffix>Capped (and its faults).
async function measureDumps(push, nl, expect, suffix, { capped = false } = {}) {
  const [cDump, cDumpIo, floorDump, libDump, libFaults, noFault, libCapped, floorObjects] = await dumpsInTurn(nl, expect, capped);
  push(`cDump${suffix}`, cDump);
  push(`cDumpIo${suffix}`, cDumpIo);
  push(`floorDump${suffix}`, floorDump);
  push(`floorObjDump${suffix}`, floorObjects.seconds);
  push(`floorObjDump${suffix}Faults`, floorObjects.faults);
  push(`libDump${suffix}`, libDump);
  push(`libDump${suffix}Faults`, libFaults);
  push(`libDump${suffix}NoFaultShare`, noFault.length / (2 * dumpRepeats));
  if (noFault.length > 0) {
    push(`libDump${suffix}NoFault`, mean(noFault));
    push(`cDump${suffix}NoFaultRef`, cDump);
  }
  if (libCapped) {
    push(`libDump${suffix}Capped`, libCapped.seconds);
    push(`libDump${suffix}CappedFaults`, libCapped.faults);
  }
  const x = await execDump();
  if (x.count < expect) throw new Error(`ip -j link show gave ${x.count} links`);
  push(`execDump${suffix}`, x.seconds);
}

async function libFrames(a, b, macA, macB, size, count, inflight) {
  const frame = Buffer.alloc(size);
  Buffer.from(macB.replaceAll(':', ''), 'hex').copy(frame, 0);
  Buffer.from(macA.replaceAll(':', ''), 'hex').copy(frame, 6);
  frame.writeUInt16BE(0x88b5, 12);
  for (let i = 14; i < size; i++) frame[i] = i & 0xff;

  let sent = 0;
  let got = 0;
  let lost = 0;
  let other = 0;
  let last = now();
  let wake;
  let finish;
  const finished = new Promise((r) => (finish = r));
  const progress = () => {
    if (got + lost >= count) finish();
    if (wake) {
      const w = wake;
      wake = undefined;
      w();
    }
  };
  // Frames stuck in flight for 200 ms are counted lost (normally none are).
  const watchdog = setInterval(() => {
    if (now() - last > 200 && sent - got - lost > 0) {
      lost = sent - got;
      last = now();
      progress();
    }
  }, 50);
  let failure;
  const reader = (async () => {
    while (got + lost < count) {
      const f = await b.readFrame();
      if (f.length >= 14 && f[12] === 0x88 && f[13] === 0xb5) {
        got++;
        last = now();
        progress();
      } else {
        other++;
      }
    }
  })();
  // A read left pending when frames were lost ends when its tap closes.
  reader.catch((e) => {
    failure ??= e;
    finish();
    progress();
  });
  const t0 = now();
  while (sent < count && !failure) {
    while (sent - got - lost >= inflight && !failure) await new Promise((r) => (wake = r));
    await a.writeFrame(frame);
    sent++;
  }
  await finished;
  const seconds = (now() - t0) / 1000;
  clearInterval(watchdog);
  if (failure && got + lost < count) throw failure;
  return { size, sent, received: got, lost, other, seconds };
}

// ---------------------------------------------------------------- main

async function main() {
  if (process.getuid?.() !== 0) throw new Error('run as root (CAP_NET_ADMIN, CAP_SYS_ADMIN)');
  const t00 = now();
  mkdirSync(outDir, { recursive: true });
  mkdirSync(nodeDir, { recursive: true });
  execFileSync('cc', ['-O2', '-Wall', '-Wextra', '-pthread', '-o', refBin, join(here, 'ref.c')], { stdio: 'inherit' });
  const floorFlags = ['-O2', '-Wall', '-Wextra', '-pthread', '-shared', '-fPIC', `-I${nodeHeaders()}`];
  execFileSync('cc', [...floorFlags, '-o', floorAddon, join(here, 'floor.c')], { stdio: 'inherit' });
  floor = createRequire(import.meta.url)(floorAddon);
  const mach = machine();
  log(`machine: ${mach.nproc} cpus (${mach.cpu}), kernel ${mach.kernel}, node ${mach.node}`);
  log(`config: ${JSON.stringify(cfg)}`);

  spawner = new Spawner();
  await setupNamespace(NS, LOWER, 'v1');
  const nl = await open({ netns: NS });
  const lower = (await nl.getLink(LOWER)).index;
  const N = cfg.links;
  const D = cfg.deleteOneLinks;
  const E = cfg.execLinks;
  const raw = {}; // name -> per-run samples
  const push = (k, v) => (raw[k] ??= []).push(v);
  const pushLate = (k, l) => {
    push(k, l.worst);
    push(`${k}Ran`, l.ran);
    push(`${k}Waited`, l.waited);
  };
  const batchFile = join(workDir, 'batch.txt');

  // Warm-up (not recorded): JIT, slab caches, the handle's thread. V8
  // optimizes the library's create path only after some 2000 calls
  // (--trace-opt: planCreate, plainObject and the settling come last); with
  // the 100 creates this warm-up once made, runs 1-3 measured their
  // sequential creates before it had (session 10).
  log('warm-up');
  await ref('create-seq', lower, 'w', 0, 50);
  await ref('delete-group', 'w', 0, 50, randomGroup());
  for (let created = 0; created < WARM_CREATES; created += 2 * N) {
    await libCreateSeq(nl, lower, names('w', N));
    await nl.deleteLinks(names('w', N));
    await libCreateConcurrent(nl, lower, names('w', N));
    await nl.deleteLinks(names('w', N));
  }
  await libCreateConcurrent(nl, lower, names('w', 50));
  // listLinks too, with links of the kinds the timed dumps meet: without it
  // the first timed dumps of run 1 ran while V8 still compiled linksOf
  // (2-3x the steady time), as no other warm-up step calls it.
  for (let i = 0; i < 100; i++) await nl.listLinks();
  await nl.deleteLinks(names('w', 50));
  await ip(['-n', NS, 'link', 'add', 'w0', 'link', LOWER, 'type', 'macvtap', 'mode', 'bridge']);
  await ip(['-n', NS, 'link', 'del', 'w0']);
  for (let i = 0; i < 200; i++) await nl.getLink('lo');
  await settle();

  // The contenders of a step take turns going first (run r starts with the
  // r-th, round robin: with two, even runs C and odd runs the library), and
  // every timed step starts after the kernel has settled from the previous
  // bulk delete (netdev teardown and RCU callbacks run late).
  for (let r = 0; r < cfg.runs && ['seq', 'batch', 'ip', 'handoff'].some(on); r++) {
    const tr = now();
    const inTurn = async (...steps) => {
      for (let i = 0; i < steps.length; i++) await steps[(r + i) % steps.length]();
    };
    // A C run through the I/O thread: its time per request, and how often
    // each thread slept.
    const pushIo = (key, c, n, minusSeconds = 0) => {
      push(key, c.seconds / n - minusSeconds);
      push(`${key}CallerSleeps`, c.callerSleeps / n);
      push(`${key}IoWakes`, c.ioWakes / n);
    };

    // Sequential creates, then a group delete of all of them. C runs them on
    // one thread, then through an I/O thread as the library does, and that
    // again getting the tap's device number that createMacvtap's result
    // carries, from the uevent as the library does.
    if (on('seq')) {
      await inTurn(
        async () => {
          push('cCreateSeq', (await ref('create-seq', lower, 'cs', 0, N)).seconds / N);
          await settle();
          push('cGroupDel', (await ref('delete-group', 'cs', 0, N, randomGroup())).seconds);
          await settle();
        },
        async () => {
          pushIo('cCreateSeqIo', await ref('create-seq-io', lower, 'ct', 0, N, SPIN_US, 0), N);
          await settle();
          await ref('delete-group', 'ct', 0, N, randomGroup());
          await settle();
        },
        async () => {
          pushIo('cCreateSeqIoTap', await ref('create-seq-io', lower, 'cu', 0, N, SPIN_US, 2), N);
          await settle();
          await ref('delete-group', 'cu', 0, N, randomGroup());
          await settle();
        },
        async () => {
          push('floorCreateSeq', (await floorSeconds('create', N, { lower, prefix: 'fs', spinUs: SPIN_US })) / N);
          await settle();
          await ref('delete-group', 'fs', 0, N, randomGroup());
          await settle();
        },
        async () => {
          push('libCreateSeq', (await libCreateSeq(nl, lower, names('ls', N))) / N);
          await settle();
          const t0 = now();
          await nl.deleteLinks(names('ls', N));
          push('libGroupDel', (now() - t0) / 1000);
          await settle();
        },
      );
    }

    // The handoff alone: a GETLINK of lo (little kernel work), and an empty
    // request through the C pair of threads, with and without the spin, and
    // with the I/O thread busy for a while (the caller sleeps meanwhile, as
    // during a create).
    if (on('handoff')) {
      const H = cfg.handoffOps;
      await inTurn(
        async () => push('cGet', (await ref('get-seq', 'lo', H)).seconds / H),
        async () => {
          pushIo('cGetIo', await ref('get-seq-io', 'lo', H, SPIN_US), H);
          pushIo('pingSpin', await ref('pingpong', H, SPIN_US, 0), H);
          pushIo('pingNoSpin', await ref('pingpong', H, 0, 0), H);
          const work = cfg.handoffWorkUs;
          pushIo('pingWork', await ref('pingpong', H, SPIN_US, work), H, work / 1e6);
        },
        async () => {
          const t0 = now();
          for (let i = 0; i < H; i++) await nl.getLink('lo');
          push('libGet', (now() - t0) / 1000 / H);
          // Node's own floor for a call through another thread: a stat on
          // libuv's thread pool, awaited one at a time.
          const t1 = now();
          for (let i = 0; i < H; i++) await statP('/proc/self');
          push('nodeStat', (now() - t1) / 1000 / H);
        },
      );
    }

    // Batched and concurrent creates. The C-made links are then dumped by
    // every contender, and C, C through an I/O thread and the library each
    // delete D of them one at a time (the same kind of links in the same state).
    if (on('batch')) {
      await inTurn(
        async () => {
          const cb = await ref('create-batch', lower, 'cb', 0, N);
          push('cCreateBatch', cb.seconds / N);
          await settle();
          await measureDumps(push, nl, N, '', { capped: cfg.semiSpaceMb > 0 });
          push('pageFault', (await ref('pagefault', 256)).seconds);
          await inTurn(
            async () => push('cDelOne', (await ref('delete-seq', 'cb', 0, D)).seconds / D),
            async () => {
              const t0 = now();
              for (const name of names('cb', D, D)) await nl.deleteLink(name);
              push('libDelOne', (now() - t0) / 1000 / D);
            },
            async () => push('cDelOneIo', (await ref('delete-seq-io', 'cb', 2 * D, D, SPIN_US)).seconds / D),
          );
          await ref('delete-group', 'cb', 3 * D, N - 3 * D, randomGroup());
          await settle();
        },
        async () => {
          const cv = await ref('create-batch', lower, 'cv', 0, N, 2);
          push('cCreateBatchTap', (cv.seconds + cv.tapSeconds) / N);
          await settle();
          await ref('delete-group', 'cv', 0, N, randomGroup());
          await settle();
        },
        async () => {
          push('libCreateConc', (await libCreateConcurrent(nl, lower, names('lc', N))) / N);
          await nl.deleteLinks(names('lc', N));
          await settle();
        },
      );
    }

    // ip, one process per call, then ip -batch.
    if (on('ip')) {
      const each = async (argsList) => (await spawner.do({ op: 'runEach', file: 'ip', argsList })).seconds / E;
      push(
        'execCreate',
        await each(names('xe', E).map((n) => ['-n', NS, 'link', 'add', n, 'link', LOWER, 'type', 'macvtap', 'mode', 'bridge'])),
      );
      push('execDelOne', await each(names('xe', E).map((n) => ['-n', NS, 'link', 'del', n])));
      await settle();

      push(
        'batchCreate',
        (await ipBatch(
          NS,
          names('xb', N).map((n) => `link add ${n} link ${LOWER} type macvtap mode bridge`),
          batchFile,
        )) / N,
      );
      push(
        'batchDel',
        (await ipBatch(
          NS,
          names('xb', N).map((n) => `link del ${n}`),
          batchFile,
        )) / N,
      );
      await settle();
    }
    log(`run ${r + 1}/${cfg.runs} done in ${((now() - tr) / 1000).toFixed(1)} s`);
  }

  // Event-loop lateness: idle, during N concurrent creates, and the same
  // while another process keeps rtnl_lock busy.
  if (on('loop')) {
    log('event-loop lateness');
    for (let r = 0; r < cfg.runs; r++) {
      let stop = latenessProbe();
      await sleep(300);
      pushLate('lateIdle', stop());
      stop = latenessProbe();
      const faults0 = process.resourceUsage().minorPageFault;
      const t0 = now();
      const calls = names('el', N).map((name) => nl.createMacvtap({ lower, name, mode: 'bridge' }));
      push('lateIssueMs', now() - t0); // the caller's own synchronous loop of N calls
      push('lateIssueFaults', process.resourceUsage().minorPageFault - faults0); // V8's pages, as in libDumpMean
      await Promise.all(calls);
      const took = (now() - t0) / 1000;
      pushLate('lateCreate', stop());
      push('lateCreateSeconds', took);
      await nl.deleteLinks(names('el', N));
      await settle();
      // The Node floor's burst: N bare addon calls at once (a promise each,
      // no validation, no Link; bench/floor.c), each create on the I/O
      // thread in turn: what any library of this structure pays.
      floor.open(`/run/netns/${NS}`, 'create', N, lower, 'fb', SPIN_US);
      try {
        stop = latenessProbe();
        const fl0 = now();
        const floorCalls = Array.from({ length: N }, () => floor.call());
        push('lateFloorIssueMs', now() - fl0);
        const made = await Promise.all(floorCalls);
        push('lateFloorSeconds', (now() - fl0) / 1000);
        if (made.some((v) => v < 1)) throw new Error('floor burst: a create without an ifindex');
        pushLate('lateFloor', stop());
      } finally {
        floor.close();
      }
      await nl.deleteLinks(names('fb', N));
      await settle();
      // The platform's own reference: N concurrent calls of Node's
      // promise API over libuv's thread pool, measured the same way.
      stop = latenessProbe();
      const f0 = now();
      const stats = Array.from({ length: N }, () => statP('/proc/self'));
      push('lateFsIssueMs', now() - f0);
      await Promise.all(stats);
      pushLate('lateFs', stop());
    }
    await setupNamespace(BUSY_NS, 'b0', 'b1');
    const busyAdd = join(workDir, 'busy-add.txt');
    const busyDel = join(workDir, 'busy-del.txt');
    writeFileSync(
      busyAdd,
      names('bz', cfg.busyLinks)
        .map((n) => `link add ${n} link b0 type macvtap mode bridge`)
        .join('\n') + '\n',
    );
    writeFileSync(
      busyDel,
      names('bz', cfg.busyLinks)
        .map((n) => `link del ${n}`)
        .join('\n') + '\n',
    );
    ({ pid: busy } = await spawner.do({
      op: 'start',
      file: 'bash',
      args: ['-c', `while :; do ip -n ${BUSY_NS} -force -batch ${busyAdd}; ip -n ${BUSY_NS} -force -batch ${busyDel}; done`],
    }));
    await sleep(500);
    for (let r = 0; r < cfg.runs; r++) {
      const stop = latenessProbe();
      const t0 = now();
      await Promise.all(names('eb', N).map((name) => nl.createMacvtap({ lower, name, mode: 'bridge' })));
      const took = (now() - t0) / 1000;
      pushLate('lateBusy', stop());
      push('lateBusySeconds', took);
      await nl.deleteLinks(names('eb', N));
      await settle();
    }
    stopBusy();
    await ip(['netns', 'del', BUSY_NS]);
    await sleep(1000); // let the namespace's teardown finish before timing again
  }

  // Dumps of many links.
  if (on('bigdump')) {
    log(`dumps of ${cfg.bigLinks} links`);
    const big = cfg.bigLinks;
    await ref('create-batch', lower, 'k', 0, big);
    for (let r = 0; r < cfg.runs; r++) {
      await measureDumps(push, nl, big, 'Big');
    }
    await ref('delete-group', 'k', 0, big, randomGroup());
    await settle();
  }

  // Taps: open+close, and frames between two bridge-mode macvtaps.
  if (on('tap')) {
    log('taps and frames');
    const ta = await nl.createMacvtap({ lower, name: 'ta', mode: 'bridge', up: true });
    const tb = await nl.createMacvtap({ lower, name: 'tb', mode: 'bridge', up: true });
    await sleep(100);
    for (let r = 0; r < cfg.runs; r++) {
      const c = await ref('tap', 'ta', cfg.tapIterations, nodeDir);
      push('cTap', median(c.seconds));
      push('cTapSeq', (await ref('tap-io', 'ta', cfg.tapIterations, nodeDir, -1)).seconds / cfg.tapIterations);
      push('cTapIo', (await ref('tap-io', 'ta', cfg.tapIterations, nodeDir, SPIN_US)).seconds / cfg.tapIterations);
      const times = [];
      for (let i = 0; i < cfg.tapIterations; i++) {
        const t0 = now();
        const tap = await nl.openTap('ta', { nodeDir });
        await tap.close();
        times.push((now() - t0) / 1000);
      }
      push('libTap', median(times));
    }
    for (const size of frameSizes) {
      for (let r = 0; r < cfg.runs; r++) {
        const c = await ref('frames', 'ta', 'tb', size, cfg.frames, cfg.inflight, nodeDir);
        push(`cFrames${size}`, c.received / c.seconds);
        push(`cLost${size}`, c.lost);
        const a = await nl.openTap('ta', { nodeDir });
        const b = await nl.openTap('tb', { nodeDir });
        try {
          const l = await libFrames(a, b, ta.mac, tb.mac, size, cfg.frames, cfg.inflight);
          push(`libFrames${size}`, l.received / l.seconds);
          push(`libLost${size}`, l.lost);
        } finally {
          await Promise.all([a.close(), b.close()]);
        }
      }
    }
    await nl.deleteLinks(['ta', 'tb']);
  }
  await nl.close();

  // Memory: a process of its own, with V8's default heap sizing (the
  // target), then again with the young generation capped (to tell V8's
  // sizing from ours), then Node's own fs.promises.stat() the same number of
  // times (what V8 and Node grow under such a load, with no library).
  // `workload`: memory.mjs's arguments before the cycle counts.
  const memoryCheck = async (v8Flags, label = 'create/delete cycles', workload = [NS, lower]) => {
    log(`memory${v8Flags.length ? ` (${v8Flags.join(' ')})` : ''}: up to ${cfg.cycles} ${label} (at most ${cfg.cycleSeconds} s)`);
    const args = [...v8Flags, '--expose-gc', join(here, 'memory.mjs'), ...workload, cfg.cycles, cfg.cycleBatch, cfg.cycleSeconds];
    return JSON.parse((await spawner.do({ op: 'run', file: process.execPath, args: args.map(String) })).stdout);
  };
  const memory = {};
  if (on('memory')) {
    memory.library = await memoryCheck([]);
    if (cfg.semiSpaceMb) {
      memory.capped = { ...(await memoryCheck([`--max-semi-space-size=${cfg.semiSpaceMb}`])), semiSpaceMb: cfg.semiSpaceMb };
    }
    memory.node = await memoryCheck([], 'fs.promises.stat() calls', ['--node-reference']);
  }

  const totalSeconds = (now() - t00) / 1000;
  mach.loadAtEnd = loadavg().map((x) => +x.toFixed(2));
  const report = buildReport(raw, memory, mach, totalSeconds);
  process.stdout.write(report.text + '\n');
  // A run of some sections leaves the last full results alone.
  const base = cfg.only.length === SECTIONS.length ? 'results' : 'results-only';
  writeFileSync(
    join(outDir, `${base}.json`),
    JSON.stringify({ machine: mach, config: cfg, totalSeconds, raw, memory, rows: report.rows }, null, 2) + '\n',
  );
  writeFileSync(join(outDir, `${base}.md`), report.markdown + '\n');
  log(`wrote ${join(outDir, `${base}.json`)} and ${base}.md (${totalSeconds.toFixed(0)} s in all)`);
}

// ---------------------------------------------------------------- report

const FLOOR_CREATE =
  'Node floor: the same + uevent through a bare N-API addon, a promise awaited each (no validation, no Link; bench/floor.c)';
const FLOOR_DUMP = 'Node floor: the same dump through an I/O thread, a promise awaited each (a count, no Link objects)';
const FLOOR_OBJ_DUMP =
  "Node floor + objects: the same, each answer followed by as many objects of a Link's shape and size made in JS (no decoding; bench/link-shaped.mjs)";

const growthText = (v) => `${v >= 0 ? '+' : ''}${v.toFixed(1)}`;

function buildReport(raw, memory, mach, totalSeconds) {
  const { library: mem, capped: memCapped, node: memNode } = memory;
  const fmt = (v) => (v === undefined ? '' : Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 10 ? v.toFixed(1) : v.toFixed(2));
  const N = cfg.links;
  const rows = [];
  const us = (s) => s * 1e6;
  const ms = (s) => s * 1e3;
  // kind 'time': ratio = value / ref; kind 'rate': ratio = ref / value.
  // A row whose figures were not measured (BENCH_ONLY) is left out.
  const row = (section, what, key, unit, scale, refKey, target, kind = 'time') => {
    if (!raw[key] || (refKey && !raw[refKey])) return;
    const s = stats(raw[key]);
    const r = { section, what, key, unit, median: scale(s.median), min: scale(s.min), max: scale(s.max), n: s.n };
    if (refKey && refKey !== key) {
      // The ratio of each run to the C reference of that same run, then
      // their median, min and max: the host's load drifts between runs, and
      // a ratio of two medians would mix runs.
      const values = raw[key];
      const refs = raw[refKey];
      const ratios =
        values.length === refs.length
          ? values.map((v, i) => (kind === 'time' ? v / refs[i] : refs[i] / v))
          : [kind === 'time' ? s.median / stats(refs).median : stats(refs).median / s.median];
      const rs = stats(ratios);
      r.ratio = rs.median;
      r.ratioMin = rs.min;
      r.ratioMax = rs.max;
    } else if (refKey === key) {
      r.isRef = true;
    }
    if (target !== undefined) {
      r.target = `<= ${target.toFixed(2)}x`;
      r.pass = r.ratio <= target;
    }
    rows.push(r);
  };
  const absRow = (section, what, key, unit, limit) => {
    if (!raw[key]) return;
    const s = stats(raw[key]);
    const r = { section, what, key, unit, median: s.median, min: s.min, max: s.max, n: s.n };
    if (limit !== undefined) {
      r.target = `<= ${limit} ${unit}`;
      r.pass = s.max <= limit;
    }
    rows.push(r);
  };

  row('create', 'C: one RTM_NEWLINK at a time, wait for each ACK', 'cCreateSeq', 'us/link', us, 'cCreateSeq');
  row('create', "C: sequential creates through an I/O thread (the library's structure)", 'cCreateSeqIo', 'us/link', us, 'cCreateSeq');
  row('create', "C: the same + the tap's device number from its uevent (as createMacvtap)", 'cCreateSeqIoTap', 'us/link', us, 'cCreateSeq');
  row('create', FLOOR_CREATE, 'floorCreateSeq', 'us/link', us, 'cCreateSeq');
  row('create', 'library: sequential awaited createMacvtap', 'libCreateSeq', 'us/link', us, 'cCreateSeq', 1.15);
  row('create', 'library: sequential awaited createMacvtap (vs C through an I/O thread)', 'libCreateSeq', 'us/link', us, 'cCreateSeqIo');
  row(
    'create',
    'library: sequential awaited createMacvtap (vs C through an I/O thread + uevent)',
    'libCreateSeq',
    'us/link',
    us,
    'cCreateSeqIoTap',
  );
  row('create', 'library: sequential awaited createMacvtap (vs the Node floor)', 'libCreateSeq', 'us/link', us, 'floorCreateSeq');
  row('create', `execFile('ip link add') per call (${cfg.execLinks} links)`, 'execCreate', 'us/link', us, 'cCreateSeq');
  row('create', `ip -batch, ${N} 'link add' lines`, 'batchCreate', 'us/link', us, 'cCreateSeq');
  row('create', `C: batched in one sendmsg (bounded by rcvbuf)`, 'cCreateBatch', 'us/link', us, 'cCreateBatch');
  row(
    'create',
    "C: the same + each tap's device number from its uevent (as createMacvtap)",
    'cCreateBatchTap',
    'us/link',
    us,
    'cCreateBatch',
  );
  row('create', `library: ${N} concurrent createMacvtap (Promise.all)`, 'libCreateConc', 'us/link', us, 'cCreateBatch', 1.1);
  row('create', `ip -batch, ${N} 'link add' lines (vs C batched)`, 'batchCreate', 'us/link', us, 'cCreateBatch');
  row('delete', `C: one RTM_DELLINK at a time (${cfg.deleteOneLinks} links)`, 'cDelOne', 'ms/link', ms, 'cDelOne');
  row('delete', `C: the same through an I/O thread (the library's structure)`, 'cDelOneIo', 'ms/link', ms, 'cDelOne');
  row('delete', `library: deleteLink one at a time (${cfg.deleteOneLinks} links)`, 'libDelOne', 'ms/link', ms, 'cDelOne', 1.0);
  row('delete', `execFile('ip link del') per call (${cfg.execLinks} links)`, 'execDelOne', 'ms/link', ms, 'cDelOne');
  row('delete', `ip -batch, ${N} 'link del' lines`, 'batchDel', 'ms/link', ms, 'cDelOne');
  row('delete', `C: IFLA_GROUP on ${N} links, one RTM_DELLINK by group`, 'cGroupDel', `ms/${N}`, ms, 'cGroupDel');
  row('delete', `library: deleteLinks(${N} links)`, 'libGroupDel', `ms/${N}`, ms, 'cGroupDel', 1.2);
  row('dump', `C: RTM_GETLINK dump, ${N}+3 links, parsed to count`, 'cDump', 'ms', ms, 'cDump');
  row('dump', `C: the same dump, handed to an I/O thread each time (as the library)`, 'cDumpIo', 'ms', ms, 'cDump');
  row('dump', FLOOR_DUMP, 'floorDump', 'ms', ms, 'cDump');
  row('dump', FLOOR_OBJ_DUMP, 'floorObjDump', 'ms', ms, 'cDump');
  row('dump', `library: listLinks(), ${N}+3 links`, 'libDump', 'ms', ms, 'cDump', 1.5);
  row('dump', `library: listLinks(), ${N}+3 links (vs the Node floor)`, 'libDump', 'ms', ms, 'floorDump');
  row('dump', `library: listLinks(), ${N}+3 links, only the calls without a page fault`, 'libDumpNoFault', 'ms', ms, 'cDumpNoFaultRef');
  row(
    'dump',
    `library: listLinks(), ${N}+3 links, in a process with the young generation capped (node --max-semi-space-size=${cfg.semiSpaceMb})`,
    'libDumpCapped',
    'ms',
    ms,
    'cDump',
  );
  row('dump', 'C: the first write to a page of a fresh mapping (one minor page fault on this machine)', 'pageFault', 'us/page', us);
  row('dump', `execFile('ip -d -j link show') + JSON.parse, ${N}+3 links`, 'execDump', 'ms', ms, 'cDump');
  row('dump', `C: dump, ${cfg.bigLinks}+3 links`, 'cDumpBig', 'ms', ms, 'cDumpBig');
  row('dump', `C: the same dump, handed to an I/O thread each time`, 'cDumpIoBig', 'ms', ms, 'cDumpBig');
  row('dump', FLOOR_DUMP, 'floorDumpBig', 'ms', ms, 'cDumpBig');
  row('dump', FLOOR_OBJ_DUMP, 'floorObjDumpBig', 'ms', ms, 'cDumpBig');
  row('dump', `library: listLinks(), ${cfg.bigLinks}+3 links`, 'libDumpBig', 'ms', ms, 'cDumpBig', 1.5);
  row('dump', `library: listLinks(), ${cfg.bigLinks}+3 links (vs the Node floor)`, 'libDumpBig', 'ms', ms, 'floorDumpBig');
  for (const key of ['libDump', 'libDumpBig', 'libDumpCapped', 'floorObjDump', 'floorObjDumpBig']) {
    const r = rows.find((r) => r.key === key);
    if (!r || !raw[`${key}Faults`]) continue;
    const faults = stats(raw[`${key}Faults`]);
    const what = key.startsWith('floor') ? 'objects' : 'Links';
    r.detail = `${fmt(faults.median)} minor page faults a call (median of runs; min ${fmt(faults.min)}, max ${fmt(faults.max)}): pages of V8's young generation the ${what} land on`;
  }
  const noFault = rows.find((r) => r.key === 'libDumpNoFault');
  if (noFault && raw.libDumpNoFaultShare) {
    const share = stats(raw.libDumpNoFaultShare);
    noFault.detail = `${fmt(100 * share.median)}% of a run's timed calls took no page fault (median of runs; min ${fmt(100 * share.min)}%, max ${fmt(100 * share.max)}%); ${noFault.n} of ${raw.libDump.length} runs had such calls, each the mean of them against that run's C dump`;
  }
  row('dump', `execFile('ip -d -j link show') + JSON.parse, ${cfg.bigLinks}+3 links`, 'execDumpBig', 'ms', ms, 'cDumpBig');
  const H = cfg.handoffOps;
  const work = cfg.handoffWorkUs;
  row('handoff', `C: RTM_GETLINK of lo, one at a time (${H})`, 'cGet', 'us/op', us, 'cGet');
  row('handoff', 'C: the same through an I/O thread', 'cGetIo', 'us/op', us, 'cGet');
  row('handoff', "library: getLink('lo') one at a time (its Link built, the Wi-Fi check remembered)", 'libGet', 'us/op', us, 'cGet');
  row('handoff', "library: getLink('lo') (vs C through an I/O thread)", 'libGet', 'us/op', us, 'cGetIo');
  row('handoff', "Node itself: fs.promises.stat('/proc/self') one at a time (its thread-pool round trip)", 'nodeStat', 'us/op', us, 'cGet');
  row('handoff', `C ping-pong through the I/O thread, empty requests, ${SPIN_US} us spin`, 'pingSpin', 'us/round trip', us);
  row('handoff', 'C ping-pong, empty requests, no spin', 'pingNoSpin', 'us/round trip', us);
  row(
    'handoff',
    `C ping-pong, I/O thread busy ${work} us a request (caller sleeps), ${SPIN_US} us spin`,
    'pingWork',
    `us over ${work}`,
    us,
  );
  const pct = (v) => `${(v * 100).toFixed(v < 0.1 ? 1 : 0)}%`;
  for (const r of rows) {
    if (!['cCreateSeqIo', 'cCreateSeqIoTap', 'cGetIo', 'pingSpin', 'pingNoSpin', 'pingWork'].includes(r.key)) continue;
    const sleeps = stats(raw[`${r.key}CallerSleeps`]).median;
    const wakes = stats(raw[`${r.key}IoWakes`]).median;
    r.detail = `the caller slept in epoll_wait on ${pct(sleeps)} of requests, the I/O thread was asleep and woken for ${pct(wakes)} (median of runs)`;
  }
  row('tap', 'C: open+close /dev/tapN', 'cTap', 'us/op', us, 'cTap');
  row('tap', "C: openTap's work (find the link, its node; TUNSETIFF...) + close, one thread (mean)", 'cTapSeq', 'us/op', us, 'cTap');
  row('tap', 'C: the same, the open and the close each handed to an I/O thread (mean)', 'cTapIo', 'us/op', us, 'cTap');
  row('tap', 'library: openTap (1 queue) + close', 'libTap', 'us/op', us, 'cTap', 1.2);
  row('tap', 'library: openTap (1 queue) + close (vs C through an I/O thread)', 'libTap', 'us/op', us, 'cTapIo');
  for (const size of frameSizes.filter((size) => raw[`cFrames${size}`])) {
    const kpps = (v) => v / 1e3;
    row(
      'frames',
      `C: write A -> read B, ${size} B frames, ${cfg.inflight} in flight`,
      `cFrames${size}`,
      'kframes/s',
      kpps,
      `cFrames${size}`,
      undefined,
      'rate',
    );
    row(
      'frames',
      `library: writeFrame -> readFrame, ${size} B, ${cfg.inflight} in flight`,
      `libFrames${size}`,
      'kframes/s',
      kpps,
      `cFrames${size}`,
      undefined,
      'rate',
    );
    for (const who of ['c', 'lib']) {
      const r = rows.at(who === 'c' ? -2 : -1);
      r.mbps = (r.median * 1e3 * size) / 1e6;
      r.lost = raw[`${who}Lost${size}`].reduce((a, b) => a + b, 0);
    }
  }
  absRow('event loop', 'worst setInterval(1 ms) lateness, idle (baseline)', 'lateIdle', 'ms');
  absRow('event loop', `worst lateness during ${N} concurrent creates`, 'lateCreate', 'ms', 2);
  absRow('event loop', `Node floor: worst lateness during ${N} concurrent bare addon creates (bench/floor.c)`, 'lateFloor', 'ms');
  absRow('event loop', `worst lateness during ${N} concurrent creates, rtnl_lock busy`, 'lateBusy', 'ms', 2);
  absRow('event loop', `Node itself: worst lateness during ${N} concurrent fs.promises.stat() (platform reference)`, 'lateFs', 'ms');
  for (const r of rows.filter((r) => r.section === 'event loop')) {
    const key = r.key;
    const per = raw[key].map((w, i) => `${fmt(w)} (ran ${fmt(raw[`${key}Ran`][i])}, waited ${fmt(raw[`${key}Waited`][i])})`);
    r.note = `${r.what}, per run, ms (of the worst gap: JS thread on a CPU / runnable waiting for a CPU): ${per.join(', ')}`;
  }
  const mb = (b) => b / 1048576;
  const memDetail = (m) =>
    `RSS ${mb(m.before.rss).toFixed(1)} -> ${mb(m.after.rss).toFixed(1)} MB after ${m.warmupCycles} warm-up cycles and a forced GC; ` +
    `V8 heap pages ${mb(m.before.heapPhysical).toFixed(1)} -> ${mb(m.after.heapPhysical).toFixed(1)} MB ` +
    `(of which young generation ${mb(m.before.newSpacePhysical).toFixed(1)} -> ${mb(m.after.newSpacePhysical).toFixed(1)} MB), ` +
    `live JS heap ${mb(m.before.heapUsed).toFixed(1)} -> ${mb(m.after.heapUsed).toFixed(1)} MB, ` +
    `RSS outside V8's heap ${mb(m.before.rss - m.before.heapPhysical).toFixed(1)} -> ${mb(m.after.rss - m.after.heapPhysical).toFixed(1)} MB (RSS - heap pages); ` +
    `${m.seconds.toFixed(0)} s` +
    (m.half ? `; second half (${m.half.cycles} -> ${m.cycles} cycles): RSS ${growthText(mb(m.after.rss - m.half.rss))} MB` : '');
  const stopped = (m) => (m.cycles < m.target ? `; stopped at ${m.seconds.toFixed(0)} s of ${cfg.cycleSeconds}` : '');
  if (mem) {
    const growth = mb(mem.after.rss - mem.before.rss);
    rows.push({
      section: 'memory',
      what: `RSS growth after ${mem.cycles} create/delete cycles (${mem.batch} at a time${stopped(mem)})`,
      unit: 'MB',
      median: growth,
      target: '<= 5 MB',
      pass: growth <= 5,
      detail: memDetail(mem),
    });
  }
  // What the cycles left behind, once V8 has given back the young
  // generation it grew under the load (memory.mjs: idle, then a GC).
  const idledRow = (m, what, note = '') => {
    if (!m?.idled) return;
    rows.push({
      section: 'memory',
      what: `${what}, RSS growth once the process has idled ${m.idleSeconds} s${note}`,
      unit: 'MB',
      median: mb(m.idled.rss - m.before.rss),
      detail:
        `RSS ${mb(m.before.rss).toFixed(1)} -> ${mb(m.idled.rss).toFixed(1)} MB, young generation ` +
        `${mb(m.before.newSpacePhysical).toFixed(1)} -> ${mb(m.idled.newSpacePhysical).toFixed(1)} MB, fds ${m.before.fds} -> ${m.idled.fds}`,
    });
  };
  idledRow(mem, 'the same cycles', ' (V8 gives its young generation back)');
  if (memCapped) {
    rows.push({
      section: 'memory',
      what: `the same, young generation capped (node --max-semi-space-size=${memCapped.semiSpaceMb}), ${memCapped.cycles} cycles${stopped(memCapped)}`,
      unit: 'MB',
      median: mb(memCapped.after.rss - memCapped.before.rss),
      detail: memDetail(memCapped),
    });
  }
  if (memNode) {
    rows.push({
      section: 'memory',
      what: `Node itself: RSS growth after ${memNode.cycles} fs.promises.stat() calls (${memNode.batch} at a time; platform reference)`,
      unit: 'MB',
      median: mb(memNode.after.rss - memNode.before.rss),
      detail: memDetail(memNode),
    });
  }
  idledRow(memNode, 'Node itself: the same calls');
  if (mem) {
    rows.push({
      section: 'memory',
      what: 'open fds before -> after the cycles',
      unit: 'fds',
      median: mem.after.fds - mem.before.fds,
      target: 'unchanged',
      pass: mem.after.fds === mem.before.fds,
      detail: `${mem.before.fds} -> ${mem.after.fds} (after close(): ${mem.closed.fds})`,
    });
  }

  const header = ['', 'contender', 'median', 'min..max', 'unit', 'x C', 'target', 'result'];
  const lines = rows.map((r) => [
    r.section,
    r.what,
    fmt(r.median),
    r.min === undefined ? '' : `${fmt(r.min)}..${fmt(r.max)}`,
    r.unit + (r.mbps !== undefined ? ` (${fmt(r.mbps)} MB/s${r.lost ? `, ${r.lost} lost` : ''})` : ''),
    r.isRef ? 'ref' : r.ratio === undefined ? '' : `${r.ratio.toFixed(2)}x (${r.ratioMin.toFixed(2)}..${r.ratioMax.toFixed(2)})`,
    r.target ?? '',
    r.pass === undefined ? '' : r.pass ? 'pass' : 'FAIL',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const textLine = (l) =>
    l
      .map((c, i) => (i >= 2 && i <= 3 ? c.padStart(widths[i]) : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  const machineLine = `machine: nproc ${mach.nproc} (${mach.cpu}), ${mach.memGiB} GiB, kernel ${mach.kernel}, node ${mach.node}, ${mach.iproute2}, ${mach.cc}`;
  const loadLine = `load average (1/5/15 min) at start ${mach.loadAtStart.join(' ')}, at end ${mach.loadAtEnd.join(' ')} (other work on the machine adds noise)`;
  const onlyText = cfg.only.length === SECTIONS.length ? '' : `; only ${cfg.only.join(', ')} (BENCH_ONLY)`;
  const runsLine = `each figure: median of ${cfg.runs} runs [min..max]; "x C" = time / C reference time in the same run (frames: C rate / rate), the median of the runs' ratios (min..max); whole bench ${totalSeconds.toFixed(0)} s${onlyText}`;
  const detailLines = rows.filter((r) => r.detail && r.min !== undefined).map((r) => `  ${r.what}: ${r.detail}`);
  const memLines = [
    ...rows.filter((r) => r.section === 'memory').map((r) => `  ${r.what}: ${r.detail}`),
    ...rows.filter((r) => r.note).map((r) => `  ${r.note}`),
  ];
  const busyLine =
    raw.lateCreateSeconds &&
    raw.lateBusySeconds &&
    `  ${N} concurrent creates took ${fmt(stats(raw.lateCreateSeconds).median * 1e3)} ms idle, ${fmt(stats(raw.lateBusySeconds).median * 1e3)} ms with rtnl_lock busy (median)` +
      (raw.lateFloorSeconds
        ? `, the Node floor's ${N} (one at a time on its I/O thread) ${fmt(stats(raw.lateFloorSeconds).median * 1e3)} ms`
        : '') +
      '; ' +
      `the caller's synchronous loop issuing the ${N} calls alone took ${fmt(stats(raw.lateIssueMs).median)} ms [${fmt(stats(raw.lateIssueMs).min)}..${fmt(stats(raw.lateIssueMs).max)}]` +
      (raw.lateIssueFaults
        ? ` with ${fmt(stats(raw.lateIssueFaults).median)} minor page faults [${fmt(stats(raw.lateIssueFaults).min)}..${fmt(stats(raw.lateIssueFaults).max)}]`
        : '') +
      (raw.lateFloorIssueMs
        ? `; issuing ${N} Node floor calls took ${fmt(stats(raw.lateFloorIssueMs).median)} ms [${fmt(stats(raw.lateFloorIssueMs).min)}..${fmt(stats(raw.lateFloorIssueMs).max)}]`
        : '') +
      (raw.lateFsIssueMs
        ? `; issuing ${N} fs.promises.stat() calls took ${fmt(stats(raw.lateFsIssueMs).median)} ms [${fmt(stats(raw.lateFsIssueMs).min)}..${fmt(stats(raw.lateFsIssueMs).max)}]`
        : '');
  const text = [
    machineLine,
    loadLine,
    runsLine,
    '',
    textLine(header),
    textLine(widths.map((w) => '-'.repeat(w))),
    ...lines.map(textLine),
    '',
    ...memLines,
    ...(busyLine ? [busyLine] : []),
    ...detailLines,
  ].join('\n');
  const md = [
    `- ${machineLine}`,
    `- ${loadLine}`,
    `- ${runsLine}`,
    '',
    `| ${header.join(' | ')} |`,
    `| ${header.map((_, i) => (i >= 2 && i <= 3 ? '---:' : '---')).join(' | ')} |`,
    ...lines.map((l) => `| ${l.map((c) => c.replaceAll('|', '\\|')).join(' | ')} |`),
    '',
    ...[...memLines, ...(busyLine ? [busyLine] : []), ...detailLines].map((l) => `-${l.slice(1)}`),
  ].join('\n');
  return { rows, text, markdown: md };
}

try {
  await main();
} finally {
  cleanup();
}
