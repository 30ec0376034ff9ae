// The `macvlan` command: the library's operations from a shell, never
// spawning `ip`. Usage errors exit 2, kernel and runtime errors exit 1.
import { parseArgs, type ParseArgsConfig } from 'node:util';

import {
  hostShim,
  MODES,
  NetlinkError,
  open,
  qemuNetdevArgs,
  type Handle,
  type Link,
  type LinkChange,
  type LinkEvent,
  type LinkRef,
  type MacvlanSpec,
  type Mode,
} from './index.js';

type Options = NonNullable<ParseArgsConfig['options']>;
type Values = Record<string, string | boolean | string[] | undefined>;

/** A mistake in the command line: exit code 2. */
class UsageError extends Error {
  readonly command: string | undefined;
  constructor(message: string, command?: string) {
    super(message);
    this.name = 'UsageError';
    this.command = command;
  }
}

interface Context {
  json: boolean;
  netns: string | number | undefined;
  values: Values;
  positionals: string[];
}

interface Command {
  usage: string;
  summary: string;
  details: string;
  options: Options;
  run(ctx: Context): Promise<void>;
}

const GLOBAL_OPTIONS: Options = {
  netns: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
};

const GLOBAL_HELP = `A link (L) is its name, or #N for ifindex N.

Global options:
  --netns NAME|PATH|PID   work in that network namespace (a name under /run/netns,
                          an nsfs path, or a process id)
  --json                  machine-readable output
  -h, --help              this help`;

// ---- output ----------------------------------------------------------------

function out(line: string): void {
  process.stdout.write(`${line}\n`);
}

function printJson(v: unknown): void {
  out(JSON.stringify(v, null, 2));
}

/** Columns padded to the widest cell, like `ip -br`. */
function table(rows: string[][]): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map((row) =>
    row
      .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd(),
  );
}

function lowerName(link: Link, names: Map<number, string>): string {
  if (link.lower === undefined) return '-';
  if (link.lowerNetnsId !== undefined) return `#${link.lower}@netnsid${link.lowerNetnsId}`;
  return names.get(link.lower) ?? `#${link.lower}`;
}

const HEADER = ['NAME', 'KIND', 'LOWER', 'MODE', 'STATE', 'MAC', 'MTU'];

function row(link: Link, names: Map<number, string>): string[] {
  return [
    link.name,
    link.kind ?? '-',
    lowerName(link, names),
    link.macvlan ? String(link.macvlan.mode) : '-',
    link.operState.toUpperCase(),
    link.mac ?? '-',
    String(link.mtu),
  ];
}

async function linkNames(nl: Handle): Promise<Map<number, string>> {
  return new Map((await nl.listLinks()).map((l) => [l.index, l.name]));
}

async function printLinks(nl: Handle, ctx: Context, links: Link[]): Promise<void> {
  if (ctx.json) return printJson(links);
  const names = await linkNames(nl);
  for (const line of table([HEADER, ...links.map((l) => row(l, names))])) out(line);
}

async function printLink(nl: Handle, ctx: Context, link: Link): Promise<void> {
  if (ctx.json) return printJson(link);
  const names = await linkNames(nl);
  const fields: [string, string][] = [
    ['name', link.name],
    ['index', String(link.index)],
    ['kind', link.kind ?? '-'],
    ['lower', lowerName(link, names)],
  ];
  if (link.macvlan) {
    fields.push(['mode', String(link.macvlan.mode)]);
    const flags = [link.macvlan.nopromisc ? 'nopromisc' : '', link.macvlan.nodst ? 'nodst' : ''].filter(Boolean);
    if (flags.length > 0) fields.push(['flags', flags.join(',')]);
    if (link.macvlan.sourceMacs) fields.push(['source macs', link.macvlan.sourceMacs.join(' ') || '-']);
  }
  fields.push(
    ['admin', link.up ? 'up' : 'down'],
    ['state', link.operState.toUpperCase()],
    ['mac', link.mac ?? '-'],
    ['mtu', String(link.mtu)],
  );
  if (link.txQueueLen !== undefined) fields.push(['txqueuelen', String(link.txQueueLen)]);
  if (link.numTxQueues !== undefined) fields.push(['queues', `${link.numTxQueues} tx, ${link.numRxQueues ?? '?'} rx`]);
  if (link.tap) fields.push(['tap', `${link.tap.device} ${link.tap.major}:${link.tap.minor}`]);
  for (const w of link.warnings ?? []) fields.push(['warning', w]);
  for (const line of table(fields.map(([k, v]) => [`${k}:`, v]))) out(line);
}

