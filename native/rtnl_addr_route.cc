#include "rtnl_addr_route.h"

#include <arpa/inet.h>
#include <linux/if_addr.h>

#include <cstring>

namespace macvlan {
namespace {

size_t AddressLength(uint8_t family) { return family == AF_INET6 ? 16 : family == AF_INET ? 4 : 0; }

bool PutAddress(MessageBuilder& b, uint16_t type, uint8_t family, const std::string& text, const char* name) {
  uint8_t bytes[16];
  if (inet_pton(family, text.c_str(), bytes) != 1) return false;
  b.Put(type, bytes, AddressLength(family), name);
  return true;
}

std::optional<std::string> AddressText(uint8_t family, const Attr& a) {
  if (a.len != AddressLength(family) || a.len == 0) return std::nullopt;
  char buf[INET6_ADDRSTRLEN];
  if (!inet_ntop(family, a.data, buf, sizeof buf)) return std::nullopt;
  return std::string(buf);
}

// RTA_VIA (struct rtvia): a next hop of another family, as an IPv4 route
// through an IPv6 neighbour.
std::optional<std::string> ViaText(const Attr& a) {
  if (a.len < sizeof(rtvia)) return std::nullopt;
  rtvia via;
  std::memcpy(&via, a.data, sizeof via);
  return AddressText(static_cast<uint8_t>(via.rtvia_family),
                     Attr{RTA_VIA, a.data + sizeof via, a.len - sizeof via});
}

// RTA_MULTIPATH: struct rtnexthop entries, each followed by its own
// attributes, each RTNH_ALIGNed.
void ReadNextHops(uint8_t family, const Attr& a, std::vector<NextHop>* out) {
  size_t off = 0;
  while (a.len - off >= sizeof(rtnexthop)) {
    rtnexthop nh;
    std::memcpy(&nh, a.data + off, sizeof nh);
    if (nh.rtnh_len < sizeof nh || nh.rtnh_len > a.len - off) break;
    NextHop hop;
    hop.ifindex = nh.rtnh_ifindex;
    hop.hops = nh.rtnh_hops;
    AttrReader r(a.data + off + RTNH_LENGTH(0), nh.rtnh_len - RTNH_LENGTH(0));
    Attr inner;
    while (r.Next(&inner)) {
      if (inner.type == RTA_GATEWAY) hop.gateway = AddressText(family, inner);
      if (inner.type == RTA_VIA) hop.gateway = ViaText(inner);
    }
    out->push_back(std::move(hop));
    off += RTNH_ALIGN(nh.rtnh_len);
    if (off > a.len) break;
  }
}

// A gateway as the kernel takes it: RTA_GATEWAY of the route's family, or
// RTA_VIA (struct rtvia) for an IPv4 route through an IPv6 neighbour.
// Appends the attribute (header included) to `out`.
bool GatewayAttr(uint8_t family, const std::string& text, std::vector<uint8_t>* out) {
  uint8_t family_of_gw = text.find(':') == std::string::npos ? AF_INET : AF_INET6;
  uint8_t bytes[16];
  if (inet_pton(family_of_gw, text.c_str(), bytes) != 1) return false;
  size_t addr_len = AddressLength(family_of_gw);
  bool via = family_of_gw != family;
  size_t payload = via ? sizeof(rtvia) + addr_len : addr_len;
  size_t at = out->size();
  out->resize(at + RTA_SPACE(payload));
  rtattr head{};
  head.rta_len = static_cast<unsigned short>(RTA_LENGTH(payload));
  head.rta_type = via ? RTA_VIA : RTA_GATEWAY;
  uint8_t* p = out->data() + at;
  std::memcpy(p, &head, sizeof head);
  p += RTA_LENGTH(0);
  if (via) {
    rtvia v{};
    v.rtvia_family = family_of_gw;
    std::memcpy(p, &v, sizeof v);
    p += sizeof v;
  }
  std::memcpy(p, bytes, addr_len);
  return true;
}

bool PutGateway(MessageBuilder& b, uint8_t family, const std::string& text) {
  std::vector<uint8_t> attr;
  if (!GatewayAttr(family, text, &attr)) return false;
  rtattr head;
  std::memcpy(&head, attr.data(), sizeof head);
  b.Put(head.rta_type, attr.data() + RTA_LENGTH(0), head.rta_len - RTA_LENGTH(0),
        head.rta_type == RTA_VIA ? "RTA_VIA" : "RTA_GATEWAY");
  return true;
}

// RTA_MULTIPATH's payload: a struct rtnexthop per hop, its gateway after it.
bool PutNextHops(uint8_t family, const std::vector<NextHop>& list, std::vector<uint8_t>* out) {
  for (const NextHop& nh : list) {
    size_t at = out->size();
    out->resize(at + RTNH_LENGTH(0));
    if (nh.gateway && !GatewayAttr(family, *nh.gateway, out)) return false;
    rtnexthop head{};
    head.rtnh_len = static_cast<unsigned short>(out->size() - at);
    head.rtnh_hops = nh.hops;
    head.rtnh_ifindex = nh.ifindex;
    std::memcpy(out->data() + at, &head, sizeof head);
    out->resize(at + RTNH_ALIGN(head.rtnh_len));
  }
  return true;
}

uint16_t Flags(AddrRouteOp op) {
  switch (op) {
    case AddrRouteOp::kAdd: return NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL;
    case AddrRouteOp::kDelete: return NLM_F_REQUEST | NLM_F_ACK;
    case AddrRouteOp::kDump: return NLM_F_REQUEST | NLM_F_DUMP;
  }
  return NLM_F_REQUEST;
}

EncodedRequest Finish(MessageBuilder& b, AddrRouteOp op) {
  EncodedRequest req;
  req.bytes = b.Finish();
  req.attrs = b.TakeAttrs();
  req.dump = op == AddrRouteOp::kDump;
  return req;
}

}  // namespace

EncodedRequest EncodeAddrRequest(AddrRouteOp op, const AddrAttrs& a) {
  uint16_t type = op == AddrRouteOp::kAdd      ? RTM_NEWADDR
                  : op == AddrRouteOp::kDelete ? RTM_DELADDR
                                               : RTM_GETADDR;
  MessageBuilder b(type, Flags(op));
  auto& ifa = b.Header<ifaddrmsg>();
  ifa.ifa_family = a.family;
  ifa.ifa_prefixlen = a.prefixlen;
  ifa.ifa_scope = a.scope;
  ifa.ifa_index = static_cast<uint32_t>(a.index);
  // Like `ip address add`: IFA_LOCAL and IFA_ADDRESS both carry the address.
  if (a.local && !PutAddress(b, IFA_LOCAL, a.family, *a.local, "IFA_LOCAL")) return {};
  if (a.address && !PutAddress(b, IFA_ADDRESS, a.family, *a.address, "IFA_ADDRESS")) return {};
  if (a.flags) b.PutU32(IFA_FLAGS, static_cast<uint32_t>(*a.flags), "IFA_FLAGS");
  return Finish(b, op);
}

EncodedRequest EncodeRouteRequest(AddrRouteOp op, const RouteAttrs& r) {
  uint16_t type = op == AddrRouteOp::kAdd      ? RTM_NEWROUTE
                  : op == AddrRouteOp::kDelete ? RTM_DELROUTE
                                               : RTM_GETROUTE;
  MessageBuilder b(type, Flags(op));
  auto& rtm = b.Header<rtmsg>();
  rtm.rtm_family = r.family;
  rtm.rtm_dst_len = r.dst_len;
  rtm.rtm_protocol = r.protocol;
  rtm.rtm_scope = r.scope;
  rtm.rtm_type = r.type;
  rtm.rtm_tos = r.tos;
  // rtm_table is a u8: larger table ids go in RTA_TABLE with RT_TABLE_UNSPEC
  // here. A dump filters by RTA_TABLE only (strict checking).
  bool big = r.table > 255 || op == AddrRouteOp::kDump;
  rtm.rtm_table = big ? static_cast<uint8_t>(RT_TABLE_UNSPEC) : static_cast<uint8_t>(r.table);
  if (r.dst && !PutAddress(b, RTA_DST, r.family, *r.dst, "RTA_DST")) return {};
  if (r.gateway && !PutGateway(b, r.family, *r.gateway)) return {};
  if (r.prefsrc && !PutAddress(b, RTA_PREFSRC, r.family, *r.prefsrc, "RTA_PREFSRC")) return {};
  if (r.oif) b.PutU32(RTA_OIF, static_cast<uint32_t>(*r.oif), "RTA_OIF");
  if (r.priority) b.PutU32(RTA_PRIORITY, static_cast<uint32_t>(*r.priority), "RTA_PRIORITY");
  if (big && r.table) b.PutU32(RTA_TABLE, r.table, "RTA_TABLE");
  if (!r.nexthops.empty()) {
    std::vector<uint8_t> hops;
    if (!PutNextHops(r.family, r.nexthops, &hops)) return {};
    b.Put(RTA_MULTIPATH, hops.data(), hops.size(), "RTA_MULTIPATH");
  }
  return Finish(b, op);
}

bool DecodeAddr(const nlmsghdr* h, AddrAttrs* out) {
  if (h->nlmsg_type != RTM_NEWADDR && h->nlmsg_type != RTM_DELADDR) return false;
  const auto* ifa = FamilyHeader<ifaddrmsg>(h);
  if (!ifa) return false;
  out->family = ifa->ifa_family;
  out->prefixlen = ifa->ifa_prefixlen;
  out->scope = ifa->ifa_scope;
  out->index = static_cast<int32_t>(ifa->ifa_index);
  out->flags = ifa->ifa_flags;
  AttrReader r = AttributesAfter<ifaddrmsg>(h);
  Attr a;
  while (r.Next(&a)) {
    switch (a.type) {
      case IFA_ADDRESS: out->address = AddressText(out->family, a); break;
      case IFA_LOCAL: out->local = AddressText(out->family, a); break;
      case IFA_LABEL: out->label = a.String(); break;
      case IFA_FLAGS:
        if (auto v = a.U32()) out->flags = *v;
        break;
      default: break;
    }
  }
  return true;
}

bool DecodeRoute(const nlmsghdr* h, RouteAttrs* out) {
  if (h->nlmsg_type != RTM_NEWROUTE && h->nlmsg_type != RTM_DELROUTE) return false;
  const auto* rtm = FamilyHeader<rtmsg>(h);
  if (!rtm) return false;
  out->family = rtm->rtm_family;
  out->dst_len = rtm->rtm_dst_len;
  out->protocol = rtm->rtm_protocol;
  out->scope = rtm->rtm_scope;
  out->type = rtm->rtm_type;
  out->tos = rtm->rtm_tos;
  out->table = rtm->rtm_table;
  AttrReader r = AttributesAfter<rtmsg>(h);
  Attr a;
  while (r.Next(&a)) {
    switch (a.type) {
      case RTA_DST: out->dst = AddressText(out->family, a); break;
      case RTA_GATEWAY: out->gateway = AddressText(out->family, a); break;
      case RTA_VIA: out->gateway = ViaText(a); break;
      case RTA_MULTIPATH: ReadNextHops(out->family, a, &out->nexthops); break;
      case RTA_PREFSRC: out->prefsrc = AddressText(out->family, a); break;
      case RTA_OIF:
        if (auto v = a.U32()) out->oif = *v;
        break;
      case RTA_PRIORITY:
        if (auto v = a.U32()) out->priority = *v;
        break;
      case RTA_TABLE:
        if (auto v = a.U32()) out->table = *v;
        break;
      default: break;
    }
  }
  return true;
}

}  // namespace macvlan
