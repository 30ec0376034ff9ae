// Argument checks: everything that must be refused before the kernel sees
// it, with Node's error classes and codes and the field named; and abuse of
// handles (closed, closed twice, opened on things that are not namespaces).
// The handle-level checks run against a throwaway netns.
import { execFileSync } from 'node:child_process';
import { closeSync, constants as fsConstants, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  HandleClosedError,
  hostShim,
  NetlinkError,
  open,
  qemuNetdevArgs,
  removeHostShim,
  type Handle,
  type MacvlanSpec,
} from '../src/index.js';
import { errnoName, toNetlinkError } from '../src/errors.js';
import { boolean, integer, linkName, linkRef, netnsPath, netnsTarget, oneOf, plainObject, unicastMac } from '../src/validate.js';
import { makeNetns, requireKernelAccess, type TestNetns } from './helpers/netns.js';

type ArgClass = typeof TypeError | typeof RangeError;
type ArgCode = 'ERR_INVALID_ARG_TYPE' | 'ERR_INVALID_ARG_VALUE' | 'ERR_OUT_OF_RANGE';

const classOf: Record<ArgCode, ArgClass> = {
  ERR_INVALID_ARG_TYPE: TypeError,
  ERR_INVALID_ARG_VALUE: TypeError,
  ERR_OUT_OF_RANGE: RangeError,
};

/** Checks an argument error: exact class, Node's code, the field named in the message. */
function checkArgError(err: unknown, code: ArgCode, field: string, text?: string | RegExp): void {
  expect(err).toBeInstanceOf(classOf[code]);
  expect((err as Error).constructor).toBe(classOf[code]);
  expect((err as { code?: unknown }).code).toBe(code);
  // The field, as a word of its own ('spec' must not match in 'spec.lower').
  const message = (err as Error).message;
  expect(message).toMatch(new RegExp(`(^|\\s)${field.replace(/[.[\]]/gu, '\\$&')}([\\s;]|$)`, 'u'));
  if (typeof text === 'string') expect(message).toContain(text);
  else if (text) expect(message).toMatch(text);
}

function throwsArg(fn: () => unknown, code: ArgCode, field: string, text?: string | RegExp): void {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught, 'expected a throw').toBeDefined();
  checkArgError(caught, code, field, text);
}

async function rejectsArg(p: Promise<unknown>, code: ArgCode, field: string, text?: string | RegExp): Promise<void> {
  expect(p).toBeInstanceOf(Promise);
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, 'expected a rejection').toBeDefined();
  checkArgError(err, code, field, text);
}

async function rejectsNetlink(p: Promise<unknown>, code: string, text?: string | RegExp): Promise<NetlinkError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(NetlinkError);
  const e = err as NetlinkError;
  expect(e.code).toBe(code);
  expect(e.errno).toBeGreaterThan(0);
  expect(errnoName(e.errno)).toBe(code);
  if (typeof text === 'string') expect(e.message).toContain(text);
  else if (text) expect(e.message).toMatch(text);
  return e;
}

const MODES_TEXT = "one of 'private' | 'vepa' | 'bridge' | 'passthru' | 'source'";

// ---------------------------------------------------------------------------
// src/validate.ts on its own
// ---------------------------------------------------------------------------

describe('linkName', () => {
  it('accepts names of 1 to 15 bytes', () => {
    expect(linkName('a', 'n')).toBe('a');
    expect(linkName('v0', 'n')).toBe('v0');
    expect(linkName('abcdefghijklmno', 'n')).toBe('abcdefghijklmno');
    expect(linkName('eth0.100', 'n')).toBe('eth0.100');
    expect(linkName('mv-é', 'n')).toBe('mv-é');
    expect(linkName('mv%d', 'n', true)).toBe('mv%d');
  });

  it('refuses names over 15 bytes, counting bytes not characters', () => {
    throwsArg(() => linkName('abcdefghijklmnop', 'spec.name'), 'ERR_OUT_OF_RANGE', 'spec.name', '1 to 15 bytes');
    // 8 characters, 16 bytes in UTF-8.
    throwsArg(() => linkName('éééééééé', 'spec.name'), 'ERR_OUT_OF_RANGE', 'spec.name', "received 'éééééééé'");
  });

  it('refuses the empty name', () => {
    throwsArg(() => linkName('', 'spec.name'), 'ERR_OUT_OF_RANGE', 'spec.name', "received ''");
  });

  it.each(['mv/0', 'mv:0', 'mv 0', 'mv\t0', 'mv\n0', 'mv\v0', 'mv\f0', 'mv\r0', ' mv0', 'mv0\u00a0', 'a\0b', 'é/0', 'é\t', '.', '..'])(
    'refuses %j',
    (name) => {
      throwsArg(() => linkName(name, 'spec.name'), 'ERR_INVALID_ARG_VALUE', 'spec.name');
    },
  );

  it('the helpers that take a Handle or a Tap say so when given something else', async () => {
    throwsArg(() => qemuNetdevArgs({} as never, { id: 'n0', firstFd: 3 }), 'ERR_INVALID_ARG_TYPE', 'tap', 'a Tap (from openTap)');
    await rejectsArg(hostShim(null as never, { lower: 'v0', address: '192.0.2.1/32' }), 'ERR_INVALID_ARG_TYPE', 'nl', 'a Handle');
    await rejectsArg(removeHostShim({} as never, 'shim0'), 'ERR_INVALID_ARG_TYPE', 'nl', 'a Handle');
  });

  it("refuses 'all' and 'default', which the kernel refuses with a bare EINVAL", () => {
    for (const name of ['all', 'default']) {
      throwsArg(() => linkName(name, 'spec.name', true), 'ERR_INVALID_ARG_VALUE', 'spec.name', "other than 'all' and 'default'");
    }
    expect(linkName('all0', 'n')).toBe('all0');
  });

  it('refuses names with a lone surrogate, which have no UTF-8', () => {
    for (const name of ['mv\ud800', 'mv\udc00x', '\udbff']) {
      throwsArg(() => linkName(name, 'spec.name'), 'ERR_INVALID_ARG_VALUE', 'spec.name', 'no lone surrogate');
    }
    expect(linkName('mv\u{1f600}', 'n')).toBe('mv\u{1f600}');
  });

  it("refuses names whose UTF-8 holds 0xA0, which the kernel's isspace() takes for whitespace", () => {
    // 'à' is C3 A0, U+2020 is E2 80 A0; 'é' (C3 A9) is fine.
    for (const name of ['mvà', '\u2020', 'à%d']) {
      throwsArg(() => linkName(name, 'spec.name', true), 'ERR_INVALID_ARG_VALUE', 'spec.name', 'the byte 0xA0');
    }
  });

  it("takes the whitespace the kernel's isspace() does not: only ASCII's and 0xA0 are refused", () => {
    // U+3000 is E3 80 80, U+FEFF EF BB BF, U+2028 E2 80 A8: names the kernel takes.
    for (const name of ['a\u3000b', 'c\ufeffd', 'e\u2028f', 'g\u1680h']) expect(linkName(name, 'n')).toBe(name);
    for (const name of ['a b', 'a\tb', 'a\vb', 'a\rb', 'a\nb', 'a\fb']) {
      throwsArg(() => linkName(name, 'spec.name'), 'ERR_INVALID_ARG_VALUE', 'spec.name', 'whitespace');
    }
    throwsArg(() => linkName('é b', 'spec.name'), 'ERR_INVALID_ARG_VALUE', 'spec.name', 'whitespace');
  });

  it("allows one '%d' only where the kernel fills it in", () => {
    expect(linkName('é%d', 'spec.name', true)).toBe('é%d');
    throwsArg(() => linkName('mv%d', 'change.name'), 'ERR_INVALID_ARG_VALUE', 'change.name', "without '%'");
    for (const bad of ['mv%d%d', 'mv%s', 'mv%', '%%d', 'é%d%d']) {
      throwsArg(() => linkName(bad, 'spec.name', true), 'ERR_INVALID_ARG_VALUE', 'spec.name', "at most one '%d'");
    }
  });

  it('refuses non-strings', () => {
    throwsArg(() => linkName(5, 'spec.name'), 'ERR_INVALID_ARG_TYPE', 'spec.name', 'received number 5');
    throwsArg(() => linkName(undefined, 'spec.name'), 'ERR_INVALID_ARG_TYPE', 'spec.name', /received undefined$/u);
    throwsArg(() => linkName(null, 'spec.name'), 'ERR_INVALID_ARG_TYPE', 'spec.name', /received null$/u);
    throwsArg(() => linkName(['v0'], 'spec.name'), 'ERR_INVALID_ARG_TYPE', 'spec.name', /received an array$/u);
    throwsArg(() => linkName({}, 'spec.name'), 'ERR_INVALID_ARG_TYPE', 'spec.name', /received an object$/u);
    throwsArg(() => linkName(Buffer.from('v0'), 'spec.name'), 'ERR_INVALID_ARG_TYPE', 'spec.name');
  });
});

