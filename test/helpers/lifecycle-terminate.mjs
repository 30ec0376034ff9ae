// Driver for test/lifecycle.test.ts: runs in its own process so that a crash
// (abort) is reported as this process's exit status instead of killing the
// test runner. Starts workers that open a handle (and, unless 'idle', keep
// calls in flight), terminates them, then checks the process still works and
// leaked no threads or fds. Prints one JSON line; exits 0 when it got that far.
//   argv: <library path> <worker path> <netns name> <iterations> <'idle' | 'busy'>
import { readdirSync } from 'node:fs';
import { Worker } from 'node:worker_threads';

const [library, workerPath, netns, iterations, load] = process.argv.slice(2);
const idle = load === 'idle';
const { open } = await import(library);

const threads = () => readdirSync('/proc/self/task').length;
const fds = () => readdirSync('/proc/self/fd').length;
const settle = () => new Promise((r) => setTimeout(r, 100));

// Warm up: load the addon, run one worker through a whole cycle, and let
// the runtime start whatever threads it starts lazily.
const warm = await open({ netns });
await warm.listLinks();
await warm.close();
const warmWorker = new Worker(workerPath, { workerData: { library, netns, mode: 'cycle', name: 'warm0', mac: '02:00:00:00:7e:ff' } });
const warmExit = await new Promise((resolve, reject) => {
  warmWorker.once('exit', resolve);
  warmWorker.once('error', reject);
});
if (warmExit !== 0) throw new Error(`the warm-up worker exited with ${warmExit}`);
await settle();
const before = { threads: threads(), fds: fds() };

const exitCodes = [];
const ready = [];
for (let i = 0; i < Number(iterations); i++) {
  const name = `wt${i}`;
  const mac = `02:00:00:00:7e:${i.toString(16).padStart(2, '0')}`;
  const worker = new Worker(workerPath, { workerData: { library, netns, mode: 'abandon', idle, name, mac } });
  const exited = new Promise((resolve) => worker.once('exit', resolve));
  const msg = await new Promise((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  ready.push(msg.ready === true && msg.got.name === name);
  // Alternate: terminate at once, and after letting replies pile up.
  if (i % 2) await new Promise((r) => setTimeout(r, 5));
  await worker.terminate();
  exitCodes.push(await exited);
}
await settle();
const after = { threads: threads(), fds: fds() };

const nl = await open({ netns });
const names = (await nl.listLinks({ kind: 'macvtap' })).map((l) => l.name).sort();
await nl.close();
console.log(JSON.stringify({ before, after, exitCodes, ready, names }));
