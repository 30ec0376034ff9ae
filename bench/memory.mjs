// Memory and fd check for bench/run.mjs, in a process of its own so its RSS
// is the library's alone: create/delete cycles of macvtaps through one
// handle, RSS and open fds before and after (after a forced GC), and again
// once the process has idled a few seconds.
//
//   node [--max-semi-space-size=MB] --expose-gc bench/memory.mjs NETNS LOWER_INDEX CYCLES BATCH SECONDS
//   node --expose-gc bench/memory.mjs --node-reference CYCLES BATCH SECONDS
//
// A cycle is one createMacvtap and that link's deletion; BATCH links are
// created concurrently, then removed with one deleteLinks(). It stops at
// CYCLES, or at the first batch boundary after SECONDS, and prints JSON.
// With --node-reference a cycle is one fs.promises.stat() instead, BATCH at
// a time: the same number of promise-returning calls made by Node itself,
// to tell what V8 and Node grow under such a load from what the library does.
import { readdirSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { getHeapSpaceStatistics, getHeapStatistics } from 'node:v8';
import { setTimeout as sleep } from 'node:timers/promises';

import { open } from '../dist/index.js';

const nodeReference = process.argv[2] === '--node-reference';
const [netns, lowerArg, cyclesArg, batchArg, secondsArg] = nodeReference
  ? [undefined, undefined, ...process.argv.slice(3)]
  : process.argv.slice(2);
const lower = Number(lowerArg);
const cycles = Number(cyclesArg);
const batch = Number(batchArg);
const seconds = Number(secondsArg);
if (typeof globalThis.gc !== 'function') throw new Error('run with --expose-gc');

const fdCount = () => readdirSync('/proc/self/fd').length;
async function settle() {
  for (let i = 0; i < 3; i++) {
    globalThis.gc();
    await sleep(50);
  }
  const m = process.memoryUsage();
  const h = getHeapStatistics();
  return {
    rss: m.rss,
    heapUsed: m.heapUsed,
    heapPhysical: h.total_physical_size, // pages V8 holds, live or not (the young generation grows under load)
    newSpacePhysical: getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.physical_space_size, // the young generation
    mallocedByV8: h.malloced_memory,
    external: m.external,
    arrayBuffers: m.arrayBuffers,
    fds: fdCount(),
  };
}

const nl = nodeReference ? undefined : await open({ netns });
async function oneBatch(k) {
  if (!nl) {
    await Promise.all(Array.from({ length: batch }, () => stat('/proc/self')));
    return;
  }
  const names = Array.from({ length: batch }, (_, i) => `m${k % 2}x${i}`);
  await Promise.all(names.map((name) => nl.createMacvtap({ lower, name, mode: 'bridge' })));
  await nl.deleteLinks(names);
}

// Warm up: JIT, the I/O thread's allocator arenas, V8's heap sizing.
const warm = Math.max(2, Math.ceil(2000 / batch));
for (let k = 0; k < warm; k++) await oneBatch(k);
const before = await settle();

const t0 = performance.now();
const samples = [];
let done = 0;
let k = 0;
let half;
while (done < cycles && (performance.now() - t0) / 1000 < seconds) {
  await oneBatch(k++);
  done += batch;
  // A second reference point once the process has reached its steady state.
  if (!half && (done >= cycles / 2 || (performance.now() - t0) / 1000 >= seconds / 2)) half = { cycles: done, ...(await settle()) };
  if (k % 20 === 0) samples.push({ cycles: done, rss: process.memoryUsage().rss, seconds: (performance.now() - t0) / 1000 });
}
const elapsed = (performance.now() - t0) / 1000;
const after = await settle();
// V8 keeps the young generation it grew under the load until a GC finds
// the allocation rate low (Heap::ReduceNewSpaceSize): after some seconds
// idle, not at once. What RSS is then is what the cycles left behind.
const idleSeconds = 8;
await sleep(idleSeconds * 500);
globalThis.gc();
await sleep(idleSeconds * 500);
const idled = await settle();
await nl?.close();
const closed = await settle();
process.stdout.write(
  JSON.stringify({
    cycles: done,
    target: cycles,
    batch,
    seconds: elapsed,
    warmupCycles: warm * batch,
    before,
    half,
    after,
    idleSeconds,
    idled,
    closed,
    samples,
  }) + '\n',
);