describe('unicastMac', () => {
  it('accepts unicast addresses, in lower case', () => {
    expect(unicastMac('02:00:00:00:00:01', 'spec.mac')).toBe('02:00:00:00:00:01');
    expect(unicastMac('02:AB:cd:00:00:0F', 'spec.mac')).toBe('02:ab:cd:00:00:0f');
    expect(unicastMac('00:00:5e:00:53:01', 'spec.mac')).toBe('00:00:5e:00:53:01'); // RFC 7042 documentation MAC
  });

  it.each([
    '02:00:00:00:00',
    '02:00:00:00:00:01:02',
    '02-00-00-00-00-01',
    '0200.0000.0001',
    '020000000001',
    '02:00:00:00:00:0g',
    '2:0:0:0:0:1',
    ' 02:00:00:00:00:01',
    '02:00:00:00:00:01\n',
    '',
  ])('refuses malformed %j', (mac) => {
    throwsArg(() => unicastMac(mac, 'spec.mac'), 'ERR_INVALID_ARG_VALUE', 'spec.mac', "like '02:00:00:00:00:01'");
  });

  it.each(['01:00:5e:00:00:01', '33:33:00:00:00:01', 'ff:ff:ff:ff:ff:ff', '03:00:00:00:00:01', '0F:00:00:00:00:01'])(
    'refuses multicast %s',
    (mac) => {
      throwsArg(() => unicastMac(mac, 'spec.mac'), 'ERR_INVALID_ARG_VALUE', 'spec.mac', 'unicast');
    },
  );

  it('refuses all zeros', () => {
    throwsArg(() => unicastMac('00:00:00:00:00:00', 'spec.mac'), 'ERR_INVALID_ARG_VALUE', 'spec.mac', 'all zeros');
  });

  it('refuses non-strings', () => {
    throwsArg(() => unicastMac(0x020000000001, 'spec.mac'), 'ERR_INVALID_ARG_TYPE', 'spec.mac', 'received number');
    throwsArg(
      () => unicastMac(Buffer.from([2, 0, 0, 0, 0, 1]), 'spec.mac'),
      'ERR_INVALID_ARG_TYPE',
      'spec.mac',
      'received an instance of Buffer',
    );
  });
});

describe('integer, boolean, oneOf', () => {
  it('integer: range and integrality are RangeErrors, other types TypeErrors', () => {
    expect(integer(68, 'spec.mtu', 68, 0xffffffff)).toBe(68);
    expect(integer(0xffffffff, 'spec.mtu', 68, 0xffffffff)).toBe(0xffffffff);
    for (const bad of [67, 0x100000000, 1500.5, Number.NaN, Number.POSITIVE_INFINITY, -1]) {
      throwsArg(() => integer(bad, 'spec.mtu', 68, 0xffffffff), 'ERR_OUT_OF_RANGE', 'spec.mtu', 'an integer >= 68 and <= 4294967295');
    }
    throwsArg(() => integer('1500', 'spec.mtu', 68, 0xffffffff), 'ERR_INVALID_ARG_TYPE', 'spec.mtu', "received string '1500'");
    throwsArg(() => integer(1500n, 'spec.mtu', 68, 0xffffffff), 'ERR_INVALID_ARG_TYPE', 'spec.mtu', 'received bigint 1500');
    throwsArg(() => integer(null, 'spec.mtu', 68, 0xffffffff), 'ERR_INVALID_ARG_TYPE', 'spec.mtu', /received null$/u);
  });

  it('boolean', () => {
    expect(boolean(false, 'spec.up')).toBe(false);
    throwsArg(() => boolean('true', 'spec.up'), 'ERR_INVALID_ARG_TYPE', 'spec.up', "received string 'true'");
    throwsArg(() => boolean(1, 'spec.up'), 'ERR_INVALID_ARG_TYPE', 'spec.up', 'received number 1');
  });

  it('oneOf: the message lists the choices and shows what came', () => {
    const modes = ['private', 'vepa', 'bridge', 'passthru', 'source'] as const;
    expect(oneOf('vepa', 'spec.mode', modes)).toBe('vepa');
    throwsArg(() => oneOf('bridged', 'spec.mode', modes), 'ERR_INVALID_ARG_VALUE', 'spec.mode');
    expect(() => oneOf('bridged', 'spec.mode', modes)).toThrow(
      "Expected spec.mode to be one of 'private' | 'vepa' | 'bridge' | 'passthru' | 'source', received 'bridged'",
    );
    throwsArg(() => oneOf('Bridge', 'spec.mode', modes), 'ERR_INVALID_ARG_VALUE', 'spec.mode', "received 'Bridge'");
    throwsArg(() => oneOf(4, 'spec.mode', modes), 'ERR_INVALID_ARG_TYPE', 'spec.mode', `${MODES_TEXT}, received number 4`);
  });
});

describe('plainObject', () => {
  const keys = ['lower', 'name', 'mode', 'txQueueLen', 'nopromisc'];

  it('refuses non-objects, and built-in objects that are not options (a Map, a Date)', () => {
    for (const bad of [null, undefined, 'v0', 5, ['lower'], () => ({}), new Map([['lower', 'v0']]), new Date(), /x/u]) {
      throwsArg(() => plainObject(bad, 'spec', keys), 'ERR_INVALID_ARG_TYPE', 'spec', 'an object');
    }
    // Objects without a prototype and class instances are options like any.
    expect(plainObject(Object.assign(Object.create(null) as object, { lower: 'v0' }), 'spec', keys)).toEqual({ lower: 'v0' });
    class Spec {
      lower = 'v0';
    }
    expect(plainObject(new Spec(), 'spec', keys)).toEqual({ lower: 'v0' });
  });

  it('refuses an option it would only inherit', () => {
    const spec = Object.assign(Object.create({ name: 'inh0' }) as object, { lower: 'v0' });
    throwsArg(() => plainObject(spec, 'spec', keys), 'ERR_INVALID_ARG_VALUE', 'spec.name', 'is inherited');
  });

  it('shows a received string escaped, as Node does', () => {
    throwsArg(() => linkName('a\0b', 'spec.name'), 'ERR_INVALID_ARG_VALUE', 'spec.name', "received 'a\\x00b'");
    throwsArg(() => oneOf("br'dge", 'spec.mode', ['bridge']), 'ERR_INVALID_ARG_VALUE', 'spec.mode', `received "br'dge"`);
  });

  it('names an unknown key, with a did-you-mean hint for near misses', () => {
    const cases: [string, string][] = [
      ['txqueuelen', 'txQueueLen'],
      ['mdoe', 'mode'],
      ['lowr', 'lower'],
      ['nopromisk', 'nopromisc'],
    ];
    for (const [typo, meant] of cases) {
      throwsArg(
        () => plainObject({ lower: 'v0', [typo]: 1 }, 'spec', keys),
        'ERR_INVALID_ARG_VALUE',
        `spec.${typo}`,
        `(did you mean '${meant}'?)`,
      );
    }
  });

  it('lists the known options when nothing is close', () => {
    let err: unknown;
    try {
      plainObject({ banana: 1 }, 'spec', keys);
    } catch (e) {
      err = e;
    }
    checkArgError(err, 'ERR_INVALID_ARG_VALUE', 'spec.banana', 'known options: lower, name, mode, txQueueLen, nopromisc');
    expect((err as Error).message).not.toContain('did you mean');
  });
});

