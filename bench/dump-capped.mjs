// listLinks() in a process of its own with V8's young generation capped,
// for bench/run.mjs: the remedy an application on a VM with dear page
// faults has. With the default sizing V8 gives young-generation pages back
// and takes a fault on each again as the Links land on it (bench/idle-dump.mjs);
// with semi-spaces of 1 MB it keeps and reuses the same few pages.
//
//   node --max-semi-space-size=1 bench/dump-capped.mjs NETNS EXPECT WARM REPEATS
//
// WARM untimed calls (V8 optimizes the path), then one untimed and REPEATS
// timed, as bench/run.mjs times its own; prints JSON { seconds, faults }:
// the mean of the timed calls and their minor page faults a call.
import { open } from '../dist/index.js';

const [netns, expectArg, warmArg, repeatsArg] = process.argv.slice(2);
const expect = Number(expectArg);
const repeats = Number(repeatsArg);
const nl = await open({ netns });
try {
  for (let i = 0; i <= Number(warmArg); i++) {
    const links = await nl.listLinks();
    if (links.length < expect) throw new Error(`listLinks() gave ${links.length} links, expected >= ${expect}`);
  }
  let seconds = 0;
  const faults0 = process.resourceUsage().minorPageFault;
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    await nl.listLinks();
    seconds += (performance.now() - t0) / 1000;
  }
  const faults = (process.resourceUsage().minorPageFault - faults0) / repeats;
  process.stdout.write(JSON.stringify({ seconds: seconds / repeats, faults }) + '\n');
} finally {
  await nl.close();
}
