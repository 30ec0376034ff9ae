// Runs the real systemd-networkd on generated files, inside a test namespace.
//
// `systemd-analyze verify` only checks unit files: it refuses .netdev and
// .network ("Failed to prepare filename ...: Invalid argument", systemd 252),
// so the tests use networkd itself, which parses the files, logs every key or
// section it does not know ("Unknown key 'X' in section [Y], ignoring"), and
// creates the links. It runs in the namespace's network and a private mount
// namespace: a tmpfs on /run/systemd (its config dir /run/systemd/network and
// state dir), an empty tmpfs on /etc/systemd/network so the host's files do
// not apply, and the namespace's own sysfs mounted read-only, which is how
// networkd (udev_available()) knows there is no udev to wait for.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

export const NETWORKD = '/lib/systemd/systemd-networkd';

const SCRIPT = String.raw`
set -e
mkdir -p /run/systemd
mount -t tmpfs tmpfs /run/systemd
mkdir -p /run/systemd/network /run/systemd/netif/links /run/systemd/netif/leases /run/systemd/netif/lldp
chown -R systemd-network: /run/systemd/netif
cp -r "$CONF"/. /run/systemd/network/
mount -t tmpfs tmpfs /etc/systemd/network
mount -t sysfs -o ro sysfs /sys
SYSTEMD_LOG_LEVEL=debug SYSTEMD_LOG_TARGET=console "$NETWORKD" > "$LOG" 2>&1 &
pid=$!
ready() {
  for l in $EXPECT_LINKS; do ip link show dev "$l" > /dev/null 2>&1 || return 1; done
  for a in $EXPECT_ADDRS; do ip -o addr show | grep -qF " $a " || return 1; done
  return 0
}
for i in $(seq 1 150); do ready && break; sleep 0.1; done
sleep 0.3
kill $pid; wait $pid || true
ready
`;

export interface NetworkdRun {
  /** networkd's debug log. */
  log: string;
  /** Log lines where networkd refused or ignored something in our files. */
  complaints: string[];
}

/**
 * Writes `files` (relative paths) to a config dir, runs networkd in namespace
 * `netns` until every link in `links` exists and every address in
 * `addresses` is configured (at most 15 s), then stops it. Throws if they
 * never appear, with networkd's log.
 */
export function runNetworkd(
  netns: string,
  files: { path: string; content: string }[],
  links: string[],
  addresses: string[] = [],
): NetworkdRun {
  const dir = mkdtempSync(join(tmpdir(), 'mvt-networkd-'));
  try {
    const conf = join(dir, 'conf');
    for (const f of files) {
      mkdirSync(dirname(join(conf, f.path)), { recursive: true });
      writeFileSync(join(conf, f.path), f.content);
    }
    const logPath = join(dir, 'log');
    let failed: unknown;
    try {
      execFileSync('nsenter', [`--net=/run/netns/${netns}`, 'unshare', '-m', '--propagation', 'private', 'bash', '-c', SCRIPT], {
        env: { ...process.env, CONF: conf, LOG: logPath, NETWORKD, EXPECT_LINKS: links.join(' '), EXPECT_ADDRS: addresses.join(' ') },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    } catch (err) {
      failed = err;
    }
    let log = '';
    try {
      log = execFileSync('cat', [logPath], { encoding: 'utf8' });
    } catch {
      // no log: networkd never started
    }
    if (failed)
      throw new Error(
        `systemd-networkd did not create ${links.join(', ')} ${addresses.join(' ')}:\n${log.slice(-4000)}\n${String(failed)}`,
      );
    const complaints = log
      .split('\n')
      // networkd names the file and line of everything it ignores or refuses in one.
      .filter((line) => line.startsWith('/run/systemd/network/') || /failed to parse|could not create|failed to create/iu.test(line));
    return { log, complaints };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
