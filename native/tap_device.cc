#include "tap_device.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <linux/if_tun.h>

#include <atomic>
#include <charconv>
#include <cstring>
#include <filesystem>

#include "netns.h"
#include "sysfs_probe.h"

namespace macvlan {

bool ReadTapDevt(const std::string& ifname, int ifindex, uint32_t* major, uint32_t* minor) {
  std::string path = "/sys/class/net/" + ifname + "/macvtap/tap" + std::to_string(ifindex) + "/dev";
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char buf[32];
  ssize_t n = read(fd, buf, sizeof buf);
  close(fd);
  if (n <= 0) return false;
  // "MAJOR:MINOR\n". from_chars, unlike sscanf's %u, rejects a sign and a
  // number out of range.
  const char* end = buf + n;
  auto [colon, err] = std::from_chars(buf, end, *major);
  if (err != std::errc() || colon == end || *colon != ':') return false;
  auto [rest, err2] = std::from_chars(colon + 1, end, *minor);
  return err2 == std::errc() && (rest == end || *rest == '\n');
}

namespace {

bool IsNodeFor(const std::string& path, dev_t devt, struct stat* st) {
  return stat(path.c_str(), st) == 0 && S_ISCHR(st->st_mode) && st->st_rdev == devt;
}

// Removes the nodes in `dir` that processes no longer running made (they
// died with a tap open, where no close() ran): such a node keeps its
// owner, and its device number comes back for the next macvtap. Only
// character devices named as MakeNode names them: tap<major>_<minor>-<pid>-<n>.
void RemoveOrphanNodes(const std::string& dir) {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    std::string name = entry.path().filename().string();
    const char* p = name.c_str();
    const char* end = p + name.size();
    if (name.compare(0, 3, "tap") != 0) continue;
    uint32_t major = 0, minor = 0, n = 0;
    pid_t pid = 0;
    auto r1 = std::from_chars(p + 3, end, major);
    if (r1.ec != std::errc() || r1.ptr == end || *r1.ptr != '_') continue;
    auto r2 = std::from_chars(r1.ptr + 1, end, minor);
    if (r2.ec != std::errc() || r2.ptr == end || *r2.ptr != '-') continue;
    auto r3 = std::from_chars(r2.ptr + 1, end, pid);
    if (r3.ec != std::errc() || r3.ptr == end || *r3.ptr != '-' || pid <= 0) continue;
    auto r4 = std::from_chars(r3.ptr + 1, end, n);
    if (r4.ec != std::errc() || r4.ptr != end) continue;
    struct stat st;
    if (kill(pid, 0) != 0 && errno == ESRCH && lstat(entry.path().c_str(), &st) == 0 && S_ISCHR(st.st_mode)) {
      unlink(entry.path().c_str());
    }
  }
}

// Our own node for `devt` in `dir` (made 0711 if missing: others may reach
// a node but only its own owner and mode let them open it), named after the
// device number (two namespaces' tap4 never share one), this process and
// this open: two Taps of one link never share one, so neither's close()
// removes the other's node, nor does an open change another's owner.
int MakeNode(const TapOpenParams& p, dev_t devt, std::string* path, bool* created) {
  static std::atomic<uint64_t> opens{0};
  uid_t uid = p.node_uid >= 0 ? static_cast<uid_t>(p.node_uid) : geteuid();
  gid_t gid = p.node_gid >= 0 ? static_cast<gid_t>(p.node_gid) : getegid();
  mode_t mode = static_cast<mode_t>(p.node_mode);
  std::string prefix = "tap" + std::to_string(major(devt)) + "_" + std::to_string(minor(devt)) + "-";
  RemoveOrphanNodes(p.node_dir);
  *path = p.node_dir + "/" + prefix + std::to_string(getpid()) + "-" + std::to_string(++opens);
  struct stat st;
  bool have = IsNodeFor(*path, devt, &st);
  if (!have || p.node_uid >= 0 || p.node_gid >= 0) {
    if (mkdir(p.node_dir.c_str(), 0711) != 0 && errno != EEXIST) return errno;
    struct stat dir;
    // A node for another user is no use in a directory that user cannot search.
    if ((p.node_uid >= 0 || p.node_gid >= 0) && stat(p.node_dir.c_str(), &dir) == 0 &&
        (dir.st_mode & 0011) != 0011 && chmod(p.node_dir.c_str(), (dir.st_mode & 07777) | 0011) != 0) {
      return errno;
    }
  }
  if (!have) {
    if (unlink(path->c_str()) != 0 && errno != ENOENT) return errno;
    if (mknod(path->c_str(), S_IFCHR | 0600, devt) != 0) return errno;
    *created = true;
  }
  // A node left by an earlier open may be another user's: owner and mode
  // are set unless it already has them.
  if (!have || st.st_uid != uid || st.st_gid != gid) {
    if (chown(path->c_str(), uid, gid) != 0) return errno;
  }
  if (!have || (st.st_mode & 07777) != mode) {
    if (chmod(path->c_str(), mode) != 0) return errno;
  }
  return 0;
}

// TUNSETOFFLOAD refuses bits it does not know (EINVAL): trying each one is
// the documented way to learn what a kernel supports. Segmentation bits
// need TUN_F_CSUM with them, and ECN a TSO bit.
unsigned ProbeOffloads(int fd) {
  const unsigned kCandidates[] = {TUN_F_CSUM, TUN_F_TSO4, TUN_F_TSO6, TUN_F_TSO_ECN,
                                  TUN_F_UFO,  TUN_F_USO4, TUN_F_USO6};
  unsigned supported = 0;
  for (unsigned f : kCandidates) {
    unsigned with = f == TUN_F_CSUM ? f : f == TUN_F_TSO_ECN ? TUN_F_CSUM | TUN_F_TSO4 | f : TUN_F_CSUM | f;
    if (ioctl(fd, TUNSETOFFLOAD, with) == 0) supported |= f;
  }
  return supported;
}

int Fail(TapOpenResult* r, int error, std::string message) {
  for (int fd : r->fds) close(fd);
  r->fds.clear();
  // Nothing half-made stays behind: a node this open made goes with it.
  if (r->node_is_new) unlink(r->path.c_str());
  r->error = error;
  r->message = std::move(message);
  return error;
}

}  // namespace

