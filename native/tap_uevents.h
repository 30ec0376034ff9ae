// A macvtap's device number from the kernel's uevents: the "add" of its
// char device carries MAJOR= and MINOR= and is queued before the create's
// ACK, so reading it costs a recv() where sysfs costs a path walk.
#pragma once

#include <cstddef>
#include <cstdint>
#include <unordered_map>
#include <vector>

#include "netns.h"

namespace macvlan {

struct TapUevent {
  bool add = false;  // "add@", else "remove@"
  int ifindex = 0;   // DEVNAME=tap<ifindex>
  uint32_t major = 0;
  uint32_t minor = 0;
};

// One NETLINK_KOBJECT_UEVENT message of SUBSYSTEM=macvtap ("ACTION@DEVPATH"
// then NUL-separated KEY=VALUE); false for any other message.
bool ParseTapUevent(const char* msg, size_t len, TapUevent* out);

// Whether the socket filter the listener attaches lets `msg` through, tried
// on a socketpair (tests); errno when it cannot be attached.
int TapUeventFilterPasses(const char* msg, size_t len, bool* passes);

// The device numbers of the macvtaps whose "add" this thread has seen since
// Listen(), in the thread's network namespace (uevents of net devices are
// tagged with theirs). One per I/O thread: see ThreadTapUevents().
class TapUevents {
 public:
  // Opens the listener; later macvtaps are known without sysfs. False when
  // the kernel refuses (the caller reads sysfs as before).
  bool Listen();
  bool listening() const { return sock_.valid(); }
  int fd() const { return sock_.get(); }  // -1 before Listen()
  // Reads what is queued (MSG_DONTWAIT), or about `at_most` messages of it:
  // adds, removes, and a lost message (ENOBUFS) forgets everything, so no
  // answer is ever stale. Returns how many messages it read.
  size_t Drain(size_t at_most = SIZE_MAX);
  bool Find(int ifindex, uint32_t* major, uint32_t* minor) const;

  static constexpr size_t kBatch = 16;  // messages a recvmmsg() call

 private:
  struct Devt {
    uint32_t major, minor;
  };
  // A uevent is at most UEVENT_BUFFER_SIZE (2048) plus its "ACTION@DEVPATH".
  static constexpr size_t kMessageSize = 4096;
  UniqueFd sock_;
  std::vector<char> buffers_;  // kBatch messages
  std::unordered_map<int, Devt> known_;
};

TapUevents& ThreadTapUevents();

}  // namespace macvlan