/** One argument as a POSIX shell reads it. */
function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/u.test(s) ? s : `'${s.replace(/'/gu, `'\\''`)}'`;
}

// ---- argument helpers ------------------------------------------------------

function str(ctx: Context, key: string): string | undefined {
  const v = ctx.values[key];
  return typeof v === 'string' ? v : undefined;
}

/** A link as the command line names it: '#7' is ifindex 7, anything else a name. */
function linkArg(arg: string): LinkRef {
  return /^#\d+$/u.test(arg) ? Number(arg.slice(1)) : arg;
}

function linkOption(ctx: Context, key: string): LinkRef | undefined {
  const v = str(ctx, key);
  return v === undefined ? undefined : linkArg(v);
}

function list(ctx: Context, key: string): string[] {
  const v = ctx.values[key];
  return Array.isArray(v) ? v : [];
}

function flag(ctx: Context, key: string): boolean {
  return ctx.values[key] === true;
}

/** A decimal integer option; the library checks the range. */
function int(ctx: Context, key: string, command: string): number | undefined {
  const v = str(ctx, key);
  if (v === undefined) return undefined;
  if (!/^\d+$/u.test(v)) throw new UsageError(`--${key} expects a non-negative integer, received '${v}'`, command);
  return Number(v);
}

function mode(ctx: Context, command: string): Mode | undefined {
  const v = str(ctx, 'mode');
  if (v === undefined) return undefined;
  if (!(MODES as readonly string[]).includes(v))
    throw new UsageError(`--mode expects one of ${MODES.join(', ')}, received '${v}'`, command);
  return v as Mode;
}

function positionals(ctx: Context, command: string, names: string[], rest = false): string[] {
  const p = ctx.positionals;
  if (p.length < names.length)
    throw new UsageError(
      `missing ${names
        .slice(p.length)
        .map((n) => `<${n}>`)
        .join(' ')}`,
      command,
    );
  if (!rest && p.length > names.length) throw new UsageError(`unexpected argument '${p[names.length]!}'`, command);
  return p;
}

async function withHandle<T>(ctx: Context, fn: (nl: Handle) => Promise<T>): Promise<T> {
  const nl = await open(ctx.netns === undefined ? {} : { netns: ctx.netns });
  try {
    return await fn(nl);
  } finally {
    await nl.close();
  }
}

// ---- commands --------------------------------------------------------------

const commands: Record<string, Command> = {
  list: {
    usage: 'list [--kind K] [--lower L]',
    summary: 'list links (all, or of one kind, or on one lower)',
    details: `  --kind K     only links of this kind (macvlan, macvtap, veth, ...)
  --lower L    only links whose lower is L`,
    options: { kind: { type: 'string' }, lower: { type: 'string' } },
    run: async (ctx) => {
      positionals(ctx, 'list', []);
      const kind = str(ctx, 'kind');
      const lower = linkOption(ctx, 'lower');
      await withHandle(ctx, async (nl) => {
        const links = await nl.listLinks({ ...(kind === undefined ? {} : { kind }), ...(lower === undefined ? {} : { lower }) });
        await printLinks(nl, ctx, links);
      });
    },
  },

  show: {
    usage: 'show <link>',
    summary: 'show one link in detail',
    details: '',
    options: {},
    run: async (ctx) => {
      const [ref] = positionals(ctx, 'show', ['link']);
      await withHandle(ctx, async (nl) => printLink(nl, ctx, await nl.getLink(linkArg(ref!))));
    },
  },

  add: {
    usage: 'add macvlan|macvtap <name> --lower L [options]',
    summary: 'create a macvlan or macvtap link',
    details: `  --lower L          the parent device (required)
  --mode M           ${MODES.join(', ')} (default bridge)
  --mac X            the link's MAC (default: random)
  --mtu N            at most the lower's MTU
  --up               bring the link up
  --source-mac X     mode source: an allowed source MAC (repeatable)
  --txqueuelen N     the transmit queue length
  --queues N         tx and rx queues (macvtap multiqueue)`,
    options: {
      lower: { type: 'string' },
      mode: { type: 'string' },
      mac: { type: 'string' },
      mtu: { type: 'string' },
      up: { type: 'boolean' },
      'source-mac': { type: 'string', multiple: true },
      txqueuelen: { type: 'string' },
      queues: { type: 'string' },
    },
    run: async (ctx) => {
      const [kind, name] = positionals(ctx, 'add', ['kind', 'name']);
      if (kind !== 'macvlan' && kind !== 'macvtap') throw new UsageError(`the kind must be macvlan or macvtap, received '${kind!}'`, 'add');
      const lower = linkOption(ctx, 'lower');
      if (lower === undefined) throw new UsageError('--lower is required', 'add');
      const spec: MacvlanSpec = { lower, name: name! };
      const m = mode(ctx, 'add');
      if (m !== undefined) spec.mode = m;
      const mac = str(ctx, 'mac');
      if (mac !== undefined) spec.mac = mac;
      const mtu = int(ctx, 'mtu', 'add');
      if (mtu !== undefined) spec.mtu = mtu;
      if (flag(ctx, 'up')) spec.up = true;
      const sources = list(ctx, 'source-mac');
      if (sources.length > 0) spec.sourceMacs = sources;
      const txq = int(ctx, 'txqueuelen', 'add');
      if (txq !== undefined) spec.txQueueLen = txq;
      const queues = int(ctx, 'queues', 'add');
      if (queues !== undefined) {
        spec.numTxQueues = queues;
        spec.numRxQueues = queues;
      }
      await withHandle(ctx, async (nl) => {
        const link = kind === 'macvlan' ? await nl.createMacvlan(spec) : await nl.createMacvtap(spec);
        await printLink(nl, ctx, link);
      });
    },
  },

  set: {
    usage: 'set <link> [--up|--down] [--mtu N] [--mac X] [--name N] [--mode M]',
    summary: 'change a link',
    details: `  --up, --down   bring the link up or down
  --mtu N        the MTU
  --mac X        the MAC address
  --name N       rename the link
  --mode M       the macvlan mode (${MODES.join(', ')}; not into or out of passthru)`,
    options: {
      up: { type: 'boolean' },
      down: { type: 'boolean' },
      mtu: { type: 'string' },
      mac: { type: 'string' },
      name: { type: 'string' },
      mode: { type: 'string' },
    },
    run: async (ctx) => {
      const [ref] = positionals(ctx, 'set', ['link']);
      if (flag(ctx, 'up') && flag(ctx, 'down')) throw new UsageError('--up and --down exclude each other', 'set');
      const change: LinkChange = {};
      if (flag(ctx, 'up')) change.up = true;
      if (flag(ctx, 'down')) change.up = false;
      const mtu = int(ctx, 'mtu', 'set');
      if (mtu !== undefined) change.mtu = mtu;
      const mac = str(ctx, 'mac');
      if (mac !== undefined) change.mac = mac;
      const name = str(ctx, 'name');
      if (name !== undefined) change.name = name;
      const m = mode(ctx, 'set');
      if (m !== undefined) change.mode = m;
      if (Object.keys(change).length === 0)
        throw new UsageError('nothing to change (give --up, --down, --mtu, --mac, --name or --mode)', 'set');
      await withHandle(ctx, async (nl) => {
        const link = await nl.setLink(linkArg(ref!), change);
        if (link) await printLink(nl, ctx, link);
      });
    },
  },

  del: {
    usage: 'del <link>...',
    summary: 'delete links (several at once: one kernel teardown, all or nothing)',
    details: '',
    options: {},
    run: async (ctx) => {
      const refs = positionals(ctx, 'del', ['link'], true);
      await withHandle(ctx, (nl) => nl.deleteLinks(refs.map(linkArg)));
      if (ctx.json) printJson({ deleted: refs });
    },
  },

  tap: {
    usage: 'tap <link> [--offloads]',
    summary: "open a macvtap's device, print its path and device number, close it",
    details: `  --offloads   also probe the offloads this kernel supports; this sets the
               device's offloads to none, under a running QEMU's fds too`,
    options: { offloads: { type: 'boolean' } },
    run: async (ctx) => {
      const [ref] = positionals(ctx, 'tap', ['link']);
      const probe = ctx.values.offloads === true;
      await withHandle(ctx, async (nl) => {
        // Without the virtio-net header the open leaves the device's offloads alone.
        const tap = await nl.openTap(linkArg(ref!), { vnetHdr: probe });
        try {
          const info = {
            link: tap.link.name,
            device: tap.device,
            major: tap.major,
            minor: tap.minor,
            madeNode: tap.madeNode,
            ...(probe ? { offloads: tap.offloads.supported } : {}),
          };
          if (ctx.json) return printJson(info);
          const rows = [
            ['link:', info.link],
            ['device:', info.device + (info.madeNode ? ' (a node made by the library; removed again on close)' : '')],
            ['dev:', `${info.major}:${info.minor}`],
            ...(info.offloads ? [['offloads:', info.offloads.join(' ') || '-']] : []),
          ];
          for (const line of table(rows)) out(line);
        } finally {
          await tap.close();
        }
      });
    },
  },

  shim: {
    usage: 'shim --lower L --address CIDR [--route R ...] [--name N]',
    summary: 'make a host shim: a bridge macvlan with an address and routes, so the host reaches its guests',
    details: `  --lower L         the lower the guests' links sit on (required)
  --address CIDR    the shim's address, e.g. 192.0.2.254/32 (required)
  --route R         a guest or network to route through the shim (repeatable)
  --name N          the shim's name (default: mvshim%d)`,
    options: {
      lower: { type: 'string' },
      address: { type: 'string' },
      route: { type: 'string', multiple: true },
      name: { type: 'string' },
    },
    run: async (ctx) => {
      positionals(ctx, 'shim', []);
      const lower = linkOption(ctx, 'lower');
      const address = str(ctx, 'address');
      if (lower === undefined) throw new UsageError('--lower is required', 'shim');
      if (address === undefined) throw new UsageError('--address is required', 'shim');
      const routes = list(ctx, 'route');
      const name = str(ctx, 'name');
      await withHandle(ctx, async (nl) => {
        const link = await hostShim(nl, { lower, address, routes, ...(name === undefined ? {} : { name }) });
        if (ctx.json) return printJson({ link, address, routes });
        await printLink(nl, ctx, link);
        out(`address:  ${address}`);
        for (const r of routes) out(`route:    ${r}`);
      });
    },
  },

  watch: {
    usage: 'watch [--existing]',
    summary: 'print link events until interrupted (Ctrl-C)',
    details: `  --existing   start with a 'new' event for every link that exists
  With --json, one JSON object per line.`,
    options: { existing: { type: 'boolean' } },
    run: async (ctx) => {
      positionals(ctx, 'watch', []);
      const ac = new AbortController();
      const stop = (): void => ac.abort();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      try {
        await withHandle(ctx, async (nl) => {
          const names = await linkNames(nl);
          for await (const ev of nl.watchLinks({ signal: ac.signal, existing: flag(ctx, 'existing') })) {
            if (ev.type === 'new') names.set(ev.link.index, ev.link.name);
            out(ctx.json ? JSON.stringify(ev) : eventLine(ev, names));
          }
        });
      } finally {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
      }
    },
  },

  'qemu-args': {
    usage: 'qemu-args <link> [--queues N] [--id ID]',
    summary: 'print the -netdev/-device arguments QEMU needs for a macvtap (fds from 3)',
    details: `  --queues N   tap queues, one fd each (default 1)
  --id ID      the netdev id (default net0)
  The caller must open the device once per queue and pass the fds to QEMU
  as 3, 4, .... The command's own open leaves the device's offloads alone.`,
    options: { queues: { type: 'string' }, id: { type: 'string' } },
    run: async (ctx) => {
      const [ref] = positionals(ctx, 'qemu-args', ['link']);
      const queues = int(ctx, 'queues', 'qemu-args') ?? 1;
      const id = str(ctx, 'id') ?? 'net0';
      await withHandle(ctx, async (nl) => {
        // Only to check the link and count its queues: without the
        // virtio-net header the open leaves the device's offloads (those of
        // a QEMU already running on it) alone.
        const tap = await nl.openTap(linkArg(ref!), { queues });
        try {
          const { args } = qemuNetdevArgs(tap, { id, firstFd: 3 });
          const fds = Array.from({ length: queues }, (_, i) => 3 + i);
          // A node openTap made (no /dev/tapN of this link here) goes with tap.close().
          const node = tap.madeNode
            ? `a node of char device ${tap.major}:${tap.minor} (/dev/tap${tap.link.index} is not this link's here: make one with mknod)`
            : tap.device;
          const note =
            `the fds must be passed by the caller: open ${node} ${queues === 1 ? 'once' : `${queues} times`} ` +
            `(O_RDWR) and give QEMU the fd${queues === 1 ? '' : 's'} as ${fds.join(', ')}`;
          const device = tap.madeNode ? undefined : tap.device;
          const { major, minor } = tap;
          if (ctx.json) return printJson({ args, line: args.map(shellQuote).join(' '), device, major, minor, fds, note });
          out(args.map(shellQuote).join(' '));
          process.stderr.write(`macvlan: note: ${note}\n`);
        } finally {
          await tap.close();
        }
      });
    },
  },
};

