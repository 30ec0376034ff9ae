// The package as a user gets it. `npm pack` runs in a scratch copy of the
// repository (its "prepack" builds dist/ and the prebuilt addons for
// linux-x64 and linux-arm64; the developers' build/ and prebuilds/ are never
// touched), then the tarball is installed with a plain `npm install` into an
// empty directory whose PATH holds node, npm and sh and no compiler, and a
// script there imports 'macvlan' and makes and deletes a macvtap in a fresh
// network namespace with the prebuilt linux-x64 addon. Slow: two addon builds.
import { execFile, execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { makeNetns, removeLeftoverNetns, requireKernelAccess, type TestNetns } from './helpers/netns.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TAG = `pkg${process.pid}`;
const PACK_TIMEOUT = 20 * 60_000;
const INSTALL_TIMEOUT = 5 * 60_000;

/** Not copied into the scratch repository: builds, caches, VCS, old output. */
const NOT_COPIED = new Set([
  'build-asan',
  'build',
  '.git',
  'node_modules',
  '.cache',
  'dist',
  'bench/out',
  'prebuilds/linux-x64',
  'prebuilds/linux-arm64',
]);

/** What must not be found on the install's PATH. */
const COMPILERS = ['cc', 'c++', 'gcc', 'g++', 'clang', 'clang++', 'make', 'aarch64-linux-gnu-g++'];

let work: string;
let tgz: string | undefined;
let entries: string[] = [];
let ns: TestNetns | undefined;

/** The command's path on this machine's PATH. */
function which(name: string): string {
  return realpathSync(execFileSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).trim());
}

/**
 * Runs a command and resolves to its stdout; on failure the error carries its
 * output. Asynchronous: a minute-long synchronous build would starve the
 * vitest worker's RPC.
 */
async function run(cmd: string, args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv; timeout: number }): Promise<string> {
  try {
    return (await promisify(execFile)(cmd, args, { ...options, encoding: 'utf8', maxBuffer: 64 << 20 })).stdout;
  } catch (err) {
    const e = err as { status?: number; signal?: string; stdout?: string; stderr?: string };
    throw new Error(
      `${cmd} ${args.join(' ')} failed (${e.signal ?? `exit ${e.status}`}):\n${e.stdout ?? ''}\n${e.stderr ?? ''}`.slice(-20_000),
      { cause: err },
    );
  }
}

beforeAll(() => {
  requireKernelAccess();
  work = mkdtempSync(join(tmpdir(), 'macvlan-package-'));
});

