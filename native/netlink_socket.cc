#include "netlink_socket.h"

#include <errno.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <iterator>
#include <random>

#include "netns.h"
#include "trace_points.h"

namespace macvlan {
namespace {

constexpr int kRecvBufferSize = 8 << 20;
constexpr int kSendBufferSize = 1 << 20;
// A dump part is at most 32 KiB (the kernel caps max_recvmsg_len there);
// twice that leaves room for the largest single reply.
constexpr size_t kRecvChunk = 64 << 10;
constexpr size_t kMaxBatchBytes = 256 << 10;
// What one request may leave in the receive queue: an ACK plus, for a
// create, the echoed RTM_NEWLINK; both counted by skb truesize.
constexpr int kQueuedBytesPerRequest = 8 << 10;
constexpr size_t kMaxBatch = 1024;
constexpr int kSpinMicros = 100;

void SetBuffer(int fd, int force_opt, int opt, int bytes) {
  // SO_*BUFFORCE needs CAP_NET_ADMIN; without it the plain option is capped
  // by net.core.[rw]mem_max and the batch size follows what we got.
  if (setsockopt(fd, SOL_SOCKET, force_opt, &bytes, sizeof bytes) != 0) {
    setsockopt(fd, SOL_SOCKET, opt, &bytes, sizeof bytes);
  }
}

}  // namespace

NetlinkSocket::NetlinkSocket(std::string netns_path, SocketListener* listener)
    : netns_path_(std::move(netns_path)), listener_(listener) {
  wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  thread_ = std::thread([this] { Run(); });
}

NetlinkSocket::~NetlinkSocket() {
  Stop();
  Join();
  if (wake_fd_ >= 0) close(wake_fd_);
}

void NetlinkSocket::Submit(RequestList requests) {
  if (requests.empty()) return;
  bool wake;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& r : requests) queue_.push_back(std::move(r));
    queued_.store(queue_.size(), std::memory_order_release);
    // Only a sleeping thread needs the eventfd; a busy one takes the queue
    // when its batch is done.
    wake = sleeping_;
    sleeping_ = false;
  }
  if (wake) Wake();
}

void NetlinkSocket::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  Wake();
}

void NetlinkSocket::Join() {
  if (thread_.joinable()) thread_.join();
}

void NetlinkSocket::Wake() {
  uint64_t one = 1;
  ssize_t n = write(wake_fd_, &one, sizeof one);
  (void)n;  // EAGAIN only when the counter is already huge: a wakeup is pending
}

int NetlinkSocket::Open() {
  if (wake_fd_ < 0) return ENOMEM;
  if (!netns_path_.empty()) {
    int ns = OpenNetnsFile(netns_path_);
    if (ns < 0) return -ns;
    int err = EnterNetns(ns);
    close(ns);
    if (err) return -err;
    // For macvtap device numbers (and /dev/tapN checks) this thread must
    // read a sysfs of the namespace it now lives in.
    err = MountSysfsForThread();
    if (err) return -err;
  }
  fd_ = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd_ < 0) return errno;
  int one = 1;
  // Best effort: older kernels lack some of these and still work.
  setsockopt(fd_, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof one);
  setsockopt(fd_, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof one);
  setsockopt(fd_, SOL_NETLINK, NETLINK_GET_STRICT_CHK, &one, sizeof one);
  SetBuffer(fd_, SO_RCVBUFFORCE, SO_RCVBUF, kRecvBufferSize);
  SetBuffer(fd_, SO_SNDBUFFORCE, SO_SNDBUF, kSendBufferSize);

  sockaddr_nl addr{};
  addr.nl_family = AF_NETLINK;
  if (bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return errno;
  socklen_t len = sizeof addr;
  if (getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) return errno;
  portid_ = addr.nl_pid;

  int rcvbuf = 0;
  len = sizeof rcvbuf;
  getsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &rcvbuf, &len);
  max_batch_ = std::clamp<size_t>(static_cast<size_t>(rcvbuf) / kQueuedBytesPerRequest, 1, kMaxBatch);
  next_seq_ = std::random_device{}() | 1;
  recv_buf_.resize(kRecvChunk);
  return 0;
}

