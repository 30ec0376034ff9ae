// RTM_*ADDR and RTM_*ROUTE messages (what the host shim needs).
#pragma once

#include <linux/rtnetlink.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "nlmsg.h"

namespace macvlan {

struct AddrAttrs {
  // struct ifaddrmsg
  uint8_t family = 0;  // AF_INET or AF_INET6
  uint8_t prefixlen = 0;
  uint8_t scope = 0;
  int32_t index = 0;
  std::optional<std::string> address;  // IFA_ADDRESS (text form)
  std::optional<std::string> local;    // IFA_LOCAL
  std::optional<std::string> label;    // IFA_LABEL
  std::optional<int64_t> flags;        // IFA_FLAGS (u32; the header's ifa_flags is its low byte)
};

// One next hop of a multipath route (struct rtnexthop and its attributes).
struct NextHop {
  int32_t ifindex = 0;                 // rtnh_ifindex (0: none)
  uint8_t hops = 0;                    // rtnh_hops: the weight less one
  std::optional<std::string> gateway;  // RTA_GATEWAY, or RTA_VIA's address
};

struct RouteAttrs {
  // struct rtmsg
  uint8_t family = 0;
  uint8_t dst_len = 0;
  uint8_t protocol = 0;
  uint8_t scope = 0;
  uint8_t type = 0;
  uint8_t tos = 0;
  uint32_t table = 0;                  // rtm_table, or RTA_TABLE above 255
  std::optional<std::string> dst;      // RTA_DST
  std::optional<std::string> gateway;  // RTA_GATEWAY
  std::optional<std::string> prefsrc;  // RTA_PREFSRC
  std::optional<int64_t> oif;          // RTA_OIF
  std::optional<int64_t> priority;     // RTA_PRIORITY (the metric)
  std::vector<NextHop> nexthops;       // RTA_MULTIPATH
};

enum class AddrRouteOp { kAdd, kDelete, kDump };

// Text addresses that do not parse for the family become an empty request
// (EncodedRequest::bytes empty); TypeScript validated them already.
EncodedRequest EncodeAddrRequest(AddrRouteOp op, const AddrAttrs& a);
EncodedRequest EncodeRouteRequest(AddrRouteOp op, const RouteAttrs& r);

bool DecodeAddr(const nlmsghdr* h, AddrAttrs* out);
bool DecodeRoute(const nlmsghdr* h, RouteAttrs* out);

}  // namespace macvlan
