// Argument checks: every bad input is refused here, before the kernel sees
// it, with Node's error codes and the field named.
import { inspect } from 'node:util';

type NodeCode = 'ERR_INVALID_ARG_TYPE' | 'ERR_INVALID_ARG_VALUE' | 'ERR_OUT_OF_RANGE';

/** A TypeError or RangeError carrying one of Node's argument error codes. */
export function argError(code: NodeCode, message: string): TypeError | RangeError {
  const err = code === 'ERR_OUT_OF_RANGE' ? new RangeError(message) : new TypeError(message);
  Object.defineProperty(err, 'code', { value: code, enumerable: true });
  return err;
}

/** How a received value is shown in messages, the way Node shows it. */
export function show(v: unknown): string {
  if (typeof v === 'string') return inspect(v);
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') {
    const name = (Object.getPrototypeOf(v) as { constructor?: { name?: unknown } } | null)?.constructor?.name;
    return typeof name === 'string' && name !== '' && name !== 'Object' ? `an instance of ${name}` : 'an object';
  }
  if (typeof v === 'function') return 'a function';
  return String(v);
}

/** A received value with its type: 'number 5', 'string 'x'', but 'undefined', 'an array'. */
function showTyped(v: unknown): string {
  if (v === null || v === undefined || typeof v === 'object' || typeof v === 'function') return show(v);
  return `${typeof v} ${show(v)}`;
}

export function invalidType(field: string, expected: string, v: unknown): TypeError {
  return argError('ERR_INVALID_ARG_TYPE', `Expected ${field} to be ${expected}, received ${showTyped(v)}`);
}

export function invalidValue(field: string, expected: string, v: unknown): TypeError {
  return argError('ERR_INVALID_ARG_VALUE', `Expected ${field} to be ${expected}, received ${show(v)}`);
}

export function outOfRange(field: string, expected: string, v: unknown): RangeError {
  return argError('ERR_OUT_OF_RANGE', `Expected ${field} to be ${expected}, received ${show(v)}`);
}

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const here = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1]!.toLowerCase() === b[j - 1]!.toLowerCase() ? 0 : 1));
      prev = here;
    }
  }
  return row[b.length]!;
}

/** A Map, Set, Date, RegExp, Promise, typed array... rather than an object of options. */
function isBuiltin(v: object): boolean {
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto !== Object.prototype && proto !== null && Object.prototype.toString.call(v) !== '[object Object]';
}

/** Refuses a non-object, and any key not in `allowed`, with a hint for misspellings. */
export function plainObject(v: unknown, field: string, allowed: readonly string[]): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v) || isBuiltin(v)) throw invalidType(field, 'an object', v);
  // for-in rather than Object.keys(), which made an array a call (a create
  // validates its spec this way). It sees inherited keys too: an option
  // must be the object's own.
  for (const key in v) {
    if (!Object.hasOwn(v, key))
      throw argError('ERR_INVALID_ARG_VALUE', `Option ${field}.${key} is inherited; options must be own properties`);
    if (allowed.includes(key)) continue;
    const near = allowed.map((k) => ({ k, d: distance(key, k) })).sort((x, y) => x.d - y.d)[0];
    const hint = near && near.d <= Math.max(2, Math.floor(key.length / 3)) ? ` (did you mean '${near.k}'?)` : '';
    throw argError('ERR_INVALID_ARG_VALUE', `Unknown option ${field}.${key}${hint}; known options: ${allowed.join(', ')}`);
  }
  return v as Record<string, unknown>;
}

/**
 * An array, each element checked by `each` (given its field, 'x[3]'). Holes
 * are read as undefined, so each one is refused by name (map() would skip
 * them).
 */
export function arrayOf<T>(v: unknown, field: string, expected: string, each: (x: unknown, field: string) => T): T[] {
  if (!Array.isArray(v)) throw invalidType(field, expected, v);
  const out = new Array<T>(v.length);
  for (let i = 0; i < v.length; i++) out[i] = each(v[i], `${field}[${i}]`);
  return out;
}

export function integer(v: unknown, field: string, min: number, max: number): number {
  if (typeof v !== 'number') throw invalidType(field, 'a number', v);
  if (!Number.isInteger(v) || v < min || v > max) {
    throw outOfRange(field, `an integer >= ${min} and <= ${max}`, v);
  }
  return v;
}

export function boolean(v: unknown, field: string): boolean {
  if (typeof v !== 'boolean') throw invalidType(field, 'a boolean', v);
  return v;
}

export const IFNAMSIZ = 16;

/**
 * A kernel interface name (dev_valid_name): 1..15 bytes, not '.' or '..',
 * no '/', ':' or whitespace. `pattern` allows one '%d' for the kernel to fill.
 * dev_valid_name() tests each byte with the kernel's isspace(), which takes
 * 0xA0 (Latin-1's no-break space) for whitespace: a name whose UTF-8 holds
 * that byte ('à' is C3 A0) gets a bare EINVAL, so it is refused here.
 */
