// Worker-thread side of test/lifecycle.test.ts. Imports the built library
// (dist/), since worker threads do not go through the test runner's loader.
//   mode 'cycle': open, create, getLink, close, post the results, and end.
//   mode 'abandon': open, create, post 'ready', then keep calls in flight
//                   (or, with `idle`, none) until the parent terminates it.
import { parentPort, workerData } from 'node:worker_threads';

const { open } = await import(workerData.library);
const { netns, mode, name, mac, idle } = workerData;

const nl = await open({ netns });
const created = await nl.createMacvtap({ lower: 'v0', name, mac });
const got = await nl.getLink(name);

if (mode === 'cycle') {
  await nl.close();
  let afterClose = 'resolved';
  try {
    await nl.getLink(name);
  } catch (err) {
    afterClose = err.code;
  }
  parentPort.postMessage({ created, got, closed: nl.closed, afterClose });
} else {
  // Keep the native side busy: there is always a request in flight.
  const spin = () => {
    nl.getLink(name).then(spin, () => undefined);
    nl.listLinks().then(
      () => undefined,
      () => undefined,
    );
  };
  if (!idle) for (let i = 0; i < 8; i++) spin();
  parentPort.postMessage({ created, got, ready: true });
  setInterval(() => undefined, 1000);
}
