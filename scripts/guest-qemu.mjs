// The QEMU command line for the tiny guest of scripts/build-guest.sh (used by
// examples/qemu-guest.mjs and test/vm.test.ts): TCG, serial console on stdio,
// and the guest's /init told its address, its peer and how often to ping.

/**
 * @param {{ kernel: string, initrd: string, queues: number, addr: string, peer: string, count?: number, netdev: string[] }} o
 * @returns {string[]}
 */
export function guestQemuArgs(o) {
  const append = `console=ttyS0 quiet panic=-1 mv.addr=${o.addr} mv.peer=${o.peer}${o.count ? ` mv.count=${o.count}` : ''}`;
  return [
    '-nographic',
    '-serial',
    'stdio',
    '-monitor',
    'none',
    '-no-reboot',
    '-m',
    '256',
    '-accel',
    'tcg',
    '-smp',
    String(o.queues),
    '-kernel',
    o.kernel,
    '-initrd',
    o.initrd,
    '-append',
    append,
    ...o.netdev,
  ];
}