describe('netnsTarget, linkRef', () => {
  it('netns: a name, an absolute path or a pid', () => {
    expect(netnsTarget('blue', 'spec.netns')).toEqual({ path: '/run/netns/blue' });
    expect(netnsTarget('/proc/4242/ns/net', 'spec.netns')).toEqual({ path: '/proc/4242/ns/net' });
    expect(netnsTarget(4242, 'spec.netns')).toEqual({ pid: 4242 });
    expect(netnsPath({ pid: 4242 })).toBe('/proc/4242/ns/net');
    expect(netnsPath({ path: '/run/netns/blue' })).toBe('/run/netns/blue');
  });

  it('netns: refuses what is none of those', () => {
    for (const bad of ['', '.', '..', 'a/b', 'blue\0']) {
      throwsArg(() => netnsTarget(bad, 'spec.netns'), 'ERR_INVALID_ARG_VALUE', 'spec.netns', '/run/netns');
    }
    // A path cut at its NUL would name another namespace.
    throwsArg(
      () => netnsTarget('/run/netns/blue\0junk', 'spec.netns'),
      'ERR_INVALID_ARG_VALUE',
      'spec.netns',
      "received '/run/netns/blue\\x00junk'",
    );
    for (const bad of [0, -1, 1.5, 0x40000000]) throwsArg(() => netnsTarget(bad, 'spec.netns'), 'ERR_OUT_OF_RANGE', 'spec.netns');
    for (const bad of [null, true, {}, ['blue']]) throwsArg(() => netnsTarget(bad, 'spec.netns'), 'ERR_INVALID_ARG_TYPE', 'spec.netns');
  });

  it('link refs: a name or an ifindex', () => {
    expect(linkRef('v0', 'ref')).toBe('v0');
    expect(linkRef(3, 'ref')).toBe(3);
    for (const bad of [0, -3, 2.5, 0x80000000]) throwsArg(() => linkRef(bad, 'ref'), 'ERR_OUT_OF_RANGE', 'ref');
    throwsArg(() => linkRef('a b', 'ref'), 'ERR_INVALID_ARG_VALUE', 'ref');
    throwsArg(() => linkRef('abcdefghijklmnop', 'ref'), 'ERR_OUT_OF_RANGE', 'ref');
    throwsArg(() => linkRef(true, 'ref'), 'ERR_INVALID_ARG_TYPE', 'ref', 'a link name (string) or ifindex (number), received boolean true');
    throwsArg(() => linkRef(undefined, 'ref'), 'ERR_INVALID_ARG_TYPE', 'ref', /received undefined$/u);
  });
});

describe('errors', () => {
  it('toNetlinkError: code, errno, the kernel text and the option it points at', () => {
    const site = new Error('call site');
    const err = toNetlinkError(
      Object.assign(new Error('Invalid argument'), { errno: 22, extack: 'mtu greater than device maximum', extackAttr: 'IFLA_MTU' }),
      "createMacvlan(lower 'v0')",
      site,
    );
    expect(err).toBeInstanceOf(NetlinkError);
    const e = err as NetlinkError;
    expect(e.code).toBe('EINVAL');
    expect(e.errno).toBe(22);
    expect(e.kernelMessage).toBe('mtu greater than device maximum');
    expect(e.option).toBe('mtu (IFLA_MTU)');
    expect(e.message).toBe(
      'createMacvlan(lower \'v0\') failed: EINVAL; kernel says "mtu greater than device maximum"; the kernel points at mtu (IFLA_MTU)',
    );
    // The caller's stack, not the native completion's.
    expect(e.stack!.split('\n').slice(1).join('\n')).toBe(site.stack!.split('\n').slice(1).join('\n'));
  });

  it('NetlinkError: kernelMessage and option are own properties only when there', () => {
    const bare = new NetlinkError('deleteLink(#3)', 19);
    expect('kernelMessage' in bare || 'option' in bare).toBe(false);
    const told = new NetlinkError('deleteLink(#3)', 19, { kernelMessage: 'k', option: 'mtu' });
    expect([told.kernelMessage, told.option]).toEqual(['k', 'mtu']);
  });

  it('toNetlinkError: ECANCELED from a closing handle, other errors as they are', () => {
    const closed = toNetlinkError(Object.assign(new Error('x'), { errno: 125 }), 'getLink(#1)');
    expect(closed).toBeInstanceOf(HandleClosedError);
    expect((closed as HandleClosedError).code).toBe('ERR_HANDLE_CLOSED');
    const plain = new TypeError('native: mtu must be a number');
    expect(toNetlinkError(plain, 'x')).toBe(plain);
    expect(errnoName(17)).toBe('EEXIST');
    expect(errnoName(100000)).toBe('E100000');
  });
});

// ---------------------------------------------------------------------------
// Handle methods: refused before the kernel, in a throwaway netns
// ---------------------------------------------------------------------------

