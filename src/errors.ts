import { constants } from 'node:os';

import type { NativeError } from './binding.js';

const errnoNames = new Map<number, string>();
for (const [name, value] of Object.entries(constants.errno)) {
  if (!errnoNames.has(value)) errnoNames.set(value, name);
}

/** The errno name ('EEXIST') for a number, or 'E<number>' when Node has none. */
export function errnoName(errno: number): string {
  return errnoNames.get(errno) ?? `E${errno}`;
}

/** Each NetlinkError's hint, apart from its message (hintOf). */
const hints = new WeakMap<NetlinkError, string>();

/** The hint a NetlinkError was made with, for an error that wraps it. */
export function hintOf(err: NetlinkError): string | undefined {
  return hints.get(err);
}

/**
 * A step's error as the error of the call made of that step: the errno,
 * the kernel's text and the option kept, `hint` (by default the step's),
 * and the step's error as `cause`.
 */
export function asErrorOf(err: NetlinkError, operation: string, hint = hintOf(err)): NetlinkError {
  const out = new NetlinkError(operation, err.errno, {
    ...(err.kernelMessage ? { kernelMessage: err.kernelMessage } : {}),
    ...(err.option ? { option: err.option } : {}),
    ...(hint ? { hint } : {}),
  });
  return Object.assign(out, { cause: err });
}

/**
 * What the kernel (or a syscall on the handle's I/O thread) refused.
 * `message` says what was asked, on what, and the kernel's own words.
 */
export class NetlinkError extends Error {
  /** The errno name, e.g. 'EEXIST'. */
  readonly code: string;
  /** The errno number, positive. */
  readonly errno: number;
  /** What was asked, e.g. "createMacvtap(name 'vm0', lower 'eth0')". */
  readonly operation: string;
  // declare: no own property at all when absent (not one set to undefined).
  /** The kernel's extended-ACK text (NLMSGERR_ATTR_MSG), when it gave one. */
  declare readonly kernelMessage?: string;
  /** The option the kernel pointed at (NLMSGERR_ATTR_OFFS), e.g. 'mtu'. */
  declare readonly option?: string;

  constructor(operation: string, errno: number, detail?: { kernelMessage?: string; option?: string; hint?: string }) {
    const code = errnoName(errno);
    const parts = [`${operation} failed: ${code}`];
    const text = detail?.kernelMessage;
    if (text) parts.push(`kernel says "${text}"`);
    if (detail?.option) parts.push(`the kernel points at ${detail.option}`);
    if (detail?.hint) parts.push(detail.hint);
    super(parts.join('; '));
    this.name = 'NetlinkError';
    this.code = code;
    this.errno = errno;
    this.operation = operation;
    if (text) Object.defineProperty(this, 'kernelMessage', { value: text, enumerable: true });
    if (detail?.option) Object.defineProperty(this, 'option', { value: detail.option, enumerable: true });
    if (detail?.hint) hints.set(this, detail.hint);
  }
}

/** Raised for calls on a closed handle, and for calls pending at close() that the kernel was not sent. */
export class HandleClosedError extends Error {
  /** Always 'ERR_HANDLE_CLOSED'. */
  readonly code = 'ERR_HANDLE_CLOSED';
  /** `closed`: what was closed, 'the handle' or 'the tap'. */
  constructor(operation: string, closed = 'the handle') {
    super(`${operation}: ${closed} is closed`);
    this.name = 'HandleClosedError';
  }
}

/** Uapi attribute names as our options call them. */
const optionNames: Record<string, string> = {
  IFLA_ADDRESS: 'mac',
  IFLA_MTU: 'mtu',
  IFLA_IFNAME: 'name',
  IFLA_LINK: 'lower',
  IFLA_TXQLEN: 'txQueueLen',
  IFLA_NUM_TX_QUEUES: 'numTxQueues',
  IFLA_NUM_RX_QUEUES: 'numRxQueues',
  IFLA_NET_NS_FD: 'netns',
  IFLA_NET_NS_PID: 'netns',
  IFLA_GROUP: 'group',
  IFLA_MACVLAN_MODE: 'mode',
  IFLA_MACVLAN_FLAGS: 'nopromisc/nodst',
  IFLA_MACVLAN_MACADDR_MODE: 'sourceMacs',
  IFLA_MACVLAN_MACADDR: 'sourceMacs',
  IFLA_MACVLAN_MACADDR_DATA: 'sourceMacs',
  IFLA_MACVLAN_BC_QUEUE_LEN: 'bcQueueLen',
  IFLA_MACVLAN_BC_CUTOFF: 'bcCutoff',
};

/** Turns a native rejection into a NetlinkError that keeps the caller's stack. */
export function toNetlinkError(err: unknown, operation: string, callSite?: Error, hint?: string): Error {
  const e = err as Partial<NativeError>;
  if (typeof e?.errno !== 'number') return err instanceof Error ? err : new Error(String(err));
  if (e.errno === constants.errno.ECANCELED && !e.extack) return new HandleClosedError(operation);
  const attr = e.extackAttr;
  const option = attr ? `${optionNames[attr] ?? attr} (${attr})` : undefined;
  const out = new NetlinkError(operation, e.errno, {
    ...(e.extack ? { kernelMessage: e.extack } : {}),
    ...(option ? { option } : {}),
    ...(hint ? { hint } : {}),
  });
  if (callSite?.stack) {
    out.stack = `${out.name}: ${out.message}\n${callSite.stack.split('\n').slice(1).join('\n')}`;
  }
  return out;
}
