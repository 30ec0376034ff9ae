// The demo: a throwaway network namespace with a veth wire, macvlan and
// macvtap links in every mode, real frames through /dev/tapN, then cleanup.
// Run it with `npm run demo` (as root).
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';

import { open } from '../dist/index.js';

const ns = `macvlan-demo-${randomBytes(3).toString('hex')}`;
const ip = (...args) => execFileSync('ip', args, { stdio: ['ignore', 'pipe', 'inherit'] });

function macBytes(mac) {
  return Buffer.from(mac.split(':').map((h) => parseInt(h, 16)));
}

/** An Ethernet frame with the local experimental EtherType 0x88b5. */
function frame(dst, src, text) {
  const f = Buffer.alloc(60);
  macBytes(dst).copy(f, 0);
  macBytes(src).copy(f, 6);
  f.writeUInt16BE(0x88b5, 12);
  f.write(text, 14);
  return f;
}

/** The next frame with our EtherType, or null after `ms` (IPv6 chatter is skipped). */
async function receive(tap, ms = 500) {
  const deadline = Date.now() + ms;
  for (;;) {
    const left = deadline - Date.now();
    if (left <= 0) return null;
    let timer;
    const f = await Promise.race([tap.readFrame(), new Promise((resolve) => (timer = setTimeout(resolve, left, null)))]);
    clearTimeout(timer);
    if (f === null) return null;
    if (f.readUInt16BE(12) === 0x88b5) return f;
  }
}

function table(rows, columns) {
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => String(r[c] ?? '').length)));
  const line = (cells) => cells.map((v, i) => String(v ?? '').padEnd(widths[i])).join('  ');
  console.log(line(columns));
  console.log(line(widths.map((w) => '-'.repeat(w))));
  for (const r of rows) console.log(line(columns.map((c) => r[c])));
}

ip('netns', 'add', ns);
const taps = [];
let nl;
try {
  ip('-n', ns, 'link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1');
  ip('-n', ns, 'link', 'add', 'p0', 'type', 'veth', 'peer', 'name', 'p1');
  for (const dev of ['v0', 'v1', 'p0', 'p1']) ip('-n', ns, 'link', 'set', dev, 'up');
  console.log(`namespace ${ns}: veth v0<->v1 (the wire), p0<->p1 (for passthru)\n`);

  nl = await open({ netns: ns });
  await nl.createMacvlan({ lower: 'v0', name: 'mvl-private', mode: 'private' });
  await nl.createMacvlan({ lower: 'v0', name: 'mvl-vepa', mode: 'vepa' });
  await nl.createMacvlan({ lower: 'v0', name: 'mvl-source', mode: 'source', sourceMacs: ['02:00:00:00:00:aa'] });
  await nl.createMacvtap({ lower: 'p0', name: 'mvt-passthru', mode: 'passthru' });
  const a = await nl.createMacvtap({ lower: 'v0', name: 'mvt-a', mode: 'bridge', up: true });
  const b = await nl.createMacvtap({ lower: 'v0', name: 'mvt-b', mode: 'bridge', up: true });
  const p = await nl.createMacvtap({ lower: 'v0', name: 'mvt-priv', mode: 'private', up: true });
  await nl.createMacvtap({ lower: 'v0', mode: 'bridge' }); // the kernel picks the name

  const links = await nl.listLinks({ tapDevices: true });
  const byIndex = new Map(links.map((l) => [l.index, l.name]));
  const rows = links
    .filter((l) => l.kind === 'macvlan' || l.kind === 'macvtap')
    .map((l) => ({
      index: l.index,
      name: l.name,
      kind: l.kind,
      mode: l.macvlan?.mode,
      mac: l.mac,
      lower: byIndex.get(l.lower) ?? l.lower,
      up: l.up ? 'up' : 'down',
      device: l.tap ? `${l.tap.device} (${l.tap.major}:${l.tap.minor})` : '',
      sources: l.macvlan?.sourceMacs?.join(' ') ?? '',
    }));
  table(rows, ['index', 'name', 'kind', 'mode', 'mac', 'lower', 'up', 'device', 'sources']);

  const [ta, tb, tp] = await Promise.all([nl.openTap('mvt-a'), nl.openTap('mvt-b'), nl.openTap('mvt-priv')]);
  taps.push(ta, tb, tp);
  console.log(`\nframes through ${ta.device} -> ${tb.device} (bridge siblings) and ${tp.device} (private):`);

  await ta.writeFrame(frame(b.mac, a.mac, 'unicast a->b'));
  const uni = await receive(tb);
  console.log(`  unicast   a -> b       : ${uni ? `arrived (${uni.subarray(14, 26).toString()})` : 'lost'}`);

  await ta.writeFrame(frame('ff:ff:ff:ff:ff:ff', a.mac, 'broadcast from a'));
  const bcB = await receive(tb);
  const bcP = await receive(tp);
  console.log(`  broadcast a -> b       : ${bcB ? 'arrived' : 'lost'}`);
  console.log(`  broadcast a -> private : ${bcP ? 'arrived (unexpected!)' : 'not delivered (private mode isolates it)'}`);

  await tp.writeFrame(frame(b.mac, p.mac, 'private p->b'));
  const fromP = await receive(tb);
  console.log(`  unicast   private -> b : ${fromP ? 'arrived (unexpected!)' : 'not delivered (private mode isolates it)'}`);
} finally {
  await Promise.all(taps.map((t) => t.close()));
  if (nl) {
    const mine = (await nl.listLinks()).filter((l) => l.kind === 'macvlan' || l.kind === 'macvtap');
    await nl.deleteLinks(mine.map((l) => l.index));
    console.log(`\nremoved ${mine.length} links with one deleteLinks() call`);
    await nl.close();
  }
  ip('netns', 'del', ns);
  console.log(`removed namespace ${ns}`);
}
