#include "netns.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <linux/nsfs.h>
#include <sys/ioctl.h>

namespace macvlan {

int OpenNetnsFile(const std::string& path) {
  // O_NONBLOCK: a FIFO would wait for a writer in open(), and the I/O thread
  // with it (setns() then refuses it as any other file).
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0) return -errno;
  // NS_GET_NSTYPE tells a network namespace from any other file; a kernel
  // without it (before 4.11) gets the check from setns() instead.
  int type = ioctl(fd, NS_GET_NSTYPE);
  if (type < 0 && errno != ENOTTY) {
    int err = errno;
    close(fd);
    return err == EINVAL ? -EINVAL : -err;
  }
  if (type >= 0 && type != CLONE_NEWNET) {
    close(fd);
    return -EINVAL;
  }
  return fd;
}

int EnterNetns(int fd) { return setns(fd, CLONE_NEWNET) == 0 ? 0 : -errno; }

UniqueFd& UniqueFd::operator=(UniqueFd&& o) noexcept {
  if (this != &o) Reset(o.Release());
  return *this;
}

void UniqueFd::Reset(int fd) {
  if (fd_ >= 0) close(fd_);
  fd_ = fd;
}

}  // namespace macvlan

#include <sys/mount.h>

namespace macvlan {

int MountSysfsForThread() {
  if (unshare(CLONE_NEWNS) != 0) return -errno;
  // Keep our mounts from propagating back to the process's namespace.
  if (mount(nullptr, "/", nullptr, MS_REC | MS_SLAVE, nullptr) != 0) return -errno;
  if (mount("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NOEXEC | MS_NODEV, nullptr) != 0) {
    // EBUSY: this very sysfs is already on /sys (do_add_mount refuses the
    // same superblock on the same mount point), as when the namespace asked
    // for is the one the process lives in.
    return errno == EBUSY ? 0 : -errno;
  }
  return 0;
}

}  // namespace macvlan
