// The `macvlan` command line: the real binary (node bin/macvlan.js) run as a
// child process, each test in a fresh network namespace with a veth pair
// (v0 <-> v1, both up), its output cross-checked with `ip -d -j`, `ip -j
// addr`/`route` and sysfs inside the namespace.
import { execFile, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, rmSync, statSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import type { Link } from '../src/index.js';
import { ip, ipJson, makeNetns, removeLeftoverNetns, requireKernelAccess, type IpLink, type TestNetns } from './helpers/netns.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = fileURLToPath(new URL('../bin/macvlan.js', import.meta.url));
const TAG = `cli${process.pid}`;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the binary; never throws for a non-zero exit. */
function run(...args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [BIN, ...args], { cwd: ROOT, timeout: 20_000 }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') return reject(err);
      resolve({ code: err ? Number(err.code) : 0, stdout, stderr });
    });
  });
}

let ns: TestNetns;

/** Runs the binary in this test's namespace. */
function cli(...args: string[]): Promise<Run> {
  return run('--netns', ns.name, ...args);
}

/** Runs it and expects exit 0 and nothing on stderr. */
async function ok(...args: string[]): Promise<string> {
  const r = await cli(...args);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return r.stdout;
}

async function okJson<T>(...args: string[]): Promise<T> {
  return JSON.parse(await ok('--json', ...args)) as T;
}

function ipLink(name: string): IpLink {
  const [l] = ns.links(name);
  if (!l) throw new Error(`ip shows no link ${name}`);
  return l;
}

/** Every field ip and the CLI's JSON both show, compared. */
function expectSameAsIp(link: Link): void {
  const l = ipLink(link.name);
  expect(link.index).toBe(l.ifindex);
  expect(link.kind).toBe(l.linkinfo?.info_kind);
  expect(link.mac).toBe(l.address);
  expect(link.mtu).toBe(l.mtu);
  expect(link.up).toBe(l.flags.includes('UP'));
  expect(link.txQueueLen).toBe(l.txqlen);
  expect(link.numTxQueues).toBe(l.num_tx_queues);
  expect(link.numRxQueues).toBe(l.num_rx_queues);
  expect(link.lower).toBe(l.link ? ipLink(l.link).ifindex : undefined);
  if (link.macvlan) {
    expect(link.macvlan.mode).toBe(l.linkinfo?.info_data?.mode);
    if (link.macvlan.mode === 'source')
      expect([...(link.macvlan.sourceMacs ?? [])].sort()).toEqual([...(l.linkinfo?.info_data?.macaddr_data ?? [])].sort());
  }
}

