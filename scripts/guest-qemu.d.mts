/** The QEMU command line for the tiny guest (see guest-qemu.mjs). */
export function guestQemuArgs(o: {
  kernel: string;
  initrd: string;
  queues: number;
  /** The guest's address with prefix, e.g. '192.0.2.10/24'. */
  addr: string;
  /** The address the guest pings. */
  peer: string;
  /** How many pings (the guest's default when omitted). */
  count?: number;
  /** The -netdev/-device arguments (qemuNetdevArgs). */
  netdev: string[];
}): string[];
