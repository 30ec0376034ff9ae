// Run by bench/inproc-profile.sh inside its namespace: each round measures
// every contender (10 dumps after one untimed), in turn.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, 'out');
const inproc = createRequire(import.meta.url)(join(out, 'inproc.node'));
const lib = resolve(here, '..', 'dist');
const { openNative } = await import(join(lib, 'calls.js'));
const { LinkOp } = await import(join(lib, 'binding.js'));
const { open } = await import(join(lib, 'index.js'));

const rounds = Number(process.argv[2] ?? 15);
const DUMPS = 10;
const SKIP_STATS = 8; // RTEXT_FILTER_SKIP_STATS, as listLinks and the C reference ask
const result = join(out, 'inproc.json');
const raw = openNative('');
await raw.opened;
const handle = await open();

const timed = async (fn) => {
  await fn();
  const ms = [];
  for (let i = 0; i < DUMPS; i++) {
    const t0 = performance.now();
    await fn();
    ms.push(performance.now() - t0);
  }
  return ms;
};
const refSeconds = (json) => (Array.isArray(json.seconds) ? json.seconds.slice(1) : [json.seconds / (DUMPS + 1)]);
const contenders = {
  'C, its own process': () => refSeconds(JSON.parse(execFileSync(join(out, 'ref'), ['dump', String(DUMPS + 1)]))).map((s) => s * 1e3),
  'C inside this Node process': () => {
    inproc.run(result, 'dump', String(DUMPS + 1));
    return refSeconds(JSON.parse(readFileSync(result, 'utf8'))).map((s) => s * 1e3);
  },
  'C inside Node, through an I/O thread': () => {
    inproc.run(result, 'dump-io', String(DUMPS + 1), '0'); // no spin after a dump, as the library
    return refSeconds(JSON.parse(readFileSync(result, 'utf8'))).map((s) => s * 1e3);
  },
  'library: raw dump (a LinkTable, no Link objects)': () => timed(() => raw.link(LinkOp.dump, { extMask: SKIP_STATS }, undefined, 0)),
  'library: listLinks()': () => timed(() => handle.listLinks()),
};
const names = Object.keys(contenders);
const ms = Object.fromEntries(names.map((n) => [n, []]));
for (let r = 0; r < rounds; r++) {
  for (let k = 0; k < names.length; k++) {
    const name = names[(k + r) % names.length];
    ms[name].push(...(await contenders[name]()));
  }
}
await raw.close();
await handle.close();
const quantile = (v, q) => [...v].sort((a, b) => a - b)[Math.floor(v.length * q)];
for (const name of names) {
  console.log(`${name.padEnd(50)} median ${quantile(ms[name], 0.5).toFixed(3)} ms, p25 ${quantile(ms[name], 0.25).toFixed(3)} ms`);
}