function eventLine(ev: LinkEvent, names: Map<number, string>): string {
  const l = ev.link;
  const parts = [ev.type.padEnd(3), l.name, l.kind ?? '-', lowerName(l, names), l.operState.toUpperCase(), l.mac ?? '-', `mtu ${l.mtu}`];
  if (ev.changed) parts.push(`changed: ${ev.changed.join(',')}`);
  if (ev.existing) parts.push('(existing)');
  if (ev.resync) parts.push('(resync)');
  return parts.join('  ');
}

// ---- main ------------------------------------------------------------------

function generalHelp(): string {
  const names = Object.keys(commands);
  const width = Math.max(...names.map((n) => n.length));
  return [
    'Usage: macvlan [--netns NS] [--json] <command> [options]',
    '',
    'macvlan and macvtap links over rtnetlink.',
    '',
    'Commands:',
    ...names.map((n) => `  ${n.padEnd(width)}  ${commands[n]!.summary}`),
    '',
    GLOBAL_HELP,
    '',
    "Run 'macvlan <command> --help' for a command's options.",
  ].join('\n');
}

function commandHelp(name: string): string {
  const cmd = commands[name]!;
  return [
    `Usage: macvlan ${cmd.usage}`,
    '',
    `${cmd.summary[0]!.toUpperCase()}${cmd.summary.slice(1)}.`,
    ...(cmd.details ? ['', cmd.details] : []),
    '',
    GLOBAL_HELP,
  ].join('\n');
}

