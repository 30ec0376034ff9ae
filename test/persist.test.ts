// Persistence exporters: systemd-networkd files and libvirt interface XML.
// Unit tests pin the exact output; then the output is checked by the real
// consumers: systemd-networkd 252 creates the links from the files (see
// helpers/networkd.ts for why not `systemd-analyze verify`), and libvirt's
// virt-xml-validate checks the XML against its domain schema. Neither is
// skipped when missing: the test fails (the Debian packages are systemd and
// libvirt-clients).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { MODES, open, toLibvirtInterface, toSystemdNetworkd, type Link, type Mode } from '../src/index.js';
import { makeNetns, removeLeftoverNetns, requireKernelAccess, type IpLink, type TestNetns } from './helpers/netns.js';
import { runNetworkd } from './helpers/networkd.js';

const TAG = `persist${process.pid}`;
afterAll(() => removeLeftoverNetns(TAG));

function fakeLink(
  kind: 'macvlan' | 'macvtap',
  mode: Mode | number,
  extra: Partial<Link> = {},
  macvlan: Partial<Link['macvlan']> = {},
): Link {
  return {
    index: 7,
    name: kind === 'macvlan' ? 'mv0' : 'vm0',
    kind,
    mac: '02:00:00:00:00:0a',
    mtu: 1500,
    up: false,
    operState: 'down',
    lower: 3,
    macvlan: { mode, nopromisc: false, nodst: false, bcQueueLen: 1000, ...(mode === 'source' ? { sourceMacs: [] } : {}), ...macvlan },
    ...extra,
  };
}

const lowerLink: Link = { index: 3, name: 'eth0', kind: 'veth', mtu: 1500, up: true, operState: 'up' };

function codeOf(fn: () => unknown): { name: string; code: unknown; message: string } {
  try {
    fn();
  } catch (err) {
    const e = err as Error & { code?: unknown };
    return { name: e.name, code: e.code, message: e.message };
  }
  throw new Error('expected a throw');
}