beforeAll(() => {
  requireKernelAccess();
  execFileSync('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
}, 120_000);
beforeEach(() => {
  ns = makeNetns(TAG);
});
afterEach(() => {
  ns.remove();
});
afterAll(() => removeLeftoverNetns(TAG));

describe('add, list, show', () => {
  it('creates a macvlan and a macvtap and reports them as ip does', async () => {
    const mv = await okJson<Link>(
      'add',
      'macvlan',
      'mv0',
      '--lower',
      'v0',
      '--mode',
      'private',
      '--mac',
      '02:00:00:00:00:10',
      '--mtu',
      '1400',
      '--txqueuelen',
      '77',
    );
    const vt = await okJson<Link>('add', 'macvtap', 'vt0', '--lower', 'v0', '--mode', 'vepa', '--up', '--queues', '3');
    const src = await okJson<Link>(
      'add',
      'macvlan',
      'src0',
      '--lower',
      'v1',
      '--mode',
      'source',
      '--source-mac',
      '02:00:00:00:00:21',
      '--source-mac',
      '02:00:00:00:00:22',
    );

    expect(mv).toMatchObject({
      name: 'mv0',
      kind: 'macvlan',
      mac: '02:00:00:00:00:10',
      mtu: 1400,
      txQueueLen: 77,
      up: false,
      macvlan: { mode: 'private' },
    });
    expect(vt).toMatchObject({ name: 'vt0', kind: 'macvtap', up: true, numTxQueues: 3, numRxQueues: 3, macvlan: { mode: 'vepa' } });
    expect(src.macvlan?.sourceMacs?.sort()).toEqual(['02:00:00:00:00:21', '02:00:00:00:00:22']);
    for (const l of [mv, vt, src]) expectSameAsIp(l);
    expect(ipLink('vt0').flags).toContain('UP');
    expect(ipLink('mv0').linkinfo?.info_data?.mode).toBe('private');

    const all = await okJson<Link[]>('list');
    expect(all.map((l) => l.name).sort()).toEqual(
      ns
        .links()
        .map((l) => l.ifname)
        .sort(),
    );
    for (const l of all) expectSameAsIp(l);
    expect((await okJson<Link[]>('list', '--kind', 'macvtap')).map((l) => l.name)).toEqual(['vt0']);
    expect((await okJson<Link[]>('list', '--lower', 'v0')).map((l) => l.name).sort()).toEqual(['mv0', 'v1', 'vt0']);
    expect((await okJson<Link[]>('list', '--kind', 'macvlan', '--lower', 'v1')).map((l) => l.name)).toEqual(['src0']);

    const shown = await okJson<Link>('show', 'vt0');
    expectSameAsIp(shown);
    expect(shown.tap?.device).toBe(`/dev/tap${shown.index}`);
  });

  it('prints aligned tables by default', async () => {
    await ok('add', 'macvtap', 'vt0', '--lower', 'v0', '--mac', '02:00:00:00:00:30');
    const lines = (await ok('list', '--kind', 'macvtap')).trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^NAME\s+KIND\s+LOWER\s+MODE\s+STATE\s+MAC\s+MTU$/u);
    expect(lines[1]!.split(/\s+/u)).toEqual(['vt0', 'macvtap', 'v0', 'bridge', 'DOWN', '02:00:00:00:00:30', '1500']);
    // Columns line up: each cell of the row starts where its header does.
    expect(lines[1]!.indexOf('02:00:00:00:00:30')).toBe(lines[0]!.indexOf('MAC'));

    const show = await ok('show', 'vt0');
    expect(show).toMatch(/^name:\s+vt0$/mu);
    expect(show).toMatch(/^mode:\s+bridge$/mu);
    expect(show).toMatch(new RegExp(`^tap:\\s+/dev/tap${ipLink('vt0').ifindex} \\d+:\\d+$`, 'mu'));
  });
});

describe('set', () => {
  it('changes state, MTU, MAC, name and mode', async () => {
    await ok('add', 'macvlan', 'mv0', '--lower', 'v0', '--mode', 'bridge');
    const changed = await okJson<Link>(
      'set',
      'mv0',
      '--up',
      '--mtu',
      '1280',
      '--mac',
      '02:00:00:00:00:44',
      '--name',
      'mv9',
      '--mode',
      'vepa',
    );
    expect(changed).toMatchObject({ name: 'mv9', up: true, mtu: 1280, mac: '02:00:00:00:00:44', macvlan: { mode: 'vepa' } });
    expectSameAsIp(changed);
    expect(ns.links().some((l) => l.ifname === 'mv0')).toBe(false);

    const down = await okJson<Link>('set', 'mv9', '--down');
    expect(down.up).toBe(false);
    expect(ipLink('mv9').flags).not.toContain('UP');
  });

  it('refuses nothing to change, --up with --down, and a move into passthru with exit 2', async () => {
    await ok('add', 'macvlan', 'mv0', '--lower', 'v0');
    const none = await cli('set', 'mv0');
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/nothing to change/u);
    const both = await cli('set', 'mv0', '--up', '--down');
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/--up and --down/u);
    const pass = await cli('set', 'mv0', '--mode', 'passthru');
    expect(pass.code).toBe(2);
    expect(pass.stderr).toMatch(/^macvlan: Expected change\.mode/u);
    expect(ipLink('mv0').linkinfo?.info_data?.mode).toBe('bridge');
  });
});