void NetlinkSocket::Run() {
  pthread_setname_np(pthread_self(), "macvlan-netlink");  // for top -H, perf, gdb
  int err = Open();
  listener_->OnOpened(err, static_cast<int>(syscall(SYS_gettid)));
  while (err == 0 && WaitForWork()) {
    MACVLAN_TRACE(kTaken);
    RequestList batch = TakeBatch();
    if (!batch.empty()) RunBatch(batch);
  }
  RequestList left;
  {
    std::lock_guard<std::mutex> lock(mu_);
    while (!queue_.empty()) {
      left.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
  }
  if (!left.empty()) Fail(left, ECANCELED);
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
  listener_->OnExit();
}

bool NetlinkSocket::WaitForWork() {
  // A caller awaiting one request after another sends the next one a few
  // tens of microseconds after the last completion: look for it a little
  // while before sleeping, which saves a wakeup on both sides. Not after a
  // dump: the JS thread builds its links first, longer than the spin, and
  // the spinning vCPU takes CPU time it needs on these VMs (bench/RESULTS.md,
  // session 8).
  auto until =
      std::chrono::steady_clock::now() + std::chrono::microseconds(spin_ && !sleep_now_ ? kSpinMicros : 0);
  sleep_now_ = false;
  while (queued_.load(std::memory_order_acquire) == 0 && std::chrono::steady_clock::now() < until) {
    sched_yield();
  }
  for (;;) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stop_) return false;
      if (!queue_.empty()) return true;
      sleeping_ = true;
    }
    pollfd fds[2] = {{wake_fd_, POLLIN, 0}, {listener_->IdleFd(), POLLIN, 0}};
    if (poll(fds, fds[1].fd >= 0 ? 2 : 1, -1) > 0) {
      if (fds[0].revents & POLLIN) {
        uint64_t v;
        ssize_t n = read(wake_fd_, &v, sizeof v);
        (void)n;
      }
      if (fds[1].revents & (POLLIN | POLLERR)) listener_->OnIdleReadable();
    }
    std::lock_guard<std::mutex> lock(mu_);
    sleeping_ = false;
  }
}

RequestList NetlinkSocket::TakeBatch() {
  RequestList taken;
  {
    std::lock_guard<std::mutex> lock(mu_);
    while (!queue_.empty() && taken.size() < max_batch_) {
      taken.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
    queued_.store(queue_.size(), std::memory_order_release);
  }
  // Prepare outside the lock. Requests that cannot be built complete at once,
  // and so do local jobs (no message: all their work is done in Prepare());
  // the batch ends after its first dump (a socket runs one dump at a time, and
  // requests behind it in the same sendmsg() would wait for all of it) or when
  // it is as large as one sendmsg() should carry.
  RequestList batch, immediate, back;
  size_t bytes = 0;
  bool closed = false;
  for (auto& r : taken) {
    if (closed) {
      back.push_back(std::move(r));
      continue;
    }
    if (r->encoded.bytes.empty()) {
      int err = r->Prepare();
      if (err || r->encoded.bytes.empty()) {
        r->error = -err;
        immediate.push_back(std::move(r));
        continue;
      }
    }
    bytes += r->encoded.bytes.size();
    closed = r->encoded.dump || bytes >= kMaxBatchBytes;
    batch.push_back(std::move(r));
  }
  if (!back.empty()) {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.insert(queue_.begin(), std::make_move_iterator(back.begin()), std::make_move_iterator(back.end()));
    queued_.store(queue_.size(), std::memory_order_release);
  }
  if (!immediate.empty()) {
    sleep_now_ =
        std::any_of(immediate.begin(), immediate.end(), [](const auto& r) { return r->sleep_after; });
    for (auto& r : immediate) r->Complete();
    listener_->OnCompleted(std::move(immediate));
  }
  return batch;
}

void NetlinkSocket::RunBatch(RequestList& batch) {
  spin_ = std::none_of(batch.begin(), batch.end(), [](const auto& r) { return r->encoded.dump; });
  uint32_t first_seq = next_seq_;
  next_seq_ += static_cast<uint32_t>(batch.size());
  if (next_seq_ < first_seq || next_seq_ == 0) {  // never let a batch wrap
    first_seq = 1;
    next_seq_ = 1 + static_cast<uint32_t>(batch.size());
  }
  MACVLAN_TRACE(kSending);
  bool sent = Send(batch, first_seq);
  MACVLAN_TRACE(kSent);
  if (sent) Receive(batch, first_seq);

  RequestList done, again;
  for (auto& r : batch) {
    if (r == nullptr) continue;
    if (r->restart) {
      r->restart = false;
      r->OnRestart();
      again.push_back(std::move(r));
      continue;
    }
    r->Complete();
    done.push_back(std::move(r));
  }
  if (!again.empty()) {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& r : again) queue_.push_front(std::move(r));
    queued_.store(queue_.size(), std::memory_order_release);
  }
  if (!done.empty()) listener_->OnCompleted(std::move(done));
}

