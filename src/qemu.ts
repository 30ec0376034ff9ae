// Arguments for handing an opened tap to QEMU.
import { Tap } from './tap.js';
import { integer, invalidType, invalidValue, plainObject, unicastMac } from './validate.js';

/** What `qemuNetdevArgs` takes besides the tap. */
export interface QemuNetdevOptions {
  /** The netdev id, e.g. 'net0'. */
  id: string;
  /**
   * The guest NIC's MAC. Default: the macvtap's own MAC (as it was when the
   * tap was opened). A macvtap delivers unicast only to its own MAC: a guest
   * with another one (QEMU's default 52:54:00:12:34:56) gets no traffic.
   */
  mac?: string;
  /** The fd number the first queue gets in the child: 3 when stdio is [0, 1, 2, ...]. */
  firstFd: number;
  /** The guest NIC model. Default 'virtio-net-pci'. */
  device?: string;
}

/**
 * `-netdev tap,fd=N` (or `fds=a:b:...` with `mq=on,vectors=2N+2` for several
 * queues) and `-device`, plus the fds to append to spawn's stdio so the child
 * gets them at firstFd, firstFd+1, ...
 */
export function qemuNetdevArgs(
  tap: Tap,
  options: QemuNetdevOptions,
): {
  /** The QEMU arguments: '-netdev', ..., '-device', .... */
  args: string[];
  /** The tap's fds, to append to spawn's stdio so the child gets them at firstFd, firstFd+1, ... */
  stdio: number[];
} {
  if (!(tap instanceof Tap)) throw invalidType('tap', 'a Tap (from openTap)', tap);
  const o = plainObject(options, 'options', ['id', 'mac', 'firstFd', 'device']);
  if (typeof o.id !== 'string') throw invalidType('options.id', 'a QEMU id (a string)', o.id);
  if (!/^[A-Za-z][\w.-]*$/u.test(o.id)) {
    throw invalidValue('options.id', 'a QEMU id (a letter, then letters, digits, _ . -)', o.id);
  }
  const firstFd = integer(o.firstFd, 'options.firstFd', 3, 65535);
  const mac = o.mac === undefined ? tap.link.mac : unicastMac(o.mac, 'options.mac');
  const model = o.device === undefined ? 'virtio-net-pci' : o.device;
  if (typeof model !== 'string') throw invalidType('options.device', 'a QEMU device model name (a string)', model);
  if (!/^[\w-]+$/u.test(model)) throw invalidValue('options.device', 'a QEMU device model name', model);
  const fds = tap.fds;
  if (fds.length === 0) throw invalidValue('tap', 'an open tap', 'a closed tap');
  const childFds = fds.map((_, i) => firstFd + i);
  const netdev = [`tap`, `id=${o.id}`, fds.length === 1 ? `fd=${childFds[0]}` : `fds=${childFds.join(':')}`];
  const device = [model, `netdev=${o.id}`];
  if (mac) device.push(`mac=${mac}`);
  if (fds.length > 1) device.push('mq=on', `vectors=${2 * fds.length + 2}`);
  return { args: ['-netdev', netdev.join(','), '-device', device.join(',')], stdio: fds };
}