describe('del', () => {
  it('deletes several links at once', async () => {
    for (const n of ['a0', 'a1', 'a2']) await ok('add', 'macvlan', n, '--lower', 'v0');
    await ok('add', 'macvtap', 't0', '--lower', 'v0');
    expect(await ok('del', 'a0', 'a2', 't0')).toBe('');
    expect(
      ns
        .links()
        .map((l) => l.ifname)
        .sort(),
    ).toEqual(['a1', 'lo', 'v0', 'v1']);
    expect(await okJson<{ deleted: string[] }>('del', 'a1')).toEqual({ deleted: ['a1'] });
    expect(ns.links().some((l) => l.ifname === 'a1')).toBe(false);
  });

  it('takes #N as ifindex N, in every command that names a link, and a digit-only name as a name', async () => {
    const v0 = ns.links('v0')[0]!.ifindex;
    ns.ip('link', 'add', 'link', 'v0', 'name', '7', 'type', 'macvlan');
    const byLower = await okJson<Link>('add', 'macvtap', 'n0', '--lower', `#${v0}`);
    expect(byLower.lower).toBe(v0);
    expect((await okJson<Link>('show', '7')).name).toBe('7');
    expect((await okJson<Link>('show', `#${byLower.index}`)).name).toBe('n0');
    expect((await okJson<Link[]>('list', '--lower', `#${v0}`)).map((l) => l.name).sort()).toEqual(['7', 'n0', 'v1']); // v1: a veth's peer is its IFLA_LINK
    expect((await okJson<Link>('set', `#${byLower.index}`, '--mtu', '1400')).mtu).toBe(1400);
    expect((await okJson<{ device: string }>('tap', `#${byLower.index}`)).device).toBe(`/dev/tap${byLower.index}`);
    expect((await okJson<{ args: string[] }>('qemu-args', `#${byLower.index}`)).args[0]).toBe('-netdev');
    await ok('del', '7', `#${byLower.index}`);
    expect(
      ns
        .links()
        .map((l) => l.ifname)
        .sort(),
    ).toEqual(['lo', 'v0', 'v1']);
  });

  it('deletes nothing and exits 1 when one of the links is missing', async () => {
    await ok('add', 'macvlan', 'a0', '--lower', 'v0');
    await ok('add', 'macvlan', 'a1', '--lower', 'v0');
    const r = await cli('del', 'a0', 'ghost', 'a1');
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^macvlan: .*ENODEV.*'ghost'/u);
    expect(
      ns
        .links()
        .map((l) => l.ifname)
        .sort(),
    ).toEqual(['a0', 'a1', 'lo', 'v0', 'v1']);
  });
});

