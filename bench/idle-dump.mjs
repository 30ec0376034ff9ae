// listLinks() in a process that idles between calls: bursts of calls with a
// pause before each, the time and the minor page faults of every call. V8
// shrinks its young generation after a scavenge while the allocation rate
// is below 1000 bytes/ms (Heap::ShouldResizeNewSpace), and the pages it
// gives back fault in again under the next call's Links.
//   bash bench/with-macvtaps.sh 500 node bench/idle-dump.mjs [pauseMs] [bursts] [calls]
//   (node --predictable turns that shrinking off, among much else)
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const { open } = await import(pathToFileURL(join(here, '..', 'dist', 'index.js')).href);
const [pauseMs = 2000, bursts = 20, calls = 10] = process.argv.slice(2).map(Number);

const nl = await open();
const times = [];
const faults = [];
await nl.listLinks();
for (let b = 0; b < bursts; b++) {
  await new Promise((resolve) => setTimeout(resolve, pauseMs));
  for (let i = 0; i < calls; i++) {
    const f0 = process.resourceUsage().minorPageFault;
    const t0 = process.hrtime.bigint();
    await nl.listLinks();
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    faults.push(process.resourceUsage().minorPageFault - f0);
  }
}
await nl.close();
const median = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
const mean = (a) => a.reduce((x, y) => x + y, 0) / a.length;
console.log(
  `${process.execArgv.join(' ') || 'node'}: pause ${pauseMs} ms, ${bursts} bursts of ${calls}: ` +
    `median ${median(times).toFixed(2)} ms a call, ${mean(faults).toFixed(1)} minor faults a call (mean)`,
);
