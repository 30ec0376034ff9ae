// Facts about a link that only sysfs and the interface ioctls know (read on
// the I/O thread, whose sysfs and sockets are the handle's namespace's).
#pragma once

#include <string>

namespace macvlan {

// A Wi-Fi device: /sys/class/net/<name>/wireless or .../phy80211 exists.
bool IsWireless(const std::string& ifname);

// IsWireless, remembered per thread by ifindex and name (a device does not
// turn into Wi-Fi, and ifindexes are not reused soon).
bool IsWirelessLink(int ifindex, const std::string& ifname);

// The ifindex of the link named `ifname` in the calling thread's namespace,
// or -errno (-ENODEV when there is none).
int IndexByName(const std::string& ifname);

// The name of the link with this ifindex when it is a Wi-Fi device, else "".
// For the calling thread's namespace (the name is asked each time, so a
// renamed lower is reported by its new name).
std::string WirelessByIndex(int ifindex);

// The name of the link with this ifindex in the calling thread's namespace
// (SIOCGIFNAME), or "" when there is none.
std::string NameByIndex(int ifindex);

// The link's hardware address (SIOCGIFHWADDR) as FormatMac writes it, or ""
// when it has none of 6 bytes or is gone.
std::string MacByName(const std::string& ifname);

}  // namespace macvlan