describe('toSystemdNetworkd: exact files', () => {
  for (const kind of ['macvlan', 'macvtap'] as const) {
    const section = kind === 'macvlan' ? 'MACVLAN' : 'MACVTAP';
    for (const mode of MODES) {
      it(`${kind} mode ${mode}`, () => {
        const link = fakeLink(kind, mode, {}, mode === 'source' ? { sourceMacs: ['02:00:00:00:00:01', '02:00:00:00:00:02'] } : {});
        const { files, warnings } = toSystemdNetworkd(link, lowerLink);
        const name = link.name;
        const source = mode === 'source' ? 'SourceMACAddress=02:00:00:00:00:01\nSourceMACAddress=02:00:00:00:00:02\n' : '';
        expect(files).toEqual([
          {
            path: `10-${name}.netdev`,
            content:
              `[NetDev]\nName=${name}\nKind=${kind}\n${mode === 'passthru' ? '' : 'MACAddress=02:00:00:00:00:0a\n'}MTUBytes=1500\n\n` +
              `[${section}]\nMode=${mode}\n${source}${kind === 'macvlan' ? 'BroadcastMulticastQueueLength=1000\n' : ''}`,
          },
          { path: `eth0.network.d/${kind}-${name}.conf`, content: `[Network]\n${section}=${name}\n` },
        ]);
        expect(warnings).toEqual([]);
      });
    }
  }

  it('writes the link .network with addresses and routes, and honours fileStem and lowerNetworkFile', () => {
    const { files } = toSystemdNetworkd(fakeLink('macvlan', 'bridge', { mac: '02:AB:00:00:00:0A' }, { bcQueueLen: undefined }), 'eth0', {
      addresses: ['192.0.2.10/24', '2001:db8::10/64'],
      routes: ['198.51.100.0/24', 'default', '203.0.113.7'],
      fileStem: '50-shim',
      lowerNetworkFile: '20-eth0.network',
    });
    expect(files).toEqual([
      {
        path: '50-shim.netdev',
        content: '[NetDev]\nName=mv0\nKind=macvlan\nMACAddress=02:ab:00:00:00:0a\nMTUBytes=1500\n\n[MACVLAN]\nMode=bridge\n',
      },
      {
        path: '50-shim.network',
        content:
          '[Match]\nName=mv0\n\n[Network]\nAddress=192.0.2.10/24\nAddress=2001:db8::10/64\n\n' +
          '[Route]\nDestination=198.51.100.0/24\n\n[Route]\nDestination=0.0.0.0/0\n\n[Route]\nDestination=203.0.113.7/32\n',
      },
      { path: '20-eth0.network.d/macvlan-mv0.conf', content: '[Network]\nMACVLAN=mv0\n' },
    ]);
  });

  it('writes a bare link .network for a link that is up (networkd leaves unmatched links down), none for one that is down', () => {
    const up = toSystemdNetworkd(fakeLink('macvtap', 'vepa', { up: true, mtu: 0, mac: undefined }, { bcQueueLen: undefined }), 'eth0');
    expect(up.files).toEqual([
      { path: '10-vm0.netdev', content: '[NetDev]\nName=vm0\nKind=macvtap\n\n[MACVTAP]\nMode=vepa\n' },
      { path: '10-vm0.network', content: '[Match]\nName=vm0\n\n[Network]\n' },
      { path: 'eth0.network.d/macvtap-vm0.conf', content: '[Network]\nMACVTAP=vm0\n' },
    ]);
  });

  it('warns about what networkd cannot express instead of dropping it silently', () => {
    const { warnings } = toSystemdNetworkd(fakeLink('macvlan', 'source', {}, { nodst: true, nopromisc: true, bcCutoff: 5 }), 'eth0');
    expect(warnings).toHaveLength(3);
    expect(warnings.join('\n')).toMatch(/nopromisc[\s\S]*nodst[\s\S]*bcCutoff 5/u);
    expect(toSystemdNetworkd(fakeLink('macvlan', 'bridge', {}, { bcCutoff: 1 }), 'eth0').warnings).toEqual([]);
    // networkd 252 ignores BroadcastMulticastQueueLength= in [MACVTAP] (see the networkd test).
    expect(toSystemdNetworkd(fakeLink('macvtap', 'bridge', {}, { bcQueueLen: 500 }), 'eth0').warnings).toEqual([
      "link 'vm0': bcQueueLen 500 is not persisted: systemd-networkd 252 reads BroadcastMulticastQueueLength= only for macvlan, not macvtap",
    ]);
    // A .netdev has no transmit queue length or queue counts; the kernel's defaults lose nothing.
    expect(toSystemdNetworkd(fakeLink('macvtap', 'bridge', { txQueueLen: 77, numTxQueues: 4, numRxQueues: 4 }), 'eth0').warnings).toEqual([
      "link 'vm0': txQueueLen 77 has no systemd-networkd .netdev setting; it is not persisted",
      "link 'vm0': 4 tx and 4 rx queues have no systemd-networkd .netdev setting; they are not persisted",
    ]);
    const defaults = { numTxQueues: 1, numRxQueues: 1 };
    expect(toSystemdNetworkd(fakeLink('macvtap', 'bridge', { txQueueLen: 500, ...defaults }), 'eth0').warnings).toEqual([]);
    expect(toSystemdNetworkd(fakeLink('macvlan', 'bridge', { txQueueLen: 1000, ...defaults }), 'eth0').warnings).toEqual([]);
    expect(toSystemdNetworkd(fakeLink('macvlan', 'bridge', { txQueueLen: 500 }), 'eth0').warnings).toHaveLength(1);
  });
});