/** The command is the first argument that is neither a global option nor its value. */
function findCommand(argv: string[]): { name: string | undefined; rest: string[] } {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') return { name: argv[i + 1], rest: [...argv.slice(0, i), ...argv.slice(i + 2)] };
    if (!a.startsWith('-')) return { name: a, rest: [...argv.slice(0, i), ...argv.slice(i + 1)] };
    if (a === '--netns') i++;
  }
  return { name: undefined, rest: argv };
}

function netnsValue(v: string | undefined): string | number | undefined {
  if (v === undefined) return undefined;
  if (v === '') throw new UsageError('--netns expects a namespace name, an nsfs path or a pid');
  return /^\d+$/u.test(v) ? Number(v) : v;
}

function codeOf(e: unknown): string | undefined {
  return typeof e === 'object' && e !== null && 'code' in e && typeof e.code === 'string' ? e.code : undefined;
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Runs the command line; resolves to the exit code. */
export async function main(argv: string[]): Promise<number> {
  let command: string | undefined;
  try {
    const found = findCommand(argv);
    if (found.name === undefined) {
      const { values } = parseArgs({ args: argv, options: GLOBAL_OPTIONS, strict: true, allowPositionals: false });
      if (values.help === true) {
        out(generalHelp());
        return 0;
      }
      throw new UsageError('no command given');
    }
    if (found.name === 'help') {
      out(generalHelp());
      return 0;
    }
    const cmd = commands[found.name];
    if (!cmd) throw new UsageError(`unknown command '${found.name}'`);
    command = found.name;
    const { values, positionals: pos } = parseArgs({
      args: found.rest,
      options: { ...GLOBAL_OPTIONS, ...cmd.options },
      strict: true,
      allowPositionals: true,
    });
    const v = values as Values;
    if (v.help === true) {
      out(commandHelp(found.name));
      return 0;
    }
    await cmd.run({
      json: v.json === true,
      netns: netnsValue(typeof v.netns === 'string' ? v.netns : undefined),
      values: v,
      positionals: pos,
    });
    return 0;
  } catch (err) {
    const code = codeOf(err);
    if (
      err instanceof UsageError ||
      code?.startsWith('ERR_PARSE_ARGS_') ||
      code?.startsWith('ERR_INVALID_ARG_') ||
      code === 'ERR_OUT_OF_RANGE'
    ) {
      const where = err instanceof UsageError ? (err.command ?? command) : command;
      const unknown = code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' ? /^Unknown option '([^']+)'/u.exec(messageOf(err)) : null;
      const message = unknown ? `unknown option '${unknown[1]!}'${where ? ` for '${where}'` : ''}` : messageOf(err);
      process.stderr.write(`macvlan: ${message}\n`);
      process.stderr.write(
        where ? `Usage: macvlan ${commands[where]!.usage} (see 'macvlan ${where} --help')\n` : "Run 'macvlan --help' for usage.\n",
      );
      return 2;
    }
    if (err instanceof NetlinkError || code === 'ERR_HANDLE_CLOSED') {
      process.stderr.write(`macvlan: ${messageOf(err)}\n`);
      return 1;
    }
    process.stderr.write(`macvlan: ${err instanceof Error && err.stack ? err.stack : messageOf(err)}\n`);
    return 1;
  }
}

// A reader that goes away (`macvlan watch | head -3`) ends the output: the
// process ends quietly, as `ip` does on SIGPIPE, not with EPIPE's stack.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code !== 'EPIPE') throw err;
  process.exit(0);
});

process.exitCode = await main(process.argv.slice(2));
