// Driver for test/lifecycle.test.ts, in a process of its own so that an
// abort shows as its exit status: terminates workers while their handles
// are busy in ways the plain termination test does not cover, then prints
// one JSON line of what the process still holds.
//   - a watchLinks() stream whose socket is readable (links churn meanwhile);
//   - pending readFrame()s on a tap while frames arrive;
//   - openTap() and watchLinks() calls in flight, answered or not.
//   argv: <library path> <netns name> <node dir> <iterations>
import { readdirSync, readlinkSync } from 'node:fs';
import { Worker } from 'node:worker_threads';

const [library, netns, nodeDir, iterations] = process.argv.slice(2);
const { open } = await import(library);
const fdLinks = () =>
  readdirSync('/proc/self/fd').map((f) => {
    try {
      return readlinkSync(`/proc/self/fd/${f}`);
    } catch {
      return '';
    }
  });
const held = () => {
  const links = fdLinks();
  return {
    tapFds: links.filter((l) => /tap/u.test(l)).length,
    sockets: links.filter((l) => l.startsWith('socket:')).length,
    nodes: readdirSync(nodeDir).length,
  };
};

const nl = await open({ netns });
await nl.createMacvtap({ lower: 'v0', name: 'tba', mode: 'bridge', up: true });
await nl.createMacvtap({ lower: 'v0', name: 'tbb', mode: 'bridge', up: true });
const sender = await nl.openTap('tbb', { nodeDir });
const frame = Buffer.alloc(60);
frame.fill(0xff, 0, 6);
frame.writeUInt16BE(0x88b5, 12);
let stop = false;
const churn = (async () => {
  while (!stop) {
    await nl.createMacvlan({ lower: 'v0', name: 'tbchurn' });
    await nl.deleteLink('tbchurn');
    await sender.writeFrame(frame);
  }
})();

const bodies = {
  watch: `for await (const e of nl.watchLinks()) {}`,
  read: `const t = await nl.openTap('tba', { nodeDir: ${JSON.stringify(nodeDir)}, queues: 2 });
         for (let q = 0; q < 2; q++) (async () => { for (;;) await t.readFrame(q); })().catch(() => {});`,
  inflight: `for (let i = 0; i < 4; i++) nl.openTap('tba', { nodeDir: ${JSON.stringify(nodeDir)}, owner: { uid: 0 } }).catch(() => {});
             for (let i = 0; i < 4; i++) nl.watchLinks()[Symbol.asyncIterator]().next().catch(() => {});`,
};
// Warm: the addon's per-thread sockets exist, the sender's tap is open.
await nl.watchLinks({ existing: true })[Symbol.asyncIterator]().return();
const before = held();
for (const [kind, body] of Object.entries(bodies)) {
  for (let i = 0; i < Number(iterations); i++) {
    const code = `const { open } = await import(${JSON.stringify(library)});
      const { parentPort } = await import('node:worker_threads');
      const nl = await open({ netns: ${JSON.stringify(netns)} });
      ${kind === 'inflight' ? '' : '(async () => {'} ${body} ${kind === 'inflight' ? '' : '})().catch(() => {});'}
      parentPort.postMessage('ready');`;
    const worker = new Worker(code, { eval: true });
    await new Promise((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    await new Promise((r) => setTimeout(r, i % 4));
    await worker.terminate();
  }
}
stop = true;
await churn;
await new Promise((r) => setTimeout(r, 200));
console.log(JSON.stringify({ before, after: held() }));
await sender.close();
await nl.deleteLinks(['tba', 'tbb']);
await nl.close();
