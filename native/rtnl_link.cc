#include "rtnl_link.h"

#include <net/if.h>

#include <cstring>

namespace macvlan {
namespace {

enum class Wire { kU8, kU16, kU32, kS32 };

template <class Owner>
struct ScalarAttr {
  uint16_t type;
  Wire wire;
  std::optional<int64_t> Owner::*field;
  const char* name;
};

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

// The table entry for each attribute type, built once: decoding a dump
// looks up every attribute of every link.
template <class Owner, size_t N>
class ScalarIndex {
 public:
  explicit ScalarIndex(const ScalarAttr<Owner> (&table)[N]) {
    for (const auto& a : table) {
      if (a.type < kSlots) by_type_[a.type] = &a;
    }
  }
  const ScalarAttr<Owner>* Find(uint16_t type) const { return type < kSlots ? by_type_[type] : nullptr; }

 private:
  static constexpr uint16_t kSlots = 128;
  const ScalarAttr<Owner>* by_type_[kSlots] = {};
};

// Attr::U8/U16/U32/S32, inline (see ForEachAttr): a value cut short is
// left unset.
template <class Owner, size_t N>
bool ReadScalar(const ScalarIndex<Owner, N>& index, const Attr& attr, Owner* out) {
  const ScalarAttr<Owner>* a = index.Find(attr.type);
  if (a == nullptr) return false;
  switch (a->wire) {
    case Wire::kU8:
      if (attr.len >= 1) out->*a->field = attr.data[0];
      break;
    case Wire::kU16:
      if (attr.len >= 2) {
        uint16_t v;
        std::memcpy(&v, attr.data, 2);
        out->*a->field = v;
      }
      break;
    case Wire::kU32:
      if (attr.len >= 4) {
        uint32_t v;
        std::memcpy(&v, attr.data, 4);
        out->*a->field = v;
      }
      break;
    case Wire::kS32:
      if (attr.len >= 4) {
        int32_t v;
        std::memcpy(&v, attr.data, 4);
        out->*a->field = v;
      }
      break;
  }
  return true;
}

// The walk and the checks of AttrReader, inline: decoding a dump walks some
// 40 attributes a link, and the calls for each one (Next, then U32 or
// String) were half the instructions of the decoding. Calls fn(attr) for each attribute; returns
// false when the run was cut short (AttrReader::truncated()).
template <class Fn>
inline bool ForEachAttr(const uint8_t* data, size_t len, Fn&& fn) {
  size_t off = 0;
  while (off < len) {
    if (len - off < NLA_HDRLEN) return false;
    nlattr h;
    std::memcpy(&h, data + off, sizeof h);
    if (h.nla_len < NLA_HDRLEN || h.nla_len > len - off) return false;
    fn(Attr{static_cast<uint16_t>(h.nla_type & NLA_TYPE_MASK), data + off + NLA_HDRLEN,
            size_t{h.nla_len} - NLA_HDRLEN});
    off += NLA_ALIGN(h.nla_len);  // past len only after the last attribute
  }
  return true;
}

// Attr::String, inline, into an optional member.
inline void SetString(std::optional<std::string>& out, const Attr& a) {
  const char* s = reinterpret_cast<const char*>(a.data);
  out.emplace(s, strnlen(s, a.len));
}

const ScalarIndex kLinkIndex(kLinkScalars);
const ScalarIndex kMacvlanIndex(kMacvlanScalars);

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

// Returns false when an attribute run was cut short.
bool DecodeMacvlanData(const Attr& data, MacvlanAttrs* m) {
  bool whole = true;
  whole &= ForEachAttr(data.data, data.len, [&](const Attr& a) {
    if (ReadScalar(kMacvlanIndex, a, m)) return;
    if (a.type == IFLA_MACVLAN_MACADDR_MODE) {
      m->macaddr_mode = a.U32();
    } else if (a.type == IFLA_MACVLAN_MACADDR_DATA) {
      std::vector<Mac> macs;
      whole &= ForEachAttr(a.data, a.len, [&](const Attr& mac) {
        if (mac.type != IFLA_MACVLAN_MACADDR || mac.len != 6) return;
        Mac v;
        std::memcpy(v.data(), mac.data, 6);
        macs.push_back(v);
      });
      m->macaddr_data = std::move(macs);
    }
  });
  return whole;
}

bool IsMacvlanKind(const std::string& kind) { return kind == "macvlan" || kind == "macvtap"; }

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

bool DecodeLink(const nlmsghdr* h, LinkAttrs* out) {
  if (h->nlmsg_type != RTM_NEWLINK && h->nlmsg_type != RTM_DELLINK) return false;
  const auto* ifi = FamilyHeader<ifinfomsg>(h);
  if (!ifi) return false;
  out->index = ifi->ifi_index;
  out->flags = ifi->ifi_flags;
  out->type = ifi->ifi_type;
  constexpr size_t kStart = NLMSG_SPACE(sizeof(ifinfomsg));
  if (h->nlmsg_len < kStart) return true;  // no attributes
  const uint8_t* attrs = reinterpret_cast<const uint8_t*>(h) + kStart;
  bool whole = ForEachAttr(attrs, h->nlmsg_len - kStart, [out](const Attr& a) {
    if (ReadScalar(kLinkIndex, a, out)) return;
    switch (a.type) {
      case IFLA_IFNAME: SetString(out->name, a); break;
      case IFLA_PARENT_DEV_NAME: SetString(out->parent_dev_name, a); break;
      case IFLA_ADDRESS:
        if (a.len == 6) {
          Mac m;
          std::memcpy(m.data(), a.data, 6);
          out->address = m;
        } else {
          out->raw_address = std::vector<uint8_t>(a.data, a.data + a.len);
        }
        break;
      case IFLA_LINKINFO: {
        std::optional<Attr> data;
        bool info_whole = ForEachAttr(a.data, a.len, [&](const Attr& info) {
          if (info.type == IFLA_INFO_KIND) SetString(out->kind, info);
          if (info.type == IFLA_INFO_DATA) data = info;
        });
        if (!info_whole) out->truncated = true;
        // IFLA_INFO_KIND comes before IFLA_INFO_DATA, but do not rely on it.
        if (data && out->kind && IsMacvlanKind(*out->kind)) {
          out->macvlan.emplace();
          if (!DecodeMacvlanData(*data, &*out->macvlan)) out->truncated = true;
        }
        break;
      }
      default: break;  // unknown or unneeded: skipped
    }
  });
  if (!whole) out->truncated = true;
  return true;
}

}  // namespace macvlan
