// Persistence: a link made over netlink is gone at the next boot. These turn a
// Link into configuration that makes it again: systemd-networkd files, or a
// libvirt <interface type='direct'> for a VM. Pure functions, no I/O.
//
// Key names were checked against the man pages of systemd 252 (Debian 12:
// systemd.netdev(5), systemd.network(5)), and against a real systemd-networkd
// 252 that the tests run on the generated files; the libvirt XML against
// libvirt's domaincommon.rng (virt-xml-validate, libvirt 9.0).
import { parseCidr, parseDst } from './addr_route.js';
import { MODES, type Link, type Mode } from './link.js';
import { argError, arrayOf, invalidType, invalidValue, linkName, oneOf, plainObject, unicastMac } from './validate.js';

/** One generated file: `path` is relative (to /etc/systemd/network, say). */
export interface PersistFile {
  /** Where the file goes, relative. */
  path: string;
  /** The file's text. */
  content: string;
}

/** What `toSystemdNetworkd` takes besides the link and its lower. */
export interface SystemdNetworkdOptions {
  /** Addresses with prefix for the link's own .network, e.g. '192.0.2.10/24' ([Network] Address=). */
  addresses?: string[];
  /** Destinations routed through the link, e.g. '198.51.100.0/24' or 'default' ([Route] Destination=). */
  routes?: string[];
  /** File name stem of the link's .netdev and .network; default `10-<name>`. */
  fileStem?: string;
  /**
   * The existing .network file that configures the lower, e.g.
   * '10-eth0.network'; default `<lower>.network`. A drop-in directory
   * applies to the .network file of the same name (systemd.network(5),
   * DESCRIPTION), not to an interface name, so this must name a real file.
   */
  lowerNetworkFile?: string;
}

/** What `toSystemdNetworkd` returns. */
export interface SystemdNetworkdFiles {
  /** The .netdev, the link's .network (when it has addresses, routes or is up) and the lower's drop-in. */
  files: PersistFile[];
  /** Settings of the link that systemd-networkd cannot express; they would be lost. */
  warnings: string[];
}

/** What `toLibvirtInterface` takes besides the link and its lower. */
export interface LibvirtInterfaceOptions {
  /** The guest NIC model (`<model type=...>`); default 'virtio'. */
  model?: string;
}

interface Checked {
  name: string;
  kind: 'macvlan' | 'macvtap';
  mode: Mode;
  lower: string;
  mac?: string;
  mtu?: number;
}

/** The fields both exporters need, checked; `lower` must be the link's lower when it is a Link. */
function checkLink(link: unknown, lower: unknown): Checked {
  if (typeof link !== 'object' || link === null || Array.isArray(link)) throw invalidType('link', 'a Link object', link);
  const l = link as Partial<Link>;
  const name = linkName(l.name, 'link.name');
  const kind = oneOf(l.kind, 'link.kind', ['macvlan', 'macvtap'] as const);
  if (typeof l.macvlan !== 'object' || l.macvlan === null)
    throw invalidType('link.macvlan', 'an object (a macvlan/macvtap Link)', l.macvlan);
  const mode = oneOf(l.macvlan.mode, 'link.macvlan.mode', MODES);
  let lowerName: string;
  if (typeof lower === 'string') {
    lowerName = linkName(lower, 'lower');
  } else if (typeof lower === 'object' && lower !== null && !Array.isArray(lower)) {
    const lo = lower as Partial<Link>;
    lowerName = linkName(lo.name, 'lower.name');
    if (l.lower !== undefined && l.lowerNetnsId === undefined && lo.index !== l.lower) {
      throw argError(
        'ERR_INVALID_ARG_VALUE',
        `Expected lower to be the link's lower (ifindex ${l.lower}), received '${lowerName}' (ifindex ${String(lo.index)})`,
      );
    }
  } else {
    throw invalidType('lower', 'a Link or a link name (string)', lower);
  }
  if (lowerName === name) throw invalidValue('lower', `a link other than '${name}' itself`, lowerName);
  const out: Checked = { name, kind, mode, lower: lowerName };
  if (l.mac !== undefined) out.mac = unicastMac(l.mac, 'link.mac');
  if (l.mtu !== undefined && l.mtu !== 0) {
    if (typeof l.mtu !== 'number' || !Number.isInteger(l.mtu) || l.mtu < 68 || l.mtu > 0xffffffff) {
      throw invalidValue('link.mtu', 'an integer MTU >= 68', l.mtu);
    }
    out.mtu = l.mtu;
  }
  return out;
}