export function linkName(v: unknown, field: string, pattern = false): string {
  if (typeof v !== 'string') throw invalidType(field, 'a string', v);
  // One pass over the characters, without allocating: a create checks one
  // or two names, and Buffer.byteLength() (a native call) is needed only
  // for a name that is not all ASCII.
  let ascii = v.length < IFNAMSIZ;
  let bad = false;
  let percent = 0;
  for (let i = 0; ascii && i < v.length; i++) {
    const ch = v.charCodeAt(i);
    if (ch > 0x7f) ascii = false;
    else if (ch === 0 || ch === 0x2f || ch === 0x3a || ch === 0x20 || (ch >= 0x09 && ch <= 0x0d)) bad = true;
    else if (ch === 0x25) percent++;
  }
  const bytes = ascii ? v.length : Buffer.byteLength(v);
  if (bytes === 0 || bytes >= IFNAMSIZ) {
    throw outOfRange(field, `an interface name of 1 to ${IFNAMSIZ - 1} bytes`, v);
  }
  if (!ascii) {
    // A lone surrogate has no UTF-8: the kernel would get U+FFFD instead.
    if (!v.isWellFormed()) throw invalidValue(field, 'an interface name in well-formed Unicode (no lone surrogate)', v);
    if (Buffer.from(v).includes(0xa0)) {
      throw invalidValue(
        field,
        "an interface name without the byte 0xA0 in its UTF-8, which the kernel takes for whitespace (as in 'à')",
        v,
      );
    }
    // Only ASCII whitespace (and the 0xA0 byte above) is the kernel's:
    // U+3000 or U+FEFF make a name it takes.
    bad = /[/:\0\t\n\v\f\r ]/u.test(v);
    percent = v.split('%').length - 1;
  }
  if (v === '.' || v === '..' || bad) {
    throw invalidValue(field, "an interface name without '/', ':' or whitespace, and not '.' or '..'", v);
  }
  // The kernel answers a bare EINVAL: /proc/sys/net/ipv{4,6}/conf/ already
  // has entries of these names (devinet_sysctl_register).
  if (v === 'all' || v === 'default') {
    throw invalidValue(field, "an interface name other than 'all' and 'default' (the names of /proc/sys/net/*/conf/ settings)", v);
  }
  if (percent > 0 && !(pattern && percent === 1 && v.includes('%d'))) {
    throw invalidValue(field, pattern ? "a name with at most one '%d'" : "a name without '%'", v);
  }
  return v;
}

/** A link: its name, an alternative name (`ip link property add ... altname`), or its ifindex. */
export type LinkRef = string | number;

/** A link by name or by ifindex. */
export function linkRef(v: unknown, field: string): LinkRef {
  if (typeof v === 'number') return integer(v, field, 1, 0x7fffffff);
  if (typeof v === 'string') return linkName(v, field);
  throw invalidType(field, 'a link name (string) or ifindex (number)', v);
}

/** A link reference as messages show it: 'eth0', or #7 for an ifindex. */
export function showRef(ref: LinkRef): string {
  return typeof ref === 'number' ? `#${ref}` : `'${ref}'`;
}

const MAC_RE = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/iu;

/** A unicast, non-zero Ethernet address; returned in lower case. */
export function unicastMac(v: unknown, field: string): string {
  if (typeof v !== 'string') throw invalidType(field, "a MAC address string like '02:00:00:00:00:01'", v);
  if (!MAC_RE.test(v)) throw invalidValue(field, "a MAC address like '02:00:00:00:00:01'", v);
  const mac = v.toLowerCase();
  if (mac === '00:00:00:00:00:00') throw invalidValue(field, 'a MAC address other than all zeros', v);
  if (parseInt(mac.slice(0, 2), 16) & 1) {
    throw invalidValue(field, 'a unicast MAC address (the low bit of the first octet clear)', v);
  }
  return mac;
}

export function oneOf<T extends string>(v: unknown, field: string, values: readonly T[]): T {
  if (typeof v !== 'string') throw invalidType(field, `one of ${values.map((x) => `'${x}'`).join(' | ')}`, v);
  if (!(values as readonly string[]).includes(v)) {
    throw invalidValue(field, `one of ${values.map((x) => `'${x}'`).join(' | ')}`, v);
  }
  return v as T;
}

/** Where a namespace is: a path to an nsfs file, or a pid (links only). */
export type NetnsTarget = { path: string } | { pid: number };

/**
 * A network namespace: a name under /run/netns, an absolute nsfs path, or
 * (where `allowPid`) a process id.
 */
export function netnsTarget(v: unknown, field: string): NetnsTarget {
  if (typeof v === 'number') return { pid: integer(v, field, 1, 0x3fffffff) };
  if (typeof v !== 'string') throw invalidType(field, 'a namespace name, an nsfs path or a pid', v);
  if (v.startsWith('/')) {
    if (v.includes('\0')) throw invalidValue(field, 'an nsfs path without a NUL character', v);
    return { path: v };
  }
  if (v === '' || v === '.' || v === '..' || v.includes('/') || v.includes('\0')) {
    throw invalidValue(field, "a name under /run/netns or an absolute path like '/proc/4242/ns/net'", v);
  }
  return { path: `/run/netns/${v}` };
}

/** The nsfs path of a target, for opening a handle there. */
export function netnsPath(t: NetnsTarget): string {
  return 'path' in t ? t.path : `/proc/${t.pid}/ns/net`;
}
