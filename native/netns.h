// Network namespace files: what the I/O thread needs to work inside one.
#pragma once

#include <string>

namespace macvlan {

// Opens an nsfs file (/run/netns/NAME, /proc/PID/ns/net) O_RDONLY|O_CLOEXEC
// and checks that it is a network namespace. Returns an fd or -errno.
int OpenNetnsFile(const std::string& path);

// Moves the calling thread (only) into the namespace. Returns 0 or -errno.
int EnterNetns(int fd);

// Owns one fd; closes it when it goes out of scope.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& o) noexcept : fd_(o.Release()) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { Reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int Release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }
  void Reset(int fd = -1);

 private:
  int fd_ = -1;
};

}  // namespace macvlan

namespace macvlan {

// sysfs shows the network namespace it was mounted from, not the reader's.
// Gives the calling thread a private mount namespace with a sysfs of its own
// netns on /sys. Returns 0 or -errno.
int MountSysfsForThread();

}  // namespace macvlan
