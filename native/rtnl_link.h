// RTM_*LINK messages: one structure for what we send, whose fields also name
// the columns of what we read back (js_link.h), and attribute tables that
// drive both directions.
#pragma once

#include <linux/if_link.h>
#include <linux/rtnetlink.h>

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "nlmsg.h"

namespace macvlan {

using Mac = std::array<uint8_t, 6>;

// IFLA_MACVLAN_BC_CUTOFF (s32) arrived in Linux 6.6 as the entry after
// IFLA_MACVLAN_BC_QUEUE_LEN_USED; older uapi headers lack the name.
constexpr uint16_t kIflaMacvlanBcCutoff = IFLA_MACVLAN_BC_QUEUE_LEN_USED + 1;

struct MacvlanAttrs {                            // IFLA_INFO_DATA for macvlan/macvtap
  std::optional<int64_t> mode;                   // IFLA_MACVLAN_MODE u32
  std::optional<int64_t> flags;                  // IFLA_MACVLAN_FLAGS u16
  std::optional<int64_t> macaddr_mode;           // IFLA_MACVLAN_MACADDR_MODE u32
  std::optional<Mac> macaddr;                    // IFLA_MACVLAN_MACADDR (with ADD/DEL)
  std::optional<std::vector<Mac>> macaddr_data;  // IFLA_MACVLAN_MACADDR_DATA
  std::optional<int64_t> macaddr_count;          // IFLA_MACVLAN_MACADDR_COUNT (read only)
  std::optional<int64_t> bc_queue_len;           // IFLA_MACVLAN_BC_QUEUE_LEN u32
  std::optional<int64_t> bc_queue_len_used;      // IFLA_MACVLAN_BC_QUEUE_LEN_USED (read only)
  std::optional<int64_t> bc_cutoff;              // IFLA_MACVLAN_BC_CUTOFF s32
};

struct LinkAttrs {
  // struct ifinfomsg
  int32_t index = 0;
  uint32_t flags = 0;   // ifi_flags
  uint32_t change = 0;  // ifi_change (requests only)

  std::optional<std::string> name;       // IFLA_IFNAME
  std::optional<Mac> address;            // IFLA_ADDRESS
  std::optional<int64_t> mtu;            // IFLA_MTU
  std::optional<int64_t> link;           // IFLA_LINK
  std::optional<int64_t> txqlen;         // IFLA_TXQLEN
  std::optional<int64_t> operstate;      // IFLA_OPERSTATE u8
  std::optional<int64_t> group;          // IFLA_GROUP
  std::optional<int64_t> num_tx_queues;  // IFLA_NUM_TX_QUEUES
  std::optional<int64_t> num_rx_queues;  // IFLA_NUM_RX_QUEUES
  std::optional<int64_t> link_netnsid;   // IFLA_LINK_NETNSID s32
  std::optional<int64_t> min_mtu;        // IFLA_MIN_MTU
  std::optional<int64_t> max_mtu;        // IFLA_MAX_MTU
  std::optional<int64_t> master;         // IFLA_MASTER
  std::optional<int64_t> net_ns_pid;     // IFLA_NET_NS_PID (requests only)
  std::optional<int64_t> net_ns_fd;      // IFLA_NET_NS_FD (requests only)
  std::optional<int64_t> ext_mask;       // IFLA_EXT_MASK (requests only)
  std::optional<std::string> link_name;  // IFLA_LINK by name, resolved before sending (requests only)
  std::optional<std::string> kind;       // IFLA_LINKINFO / IFLA_INFO_KIND
  std::optional<MacvlanAttrs> macvlan;   // IFLA_LINKINFO / IFLA_INFO_DATA

  // Not netlink, read back only (from uevents or sysfs): the macvtap device
  // number, and whether this link is a Wi-Fi device.
  std::optional<int64_t> tap_major;
  std::optional<int64_t> tap_minor;
  std::optional<int64_t> wireless;
};

enum class LinkOp {
  kCreate,  // RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL | NLM_F_ECHO
  kChange,  // RTM_NEWLINK on an existing link (what `ip link set` sends)
  kDelete,  // RTM_DELLINK by index, name or IFLA_GROUP
  kGet,     // RTM_GETLINK by index or name
  kDump,    // RTM_GETLINK | NLM_F_DUMP, optional kind/master filter
};

EncodedRequest EncodeLinkRequest(LinkOp op, const LinkAttrs& l);

// The scalar attributes, as one table per level that drives the encoder
// here and the decoder (js_link.h LinkTableBuilder::Add).
enum class Wire { kU8, kU16, kU32, kS32 };

template <class Owner>
struct ScalarAttr {
  uint16_t type;
  Wire wire;
  std::optional<int64_t> Owner::*field;
  const char* name;
};

std::span<const ScalarAttr<LinkAttrs>> LinkScalarAttrs();        // IFLA_*
std::span<const ScalarAttr<MacvlanAttrs>> MacvlanScalarAttrs();  // IFLA_MACVLAN_*

inline bool IsMacvlanKind(std::string_view kind) { return kind == "macvlan" || kind == "macvtap"; }

}  // namespace macvlan
