#include "sysfs_probe.h"

#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <unordered_map>

#include "netns.h"

namespace macvlan {

bool IsWireless(const std::string& ifname) {
  std::string base = "/sys/class/net/" + ifname;
  struct stat st;
  return stat((base + "/wireless").c_str(), &st) == 0 || stat((base + "/phy80211").c_str(), &st) == 0;
}

std::string WirelessByIndex(int ifindex) {
  thread_local std::unordered_map<int, std::string> known;
  thread_local UniqueFd sock;  // closed when the thread ends
  auto it = known.find(ifindex);
  if (it != known.end()) return it->second;
  // SIOCGIFNAME answers for the socket's namespace: this thread's.
  if (!sock.valid()) sock.Reset(socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  ifreq ifr{};
  ifr.ifr_ifindex = ifindex;
  if (!sock.valid() || ioctl(sock.get(), SIOCGIFNAME, &ifr) != 0) return "";
  std::string name = ifr.ifr_name;
  std::string result = IsWireless(name) ? name : "";
  known.emplace(ifindex, result);
  return result;
}

}  // namespace macvlan
