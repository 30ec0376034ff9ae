// A tap queue's reads into slabs (src/calls.ts TapQueueCalls, native
// TapQueue::FrameOf), on a SOCK_SEQPACKET pair where one write is one frame:
// no macvtap, no privileges.
import { closeSync, writeSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { native } from '../src/binding.js';
import { openTapQueue, type TapQueueCalls } from '../src/calls.js';

const SLAB = 16384; // TapQueueCalls' SLAB_BYTES
const open: { queue: TapQueueCalls; writer: number }[] = [];

function pair(vnetHdrLen: number): { queue: TapQueueCalls; send: (frame: Buffer) => void } {
  const [reader, writer] = native.seqpacketPair();
  const queue = openTapQueue(reader, vnetHdrLen, (e) => e);
  open.push({ queue, writer });
  return { queue, send: (frame) => void writeSync(writer, frame) };
}

afterEach(async () => {
  for (const { queue, writer } of open.splice(0)) {
    await queue.close();
    closeSync(writer);
  }
});

/** A frame of `length` bytes (header included) whose bytes depend on `seed`. */
function frameOf(length: number, seed: number): Buffer {
  const f = Buffer.alloc(length);
  for (let i = 0; i < length; i++) f[i] = (seed * 31 + i * 7) & 0xff;
  return f;
}

for (const hdr of [0, 12]) {
  describe(`with a ${hdr}-byte virtio-net header`, () => {
    it('500 frames read one at a time arrive whole, as views of slabs, and stay intact after their slab is replaced', async () => {
      const { queue, send } = pair(hdr);
      const sizes = Array.from({ length: 500 }, (_, i) => 60 + ((i * 397) % 1460));
      const got: Buffer[] = [];
      for (const [i, size] of sizes.entries()) {
        send(frameOf(size, i));
        got.push(await queue.read());
      }
      for (const [i, size] of sizes.entries()) expect(got[i]!.equals(frameOf(size, i).subarray(hdr)), `frame ${i}`).toBe(true);
      expect(got.every((f) => f.buffer.byteLength === SLAB)).toBe(true);
      // About 390 KB of frames: a new slab each time the room ran short.
      expect(new Set(got.map((f) => f.buffer)).size).toBeGreaterThan(20);
    });

    it('frames read by one wakeup past the slab: those that do not fit are copies, whole, also when the room left is smaller than the header', async () => {
      const { queue, send } = pair(hdr);
      // The reads wait first, so the frames are read together when the
      // socket turns readable: the slab is renewed only after all of them.
      const reads = Array.from({ length: 5 }, () => queue.read());
      // The first leaves 8 bytes of the slab; the next begin there.
      const sizes = [SLAB - 14, 100, 5000, 60, SLAB + 3000];
      const sent = sizes.map((size, i) => frameOf(size, i + 1));
      for (const f of sent) send(f);
      const got = await Promise.all(reads);
      for (const [i, f] of sent.entries()) expect(got[i]!.equals(f.subarray(hdr)), `frame ${i} (${sizes[i]} bytes)`).toBe(true);
      expect(got[0]!.buffer.byteLength).toBe(SLAB);
      for (const f of got.slice(1)) expect(f.buffer.byteLength).not.toBe(SLAB);
      // The next frame goes to a new slab.
      send(frameOf(200, 9));
      const next = await queue.read();
      expect(next.equals(frameOf(200, 9).subarray(hdr))).toBe(true);
      expect(next.buffer.byteLength).toBe(SLAB);
      expect(next.buffer).not.toBe(got[0]!.buffer);
      expect(got[0]!.equals(sent[0]!.subarray(hdr))).toBe(true);
    });
  });
}

it('a frame shorter than the header is empty; a read of a closed queue rejects with EBADF', async () => {
  const { queue, send } = pair(12);
  send(frameOf(5, 1));
  expect(await queue.read()).toHaveLength(0);
  await queue.close();
  const err = await queue.read().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect((err as { errno?: number }).errno).toBe(9);
});