describe('tap', () => {
  it('shows the device and its major:minor as sysfs has it, and with --offloads what the kernel supports', async () => {
    const vt = await okJson<Link>('add', 'macvtap', 'vt0', '--lower', 'v0', '--up');
    const sysDev = execFileSync('ip', ['netns', 'exec', ns.name, 'cat', `/sys/class/net/vt0/macvtap/tap${vt.index}/dev`], {
      encoding: 'utf8',
    }).trim();
    const [major, minor] = sysDev.split(':').map(Number);

    const info = await okJson<{ device: string; major: number; minor: number; madeNode: boolean; offloads?: string[] }>('tap', 'vt0');
    expect(`${info.major}:${info.minor}`).toBe(sysDev);
    // /dev/tapN is shared by all namespaces: it is used only when it is this link's device.
    const st = statSync(`/dev/tap${vt.index}`, { throwIfNoEntry: false });
    const devIsOurs =
      st?.isCharacterDevice() === true && st.rdev === (((minor! & 0xfff00) << 12) | ((major! & 0xfff) << 8) | (minor! & 0xff));
    expect(info.madeNode).toBe(!devIsOurs);
    if (devIsOurs) expect(info.device).toBe(`/dev/tap${vt.index}`);
    else expect(info.device.startsWith('/run/macvlan/')).toBe(true);
    // Probing sets the device's offloads (those of a running QEMU's fds too): only when asked.
    expect(info.offloads).toBeUndefined();
    const probed = await okJson<{ offloads: string[] }>('tap', 'vt0', '--offloads');
    expect(probed.offloads).toContain('csum');

    const text = await ok('tap', 'vt0');
    expect(text).toMatch(/^link:\s+vt0$/mu);
    expect(text).toMatch(new RegExp(`^device:\\s+${info.device.replace(/[.]/gu, '\\.')}( |$)`, 'mu'));
    expect(text).toMatch(new RegExp(`^dev:\\s+${sysDev}$`, 'mu'));
    expect(text).not.toMatch(/^offloads:/mu);
    expect(await ok('tap', 'vt0', '--offloads')).toMatch(/^offloads:\s+csum\b/mu);
    // The tap was closed again: a node the library made is gone.
    if (!devIsOurs) expect(statSync(info.device, { throwIfNoEntry: false })).toBeUndefined();
  });

  it('refuses a link that is not a macvtap with exit 2', async () => {
    await ok('add', 'macvlan', 'mv0', '--lower', 'v0');
    const r = await cli('tap', 'mv0');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/a macvtap link \('mv0' is macvlan\)/u);
  });
});

describe('shim', () => {
  it('makes the link, its address and its routes', async () => {
    const out = await okJson<{ link: Link; address: string; routes: string[] }>(
      'shim',
      '--lower',
      'v0',
      '--address',
      '192.0.2.254/32',
      '--route',
      '192.0.2.10',
      '--route',
      '198.51.100.0/24',
      '--name',
      'shim0',
    );
    expect(out.link).toMatchObject({ name: 'shim0', kind: 'macvlan', up: true, macvlan: { mode: 'bridge' } });
    expectSameAsIp(out.link);
    const addrs = ipJson<{ addr_info: { family: string; local: string; prefixlen: number }[] }[]>(
      '-n',
      ns.name,
      'addr',
      'show',
      'dev',
      'shim0',
    );
    expect(addrs[0]!.addr_info.filter((a) => a.family === 'inet').map((a) => `${a.local}/${a.prefixlen}`)).toEqual(['192.0.2.254/32']);
    const routes = ipJson<{ dst: string; dev: string }[]>('-n', ns.name, 'route', 'show', 'dev', 'shim0');
    expect(routes.map((r) => r.dst).sort()).toEqual(['192.0.2.10', '198.51.100.0/24']);
  });

  it('requires --address (exit 2) and leaves nothing behind', async () => {
    const r = await cli('shim', '--lower', 'v0');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--address is required/u);
    expect(ns.links()).toHaveLength(3);
  });
});

