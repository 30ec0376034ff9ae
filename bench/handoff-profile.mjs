// Where the time of one sequential create goes, the Node floor's (bench/floor.c)
// and the library's, from the trace points both mark when built with
// -DMACVLAN_TRACE_POINTS (native/trace_points.h). bench/handoff-profile.sh
// runs both steps:
//   node bench/handoff-profile.mjs run DIST FLOOR_NODE ROUNDS WINDOWS_JSON
//     (inside a namespace with veth v0): ROUNDS rounds of 500 sequential
//     creates each, the floor and the library in turn; the timed rounds'
//     CLOCK_MONOTONIC windows go to WINDOWS_JSON, the marks to the files
//     named by MACVLAN_TRACE_FILE and MACVLAN_TRACE_FLOOR_FILE at exit.
//   node bench/handoff-profile.mjs report WINDOWS_JSON LIB_MARKS FLOOR_MARKS
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const LINKS = 500;
const WARMUP_ROUNDS = 6; // 3000 library creates, as bench/run.mjs: V8 optimizes the create path after some 2000
const SPIN_US = 100; // the floor's I/O thread looks for work as long as the library's (kSpinMicros)

// Segments between consecutive points (native/trace_points.h); "JS" runs
// from the settling of one answer to the flush of the next call.
const SEGMENTS = [
  ['hand-over to the I/O thread', 1, 2],
  ['request built', 2, 3],
  ['sendmsg(): the kernel creates the link', 3, 4],
  ['replies read (echo, uevent, ACK)', 4, 5],
  ['JS thread woken', 5, 6],
  ['answers made JS values', 6, 7],
  ['JS: settle, continuation, next call', 7, 'next'],
];

const [mode, ...args] = process.argv.slice(2);
if (mode === 'run') await run(...args);
else if (mode === 'report') report(...args);
else throw new Error('usage: handoff-profile.mjs run DIST FLOOR_NODE ROUNDS WINDOWS_JSON | report WINDOWS_JSON LIB_MARKS FLOOR_MARKS');

async function run(dist, floorNode, roundsArg, windowsPath) {
  const floor = createRequire(import.meta.url)(floorNode);
  const { open } = await import(`${dist}/index.js`);
  const rounds = Number(roundsArg);
  const nl = await open();
  const lower = (await nl.getLink('v0')).index;
  const names = (prefix) => Array.from({ length: LINKS }, (_, i) => `${prefix}${i}`);
  const windows = { floor: [], library: [] };
  const sides = {
    floor: async () => {
      floor.open('/proc/self/ns/net', 'create', LINKS, lower, 'f', SPIN_US);
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < LINKS; i++) await floor.call();
      const t1 = process.hrtime.bigint();
      floor.close();
      await nl.deleteLinks(names('f'));
      return [t0, t1];
    },
    library: async () => {
      const list = names('l');
      const t0 = process.hrtime.bigint();
      for (const name of list) await nl.createMacvtap({ lower, name, mode: 'bridge' });
      const t1 = process.hrtime.bigint();
      await nl.deleteLinks(list);
      return [t0, t1];
    },
  };
  for (let r = 0; r < WARMUP_ROUNDS + rounds; r++) {
    const order = r % 2 ? ['library', 'floor'] : ['floor', 'library'];
    for (const side of order) {
      const window = await sides[side]();
      if (r >= WARMUP_ROUNDS) windows[side].push(window.map(String));
    }
  }
  await nl.close();
  writeFileSync(windowsPath, JSON.stringify(windows));
}

/** The calls in `windows`: for each, the first time it passed each point, and when the next call was flushed. */
function callsOf(marksPath, windows) {
  const marks = readFileSync(marksPath, 'utf8')
    .trim()
    .split('\n')
    .map((line) => line.split(' ').map(Number))
    .sort((a, b) => a[1] - b[1]);
  const calls = [];
  let call;
  for (const [point, ns] of marks) {
    if (point === 1) {
      if (call) calls.push({ ...call, next: ns });
      call = { 1: ns };
    } else if (call && call[point] === undefined) {
      call[point] = ns;
    }
  }
  // A call and the next one in the same round: the last call of a round
  // has none.
  const sameRound = (c) => windows.some(([t0, t1]) => c[1] >= Number(t0) && c.next <= Number(t1));
  return calls.filter((c) => sameRound(c) && SEGMENTS.every(([, from]) => c[from] !== undefined));
}

function report(windowsPath, libMarks, floorMarks) {
  const windows = JSON.parse(readFileSync(windowsPath, 'utf8'));
  const calls = { floor: callsOf(floorMarks, windows.floor), library: callsOf(libMarks, windows.library) };
  const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
  const us = (c, from, to) => (c[to] - c[from]) / 1000;
  const rows = [...SEGMENTS, ['a create, flush to flush', 1, 'next']].map(([what, from, to]) => {
    const [f, l] = [median(calls.floor.map((c) => us(c, from, to))), median(calls.library.map((c) => us(c, from, to)))];
    return [what, f, l, l - f];
  });
  // What is not the kernel's: the whole less sendmsg(), call by call.
  const ours = (c) => us(c, 1, 'next') - us(c, 3, 4);
  const [fo, lo] = [median(calls.floor.map(ours)), median(calls.library.map(ours))];
  rows.push(['all but sendmsg()', fo, lo, lo - fo]);
  const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const [fm, lm] = [mean(calls.floor.map((c) => us(c, 1, 'next'))), mean(calls.library.map((c) => us(c, 1, 'next')))];
  rows.push(['a create, flush to flush: the mean', fm, lm, lm - fm]);
  console.log(`medians of ${calls.floor.length} floor and ${calls.library.length} library creates, us`);
  console.log(`${'segment'.padEnd(42)} ${'floor'.padStart(8)} ${'library'.padStart(8)} ${'+'.padStart(7)}`);
  for (const [what, f, l, d] of rows) {
    console.log(`${what.padEnd(42)} ${f.toFixed(1).padStart(8)} ${l.toFixed(1).padStart(8)} ${d.toFixed(1).padStart(7)}`);
  }
}