describe('handle argument checks', () => {
  let ns: TestNetns;
  let nl: Handle;
  let baseline: string[];
  const names = (): string[] =>
    ns
      .links()
      .map((l) => l.ifname)
      .sort();

  beforeAll(async () => {
    requireKernelAccess();
    ns = makeNetns('validate');
    nl = await open({ netns: ns.name });
    baseline = names();
  });

  afterAll(async () => {
    await nl?.close();
    ns?.remove();
  });

  // `lower` is a link that does not exist: anything that reached the kernel
  // would come back as ENODEV instead of the argument error.
  const nope = 'nope0';
  type Case = [string, Record<string, unknown>, ArgCode, string, (string | RegExp)?];
  const specCases: Case[] = [
    ['name over 15 bytes', { name: 'abcdefghijklmnop' }, 'ERR_OUT_OF_RANGE', 'spec.name', '1 to 15 bytes'],
    ['empty name', { name: '' }, 'ERR_OUT_OF_RANGE', 'spec.name'],
    ["name with '/'", { name: 'mv/0' }, 'ERR_INVALID_ARG_VALUE', 'spec.name'],
    ["name with ':'", { name: 'mv:0' }, 'ERR_INVALID_ARG_VALUE', 'spec.name'],
    ['name with a space', { name: 'mv 0' }, 'ERR_INVALID_ARG_VALUE', 'spec.name'],
    ['name with a tab', { name: 'mv\t0' }, 'ERR_INVALID_ARG_VALUE', 'spec.name'],
    ["name with two '%d'", { name: 'mv%d%d' }, 'ERR_INVALID_ARG_VALUE', 'spec.name'],
    ['name not a string', { name: 7 }, 'ERR_INVALID_ARG_TYPE', 'spec.name', 'received number 7'],
    ['malformed mac', { mac: '02:00:00:00:00' }, 'ERR_INVALID_ARG_VALUE', 'spec.mac'],
    ['multicast mac', { mac: '01:00:5e:00:00:01' }, 'ERR_INVALID_ARG_VALUE', 'spec.mac', 'unicast'],
    ['broadcast mac', { mac: 'ff:ff:ff:ff:ff:ff' }, 'ERR_INVALID_ARG_VALUE', 'spec.mac', 'unicast'],
    ['all-zero mac', { mac: '00:00:00:00:00:00' }, 'ERR_INVALID_ARG_VALUE', 'spec.mac', 'all zeros'],
    ['mac not a string', { mac: 42 }, 'ERR_INVALID_ARG_TYPE', 'spec.mac'],
    [
      'unknown mode',
      { mode: 'bridged' },
      'ERR_INVALID_ARG_VALUE',
      'spec.mode',
      "Expected spec.mode to be one of 'private' | 'vepa' | 'bridge' | 'passthru' | 'source', received 'bridged'",
    ],
    ['mode as a number', { mode: 4 }, 'ERR_INVALID_ARG_TYPE', 'spec.mode', MODES_TEXT],
    ['mtu below 68', { mtu: 67 }, 'ERR_OUT_OF_RANGE', 'spec.mtu'],
    ['mtu above u32', { mtu: 2 ** 32 }, 'ERR_OUT_OF_RANGE', 'spec.mtu'],
    ['mtu not an integer', { mtu: 1400.5 }, 'ERR_OUT_OF_RANGE', 'spec.mtu'],
    ['mtu NaN', { mtu: Number.NaN }, 'ERR_OUT_OF_RANGE', 'spec.mtu'],
    ['mtu a string', { mtu: '1400' }, 'ERR_INVALID_ARG_TYPE', 'spec.mtu', "received string '1400'"],
    ['nopromisc without passthru (default mode)', { nopromisc: true }, 'ERR_INVALID_ARG_VALUE', 'spec.nopromisc', "mode 'passthru'"],
    ['nopromisc with mode vepa', { mode: 'vepa', nopromisc: true }, 'ERR_INVALID_ARG_VALUE', 'spec.nopromisc', "mode 'passthru'"],
    ['nopromisc not a boolean', { mode: 'passthru', nopromisc: 1 }, 'ERR_INVALID_ARG_TYPE', 'spec.nopromisc'],
    [
      'mac with passthru (the kernel would ignore it)',
      { mode: 'passthru', mac: '02:00:00:00:00:0a' },
      'ERR_INVALID_ARG_VALUE',
      'spec.mac',
      "mode 'passthru'",
    ],
    ['nodst without source', { mode: 'bridge', nodst: true }, 'ERR_INVALID_ARG_VALUE', 'spec.nodst', "mode 'source'"],
    ['sourceMacs without source mode', { sourceMacs: ['02:00:00:00:00:0a'] }, 'ERR_INVALID_ARG_VALUE', 'spec.sourceMacs', "mode 'source'"],
    ['sourceMacs not an array', { mode: 'source', sourceMacs: '02:00:00:00:00:0a' }, 'ERR_INVALID_ARG_TYPE', 'spec.sourceMacs'],
    [
      'multicast in sourceMacs',
      { mode: 'source', sourceMacs: ['02:00:00:00:00:0a', '01:00:5e:00:00:01'] },
      'ERR_INVALID_ARG_VALUE',
      'spec.sourceMacs[1]',
      'unicast',
    ],
    [
      'duplicate in sourceMacs',
      { mode: 'source', sourceMacs: ['02:00:00:00:00:0a', '02:00:00:00:00:0A'] },
      'ERR_INVALID_ARG_VALUE',
      'spec.sourceMacs[1]',
      'not already in the list',
    ],
    ['unknown option, near miss', { txqueuelen: 500 }, 'ERR_INVALID_ARG_VALUE', 'spec.txqueuelen', "(did you mean 'txQueueLen'?)"],
    ['unknown option, transposed', { mdoe: 'bridge' }, 'ERR_INVALID_ARG_VALUE', 'spec.mdoe', "(did you mean 'mode'?)"],
    ['unknown option, singular', { sourceMac: [] }, 'ERR_INVALID_ARG_VALUE', 'spec.sourceMac', "(did you mean 'sourceMacs'?)"],
    ['up not a boolean', { up: 'yes' }, 'ERR_INVALID_ARG_TYPE', 'spec.up', "received string 'yes'"],
    ['negative txQueueLen', { txQueueLen: -1 }, 'ERR_OUT_OF_RANGE', 'spec.txQueueLen'],
    ['zero numTxQueues', { numTxQueues: 0 }, 'ERR_OUT_OF_RANGE', 'spec.numTxQueues'],
    ['too many numRxQueues', { numRxQueues: 4097 }, 'ERR_OUT_OF_RANGE', 'spec.numRxQueues'],
    ['negative bcQueueLen', { bcQueueLen: -1 }, 'ERR_OUT_OF_RANGE', 'spec.bcQueueLen'],
    ['bcCutoff beyond s32', { bcCutoff: 2 ** 31 }, 'ERR_OUT_OF_RANGE', 'spec.bcCutoff'],
    ['netns empty', { netns: '' }, 'ERR_INVALID_ARG_VALUE', 'spec.netns'],
    ['netns relative path', { netns: 'a/b' }, 'ERR_INVALID_ARG_VALUE', 'spec.netns'],
    ['netns pid 0', { netns: 0 }, 'ERR_OUT_OF_RANGE', 'spec.netns'],
    ['netns an object', { netns: {} }, 'ERR_INVALID_ARG_TYPE', 'spec.netns'],
  ];

  for (const kind of ['createMacvlan', 'createMacvtap'] as const) {
    it.each(specCases)(`${kind}: %s`, async (_what, fields, code, field, text) => {
      await rejectsArg(nl[kind]({ lower: nope, ...fields } as unknown as MacvlanSpec), code, field, text);
    });
  }

  it('spec itself and spec.lower', async () => {
    for (const bad of [null, undefined, 'v0', ['v0'], 3]) {
      await rejectsArg(nl.createMacvlan(bad as unknown as MacvlanSpec), 'ERR_INVALID_ARG_TYPE', 'spec', 'an object');
    }
    await rejectsArg(nl.createMacvlan({} as MacvlanSpec), 'ERR_INVALID_ARG_TYPE', 'spec.lower', /received undefined$/u);
    await rejectsArg(
      nl.createMacvtap({ lower: true } as unknown as MacvlanSpec),
      'ERR_INVALID_ARG_TYPE',
      'spec.lower',
      'received boolean true',
    );
    await rejectsArg(nl.createMacvtap({ lower: 0 }), 'ERR_OUT_OF_RANGE', 'spec.lower');
    await rejectsArg(nl.createMacvtap({ lower: 'v 0' }), 'ERR_INVALID_ARG_VALUE', 'spec.lower');
    await rejectsArg(nl.createMacvtap({ lower: 'abcdefghijklmnop' }), 'ERR_OUT_OF_RANGE', 'spec.lower');
  });

  it('nothing was created by any of the refused calls', () => {
    expect(names()).toEqual(baseline);
  });

  it('a lower that does not exist: NetlinkError ENODEV naming the lower', async () => {
    const e = await rejectsNetlink(nl.createMacvlan({ lower: nope, name: 'mvx0' }), 'ENODEV', `lower '${nope}'`);
    expect(e.errno).toBe(19);
    expect(e.message).toContain('does not exist');
    await rejectsNetlink(nl.createMacvtap({ lower: 99999 }), 'ENODEV', 'lower #99999');
    expect(names()).toEqual(baseline);
  });

  it("mtu above the lower's: RangeError before the kernel sees it", async () => {
    const lowerMtu = ns.links('v0')[0]!.mtu;
    await rejectsArg(
      nl.createMacvlan({ lower: 'v0', name: 'mvbig0', mtu: lowerMtu + 1 }),
      'ERR_OUT_OF_RANGE',
      'spec.mtu',
      `<= ${lowerMtu} (the MTU of lower 'v0'), received ${lowerMtu + 1}`,
    );
    await rejectsArg(nl.createMacvtap({ lower: 'v0', mtu: 9000 }), 'ERR_OUT_OF_RANGE', 'spec.mtu', `<= ${lowerMtu}`);
    expect(names()).toEqual(baseline);
  });

  it("on a macvlan lower, the mtu is checked against the real lower's, as the kernel does", async () => {
    ns.ip('link', 'add', 'mvlow0', 'link', 'v0', 'mtu', '1400', 'type', 'macvlan');
    try {
      const link = await nl.createMacvlan({ lower: 'mvlow0', name: 'mvup0', mtu: 1500 });
      expect(link.mtu).toBe(1500);
      expect(ns.links('mvup0')[0]).toMatchObject({ mtu: 1500, link: 'v0' });
      await rejectsArg(
        nl.createMacvtap({ lower: 'mvlow0', mtu: 1501 }),
        'ERR_OUT_OF_RANGE',
        'spec.mtu',
        "<= 1500 (the MTU of lower 'v0' under 'mvlow0'), received 1501",
      );
    } finally {
      // mvup0 sits on v0, so it outlives mvlow0.
      for (const made of ['mvlow0', 'mvup0']) ns.ip('link', 'del', made);
    }
    expect(names()).toEqual(baseline);
  });

  it("an mtu equal to the lower's is fine", async () => {
    const link = await nl.createMacvlan({ lower: 'v0', name: 'mveq0', mtu: 1500 });
    try {
      expect(link.mtu).toBe(1500);
      expect(ns.links('mveq0')[0]!.mtu).toBe(1500);
    } finally {
      ns.ip('link', 'del', 'mveq0');
    }
  });

  it('getLink / deleteLink: bad refs, and links that are not there', async () => {
    await rejectsArg(nl.getLink(0), 'ERR_OUT_OF_RANGE', 'ref');
    await rejectsArg(nl.getLink(1.5), 'ERR_OUT_OF_RANGE', 'ref');
    await rejectsArg(nl.getLink('a b'), 'ERR_INVALID_ARG_VALUE', 'ref');
    await rejectsArg(nl.getLink(null as never), 'ERR_INVALID_ARG_TYPE', 'ref', /received null$/u);
    await rejectsArg(nl.deleteLink({} as never), 'ERR_INVALID_ARG_TYPE', 'ref', /received an object$/u);
    await rejectsNetlink(nl.getLink(nope), 'ENODEV', `'${nope}'`);
    await rejectsNetlink(nl.getLink(99999), 'ENODEV', '#99999');
    await rejectsNetlink(nl.deleteLink(nope), 'ENODEV', `'${nope}'`);
  });

  it('deleteLinks: not an array, a bad entry, a missing link (nothing deleted)', async () => {
    await rejectsArg(nl.deleteLinks('v0' as never), 'ERR_INVALID_ARG_TYPE', 'refs', "received string 'v0'");
    await rejectsArg(nl.deleteLinks(['v0', 1.5]), 'ERR_OUT_OF_RANGE', 'refs[1]');
    await rejectsArg(nl.deleteLinks(['v0', 'a:b']), 'ERR_INVALID_ARG_VALUE', 'refs[1]');
    await rejectsNetlink(nl.deleteLinks(['v0', nope]), 'ENODEV', 'nothing was deleted');
    expect(names()).toEqual(baseline);
  });

  it('deleteLink / deleteLinks: a link without a kind (lo) is named, and nothing is deleted or regrouped', async () => {
    const kindless = "'lo' has no link kind (loopback or a hardware device)";
    await rejectsNetlink(nl.deleteLink('lo'), 'ENOTSUP', kindless);
    await rejectsNetlink(
      nl.deleteLinks(['v0', 'lo']),
      'ENOTSUP',
      `${kindless}, and the kernel deletes only links made with one; nothing was deleted`,
    );
    expect(names()).toEqual(baseline);
    expect(ns.links('v0')[0]!.group).toBe('default');
  });

  it('listLinks: filter checks', async () => {
    await rejectsArg(nl.listLinks('macvlan' as never), 'ERR_INVALID_ARG_TYPE', 'filter', "received string 'macvlan'");
    await rejectsArg(nl.listLinks({ knd: 'macvlan' } as never), 'ERR_INVALID_ARG_VALUE', 'filter.knd', "(did you mean 'kind'?)");
    await rejectsArg(nl.listLinks({ kind: 5 } as never), 'ERR_INVALID_ARG_TYPE', 'filter.kind');
    await rejectsArg(nl.listLinks({ lower: 0 }), 'ERR_OUT_OF_RANGE', 'filter.lower');
    await rejectsNetlink(nl.listLinks({ lower: nope }), 'ENODEV', `'${nope}'`);
  });

  it('setLink: checks on the change', async () => {
    await rejectsArg(nl.setLink('v0', null as never), 'ERR_INVALID_ARG_TYPE', 'change');
    await rejectsArg(nl.setLink('v0', { mtuu: 1400 } as never), 'ERR_INVALID_ARG_VALUE', 'change.mtuu', "(did you mean 'mtu'?)");
    await rejectsArg(nl.setLink('v0', { up: 'yes' } as never), 'ERR_INVALID_ARG_TYPE', 'change.up');
    await rejectsArg(nl.setLink('v0', { mtu: 10 }), 'ERR_OUT_OF_RANGE', 'change.mtu');
    await rejectsArg(nl.setLink('v0', { mac: '01:00:5e:00:00:01' }), 'ERR_INVALID_ARG_VALUE', 'change.mac', 'unicast');
    await rejectsArg(nl.setLink('v0', { name: 'abcdefghijklmnop' }), 'ERR_OUT_OF_RANGE', 'change.name');
    await rejectsArg(nl.setLink('v0', { name: 'v%d' }), 'ERR_INVALID_ARG_VALUE', 'change.name');
    await rejectsArg(
      nl.setLink('v0', { mode: 'bridged' as 'bridge' }),
      'ERR_INVALID_ARG_VALUE',
      'change.mode',
      `${MODES_TEXT}, received 'bridged'`,
    );
    await rejectsArg(nl.setLink('v0', { txQueueLen: -1 }), 'ERR_OUT_OF_RANGE', 'change.txQueueLen');
    await rejectsArg(nl.setLink('v0', { netns: 'a/b' }), 'ERR_INVALID_ARG_VALUE', 'change.netns');
    await rejectsArg(nl.setLink(0, { up: true }), 'ERR_OUT_OF_RANGE', 'ref');
    await rejectsNetlink(nl.setLink(nope, { up: true }), 'ENODEV');
    // A mode on a link that is not a macvlan/macvtap (v0 is a veth).
    await rejectsArg(nl.setLink('v0', { mode: 'bridge' }), 'ERR_INVALID_ARG_VALUE', 'change.mode', 'macvlan or macvtap');
    expect(ns.links('v0')[0]!.mtu).toBe(1500);
  });

  it("setLink on a macvlan: mtu above the lower's, and into/out of passthru", async () => {
    ns.ip('link', 'add', 'link', 'v0', 'name', 'mvset0', 'type', 'macvlan', 'mode', 'bridge');
    try {
      await rejectsArg(nl.setLink('mvset0', { mtu: 1501 }), 'ERR_OUT_OF_RANGE', 'change.mtu', "<= 1500 (the MTU of lower 'v0')");
      await rejectsArg(nl.setLink('mvset0', { mode: 'passthru' }), 'ERR_INVALID_ARG_VALUE', 'change.mode', 'passthru');
      const [l] = ns.links('mvset0');
      expect(l!.mtu).toBe(1500);
      expect(l!.linkinfo!.info_data!.mode).toBe('bridge');
    } finally {
      ns.ip('link', 'del', 'mvset0');
    }
  });

  it('setSourceMacs: op and list checks', async () => {
    await rejectsArg(
      nl.setSourceMacs('v0', 'replace' as 'set', []),
      'ERR_INVALID_ARG_VALUE',
      'op',
      "one of 'add' | 'del' | 'set' | 'flush'",
    );
    await rejectsArg(nl.setSourceMacs('v0', 'add'), 'ERR_INVALID_ARG_TYPE', 'macs', /received undefined$/u);
    await rejectsArg(nl.setSourceMacs('v0', 'add', []), 'ERR_INVALID_ARG_VALUE', 'macs', "at least one MAC address with 'add'");
    await rejectsArg(nl.setSourceMacs('v0', 'flush', ['02:00:00:00:00:0a']), 'ERR_INVALID_ARG_VALUE', 'macs', "omitted with 'flush'");
    await rejectsArg(nl.setSourceMacs('v0', 'del', ['zz']), 'ERR_INVALID_ARG_VALUE', 'macs[0]');
    await rejectsArg(
      nl.setSourceMacs('v0', 'set', ['02:00:00:00:00:0a', '02:00:00:00:00:0a']),
      'ERR_INVALID_ARG_VALUE',
      'macs[1]',
      'not already in the list',
    );
    // Valid arguments, wrong link: v0 is not a macvlan in mode 'source'.
    await rejectsArg(nl.setSourceMacs('v0', 'add', ['02:00:00:00:00:0a']), 'ERR_INVALID_ARG_VALUE', 'ref', "mode 'source' ('v0' is veth)");
    // One netlink attribute holds the list: its u16 length would wrap.
    const many = Array.from(
      { length: 5441 },
      (_, i) => `02:00:00:00:${((i >> 8) & 255).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`,
    );
    await rejectsArg(nl.setSourceMacs('v0', 'set', many), 'ERR_OUT_OF_RANGE', 'macs', 'at most 5440 MAC addresses');
    await rejectsArg(
      nl.createMacvlan({ lower: 'v0', mode: 'source', sourceMacs: many }),
      'ERR_OUT_OF_RANGE',
      'spec.sourceMacs',
      'received 5441',
    );
  });

  it('arrays with holes: each hole is refused by its index, before the kernel', async () => {
    const before = names();
    // [hole, x]: as a literal [, x] would make it.
    const holed = (x: unknown): never => {
      const a = new Array<unknown>(2);
      a[1] = x;
      return a as never;
    };
    await rejectsArg(nl.deleteLinks(holed('v0')), 'ERR_INVALID_ARG_TYPE', 'refs[0]', 'received undefined');
    await rejectsArg(nl.setSourceMacs('v0', 'add', holed('02:00:00:00:00:01')), 'ERR_INVALID_ARG_TYPE', 'macs[0]');
    await rejectsArg(
      nl.createMacvlan({ lower: 'v0', mode: 'source', sourceMacs: holed('02:00:00:00:00:01') }),
      'ERR_INVALID_ARG_TYPE',
      'spec.sourceMacs[0]',
    );
    await rejectsArg(
      hostShim(nl, { lower: 'v0', address: '192.0.2.1/32', routes: holed('198.51.100.0/24') }),
      'ERR_INVALID_ARG_TYPE',
      'options.routes[0]',
    );
    await rejectsArg(nl.addRoute({ dst: '198.51.100.0/24', nexthops: holed({ dev: 'v0' }) }), 'ERR_INVALID_ARG_TYPE', 'route.nexthops[0]');
    await rejectsArg(nl.openTap('v0', { vnetHdr: true, offloads: holed('csum') }), 'ERR_INVALID_ARG_TYPE', 'options.offloads[0]');
    expect(names()).toEqual(before);
  });

  it('addAddress / deleteAddress: cidr and options', async () => {
    await rejectsArg(nl.addAddress('v0', '192.0.2.10'), 'ERR_INVALID_ARG_VALUE', 'cidr', "'192.0.2.10/24'");
    await rejectsArg(nl.addAddress('v0', '192.0.2.10/33'), 'ERR_OUT_OF_RANGE', 'cidr', 'from 0 to 32');
    await rejectsArg(nl.addAddress('v0', '2001:db8::10/129'), 'ERR_OUT_OF_RANGE', 'cidr', 'from 0 to 128');
    await rejectsArg(nl.addAddress('v0', '192.0.2.300/24'), 'ERR_INVALID_ARG_VALUE', 'cidr');
    await rejectsArg(nl.addAddress('v0', 24 as never), 'ERR_INVALID_ARG_TYPE', 'cidr', 'received number 24');
    await rejectsArg(
      nl.addAddress('v0', '192.0.2.10/24', { nodadd: true } as never),
      'ERR_INVALID_ARG_VALUE',
      'options.nodadd',
      "(did you mean 'nodad'?)",
    );
    await rejectsArg(nl.addAddress('v 0', '192.0.2.10/24'), 'ERR_INVALID_ARG_VALUE', 'ref');
    await rejectsArg(nl.deleteAddress('v0', '2001:db8::10/x'), 'ERR_OUT_OF_RANGE', 'cidr');
    await rejectsArg(nl.listAddresses(0), 'ERR_OUT_OF_RANGE', 'ref');
    await rejectsNetlink(nl.addAddress(nope, '192.0.2.10/24'), 'ENODEV');
  });

  it('addRoute / deleteRoute / listRoutes: route checks', async () => {
    await rejectsArg(
      nl.addRoute({ dst: '198.51.100.7/24', dev: 'v0' }),
      'ERR_INVALID_ARG_VALUE',
      'route.dst',
      "(did you mean '198.51.100.0/24'?)",
    );
    await rejectsArg(nl.addRoute({ dst: '198.51.100.0/24' }), 'ERR_INVALID_ARG_VALUE', 'route', 'a dev, a gateway, or nexthops');
    await rejectsArg(
      nl.addRoute({ dst: '2001:db8:1::/48', gateway: '192.0.2.1' }),
      'ERR_INVALID_ARG_VALUE',
      'route.gateway',
      'an IPv6 address',
    );
    await rejectsArg(nl.addRoute({ dst: '198.51.100.0/24', gateway: 'gw' }), 'ERR_INVALID_ARG_VALUE', 'route.gateway');
    await rejectsArg(nl.addRoute({ dst: '198.51.100.0/24', dev: 'v0', metric: -1 }), 'ERR_OUT_OF_RANGE', 'route.metric');
    await rejectsArg(nl.addRoute({ dst: '198.51.100.0/24', dev: 'v0', table: 0 }), 'ERR_OUT_OF_RANGE', 'route.table');
    await rejectsArg(nl.addRoute({ dst: '198.51.100.0/24', dev: 0 }), 'ERR_OUT_OF_RANGE', 'route.dev');
    await rejectsArg(
      nl.addRoute({ dts: '198.51.100.0/24', dev: 'v0' } as never),
      'ERR_INVALID_ARG_VALUE',
      'route.dts',
      "(did you mean 'dst'?)",
    );
    await rejectsArg(nl.addRoute(null as never), 'ERR_INVALID_ARG_TYPE', 'route');
    await rejectsArg(nl.deleteRoute({ dst: 'nowhere', dev: 'v0' }), 'ERR_INVALID_ARG_VALUE', 'route.dst');
    await rejectsArg(nl.listRoutes({ family: 5 } as never), 'ERR_INVALID_ARG_VALUE', 'filter.family', '4 or 6');
    await rejectsArg(nl.listRoutes({ table: 1.5 }), 'ERR_OUT_OF_RANGE', 'filter.table');
    await rejectsNetlink(nl.addRoute({ dst: '198.51.100.0/24', dev: nope }), 'ENODEV');
  });

  it('addRoute: next hops, types and prefsrc checked before the kernel sees them', async () => {
    const before = ns.ip('-j', 'route', 'show', 'table', 'all');
    await rejectsArg(
      nl.addRoute({ dst: '203.0.113.0/24', nexthops: [] }),
      'ERR_INVALID_ARG_VALUE',
      'route.nexthops',
      'at least one next hop',
    );
    await rejectsArg(nl.addRoute({ dst: '203.0.113.0/24', nexthops: {} as never }), 'ERR_INVALID_ARG_TYPE', 'route.nexthops');
    await rejectsArg(
      nl.addRoute({ dst: '203.0.113.0/24', nexthops: [{ weight: 2 }] }),
      'ERR_INVALID_ARG_VALUE',
      'route.nexthops[0]',
      'a dev, a gateway',
    );
    await rejectsArg(
      nl.addRoute({ dst: '203.0.113.0/24', nexthops: [{ dev: 'v0', weight: 257 }] }),
      'ERR_OUT_OF_RANGE',
      'route.nexthops[0].weight',
    );
    await rejectsArg(
      nl.addRoute({ dst: '203.0.113.0/24', nexthops: [{ dev: 'v0', wieght: 2 } as never] }),
      'ERR_INVALID_ARG_VALUE',
      'route.nexthops[0].wieght',
    );
    await rejectsArg(
      nl.addRoute({ dst: '2001:db8:1::/48', nexthops: [{ gateway: '2001:db8::2' }, { gateway: '192.0.2.2' }] }),
      'ERR_INVALID_ARG_VALUE',
      'route.nexthops[1].gateway',
      'an IPv6 address',
    );
    await rejectsArg(
      nl.addRoute({ dst: '203.0.113.0/24', dev: 'v0', nexthops: [{ gateway: '192.0.2.2' }] }),
      'ERR_INVALID_ARG_VALUE',
      'route',
      'not both',
    );
    await rejectsArg(nl.addRoute({ dst: '203.0.113.0/24', type: 'blackhol' as never }), 'ERR_INVALID_ARG_VALUE', 'route.type', 'blackhole');
    await rejectsArg(nl.addRoute({ dst: '203.0.113.0/24' }), 'ERR_INVALID_ARG_VALUE', 'route', 'or a type such as blackhole');
    await rejectsArg(nl.addRoute({ dst: '203.0.113.0/24', dev: 'v0', prefsrc: '2001:db8::1' }), 'ERR_INVALID_ARG_VALUE', 'route.prefsrc');
    await rejectsNetlink(nl.addRoute({ dst: '203.0.113.0/24', nexthops: [{ dev: 'nope0' }] }), 'ENODEV', "'nope0'");
    expect(ns.ip('-j', 'route', 'show', 'table', 'all')).toEqual(before);
  });

  it('openTap: option checks', async () => {
    await rejectsArg(nl.openTap('v0', { queues: 0 }), 'ERR_OUT_OF_RANGE', 'options.queues');
    await rejectsArg(nl.openTap('v0', { queuez: 2 } as never), 'ERR_INVALID_ARG_VALUE', 'options.queuez', "(did you mean 'queues'?)");
    await rejectsArg(nl.openTap('v0', { vnetHdr: 'yes' } as never), 'ERR_INVALID_ARG_TYPE', 'options.vnetHdr');
    await rejectsArg(nl.openTap('v0', { vnetHdrSize: 12 } as never), 'ERR_INVALID_ARG_VALUE', 'options.vnetHdrSize', 'vnetHdr: true');
    await rejectsArg(
      nl.openTap('v0', { vnetHdr: true, vnetHdrSize: 11 } as never),
      'ERR_INVALID_ARG_VALUE',
      'options.vnetHdrSize',
      '10 or 12',
    );
    await rejectsArg(
      nl.openTap('v0', { vnetHdr: true, vnetHdrSize: '12' } as never),
      'ERR_INVALID_ARG_TYPE',
      'options.vnetHdrSize',
      'a number',
    );
    await rejectsArg(nl.openTap('v0', { nodeDir: 'run/macvlan' } as never), 'ERR_INVALID_ARG_VALUE', 'options.nodeDir', 'absolute');
    await rejectsArg(nl.openTap('v0', { nodeDir: 5 } as never), 'ERR_INVALID_ARG_TYPE', 'options.nodeDir', 'a string');
    await rejectsArg(nl.openTap('v0', { owner: { uid: -1 } } as never), 'ERR_OUT_OF_RANGE', 'options.owner.uid');
    await rejectsArg(nl.openTap('v0', { owner: { mode: 0o1777 } } as never), 'ERR_OUT_OF_RANGE', 'options.owner.mode');
    await rejectsArg(nl.openTap(0), 'ERR_OUT_OF_RANGE', 'ref');
    // Valid options on a link that is not a macvtap.
    await rejectsArg(nl.openTap('v0'), 'ERR_INVALID_ARG_VALUE', 'ref', 'a macvtap link');
    await rejectsNetlink(nl.openTap(nope), 'ENODEV');
  });

  it('watchLinks: option checks', () => {
    throwsArg(() => nl.watchLinks({ signal: 5 } as never), 'ERR_INVALID_ARG_TYPE', 'options.signal', 'an AbortSignal');
    throwsArg(() => nl.watchLinks({ existing: 1 } as never), 'ERR_INVALID_ARG_TYPE', 'options.existing');
    throwsArg(() => nl.watchLinks({ receiveBuffer: 10 }), 'ERR_OUT_OF_RANGE', 'options.receiveBuffer');
    throwsArg(() => nl.watchLinks({ sginal: undefined } as never), 'ERR_INVALID_ARG_VALUE', 'options.sginal', "(did you mean 'signal'?)");
  });

  it('bad arguments reject (a promise), they never throw synchronously', () => {
    const calls: (() => Promise<unknown>)[] = [
      () => nl.getLink(null as never),
      () => nl.createMacvlan(null as unknown as MacvlanSpec),
      () => nl.createMacvtap({ lower: 'v0', mode: 'x' as 'bridge' }),
      () => nl.setLink('v0', 5 as never),
      () => nl.deleteLinks(5 as never),
      () => nl.setSourceMacs('v0', 'x' as 'add'),
      () => nl.listLinks(7 as never),
    ];
    return Promise.all(
      calls.map(async (call) => {
        let p: Promise<unknown> | undefined;
        expect(() => {
          p = call();
        }).not.toThrow();
        await expect(p).rejects.toBeInstanceOf(TypeError);
      }),
    );
  });
});

