// The hypervisor side: an opened macvtap device, its frames and its fds.
import { native, type NativeTapOpenResult } from './binding.js';
import { closeTapFds, openTapQueue, TAP_WRITE, type TapQueueCalls } from './calls.js';
import { HandleClosedError, toNetlinkError } from './errors.js';
import { invalidType, outOfRange } from './validate.js';

const ENOLINK = 67;
const c = native.constants;

/** Offloads a tap reader can take (TUNSETOFFLOAD): segments and checksums it finishes itself. */
export type TapOffload = 'csum' | 'tso4' | 'tso6' | 'tso_ecn' | 'ufo' | 'uso4' | 'uso6';
/** Every offload name, in TUN_F_* bit order. */
export const TAP_OFFLOADS: readonly TapOffload[] = ['csum', 'tso4', 'tso6', 'tso_ecn', 'ufo', 'uso4', 'uso6'];
export const offloadBit: Readonly<Record<TapOffload, number>> = {
  csum: c.TUN_F_CSUM,
  tso4: c.TUN_F_TSO4,
  tso6: c.TUN_F_TSO6,
  tso_ecn: c.TUN_F_TSO_ECN,
  ufo: c.TUN_F_UFO,
  uso4: c.TUN_F_USO4,
  uso6: c.TUN_F_USO6,
};

function offloadNames(bits: number): TapOffload[] {
  return TAP_OFFLOADS.filter((o) => (bits & offloadBit[o]) !== 0);
}

/** Options of `openTap`. */
export interface TapOptions {
  /** How many fds (queues) to open; above 1 each gets IFF_MULTI_QUEUE. Default 1. */
  queues?: number;
  /**
   * Keep a virtio-net header on every frame (IFF_VNET_HDR), as QEMU wants.
   * Default false: plain Ethernet frames. The kernel turns it on for every
   * new fd, so the library always sets it explicitly.
   */
  vnetHdr?: boolean;
  /** The virtio-net header size with vnetHdr: 10 (default) or 12 (virtio 1.0, what QEMU uses). */
  vnetHdrSize?: 10 | 12;
  /**
   * Where to make a device node when /dev/tapN is missing or is another
   * device. Default '/run/macvlan'. With `owner`, it is made searchable by
   * group and others (and left so).
   */
  nodeDir?: string;
  /** Owner, group and mode for a node made for another user (a QEMU not running as root). */
  owner?: {
    /** The node's owner; default: this process's effective uid. */
    uid?: number;
    /** The node's group; default: this process's effective gid. */
    gid?: number;
    /** The node's permission bits; default 0o600. */
    mode?: number;
  };
  /**
   * Offloads to enable (TUNSETOFFLOAD; needs vnetHdr), for fds handed to a
   * reader of the virtio-net header such as QEMU: it then gets frames with
   * checksums and segmentation left to finish, as the header says.
   * readFrame() strips that header, so it refuses on such a tap.
   * Segmentation needs 'csum', 'tso_ecn' a TSO. Default: none. Offloads
   * belong to the link's device, not to one fd: every vnetHdr open sets
   * them (to none without this option) for all the link's fds, those of a
   * running QEMU too. Which ones the kernel supports is probed: see
   * Tap.offloads.
   */
  offloads?: TapOffload[];
}

/** Closes a one-queue tap on the I/O thread of the handle that opened it; undefined once that handle is closing. */
export type TapCloser = (fd: number, node: string, major: number, minor: number) => Promise<void> | undefined;

/** What removes the node of a Tap collected while open (its queues close their fds). */
const collectedNodes = new FinalizationRegistry<{ node: string; major: number; minor: number }>(({ node, major, minor }) =>
  native.closeTap([], node, major, minor, () => undefined),
);

/** An open macvtap device: one fd per queue. */
export class Tap {
  /** The device node opened: '/dev/tapN', or a node the library made. */
  readonly device: string;
  /** Whether `device` is a node the library made (see TapOptions.nodeDir). */
  readonly madeNode: boolean;
  /** The link's device number. */
  readonly major: number;
  /** The link's device minor number. */
  readonly minor: number;
  /** The link this tap belongs to (its MAC as it was when openTap ran). */
  readonly link: {
    /** The link's ifindex. */
    index: number;
    /** The link's name. */
    name: string;
    /** The link's MAC. */
    mac?: string;
  };
  /** Bytes of virtio-net header on each frame as the kernel sees it (0 without vnetHdr). */
  readonly vnetHdrSize: number;
  /** TUNGETFEATURES: the IFF_* flags this kernel's tap supports. */
  readonly features: number;
  /**
   * Offloads this kernel accepts (probed with TUNSETOFFLOAD; empty without
   * vnetHdr) and those this open enabled (a later vnetHdr open of the same
   * link sets the device's again).
   */
  readonly offloads: {
    /** Offloads this kernel accepts. */
    supported: TapOffload[];
    /** Offloads enabled on this tap. */
    enabled: TapOffload[];
  };
  readonly #fds: number[];
  readonly #queues: TapQueueCalls[];
  readonly #offloaded: boolean;
  readonly #closeOnHandle: TapCloser | undefined;
  #closed = false;
  #closing: Promise<void> | undefined;

