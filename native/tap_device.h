// The macvtap character device: finding, making and opening /dev/tapN.
// Runs on a handle's I/O thread, which sees the link's own namespace (and a
// sysfs mounted from it).
#pragma once

#include <linux/if_tun.h>
#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

// TUN_F_USO4/USO6 (UDP segmentation) arrived in Linux 6.2, after the uapi
// headers some distributions ship.
#ifndef TUN_F_USO4
#define TUN_F_USO4 0x20
#endif
#ifndef TUN_F_USO6
#define TUN_F_USO6 0x40
#endif

namespace macvlan {

// Reads /sys/class/net/<ifname>/macvtap/tap<ifindex>/dev ("major:minor") as
// the calling thread's mount namespace shows it. False when absent.
bool ReadTapDevt(const std::string& ifname, int ifindex, uint32_t* major, uint32_t* minor);

struct TapOpenParams {
  std::string ifname;  // the link by name, or
  int ifindex = 0;     // by ifindex (when above 0)
  int queues = 1;
  bool vnet_hdr = false;
  int vnet_hdr_size = 0;  // 0: the kernel's default (10)
  std::string node_dir;   // where to mknod a node when /dev/tapN will not do
  int64_t node_uid = -1;  // owner/group/mode of a node we make (-1: leave)
  int64_t node_gid = -1;
  int64_t node_mode = 0600;
  unsigned offload = 0;  // TUN_F_* to set with TUNSETOFFLOAD (vnet_hdr only)
};

struct TapOpenResult {
  int error = 0;        // positive errno: ENODEV no such link, EMEDIUMTYPE not a macvtap
  std::string message;  // what went wrong, in words
  int ifindex = 0;      // the link opened
  std::string ifname;
  std::string mac;           // its MAC when opened ("" if it has none)
  std::string path;          // the node opened
  bool made_node = false;    // whether we made it
  bool node_is_new = false;  // made by this open (mknod): removed again if the open fails
  uint32_t major = 0, minor = 0;
  std::vector<int> fds;
  unsigned features = 0;           // TUNGETFEATURES
  unsigned offload_supported = 0;  // TUN_F_* this kernel's macvtap accepts (probed)
};

// Finds the link (SIOCGIFINDEX or SIOCGIFNAME: no netlink round trip), then
// opens `queues` fds O_RDWR|O_NONBLOCK|O_CLOEXEC on the macvtap's device,
// after checking that the node's dev_t is the link's (and making a node of
// our own when /dev/tapN is missing or belongs to another device), and that
// TUNGETIFF names the link. With vnet_hdr, probes which TUN_F_* offloads the
// kernel accepts and sets `offload`. On failure every fd is closed again and
// a node this open made is removed.
TapOpenResult OpenTap(const TapOpenParams& p);

// Closes one of a tap's fds (none when below 0), then removes `node` (when
// not empty) if it is still the character device major:minor: what a close
// needs, off the JS thread.
void CloseTap(int fd, const std::string& node, uint32_t major, uint32_t minor);

}  // namespace macvlan
