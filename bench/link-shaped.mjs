// Objects of a listed macvtap Link's shape and size, made in JS with no
// decoding: what any Node library that returns one object a link (with a
// name, a MAC and its macvlan info) allocates, for the dump rows' "Node
// floor + objects" figure. The constructors assign what src/link.ts's
// linkObject/macvlanObject assign for a macvtap from listLinks(); the name
// is a fresh string and the MAC a slice of a larger one, as the library's.

function LinkShaped(i, name, mac, macvlan) {
  this.index = i;
  this.name = name;
  this.mtu = 1500;
  this.up = true;
  this.operState = 'up';
  this.kind = 'macvtap';
  this.mac = mac;
  this.lower = 2;
  this.txQueueLen = 500;
  this.numTxQueues = 1;
  this.numRxQueues = 1;
  this.minMtu = 68;
  this.maxMtu = 65535;
  this.group = 0;
  this.macvlan = macvlan;
}
LinkShaped.prototype = Object.prototype;

function MacvlanShaped(i) {
  this.mode = 'bridge';
  this.nopromisc = false;
  this.nodst = false;
  this.bcQueueLen = 1000;
  this.bcQueueLenUsed = 1000;
  this.bcCutoff = i & 1;
}
MacvlanShaped.prototype = Object.prototype;

const NAMES = 'abcdefghijklmnopqrstuvwxyz'.repeat(40);
const MACS = Array.from(
  { length: 1000 },
  (_, i) => `02:00:00:00:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`,
).join('');

/** `n` link-shaped objects in an array, as a listLinks() result (names of 5 bytes, as the bench's). */
export function linkShaped(n) {
  const out = [];
  for (let i = 0; i < n; i++) {
    const at = i % 1000;
    out.push(new LinkShaped(i, NAMES.slice(at, at + 5), MACS.slice(at * 17, at * 17 + 17), new MacvlanShaped(i)));
  }
  return out;
}
