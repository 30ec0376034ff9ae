// listLinks() against the C reference's RTM_GETLINK dump (bench/ref.c), side
// by side in one throwaway namespace, measured as bench/run.mjs measures
// them (one untimed dump, then the mean of 5), contenders alternating.
//   node bench/dump-profile.mjs [options]
//     --links 500,5000     macvtap links on a veth lower (plus lo and the veth pair)
//     --rounds 9           measurements of each contender per size
//     --lib dir[,dir...]   packages to compare (default: this one); e.g. a copy of the
//                          package built from main, to compare before/after in one run
//     --ref path           the C reference (default bench/out/ref, built from bench/ref.c if missing)
//     --profile N          no comparison: N listLinks() on the largest size (for --cpu-prof / perf)
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

import { Spawner } from './spawner.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const { values: opt } = parseArgs({
  options: {
    links: { type: 'string', default: '500,5000' },
    rounds: { type: 'string', default: '9' },
    lib: { type: 'string', default: resolve(here, '..') },
    ref: { type: 'string', default: join(here, 'out', 'ref') },
    profile: { type: 'string' },
  },
});
const sizes = opt.links.split(',').map(Number);
const rounds = Number(opt.rounds);
const libs = opt.lib.split(',').map((d) => resolve(d));
const repeats = 5;

if (!existsSync(opt.ref)) {
  mkdirSync(dirname(opt.ref), { recursive: true });
  execFileSync('cc', ['-O2', '-o', opt.ref, join(here, 'ref.c')]);
}

const NS = `mvdump-${process.pid}`;
// Commands run in a process of their own: a fork of this one would cost the
// library's next calls a page fault a page they write (bench/spawner.mjs).
const spawner = new Spawner();
const ip = async (...args) => (await spawner.ip(args)).stdout;
const now = () => performance.now();
const mean = (a) => a.reduce((x, y) => x + y, 0) / a.length;
const median = (a) => {
  const s = [...a].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

async function libMean(nl, expect) {
  const first = await nl.listLinks();
  if (first.length < expect) throw new Error(`listLinks() gave ${first.length} links, expected >= ${expect}`);
  const t = [];
  for (let i = 0; i < repeats; i++) {
    const t0 = now();
    await nl.listLinks();
    t.push(now() - t0);
  }
  return mean(t);
}

async function cMean(expect) {
  const r = JSON.parse(await ip('netns', 'exec', NS, opt.ref, 'dump', String(repeats + 1)));
  if (r.links < expect) throw new Error(`C dump saw ${r.links} links, expected >= ${expect}`);
  return mean(r.seconds.slice(1)) * 1000;
}

let have = 0;
async function grow(n) {
  if (n <= have) return;
  const file = `/run/${NS}.batch`;
  const lines = [];
  for (let i = have; i < n; i++) lines.push(`link add mvd${i} link v0 type macvtap mode bridge`);
  writeFileSync(file, lines.join('\n') + '\n');
  await ip('-n', NS, '-batch', file);
  rmSync(file);
  have = n;
}

await ip('netns', 'add', NS);
const handles = [];
try {
  // As bench/run.mjs sets its namespace up: no IPv6, lo and the veth pair up.
  await ip('netns', 'exec', NS, 'sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1');
  await ip('-n', NS, 'link', 'set', 'lo', 'up');
  await ip('-n', NS, 'link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1');
  await ip('-n', NS, 'link', 'set', 'v0', 'up');
  await ip('-n', NS, 'link', 'set', 'v1', 'up');
  for (const dir of libs) {
    const { open } = await import(pathToFileURL(join(dir, 'dist', 'index.js')).href);
    handles.push(await open({ netns: NS }));
  }
  if (opt.profile !== undefined) {
    const n = Math.max(...sizes);
    await grow(n);
    const t0 = now();
    for (let i = 0; i < Number(opt.profile); i++) await handles[0].listLinks();
    console.log(`${opt.profile} x listLinks() of ${n + 3} links: ${((now() - t0) / Number(opt.profile)).toFixed(2)} ms each`);
  } else {
    for (const n of sizes) {
      await grow(n);
      const c = [];
      const lib = libs.map(() => []);
      for (let r = 0; r < rounds; r++) {
        // Alternate who goes first, so neither always runs on a warmer machine.
        if (r % 2) c.push(await cMean(n));
        for (let k = 0; k < libs.length; k++) lib[k].push(await libMean(handles[k], n));
        if (r % 2 === 0) c.push(await cMean(n));
      }
      const cm = median(c);
      console.log(`${n + 3} links: C ${cm.toFixed(2)} ms (${Math.min(...c).toFixed(2)}..${Math.max(...c).toFixed(2)})`);
      libs.forEach((dir, k) => {
        const ratios = lib[k].map((v, i) => v / c[i]);
        console.log(
          `  ${dir}: ${median(lib[k]).toFixed(2)} ms (${Math.min(...lib[k]).toFixed(2)}..${Math.max(...lib[k]).toFixed(2)}), ` +
            `${(median(lib[k]) / cm).toFixed(2)}x C (median of per-round ratios ${median(ratios).toFixed(2)}x)`,
        );
      });
    }
  }
} finally {
  for (const h of handles) await h.close();
  await ip('netns', 'del', NS);
  spawner.close();
}
