#include "rtnl_link.h"

#include <sys/socket.h>

#include <cstring>

namespace macvlan {
namespace {

// Encode order follows iproute2 (`ip link add`), so our requests and ip's can
// be compared byte for byte.
const ScalarAttr<LinkAttrs> kLinkScalars[] = {
    {IFLA_MTU, Wire::kU32, &LinkAttrs::mtu, "IFLA_MTU"},
    {IFLA_TXQLEN, Wire::kU32, &LinkAttrs::txqlen, "IFLA_TXQLEN"},
    {IFLA_NUM_TX_QUEUES, Wire::kU32, &LinkAttrs::num_tx_queues, "IFLA_NUM_TX_QUEUES"},
    {IFLA_NUM_RX_QUEUES, Wire::kU32, &LinkAttrs::num_rx_queues, "IFLA_NUM_RX_QUEUES"},
    {IFLA_GROUP, Wire::kU32, &LinkAttrs::group, "IFLA_GROUP"},
    {IFLA_NET_NS_PID, Wire::kU32, &LinkAttrs::net_ns_pid, "IFLA_NET_NS_PID"},
    {IFLA_NET_NS_FD, Wire::kU32, &LinkAttrs::net_ns_fd, "IFLA_NET_NS_FD"},
    {IFLA_LINK, Wire::kU32, &LinkAttrs::link, "IFLA_LINK"},
    {IFLA_MASTER, Wire::kU32, &LinkAttrs::master, "IFLA_MASTER"},
    {IFLA_EXT_MASK, Wire::kU32, &LinkAttrs::ext_mask, "IFLA_EXT_MASK"},
    {IFLA_OPERSTATE, Wire::kU8, &LinkAttrs::operstate, "IFLA_OPERSTATE"},
    {IFLA_LINK_NETNSID, Wire::kS32, &LinkAttrs::link_netnsid, "IFLA_LINK_NETNSID"},
    {IFLA_MIN_MTU, Wire::kU32, &LinkAttrs::min_mtu, "IFLA_MIN_MTU"},
    {IFLA_MAX_MTU, Wire::kU32, &LinkAttrs::max_mtu, "IFLA_MAX_MTU"},
};

// iproute2 adds BC_QUEUE_LEN/BC_CUTOFF while parsing, then MODE and FLAGS.
const ScalarAttr<MacvlanAttrs> kMacvlanScalars[] = {
    {IFLA_MACVLAN_BC_QUEUE_LEN, Wire::kU32, &MacvlanAttrs::bc_queue_len, "IFLA_MACVLAN_BC_QUEUE_LEN"},
    {kIflaMacvlanBcCutoff, Wire::kS32, &MacvlanAttrs::bc_cutoff, "IFLA_MACVLAN_BC_CUTOFF"},
    {IFLA_MACVLAN_MODE, Wire::kU32, &MacvlanAttrs::mode, "IFLA_MACVLAN_MODE"},
    {IFLA_MACVLAN_FLAGS, Wire::kU16, &MacvlanAttrs::flags, "IFLA_MACVLAN_FLAGS"},
    {IFLA_MACVLAN_MACADDR_COUNT, Wire::kU32, &MacvlanAttrs::macaddr_count, "IFLA_MACVLAN_MACADDR_COUNT"},
    {IFLA_MACVLAN_BC_QUEUE_LEN_USED, Wire::kU32, &MacvlanAttrs::bc_queue_len_used,
     "IFLA_MACVLAN_BC_QUEUE_LEN_USED"},
};

template <class Owner>
void PutScalar(MessageBuilder& b, const ScalarAttr<Owner>& a, int64_t v) {
  switch (a.wire) {
    case Wire::kU8: b.PutU8(a.type, static_cast<uint8_t>(v), a.name); break;
    case Wire::kU16: b.PutU16(a.type, static_cast<uint16_t>(v), a.name); break;
    case Wire::kU32: b.PutU32(a.type, static_cast<uint32_t>(v), a.name); break;
    case Wire::kS32: b.PutS32(a.type, static_cast<int32_t>(v), a.name); break;
  }
}

// Scalars are written in table order, except the three that iproute2 puts
// after the others (IFLA_LINK, then IFLA_IFNAME and IFLA_LINKINFO).
void PutLinkScalars(MessageBuilder& b, const LinkAttrs& l, bool late) {
  for (const auto& a : kLinkScalars) {
    bool is_late = a.type == IFLA_LINK;
    if (is_late == late && l.*a.field) PutScalar(b, a, *(l.*a.field));
  }
}

void PutMacvlanData(MessageBuilder& b, const MacvlanAttrs& m) {
  size_t data = b.BeginNest(IFLA_INFO_DATA, "IFLA_INFO_DATA");
  if (m.macaddr_mode) {
    b.PutU32(IFLA_MACVLAN_MACADDR_MODE, static_cast<uint32_t>(*m.macaddr_mode), "IFLA_MACVLAN_MACADDR_MODE");
  }
  if (m.macaddr) b.Put(IFLA_MACVLAN_MACADDR, m.macaddr->data(), 6, "IFLA_MACVLAN_MACADDR");
  if (m.macaddr_data) {
    size_t list = b.BeginNest(IFLA_MACVLAN_MACADDR_DATA, "IFLA_MACVLAN_MACADDR_DATA");
    for (const auto& mac : *m.macaddr_data) {
      b.Put(IFLA_MACVLAN_MACADDR, mac.data(), 6, "IFLA_MACVLAN_MACADDR");
    }
    b.EndNest(list);
  }
  for (const auto& a : kMacvlanScalars) {
    if (m.*a.field) PutScalar(b, a, *(m.*a.field));
  }
  b.EndNest(data);
}

}  // namespace

EncodedRequest EncodeLinkRequest(LinkOp op, const LinkAttrs& l) {
  uint16_t type = RTM_NEWLINK;
  uint16_t flags = NLM_F_REQUEST | NLM_F_ACK;
  switch (op) {
    case LinkOp::kCreate: flags |= NLM_F_CREATE | NLM_F_EXCL | NLM_F_ECHO; break;
    case LinkOp::kChange: break;
    case LinkOp::kDelete: type = RTM_DELLINK; break;
    case LinkOp::kGet: type = RTM_GETLINK; break;
    case LinkOp::kDump:
      type = RTM_GETLINK;
      flags = NLM_F_REQUEST | NLM_F_DUMP;  // a dump ends in NLMSG_DONE, never an ACK
      break;
  }
  MessageBuilder b(type, flags);
  auto& ifi = b.Header<ifinfomsg>();
  ifi.ifi_family = AF_UNSPEC;
  ifi.ifi_index = l.index;
  ifi.ifi_flags = l.flags;
  ifi.ifi_change = l.change;

  if (l.address) b.Put(IFLA_ADDRESS, l.address->data(), 6, "IFLA_ADDRESS");
  PutLinkScalars(b, l, false);
  PutLinkScalars(b, l, true);
  if (l.name) b.PutString(IFLA_IFNAME, *l.name, "IFLA_IFNAME");
  if (l.kind) {
    size_t info = b.BeginNest(IFLA_LINKINFO, "IFLA_LINKINFO");
    // ip sends IFLA_INFO_KIND without its NUL (unlike IFLA_IFNAME).
    b.Put(IFLA_INFO_KIND, l.kind->data(), l.kind->size(), "IFLA_INFO_KIND");
    if (l.macvlan) PutMacvlanData(b, *l.macvlan);
    b.EndNest(info);
  }
  EncodedRequest req;
  req.bytes = b.Finish();
  req.attrs = b.TakeAttrs();
  req.dump = op == LinkOp::kDump;
  return req;
}

std::span<const ScalarAttr<LinkAttrs>> LinkScalarAttrs() { return kLinkScalars; }

std::span<const ScalarAttr<MacvlanAttrs>> MacvlanScalarAttrs() { return kMacvlanScalars; }

}  // namespace macvlan