afterAll(() => {
  ns?.remove();
  removeLeftoverNetns(TAG);
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('the npm package', () => {
  it(
    'npm pack builds dist/ and the linux-x64 and linux-arm64 prebuilds into the tarball',
    async () => {
      const repo = join(work, 'repo');
      cpSync(ROOT, repo, {
        recursive: true,
        filter: (src) => {
          const rel = relative(ROOT, src).split(sep).join('/');
          return !NOT_COPIED.has(rel) && !rel.endsWith('.tgz');
        },
      });
      symlinkSync(join(ROOT, 'node_modules'), join(repo, 'node_modules'));
      const out = join(work, 'out');
      mkdirSync(out);
      await run('npm', ['pack', '--pack-destination', out], { cwd: repo, timeout: PACK_TIMEOUT });

      const tarballs = readdirSync(out).filter((f) => f.endsWith('.tgz'));
      expect(tarballs).toHaveLength(1);
      tgz = join(out, tarballs[0]!);
      entries = (await run('tar', ['-tzf', tgz], { cwd: work, timeout: 60_000 })).split('\n').filter(Boolean);
      expect(entries).toEqual(
        expect.arrayContaining([
          'package/package.json',
          'package/dist/index.js',
          'package/binding.gyp',
          'package/prebuilds/linux-x64/macvlan.node',
          'package/prebuilds/linux-arm64/macvlan.node',
        ]),
      );
      expect(entries.filter((e) => e.startsWith('package/build/'))).toEqual([]);
    },
    PACK_TIMEOUT + 60_000,
  );

  it('the linux-arm64 prebuild is an AArch64 ELF that needs only the C/C++ runtime', async () => {
    expect(tgz, 'no tarball: npm pack failed').toBeDefined();
    const dir = join(work, 'unpacked');
    mkdirSync(dir);
    await run('tar', ['-xzf', tgz!, '-C', dir, 'package/prebuilds'], { cwd: work, timeout: 60_000 });
    const arm = join(dir, 'package/prebuilds/linux-arm64/macvlan.node');
    const x64 = join(dir, 'package/prebuilds/linux-x64/macvlan.node');
    expect(await run('file', ['-b', arm], { cwd: work, timeout: 10_000 })).toMatch(/^ELF 64-bit LSB shared object, ARM aarch64,.*stripped/);
    expect(await run('file', ['-b', x64], { cwd: work, timeout: 10_000 })).toMatch(/^ELF 64-bit LSB shared object, x86-64,.*stripped/);
    const dynamic = await run('readelf', ['-d', arm], { cwd: work, timeout: 10_000 });
    const needed = [...dynamic.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1]).sort();
    expect(needed).toEqual(['libc.so.6', 'libgcc_s.so.1', 'libstdc++.so.6']);
    expect(await run('readelf', ['-h', arm], { cwd: work, timeout: 10_000 })).toMatch(/Machine:\s+AArch64/);
  });

  it(
    'installs without a compiler and drives a macvtap with the linux-x64 prebuild',
    async () => {
      expect(tgz, 'no tarball: npm pack failed').toBeDefined();

      // A PATH with node, npm and sh only.
      const bin = join(work, 'bin');
      mkdirSync(bin);
      symlinkSync(realpathSync(process.execPath), join(bin, 'node'));
      for (const tool of ['npm', 'sh']) symlinkSync(which(tool), join(bin, tool));
      const env: NodeJS.ProcessEnv = { PATH: bin, HOME: process.env.HOME ?? '/root' };
      for (const key of ['HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY', 'http_proxy', 'https_proxy', 'no_proxy']) {
        if (process.env[key] !== undefined) env[key] = process.env[key];
      }
      const resolvable = (name: string): boolean => {
        try {
          execFileSync(join(bin, 'sh'), ['-c', `command -v ${name}`], { env, stdio: 'ignore' });
          return true;
        } catch {
          return false;
        }
      };
      expect(['node', 'npm', 'sh'].filter(resolvable)).toEqual(['node', 'npm', 'sh']);
      expect(COMPILERS.filter(resolvable)).toEqual([]);

      const app = join(work, 'app');
      mkdirSync(app);
      await run('npm', ['install', tgz!, '--ignore-scripts=false', '--no-audit', '--no-fund'], { cwd: app, env, timeout: INSTALL_TIMEOUT });
      const pkg = join(app, 'node_modules', 'macvlan');
      // The install script found a prebuild that loads: nothing was built.
      expect(existsSync(join(pkg, 'build'))).toBe(false);

      ns = makeNetns(TAG);
      writeFileSync(
        join(app, 'check.mjs'),
        `import { open } from 'macvlan';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const pkg = join(process.cwd(), 'node_modules', 'macvlan');
const resolved = createRequire(join(pkg, 'package.json'))('node-gyp-build').path(pkg);
const nl = await open({ netns: process.argv[2] });
const made = await nl.createMacvtap({ lower: 'v0', name: 'pk0', mode: 'bridge', up: true });
const got = await nl.getLink('pk0');
await nl.deleteLink('pk0');
const left = (await nl.listLinks({ kind: 'macvtap' })).map((l) => l.name);
await nl.close();
const loaded = [...new Set(readFileSync('/proc/self/maps', 'utf8').split('\\n')
  .map((l) => l.trim().split(/\\s+/).slice(5).join(' ')).filter((p) => p.endsWith('.node')))];
console.log(JSON.stringify({ resolved, loaded, made, got, left }));
`,
      );
      const out = await run('node', ['check.mjs', ns.name], { cwd: app, env, timeout: 60_000 });
      const result = JSON.parse(out.trim().split('\n').pop()!) as {
        resolved: string;
        loaded: string[];
        made: { name: string; kind: string; macvlan?: { mode: string }; tap?: { device: string } };
        got: { index: number; kind: string };
        left: string[];
      };
      const prebuild = join(realpathSync(pkg), 'prebuilds', 'linux-x64', 'macvlan.node');
      expect(result.resolved).toBe(prebuild);
      expect(result.loaded).toEqual([prebuild]);
      expect(result.made).toMatchObject({ name: 'pk0', kind: 'macvtap', macvlan: { mode: 'bridge' } });
      expect(result.made.tap?.device).toMatch(/^\/(dev\/tap|run\/macvlan\/)/);
      expect(result.got.kind).toBe('macvtap');
      expect(result.left).toEqual([]);
      expect(
        ns
          .links()
          .map((l) => l.ifname)
          .sort(),
      ).toEqual(['lo', 'v0', 'v1']);
    },
    INSTALL_TIMEOUT + 120_000,
  );
});
