// Boots a tiny Linux guest on a macvtap and lets it ping a "host" on the
// wire, all in throwaway network namespaces:
//
//   [ns A] v0 ── macvtap vm0 ══ fd ══> QEMU guest eth0 192.0.2.10
//           │ veth
//   [ns B] v1 192.0.2.1   (plays the host / the rest of the LAN)
//
// Run as root after `npm run build`: node examples/qemu-guest.mjs [queues]
// (scripts/build-guest.sh installs QEMU and builds the guest on first use).
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';

import { open, qemuNetdevArgs } from '../dist/index.js';
import { guestQemuArgs } from '../scripts/guest-qemu.mjs';

const queues = Number(process.argv[2] ?? 1);
const run = (cmd, ...args) => execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
const guest = Object.fromEntries(
  run('bash', new URL('../scripts/build-guest.sh', import.meta.url).pathname)
    .trim()
    .split('\n')
    .map((l) => l.split('=')),
);

const tag = randomBytes(3).toString('hex');
const vmNs = `mv-qemu-${tag}`;
const hostNs = `mv-host-${tag}`;
run('ip', 'netns', 'add', vmNs);
run('ip', 'netns', 'add', hostNs);
try {
  run('ip', '-n', vmNs, 'link', 'add', 'v0', 'up', 'type', 'veth', 'peer', 'name', 'v1', 'netns', hostNs);
  run('ip', '-n', hostNs, 'addr', 'add', '192.0.2.1/24', 'dev', 'v1');
  run('ip', '-n', hostNs, 'link', 'set', 'v1', 'up');

  const nl = await open({ netns: vmNs });
  // The guest NIC must use the macvtap's MAC: a macvtap only receives
  // unicast frames addressed to its own MAC.
  const link = await nl.createMacvtap({ lower: 'v0', name: 'vm0', mode: 'bridge', up: true });
  const tap = await nl.openTap('vm0', { vnetHdr: true, vnetHdrSize: 12, queues });
  console.log(`macvtap ${link.name} (${link.mac}) on v0, ${tap.device}, fds ${tap.fds.join(',')}`);

  const { args, stdio } = qemuNetdevArgs(tap, { id: 'n0', firstFd: 3, mac: link.mac });
  const qemuArgs = guestQemuArgs({
    kernel: guest.KERNEL,
    initrd: guest.INITRD,
    queues,
    addr: '192.0.2.10/24',
    peer: '192.0.2.1',
    netdev: args,
  });
  console.log(`qemu-system-x86_64 ${qemuArgs.join(' ')}`);
  // With queues > 1, QEMU 7.2 warns "Issue while setting TUNSETSTEERINGEBPF":
  // eBPF steering is a tun-only ioctl that macvtap lacks. Harmless.
  const started = Date.now();
  const qemu = spawn('qemu-system-x86_64', qemuArgs, { stdio: ['pipe', 'pipe', 'inherit', ...stdio] });
  await tap.close(); // QEMU holds its own copies now

  for await (const line of createInterface({ input: qemu.stdout })) {
    const said = /MV-GUEST: (.*)/.exec(line)?.[1];
    if (said) console.log(`guest (${((Date.now() - started) / 1000).toFixed(1)} s): ${said}`);
  }
  console.log(`qemu exited after ${((Date.now() - started) / 1000).toFixed(1)} s`);
  console.log(`host side neighbours:\n${run('ip', '-n', hostNs, 'neigh', 'show', 'dev', 'v1')}`);
  await nl.close();
} finally {
  run('ip', 'netns', 'del', vmNs);
  run('ip', 'netns', 'del', hostNs);
}
