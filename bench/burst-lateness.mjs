// Where the worst timer lateness of a burst of concurrent creates comes
// from: for each burst, the worst gap of a 1 ms setInterval (when, and the
// JS thread's time on a CPU / runnable without one across it), the caller's
// issuing loop (time, minor page faults) and V8's garbage collections in
// the burst (kind:duration@start, ms; kind 1 is a scavenge). As in
// `npm run bench` (section loop), after 3000 warm-up creates, with a pause
// before each burst.
//   bash bench/with-macvtaps.sh 0 node bench/burst-lateness.mjs [bursts] [links] [pauseMs]
import { dirname, join } from 'node:path';
import { PerformanceObserver } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { latenessProbe } from './lateness-probe.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const { open } = await import(pathToFileURL(join(here, '..', 'dist', 'index.js')).href);
const [bursts = 12, links = 500, pauseMs = 300] = process.argv.slice(2).map(Number);

const now = () => performance.now();

let start = 0;
let gcs = [];
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) gcs.push(`${e.detail?.kind}:${e.duration.toFixed(2)}@${(e.startTime - start).toFixed(1)}`);
}).observe({ entryTypes: ['gc'] });

const names = (prefix) => Array.from({ length: links }, (_, i) => `${prefix}${i}`);
const nl = await open();
for (let i = 0; i < 3000; i++) {
  await nl.createMacvtap({ lower: 'v0', name: 'warm' });
  await nl.deleteLink('warm');
}
for (let b = 0; b < bursts; b++) {
  await new Promise((resolve) => setTimeout(resolve, pauseMs));
  gcs = [];
  const stop = latenessProbe();
  start = now();
  const faults0 = process.resourceUsage().minorPageFault;
  const calls = names('bl').map((name) => nl.createMacvtap({ lower: 'v0', name, mode: 'bridge' }));
  const issued = now() - start;
  const faults = process.resourceUsage().minorPageFault - faults0;
  await Promise.all(calls);
  const took = now() - start;
  const w = stop();
  console.log(
    `burst ${b}: worst gap ${w.worst.toFixed(2)} ms at ${(w.at - start).toFixed(1)} (ran ${w.ran.toFixed(2)}, waited ${w.waited.toFixed(2)}); ` +
      `issuing loop ${issued.toFixed(2)} ms, ${faults} faults; all ${took.toFixed(1)} ms; gc ${gcs.join(' ') || '-'}`,
  );
  await nl.deleteLinks(names('bl'));
}
await nl.close();
