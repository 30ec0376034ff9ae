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

// One row, reused: the addon copies it during the call. Cleared and joined
// by plain loops: TypedArray fill(), fill('') on a holey array and
// join('\0') take V8's generic paths, a quarter of the packing's time.
const numbers = new Float64Array(columns.numbers.length);
const strings: string[] = Array.from({ length: columns.strings.length }, () => '');

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

/** The numbers of the row packLinkStrings() packed last (valid until the next call). */
export const packedLinkNumbers: Float64Array = numbers;

/**
 * Packs `req` into the shared row; returns its strings. The numbers are
 * read from packedLinkNumbers: a returned pair, destructured, cost an array
 * and an iterator a call.
 */
export function packLinkStrings(req: NativeLinkRequest): string {
  for (let i = 0; i < numbers.length; i++) numbers[i] = NaN;
  for (let i = 0; i < strings.length; i++) strings[i] = '';
  put(req, linkNumbers, linkStrings);
  let joined = strings[0]!;
  for (let i = 1; i < strings.length; i++) joined += '\0' + strings[i]!;
  return joined;
}