// [Match] Name= is a whitespace-separated list of fnmatch(3) globs, and a
// leading '!' inverts it (systemd.network(5), [MATCH] SECTION OPTIONS): a
// .network for '!vm0' would match every interface but vm0. '%' starts a
// specifier in systemd files. The kernel allows all of these in a name.
// Such names are refused rather than quoted: systemd's own quoting differs
// between keys.
// eslint-disable-next-line no-control-regex -- control characters are what this refuses
const SYSTEMD_UNSAFE = /^!|[*?[\]\\"'%\x00-\x1f\x7f]/u;

function systemdName(v: string, field: string): string {
  if (SYSTEMD_UNSAFE.test(v)) {
    throw invalidValue(
      field,
      "an interface name systemd-networkd can match literally (no leading '!', no glob characters, quotes, '\\', '%' or control characters)",
      v,
    );
  }
  return v;
}

const FILE_STEM = /^[A-Za-z0-9_@+-][A-Za-z0-9._@+-]*$/u;

function fileName(v: unknown, field: string, suffix: string): string {
  if (typeof v !== 'string') throw invalidType(field, 'a string', v);
  const stem = suffix && v.endsWith(suffix) ? v.slice(0, -suffix.length) : v;
  if (!FILE_STEM.test(stem) || stem.length > 200) {
    throw invalidValue(field, "a file name of letters, digits and '._@+-', not starting with '.'", v);
  }
  return stem + suffix;
}

function stringArray(v: unknown, field: string, each: (x: unknown, field: string) => string): string[] {
  return v === undefined ? [] : arrayOf(v, field, 'an array of strings', each);
}

function ini(sections: [string, [string, string | number][]][]): string {
  return sections.map(([name, keys]) => [`[${name}]`, ...keys.map(([k, v]) => `${k}=${v}`)].join('\n')).join('\n\n') + '\n';
}

/**
 * systemd-networkd configuration that recreates a macvlan/macvtap at boot:
 *
 * - `<stem>.netdev`: `[NetDev]` Name, Kind, MACAddress (not in passthru
 *   mode, where the link always has its lower's MAC), MTUBytes and
 *   `[MACVLAN]`/`[MACVTAP]` Mode, SourceMACAddress (source mode, one line per
 *   MAC), BroadcastMulticastQueueLength (macvlan only: networkd 252 ignores
 *   it for macvtap, so a macvtap's non-default bcQueueLen is a warning);
 * - `<stem>.network` for the link itself, when `options` gives addresses or
 *   routes or the link is up (networkd leaves links with no .network down);
 * - `<lowerNetworkFile>.d/<kind>-<name>.conf`, a drop-in adding
 *   `MACVLAN=<name>`/`MACVTAP=<name>` to the lower's `[Network]` section:
 *   networkd creates a macvlan only when a .network of its lower asks for it.
 *
 * The kernel's nopromisc and nodst flags and bcCutoff have no systemd-networkd
 * key (systemd 252); when set they are listed in `warnings`.
 *
 * @param link - The macvlan/macvtap, as `getLink` or a create returned it.
 * @param lower - Its lower: a Link (checked against `link.lower`) or a name.
 * @throws TypeError / RangeError (`ERR_INVALID_ARG_TYPE`, `ERR_INVALID_ARG_VALUE`,
 *   `ERR_OUT_OF_RANGE`) for a link that is not a macvlan/macvtap, a mode
 *   number this library does not know, a name systemd would read as a glob,
 *   or bad options.
 */
export function toSystemdNetworkd(link: Link, lower: Link | string, options: SystemdNetworkdOptions = {}): SystemdNetworkdFiles {
  const o = plainObject(options, 'options', ['addresses', 'routes', 'fileStem', 'lowerNetworkFile']);
  const l = checkLink(link, lower);
  systemdName(l.name, 'link.name');
  systemdName(l.lower, typeof lower === 'string' ? 'lower' : 'lower.name');
  const addresses = stringArray(o.addresses, 'options.addresses', (a, at) => {
    const c = parseCidr(a, at);
    return `${c.address}/${c.prefixLength}`;
  });
  const routes = stringArray(o.routes, 'options.routes', (r, at) => {
    const d = parseDst(r, at, undefined);
    return `${d.address}/${d.prefixLength}`;
  });
  const stem = o.fileStem === undefined ? `10-${l.name}` : fileName(o.fileStem, 'options.fileStem', '');
  const lowerFile =
    o.lowerNetworkFile === undefined ? `${l.lower}.network` : fileName(o.lowerNetworkFile, 'options.lowerNetworkFile', '.network');

  const m = (link as Link).macvlan!;
  const warnings: string[] = [];
  if (m.nopromisc)
    warnings.push(`link '${l.name}': nopromisc (MACVLAN_FLAG_NOPROMISC) has no systemd-networkd setting; it is not persisted`);
  if (m.nodst) warnings.push(`link '${l.name}': nodst (MACVLAN_FLAG_NODST) has no systemd-networkd setting; it is not persisted`);
  // The kernel's defaults: txqueuelen 1000 for a macvlan (ether_setup), 500
  // for a macvtap (TUN_READQ_SIZE), one queue each way.
  const lk = link as Link;
  const defaultTxQueueLen = l.kind === 'macvtap' ? 500 : 1000;
  if (lk.txQueueLen !== undefined && lk.txQueueLen !== defaultTxQueueLen) {
    warnings.push(`link '${l.name}': txQueueLen ${lk.txQueueLen} has no systemd-networkd .netdev setting; it is not persisted`);
  }
  if ((lk.numTxQueues ?? 1) !== 1 || (lk.numRxQueues ?? 1) !== 1) {
    warnings.push(
      `link '${l.name}': ${lk.numTxQueues ?? 1} tx and ${lk.numRxQueues ?? 1} rx queues have no systemd-networkd .netdev setting; they are not persisted`,
    );
  }
  if (m.bcCutoff !== undefined && m.bcCutoff !== 1) {
    // 1 is the kernel's default (MACVLAN_DEFAULT_BC_CUTOFF): nothing is lost.
    warnings.push(
      `link '${l.name}': bcCutoff ${m.bcCutoff} (IFLA_MACVLAN_BC_CUTOFF) has no systemd-networkd 252 setting; it is not persisted`,
    );
  }

  // systemd.netdev(5), [NETDEV] SECTION OPTIONS: Name=, Kind=, MACAddress=,
  // MTUBytes= (not supported for kinds tun/tap only; macvtap is not one).
  // Without MACAddress= networkd derives a MAC from the name and machine-id(5).
  const netdev: [string, string | number][] = [
    ['Name', l.name],
    ['Kind', l.kind],
  ];
  // Passthru: the kernel gives the link its lower's MAC and ignores
  // IFLA_ADDRESS at creation, so a MACAddress= would be a promise not kept.
  if (l.mac !== undefined && l.mode !== 'passthru') netdev.push(['MACAddress', l.mac]);
  if (l.mtu !== undefined) netdev.push(['MTUBytes', l.mtu]);
  // systemd.netdev(5), [MACVLAN] SECTION OPTIONS: Mode= (private, vepa,
  // bridge, passthru, source), SourceMACAddress= (source mode; "may appear
  // more than once, in which case the lists are merged"),
  // BroadcastMulticastQueueLength=. [MACVTAP] SECTION OPTIONS: "accepts the
  // same keys as [MACVLAN]".
  const kindKeys: [string, string | number][] = [['Mode', l.mode]];
  if (l.mode === 'source') {
    (m.sourceMacs ?? []).forEach((mac, i) => kindKeys.push(['SourceMACAddress', unicastMac(mac, `link.macvlan.sourceMacs[${i}]`)]));
  }
  // systemd 252 documents BroadcastMulticastQueueLength= for [MACVTAP] too,
  // but its parser knows it only in [MACVLAN] ("Unknown key ... in section
  // [MACVTAP], ignoring"; the tests run networkd 252 on these files).
  if (m.bcQueueLen !== undefined && l.kind === 'macvlan') kindKeys.push(['BroadcastMulticastQueueLength', m.bcQueueLen]);
  if (m.bcQueueLen !== undefined && l.kind === 'macvtap' && m.bcQueueLen !== 1000) {
    // 1000 is the kernel's default (MACVLAN_DEFAULT_BC_QUEUE_LEN): nothing is lost.
    warnings.push(
      `link '${l.name}': bcQueueLen ${m.bcQueueLen} is not persisted: systemd-networkd 252 reads BroadcastMulticastQueueLength= only for macvlan, not macvtap`,
    );
  }
  const section = l.kind === 'macvtap' ? 'MACVTAP' : 'MACVLAN';

  const files: PersistFile[] = [
    {
      path: `${stem}.netdev`,
      content: ini([
        ['NetDev', netdev],
        [section, kindKeys],
      ]),
    },
  ];

  if (addresses.length > 0 || routes.length > 0 || (link as Link).up === true) {
    // systemd.network(5): [Match] Name=; [Network] Address= ("may be
    // specified more than once"); [Route] Destination=, one section per route.
    const sections: [string, [string, string | number][]][] = [
      ['Match', [['Name', l.name]]],
      ['Network', addresses.map((a): [string, string] => ['Address', a])],
      ...routes.map((r): [string, [string, string][]] => ['Route', [['Destination', r]]]),
    ];
    files.push({ path: `${stem}.network`, content: ini(sections) });
  }

  // systemd.network(5), [NETWORK] SECTION OPTIONS: MACVLAN=, MACVTAP= "The
  // name of a ... MACVLAN, MACVTAP ... to be created on the link"; drop-ins
  // per DESCRIPTION ("foo.network.d/", files with the suffix ".conf").
  files.push({
    path: `${lowerFile}.d/${l.kind}-${l.name}.conf`,
    content: ini([['Network', [[section, l.name]]]]),
  });
  return { files, warnings };
}

const XML_ENTITIES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };

function xmlAttr(v: string): string {
  return v.replace(/[&<>"']/gu, (ch) => XML_ENTITIES[ch]!);
}

// libvirt's <source mode> (domaincommon.rng "bridgeMode"): its name for
// passthru is 'passthrough'; source mode has no libvirt equivalent.
const LIBVIRT_MODES: Readonly<Partial<Record<Mode, string>>> = {
  vepa: 'vepa',
  bridge: 'bridge',
  private: 'private',
  passthru: 'passthrough',
};

// domaincommon.rng: <model type> is [a-zA-Z0-9\-_]+.
const MODEL = /^[A-Za-z0-9_-]+$/u;

/**
 * The libvirt domain XML `<interface type='direct'>` that gives a VM the same
 * macvtap: the link's MAC, its lower as `<source dev>`, its mode (libvirt
 * spells passthru 'passthrough') and a guest NIC model. Attribute values are
 * XML-escaped.
 *
 * libvirt creates (and deletes) its own macvtap for this interface when the
 * VM starts; delete the library's link first, or the two would share a MAC
 * on one lower. The MTU is not written: libvirt refuses `<mtu>` on a direct
 * interface (libvirt 10: "setting MTU on interface type direct is not
 * supported yet").
 *
 * @param link - The macvlan/macvtap, as `getLink` or a create returned it.
 * @param lower - Its lower: a Link (checked against `link.lower`) or a name.
 * @throws TypeError (`ERR_INVALID_ARG_VALUE`) for mode 'source', which
 *   libvirt cannot express, and for any bad argument, as `toSystemdNetworkd`.
 */
export function toLibvirtInterface(link: Link, lower: Link | string, options: LibvirtInterfaceOptions = {}): string {
  const o = plainObject(options, 'options', ['model']);
  const l = checkLink(link, lower);
  const mode = LIBVIRT_MODES[l.mode];
  if (mode === undefined) {
    throw invalidValue(
      'link.macvlan.mode',
      "one of 'private' | 'vepa' | 'bridge' | 'passthru' (libvirt's direct interfaces have no source mode)",
      l.mode,
    );
  }
  let model = 'virtio';
  if (o.model !== undefined) {
    if (typeof o.model !== 'string') throw invalidType('options.model', 'a string', o.model);
    if (!MODEL.test(o.model))
      throw invalidValue('options.model', "a libvirt NIC model of letters, digits, '-' and '_' (like 'virtio' or 'e1000e')", o.model);
    model = o.model;
  }
  const lines = [`<interface type='direct'>`];
  if (l.mac !== undefined) lines.push(`  <mac address='${xmlAttr(l.mac)}'/>`);
  lines.push(`  <source dev='${xmlAttr(l.lower)}' mode='${mode}'/>`, `  <model type='${xmlAttr(model)}'/>`, `</interface>`);
  return lines.join('\n') + '\n';
}
