#include "tap_uevents.h"

#include <errno.h>
#include <sys/socket.h>

#include <linux/filter.h>
#include <linux/netlink.h>
#include <net/if.h>

#include <array>
#include <charconv>
#include <string_view>
#include <utility>
#include <vector>

namespace macvlan {
namespace {

constexpr int kRcvbuf = 8 << 20;  // a batch of 1024 creates queues 1024 uevents (the filter drops the rest)
constexpr size_t kMaxKnown = 1 << 16;

template <class T>
bool ParseNumber(std::string_view s, T* out) {
  auto [end, err] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return err == std::errc() && end == s.data() + s.size();
}

// A classic BPF socket filter that keeps the uevents of macvtap devices
// ("add@" or "remove@" then "/devices/virtual/net/<ifname>/macvtap/tapN")
// and drops the rest before they are queued: a create also sends its net
// device's and one for each queue (SUBSYSTEM=net, queues), and a delete as
// many removes, which the I/O thread read and parsed for nothing (a capture
// of three creates and deletes on Linux 6.18: 4 kept of 41). A message it
// keeps in error is still parsed and dropped by ParseTapUevent.
constexpr uint32_t Word(const char (&s)[5]) {
  return uint32_t{static_cast<uint8_t>(s[0])} << 24 | uint32_t{static_cast<uint8_t>(s[1])} << 16 |
         uint32_t{static_cast<uint8_t>(s[2])} << 8 | uint32_t{static_cast<uint8_t>(s[3])};
}

std::vector<sock_filter> TapUeventFilter() {
  constexpr uint32_t kPrefix = sizeof("/devices/virtual/net/") - 1;
  std::vector<sock_filter> p;
  auto op = [&](uint16_t code, uint32_t k, uint8_t jt = 0, uint8_t jf = 0) {
    p.push_back({code, jt, jf, k});
  };
  // Jumps to the two returns at the end are patched once the length is known.
  std::vector<std::pair<size_t, bool>> to_drop;  // (instruction, on true)
  std::vector<size_t> to_keep;                   // the true branch
  // The action: X is where the interface name begins.
  op(BPF_LD | BPF_W | BPF_ABS, 0);
  op(BPF_JMP | BPF_JEQ | BPF_K, Word("add@"), 0, 2);
  op(BPF_LDX | BPF_IMM, 4 + kPrefix);
  op(BPF_JMP | BPF_JA, 4);
  op(BPF_JMP | BPF_JEQ | BPF_K, Word("remo"));
  to_drop.emplace_back(p.size() - 1, false);
  op(BPF_LD | BPF_W | BPF_ABS, 4);
  op(BPF_JMP | BPF_JEQ | BPF_K, Word("ve@/"));
  to_drop.emplace_back(p.size() - 1, false);
  op(BPF_LDX | BPF_IMM, 7 + kPrefix);
  // The '/' after the name (IFNAMSIZ - 1 bytes at most; a name holds no
  // '/'), then "macv": cBPF has no loops, so one step a name length.
  for (uint32_t len = 1; len < IFNAMSIZ; len++) {
    op(BPF_LD | BPF_B | BPF_IND, len);
    op(BPF_JMP | BPF_JEQ | BPF_K, '/', 2, 0);
    op(BPF_JMP | BPF_JEQ | BPF_K, 0);  // the end of the path: the net device's own uevent
    to_drop.emplace_back(p.size() - 1, true);
    op(BPF_JMP | BPF_JA, 2);
    op(BPF_LD | BPF_W | BPF_IND, len + 1);
    op(BPF_JMP | BPF_JEQ | BPF_K, Word("macv"));
    to_keep.push_back(p.size() - 1);
    to_drop.emplace_back(p.size() - 1, false);
  }
  size_t drop = p.size();
  op(BPF_RET | BPF_K, 0);
  size_t keep = p.size();
  op(BPF_RET | BPF_K, UINT32_MAX);
  for (auto [at, on_true] : to_drop) (on_true ? p[at].jt : p[at].jf) = static_cast<uint8_t>(drop - at - 1);
  for (size_t at : to_keep) p[at].jt = static_cast<uint8_t>(keep - at - 1);
  return p;
}

int AttachTapUeventFilter(int fd) {
  static const std::vector<sock_filter> program = TapUeventFilter();
  sock_fprog prog{static_cast<unsigned short>(program.size()), const_cast<sock_filter*>(program.data())};
  return setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof prog) == 0 ? 0 : errno;
}

}  // namespace

int TapUeventFilterPasses(const char* msg, size_t len, bool* passes) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv) != 0) return errno;
  UniqueFd a(sv[0]), b(sv[1]);
  if (int err = AttachTapUeventFilter(b.get())) return err;
  if (send(a.get(), msg, len, 0) < 0) return errno;
  char byte;
  *passes = recv(b.get(), &byte, 1, MSG_DONTWAIT | MSG_TRUNC) >= 0;
  return 0;
}

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
  // Without the filter (a kernel that refuses it) every uevent is read.
  AttachTapUeventFilter(fd.get());
  if (bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return false;
  sock_ = std::move(fd);
  buffers_.resize(kBatch * kMessageSize);
  return true;
}

size_t TapUevents::Drain(size_t at_most) {
  if (!sock_.valid()) return 0;
  size_t read = 0;
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
      return read;  // EAGAIN: all read
    }
    read += static_cast<size_t>(n);
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
    // The queue ran dry, or a slice is read.
    if (static_cast<size_t>(n) < kBatch || read >= at_most) return read;
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