describe('qemu-args', () => {
  it('prints the -netdev/-device line with fds from 3 and says the caller passes them', async () => {
    await ok('add', 'macvtap', 'vt0', '--lower', 'v0', '--mac', '02:00:00:00:00:55', '--up');
    const one = await cli('qemu-args', 'vt0');
    expect(one.code).toBe(0);
    expect(one.stdout).toBe('-netdev tap,id=net0,fd=3 -device virtio-net-pci,netdev=net0,mac=02:00:00:00:00:55\n');
    expect(one.stderr).toMatch(/fds? must be passed by the caller/u);

    const two = await cli('qemu-args', 'vt0', '--queues', '2', '--id', 'n1');
    expect(two.code).toBe(0);
    expect(two.stdout).toBe('-netdev tap,id=n1,fds=3:4 -device virtio-net-pci,netdev=n1,mac=02:00:00:00:00:55,mq=on,vectors=6\n');
    expect(two.stderr).toMatch(/as 3, 4/u);

    const json = await okJson<{ args: string[]; fds: number[] }>('qemu-args', 'vt0', '--queues', '2');
    expect(json.args).toEqual([
      '-netdev',
      'tap,id=net0,fds=3:4',
      '-device',
      'virtio-net-pci,netdev=net0,mac=02:00:00:00:00:55,mq=on,vectors=6',
    ]);
    expect(json.fds).toEqual([3, 4]);

    // Without this link's /dev/tapN here, the node openTap makes is gone
    // when the command ends: the note names the device number instead.
    const index = 100000 + randomBytes(3).readUIntBE(0, 3);
    ns.ip('link', 'add', 'link', 'v0', 'name', 'vt1', 'index', String(index), 'type', 'macvtap');
    rmSync(`/dev/tap${index}`, { force: true });
    const dev = execFileSync('ip', ['netns', 'exec', ns.name, 'cat', `/sys/class/net/vt1/macvtap/tap${index}/dev`], {
      encoding: 'utf8',
    }).trim();
    const noNode = await okJson<{ device?: string; major: number; minor: number; note: string }>('qemu-args', 'vt1');
    expect(noNode.device).toBeUndefined();
    expect(`${noNode.major}:${noNode.minor}`).toBe(dev);
    expect(noNode.note).toContain(`open a node of char device ${dev} (/dev/tap${index} is not this link's here: make one with mknod) once`);
    expect(existsSync(`/dev/tap${index}`)).toBe(false);

    const bad = await cli('qemu-args', 'vt0', '--id', '0bad id');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/options\.id/u);
  });
});

describe('usage and errors', () => {
  it('--help exits 0, in general and per command', async () => {
    const h = await run('--help');
    expect(h.code).toBe(0);
    for (const c of ['list', 'show', 'add', 'set', 'del', 'tap', 'shim', 'watch', 'qemu-args'])
      expect(h.stdout).toMatch(new RegExp(`^  ${c}\\s`, 'mu'));
    const a = await run('add', '--help');
    expect(a.code).toBe(0);
    expect(a.stdout).toMatch(/^Usage: macvlan add macvlan\|macvtap <name>/u);
    expect(a.stdout).toMatch(/--source-mac X/u);
  });

  it('exits 2 naming an unknown command, an unknown option, a bad value, or a missing argument', async () => {
    const cmd = await cli('frobnicate');
    expect(cmd).toMatchObject({ code: 2, stdout: '' });
    expect(cmd.stderr).toMatch(/unknown command 'frobnicate'/u);

    const opt = await cli('list', '--bogus');
    expect(opt).toMatchObject({ code: 2, stdout: '' });
    expect(opt.stderr).toMatch(/unknown option '--bogus' for 'list'/u);

    const mode = await cli('add', 'macvlan', 'x', '--lower', 'v0', '--mode', 'bridged');
    expect(mode.code).toBe(2);
    expect(mode.stderr).toMatch(/--mode .*'bridged'/u);

    const mtu = await cli('add', 'macvlan', 'x', '--lower', 'v0', '--mtu', 'big');
    expect(mtu.code).toBe(2);
    expect(mtu.stderr).toMatch(/--mtu .*'big'/u);

    // The library's own argument errors (ERR_OUT_OF_RANGE, ERR_INVALID_ARG_VALUE) are usage errors too.
    const range = await cli('add', 'macvlan', 'x', '--lower', 'v0', '--mtu', '9000');
    expect(range.code).toBe(2);
    expect(range.stderr).toMatch(/^macvlan: Expected spec\.mtu to be <= 1500 \(the MTU of lower 'v0'\), received 9000$/mu);
    const mac = await cli('add', 'macvlan', 'x', '--lower', 'v0', '--mac', '01:00:00:00:00:01');
    expect(mac.code).toBe(2);
    expect(mac.stderr).toMatch(/spec\.mac to be a unicast MAC/u);

    const missing = await cli('add', 'macvlan', 'x');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/--lower is required/u);
    const kind = await cli('add', 'veth', 'x', '--lower', 'v0');
    expect(kind.code).toBe(2);
    expect(kind.stderr).toMatch(/macvlan or macvtap, received 'veth'/u);
    const none = await run();
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/no command/u);

    // Nothing was created by any of these.
    expect(ns.links()).toHaveLength(3);
  });

  it('exits 1 with the ENODEV message for a missing link, and for a missing lower', async () => {
    const r = await cli('show', 'nope0');
    expect(r).toMatchObject({ code: 1, stdout: '' });
    expect(r.stderr).toBe("macvlan: getLink('nope0') failed: ENODEV; no link 'nope0' in this namespace\n");

    const lower = await cli('add', 'macvlan', 'x', '--lower', 'nope1');
    expect(lower.code).toBe(1);
    expect(lower.stderr).toMatch(/^macvlan: createMacvlan\(.*ENODEV; the lower 'nope1' does not exist$/mu);

    const exists = await cli('add', 'macvlan', 'v0', '--lower', 'v1');
    expect(exists.code).toBe(1);
    expect(exists.stderr).toMatch(/^macvlan: .*EEXIST/u);
  });

  it('exits 1 for a namespace that does not exist', async () => {
    const r = await run('--netns', `${ns.name}-none`, 'list');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^macvlan: open\(.*ENOENT/u);
  });
});