bool NetlinkSocket::Send(RequestList& batch, uint32_t first_seq) {
  std::vector<iovec> iov(batch.size());
  for (size_t i = 0; i < batch.size(); i++) {
    auto& bytes = batch[i]->encoded.bytes;
    auto* h = reinterpret_cast<nlmsghdr*>(bytes.data());
    h->nlmsg_seq = first_seq + static_cast<uint32_t>(i);
    h->nlmsg_pid = 0;
    iov[i] = {bytes.data(), bytes.size()};
  }
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  msghdr msg{};
  msg.msg_name = &kernel;
  msg.msg_namelen = sizeof kernel;
  msg.msg_iov = iov.data();
  msg.msg_iovlen = iov.size();
  ssize_t n;
  do {
    n = sendmsg(fd_, &msg, 0);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    int err = errno;
    for (auto& r : batch) r->error = err;
    return false;
  }
  return true;
}

void NetlinkSocket::Receive(RequestList& batch, uint32_t first_seq) {
  size_t pending = batch.size();
  std::vector<bool> complete(batch.size(), false);
  std::vector<bool> interrupted(batch.size(), false);
  std::vector<bool> lost(batch.size(), false);  // a reply longer than recv_buf_ was cut off
  std::vector<uint32_t> newly_complete;         // in the datagram being read
  std::vector<uint32_t> touched;                // requests with replies in it

  auto finish = [&](size_t i, const AckInfo& ack) {
    Request& r = *batch[i];
    if (ack.error < 0) {
      r.error = -ack.error;
      r.ext_message = ack.message;
      if (ack.offset) r.ext_attr = AttrNameAt(r.encoded.attrs, *ack.offset);
    } else if (interrupted[i] || (lost[i] && IsGet(r))) {
      // A get or dump reads again (with the buffer grown to the reply that
      // did not fit). A create's echo that did not fit is only missed: the
      // new link is then looked up, as on kernels that do not echo.
      if (++r.dump_restarts <= kMaxDumpRestarts) {
        r.restart = true;
      } else if (lost[i]) {
        r.error = EMSGSIZE;
        r.ext_message = "the kernel's reply kept outgrowing the receive buffer";
      } else {
        r.error = EINTR;
        r.ext_message = "the dump kept racing changes (NLM_F_DUMP_INTR)";
      }
    }
    complete[i] = true;
    pending--;
    newly_complete.push_back(static_cast<uint32_t>(i));
  };
  // Each request goes to the owner as soon as its answer is in, not with
  // the whole batch: the JS thread settles the first ones while the rest
  // are still being read.
  auto hand_over_complete = [&] {
    RequestList done;
    for (uint32_t i : newly_complete) {
      if (batch[i]->restart) continue;  // sent again by RunBatch
      batch[i]->Complete();
      done.push_back(std::move(batch[i]));
    }
    newly_complete.clear();
    if (!done.empty()) listener_->OnCompleted(std::move(done));
  };

  // rtnetlink handles a request inside sendmsg(), so its first replies are
  // queued by the time Send() returns: read before waiting for more.
  bool readable = true;
  while (pending > 0) {
    if (!readable && !WaitForReplies()) break;
    readable = false;

    for (;;) {
      ssize_t n = recv(fd_, recv_buf_.data(), recv_buf_.size(), MSG_DONTWAIT | MSG_TRUNC);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN) break;
        // ENOBUFS: the receive queue overflowed and replies were dropped. The
        // requests still pending may or may not have taken effect.
        int err = errno;
        for (size_t i = 0; i < batch.size(); i++) {
          if (!complete[i]) finish(i, AckInfo{-err, "", std::nullopt});
        }
        return;
      }
      if (static_cast<size_t>(n) > recv_buf_.size()) {
        // MSG_TRUNC: the datagram was longer than the buffer and the rest of
        // it is gone. Its first header says whose reply it was.
        nlmsghdr h;
        std::memcpy(&h, recv_buf_.data(), sizeof h);
        uint32_t i = h.nlmsg_seq - first_seq;
        if (h.nlmsg_pid == portid_ && i < batch.size() && !complete[i]) lost[i] = true;
        recv_buf_.resize(static_cast<size_t>(n));
        continue;
      }
      MessageReader reader(recv_buf_.data(), static_cast<size_t>(n));
      touched.clear();
      while (const nlmsghdr* h = reader.Next()) {
        uint32_t i = h->nlmsg_seq - first_seq;
        if (h->nlmsg_pid != portid_ || i >= batch.size() || complete[i]) continue;
        if (h->nlmsg_type == NLMSG_ERROR) {
          auto ack = ParseAck(h);
          finish(i, ack ? *ack : AckInfo{-EPROTO, "malformed NLMSG_ERROR", std::nullopt});
        } else if (h->nlmsg_type == NLMSG_DONE) {
          finish(i, ParseDone(h));
        } else if (h->nlmsg_type >= NLMSG_MIN_TYPE) {
          if (h->nlmsg_flags & NLM_F_DUMP_INTR) interrupted[i] = true;
          batch[i]->OnReply(h);
          if (touched.empty() || touched.back() != i) touched.push_back(i);
        }
      }
      for (uint32_t i : touched) {
        if (!complete[i] && batch[i]->OnReceived()) listener_->OnProgress(batch[i].get());
      }
      hand_over_complete();
      if (pending == 0) return;
    }
  }
  for (size_t i = 0; i < batch.size(); i++) {
    if (!complete[i]) finish(i, AckInfo{-ECANCELED, "", std::nullopt});
  }
}

bool NetlinkSocket::IsGet(const Request& r) {
  if (r.encoded.dump) return true;
  nlmsghdr h;
  std::memcpy(&h, r.encoded.bytes.data(), sizeof h);
  return h.nlmsg_type == RTM_GETLINK || h.nlmsg_type == RTM_GETADDR || h.nlmsg_type == RTM_GETROUTE;
}

bool NetlinkSocket::WaitForReplies() {
  for (;;) {
    pollfd fds[2] = {{fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    if (fds[1].revents & POLLIN) {
      std::lock_guard<std::mutex> lock(mu_);
      if (stop_) return false;
      // New work queued while we wait: it goes out with the next batch, and
      // WaitForWork() sees the queue before it sleeps again.
      uint64_t v;
      ssize_t n = read(wake_fd_, &v, sizeof v);
      (void)n;
    }
    if (fds[0].revents & (POLLIN | POLLERR)) return true;
  }
}

void NetlinkSocket::Fail(RequestList& list, int error) {
  for (auto& r : list) {
    r->error = error;
    r->Complete();
  }
  listener_->OnCompleted(std::move(list));
}

}  // namespace macvlan
