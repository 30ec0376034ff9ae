#include "tap_uevents.h"

#include <errno.h>
#include <sys/socket.h>

#include <linux/netlink.h>

#include <array>
#include <charconv>
#include <string_view>

namespace macvlan {
namespace {

constexpr int kRcvbuf = 8 << 20;  // a batch of 1024 creates queues ~4 uevents each
constexpr size_t kMaxKnown = 1 << 16;

template <class T>
bool ParseNumber(std::string_view s, T* out) {
  auto [end, err] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return err == std::errc() && end == s.data() + s.size();
}

}  // namespace

bool ParseTapUevent(const char* msg, size_t len, TapUevent* out) {
  std::string_view all(msg, len);
  size_t end = all.find('\0');
  std::string_view head = all.substr(0, end);
  if (head.rfind("add@", 0) == 0) {
    out->add = true;
  } else if (head.rfind("remove@", 0) == 0) {
    out->add = false;
  } else {
    return false;
  }
  bool macvtap = false, index = false, major = false, minor = false;
  while (end != std::string_view::npos && end + 1 < all.size()) {
    size_t next = all.find('\0', end + 1);
    std::string_view field = all.substr(end + 1, next == std::string_view::npos ? next : next - end - 1);
    end = next;
    if (field == "SUBSYSTEM=macvtap") {
      macvtap = true;
    } else if (field.rfind("DEVNAME=tap", 0) == 0) {
      index = ParseNumber(field.substr(11), &out->ifindex) && out->ifindex > 0;
    } else if (field.rfind("MAJOR=", 0) == 0) {
      major = ParseNumber(field.substr(6), &out->major);
    } else if (field.rfind("MINOR=", 0) == 0) {
      minor = ParseNumber(field.substr(6), &out->minor);
    }
  }
  return macvtap && index && (!out->add || (major && minor));
}

bool TapUevents::Listen() {
  if (sock_.valid()) return true;
  UniqueFd fd(socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_KOBJECT_UEVENT));
  if (!fd.valid()) return false;
  int size = kRcvbuf;
  if (setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) != 0) {
    setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  }
  sockaddr_nl addr{};
  addr.nl_family = AF_NETLINK;
  addr.nl_groups = 1;  // the kernel's own uevents (udev's re-broadcasts are group 2)
  if (bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return false;
  sock_ = std::move(fd);
  buffers_.resize(kBatch * kMessageSize);
  return true;
}

void TapUevents::Drain() {
  if (!sock_.valid()) return;
  // A create queues four uevents (the net device, its two queues, the tap):
  // recvmmsg() takes them in one call.
  std::array<mmsghdr, kBatch> msgs{};
  std::array<iovec, kBatch> iov{};
  std::array<sockaddr_nl, kBatch> from{};
  for (;;) {
    for (size_t i = 0; i < kBatch; i++) {
      iov[i] = {buffers_.data() + i * kMessageSize, kMessageSize};
      msgs[i].msg_hdr = {};
      msgs[i].msg_hdr.msg_name = &from[i];
      msgs[i].msg_hdr.msg_namelen = sizeof from[i];
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
    }
    int n = recvmmsg(sock_.get(), msgs.data(), kBatch, 0, nullptr);  // the socket is non-blocking
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == ENOBUFS) {  // a uevent was dropped: one of ours may be missing
        known_.clear();
        continue;
      }
      return;  // EAGAIN: all read
    }
    for (int i = 0; i < n; i++) {
      // Not the kernel's, or cut short: not ours to read.
      if (from[i].nl_pid != 0 || (msgs[i].msg_hdr.msg_flags & MSG_TRUNC)) continue;
      TapUevent ev;
      if (!ParseTapUevent(static_cast<const char*>(iov[i].iov_base), msgs[i].msg_len, &ev)) continue;
      if (!ev.add) {
        known_.erase(ev.ifindex);
      } else {
        if (known_.size() >= kMaxKnown) known_.clear();
        known_[ev.ifindex] = {ev.major, ev.minor};
      }
    }
    if (static_cast<size_t>(n) < kBatch) return;  // the queue ran dry
  }
}

bool TapUevents::Find(int ifindex, uint32_t* major, uint32_t* minor) const {
  auto it = known_.find(ifindex);
  if (it == known_.end()) return false;
  *major = it->second.major;
  *minor = it->second.minor;
  return true;
}

TapUevents& ThreadTapUevents() {
  thread_local TapUevents uevents;  // its socket closes when the I/O thread ends
  return uevents;
}

}  // namespace macvlan
