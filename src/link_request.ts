// A NativeLinkRequest as the row the addon reads (native/js_link.h
// LinkAttrsFromColumns): numbers in a Float64Array, strings joined by NUL.
import { native, type NativeLinkRequest } from './binding.js';

const columns = native.linkRequestColumns;
const slots = (names: string[], prefix: string): Map<string, number> =>
  new Map(
    names.flatMap((name, i) =>
      name.startsWith(prefix) && !name.slice(prefix.length).includes('.') ? [[name.slice(prefix.length), i]] : [],
    ),
  );
const linkNumbers = slots(columns.numbers, '');
const macvlanNumbers = slots(columns.numbers, 'macvlan.');
const linkStrings = slots(columns.strings, '');
const macvlanStrings = slots(columns.strings, 'macvlan.');
const macvlanPresent = linkNumbers.get('macvlan')!;

// One row, reused: the addon copies it during the call.
const numbers = new Float64Array(columns.numbers.length);
const strings: string[] = new Array<string>(columns.strings.length).fill('');

function put(o: object, numberSlots: Map<string, number>, stringSlots: Map<string, number>): void {
  for (const key in o) {
    const v = (o as Record<string, unknown>)[key];
    if (v === undefined) continue;
    if (typeof v === 'number') {
      const slot = numberSlots.get(key);
      if (slot !== undefined) {
        numbers[slot] = v;
        continue;
      }
    } else if (typeof v === 'string' || Array.isArray(v)) {
      const slot = stringSlots.get(key);
      if (slot !== undefined) {
        strings[slot] = typeof v === 'string' ? v : v.join(',');
        continue;
      }
    } else if (key === 'macvlan' && numberSlots === linkNumbers && typeof v === 'object' && v !== null) {
      numbers[macvlanPresent] = 1;
      put(v, macvlanNumbers, macvlanStrings);
      continue;
    }
    throw new TypeError(`native: no request column for ${key} = ${String(v)}`);
  }
}

function packRow(req: NativeLinkRequest): void {
  numbers.fill(NaN);
  strings.fill('');
  put(req, linkNumbers, linkStrings);
}

/**
 * Packs `req` into the shared row; returns the row's numbers (valid until the
 * next call) and its strings.
 */
export function packLinkRequest(req: NativeLinkRequest): [Float64Array, string] {
  packRow(req);
  return [numbers, strings.join('\0')];
}
