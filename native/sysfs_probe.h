// Facts about a link that only sysfs knows (read on the I/O thread, whose
// sysfs shows the handle's namespace).
#pragma once

#include <string>

namespace macvlan {

// A Wi-Fi device: /sys/class/net/<name>/wireless or .../phy80211 exists.
bool IsWireless(const std::string& ifname);

// The name of a Wi-Fi lower of `ifname` (from its lower_<name> links), or "".
std::string WirelessLower(const std::string& ifname);

}  // namespace macvlan