TapOpenResult OpenTap(const TapOpenParams& p) {
  TapOpenResult r;
  if (p.ifindex > 0) {
    r.ifindex = p.ifindex;
    r.ifname = NameByIndex(p.ifindex);
    if (r.ifname.empty()) {
      Fail(&r, ENODEV, "no link #" + std::to_string(p.ifindex));
      return r;
    }
  } else {
    r.ifname = p.ifname;
    r.ifindex = IndexByName(p.ifname);
    if (r.ifindex < 0) {
      Fail(&r, -r.ifindex, "no link '" + p.ifname + "'");
      return r;
    }
  }
  // Only a macvtap has the macvtap class device in sysfs.
  if (!ReadTapDevt(r.ifname, r.ifindex, &r.major, &r.minor)) {
    Fail(&r, EMEDIUMTYPE, "'" + r.ifname + "' has no macvtap device in sysfs");
    return r;
  }
  r.mac = MacByName(r.ifname);
  dev_t devt = makedev(r.major, r.minor);
  // /dev is one devtmpfs for every namespace while ifindexes are per
  // namespace: /dev/tapN may be another namespace's macvtap, or missing.
  std::string dev_path = "/dev/tap" + std::to_string(r.ifindex);
  struct stat dev_st;
  if (IsNodeFor(dev_path, devt, &dev_st) && p.node_uid < 0 && p.node_gid < 0) {
    r.path = dev_path;
  } else {
    int err = MakeNode(p, devt, &r.path, &r.node_is_new);
    if (err) {
      Fail(&r, err, "cannot make a device node in " + p.node_dir);
      return r;
    }
    r.made_node = true;
  }

  unsigned flags = IFF_TAP | IFF_NO_PI;
  if (p.vnet_hdr) flags |= IFF_VNET_HDR;
  if (p.queues > 1) flags |= IFF_MULTI_QUEUE;
  for (int q = 0; q < p.queues; q++) {
    int fd = open(r.path.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
      // tap_open() refuses with EBUSY past MAX_TAP_QUEUES (256) fds a macvtap.
      Fail(&r, errno,
           "cannot open " + r.path + " for queue " + std::to_string(q + 1) + " of " +
               std::to_string(p.queues));
      return r;
    }
    r.fds.push_back(fd);
    struct stat st;
    if (fstat(fd, &st) != 0 || st.st_rdev != devt) {
      Fail(&r, EXDEV, r.path + " is not the device of '" + r.ifname + "'");
      return r;
    }
    ifreq ifr{};
    if (ioctl(fd, TUNGETIFF, &ifr) != 0) {
      Fail(&r, errno, "TUNGETIFF on " + r.path);
      return r;
    }
    if (r.ifname != ifr.ifr_name) {
      Fail(&r, EXDEV, r.path + " belongs to '" + ifr.ifr_name + "', not '" + r.ifname + "'");
      return r;
    }
    // A new macvtap fd starts with IFF_VNET_HDR set: always say what we want.
    std::memset(&ifr, 0, sizeof ifr);
    ifr.ifr_flags = static_cast<short>(flags);
    if (ioctl(fd, TUNSETIFF, &ifr) != 0) {
      Fail(&r, errno, "TUNSETIFF on " + r.path);
      return r;
    }
    if (p.vnet_hdr && p.vnet_hdr_size > 0) {
      int size = p.vnet_hdr_size;
      if (ioctl(fd, TUNSETVNETHDRSZ, &size) != 0) {
        Fail(&r, errno, "TUNSETVNETHDRSZ on " + r.path);
        return r;
      }
    }
    if (q == 0 && ioctl(fd, TUNGETFEATURES, &r.features) != 0) r.features = 0;
  }
  if (p.vnet_hdr) {
    // Offloads belong to the device, not the queue: once, on the first fd.
    r.offload_supported = ProbeOffloads(r.fds[0]);
    if (p.offload & ~r.offload_supported) {
      Fail(&r, EOPNOTSUPP, "this kernel's macvtap does not support the offloads asked for");
      return r;
    }
    if (ioctl(r.fds[0], TUNSETOFFLOAD, p.offload) != 0) {
      Fail(&r, errno, "TUNSETOFFLOAD on " + r.path);
      return r;
    }
  }
  return r;
}

void CloseTap(int fd, const std::string& node, uint32_t major, uint32_t minor) {
  if (fd >= 0) close(fd);
  struct stat st;
  if (!node.empty() && IsNodeFor(node, makedev(major, minor), &st)) unlink(node.c_str());
}

}  // namespace macvlan
