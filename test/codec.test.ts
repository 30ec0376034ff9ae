// The codec on its own: bytes in, structures out, and the reverse. No
// sockets, no root, no kernel. Requests are pinned to what iproute2 sends
// for the same operation (captured with strace); replies are decoded from
// kernel captures and from hand-built, truncated and random buffers.
import { constants } from 'node:os';
import { describe, expect, it } from 'vitest';

import { LinkOp, native, type LinkTable, type NativeLink, type NativeLinkRequest } from '../src/binding.js';
import { decodeMessages, linksOf, rowsOf, toLink, type DecodedMessage, type Link } from '../src/link.js';
import { packedLinkNumbers, packLinkStrings } from '../src/link_request.js';
import { NetlinkError } from '../src/errors.js';
import { Handle } from '../src/handle.js';
import type { HandleCalls } from '../src/calls.js';

/** The row the handle's link calls hand the addon: the shared numbers (valid until the next pack) and the strings. */
function packLinkRequest(req: NativeLinkRequest): [Float64Array, string] {
  const strings = packLinkStrings(req);
  return [packedLinkNumbers, strings];
}

const encodeLink = (op: LinkOp, req: NativeLinkRequest): ReturnType<typeof native.encodeLink> =>
  native.encodeLink(op, ...packLinkRequest(req));

const c = native.constants;

// Netlink header flags (<linux/netlink.h>); retyped here on purpose, as an
// oracle independent of the addon.
const NLM_F_REQUEST = 0x1;
const NLM_F_ACK = 0x4;
const NLM_F_ECHO = 0x8;
const NLM_F_DUMP = 0x300;
const NLM_F_EXCL = 0x200;
const NLM_F_CREATE = 0x400;
const NLM_F_CAPPED = 0x100; // on NLMSG_ERROR
const NLM_F_ACK_TLVS = 0x200; // on NLMSG_ERROR
const NLA_F_NESTED = 0x8000;
const NLMSGERR_ATTR_MSG = 1;
const NLMSGERR_ATTR_OFFS = 2;
const NLMSGERR_ATTR_POLICY = 4;

// Attribute numbers (<linux/if_link.h>), also retyped as an oracle.
const IFLA = {
  ADDRESS: 1,
  IFNAME: 3,
  MTU: 4,
  LINK: 5,
  MASTER: 10,
  TXQLEN: 13,
  OPERSTATE: 16,
  LINKMODE: 17,
  LINKINFO: 18,
  NET_NS_PID: 19,
  IFALIAS: 20,
  STATS64: 23,
  AF_SPEC: 26,
  GROUP: 27,
  NET_NS_FD: 28,
  EXT_MASK: 29,
  NUM_TX_QUEUES: 31,
  NUM_RX_QUEUES: 32,
  LINK_NETNSID: 37,
  MIN_MTU: 50,
  MAX_MTU: 51,
  PARENT_DEV_NAME: 56,
} as const;
const IFLA_INFO = { KIND: 1, DATA: 2 } as const;
const IFLA_MACVLAN = {
  MODE: 1,
  FLAGS: 2,
  MACADDR_MODE: 3,
  MACADDR: 4,
  MACADDR_DATA: 5,
  MACADDR_COUNT: 6,
  BC_QUEUE_LEN: 7,
  BC_QUEUE_LEN_USED: 8,
  BC_CUTOFF: 9,
} as const;
const RTM_NEWLINK = 16;
const RTM_DELLINK = 17;
const RTM_GETLINK = 18;
const RTM_NEWADDR = 20;
const NLMSG_NOOP = 1;
const NLMSG_ERROR = 2;
const NLMSG_DONE = 3;

