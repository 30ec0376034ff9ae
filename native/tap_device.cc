#include "tap_device.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>

namespace macvlan {

bool ReadTapDevt(const std::string& ifname, int ifindex, uint32_t* major, uint32_t* minor) {
  std::string path = "/sys/class/net/" + ifname + "/macvtap/tap" + std::to_string(ifindex) + "/dev";
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char buf[32];
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return false;
  buf[n] = 0;
  return sscanf(buf, "%u:%u", major, minor) == 2;
}

}  // namespace macvlan
