#include "sysfs_probe.h"

#include <errno.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <cstring>
#include <unordered_map>

#include "netns.h"
#include "nlmsg.h"

namespace macvlan {

bool IsWireless(const std::string& ifname) {
  std::string base = "/sys/class/net/" + ifname;
  struct stat st;
  return stat((base + "/wireless").c_str(), &st) == 0 || stat((base + "/phy80211").c_str(), &st) == 0;
}

bool IsWirelessLink(int ifindex, const std::string& ifname) {
  struct Known {
    std::string name;
    bool wireless;
  };
  constexpr size_t kMaxKnown = 4096;
  thread_local std::unordered_map<int, Known> known;
  auto it = known.find(ifindex);
  if (it != known.end() && it->second.name == ifname) return it->second.wireless;
  bool wireless = IsWireless(ifname);
  if (known.size() >= kMaxKnown) known.clear();
  known[ifindex] = {ifname, wireless};
  return wireless;
}

namespace {

// For SIOCGIFNAME/SIOCGIFINDEX, which answer for the socket's namespace:
// this thread's. Closed when the thread ends.
int IoctlSocket() {
  thread_local UniqueFd sock;
  if (!sock.valid()) sock.Reset(socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  return sock.get();
}

}  // namespace

int IndexByName(const std::string& ifname) {
  ifreq ifr{};
  if (ifname.empty() || ifname.size() >= sizeof ifr.ifr_name) return -ENODEV;
  std::memcpy(ifr.ifr_name, ifname.data(), ifname.size());
  int sock = IoctlSocket();
  if (sock < 0) return -errno;
  if (ioctl(sock, SIOCGIFINDEX, &ifr) != 0) return -errno;
  return ifr.ifr_ifindex;
}

std::string NameByIndex(int ifindex) {
  ifreq ifr{};
  ifr.ifr_ifindex = ifindex;
  int sock = IoctlSocket();
  if (sock < 0 || ioctl(sock, SIOCGIFNAME, &ifr) != 0) return "";
  return ifr.ifr_name;
}

std::string WirelessByIndex(int ifindex) {
  std::string name = NameByIndex(ifindex);
  return !name.empty() && IsWirelessLink(ifindex, name) ? name : "";
}

std::string MacByName(const std::string& ifname) {
  ifreq ifr{};
  if (ifname.empty() || ifname.size() >= sizeof ifr.ifr_name) return "";
  std::memcpy(ifr.ifr_name, ifname.data(), ifname.size());
  int sock = IoctlSocket();
  if (sock < 0 || ioctl(sock, SIOCGIFHWADDR, &ifr) != 0 || ifr.ifr_hwaddr.sa_family != ARPHRD_ETHER)
    return "";
  return FormatMac(reinterpret_cast<const uint8_t*>(ifr.ifr_hwaddr.sa_data), 6);
}

}  // namespace macvlan