describe('toSystemdNetworkd: errors', () => {
  it.each<[string, () => unknown, string, string, RegExp]>([
    [
      'not a link',
      () => toSystemdNetworkd(null as unknown as Link, 'eth0'),
      'TypeError',
      'ERR_INVALID_ARG_TYPE',
      /link to be a Link object/u,
    ],
    [
      'a veth',
      () => toSystemdNetworkd(lowerLink, 'eth0'),
      'TypeError',
      'ERR_INVALID_ARG_VALUE',
      /link\.kind to be one of 'macvlan' \| 'macvtap', received 'veth'/u,
    ],
    [
      'an unknown mode number',
      () => toSystemdNetworkd(fakeLink('macvlan', 32), 'eth0'),
      'TypeError',
      'ERR_INVALID_ARG_TYPE',
      /link\.macvlan\.mode/u,
    ],
    [
      'the wrong lower',
      () => toSystemdNetworkd(fakeLink('macvlan', 'bridge'), { ...lowerLink, index: 9 }),
      'TypeError',
      'ERR_INVALID_ARG_VALUE',
      /lower to be the link's lower \(ifindex 3\), received 'eth0' \(ifindex 9\)/u,
    ],
    [
      'a lower name too long',
      () => toSystemdNetworkd(fakeLink('macvlan', 'bridge'), 'a-very-long-name-x'),
      'RangeError',
      'ERR_OUT_OF_RANGE',
      /lower to be an interface name of 1 to 15 bytes/u,
    ],
    [
      'a glob in the name',
      () => toSystemdNetworkd(fakeLink('macvlan', 'bridge', { name: 'mv*' }), 'eth0'),
      'TypeError',
      'ERR_INVALID_ARG_VALUE',
      /link\.name to be an interface name systemd-networkd can match literally/u,
    ],
    [
      // [Match] Name=!neg would match every interface but 'neg'.
      "a leading '!' in the name",
      () => toSystemdNetworkd(fakeLink('macvlan', 'bridge', { name: '!neg' }), 'eth0'),
      'TypeError',
      'ERR_INVALID_ARG_VALUE',
      /link\.name to be an interface name systemd-networkd can match literally \(no leading '!'/u,
    ],
    [
      'a % in the lower',
      () => toSystemdNetworkd(fakeLink('macvlan', 'bridge'), 'eth%d'),
      'TypeError',
      'ERR_INVALID_ARG_VALUE',
      /lower to be a name without '%'/u,
    ],
    [
      'a quote in the lower',
      () => toSystemdNetworkd(fakeLink('macvlan', 'bridge'), "e'th"),
      'TypeError',
      'ERR_INVALID_ARG_VALUE',
      /lower to be an interface name systemd-networkd/u,
    ],
    [
      'a misspelt option',
      () => toSystemdNetworkd(fakeLink('macvlan', 'bridge'), 'eth0', { adresses: [] } as never),
      'TypeError',
      'ERR_INVALID_ARG_VALUE',
      /Unknown option options\.adresses \(did you mean 'addresses'\?\)/u,
    ],
    [
      'an address without prefix',
      () => toSystemdNetworkd(fakeLink('macvlan', 'bridge'), 'eth0', { addresses: ['192.0.2.1'] }),
      'TypeError',
      'ERR_INVALID_ARG_VALUE',
      /options\.addresses\[0\]/u,
    ],
    [
      'a route with host bits',
      () => toSystemdNetworkd(fakeLink('macvlan', 'bridge'), 'eth0', { routes: ['10.0.0.1/8'] }),
      'TypeError',
      'ERR_INVALID_ARG_VALUE',
      /did you mean '10\.0\.0\.0\/8'/u,
    ],
    [
      'routes not an array',
      () => toSystemdNetworkd(fakeLink('macvlan', 'bridge'), 'eth0', { routes: 'x' as never }),
      'TypeError',
      'ERR_INVALID_ARG_TYPE',
      /options\.routes to be an array/u,
    ],
    [
      'a stem with a slash',
      () => toSystemdNetworkd(fakeLink('macvlan', 'bridge'), 'eth0', { fileStem: '../x' }),
      'TypeError',
      'ERR_INVALID_ARG_VALUE',
      /options\.fileStem to be a file name/u,
    ],
    [
      'a multicast MAC',
      () => toSystemdNetworkd(fakeLink('macvlan', 'bridge', { mac: '01:00:5e:00:00:01' }), 'eth0'),
      'TypeError',
      'ERR_INVALID_ARG_VALUE',
      /link\.mac to be a unicast MAC/u,
    ],
  ])('refuses %s', (_what, fn, name, code, message) => {
    const e = codeOf(fn);
    expect(e).toMatchObject({ name, code });
    expect(e.message).toMatch(message);
  });
});

describe('toLibvirtInterface', () => {
  it.each<[Mode, string]>([
    ['vepa', 'vepa'],
    ['bridge', 'bridge'],
    ['private', 'private'],
    ['passthru', 'passthrough'],
  ])('mode %s -> %s', (mode, libvirtMode) => {
    for (const kind of ['macvtap', 'macvlan'] as const) {
      expect(toLibvirtInterface(fakeLink(kind, mode), lowerLink)).toBe(
        `<interface type='direct'>\n  <mac address='02:00:00:00:00:0a'/>\n  <source dev='eth0' mode='${libvirtMode}'/>\n  <model type='virtio'/>\n</interface>\n`,
      );
    }
  });

  it('takes a model, and escapes what it writes', () => {
    // "a&b'<c>" is a valid kernel name (dev_valid_name); libvirt's schema would refuse it, the XML must still be well-formed.
    expect(toLibvirtInterface(fakeLink('macvtap', 'bridge'), `a&b'<c>"`, { model: 'e1000e' })).toBe(
      `<interface type='direct'>\n  <mac address='02:00:00:00:00:0a'/>\n  <source dev='a&amp;b&apos;&lt;c&gt;&quot;' mode='bridge'/>\n  <model type='e1000e'/>\n</interface>\n`,
    );
  });

  it.each<[string, () => unknown, string, RegExp]>([
    [
      'source mode',
      () => toLibvirtInterface(fakeLink('macvtap', 'source'), 'eth0'),
      'ERR_INVALID_ARG_VALUE',
      /libvirt's direct interfaces have no source mode\), received 'source'/u,
    ],
    [
      'a bad model',
      () => toLibvirtInterface(fakeLink('macvtap', 'bridge'), 'eth0', { model: "virtio'/><x" }),
      'ERR_INVALID_ARG_VALUE',
      /options\.model to be a libvirt NIC model/u,
    ],
    [
      'a model number',
      () => toLibvirtInterface(fakeLink('macvtap', 'bridge'), 'eth0', { model: 1 as never }),
      'ERR_INVALID_ARG_TYPE',
      /options\.model to be a string/u,
    ],
    [
      'a lower number',
      () => toLibvirtInterface(fakeLink('macvtap', 'bridge'), 3 as never),
      'ERR_INVALID_ARG_TYPE',
      /lower to be a Link or a link name/u,
    ],
    [
      'an unknown option',
      () => toLibvirtInterface(fakeLink('macvtap', 'bridge'), 'eth0', { modle: 'x' } as never),
      'ERR_INVALID_ARG_VALUE',
      /did you mean 'model'/u,
    ],
  ])('refuses %s', (_what, fn, code, message) => {
    const e = codeOf(fn);
    expect(e).toMatchObject({ name: 'TypeError', code });
    expect(e.message).toMatch(message);
  });
});

// ---------------------------------------------------------------------------
// External validators.
// ---------------------------------------------------------------------------

function virtXmlValidate(iface: string): { ok: boolean; output: string } {
  // The 'domain' schema needs a whole domain: wrap the interface in a minimal one.
  const dir = mkdtempSync(join(tmpdir(), 'mvt-libvirt-'));
  const file = join(dir, 'domain.xml');
  writeFileSync(
    file,
    `<domain type='kvm'>\n<name>persist-test</name>\n<memory unit='MiB'>128</memory>\n<os><type arch='x86_64'>hvm</type></os>\n<devices>\n${iface}</devices>\n</domain>\n`,
  );
  try {
    const r = spawnSync('virt-xml-validate', [file, 'domain'], { encoding: 'utf8' });
    if (r.error) throw r.error;
    return { ok: r.status === 0, output: `${r.stdout}${r.stderr}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('libvirt: virt-xml-validate (domain schema)', () => {
  it.each(['vepa', 'bridge', 'private', 'passthru'] as const)('accepts the %s interface', (mode) => {
    const r = virtXmlValidate(toLibvirtInterface(fakeLink('macvtap', mode), lowerLink, { model: 'e1000e' }));
    expect(r.output).toMatch(/ validates$/mu);
    expect(r.ok).toBe(true);
  });

  it('is a real check: it refuses mode "passthru", libvirt spells it "passthrough"', () => {
    const xml = toLibvirtInterface(fakeLink('macvtap', 'passthru'), lowerLink).replace('passthrough', 'passthru');
    const r = virtXmlValidate(xml);
    expect(r.output).toMatch(/fails to validate/u);
    expect(r.ok).toBe(false);
  });
});

interface IpAddr {
  ifname: string;
  addr_info: { family: string; local: string; prefixlen: number }[];
}
interface IpRoute {
  dst: string;
  dev: string;
}

describe('systemd-networkd creates the links from the files', () => {
  let ns: TestNetns | undefined;
  afterAll(() => ns?.remove());

  // One networkd run for all ten kinds and modes: passthru takes a lower to
  // itself, so v0 carries the other eight, p0 and q0 the two passthru links.
  it('every kind and mode, with addresses, routes and source MACs', () => {
    requireKernelAccess();
    ns = makeNetns(`${TAG}-nd`);
    for (const lower of ['p0', 'q0']) {
      ns.ip('link', 'add', lower, 'type', 'veth', 'peer', 'name', `${lower.slice(0, 1)}1`);
      ns.ip('link', 'set', lower, 'up');
      ns.ip('link', 'set', `${lower.slice(0, 1)}1`, 'up');
    }
    const files: { path: string; content: string }[] = [];
    const expected: { name: string; kind: string; mode: Mode; lower: string; mac: string; sources?: string[] }[] = [];
    let n = 0;
    for (const kind of ['macvlan', 'macvtap'] as const) {
      for (const mode of MODES) {
        n++;
        const name = `${kind === 'macvlan' ? 'l' : 't'}-${mode}`;
        const lower = mode !== 'passthru' ? 'v0' : kind === 'macvlan' ? 'p0' : 'q0';
        const mac = `02:00:00:00:01:${n.toString(16).padStart(2, '0')}`;
        const sources = mode === 'source' ? ['02:00:00:00:02:01', '02:00:00:00:02:02'] : undefined;
        const link = fakeLink(
          kind,
          mode,
          { name, mac, mtu: 1400 },
          { bcQueueLen: kind === 'macvlan' ? 500 : 1000, ...(sources ? { sourceMacs: sources } : {}) },
        );
        const out = toSystemdNetworkd(
          link,
          lower,
          kind === 'macvlan' && mode === 'bridge' ? { addresses: ['192.0.2.10/24'], routes: ['198.51.100.0/24'] } : {},
        );
        expect(out.warnings).toEqual([]);
        files.push(...out.files);
        expected.push({ name, kind, mode, lower, mac, ...(sources ? { sources } : {}) });
      }
    }
    // The lowers' own .network files, which the drop-ins extend.
    for (const lower of ['v0', 'p0', 'q0']) files.push({ path: `${lower}.network`, content: `[Match]\nName=${lower}\n` });

    const run = runNetworkd(
      ns.name,
      files,
      expected.map((e) => e.name),
      ['192.0.2.10/24'],
    );
    expect(run.complaints).toEqual([]);
    for (const e of expected) {
      const [l] = ns.links(e.name) as [IpLink];
      // Passthru: the kernel gives the link its lower's MAC (and the .netdev has no MACAddress=).
      const mac = e.mode === 'passthru' ? ns.links(e.lower)[0]!.address : e.mac;
      expect(l, e.name).toMatchObject({ ifname: e.name, link: e.lower, address: mac, mtu: 1400 });
      expect(l.linkinfo?.info_kind, e.name).toBe(e.kind);
      expect(l.linkinfo?.info_data?.mode, e.name).toBe(e.mode);
      expect(l.linkinfo?.info_data?.bcqueuelen, e.name).toBe(e.kind === 'macvlan' ? 500 : 1000);
      if (e.sources) expect(l.linkinfo?.info_data?.macaddr_data?.sort(), e.name).toEqual(e.sources);
    }
    const addrs = JSON.parse(ns.ip('-j', 'addr', 'show', 'dev', 'l-bridge')) as IpAddr[];
    expect(addrs[0]!.addr_info).toContainEqual(expect.objectContaining({ family: 'inet', local: '192.0.2.10', prefixlen: 24 }));
    const routes = JSON.parse(ns.ip('-j', 'route', 'show', 'dev', 'l-bridge')) as IpRoute[];
    expect(routes.map((r) => r.dst)).toContain('198.51.100.0/24');
  });
});

describe('kernel: a macvtap made by the library, exported', () => {
  it('carries its name, MAC, mode and lower, and networkd recreates it', async () => {
    requireKernelAccess();
    const ns = makeNetns(`${TAG}-k`);
    const again = makeNetns(`${TAG}-k2`);
    const nl = await open({ netns: ns.name });
    try {
      const tap = await nl.createMacvtap({ lower: 'v0', name: 'vm0', mode: 'vepa', mtu: 1400 });
      const lower = await nl.getLink('v0');
      const { files, warnings } = toSystemdNetworkd(tap, lower);
      expect(warnings).toEqual([]);
      const netdev = files.find((f) => f.path === '10-vm0.netdev')!.content;
      expect(netdev).toContain(`[NetDev]\nName=vm0\nKind=macvtap\nMACAddress=${tap.mac!}\nMTUBytes=1400\n\n[MACVTAP]\nMode=vepa\n`);
      expect(files.find((f) => f.path === 'v0.network.d/macvtap-vm0.conf')?.content).toBe('[Network]\nMACVTAP=vm0\n');
      expect(files.map((f) => f.path)).toEqual(['10-vm0.netdev', 'v0.network.d/macvtap-vm0.conf']);
      expect(toLibvirtInterface(tap, lower)).toBe(
        `<interface type='direct'>\n  <mac address='${tap.mac!}'/>\n  <source dev='v0' mode='vepa'/>\n  <model type='virtio'/>\n</interface>\n`,
      );

      // The files bring the same link back in another namespace (same lower name v0).
      const run = runNetworkd(again.name, [...files, { path: 'v0.network', content: '[Match]\nName=v0\n' }], ['vm0']);
      expect(run.complaints).toEqual([]);
      const [copy] = again.links('vm0') as [IpLink];
      const [orig] = ns.links('vm0') as [IpLink];
      expect(copy).toMatchObject({ ifname: 'vm0', link: 'v0', address: orig.address, mtu: 1400 });
      expect(copy.linkinfo?.info_kind).toBe('macvtap');
      expect(copy.linkinfo?.info_data?.mode).toBe('vepa');
    } finally {
      await nl.close();
      ns.remove();
      again.remove();
    }
  });
});
