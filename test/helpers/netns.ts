// Throwaway network namespaces for kernel tests. Each test gets its own
// namespace with a veth pair (v0 <-> v1, both up) as the lower; nothing
// touches the host's interfaces.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { onTestFinished } from 'vitest';

/** Runs `ip` and returns stdout; throws with ip's stderr on failure. */
export function ip(...args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** `ip -j` output, parsed. */
export function ipJson<T = IpLink[]>(...args: string[]): T {
  const out = ip('-j', ...args).trim();
  return (out ? JSON.parse(out) : []) as T;
}

/**
 * One entry of `ip -d -j link show` (iproute2 6.1), the fields the tests
 * compare: "link" is the lower's name in the same namespace and "link_index"
 * only with "link_netnsid"; the macvlan flags are booleans in info_data,
 * printed only when set; "group" is a name.
 */
export interface IpLink {
  ifindex: number;
  ifname: string;
  link?: string | null;
  link_index?: number;
  link_netnsid?: number;
  flags: string[];
  mtu: number;
  operstate: string;
  txqlen?: number;
  address?: string;
  group?: string;
  promiscuity?: number;
  min_mtu?: number;
  max_mtu?: number;
  num_tx_queues?: number;
  num_rx_queues?: number;
  linkinfo?: {
    info_kind?: string;
    info_data?: {
      mode?: string;
      nopromisc?: boolean;
      nodst?: boolean;
      macaddr_count?: number;
      macaddr_data?: string[];
      bcqueuelen?: number;
      usedbcqueuelen?: number;
    };
  };
}

export interface TestNetns {
  /** The namespace name, under /run/netns. */
  name: string;
  /** `ip -n <name> ...` */
  ip(...args: string[]): string;
  /** `ip -n <name> -d -j link show [dev]` */
  links(dev?: string): IpLink[];
  /** Removes the namespace and everything in it. */
  remove(): void;
}

/** Makes a namespace named mvt-<tag>-<random>, with veth v0/v1 up unless `veth: false`. */
export function makeNetns(tag = 'test', options: { veth?: boolean } = {}): TestNetns {
  const name = `mvt-${tag}-${randomBytes(4).toString('hex')}`;
  ip('netns', 'add', name);
  const ns: TestNetns = {
    name,
    ip: (...args) => ip('-n', name, ...args),
    links: (dev) => ipJson<IpLink[]>('-n', name, '-d', 'link', 'show', ...(dev === undefined ? [] : ['dev', dev])),
    remove: () => {
      try {
        ip('netns', 'del', name);
      } catch {
        // already gone
      }
    },
  };
  if (options.veth !== false) {
    ns.ip('link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1');
    ns.ip('link', 'set', 'v0', 'up');
    ns.ip('link', 'set', 'v1', 'up');
  }
  return ns;
}

/** Fails loudly (never skips) when the suite cannot do kernel work here. */
export function requireKernelAccess(): void {
  if (process.getuid?.() !== 0) {
    throw new Error('kernel tests need root (or CAP_NET_ADMIN + CAP_SYS_ADMIN); run them as root');
  }
}

/** Removes namespaces a test file made (mvt-<tag>-*) that are still there. */
export function removeLeftoverNetns(tag: string): void {
  for (const line of ip('netns', 'list').split('\n')) {
    const name = line.split(' ')[0];
    if (name?.startsWith(`mvt-${tag}-`)) ip('netns', 'del', name);
  }
}

/**
 * A path to a namespace that a test points elsewhere: a handle opened by
 * `path` must keep working in the namespace it was opened in. Made inside
 * a test, it is removed when that test ends, passed or failed.
 */
export class NetnsSymlink {
  readonly #dir = mkdtempSync(join(tmpdir(), 'mvt-nslink-'));
  readonly path = join(this.#dir, 'ns');

  constructor() {
    onTestFinished(() => rmSync(this.#dir, { recursive: true, force: true }));
  }

  /** Makes `path` name `ns`; undefined: names nothing. */
  pointAt(ns: TestNetns | undefined): void {
    rmSync(this.path, { force: true });
    if (ns) symlinkSync(`/run/netns/${ns.name}`, this.path);
  }
}