  /** @internal made by Handle.openTap. */
  constructor(r: NativeTapOpenResult, vnetHdrSize: number, offload = 0, closeOnHandle?: TapCloser) {
    this.device = r.path;
    this.madeNode = r.madeNode;
    this.major = r.major;
    this.minor = r.minor;
    this.features = r.features;
    this.offloads = { supported: offloadNames(r.offloadSupported), enabled: offloadNames(offload) };
    this.#offloaded = offload !== 0;
    this.link = { index: r.index, name: r.name, ...(r.mac === undefined ? {} : { mac: r.mac }) };
    this.vnetHdrSize = vnetHdrSize;
    this.#fds = r.fds;
    this.#closeOnHandle = closeOnHandle;
    const reasonOf = (e: unknown, tag: number): Error => this.#error(e, tag === TAP_WRITE ? 'writeFrame()' : 'readFrame()');
    this.#queues = r.fds.map((fd) => openTapQueue(fd, vnetHdrSize, reasonOf));
    // A node made for this open goes with it however it ends: close(), the
    // Tap collected, or the environment torn down (the addon tracks it for
    // that: no node keeps its owner for the device number's next link).
    if (this.madeNode) collectedNodes.register(this, { node: this.device, major: this.major, minor: this.minor }, this);
  }

  /** One O_CLOEXEC fd per queue, ready to hand to a child process through spawn's stdio. */
  get fds(): number[] {
    return this.#closed ? [] : [...this.#fds];
  }

  /** Whether close() was called. */
  get closed(): boolean {
    return this.#closed;
  }

  #queue(queue: number, what: string): TapQueueCalls {
    if (this.#closed) throw new HandleClosedError(`${what} on ${this.device}`, 'the tap');
    if (typeof queue !== 'number') throw invalidType('queue', 'an integer', queue);
    const q = this.#queues[queue];
    if (!Number.isInteger(queue) || q === undefined) throw outOfRange('queue', `an integer >= 0 and < ${this.#queues.length}`, queue);
    return q;
  }

  // The frame calls are the hot path: one promise a frame, straight from
  // the tap queue, which rejects with #error's NetlinkError itself; no
  // async wrapper and no per-call stack capture.

  /**
   * Reads one Ethernet frame (the virtio-net header stripped when enabled):
   * a view into a 16 KiB slab shared with the frames read around it (copy
   * it with Buffer.from() to keep it apart from them for long).
   */
  readFrame(queue = 0): Promise<Buffer> {
    try {
      if (this.#offloaded) {
        throw Object.assign(
          new Error(
            `readFrame() on ${this.device}: the tap was opened with offloads (${this.offloads.enabled.join(', ')}), and its frames need ` +
              'the virtio-net header readFrame() strips; open it without offloads to read frames here',
          ),
          { code: 'ERR_INVALID_STATE' },
        );
      }
      return this.#queue(queue, 'readFrame()').read();
    } catch (e) {
      return Promise.reject(e as Error);
    }
  }

  /**
   * Writes one Ethernet frame (a zeroed virtio-net header is added when
   * enabled). Rejects with ENOLINK once a read on this queue has found the
   * link deleted; before that the kernel drops such a write and says it was sent.
   */
  writeFrame(frame: Buffer, queue = 0): Promise<void> {
    if (!Buffer.isBuffer(frame)) return Promise.reject(invalidType('frame', 'a Buffer', frame));
    if (frame.length < 14) {
      const e = new RangeError(`Expected frame to be an Ethernet frame of at least 14 bytes, received ${frame.length}`);
      return Promise.reject(Object.assign(e, { code: 'ERR_OUT_OF_RANGE' }));
    }
    try {
      return this.#queue(queue, 'writeFrame()').write(frame);
    } catch (e) {
      return Promise.reject(e as Error);
    }
  }

  /** Frames as they arrive on one queue, until the tap is closed or fails. */
  async *frames(queue = 0): AsyncGenerator<Buffer, void, undefined> {
    while (!this.#closed) {
      try {
        yield await this.readFrame(queue);
      } catch (e) {
        if (this.#closed) return;
        throw e;
      }
    }
  }

  #error(e: unknown, what: string): Error {
    if (e instanceof HandleClosedError || e instanceof RangeError) return e;
    if (this.#closed) return new HandleClosedError(`${what} on ${this.device}`, 'the tap');
    const hint = (e as { errno?: number }).errno === ENOLINK ? `the link '${this.link.name}' was deleted` : undefined;
    return toNetlinkError(e, `${what} on ${this.device} ('${this.link.name}')`, undefined, hint);
  }

  /**
   * Closes every fd, and removes a node the library made for this open (so
   * no node outlives its link, or keeps another user's owner). Idempotent;
   * pending reads and writes reject; the close runs off the event loop.
   */
  close(): Promise<void> {
    if (!this.#closing) {
      this.#closed = true;
      const fds = this.#queues.map((q) => q.release()).filter((fd) => fd >= 0);
      const node = this.madeNode ? this.device : '';
      collectedNodes.unregister(this);
      const fd = fds.length === 1 ? fds[0] : undefined;
      const onHandle = fd === undefined ? undefined : this.#closeOnHandle?.(fd, node, this.major, this.minor);
      // Several fds close on the thread pool, in parallel: each waits for an RCU grace period.
      this.#closing = onHandle ?? closeTapFds(fds, node, this.major, this.minor);
    }
    return this.#closing;
  }
}
