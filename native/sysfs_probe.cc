#include "sysfs_probe.h"

#include <dirent.h>
#include <sys/stat.h>

#include <cstring>

namespace macvlan {

bool IsWireless(const std::string& ifname) {
  std::string base = "/sys/class/net/" + ifname;
  struct stat st;
  return stat((base + "/wireless").c_str(), &st) == 0 || stat((base + "/phy80211").c_str(), &st) == 0;
}

std::string WirelessLower(const std::string& ifname) {
  std::string dir = "/sys/class/net/" + ifname;
  DIR* d = opendir(dir.c_str());
  if (!d) return "";
  std::string found;
  while (dirent* e = readdir(d)) {
    if (std::strncmp(e->d_name, "lower_", 6) != 0) continue;
    std::string lower = e->d_name + 6;
    if (IsWireless(lower)) {
      found = lower;
      break;
    }
  }
  closedir(d);
  return found;
}

}  // namespace macvlan