describe('watch', () => {
  it('ends quietly, exit 0, when the reader of its output goes away (as `| head` does)', async () => {
    const child = spawn(process.execPath, [BIN, '--netns', ns.name, 'watch', '--existing'], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    await new Promise((resolve) => child.stdout.once('data', resolve));
    child.stdout.destroy();
    // Events keep coming until a write finds the pipe closed.
    for (let i = 0; i < 50 && child.exitCode === null; i++) {
      ip('-n', ns.name, 'link', 'add', `hd${i}`, 'link', 'v0', 'type', 'macvlan');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(await exited).toBe(0);
    expect(stderr).toBe('');
  });

  it('prints a new event for a link made with ip, and stops on SIGINT', async () => {
    const child = spawn(process.execPath, [BIN, '--netns', ns.name, 'watch', '--json', '--existing'], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const events: { type: string; link: Link; existing?: boolean }[] = [];
    const waiters: (() => void)[] = [];
    createInterface({ input: child.stdout }).on('line', (line) => {
      events.push(JSON.parse(line) as (typeof events)[number]);
      waiters.splice(0).forEach((w) => w());
    });
    const waitFor = async (pred: () => boolean): Promise<void> => {
      const deadline = Date.now() + 10_000;
      while (!pred()) {
        if (Date.now() > deadline)
          throw new Error(`timed out; events: ${JSON.stringify(events.map((e) => [e.type, e.link.name]))}; stderr: ${stderr}`);
        await new Promise<void>((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, 200);
        });
      }
    };
    try {
      // The existing links come after the subscription: once v0 and v1 are listed, nothing is missed.
      await waitFor(() => ['v0', 'v1'].every((n) => events.some((e) => e.existing && e.link.name === n)));
      ip('-n', ns.name, 'link', 'add', 'w0', 'link', 'v0', 'type', 'macvlan', 'mode', 'private');
      await waitFor(() => events.some((e) => !e.existing && e.link.name === 'w0'));
      const ev = events.find((e) => !e.existing && e.link.name === 'w0')!;
      expect(ev.type).toBe('new');
      expect(ev.link).toMatchObject({
        kind: 'macvlan',
        index: ipLink('w0').ifindex,
        mac: ipLink('w0').address,
        macvlan: { mode: 'private' },
      });
      child.kill('SIGINT');
      expect(await exited).toBe(0);
      expect(stderr).toBe('');
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
