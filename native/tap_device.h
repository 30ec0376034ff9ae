// The macvtap character device: finding, making and opening /dev/tapN.
#pragma once

#include <cstdint>
#include <string>

namespace macvlan {

// Reads /sys/class/net/<ifname>/macvtap/tap<ifindex>/dev ("major:minor") as
// the calling thread's mount namespace shows it. False when absent.
bool ReadTapDevt(const std::string& ifname, int ifindex, uint32_t* major, uint32_t* minor);

}  // namespace macvlan