/** Hex text to bytes; whitespace and '#' comments are ignored. */
function hex(text: string): Buffer {
  return Buffer.from(text.replace(/#[^\n]*/gu, '').replace(/\s+/gu, ''), 'hex');
}

const align4 = (n: number): number => (n + 3) & ~3;
const flagsOf = (msg: Buffer): number => msg.readUInt16LE(6);

// ---------------------------------------------------------------------------
// Golden requests: what iproute2 6.1 sent on Linux 6.18, captured in a
// throwaway netns (v1 = ifindex 2, v0 = ifindex 3) with
//   ip netns exec X strace -e trace=sendmsg,sendto -e write=3 -xx -s 4096 <command>
// nlmsg_seq and nlmsg_pid zeroed (the socket stamps them at send time; our
// encoder leaves them 0 too).
// ---------------------------------------------------------------------------
// ip link add link v0 name mvt0 type macvtap mode bridge   (v0 = ifindex 3)
const IP_MACVTAP_BRIDGE = hex(`
  50000000100005060000000000000000         # nlmsghdr: len 80, RTM_NEWLINK, REQUEST|ACK|EXCL|CREATE, seq 0, pid 0
  00000000000000000000000000000000         # ifinfomsg: family 0, index 0, flags 0, change 0
  0800050003000000                         # IFLA_LINK 3
  090003006d76743000000000                 # IFLA_IFNAME 'mvt0' (nla_len 9)
  1c001200                                 # IFLA_LINKINFO, nla_len 28
    0b0001006d61637674617000               # IFLA_INFO_KIND 'macvtap' (nla_len 11)
    0c000200                               # IFLA_INFO_DATA, nla_len 12
      0800010004000000                     # IFLA_MACVLAN_MODE 4
`);
// ip link add link v0 name mvl0 address 02:00:00:00:00:01 mtu 1400 txqueuelen 500 numtxqueues 2 numrxqueues 3 type macvlan mode private
const IP_MACVLAN_FULL = hex(`
  7c000000100005060000000000000000         # nlmsghdr: len 124, RTM_NEWLINK, REQUEST|ACK|EXCL|CREATE, seq 0, pid 0
  00000000000000000000000000000000         # ifinfomsg: family 0, index 0, flags 0, change 0
  0a0001000200000000010000                 # IFLA_ADDRESS 02:00:00:00:00:01 (nla_len 10)
  0800040078050000                         # IFLA_MTU 1400
  08000d00f4010000                         # IFLA_TXQLEN 500
  08001f0002000000                         # IFLA_NUM_TX_QUEUES 2
  0800200003000000                         # IFLA_NUM_RX_QUEUES 3
  0800050003000000                         # IFLA_LINK 3
  090003006d766c3000000000                 # IFLA_IFNAME 'mvl0' (nla_len 9)
  1c001200                                 # IFLA_LINKINFO, nla_len 28
    0b0001006d6163766c616e00               # IFLA_INFO_KIND 'macvlan' (nla_len 11)
    0c000200                               # IFLA_INFO_DATA, nla_len 12
      0800010001000000                     # IFLA_MACVLAN_MODE 1
`);
// ip link add link v0 name mvs0 type macvlan mode source macaddr add 02:00:00:00:00:0a
const IP_SOURCE_ADD_CREATE = hex(`
  64000000100005060000000000000000         # nlmsghdr: len 100, RTM_NEWLINK, REQUEST|ACK|EXCL|CREATE, seq 0, pid 0
  00000000000000000000000000000000         # ifinfomsg: family 0, index 0, flags 0, change 0
  0800050003000000                         # IFLA_LINK 3
  090003006d76733000000000                 # IFLA_IFNAME 'mvs0' (nla_len 9)
  30001200                                 # IFLA_LINKINFO, nla_len 48
    0b0001006d6163766c616e00               # IFLA_INFO_KIND 'macvlan' (nla_len 11)
    20000200                               # IFLA_INFO_DATA, nla_len 32
      0800030000000000                     # IFLA_MACVLAN_MACADDR_MODE 0
      0a00040002000000000a0000             # IFLA_MACVLAN_MACADDR 02:00:00:00:00:0a (nla_len 10)
      0800010010000000                     # IFLA_MACVLAN_MODE 16
`);
// ip link add link v0 name mvs1 type macvlan mode source macaddr set 02:00:00:00:00:0a 02:00:00:00:00:0b
const IP_SOURCE_SET_CREATE = hex(`
  74000000100005060000000000000000         # nlmsghdr: len 116, RTM_NEWLINK, REQUEST|ACK|EXCL|CREATE, seq 0, pid 0
  00000000000000000000000000000000         # ifinfomsg: family 0, index 0, flags 0, change 0
  0800050003000000                         # IFLA_LINK 3
  090003006d76733100000000                 # IFLA_IFNAME 'mvs1' (nla_len 9)
  40001200                                 # IFLA_LINKINFO, nla_len 64
    0b0001006d6163766c616e00               # IFLA_INFO_KIND 'macvlan' (nla_len 11)
    30000200                               # IFLA_INFO_DATA, nla_len 48
      0800030003000000                     # IFLA_MACVLAN_MACADDR_MODE 3
      1c000500                             # IFLA_MACVLAN_MACADDR_DATA, nla_len 28
        0a00040002000000000a0000           # IFLA_MACVLAN_MACADDR 02:00:00:00:00:0a (nla_len 10)
        0a00040002000000000b0000           # IFLA_MACVLAN_MACADDR 02:00:00:00:00:0b (nla_len 10)
      0800010010000000                     # IFLA_MACVLAN_MODE 16
`);
// ip link add link v1 name mvp0 type macvlan mode passthru nopromisc   (v1 = ifindex 2)
const IP_PASSTHRU_NOPROMISC = hex(`
  58000000100005060000000000000000         # nlmsghdr: len 88, RTM_NEWLINK, REQUEST|ACK|EXCL|CREATE, seq 0, pid 0
  00000000000000000000000000000000         # ifinfomsg: family 0, index 0, flags 0, change 0
  0800050002000000                         # IFLA_LINK 2
  090003006d76703000000000                 # IFLA_IFNAME 'mvp0' (nla_len 9)
  24001200                                 # IFLA_LINKINFO, nla_len 36
    0b0001006d6163766c616e00               # IFLA_INFO_KIND 'macvlan' (nla_len 11)
    14000200                               # IFLA_INFO_DATA, nla_len 20
      0800010008000000                     # IFLA_MACVLAN_MODE 8
      0600020001000000                     # IFLA_MACVLAN_FLAGS 1 (nla_len 6)
`);
// ip link add link v0 name mvb0 type macvlan mode bridge bcqueuelen 100
const IP_BCQUEUELEN = hex(`
  58000000100005060000000000000000         # nlmsghdr: len 88, RTM_NEWLINK, REQUEST|ACK|EXCL|CREATE, seq 0, pid 0
  00000000000000000000000000000000         # ifinfomsg: family 0, index 0, flags 0, change 0
  0800050003000000                         # IFLA_LINK 3
  090003006d76623000000000                 # IFLA_IFNAME 'mvb0' (nla_len 9)
  24001200                                 # IFLA_LINKINFO, nla_len 36
    0b0001006d6163766c616e00               # IFLA_INFO_KIND 'macvlan' (nla_len 11)
    14000200                               # IFLA_INFO_DATA, nla_len 20
      0800070064000000                     # IFLA_MACVLAN_BC_QUEUE_LEN 100
      0800010004000000                     # IFLA_MACVLAN_MODE 4
`);
// ip link add link v0 name mvn0 type macvlan mode source nodst
const IP_SOURCE_NODST = hex(`
  58000000100005060000000000000000         # nlmsghdr: len 88, RTM_NEWLINK, REQUEST|ACK|EXCL|CREATE, seq 0, pid 0
  00000000000000000000000000000000         # ifinfomsg: family 0, index 0, flags 0, change 0
  0800050003000000                         # IFLA_LINK 3
  090003006d766e3000000000                 # IFLA_IFNAME 'mvn0' (nla_len 9)
  24001200                                 # IFLA_LINKINFO, nla_len 36
    0b0001006d6163766c616e00               # IFLA_INFO_KIND 'macvlan' (nla_len 11)
    14000200                               # IFLA_INFO_DATA, nla_len 20
      0800010010000000                     # IFLA_MACVLAN_MODE 16
      0600020002000000                     # IFLA_MACVLAN_FLAGS 2 (nla_len 6)
`);
// ip link set dev mvs0 type macvlan macaddr add 02:00:00:00:00:0b   (mvs0 = ifindex 6)
const IP_CHANGE_MACADDR_ADD = hex(`
  48000000100005000000000000000000         # nlmsghdr: len 72, RTM_NEWLINK, REQUEST|ACK, seq 0, pid 0
  00000000060000000000000000000000         # ifinfomsg: family 0, index 6, flags 0, change 0
  28001200                                 # IFLA_LINKINFO, nla_len 40
    0b0001006d6163766c616e00               # IFLA_INFO_KIND 'macvlan' (nla_len 11)
    18000200                               # IFLA_INFO_DATA, nla_len 24
      0800030000000000                     # IFLA_MACVLAN_MACADDR_MODE 0
      0a00040002000000000b0000             # IFLA_MACVLAN_MACADDR 02:00:00:00:00:0b (nla_len 10)
`);
// ip link set dev mvs0 type macvlan macaddr del 02:00:00:00:00:0a
const IP_CHANGE_MACADDR_DEL = hex(`
  48000000100005000000000000000000         # nlmsghdr: len 72, RTM_NEWLINK, REQUEST|ACK, seq 0, pid 0
  00000000060000000000000000000000         # ifinfomsg: family 0, index 6, flags 0, change 0
  28001200                                 # IFLA_LINKINFO, nla_len 40
    0b0001006d6163766c616e00               # IFLA_INFO_KIND 'macvlan' (nla_len 11)
    18000200                               # IFLA_INFO_DATA, nla_len 24
      0800030001000000                     # IFLA_MACVLAN_MACADDR_MODE 1
      0a00040002000000000a0000             # IFLA_MACVLAN_MACADDR 02:00:00:00:00:0a (nla_len 10)
`);
// ip link set dev mvs0 type macvlan macaddr set 02:00:00:00:00:0c 02:00:00:00:00:0d
const IP_CHANGE_MACADDR_SET = hex(`
  58000000100005000000000000000000         # nlmsghdr: len 88, RTM_NEWLINK, REQUEST|ACK, seq 0, pid 0
  00000000060000000000000000000000         # ifinfomsg: family 0, index 6, flags 0, change 0
  38001200                                 # IFLA_LINKINFO, nla_len 56
    0b0001006d6163766c616e00               # IFLA_INFO_KIND 'macvlan' (nla_len 11)
    28000200                               # IFLA_INFO_DATA, nla_len 40
      0800030003000000                     # IFLA_MACVLAN_MACADDR_MODE 3
      1c000500                             # IFLA_MACVLAN_MACADDR_DATA, nla_len 28
        0a00040002000000000c0000           # IFLA_MACVLAN_MACADDR 02:00:00:00:00:0c (nla_len 10)
        0a00040002000000000d0000           # IFLA_MACVLAN_MACADDR 02:00:00:00:00:0d (nla_len 10)
`);
// ip link set dev mvs0 type macvlan macaddr flush
const IP_CHANGE_MACADDR_FLUSH = hex(`
  3c000000100005000000000000000000         # nlmsghdr: len 60, RTM_NEWLINK, REQUEST|ACK, seq 0, pid 0
  00000000060000000000000000000000         # ifinfomsg: family 0, index 6, flags 0, change 0
  1c001200                                 # IFLA_LINKINFO, nla_len 28
    0b0001006d6163766c616e00               # IFLA_INFO_KIND 'macvlan' (nla_len 11)
    0c000200                               # IFLA_INFO_DATA, nla_len 12
      0800030002000000                     # IFLA_MACVLAN_MACADDR_MODE 2
`);
// ip link set dev mvl0 type macvlan mode vepa   (mvl0 = ifindex 5)
const IP_CHANGE_MODE_VEPA = hex(`
  3c000000100005000000000000000000         # nlmsghdr: len 60, RTM_NEWLINK, REQUEST|ACK, seq 0, pid 0
  00000000050000000000000000000000         # ifinfomsg: family 0, index 5, flags 0, change 0
  1c001200                                 # IFLA_LINKINFO, nla_len 28
    0b0001006d6163766c616e00               # IFLA_INFO_KIND 'macvlan' (nla_len 11)
    0c000200                               # IFLA_INFO_DATA, nla_len 12
      0800010002000000                     # IFLA_MACVLAN_MODE 2
`);
// ip link set dev mvl0 up
const IP_SET_UP = hex(`
  20000000100005000000000000000000         # nlmsghdr: len 32, RTM_NEWLINK, REQUEST|ACK, seq 0, pid 0
  00000000050000000100000001000000         # ifinfomsg: family 0, index 5, flags 1, change 1
`);
// ip link set dev mvl0 mtu 1300
const IP_SET_MTU = hex(`
  28000000100005000000000000000000         # nlmsghdr: len 40, RTM_NEWLINK, REQUEST|ACK, seq 0, pid 0
  00000000050000000000000000000000         # ifinfomsg: family 0, index 5, flags 0, change 0
  0800040014050000                         # IFLA_MTU 1300
`);
// ip link del mvt0   (ip resolves the name first; mvt0 = ifindex 4)
const IP_DELETE = hex(`
  20000000110005000000000000000000         # nlmsghdr: len 32, RTM_DELLINK, REQUEST|ACK, seq 0, pid 0
  00000000040000000000000000000000         # ifinfomsg: family 0, index 4, flags 0, change 0
`);
// the name lookup ip does before `ip link set dev v0 up` (its second socket)
const IP_GETLINK_BY_NAME = hex(`
  30000000120001000000000000000000         # nlmsghdr: len 48, RTM_GETLINK, REQUEST, seq 0, pid 0
  00000000000000000000000000000000         # ifinfomsg: family 0, index 0, flags 0, change 0
  08001d0009000000                         # IFLA_EXT_MASK 9
  0700030076300000                         # IFLA_IFNAME 'v0' (nla_len 7)
`);
// ip link show type macvtap
const IP_DUMP_KIND_MACVTAP = hex(`
  38000000120001030000000000000000         # nlmsghdr: len 56, RTM_GETLINK, REQUEST|DUMP, seq 0, pid 0
  11000000000000000000000000000000         # ifinfomsg: family 17, index 0, flags 0, change 0
  08001d0001000000                         # IFLA_EXT_MASK 1
  10001200                                 # IFLA_LINKINFO, nla_len 16
    0b0001006d61637674617000               # IFLA_INFO_KIND 'macvtap' (nla_len 11)
`);

// ---------------------------------------------------------------------------
// Kernel replies, captured the same way (strace -e trace=recvmsg -e read=3),
// nlmsg_seq/nlmsg_pid zeroed except where noted.
// ---------------------------------------------------------------------------

// `ip link add link v0 name mv0 mtu 50 type macvlan`: EINVAL with extended
// ACK text, NLM_F_ACK_TLVS without NLM_F_CAPPED (ip does not set
// NETLINK_CAP_ACK), so the whole 72-byte request is echoed before the TLVs.
const KERNEL_EINVAL_MTU_EXTACK = hex(`
  80000000020000020000000000000000eaffffff480000001000050600000000
  0000000000000000000000000000000000000000080004003200000008000500
  03000000080003006d763000100012000b0001006d6163766c616e0021000100
  6d7475206c657373207468616e20646576696365206d696e696d756d00000000
`);
// `ip -d link show dev mvs0` for a link made with
//   ip link add link v0 name mvs0 address 02:00:00:00:00:05 type macvlan mode source nodst \
//     macaddr set 02:00:00:00:00:0a 02:00:00:00:00:0b
// (ip requested it without RTEXT_FILTER_SKIP_STATS: stats, AF_SPEC and other
// attributes we do not read are all there.) `ip -d -j link show` said:
//   ifindex 4, link v0 (3), mtu 1500, operstate DOWN, txqlen 1000, address 02:00:00:00:00:05,
//   min_mtu 68, max_mtu 65535, info_kind macvlan, mode source, nodst, bcqueuelen 1000,
//   usedbcqueuelen 1000, macaddr_count 2, macaddr_data [02:00:00:00:00:0b, 02:00:00:00:00:0a],
//   num_tx_queues 1, num_rx_queues 1
const KERNEL_NEWLINK_SOURCE = hex(`
  2006000010000000000000000000000000000100040000000210000000000000
  090003006d7673300000000008000d00e8030000050010000200000005001100
  00000000050043000000000008000400dc050000080032004400000008003300
  ffff000008001b000000000008001e000000000008003d000000000008001f00
  0100000008002800ffff0000080029000000010008003a000000010008003f00
  00000100080040000000010008003b00f8ff070008003c00ffff000008004200
  0000000008002000010000000500210000000000080023000000000008002f00
  0000000008003000000000000600440000000000060045000000000005002700
  000000000a00010002000000000500000a000200ffffffffffff0000cc001700
  0000000000000000000000000000000000000000000000000000000000000000
  0000000000000000000000000000000000000000000000000000000000000000
  0000000000000000000000000000000000000000000000000000000000000000
  0000000000000000000000000000000000000000000000000000000000000000
  0000000000000000000000000000000000000000000000000000000000000000
  0000000000000000000000000000000000000000000000000000000000000000
  0000000000000000640007000000000000000000000000000000000000000000
  0000000000000000000000000000000000000000000000000000000000000000
  0000000000000000000000000000000000000000000000000000000000000000
  0000000000000000000000000c002b000500020000000000580012000c000100
  6d6163766c616e00480002000800010010000000060002000200000008000600
  020000001c0005000a00040002000000000b00000a00040002000000000a0000
  08000700e803000008000800e80300000800050003000000090006006e6f6f70
  0000000030031a008c0002008800010000000000000000000000000001000000
  0100000001000000010000000000000001000000000000000000000000000000
  0000000000000000000000000000000000000000000000000000000000000000
  00000000000000000000000000000000000000000000000010270000e8030000
  0000000000000000000000000000000001000000a0020a000800010000000000
  14000500ffff0000e04a0100bc910000e8030000f40002000000000040000000
  dc05000001000000010000000100000001000000ffffffffa00f0000e8030000
  00000000803a0900805101000300000058020000100000000000000001000000
  010000000100000060ea00000000000000000000000000000000000000000000
  0000000001000000000000000000000010270000e80300000100000000000000
  0000000001000000000000000000000001000000000000000000000000000000
  0000000080ee3600000000000000000001000000000000000000000000000000
  00000000000000000004000000000000ffff0000ffffffff0100000000000000
  0000000000000000340103002600000000000000000000000000000000000000
  0000000000000000000000000000000000000000000000000000000000000000
  0000000000000000000000000000000000000000000000000000000000000000
  0000000000000000000000000000000000000000000000000000000000000000
  0000000000000000000000000000000000000000000000000000000000000000
  0000000000000000000000000000000000000000000000000000000000000000
  0000000000000000000000000000000000000000000000000000000000000000
  0000000000000000000000000000000000000000000000000000000000000000
  0000000000000000000000000000000000000000000000000000000000000000
  000000000000000000000000000000000000000000000000000000003c000600
  0700000000000000000000000000000000000000000000000000000000000000
  0000000000000000000000000000000000000000000000001400070000000000
  000000000000000000000000050008000000000024000e000000000000000000
  00000000000000000000000000000000000000000000000004003e8004004180
`);
// An RTM_NEWLINK whose IFLA_MTU carries a u16, sent from a socket with
// NETLINK_EXT_ACK and NETLINK_CAP_ACK (seq 7 kept, pid zeroed): ERANGE,
// NLM_F_CAPPED|NLM_F_ACK_TLVS, the message text, NLMSGERR_ATTR_OFFS = 32
// (the IFLA_MTU header, right after ifinfomsg) and a nested
// NLMSGERR_ATTR_POLICY that we do not read.
const KERNEL_ERANGE_POLICY = hex(`
  78000000020000030700000000000000deffffff280000001000050607000000
  0000000027000100417474726962757465206661696c656420706f6c69637920
  76616c69646174696f6e00000800020020000000240004800c00040000000000
  000000000c000500ffffffff000000000800010004000000
`);

// ---------------------------------------------------------------------------
// Helpers: build netlink messages by hand, and walk them independently of
// the addon.
// ---------------------------------------------------------------------------

function u8(v: number): Buffer {
  return Buffer.from([v]);
}
function u16(v: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(v);
  return b;
}
function u32(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v);
  return b;
}
function s32(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32LE(v);
  return b;
}
/** A C string, NUL included. */
function cstr(s: string): Buffer {
  return Buffer.concat([Buffer.from(s), Buffer.alloc(1)]);
}
function macBytes(mac: string): Buffer {
  return Buffer.from(mac.replace(/:/gu, ''), 'hex');
}

/** One attribute, padded to 4 bytes; `len` overrides nla_len (for lies). */
function nla(type: number, payload: Buffer | Buffer[] = Buffer.alloc(0), len?: number): Buffer {
  const p = Array.isArray(payload) ? Buffer.concat(payload) : payload;
  const h = Buffer.alloc(4);
  h.writeUInt16LE(len ?? 4 + p.length, 0);
  h.writeUInt16LE(type, 2);
  return Buffer.concat([h, p, Buffer.alloc(align4(4 + p.length) - (4 + p.length))]);
}

/** One message: nlmsghdr + body, nlmsg_len = 16 + body (unpadded unless the body is). */
function nlmsg(type: number, flags: number, body: Buffer | Buffer[], opts: { seq?: number; pid?: number; len?: number } = {}): Buffer {
  const b = Array.isArray(body) ? Buffer.concat(body) : body;
  const h = Buffer.alloc(16);
  h.writeUInt32LE(opts.len ?? 16 + b.length, 0);
  h.writeUInt16LE(type, 4);
  h.writeUInt16LE(flags, 6);
  h.writeUInt32LE(opts.seq ?? 0, 8);
  h.writeUInt32LE(opts.pid ?? 0, 12);
  return Buffer.concat([h, b, Buffer.alloc(align4(16 + b.length) - (16 + b.length))]);
}

/** struct ifinfomsg. */
function ifinfomsg(index: number, flags = 0, type = 1 /* ARPHRD_ETHER */): Buffer {
  const b = Buffer.alloc(16);
  b.writeUInt8(0, 0); // AF_UNSPEC
  b.writeUInt16LE(type, 2);
  b.writeInt32LE(index, 4);
  b.writeUInt32LE(flags >>> 0, 8);
  return b;
}

/** An RTM_NEWLINK reply. */
function newlink(index: number, flags: number, attrs: Buffer[], opts: { seq?: number; pid?: number } = {}): Buffer {
  return nlmsg(RTM_NEWLINK, 0, [ifinfomsg(index, flags), ...attrs], opts);
}

/** struct nlmsgerr (error + the echoed request) followed by TLVs. */
function nlmsgerr(error: number, echoed: Buffer, tlvs: Buffer[] = []): Buffer {
  return Buffer.concat([s32(error), echoed, Buffer.alloc(align4(echoed.length) - echoed.length), ...tlvs]);
}

function decode(buf: Buffer): { messages: DecodedMessage[]; truncated: boolean } {
  return decodeMessages(buf);
}

/** The one link in a buffer. */
function onlyLink(buf: Buffer): NativeLink {
  const out = decode(buf);
  expect(out.truncated).toBe(false);
  expect(out.messages).toHaveLength(1);
  const link = out.messages[0]!.link;
  expect(link).toBeDefined();
  return link!;
}

const ATTR_NAMES: Record<string, Record<number, string>> = {
  ifla: Object.fromEntries(Object.entries(IFLA).map(([k, v]) => [v, `IFLA_${k}`])),
  info: Object.fromEntries(Object.entries(IFLA_INFO).map(([k, v]) => [v, `IFLA_INFO_${k}`])),
  macvlan: Object.fromEntries(Object.entries(IFLA_MACVLAN).map(([k, v]) => [v, `IFLA_MACVLAN_${k}`])),
  macaddrs: { [IFLA_MACVLAN.MACADDR]: 'IFLA_MACVLAN_MACADDR' },
};
const NESTS: Record<string, string> = {
  IFLA_LINKINFO: 'info',
  IFLA_INFO_DATA: 'macvlan',
  IFLA_MACVLAN_MACADDR_DATA: 'macaddrs',
};

interface Located {
  offset: number;
  length: number;
  name: string;
}

/** Every attribute of an encoded link request, outer before inner, the way a parser sees them. */
function walkRequest(msg: Buffer): Located[] {
  const out: Located[] = [];
  const walk = (start: number, end: number, table: string): void => {
    let o = start;
    while (o < end) {
      expect(end - o).toBeGreaterThanOrEqual(4);
      const len = msg.readUInt16LE(o);
      const type = msg.readUInt16LE(o + 2) & ~NLA_F_NESTED;
      expect(len).toBeGreaterThanOrEqual(4);
      expect(o + len).toBeLessThanOrEqual(end);
      const name = ATTR_NAMES[table]![type] ?? `unknown ${table} ${type}`;
      out.push({ offset: o, length: len, name });
      const inner = NESTS[name];
      if (inner) walk(o + 4, o + len, inner);
      o += align4(len);
    }
  };
  walk(32, msg.readUInt32LE(0), 'ifla');
  return out;
}

/** The aligned TLVs directly inside [start, end), as hex. */
function tlvsHex(msg: Buffer, start: number, end: number): string[] {
  const out: string[] = [];
  for (let o = start; o < end; o += align4(msg.readUInt16LE(o))) {
    out.push(msg.subarray(o, o + align4(msg.readUInt16LE(o))).toString('hex'));
  }
  return out;
}

// ---------------------------------------------------------------------------
// Encoding
// ---------------------------------------------------------------------------

interface Golden {
  name: string;
  ip: Buffer;
  op: LinkOp;
  req: NativeLinkRequest;
  /** Header flag bits we set and ip does not (checked to be absent from ip's). */
  extraFlags: number;
}

const GOLDEN: Golden[] = [
  // Our creates add NLM_F_ECHO (0x8) to ip's REQUEST|ACK|EXCL|CREATE, to get
  // the new link (name, ifindex) back: the only difference from ip's bytes.
  {
    name: 'create macvtap, mode bridge',
    ip: IP_MACVTAP_BRIDGE,
    op: LinkOp.create,
    req: { link: 3, name: 'mvt0', kind: 'macvtap', macvlan: { mode: c.MACVLAN_MODE_BRIDGE } },
    extraFlags: NLM_F_ECHO,
  },
  {
    name: 'create macvlan with address, mtu, txqueuelen, numtxqueues, numrxqueues, mode private',
    ip: IP_MACVLAN_FULL,
    op: LinkOp.create,
    req: {
      address: '02:00:00:00:00:01',
      mtu: 1400,
      txqlen: 500,
      numTxQueues: 2,
      numRxQueues: 3,
      link: 3,
      name: 'mvl0',
      kind: 'macvlan',
      macvlan: { mode: c.MACVLAN_MODE_PRIVATE },
    },
    extraFlags: NLM_F_ECHO,
  },
  {
    name: 'create mode source with macaddr add',
    ip: IP_SOURCE_ADD_CREATE,
    op: LinkOp.create,
    req: {
      link: 3,
      name: 'mvs0',
      kind: 'macvlan',
      macvlan: { mode: c.MACVLAN_MODE_SOURCE, macaddrMode: c.MACVLAN_MACADDR_ADD, macaddr: '02:00:00:00:00:0a' },
    },
    extraFlags: NLM_F_ECHO,
  },
  {
    // What createMacvlan({ mode: 'source', sourceMacs }) sends.
    name: 'create mode source with macaddr set (MACADDR_DATA list)',
    ip: IP_SOURCE_SET_CREATE,
    op: LinkOp.create,
    req: {
      link: 3,
      name: 'mvs1',
      kind: 'macvlan',
      macvlan: {
        mode: c.MACVLAN_MODE_SOURCE,
        macaddrMode: c.MACVLAN_MACADDR_SET,
        macaddrData: ['02:00:00:00:00:0a', '02:00:00:00:00:0b'],
      },
    },
    extraFlags: NLM_F_ECHO,
  },
  {
    name: 'create mode passthru nopromisc (IFLA_MACVLAN_FLAGS u16)',
    ip: IP_PASSTHRU_NOPROMISC,
    op: LinkOp.create,
    req: { link: 2, name: 'mvp0', kind: 'macvlan', macvlan: { mode: c.MACVLAN_MODE_PASSTHRU, flags: c.MACVLAN_FLAG_NOPROMISC } },
    extraFlags: NLM_F_ECHO,
  },
  {
    name: 'create mode source nodst',
    ip: IP_SOURCE_NODST,
    op: LinkOp.create,
    req: { link: 3, name: 'mvn0', kind: 'macvlan', macvlan: { mode: c.MACVLAN_MODE_SOURCE, flags: c.MACVLAN_FLAG_NODST } },
    extraFlags: NLM_F_ECHO,
  },
  {
    name: 'change: macaddr add',
    ip: IP_CHANGE_MACADDR_ADD,
    op: LinkOp.change,
    req: { index: 6, kind: 'macvlan', macvlan: { macaddrMode: c.MACVLAN_MACADDR_ADD, macaddr: '02:00:00:00:00:0b' } },
    extraFlags: 0,
  },
  {
    name: 'change: macaddr del',
    ip: IP_CHANGE_MACADDR_DEL,
    op: LinkOp.change,
    req: { index: 6, kind: 'macvlan', macvlan: { macaddrMode: c.MACVLAN_MACADDR_DEL, macaddr: '02:00:00:00:00:0a' } },
    extraFlags: 0,
  },
  {
    name: 'change: macaddr set',
    ip: IP_CHANGE_MACADDR_SET,
    op: LinkOp.change,
    req: {
      index: 6,
      kind: 'macvlan',
      macvlan: { macaddrMode: c.MACVLAN_MACADDR_SET, macaddrData: ['02:00:00:00:00:0c', '02:00:00:00:00:0d'] },
    },
    extraFlags: 0,
  },
  {
    name: 'change: macaddr flush',
    ip: IP_CHANGE_MACADDR_FLUSH,
    op: LinkOp.change,
    req: { index: 6, kind: 'macvlan', macvlan: { macaddrMode: c.MACVLAN_MACADDR_FLUSH } },
    extraFlags: 0,
  },
  {
    name: 'change: mode vepa',
    ip: IP_CHANGE_MODE_VEPA,
    op: LinkOp.change,
    req: { index: 5, kind: 'macvlan', macvlan: { mode: c.MACVLAN_MODE_VEPA } },
    extraFlags: 0,
  },
  {
    name: 'change: up',
    ip: IP_SET_UP,
    op: LinkOp.change,
    req: { index: 5, flags: c.IFF_UP, change: c.IFF_UP },
    extraFlags: 0,
  },
  {
    name: 'change: mtu',
    ip: IP_SET_MTU,
    op: LinkOp.change,
    req: { index: 5, mtu: 1300 },
    extraFlags: 0,
  },
  {
    name: 'delete by ifindex',
    ip: IP_DELETE,
    op: LinkOp.delete,
    req: { index: 4 },
    extraFlags: 0,
  },
  {
    // ip's name lookup asks for no ACK; every request of ours has NLM_F_ACK.
    name: "get by name (with ip's RTEXT_FILTER_VF|RTEXT_FILTER_SKIP_STATS)",
    ip: IP_GETLINK_BY_NAME,
    op: LinkOp.get,
    req: { name: 'v0', extMask: 1 | c.RTEXT_FILTER_SKIP_STATS },
    extraFlags: NLM_F_ACK,
  },
];

describe('encodeLink: golden bytes from iproute2', () => {
  it("our create flags are exactly ip's plus NLM_F_ECHO", () => {
    expect(c.NLM_F_ECHO).toBe(NLM_F_ECHO);
    expect(flagsOf(IP_MACVTAP_BRIDGE)).toBe(NLM_F_REQUEST | NLM_F_ACK | NLM_F_EXCL | NLM_F_CREATE);
    const ours = encodeLink(LinkOp.create, GOLDEN[0]!.req).bytes;
    expect(flagsOf(ours)).toBe(NLM_F_REQUEST | NLM_F_ACK | NLM_F_EXCL | NLM_F_CREATE | NLM_F_ECHO);
  });

  it.each(GOLDEN)('$name', ({ ip, op, req, extraFlags }) => {
    const ours = encodeLink(op, req).bytes;
    expect(flagsOf(ip) & extraFlags).toBe(0);
    expect(flagsOf(ours)).toBe(flagsOf(ip) | extraFlags);
    const expected = Buffer.from(ip);
    expected.writeUInt16LE(flagsOf(ip) | extraFlags, 6);
    expect(ours.toString('hex')).toBe(expected.toString('hex'));
  });

  it("dump filtered by kind: ip's bytes but for ifi_family and the ext mask value we pass", () => {
    // ip dumps with ifi_family AF_PACKET (17); we always send AF_UNSPEC,
    // which rtnetlink treats the same for RTM_GETLINK. Everything else is
    // byte for byte, including the IFLA_LINKINFO/IFLA_INFO_KIND filter.
    const ours = encodeLink(LinkOp.dump, { extMask: 1, kind: 'macvtap' }).bytes;
    const expected = Buffer.from(IP_DUMP_KIND_MACVTAP);
    expect(expected[16]).toBe(17);
    expected[16] = 0;
    expect(ours.toString('hex')).toBe(expected.toString('hex'));
    expect(flagsOf(ours)).toBe(NLM_F_REQUEST | NLM_F_DUMP);
  });

  it('bcqueuelen: the same attributes as ip, ip puts IFLA_MACVLAN_BC_QUEUE_LEN before IFLA_MACVLAN_MODE', () => {
    // iproute2 appends BC_QUEUE_LEN while it parses and MODE after the loop;
    // our table emits MODE first. The kernel does not care about the order,
    // so compare everything else byte for byte and IFLA_INFO_DATA's members
    // as a set.
    const ours = encodeLink(LinkOp.create, {
      link: 3,
      name: 'mvb0',
      kind: 'macvlan',
      macvlan: { mode: c.MACVLAN_MODE_BRIDGE, bcQueueLen: 100 },
    }).bytes;
    const expected = Buffer.from(IP_BCQUEUELEN);
    expected.writeUInt16LE(flagsOf(expected) | NLM_F_ECHO, 6);
    expect(ours.length).toBe(expected.length);
    const data = walkRequest(expected).find((a) => a.name === 'IFLA_INFO_DATA')!;
    const ourData = walkRequest(ours).find((a) => a.name === 'IFLA_INFO_DATA')!;
    expect(ourData).toEqual(data);
    const start = data.offset + 4;
    const end = data.offset + data.length;
    expect(ours.subarray(0, start).toString('hex')).toBe(expected.subarray(0, start).toString('hex'));
    expect(tlvsHex(ours, start, end).sort()).toEqual(tlvsHex(expected, start, end).sort());
    expect(tlvsHex(expected, start, end)).toHaveLength(2);
  });

  it('each op has its message type and flags', () => {
    const typeAndFlags = (op: LinkOp): [number, number] => {
      const b = encodeLink(op, { index: 1 }).bytes;
      return [b.readUInt16LE(4), flagsOf(b)];
    };
    expect(typeAndFlags(LinkOp.create)).toEqual([RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK | NLM_F_EXCL | NLM_F_CREATE | NLM_F_ECHO]);
    expect(typeAndFlags(LinkOp.change)).toEqual([RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK]);
    expect(typeAndFlags(LinkOp.delete)).toEqual([RTM_DELLINK, NLM_F_REQUEST | NLM_F_ACK]);
    expect(typeAndFlags(LinkOp.get)).toEqual([RTM_GETLINK, NLM_F_REQUEST | NLM_F_ACK]);
    // A dump ends in NLMSG_DONE; NLM_F_ACK would add a second terminator.
    expect(typeAndFlags(LinkOp.dump)).toEqual([RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP]);
  });
});

/** Every request field at once (not a request the kernel would take; a codec workout). */
const EVERYTHING: NativeLinkRequest = {
  index: 7,
  flags: 1,
  change: 1,
  name: 'mv%d',
  address: '02:00:00:00:00:01',
  mtu: 1400,
  link: 3,
  txqlen: 500,
  group: 9,
  numTxQueues: 4,
  numRxQueues: 5,
  master: 11,
  netnsPid: 4242,
  netnsFd: 17,
  extMask: 8,
  kind: 'macvtap',
  macvlan: {
    mode: 16,
    flags: 2,
    macaddrMode: 3,
    macaddr: '02:00:00:00:00:02',
    macaddrData: ['02:00:00:00:00:03', '02:00:00:00:00:04'],
    bcQueueLen: 1000,
    bcCutoff: -5,
  },
};

describe('link request rows (packLinkRequest -> LinkAttrsFromColumns)', () => {
  it('every field a request can carry reaches the message: each once, in the attribute map', () => {
    const { attrs } = encodeLink(LinkOp.create, {
      name: 'vm0',
      kind: 'macvtap',
      address: '02:00:00:00:00:01',
      mtu: 1400,
      link: 2,
      txqlen: 10,
      group: 7,
      numTxQueues: 2,
      numRxQueues: 2,
      macvlan: {
        mode: c.MACVLAN_MODE_SOURCE,
        flags: c.MACVLAN_FLAG_NODST,
        macaddrMode: c.MACVLAN_MACADDR_SET,
        macaddrData: ['02:00:00:00:00:02', '02:00:00:00:00:03'],
      },
    });
    const names = attrs.map((a) => a.name);
    for (const name of [
      'IFLA_IFNAME',
      'IFLA_ADDRESS',
      'IFLA_MTU',
      'IFLA_LINK',
      'IFLA_TXQLEN',
      'IFLA_GROUP',
      'IFLA_NUM_TX_QUEUES',
      'IFLA_NUM_RX_QUEUES',
      'IFLA_MACVLAN_MODE',
      'IFLA_MACVLAN_FLAGS',
      'IFLA_MACVLAN_MACADDR_MODE',
      'IFLA_MACVLAN_MACADDR_DATA',
    ]) {
      expect(
        names.filter((n) => n === name),
        name,
      ).toHaveLength(1);
    }
  });

  it('a row whose strings are longer than the 512 bytes read on the stack (64 source MACs) reaches the message whole', () => {
    const macs = Array.from({ length: 64 }, (_, i) => `02:00:00:00:01:${i.toString(16).padStart(2, '0')}`);
    const req: NativeLinkRequest = {
      name: 'vm0',
      kind: 'macvlan',
      macvlan: { mode: c.MACVLAN_MODE_SOURCE, macaddrMode: c.MACVLAN_MACADDR_SET, macaddrData: macs },
    };
    expect(packLinkRequest(req)[1].length).toBeGreaterThan(1000);
    const { bytes, attrs } = encodeLink(LinkOp.create, req);
    const data = attrs.find((a) => a.name === 'IFLA_MACVLAN_MACADDR_DATA')!;
    // 64 nested IFLA_MACVLAN_MACADDR attributes of 4 + 6 bytes, padded to 12.
    expect(data.length).toBe(4 + 64 * 12);
    const found = Array.from({ length: 64 }, (_, i) => [...bytes.subarray(data.offset + 8 + i * 12, data.offset + 14 + i * 12)]);
    expect(found.map((m) => m.map((b) => b.toString(16).padStart(2, '0')).join(':'))).toEqual(macs);
    expect(bytes.includes(Buffer.from('vm0\0'))).toBe(true);
  });

  it('linkName is no attribute: the I/O thread turns it into IFLA_LINK before sending', () => {
    const req: NativeLinkRequest = { name: 'vm0', kind: 'macvtap', macvlan: { mode: c.MACVLAN_MODE_BRIDGE } };
    const plain = encodeLink(LinkOp.create, req);
    const named = encodeLink(LinkOp.create, { ...req, linkName: 'eth0' });
    expect(named.bytes.equals(plain.bytes)).toBe(true);
    expect(named.attrs.map((a) => a.name)).not.toContain('IFLA_LINK');
  });

  it('a field with no column, or a row of the wrong shape, is a TypeError (a bug, not user input)', () => {
    expect(() => packLinkRequest({ nosuch: 1 } as unknown as NativeLinkRequest)).toThrow(TypeError);
    expect(() => native.encodeLink(LinkOp.create, new Float64Array(3), '')).toThrow(TypeError);
    const [row, text] = packLinkRequest({ name: 'a' });
    const two = new Float64Array(row.length * 2);
    two.set(row);
    two.set(row, row.length);
    expect(() => native.encodeLink(LinkOp.create, two, `${text}\0${text}`)).toThrow(/wrong shape/);
    expect(() => native.encodeLink(LinkOp.create, row, `${text}\0${text}`)).toThrow(/wrong shape/);
    expect(() => encodeLink(LinkOp.create, { address: 'not a mac' })).toThrow(/malformed MAC/);
  });
});

describe('encodeLink: the attribute offset map', () => {
  const requests: [string, LinkOp, NativeLinkRequest][] = [
    ...GOLDEN.map((g): [string, LinkOp, NativeLinkRequest] => [g.name, g.op, g.req]),
    ['every field', LinkOp.create, EVERYTHING],
    ['bcqueuelen', LinkOp.create, { link: 3, name: 'mvb0', kind: 'macvlan', macvlan: { mode: 4, bcQueueLen: 100 } }],
    ['dump by kind', LinkOp.dump, { extMask: 8, kind: 'macvtap' }],
  ];

  it.each(requests)('%s: one entry per attribute, at its header, with its nla_len and uapi name', (_name, op, req) => {
    const { bytes, attrs } = encodeLink(op, req);
    expect(bytes.readUInt32LE(0)).toBe(bytes.length);
    expect(bytes.length % 4).toBe(0);
    expect(bytes.readUInt32LE(8)).toBe(0); // nlmsg_seq: stamped by the socket
    expect(bytes.readUInt32LE(12)).toBe(0); // nlmsg_pid
    expect(attrs).toEqual(walkRequest(bytes));
  });

  it('requests without attributes have an empty map', () => {
    expect(encodeLink(LinkOp.delete, { index: 4 }).attrs).toEqual([]);
    expect(encodeLink(LinkOp.change, { index: 5, flags: 1, change: 1 }).attrs).toEqual([]);
  });

  it('each entry points at the value that was asked for', () => {
    const { bytes, attrs } = encodeLink(LinkOp.create, EVERYTHING);
    const payload = (a: Located): Buffer => bytes.subarray(a.offset + 4, a.offset + a.length);
    const one = (name: string): Buffer => {
      const found = attrs.filter((a) => a.name === name);
      expect(found, name).toHaveLength(1);
      return payload(found[0]!);
    };
    // struct ifinfomsg
    expect(bytes.readUInt8(16)).toBe(0); // AF_UNSPEC
    expect(bytes.readInt32LE(20)).toBe(7);
    expect(bytes.readUInt32LE(24)).toBe(1);
    expect(bytes.readUInt32LE(28)).toBe(1);

    expect(one('IFLA_ADDRESS').toString('hex')).toBe('020000000001');
    expect(one('IFLA_MTU').readUInt32LE()).toBe(1400);
    expect(one('IFLA_LINK').readUInt32LE()).toBe(3);
    expect(one('IFLA_TXQLEN').readUInt32LE()).toBe(500);
    expect(one('IFLA_GROUP').readUInt32LE()).toBe(9);
    expect(one('IFLA_NUM_TX_QUEUES').readUInt32LE()).toBe(4);
    expect(one('IFLA_NUM_RX_QUEUES').readUInt32LE()).toBe(5);
    expect(one('IFLA_MASTER').readUInt32LE()).toBe(11);
    expect(one('IFLA_NET_NS_PID').readUInt32LE()).toBe(4242);
    expect(one('IFLA_NET_NS_FD').readUInt32LE()).toBe(17);
    expect(one('IFLA_EXT_MASK').readUInt32LE()).toBe(8);
    for (const a of [one('IFLA_MTU'), one('IFLA_LINK'), one('IFLA_GROUP')]) expect(a.length).toBe(4);
    // IFLA_IFNAME carries its NUL; IFLA_INFO_KIND does not (as ip sends them).
    expect(one('IFLA_IFNAME').toString('latin1')).toBe('mv%d\0');
    expect(one('IFLA_INFO_KIND').toString('latin1')).toBe('macvtap');
    expect(one('IFLA_MACVLAN_MODE').readUInt32LE()).toBe(16);
    const flags = one('IFLA_MACVLAN_FLAGS');
    expect(flags.length).toBe(2); // u16
    expect(flags.readUInt16LE()).toBe(2);
    expect(one('IFLA_MACVLAN_MACADDR_MODE').readUInt32LE()).toBe(3);
    expect(one('IFLA_MACVLAN_BC_QUEUE_LEN').readUInt32LE()).toBe(1000);
    const cutoff = one('IFLA_MACVLAN_BC_CUTOFF');
    expect(cutoff.length).toBe(4);
    expect(cutoff.readInt32LE()).toBe(-5); // s32

    const macs = attrs.filter((a) => a.name === 'IFLA_MACVLAN_MACADDR').map((a) => payload(a).toString('hex'));
    expect(macs).toEqual(['020000000002', '020000000003', '020000000004']);
    // The nests enclose exactly their members.
    const list = attrs.find((a) => a.name === 'IFLA_MACVLAN_MACADDR_DATA')!;
    const inList = attrs.filter((a) => a.offset > list.offset && a.offset < list.offset + list.length);
    expect(inList.map((a) => a.name)).toEqual(['IFLA_MACVLAN_MACADDR', 'IFLA_MACVLAN_MACADDR']);
    const linkinfo = attrs.find((a) => a.name === 'IFLA_LINKINFO')!;
    expect(linkinfo.offset + linkinfo.length).toBe(bytes.length);
  });

  it('maps a kernel NLMSGERR_ATTR_OFFS back to the attribute it names', () => {
    // The captured ERANGE reply points at offset 32 of a request that starts
    // with IFLA_MTU; ours with the same first attribute has IFLA_MTU there.
    const ack = decode(KERNEL_ERANGE_POLICY).messages[0]!.ack!;
    const { attrs } = encodeLink(LinkOp.create, { mtu: 1400, link: 3, name: 'mv0', kind: 'macvlan' });
    expect(attrs.find((a) => a.offset === ack.offset)?.name).toBe('IFLA_MTU');
  });

  it('round-trips: decoding an encoded request gives back its fields', () => {
    const { bytes } = encodeLink(LinkOp.create, EVERYTHING);
    expect(onlyLink(bytes)).toEqual({
      index: 7,
      flags: 1,
      type: 0,
      name: 'mv%d',
      address: '02:00:00:00:00:01',
      mtu: 1400,
      link: 3,
      txqlen: 500,
      group: 9,
      numTxQueues: 4,
      numRxQueues: 5,
      master: 11,
      netnsPid: 4242,
      netnsFd: 17,
      extMask: 8,
      kind: 'macvtap',
      // IFLA_MACVLAN_MACADDR alone is request-only and not decoded.
      macvlan: {
        mode: 16,
        flags: 2,
        macaddrMode: 3,
        macaddrData: ['02:00:00:00:00:03', '02:00:00:00:00:04'],
        bcQueueLen: 1000,
        bcCutoff: -5,
      },
    });
  });

  it('round-trips the extremes of u32 and s32 fields', () => {
    const { bytes } = encodeLink(LinkOp.change, {
      index: 0x7fffffff,
      mtu: 0xffffffff,
      txqlen: 0,
      kind: 'macvlan',
      macvlan: { bcQueueLen: 0xffffffff, bcCutoff: -0x80000000 },
    });
    const link = onlyLink(bytes);
    expect(link.index).toBe(0x7fffffff);
    expect(link.mtu).toBe(0xffffffff);
    expect(link.txqlen).toBe(0);
    expect(link.macvlan).toEqual({ bcQueueLen: 0xffffffff, bcCutoff: -0x80000000 });
  });
});

// ---------------------------------------------------------------------------
// Decoding
// ---------------------------------------------------------------------------

describe('decodeMessages: kernel captures', () => {
  it('an RTM_NEWLINK of a source-mode macvlan, with attributes we skip', () => {
    const out = decode(KERNEL_NEWLINK_SOURCE);
    expect(out.truncated).toBe(false);
    expect(out.messages).toHaveLength(1);
    const m = out.messages[0]!;
    expect({ type: m.type, flags: m.flags, seq: m.seq, pid: m.pid, ack: m.ack }).toEqual({
      type: RTM_NEWLINK,
      flags: 0,
      seq: 0,
      pid: 0,
      ack: undefined,
    });
    expect(m.link).toEqual({
      index: 4,
      flags: 0x1002, // IFF_BROADCAST | IFF_MULTICAST
      type: 1,
      name: 'mvs0',
      address: '02:00:00:00:00:05',
      mtu: 1500,
      link: 3,
      txqlen: 1000,
      operstate: c.IF_OPER_DOWN,
      group: 0,
      numTxQueues: 1,
      numRxQueues: 1,
      minMtu: 68,
      maxMtu: 65535,
      kind: 'macvlan',
      macvlan: {
        mode: c.MACVLAN_MODE_SOURCE,
        flags: c.MACVLAN_FLAG_NODST,
        macaddrCount: 2,
        macaddrData: ['02:00:00:00:00:0b', '02:00:00:00:00:0a'],
        bcQueueLen: 1000,
        bcQueueLenUsed: 1000,
      },
    });
  });

  it('toLink of that reply agrees with `ip -d -j link show`', () => {
    const link = toLink(decode(KERNEL_NEWLINK_SOURCE).messages[0]!.link!);
    expect(link).toEqual({
      index: 4,
      name: 'mvs0',
      kind: 'macvlan',
      mac: '02:00:00:00:00:05',
      mtu: 1500,
      up: false,
      operState: 'down',
      lower: 3,
      txQueueLen: 1000,
      numTxQueues: 1,
      numRxQueues: 1,
      minMtu: 68,
      maxMtu: 65535,
      group: 0,
      macvlan: {
        mode: 'source',
        nopromisc: false,
        nodst: true,
        bcQueueLen: 1000,
        bcQueueLenUsed: 1000,
        sourceMacs: ['02:00:00:00:00:0b', '02:00:00:00:00:0a'],
      },
    });
  });

  it('an EINVAL with extended-ACK text after a full (uncapped) echo of the request', () => {
    const out = decode(KERNEL_EINVAL_MTU_EXTACK);
    expect(out.truncated).toBe(false);
    expect(out.messages).toHaveLength(1);
    const m = out.messages[0]!;
    expect(m.type).toBe(NLMSG_ERROR);
    expect(m.flags).toBe(NLM_F_ACK_TLVS);
    expect(m.link).toBeUndefined();
    expect(m.ack).toEqual({ error: -22, message: 'mtu less than device minimum' });
  });

  it('an ERANGE with NLM_F_CAPPED, text, NLMSGERR_ATTR_OFFS and an unread policy nest', () => {
    const out = decode(KERNEL_ERANGE_POLICY);
    expect(out.truncated).toBe(false);
    const m = out.messages[0]!;
    expect(m).toMatchObject({ type: NLMSG_ERROR, flags: NLM_F_CAPPED | NLM_F_ACK_TLVS, seq: 7, pid: 0 });
    expect(m.ack).toEqual({ error: -34, message: 'Attribute failed policy validation', offset: 32 });
  });

  it('several captures back to back in one buffer', () => {
    const out = decode(Buffer.concat([KERNEL_ERANGE_POLICY, KERNEL_NEWLINK_SOURCE, KERNEL_EINVAL_MTU_EXTACK]));
    expect(out.truncated).toBe(false);
    expect(out.messages.map((m) => m.type)).toEqual([NLMSG_ERROR, RTM_NEWLINK, NLMSG_ERROR]);
    expect(out.messages[1]!.link!.name).toBe('mvs0');
    expect(out.messages[2]!.ack!.message).toBe('mtu less than device minimum');
  });
});

describe('decodeMessages: hand-built RTM_NEWLINK', () => {
  const MAC_A = '02:00:00:00:00:0a';
  const MAC_B = '02:00:00:00:00:0b';

  it('decodes macvlan info data and skips unknown attributes at every level', () => {
    const reply = newlink(12, 0x11043 /* UP|BROADCAST|RUNNING|MULTICAST|LOWER_UP */, [
      nla(IFLA.IFNAME, cstr('mvl0')),
      nla(0x3ff, Buffer.alloc(13, 0xee)), // unknown top-level type
      nla(IFLA.STATS64, Buffer.alloc(40, 0xff)), // known to the kernel, unread here
      nla(IFLA.MTU, u32(1400)),
      nla(IFLA.ADDRESS, macBytes('02:00:00:00:00:01')),
      nla(IFLA.AF_SPEC | NLA_F_NESTED, [nla(2, [nla(1, u32(1))]), nla(10, Buffer.alloc(7))]),
      nla(IFLA.OPERSTATE, u8(c.IF_OPER_UP)),
      nla(IFLA.LINKMODE, u8(0)),
      nla(IFLA.TXQLEN, u32(500)),
      nla(IFLA.LINK, u32(3)),
      nla(IFLA.LINK_NETNSID, s32(1)),
      nla(IFLA.NUM_TX_QUEUES, u32(4)),
      nla(IFLA.NUM_RX_QUEUES, u32(2)),
      nla(IFLA.MIN_MTU, u32(68)),
      nla(IFLA.MAX_MTU, u32(9000)),
      nla(IFLA.GROUP, u32(0x10001)),
      nla(IFLA.MASTER, u32(9)),
      nla(IFLA.LINKINFO | NLA_F_NESTED, [
        nla(IFLA_INFO.KIND, cstr('macvlan')),
        nla(7 /* unknown IFLA_INFO_* */, u32(0xdeadbeef)),
        nla(IFLA_INFO.DATA | NLA_F_NESTED, [
          nla(IFLA_MACVLAN.MODE, u32(c.MACVLAN_MODE_SOURCE)),
          nla(IFLA_MACVLAN.FLAGS, u16(c.MACVLAN_FLAG_NOPROMISC | c.MACVLAN_FLAG_NODST)),
          nla(IFLA_MACVLAN.MACADDR_COUNT, u32(2)),
          nla(IFLA_MACVLAN.MACADDR_DATA | NLA_F_NESTED, [
            nla(IFLA_MACVLAN.MACADDR, macBytes(MAC_A)),
            nla(3 /* not MACADDR: skipped */, macBytes('02:00:00:00:00:ff')),
            nla(IFLA_MACVLAN.MACADDR, Buffer.from([2, 0, 0, 0])), // not 6 bytes: skipped
            nla(IFLA_MACVLAN.MACADDR, macBytes(MAC_B)),
          ]),
          nla(IFLA_MACVLAN.BC_QUEUE_LEN, u32(1000)),
          nla(IFLA_MACVLAN.BC_QUEUE_LEN_USED, u32(2000)),
          nla(IFLA_MACVLAN.BC_CUTOFF, s32(-1)),
          nla(200 /* unknown IFLA_MACVLAN_* */, u32(7)),
        ]),
      ]),
      nla(0x7fff, Buffer.alloc(0)), // unknown, empty, last
    ]);
    expect(onlyLink(reply)).toEqual({
      index: 12,
      flags: 0x11043,
      type: 1,
      name: 'mvl0',
      address: '02:00:00:00:00:01',
      mtu: 1400,
      link: 3,
      txqlen: 500,
      operstate: c.IF_OPER_UP,
      group: 0x10001,
      numTxQueues: 4,
      numRxQueues: 2,
      linkNetnsid: 1,
      minMtu: 68,
      maxMtu: 9000,
      master: 9,
      kind: 'macvlan',
      macvlan: {
        mode: c.MACVLAN_MODE_SOURCE,
        flags: 3,
        macaddrCount: 2,
        macaddrData: [MAC_A, MAC_B],
        bcQueueLen: 1000,
        bcQueueLenUsed: 2000,
        bcCutoff: -1,
      },
    });
  });

  it('reads IFLA_INFO_DATA that comes before IFLA_INFO_KIND', () => {
    const link = onlyLink(
      newlink(5, 0, [
        nla(IFLA.LINKINFO, [
          nla(IFLA_INFO.DATA, [nla(IFLA_MACVLAN.MODE, u32(c.MACVLAN_MODE_PRIVATE))]),
          nla(IFLA_INFO.KIND, cstr('macvtap')),
        ]),
      ]),
    );
    expect(link.kind).toBe('macvtap');
    expect(link.macvlan).toEqual({ mode: c.MACVLAN_MODE_PRIVATE });
  });

  it("does not read another kind's IFLA_INFO_DATA as macvlan", () => {
    const link = onlyLink(
      newlink(5, 0, [nla(IFLA.LINKINFO, [nla(IFLA_INFO.KIND, cstr('veth')), nla(IFLA_INFO.DATA, [nla(IFLA_MACVLAN.MODE, u32(4))])])]),
    );
    expect(link.kind).toBe('veth');
    expect(link.macvlan).toBeUndefined();
  });

  it('macvlan with an empty IFLA_INFO_DATA, and with none', () => {
    expect(onlyLink(newlink(5, 0, [nla(IFLA.LINKINFO, [nla(IFLA_INFO.KIND, cstr('macvlan')), nla(IFLA_INFO.DATA)])])).macvlan).toEqual({});
    const bare = onlyLink(newlink(5, 0, [nla(IFLA.LINKINFO, [nla(IFLA_INFO.KIND, cstr('macvlan'))])]));
    expect(bare.kind).toBe('macvlan');
    expect(bare.macvlan).toBeUndefined();
  });

  it('skips values too short for their type instead of misreading them', () => {
    const link = onlyLink(
      newlink(5, 0, [
        nla(IFLA.MTU, u16(1400)), // u32 expected
        nla(IFLA.OPERSTATE, Buffer.alloc(0)), // u8 expected
        nla(IFLA.LINK_NETNSID, Buffer.from([1, 0, 0])), // s32 expected
        nla(IFLA.LINKINFO, [
          nla(IFLA_INFO.KIND, cstr('macvlan')),
          nla(IFLA_INFO.DATA, [nla(IFLA_MACVLAN.FLAGS, u8(1)), nla(IFLA_MACVLAN.MODE, u16(4)), nla(IFLA_MACVLAN.BC_CUTOFF, u16(1))]),
        ]),
      ]),
    );
    expect(link).toEqual({ index: 5, flags: 0, type: 1, kind: 'macvlan', macvlan: {} });
  });

  it('names without a NUL, and hardware addresses that are not 6 bytes', () => {
    const link = onlyLink(
      newlink(5, 0, [
        nla(IFLA.IFNAME, Buffer.from('abcdefghijklmno')), // 15 bytes, no NUL
        nla(IFLA.ADDRESS, Buffer.from([192, 0, 2, 1])), // e.g. an ipip tunnel
        nla(IFLA.LINKINFO, [nla(IFLA_INFO.KIND, Buffer.from('macvtap'))]), // no NUL either
      ]),
    );
    expect(link.name).toBe('abcdefghijklmno');
    expect(link.address).toBe('c0:00:02:01');
    expect(link.kind).toBe('macvtap');
    const stopsAtNul = onlyLink(newlink(5, 0, [nla(IFLA.IFNAME, Buffer.from('ab\0cd\0'))]));
    expect(stopsAtNul.name).toBe('ab');
  });

  it('keeps unknown mode numbers as numbers, and toLink shows them as numbers', () => {
    const n = onlyLink(
      newlink(5, 0, [
        nla(IFLA.IFNAME, cstr('mv0')),
        nla(IFLA.MTU, u32(1500)),
        nla(IFLA.OPERSTATE, u8(200)),
        nla(IFLA.LINKINFO, [nla(IFLA_INFO.KIND, cstr('macvlan')), nla(IFLA_INFO.DATA, [nla(IFLA_MACVLAN.MODE, u32(32))])]),
      ]),
    );
    expect(n.macvlan!.mode).toBe(32);
    const link = toLink(n);
    expect(link.macvlan!.mode).toBe(32);
    expect(link.operState).toBe('200');
    expect(link.macvlan!.sourceMacs).toBeUndefined();
  });

  it("toLink: flags and the kernel's default mode", () => {
    const n = onlyLink(
      newlink(6, c.IFF_UP, [
        nla(IFLA.IFNAME, cstr('mvp0')),
        nla(IFLA.MTU, u32(1500)),
        nla(IFLA.LINKINFO, [
          nla(IFLA_INFO.KIND, cstr('macvtap')),
          nla(IFLA_INFO.DATA, [nla(IFLA_MACVLAN.FLAGS, u16(c.MACVLAN_FLAG_NOPROMISC))]),
        ]),
      ]),
    );
    const link = toLink(n);
    expect(link.up).toBe(true);
    expect(link.operState).toBe('unknown'); // no IFLA_OPERSTATE
    // No IFLA_MACVLAN_MODE: the kernel's default, vepa.
    expect(link.macvlan).toEqual({ mode: 'vepa', nopromisc: true, nodst: false });
    // Not from sysfs here, so no tap device.
    expect(link.tap).toBeUndefined();
  });

  it('source mode without a MACADDR_DATA list has no source MACs', () => {
    const link = toLink(
      onlyLink(
        newlink(6, 0, [
          nla(IFLA.IFNAME, cstr('mvs0')),
          nla(IFLA.LINKINFO, [
            nla(IFLA_INFO.KIND, cstr('macvlan')),
            nla(IFLA_INFO.DATA, [nla(IFLA_MACVLAN.MODE, u32(c.MACVLAN_MODE_SOURCE))]),
          ]),
        ]),
      ),
    );
    expect(link.macvlan).toEqual({ mode: 'source', nopromisc: false, nodst: false, sourceMacs: [] });
  });

  it('decodes RTM_DELLINK too, and keeps header fields of other messages', () => {
    const out = decode(
      Buffer.concat([
        nlmsg(RTM_DELLINK, 0, [ifinfomsg(9), nla(IFLA.IFNAME, cstr('gone0'))], { seq: 0xffffffff, pid: 0x80000000 }),
        nlmsg(RTM_NEWADDR, 0x2, Buffer.alloc(24, 1), { seq: 1, pid: 2 }),
        nlmsg(NLMSG_NOOP, 0, Buffer.alloc(0)),
        nlmsg(NLMSG_DONE, 0x2, s32(0), { seq: 3 }),
      ]),
    );
    expect(out.truncated).toBe(false);
    expect(out.messages).toEqual([
      { type: RTM_DELLINK, flags: 0, seq: 0xffffffff, pid: 0x80000000, link: { index: 9, flags: 0, type: 1, name: 'gone0' } },
      { type: RTM_NEWADDR, flags: 2, seq: 1, pid: 2 },
      { type: NLMSG_NOOP, flags: 0, seq: 0, pid: 0 },
      { type: NLMSG_DONE, flags: 2, seq: 3, pid: 0 },
    ]);
  });

  it('an RTM_NEWLINK too short for struct ifinfomsg is framed but not decoded', () => {
    const out = decode(nlmsg(RTM_NEWLINK, 0, Buffer.alloc(8)));
    expect(out).toEqual({ messages: [{ type: RTM_NEWLINK, flags: 0, seq: 0, pid: 0 }], truncated: false });
  });

  it('negative and large ifinfomsg values', () => {
    const link = onlyLink(nlmsg(RTM_NEWLINK, 0, ifinfomsg(-1, 0xffffffff, 0xffff)));
    expect(link).toEqual({ index: -1, flags: 0xffffffff, type: 0xffff });
  });
});

describe('decodeMessages: NLMSG_ERROR', () => {
  const request = encodeLink(LinkOp.create, {
    link: 3,
    name: 'mvl00', // odd length: the echo is not a multiple of 4 before padding
    mtu: 9000,
    kind: 'macvlan',
    macvlan: { mode: c.MACVLAN_MODE_BRIDGE },
  }).bytes;
  const header = request.subarray(0, 16);

  it('NLM_F_CAPPED|NLM_F_ACK_TLVS: message and offset after the echoed header', () => {
    const msg = nlmsg(
      NLMSG_ERROR,
      NLM_F_CAPPED | NLM_F_ACK_TLVS,
      nlmsgerr(-22, header, [nla(NLMSGERR_ATTR_MSG, cstr('mtu greater than device maximum')), nla(NLMSGERR_ATTR_OFFS, u32(32))]),
      { seq: 77, pid: 1234 },
    );
    const out = decode(msg);
    expect(out.truncated).toBe(false);
    expect(out.messages).toEqual([
      {
        type: NLMSG_ERROR,
        flags: NLM_F_CAPPED | NLM_F_ACK_TLVS,
        seq: 77,
        pid: 1234,
        ack: { error: -22, message: 'mtu greater than device maximum', offset: 32 },
      },
    ]);
  });

  it('NLM_F_ACK_TLVS without NLM_F_CAPPED: the TLVs follow the whole echoed request', () => {
    // A request whose length is not a multiple of 4 would put the TLVs at an
    // aligned offset; ours always is, so also check an odd-length echo.
    expect(request.length % 4).toBe(0);
    const tlvs = [nla(NLMSGERR_ATTR_OFFS, u32(40)), nla(NLMSGERR_ATTR_MSG, cstr('bad name'))];
    const full = decode(nlmsg(NLMSG_ERROR, NLM_F_ACK_TLVS, nlmsgerr(-17, request, tlvs)));
    expect(full.messages[0]!.ack).toEqual({ error: -17, message: 'bad name', offset: 40 });

    const odd = Buffer.concat([header, Buffer.alloc(3, 0xaa)]);
    odd.writeUInt32LE(19, 0); // the echoed nlmsg_len
    const oddOut = decode(nlmsg(NLMSG_ERROR, NLM_F_ACK_TLVS, nlmsgerr(-17, odd, tlvs)));
    expect(oddOut.messages[0]!.ack).toEqual({ error: -17, message: 'bad name', offset: 40 });
  });

  it('a plain ACK (error 0) has an empty message and no offset', () => {
    const out = decode(nlmsg(NLMSG_ERROR, NLM_F_CAPPED, nlmsgerr(0, header)));
    expect(out.messages[0]!.ack).toEqual({ error: 0, message: '' });
    expect(Object.keys(out.messages[0]!.ack!)).not.toContain('offset');
  });

  it('TLVs are ignored without NLM_F_ACK_TLVS', () => {
    const out = decode(
      nlmsg(NLMSG_ERROR, NLM_F_CAPPED, nlmsgerr(-1, header, [nla(NLMSGERR_ATTR_MSG, cstr('ignored')), nla(NLMSGERR_ATTR_OFFS, u32(32))])),
    );
    expect(out.messages[0]!.ack).toEqual({ error: -1, message: '' });
  });

  it('skips unknown TLVs, reads a message without its NUL, and a short OFFS as absent', () => {
    const out = decode(
      nlmsg(
        NLMSG_ERROR,
        NLM_F_CAPPED | NLM_F_ACK_TLVS,
        nlmsgerr(-95, header, [
          nla(NLMSGERR_ATTR_POLICY | NLA_F_NESTED, [nla(1, u32(3)), nla(2, u32(0))]),
          nla(NLMSGERR_ATTR_OFFS, u16(32)),
          nla(99, Buffer.alloc(9, 0x41)),
          nla(NLMSGERR_ATTR_MSG, Buffer.from('no NUL here')),
        ]),
      ),
    );
    expect(out.messages[0]!.ack).toEqual({ error: -95, message: 'no NUL here' });
  });

  it('a TLV overrunning the message stops the TLVs, keeps what came before', () => {
    const msg = nlmsg(
      NLMSG_ERROR,
      NLM_F_CAPPED | NLM_F_ACK_TLVS,
      nlmsgerr(-22, header, [nla(NLMSGERR_ATTR_OFFS, u32(36)), nla(NLMSGERR_ATTR_MSG, cstr('cut'), 200)]),
    );
    const out = decode(Buffer.concat([msg, nlmsg(NLMSG_DONE, 0, s32(0))]));
    expect(out.truncated).toBe(false);
    expect(out.messages[0]!.ack).toEqual({ error: -22, message: '', offset: 36 });
    expect(out.messages[1]!.type).toBe(NLMSG_DONE);
  });

  it('an echoed nlmsg_len far past the message (no NLM_F_CAPPED) reads no TLVs and does not crash', () => {
    for (const bogus of [0xffffffff, 0xfffffffc, 0x7fffffff, 1000, 15, 0]) {
      const echoed = Buffer.from(header);
      echoed.writeUInt32LE(bogus, 0);
      const out = decode(nlmsg(NLMSG_ERROR, NLM_F_ACK_TLVS, nlmsgerr(-22, echoed, [nla(NLMSGERR_ATTR_MSG, cstr('x'))])));
      expect(out.messages).toHaveLength(1);
      expect(out.messages[0]!.ack!.error).toBe(-22);
      expect(out.messages[0]!.ack!.message).not.toBe('x');
    }
  });

  it('an NLMSG_ERROR too short for struct nlmsgerr has no ack', () => {
    const out = decode(nlmsg(NLMSG_ERROR, 0, s32(-22)));
    expect(out).toEqual({ messages: [{ type: NLMSG_ERROR, flags: 0, seq: 0, pid: 0 }], truncated: false });
  });
});

describe('decodeMessages: truncation', () => {
  const link = newlink(3, 0, [nla(IFLA.IFNAME, cstr('v0')), nla(IFLA.MTU, u32(1500))]);
  const done = nlmsg(NLMSG_DONE, 0x2, s32(0));

  it('an empty buffer is no messages, not truncated', () => {
    expect(decode(Buffer.alloc(0))).toEqual({ messages: [], truncated: false });
  });

  it('nlmsg_len larger than the buffer', () => {
    for (let cut = 1; cut < link.length; cut++) {
      const out = decode(link.subarray(0, link.length - cut));
      expect(out, `cut ${cut}`).toEqual({ messages: [], truncated: true });
    }
    const lying = Buffer.from(link);
    lying.writeUInt32LE(link.length + 4, 0);
    expect(decode(lying)).toEqual({ messages: [], truncated: true });
  });

  it('the messages before a cut one are kept', () => {
    const both = Buffer.concat([link, done]);
    const out = decode(both.subarray(0, both.length - 1));
    expect(out.truncated).toBe(true);
    expect(out.messages).toHaveLength(1);
    expect(out.messages[0]!.link).toEqual({ index: 3, flags: 0, type: 1, name: 'v0', mtu: 1500 });
  });

  it('a link message past the 256 KiB the decoder indexes is read up to there and marked truncated', () => {
    const filler = Array.from({ length: 5 }, () => nla(IFLA.IFALIAS, Buffer.alloc(60000, 0x61)));
    const big = newlink(3, 0, [nla(IFLA.IFNAME, cstr('v0')), ...filler, nla(IFLA.MTU, u32(1500))]);
    expect(big.length).toBeGreaterThan(256 * 1024);
    const out = decode(big);
    expect(out.truncated).toBe(false);
    expect(out.messages[0]!.link).toEqual({ index: 3, flags: 0, type: 1, name: 'v0', truncated: true });
  });

  it('fewer than 16 bytes after the last message', () => {
    for (let extra = 1; extra < 16; extra++) {
      const out = decode(Buffer.concat([link, Buffer.alloc(extra)]));
      expect(out.truncated, `extra ${extra}`).toBe(true);
      expect(out.messages).toHaveLength(1);
    }
  });

  it('nlmsg_len below the header size (0 included: no endless loop)', () => {
    for (const len of [0, 1, 4, 15]) {
      const bad = nlmsg(NLMSG_DONE, 0, s32(0), { len });
      expect(decode(bad), `len ${len}`).toEqual({ messages: [], truncated: true });
      const after = decode(Buffer.concat([done, bad, done]));
      expect(after.truncated).toBe(true);
      expect(after.messages).toHaveLength(1);
    }
  });

  it('an unpadded last message is complete', () => {
    // IFLA_IFNAME 'v0\0' unpadded: nlmsg_len 39, and the buffer ends there.
    const exact = nlmsg(RTM_NEWLINK, 0, [ifinfomsg(3), Buffer.from([7, 0, IFLA.IFNAME, 0, 0x76, 0x30, 0])]).subarray(0, 39);
    expect(exact.readUInt32LE(0)).toBe(39);
    expect(exact.length % 4).not.toBe(0);
    const out = decode(exact);
    expect(out.truncated).toBe(false);
    expect(out.messages[0]!.link!.name).toBe('v0');
  });

  it('an attribute overrunning its message is not read, and nothing past the message is', () => {
    // IFLA_MTU claims 8 bytes; only its 4-byte header is inside the
    // message. A decoder that trusted nla_len would take the MTU from the
    // next message's first bytes.
    const body = [ifinfomsg(3), nla(IFLA.IFNAME, cstr('v0')), nla(IFLA.MTU, Buffer.alloc(0), 8)];
    const first = nlmsg(RTM_NEWLINK, 0, body);
    const second = nlmsg(RTM_NEWLINK, 0, [ifinfomsg(4), nla(IFLA.MTU, u32(9000))]);
    const out = decode(Buffer.concat([first, second]));
    expect(out.messages).toHaveLength(2);
    expect(out.messages[0]!.link).toEqual({ index: 3, flags: 0, type: 1, name: 'v0', truncated: true });
    expect(out.messages[1]!.link!.mtu).toBe(9000);
  });

  it('nla_len below 4 stops the walk: earlier attributes kept, later ones not read', () => {
    for (const len of [0, 1, 2, 3]) {
      const bad = Buffer.from([len, 0, IFLA.MTU, 0]);
      const out = decode(newlink(3, 0, [nla(IFLA.IFNAME, cstr('v0')), bad, nla(IFLA.MTU, u32(1500))]));
      expect(out.messages, `nla_len ${len}`).toHaveLength(1);
      expect(out.messages[0]!.link).toEqual({ index: 3, flags: 0, type: 1, name: 'v0', truncated: true });
    }
  });

  it('a broken attribute inside IFLA_INFO_DATA stops that nest only', () => {
    const out = decode(
      newlink(3, 0, [
        nla(IFLA.LINKINFO, [
          nla(IFLA_INFO.KIND, cstr('macvlan')),
          nla(IFLA_INFO.DATA, [nla(IFLA_MACVLAN.MODE, u32(4)), Buffer.from([2, 0, 7, 0]), nla(IFLA_MACVLAN.BC_QUEUE_LEN, u32(1000))]),
        ]),
        nla(IFLA.MTU, u32(1500)),
      ]),
    );
    expect(out.messages[0]!.link).toEqual({
      index: 3,
      flags: 0,
      type: 1,
      mtu: 1500,
      kind: 'macvlan',
      macvlan: { mode: 4 },
      truncated: true,
    });
  });

  it('a broken attribute inside IFLA_LINKINFO marks the link truncated; the attributes after the nest are read', () => {
    const out = decode(
      newlink(3, 0, [nla(IFLA.LINKINFO, [nla(IFLA_INFO.KIND, cstr('macvlan')), Buffer.from([2, 0, 7, 0])]), nla(IFLA.MTU, u32(1500))]),
    );
    expect(out.messages[0]!.link).toEqual({ index: 3, flags: 0, type: 1, mtu: 1500, kind: 'macvlan', truncated: true });
  });

  it('a MACADDR_DATA entry overrunning its list keeps the entries before it', () => {
    const list = nla(IFLA_MACVLAN.MACADDR_DATA, [
      nla(IFLA_MACVLAN.MACADDR, macBytes('02:00:00:00:00:0a')),
      nla(IFLA_MACVLAN.MACADDR, macBytes('02:00:00:00:00:0b'), 40),
    ]);
    const out = decode(
      newlink(3, 0, [
        nla(IFLA.LINKINFO, [nla(IFLA_INFO.KIND, cstr('macvtap')), nla(IFLA_INFO.DATA, [list, nla(IFLA_MACVLAN.MODE, u32(16))])]),
      ]),
    );
    expect(out.messages[0]!.link!.macvlan).toEqual({ macaddrData: ['02:00:00:00:00:0a'], mode: 16 });
  });

  it('a nest whose nla_len overruns the message: the walk stops before it', () => {
    const linkinfo = nla(IFLA.LINKINFO, [nla(IFLA_INFO.KIND, cstr('macvlan'))], 200);
    const out = decode(newlink(3, 0, [nla(IFLA.IFNAME, cstr('v0')), linkinfo]));
    expect(out.messages[0]!.link).toEqual({ index: 3, flags: 0, type: 1, name: 'v0', truncated: true });
  });
});

// ---------------------------------------------------------------------------
// A link message indexed from the layout of the one before (native/js_link.cc
// AttrLayout): the same fields as a walk would read, whatever differs.
// ---------------------------------------------------------------------------

describe('decodeMessages: messages laid out like the one before', () => {
  /** A top-level attribute before encoding: what the reference reads from it. */
  type Part = { type: number; payload: Buffer | Buffer[] };
  const part = (type: number, payload: Buffer | Buffer[]): Part => ({ type, payload });
  const U32_TYPES = [IFLA.MTU, IFLA.TXQLEN, IFLA.GROUP, IFLA.LINK, IFLA.MASTER, IFLA.MIN_MTU, IFLA.MAX_MTU] as const;
  const U32_KEYS: Record<number, keyof NativeLink> = {
    [IFLA.MTU]: 'mtu',
    [IFLA.TXQLEN]: 'txqlen',
    [IFLA.GROUP]: 'group',
    [IFLA.LINK]: 'link',
    [IFLA.MASTER]: 'master',
    [IFLA.MIN_MTU]: 'minMtu',
    [IFLA.MAX_MTU]: 'maxMtu',
  };
  const QDISC = 6; // IFLA_QDISC: a string the decoder skips

  /** What a walk of the parts reads (the last of a type wins), without the addon. */
  function expected(index: number, parts: Part[]): NativeLink {
    const want: Record<string, unknown> = { index, flags: 0, type: 1 };
    for (const { type: typeAndFlags, payload } of parts) {
      const type = typeAndFlags & ~NLA_F_NESTED; // NLA_TYPE_MASK
      const p = Array.isArray(payload) ? Buffer.concat(payload) : payload;
      if (type === IFLA.IFNAME) want.name = p.subarray(0, p.indexOf(0)).toString();
      else if (type === IFLA.ADDRESS) want.address = [...p].map((b) => b.toString(16).padStart(2, '0')).join(':');
      else if (type === IFLA.OPERSTATE) want.operstate = p[0];
      else if (U32_KEYS[type]) want[U32_KEYS[type]] = p.readUInt32LE(0);
      else if (type === IFLA.LINKINFO) {
        want.kind = 'macvtap';
        want.macvlan = { mode: (payload as Buffer[])[1]!.readUInt32LE(8) }; // IFLA_INFO_DATA { IFLA_MACVLAN_MODE }
      }
    }
    return want as unknown as NativeLink;
  }
  const linkinfo = (mode: number): Part =>
    part(IFLA.LINKINFO, [nla(IFLA_INFO.KIND, cstr('macvtap')), nla(IFLA_INFO.DATA, [nla(IFLA_MACVLAN.MODE, u32(mode))])]);
  const encode = (index: number, parts: Part[], opts: { len?: number } = {}): Buffer =>
    nlmsg(RTM_NEWLINK, 0, [ifinfomsg(index), ...parts.map((x) => nla(x.type, x.payload))], opts);
  const links = (buf: Buffer): (NativeLink | undefined)[] => decode(buf).messages.map((m) => m.link);

  /** A dump-like message: IFLA_IFNAME first, then a kernel-like run of attributes. */
  const dumpLike = (index: number, name: string, mtu: number, qdisc = 'noqueue'): Part[] => [
    part(IFLA.IFNAME, cstr(name)),
    part(IFLA.TXQLEN, u32(500)),
    part(IFLA.OPERSTATE, u8(c.IF_OPER_UP)),
    part(IFLA.MTU, u32(mtu)),
    part(IFLA.GROUP, u32(index)),
    part(QDISC, cstr(qdisc)),
    part(IFLA.ADDRESS, macBytes(`02:00:00:00:00:${(index & 255).toString(16).padStart(2, '0')}`)),
    part(IFLA.LINK, u32(2)),
    part(IFLA.AF_SPEC, Buffer.alloc(96, index & 255)),
    linkinfo(c.MACVLAN_MODE_BRIDGE),
  ];

  it('names of other lengths, values that differ: the layout is used and each message reads as its own', () => {
    const names = ['d1', 'd12', 'd123', 'd1234567', 'a-much-longer1', 'd1'];
    const parts = names.map((name, i) => dumpLike(10 + i, name, 1400 + i));
    const hits = native.linkLayoutHits();
    expect(links(Buffer.concat(parts.map((p, i) => encode(10 + i, p))))).toEqual(parts.map((p, i) => expected(10 + i, p)));
    // The first may walk (another layout came before); all the others match it.
    expect(native.linkLayoutHits() - hits).toBeGreaterThanOrEqual(names.length - 1);
  });

  it('one header that differs in length or type, or attributes that end elsewhere, read as a walk would', () => {
    const base = dumpLike(20, 'd20', 1500);
    const variants: Part[][] = [
      dumpLike(21, 'd21', 1501, 'pfifo_fast'), // a string of another length in the middle
      base.map((x) => (x.type === IFLA.MTU ? part(IFLA.MIN_MTU, x.payload) : x)), // same length, another type
      base.map((x) => (x.type === IFLA.MTU ? part(IFLA.MTU | NLA_F_NESTED, x.payload) : x)), // a flag bit
      [...base, part(IFLA.MTU, u32(9000))], // one more at the end: the last MTU wins
      base.slice(0, -1), // one fewer
      [part(IFLA.MTU, u32(1280)), ...base], // IFLA_IFNAME not first
      [...base.slice(0, 3), part(IFLA.IFNAME, cstr('again')), ...base.slice(3)], // a second name
      base,
    ];
    // Each variant right after the base, which sets the layout it is checked against.
    const buf = Buffer.concat(variants.flatMap((v, i) => [encode(20, base), encode(30 + i, v)]));
    expect(links(buf)).toEqual(variants.flatMap((v, i) => [expected(20, base), expected(30 + i, v)]));
  });

  it('a message with the layout of the one before but cut short is marked truncated', () => {
    const base = dumpLike(40, 'd40', 1500);
    const whole = encode(40, base);
    const cut = encode(41, dumpLike(41, 'd41', 1500), { len: whole.length - 8 });
    const out = decode(Buffer.concat([whole, cut.subarray(0, whole.length - 8)]));
    expect(out.messages.map((m) => m.link?.truncated)).toEqual([undefined, true]);
    // What comes before the cut attribute (the macvtap info) is read.
    expect(out.messages[1]!.link).toMatchObject({ name: 'd41', mtu: 1500, group: 41, link: 2 });
    expect(out.messages[1]!.link!.kind).toBeUndefined();
  });

  it('600 messages of a few layouts with random names, values and changes agree with a walk in JS', () => {
    const rnd = prng(0x1a7);
    const int = (n: number): number => Math.floor(rnd() * n);
    const layouts = [0, 1, 2].map(() => {
      const types = [...U32_TYPES].filter(() => rnd() < 0.7);
      return [...types, QDISC, IFLA.ADDRESS, IFLA.OPERSTATE, IFLA.AF_SPEC, IFLA.LINKINFO].sort(() => rnd() - 0.5);
    });
    const hits = native.linkLayoutHits();
    const all: Part[][] = [];
    for (let i = 0; i < 600; i++) {
      // Runs of one layout, as a dump of links of one kind.
      const layout = layouts[Math.floor(i / 50) % layouts.length]!;
      const parts: Part[] = [part(IFLA.IFNAME, cstr('n'.repeat(1 + int(15))))];
      for (const type of layout) {
        if (type === QDISC) parts.push(part(QDISC, cstr(rnd() < 0.1 ? 'pfifo_fast' : 'noqueue')));
        else if (type === IFLA.ADDRESS) parts.push(part(type, Buffer.from([2, int(256), int(256), int(256), int(256), int(256)])));
        else if (type === IFLA.OPERSTATE) parts.push(part(type, u8(int(7))));
        else if (type === IFLA.AF_SPEC) parts.push(part(type, Buffer.alloc(4 * (10 + (rnd() < 0.05 ? 1 : 0)), int(256))));
        else if (type === IFLA.LINKINFO) parts.push(linkinfo(1 + int(8)));
        else parts.push(part(type, u32(int(0x100000000))));
      }
      const r = rnd();
      if (r < 0.05) parts.splice(1 + int(parts.length - 1), 0, part(U32_TYPES[int(U32_TYPES.length)]!, u32(int(1 << 20))));
      else if (r < 0.1) parts.splice(1 + int(parts.length - 1), 1);
      else if (r < 0.15) {
        const k = 1 + int(parts.length - 1);
        if (U32_KEYS[parts[k]!.type]) parts[k] = part(U32_TYPES[int(U32_TYPES.length)]!, parts[k]!.payload);
      }
      all.push(parts);
    }
    expect(links(Buffer.concat(all.map((p, i) => encode(100 + i, p))))).toEqual(all.map((p, i) => expected(100 + i, p)));
    expect(native.linkLayoutHits() - hits).toBeGreaterThan(300);
  });
});

// ---------------------------------------------------------------------------
// Link tables straight to links (linksOf, the listLinks path)
// ---------------------------------------------------------------------------

/** One table of many links, as the addon joins them (src/binding.ts LinkTable). */
function joinTables(tables: LinkTable[]): LinkTable {
  const columns = native.linkColumns.numbers.length;
  const kindColumn = native.linkColumns.numbers.indexOf('kind');
  const nameColumns = [native.linkColumns.numbers.indexOf('nameAt'), native.linkColumns.numbers.indexOf('nameEnd')];
  const numbers = new Float64Array(tables.reduce((n, t) => n + t.numbers.length, 0));
  const kinds: string[] = [];
  // Name offsets are into each table's strings: into the joined string
  // they move by what comes before, and NaN in one table (a name that is
  // not ASCII) is NaN in all, as the addon makes a table.
  const offsetsHold = tables.every((t) => t.count === 0 || !Number.isNaN(t.numbers[nameColumns[0]!]));
  let stringsAt = 0;
  let at = 0;
  for (const t of tables) {
    numbers.set(t.numbers, at);
    for (let row = at; row < at + t.numbers.length; row += columns) {
      for (const k of nameColumns) numbers[row + k] = offsetsHold ? numbers[row + k]! + stringsAt : NaN;
    }
    stringsAt += t.strings.length + 1;
    // Each table's kind codes index its own kinds.
    const own = t.kinds.split('\0');
    for (let row = at; row < at + t.numbers.length; row += columns) {
      const code = numbers[row + kindColumn]!;
      if (Number.isNaN(code)) continue;
      if (!kinds.includes(own[code]!)) kinds.push(own[code]!);
      numbers[row + kindColumn] = kinds.indexOf(own[code]!);
    }
    at += t.numbers.length;
  }
  const noRare = native.linkColumns.rare.map(() => '').join('\0');
  const anyRare = tables.some((t) => t.rare !== '');
  return {
    count: tables.reduce((n, t) => n + t.count, 0),
    numbers,
    strings: tables.map((t) => t.strings).join('\0'),
    macs: tables.map((t) => t.macs).join('\0'),
    kinds: kinds.join('\0'),
    rare: anyRare ? tables.map((t) => (t.rare !== '' ? t.rare : new Array<string>(t.count).fill(noRare).join('\0'))).join('\0') : '',
  };
}

/** Equal, as plain objects, with the keys in the same order at every level. */
function expectSameLinks(got: Link[], want: Link[]): void {
  expect(got).toStrictEqual(want);
  expect(JSON.stringify(got)).toBe(JSON.stringify(want));
  for (const l of got) {
    expect(Object.getPrototypeOf(l)).toBe(Object.prototype);
    if (l.macvlan) expect(Object.getPrototypeOf(l.macvlan)).toBe(Object.prototype);
  }
}

describe('linksOf: link tables straight to Link objects', () => {
  const withLinkinfo = (kind: string, data: Buffer[]): Buffer =>
    nla(IFLA.LINKINFO, [nla(IFLA_INFO.KIND, cstr(kind)), nla(IFLA_INFO.DATA, data)]);
  const MESSAGES = [
    KERNEL_NEWLINK_SOURCE,
    newlink(1, c.IFF_UP, [nla(IFLA.IFNAME, cstr('lo')), nla(IFLA.MTU, u32(65536)), nla(IFLA.OPERSTATE, u8(c.IF_OPER_UNKNOWN))]),
    newlink(7, c.IFF_UP, [
      nla(IFLA.IFNAME, cstr('mvt0')),
      nla(IFLA.ADDRESS, macBytes('02:00:00:00:00:07')),
      nla(IFLA.MTU, u32(1500)),
      nla(IFLA.LINK, u32(3)),
      nla(IFLA.OPERSTATE, u8(c.IF_OPER_UP)),
      nla(IFLA.GROUP, u32(0xffffffff)),
      nla(IFLA.TXQLEN, u32(0x80000000)),
      withLinkinfo('macvtap', [
        nla(IFLA_MACVLAN.MODE, u32(c.MACVLAN_MODE_BRIDGE)),
        nla(IFLA_MACVLAN.FLAGS, u16(c.MACVLAN_FLAG_NOPROMISC)),
        nla(IFLA_MACVLAN.BC_CUTOFF, s32(-5)),
      ]),
    ]),
    // The lower in another namespace.
    newlink(8, 0, [nla(IFLA.IFNAME, cstr('mvn0')), nla(IFLA.LINK, u32(3)), nla(IFLA.LINK_NETNSID, s32(0)), withLinkinfo('macvlan', [])]),
    // Source mode with and without MACs, an unknown mode, an unknown operstate.
    newlink(9, 0, [
      nla(IFLA.IFNAME, cstr('mvs1')),
      withLinkinfo('macvlan', [
        nla(IFLA_MACVLAN.MODE, u32(c.MACVLAN_MODE_SOURCE)),
        nla(IFLA_MACVLAN.MACADDR_DATA, [nla(IFLA_MACVLAN.MACADDR, macBytes('02:00:00:00:00:0c'))]),
      ]),
    ]),
    newlink(10, 0, [nla(IFLA.IFNAME, cstr('mvs2')), withLinkinfo('macvtap', [nla(IFLA_MACVLAN.MODE, u32(c.MACVLAN_MODE_SOURCE))])]),
    newlink(11, 0, [
      nla(IFLA.IFNAME, cstr('mvu0')),
      nla(IFLA.OPERSTATE, u8(200)),
      withLinkinfo('macvlan', [nla(IFLA_MACVLAN.MODE, u32(32))]),
    ]),
    // A 4-byte address, a name that is not ASCII, no attributes at all, a cut attribute.
    newlink(12, 0, [nla(IFLA.IFNAME, cstr('tun\u00e9')), nla(IFLA.ADDRESS, Buffer.from([192, 0, 2, 1])), withLinkinfo('ipip', [])]),
    newlink(13, 0, []),
    newlink(14, 0, [nla(IFLA.IFNAME, cstr('v0')), nla(IFLA.MTU, Buffer.alloc(0), 8)]),
    // A rare string field (it travels apart from the others), and a second link of a kind.
    newlink(15, 0, [nla(IFLA.IFNAME, cstr('eth9')), nla(IFLA.PARENT_DEV_NAME, cstr('0000:00:03.0')), withLinkinfo('macvtap', [])]),
    nlmsg(RTM_NEWLINK, 0, ifinfomsg(-1, 0xffffffff, 0xffff)),
  ];
  const tables = native.decodeMessages(Buffer.concat(MESSAGES)).messages.map((m) => m.link!);
  const table = joinTables(tables);
  const viaRows = rowsOf(table).map(toLink);

  it('makes what toLink makes of each row: same values, same key order, plain objects', () => {
    expect(table.count).toBe(MESSAGES.length);
    expectSameLinks(linksOf(table), viaRows);
    expect(viaRows.map((l) => l.name)).toContain('tun\u00e9');
  });

  it("takes names and addresses at the addon's offsets, and splits the strings when a name is not ASCII", () => {
    const nameAt = native.linkColumns.numbers.indexOf('nameAt');
    const ascii = joinTables(tables.filter((t) => !t.strings.includes('\u00e9')));
    expect(ascii.count).toBe(MESSAGES.length - 1);
    expect(Number.isNaN(ascii.numbers[nameAt])).toBe(false);
    expectSameLinks(linksOf(ascii), rowsOf(ascii).map(toLink));
    expect(linksOf(ascii).map((l) => [l.name, l.mac])).toContainEqual(['mvt0', '02:00:00:00:00:07']);
    // The table with 'tun\u00e9' has no offsets: linksOf splits (the test above).
    expect(Number.isNaN(tables.find((t) => t.strings.includes('\u00e9'))!.numbers[nameAt])).toBe(true);
    expect(Number.isNaN(table.numbers[nameAt])).toBe(true);
  });

  it('puts each rare field and each kind on its own row', () => {
    const rows = rowsOf(table);
    expect(rows.filter((r) => r.parentDevName !== undefined).map((r) => [r.index, r.parentDevName])).toEqual([[15, '0000:00:03.0']]);
    expect(rows.filter((r) => r.kind === 'macvtap').map((r) => r.index)).toEqual([7, 10, 15]);
    expect(table.kinds.split('\0').sort()).toEqual([...new Set(rows.map((r) => r.kind).filter((k) => k !== undefined))].sort());
    // A table in which no link has a rare field carries none.
    expect(tables[1]!.rare).toBe('');
    expect(tables.find((t) => t.rare !== '')!.rare).toBe('0000:00:03.0\0');
  });

  it('keeps only the rows of one kind, or on one lower in this namespace', () => {
    expectSameLinks(
      linksOf(table, { kind: 'macvtap' }),
      viaRows.filter((l) => l.kind === 'macvtap'),
    );
    expectSameLinks(
      linksOf(table, { lower: 3 }),
      viaRows.filter((l) => l.lower === 3 && l.lowerNetnsId === undefined),
    );
    expect(linksOf(table, { lower: 3 }).map((l) => l.index)).toEqual([4, 7]);
    expect(linksOf(table, { kind: 'macvlan', lower: 3 }).map((l) => l.index)).toEqual([4]);
    expect(linksOf(table, { kind: 'bridge' })).toEqual([]);
    const into = linksOf(table, { kind: 'macvlan', lower: 3 });
    expect(linksOf(table, { lower: 3 }, into).map((l) => l.index)).toEqual([4, 4, 7]);
  });

  it('an empty table is no links', () => {
    expect(linksOf({ count: 0, numbers: new Float64Array(0), strings: '', macs: '', kinds: '', rare: '' })).toEqual([]);
  });

  // A dump reaches listLinks in parts; when the kernel marked it
  // NLM_F_DUMP_INTR it is sent again, and the parts so far are void (null).
  it('listLinks joins the parts of a dump, drops those a restart made void, and filters each', async () => {
    const [a, b, c1, d] = [tables.slice(0, 2), tables.slice(2, 4), tables.slice(4, 6), tables.slice(6)].map(joinTables);
    const calls = {
      dumpInParts(_req: unknown, _probes: number, part: (t: LinkTable | null) => void): Promise<LinkTable> {
        part(a!);
        part(null);
        part(b!);
        part(c1!);
        return Promise.resolve(d!);
      },
    };
    const handle = new Handle(calls as unknown as HandleCalls, undefined);
    const after = joinTables(tables.slice(2));
    expectSameLinks(await handle.listLinks(), linksOf(after));
    expectSameLinks(await handle.listLinks({ kind: 'macvtap' }), linksOf(after, { kind: 'macvtap' }));
  });

  // deleteLinks against a fake handle: the dump is the table above.
  function deleteLinksWith(failRow: number | undefined): { handle: Handle; log: [string, unknown][] } {
    const log: [string, unknown][] = [];
    let tags = 0;
    const calls = {
      link(op: LinkOp, req: NativeLinkRequest): Promise<unknown> {
        log.push([op === LinkOp.dump ? 'dump' : op === LinkOp.delete ? 'delete' : `op ${op}`, req]);
        return Promise.resolve(op === LinkOp.dump ? table : undefined);
      },
      linkEach(op: LinkOp, req: NativeLinkRequest, indexes: number[]): Promise<unknown[]> {
        log.push([op === LinkOp.change ? 'change each' : `op ${op} each`, { ...req, indexes }]);
        const failing = tags++ === 0 ? failRow : undefined;
        return Promise.resolve(
          indexes.map((_, i) => (i === failing ? Object.assign(new Error('ENODEV'), { errno: constants.errno.ENODEV }) : undefined)),
        );
      },
    };
    return { handle: new Handle(calls as unknown as HandleCalls, undefined), log };
  }

  it('deleteLinks tags every link in one call with a group no link has, then deletes that group', async () => {
    const { handle, log } = deleteLinksWith(undefined);
    await handle.deleteLinks(['mvt0', 9, 'mvn0', 7]);
    expect(log.map(([what]) => what)).toEqual(['dump', 'change each', 'delete']);
    const tagged = log[1]![1] as { group: number; indexes: number[] };
    const group = tagged.group;
    expect(tagged).toEqual({ group, indexes: [7, 9, 8] });
    expect(linksOf(table).map((l) => l.group ?? 0)).not.toContain(group);
    expect(log[2]![1]).toEqual({ group });
  });

  it('deleteLinks: a tag that fails puts the links tagged back in their own groups and deletes nothing', async () => {
    const { handle, log } = deleteLinksWith(1);
    const err = await handle.deleteLinks(['mvt0', 9, 'mvn0']).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(NetlinkError);
    expect((err as NetlinkError).code).toBe('ENODEV');
    // mvt0 was in group 0xffffffff, mvn0 in none: one call a group; mvs1
    // (#9) was never tagged.
    expect(log.map(([what]) => what)).toEqual(['dump', 'change each', 'change each', 'change each']);
    expect(log.slice(2).map(([, req]) => req)).toEqual([
      { group: 0xffffffff, indexes: [7] },
      { group: 0, indexes: [8] },
    ]);
  });

  it('deleteLinks: a link without a kind (lo, v0 here) is refused from the dump, before any change', async () => {
    for (const kindless of ['lo', 14]) {
      const { handle, log } = deleteLinksWith(undefined);
      const err = await handle.deleteLinks(['mvt0', kindless]).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect((err as NetlinkError).code).toBe('ENOTSUP');
      expect((err as NetlinkError).message).toContain(`${kindless === 'lo' ? "'lo'" : '#14'} has no link kind`);
      expect(log.map(([what]) => what)).toEqual(['dump']);
    }
  });
});

// ---------------------------------------------------------------------------
// Random input
// ---------------------------------------------------------------------------

/** mulberry32: a small seeded PRNG, so a failure can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** What framing the decoder must find: the nlmsghdr walk, done in JS. */
function expectedFraming(buf: Buffer): {
  headers: { type: number; flags: number; seq: number; pid: number; len: number }[];
  truncated: boolean;
} {
  const headers: { type: number; flags: number; seq: number; pid: number; len: number }[] = [];
  let o = 0;
  while (o < buf.length) {
    const left = buf.length - o;
    if (left < 16) return { headers, truncated: true };
    const len = buf.readUInt32LE(o);
    if (len < 16 || len > left) return { headers, truncated: true };
    headers.push({
      len,
      type: buf.readUInt16LE(o + 4),
      flags: buf.readUInt16LE(o + 6),
      seq: buf.readUInt32LE(o + 8),
      pid: buf.readUInt32LE(o + 12),
    });
    o += align4(len);
  }
  return { headers, truncated: false };
}

const MAC_RE = /^[0-9a-f]{2}(:[0-9a-f]{2})*$/u;
const LINK_NUMBERS = [
  'index',
  'flags',
  'type',
  'mtu',
  'link',
  'txqlen',
  'operstate',
  'group',
  'numTxQueues',
  'numRxQueues',
  'linkNetnsid',
  'minMtu',
  'maxMtu',
  'master',
] as const;
const MACVLAN_NUMBERS = ['mode', 'flags', 'macaddrMode', 'macaddrCount', 'bcQueueLen', 'bcQueueLenUsed', 'bcCutoff'] as const;

/** Decodes and checks everything that must hold for any input. */
function checkDecode(buf: Buffer): void {
  const tables = native.decodeMessages(buf).messages.flatMap((m) => (m.link ? [m.link] : []));
  expectSameLinks(
    linksOf(joinTables(tables)),
    tables.map((t) => toLink(rowsOf(t)[0]!)),
  );
  const out = decode(buf);
  const want = expectedFraming(buf);
  expect(out.truncated).toBe(want.truncated);
  expect(out.messages.length).toBe(want.headers.length);
  out.messages.forEach((m, i) => {
    const h = want.headers[i]!;
    expect([m.type, m.flags, m.seq, m.pid]).toEqual([h.type, h.flags, h.seq, h.pid]);
    const isLink = (h.type === RTM_NEWLINK || h.type === RTM_DELLINK) && h.len >= 32;
    const isAck = h.type === NLMSG_ERROR && h.len >= 36;
    expect(m.link !== undefined).toBe(isLink);
    expect(m.ack !== undefined).toBe(isAck);
    if (m.ack) {
      const start = want.headers.slice(0, i).reduce((s, x) => s + align4(x.len), 0);
      expect(m.ack.error).toBe(buf.readInt32LE(start + 16));
      expect(typeof m.ack.message).toBe('string');
      if (m.ack.offset !== undefined) expect(Number.isInteger(m.ack.offset)).toBe(true);
    }
    if (m.link) {
      const l = m.link;
      for (const k of LINK_NUMBERS) if (l[k] !== undefined) expect(Number.isInteger(l[k]), k).toBe(true);
      for (const k of ['name', 'kind', 'parentDevName'] as const) if (l[k] !== undefined) expect(typeof l[k]).toBe('string');
      if (l.name !== undefined) expect(l.name.includes('\0')).toBe(false);
      if (l.address !== undefined) expect(l.address === '' || MAC_RE.test(l.address)).toBe(true);
      if (l.macvlan) {
        expect(typeof l.kind).toBe('string');
        for (const k of MACVLAN_NUMBERS) if (l.macvlan[k] !== undefined) expect(Number.isInteger(l.macvlan[k]), k).toBe(true);
        for (const mac of l.macvlan.macaddrData ?? []) expect(mac).toMatch(/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/u);
      }
    }
  });
}

describe('decodeMessages: random input never crashes and frames like the reference', () => {
  it('3000 buffers of random bytes', () => {
    const rnd = prng(0x5eed);
    for (let i = 0; i < 3000; i++) {
      const buf = Buffer.alloc(Math.floor(rnd() * 300));
      for (let j = 0; j < buf.length; j++) buf[j] = Math.floor(rnd() * 256);
      // Half of them get a plausible first nlmsg_len, so framing is not
      // always rejected at the first header.
      if (buf.length >= 16 && rnd() < 0.5) buf.writeUInt32LE(16 + Math.floor(rnd() * (buf.length - 15)), 0);
      checkDecode(buf);
    }
  });

  it('3000 well-framed buffers of random attribute soup, some corrupted', () => {
    const rnd = prng(0xc0dec);
    const int = (n: number): number => Math.floor(rnd() * n);
    const bytes = (n: number): Buffer => Buffer.from(Array.from({ length: n }, () => int(256)));
    const soup = (depth: number): Buffer[] => {
      const attrs: Buffer[] = [];
      const count = int(6);
      for (let k = 0; k < count; k++) {
        const r = rnd();
        if (r < 0.15 && depth < 3) {
          attrs.push(
            nla(IFLA.LINKINFO, [nla(IFLA_INFO.KIND, cstr(['macvlan', 'macvtap', 'veth'][int(3)]!)), nla(IFLA_INFO.DATA, soup(depth + 1))]),
          );
        } else if (r < 0.25 && depth < 3) {
          attrs.push(
            nla(IFLA_MACVLAN.MACADDR_DATA | (rnd() < 0.5 ? NLA_F_NESTED : 0), [nla(IFLA_MACVLAN.MACADDR, bytes(6)), ...soup(depth + 1)]),
          );
        } else if (r < 0.35) {
          attrs.push(nla(int(12), bytes(int(4)), rnd() < 0.3 ? int(12) : undefined)); // short, maybe lying
        } else {
          attrs.push(nla(int(60), bytes(int(24))));
        }
      }
      return attrs;
    };
    const message = (): Buffer => {
      const r = rnd();
      if (r < 0.45) return newlink(int(0x7fffffff) - int(5), int(0x100000000), soup(0), { seq: int(0x100000000), pid: int(0x100000000) });
      if (r < 0.75) {
        const echo = Buffer.concat([bytes(4), u16(RTM_NEWLINK), bytes(10)]);
        if (rnd() < 0.5) echo.writeUInt32LE(16 + int(64), 0);
        const flags = [0, NLM_F_CAPPED, NLM_F_ACK_TLVS, NLM_F_CAPPED | NLM_F_ACK_TLVS][int(4)]!;
        const tlvs = [
          nla(NLMSGERR_ATTR_MSG, rnd() < 0.5 ? cstr('oops') : bytes(int(10))),
          nla(NLMSGERR_ATTR_OFFS, bytes(int(6))),
          ...soup(1),
        ];
        return nlmsg(NLMSG_ERROR, flags, nlmsgerr(-int(140), rnd() < 0.3 ? Buffer.concat([echo, bytes(int(40))]) : echo, tlvs));
      }
      if (r < 0.85) return nlmsg(NLMSG_DONE, int(0x10000), s32(0));
      if (r < 0.95) return nlmsg(RTM_DELLINK, 0, rnd() < 0.5 ? Buffer.concat([ifinfomsg(int(100)), ...soup(0)]) : bytes(int(20)));
      return nlmsg(int(0x10000), int(0x10000), bytes(int(40)));
    };
    for (let i = 0; i < 3000; i++) {
      const msgs = Array.from({ length: 1 + int(4) }, message);
      let buf = Buffer.concat(msgs);
      const r = rnd();
      if (r < 0.2) {
        buf = buf.subarray(0, int(buf.length + 1)); // cut anywhere
      } else if (r < 0.45) {
        for (let f = 1 + int(4); f > 0; f--) buf[int(buf.length)] = int(256); // flip bytes
      }
      checkDecode(buf);
    }
  });
});

describe('decodeTapUevent: the kernel uevents that carry a macvtap device number', () => {
  // NUL-separated as on the wire: "ACTION@DEVPATH" then KEY=VALUE fields.
  const uevent = (...fields: string[]): Buffer => Buffer.from(fields.map((f) => `${f}\0`).join(''));
  const tapAdd = (extra: string[] = []): Buffer =>
    uevent(
      'add@/devices/virtual/net/mvt0/macvtap/tap4',
      'ACTION=add',
      'DEVPATH=/devices/virtual/net/mvt0/macvtap/tap4',
      'SUBSYSTEM=macvtap',
      'MAJOR=246',
      'MINOR=1',
      'DEVNAME=tap4',
      'SEQNUM=14682002',
      ...extra,
    );

  it('reads the add of a macvtap device (captured from Linux 6.18)', () => {
    expect(native.decodeTapUevent(tapAdd())).toEqual({ add: true, ifindex: 4, major: 246, minor: 1 });
  });

  it('reads a remove, which needs no device number', () => {
    const remove = uevent('remove@/devices/virtual/net/mvt0/macvtap/tap12', 'ACTION=remove', 'SUBSYSTEM=macvtap', 'DEVNAME=tap12');
    expect(native.decodeTapUevent(remove)).toMatchObject({ add: false, ifindex: 12 });
  });

  it('ignores the other uevents a macvtap create sends', () => {
    const netdev = uevent('add@/devices/virtual/net/mvt0', 'ACTION=add', 'SUBSYSTEM=net', 'INTERFACE=mvt0', 'IFINDEX=4');
    const queue = uevent('add@/devices/virtual/net/mvt0/queues/rx-0', 'ACTION=add', 'SUBSYSTEM=queues');
    const move = uevent('move@/devices/virtual/net/mvt1/macvtap/tap4', 'SUBSYSTEM=macvtap', 'MAJOR=246', 'MINOR=1', 'DEVNAME=tap4');
    for (const m of [netdev, queue, move]) expect(native.decodeTapUevent(m)).toBeNull();
  });

  it("the listener's socket filter keeps a macvtap's add and remove and drops the other uevents of a create or delete", () => {
    const tap = (action: string, name: string, index: number): Buffer =>
      uevent(`${action}@/devices/virtual/net/${name}/macvtap/tap${index}`, `ACTION=${action}`, 'SUBSYSTEM=macvtap', `DEVNAME=tap${index}`);
    const keep = [tapAdd(), tap('remove', 'mvt0', 12), tap('add', 'a', 5), tap('remove', 'abcdefghijklmno', 6)];
    for (const m of keep) expect(native.tapUeventFilterPasses(m), m.toString()).toBe(true);
    const drop = [
      Buffer.alloc(0),
      uevent('libudev', 'SUBSYSTEM=macvtap'),
      uevent('add@/devices/virtual/net/mvt0', 'ACTION=add', 'SUBSYSTEM=net', 'INTERFACE=mvt0', 'DEVPATH=/devices/virtual/net/mvt0'),
      uevent('remove@/devices/virtual/net/abcdefghijklmno', 'ACTION=remove', 'SUBSYSTEM=net'),
      uevent('add@/devices/virtual/net/a/queues/rx-0', 'ACTION=add', 'SUBSYSTEM=queues'),
      uevent('remove@/devices/virtual/net/mvt0/queues/tx-0', 'ACTION=remove', 'SUBSYSTEM=queues'),
      uevent('move@/devices/virtual/net/mvt1/macvtap/tap4', 'SUBSYSTEM=macvtap', 'DEVNAME=tap4'),
      uevent('change@/devices/virtual/net/mvt0/macvtap/tap4', 'SUBSYSTEM=macvtap', 'DEVNAME=tap4'),
    ];
    for (const m of drop) expect(native.tapUeventFilterPasses(m), m.toString()).toBe(false);
  });

  it('refuses a message with a field missing, a bad number, or cut short', () => {
    const bad = [
      Buffer.alloc(0),
      uevent('libudev', 'SUBSYSTEM=macvtap'), // udev's re-broadcast header
      uevent('add@/x', 'SUBSYSTEM=macvtap', 'MAJOR=246', 'DEVNAME=tap4'), // no MINOR
      uevent('add@/x', 'SUBSYSTEM=macvtap', 'MAJOR=-246', 'MINOR=1', 'DEVNAME=tap4'),
      uevent('add@/x', 'SUBSYSTEM=macvtap', 'MAJOR=246', 'MINOR=1x', 'DEVNAME=tap4'),
      uevent('add@/x', 'SUBSYSTEM=macvtap', 'MAJOR=246', 'MINOR=99999999999', 'DEVNAME=tap4'),
      uevent('add@/x', 'SUBSYSTEM=macvtap', 'MAJOR=246', 'MINOR=1', 'DEVNAME=tap'),
      uevent('add@/x', 'SUBSYSTEM=macvtap', 'MAJOR=246', 'MINOR=1', 'DEVNAME=tap0'),
      uevent('add@/x', 'SUBSYSTEM=macvtapx', 'MAJOR=246', 'MINOR=1', 'DEVNAME=tap4'),
    ];
    for (const m of bad) expect(native.decodeTapUevent(m)).toBeNull();
    const whole = tapAdd();
    const cut = whole.subarray(0, whole.indexOf('MINOR=') + 6); // "MINOR=" with no digits
    expect(native.decodeTapUevent(cut)).toBeNull();
    // No trailing NUL: the last field still counts.
    expect(native.decodeTapUevent(whole.subarray(0, whole.length - 1))).toMatchObject({ minor: 1 });
  });
});
