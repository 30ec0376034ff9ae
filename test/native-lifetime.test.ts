// Native objects that JS lets go of are collected: a tap queue or an event
// socket hands its settle callback to the addon, and that callback closes
// over the JS object that holds the native one. On SOCK_SEQPACKET pairs: no
// kernel links, no privileges.
import { closeSync, writeSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';

import { native, type NativeEventSocket } from '../src/binding.js';
import { openTapQueue, type TapQueueCalls } from '../src/calls.js';
import { fdTarget } from './helpers/fds.js';
import { afterFinalizers, collected } from './helpers/gc.js';

const writers: number[] = [];
afterEach(() => {
  for (const fd of writers.splice(0)) closeSync(fd);
});

function pair(): { reader: number; writer: number } {
  const [reader, writer] = native.seqpacketPair();
  writers.push(writer);
  return { reader, writer };
}

// Each test keeps only a WeakRef: what it made lives in a function that has returned.

describe('a tap queue', () => {
  it('closed and dropped, is collected', async () => {
    const { reader, writer } = pair();
    const ref = await (async () => {
      const queue = openTapQueue(reader, 0, (e) => e);
      writeSync(writer, Buffer.alloc(60, 1));
      expect(await queue.read()).toHaveLength(60); // made its slab, polled once
      await queue.close();
      return new WeakRef(queue);
    })();
    expect(await collected(ref)).toBe(true);
  });

  it('dropped while open, is collected and its fd closed', async () => {
    const { reader } = pair();
    const target = fdTarget(reader);
    expect(target).toMatch(/^socket:/);
    const ref = new WeakRef(openTapQueue(reader, 0, (e) => e));
    expect(await collected(ref)).toBe(true);
    await afterFinalizers(() => fdTarget(reader) !== target);
    expect(fdTarget(reader)).not.toBe(target);
  });

  it('dropped with a read pending, stays alive until that read settles with the next frame', async () => {
    const { reader, writer } = pair();
    const { ref, read } = ((): { ref: WeakRef<TapQueueCalls>; read: Promise<Buffer> } => {
      const queue = openTapQueue(reader, 0, (e) => e);
      return { ref: new WeakRef(queue), read: queue.read() };
    })();
    expect(await collected(ref)).toBe(false);
    writeSync(writer, Buffer.alloc(80, 2));
    const frame = await read;
    expect(frame.equals(Buffer.alloc(80, 2))).toBe(true);
    await ref.deref()?.close();
  });
});

describe('an event socket', () => {
  it('closed and dropped, is collected, with the callback that refers to it', async () => {
    const { reader } = pair();
    const ref = ((): WeakRef<NativeEventSocket> => {
      // As src/events.ts makes one: its callback uses the socket it belongs to.
      const socket = new native.EventSocket(reader, () => socket.pause());
      socket.resume();
      socket.close();
      return new WeakRef(socket);
    })();
    expect(fdTarget(reader)).toBeUndefined();
    expect(await collected(ref)).toBe(true);
  });
});