// ---------------------------------------------------------------------------
// Abuse: closed handles, double close, open on things that are not a netns
// ---------------------------------------------------------------------------

describe('handle abuse', () => {
  let ns: TestNetns;

  beforeAll(() => {
    requireKernelAccess();
    ns = makeNetns('abuse');
  });

  afterAll(() => {
    ns?.remove();
  });

  it("every call on a closed handle rejects with 'ERR_HANDLE_CLOSED'", async () => {
    const nl = await open({ netns: ns.name });
    expect(nl.closed).toBe(false);
    await nl.close();
    expect(nl.closed).toBe(true);
    const calls: [string, () => Promise<unknown>][] = [
      ['getLink', () => nl.getLink('v0')],
      ['listLinks', () => nl.listLinks()],
      ['createMacvlan', () => nl.createMacvlan({ lower: 'v0', name: 'mvc0' })],
      ['createMacvtap', () => nl.createMacvtap({ lower: 'v0' })],
      ['setLink', () => nl.setLink('v0', { up: false })],
      ['setSourceMacs', () => nl.setSourceMacs('v0', 'flush')],
      ['deleteLink', () => nl.deleteLink('v0')],
      ['deleteLinks', () => nl.deleteLinks(['v0', 'v1'])],
      ['deleteLinks of none', () => nl.deleteLinks([])],
      ['openTap', () => nl.openTap('v0')],
      ['addAddress', () => nl.addAddress('v0', '192.0.2.10/24')],
      ['addAddress by ifindex', () => nl.addAddress(2, '192.0.2.10/24')],
      ['deleteAddress', () => nl.deleteAddress('v0', '192.0.2.10/24')],
      ['listAddresses', () => nl.listAddresses()],
      ['addRoute', () => nl.addRoute({ dst: '198.51.100.0/24', dev: 'v0' })],
      ['addRoute via gateway', () => nl.addRoute({ dst: '198.51.100.0/24', gateway: '192.0.2.1' })],
      ['deleteRoute', () => nl.deleteRoute({ dst: '198.51.100.0/24', dev: 2 })],
      ['listRoutes', () => nl.listRoutes()],
      ['watchLinks', () => nl.watchLinks()[Symbol.asyncIterator]().next()],
    ];
    for (const [name, call] of calls) {
      const err = await call().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err, name).toBeInstanceOf(HandleClosedError);
      expect((err as HandleClosedError).code, name).toBe('ERR_HANDLE_CLOSED');
      expect((err as Error).message, name).toContain('the handle is closed');
    }
    // Nothing happened to the namespace.
    expect(
      ns
        .links()
        .map((l) => l.ifname)
        .sort(),
    ).toEqual(['lo', 'v0', 'v1']);
    expect(ns.links('v0')[0]!.flags).toContain('UP');
  });

  it('close() twice, in sequence and at once, is fine', async () => {
    const a = await open({ netns: ns.name });
    await expect(a.close()).resolves.toBeUndefined();
    await expect(a.close()).resolves.toBeUndefined();
    const b = await open({ netns: ns.name });
    await expect(Promise.all([b.close(), b.close(), b.close()])).resolves.toEqual([undefined, undefined, undefined]);
    expect(b.closed).toBe(true);
  });

  it('a call pending at close() that was not sent rejects with ERR_HANDLE_CLOSED; one sent settles as the kernel answered', async () => {
    const nl = await open({ netns: ns.name });
    const sent = nl.getLink('v0'); // the first call of a stretch of code goes to the I/O thread at once
    const queued = nl.getLink('v1'); // the next waits for the stretch to end (HandleCalls.#submit)
    const closing = nl.close();
    await expect(queued).rejects.toMatchObject({ name: 'HandleClosedError', code: 'ERR_HANDLE_CLOSED' });
    const [first] = await Promise.allSettled([sent]);
    if (first!.status === 'fulfilled') expect(first!.value.name).toBe('v0');
    else expect(first!.reason).toMatchObject({ name: 'HandleClosedError', code: 'ERR_HANDLE_CLOSED' });
    await closing;
  });

  it('a handle still works after a refused call', async () => {
    const nl = await open({ netns: ns.name });
    try {
      await expect(nl.getLink('a b')).rejects.toBeInstanceOf(TypeError);
      await expect(nl.getLink('nope0')).rejects.toBeInstanceOf(NetlinkError);
      expect((await nl.getLink('v0')).name).toBe('v0');
    } finally {
      await nl.close();
    }
  });

  it('open: a namespace name that does not exist is NetlinkError ENOENT', async () => {
    const missing = `does-not-exist-${process.pid}`;
    await rejectsNetlink(open({ netns: missing }), 'ENOENT', `/run/netns/${missing}`);
    await rejectsNetlink(open({ netns: '/proc/1073741823/ns/net' }), 'ENOENT');
    await rejectsNetlink(open({ netns: 1073741823 }), 'ENOENT', '/proc/1073741823/ns/net');
    // A create or move into it names the path too.
    const nl = await open({ netns: ns.name });
    try {
      await rejectsNetlink(nl.createMacvlan({ lower: 'v0', netns: missing }), 'ENOENT', `no namespace at '/run/netns/${missing}'`);
      await rejectsNetlink(nl.setLink('v1', { netns: missing }), 'ENOENT', `no namespace at '/run/netns/${missing}'`);
    } finally {
      await nl.close();
    }
  });

  it('open: a path that is not a network namespace is refused', async () => {
    await rejectsNetlink(open({ netns: '/etc/hostname' }), 'EINVAL', '/etc/hostname');
    await rejectsNetlink(open({ netns: '/proc/self/ns/mnt' }), 'EINVAL', '/proc/self/ns/mnt');
    await rejectsNetlink(open({ netns: '/tmp' }), 'EINVAL', '/tmp');
  });

  it('open: a FIFO is refused at once, not waited on for a writer', async () => {
    const fifo = join(tmpdir(), `macvlan-fifo-${process.pid}`);
    execFileSync('mkfifo', [fifo]);
    try {
      const opened = open({ netns: fifo });
      const late = new Promise<string>((resolve) => setTimeout(() => resolve('still pending after 3 s'), 3000).unref());
      const outcome = await Promise.race([
        opened.then(
          () => 'opened',
          (e: unknown) => e,
        ),
        late,
      ]);
      expect(outcome).toBeInstanceOf(NetlinkError);
      expect((outcome as NetlinkError).code).toBe('EINVAL');
      expect((outcome as NetlinkError).message).toContain(`'${fifo}' is not a network namespace`);
    } finally {
      // Had the I/O thread blocked in open(), a writer lets it go.
      try {
        closeSync(openSync(fifo, fsConstants.O_WRONLY | fsConstants.O_NONBLOCK));
      } catch {
        // no reader waits: nothing to release
      }
      rmSync(fifo);
    }
  });

  it('open: argument checks', async () => {
    await rejectsArg(open(null as never), 'ERR_INVALID_ARG_TYPE', 'options');
    await rejectsArg(open('blue' as never), 'ERR_INVALID_ARG_TYPE', 'options', "received string 'blue'");
    await rejectsArg(open({ nets: 'blue' } as never), 'ERR_INVALID_ARG_VALUE', 'options.nets', "(did you mean 'netns'?)");
    await rejectsArg(open({ netns: '' }), 'ERR_INVALID_ARG_VALUE', 'options.netns');
    await rejectsArg(open({ netns: 'a/b' }), 'ERR_INVALID_ARG_VALUE', 'options.netns');
    await rejectsArg(open({ netns: 0 }), 'ERR_OUT_OF_RANGE', 'options.netns');
    await rejectsArg(open({ netns: true } as never), 'ERR_INVALID_ARG_TYPE', 'options.netns', 'received boolean true');
  });
});
