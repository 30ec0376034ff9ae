// The README's first command runs scripts/demo.mjs: it must show what the
// README says it shows (every link in its mode, each macvtap's /dev/tapN,
// frames delivered or kept apart by the mode rules) and leave nothing behind.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { beforeAll, describe, expect, it } from 'vitest';

import { ip, requireKernelAccess } from './helpers/netns.js';

const DEMO = fileURLToPath(new URL('../scripts/demo.mjs', import.meta.url));

interface Row {
  index: number;
  name: string;
  kind: string;
  mode: string;
  device: string;
}

/** The demo's link table: the lines between its dashed rule and the first blank line. */
function rowsOf(out: string): Row[] {
  const lines = out.split('\n');
  const rule = lines.findIndex((l) => /^-+ {2}-+/.test(l));
  const rows: Row[] = [];
  for (const line of lines.slice(rule + 1)) {
    if (line.trim() === '') break;
    const [index, name, kind, mode, , , , device = '', majorMinor = ''] = line.trim().split(/\s+/);
    rows.push({ index: Number(index), name: name!, kind: kind!, mode: mode!, device: `${device} ${majorMinor}`.trim() });
  }
  return rows;
}

describe('npm run demo', () => {
  let out = '';
  beforeAll(async () => {
    requireKernelAccess();
    out = (await promisify(execFile)(process.execPath, [DEMO], { timeout: 60_000 })).stdout;
  }, 90_000);

  it('lists a link in every mode, each macvtap with its /dev/tapN and device number', () => {
    const rows = rowsOf(out);
    expect(rows.map((r) => r.mode).sort()).toEqual(['bridge', 'bridge', 'bridge', 'passthru', 'private', 'private', 'source', 'vepa']);
    const taps = rows.filter((r) => r.kind === 'macvtap');
    expect(taps).toHaveLength(5);
    for (const t of taps) expect(t.device).toMatch(new RegExp(`^/dev/tap${t.index} \\(\\d+:\\d+\\)$`));
    for (const r of rows.filter((r) => r.kind === 'macvlan')) expect(r.device).not.toMatch(/\/dev\/tap/);
  });

  it('moves frames as the modes say: bridge siblings meet, private ones do not', () => {
    expect(out).toMatch(/unicast +a -> b +: arrived \(unicast a->b\)/);
    expect(out).toMatch(/broadcast a -> b +: arrived/);
    expect(out).toMatch(/broadcast a -> private : not delivered/);
    expect(out).toMatch(/unicast +private -> b : not delivered/);
  });

  it('removes its links and its namespace', () => {
    expect(out).toContain('removed 8 links with one deleteLinks() call');
    const ns = /^namespace (macvlan-demo-[0-9a-f]+):/m.exec(out)?.[1];
    expect(ns).toBeDefined();
    expect(out).toContain(`removed namespace ${ns}`);
    expect(ip('netns', 'list')).not.toContain(ns!);
  });
});
