#include "tap_queue.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <string>
#include <thread>

#include <linux/if_tun.h>

#include "env_resources.h"
#include "settle_batch.h"
#include "tap_device.h"
#include "uv_handle.h"

namespace macvlan {
namespace {

// A deleted macvtap detaches its queues without waking readers: poll never
// reports it and read() just says EAGAIN. TUNGETIFF then fails with ENOLINK,
// so waiting readers check that this often. TUNGETIFF takes rtnl_lock, so
// the check runs on the thread pool, never on the JS thread.
constexpr uint64_t kLivenessMs = 200;
// Frames one wakeup may read before yielding to the loop.
constexpr int kReadBudget = 64;
// A frame is at most 64 KiB (GSO) plus the virtio-net header.
constexpr size_t kMaxFrame = 65536 + 64;

// The close of one tap: done() once every worker of it has run.
struct CloseGroup {
  CloseGroup(const Napi::Function& done, size_t workers) : done(Napi::Persistent(done)), left(workers) {}
  Napi::FunctionReference done;
  size_t left;
};

// close() on a tap fd may wait for the kernel to detach the queue (an RCU
// grace period each, 7.5 ms on kernel v595 here): off the JS thread, one
// worker an fd so that a multiqueue tap's closes wait side by side.
class CloseWorker : public Napi::AsyncWorker {
 public:
  CloseWorker(Napi::Env env, std::shared_ptr<CloseGroup> group, int fd, std::string node, uint32_t major,
              uint32_t minor)
      : Napi::AsyncWorker(env, "macvlan:tapclose"),
        group_(std::move(group)),
        fd_(fd),
        node_(std::move(node)),
        major_(major),
        minor_(minor) {}
  void Execute() override { CloseTap(fd_, node_, major_, minor_); }
  void OnOK() override {
    if (--group_->left == 0) group_->done.Call({});
  }

 private:
  std::shared_ptr<CloseGroup> group_;
  int fd_;
  std::string node_;
  uint32_t major_, minor_;
};

}  // namespace

// TUNGETIFF on a dup of the queue's fd (the queue may close its own
// meanwhile), off the JS thread.
class LivenessCheck : public Napi::AsyncWorker {
 public:
  LivenessCheck(Napi::Env env, TapQueue* queue, int fd)
      : Napi::AsyncWorker(env, "macvlan:tapcheck"), queue_(queue), fd_(fd) {
    ref_ = Napi::Persistent(queue->Value());
  }
  void Execute() override {
    ifreq ifr{};
    gone_ = ioctl(fd_, TUNGETIFF, &ifr) != 0 && errno == ENOLINK;
    close(fd_);
  }
  void OnOK() override {
    queue_->checking_ = false;
    if (gone_) queue_->OnLinkGone(Env());
  }

 private:
  TapQueue* queue_;
  Napi::ObjectReference ref_;
  int fd_;
  bool gone_ = false;
};

Napi::Function TapQueue::Define(Napi::Env env) {
  return DefineClass(env, "TapQueue",
                     {
                         InstanceMethod<&TapQueue::Read>("read"),
                         InstanceMethod<&TapQueue::SetSlab>("setSlab"),
                         InstanceMethod<&TapQueue::Write>("write"),
                         InstanceMethod<&TapQueue::Release>("release"),
                     });
}

TapQueue::TapQueue(const Napi::CallbackInfo& info)
    : Napi::ObjectWrap<TapQueue>(info),
      fd_(info[0].As<Napi::Number>().Int32Value()),
      hdr_len_(info[1].As<Napi::Number>().Uint32Value()),
      settle_(Napi::Weak(info[2].As<Napi::Function>())) {
  FdAdopted(info.Env(), fd_);
}

TapQueue::~TapQueue() {
  StopPoll();
  // Reached only when JS dropped an open queue: close synchronously rather
  // than leak the fd.
  if (!closed_ && fd_ >= 0) close(fd_);
}

void TapQueue::StopPoll() {
  CloseUvHandle(timer_);
  CloseUvHandle(poll_);
  events_ = 0;
}

void TapQueue::UpdatePoll(Napi::Env env, bool keep_readable) {
  bool reading = !readers_.empty();
  if (reading) UvHandleOf(env, timer_, this, false, uv_timer_init);
  if (timer_ && reading != (uv_is_active(reinterpret_cast<uv_handle_t*>(timer_)) != 0)) {
    if (reading) {
      uv_timer_start(timer_, OnLivenessTimer, kLivenessMs, kLivenessMs);
    } else {
      uv_timer_stop(timer_);
    }
  }
  // A reader that just got its frame usually asks for the next one at once:
  // leave UV_READABLE armed until a wakeup finds nobody waiting, rather than
  // two epoll_ctl calls a frame.
  int want = (reading || (keep_readable && (events_ & UV_READABLE)) ? UV_READABLE : 0) |
             (writers_.empty() ? 0 : UV_WRITABLE);
  if (want != events_) {
    if (want == 0) {
      if (poll_) uv_poll_stop(poll_);
    } else {
      UvHandleOf(env, poll_, this, true,
                 [this](uv_loop_t* loop, uv_poll_t* poll) { uv_poll_init(loop, poll, fd_); });
      if (!async_) async_ = std::make_unique<Napi::AsyncContext>(env, "macvlan:TapQueue");
      uv_poll_start(poll_, want, OnPoll);
    }
    events_ = want;
  }
  // Only pending reads and writes keep this queue (and the process) alive:
  // left armed for the next read alone, a dropped Tap is still collected
  // (and its fd closed), and an idle one lets the process exit.
  if (reading || !writers_.empty()) {
    Pin();
    if (poll_) uv_ref(reinterpret_cast<uv_handle_t*>(poll_));
  } else {
    Unpin();
    if (poll_) uv_unref(reinterpret_cast<uv_handle_t*>(poll_));
  }
}

void TapQueue::Pin() {
  if (!self_.IsEmpty()) return;
  self_ = Napi::Persistent(Value());
  settle_.Ref();
}

void TapQueue::Unpin() {
  if (self_.IsEmpty()) return;
  self_.Reset();
  settle_.Unref();
}

void TapQueue::OnPoll(uv_poll_t* poll, int status, int events) {
  auto* self = static_cast<TapQueue*>(poll->data);
  Napi::Env env = self->Env();
  Napi::HandleScope scope(env);
  Napi::CallbackScope callback(env, *self->async_);
  CallIntoJsFromLoop(env, [&] { self->Service(env, status, events); });
}

void TapQueue::OnLivenessTimer(uv_timer_t* timer) {
  auto* self = static_cast<TapQueue*>(timer->data);
  if (self->checking_ || self->closed_) return;
  int fd = fcntl(self->fd_, F_DUPFD_CLOEXEC, 0);
  if (fd < 0) return;
  self->checking_ = true;
  Napi::Env env = self->Env();
  Napi::HandleScope scope(env);
  (new LivenessCheck(env, self, fd))->Queue();
}

void TapQueue::OnLinkGone(Napi::Env env) {
  link_gone_ = true;
  if (closed_ || (readers_.empty() && writers_.empty())) return;
  Napi::Function settle = settle_.Value();  // before UpdatePoll() unpins it
  SettleBatch out(env);
  RejectAll(ENOLINK, out);  // the link was deleted
  UpdatePoll(env);
  out.Deliver(settle);
}

void TapQueue::Service(Napi::Env env, int status, int events) {
  // Readable with nobody waiting: now stop watching (see UpdatePoll).
  bool idle = (events & UV_READABLE) && readers_.empty();
  Napi::Function settle = settle_.Value();  // before UpdatePoll() may unpin it
  SettleBatch out(env);
  if (status < 0) {
    RejectAll(-status, out);
  } else {
    if (events & UV_WRITABLE) WriteReady(env, out);
    if (events & UV_READABLE) ReadReady(env, out);
  }
  if (!closed_) UpdatePoll(env, !idle);
  out.Deliver(settle);
}

ssize_t TapQueue::ReadOne() {
  if (scratch_.size() < kMaxFrame) scratch_.resize(kMaxFrame);
  iovec iov[2] = {{slab_data_ + slab_used_, slab_size_ - slab_used_}, {scratch_.data(), scratch_.size()}};
  bool in_slab = slab_size_ - slab_used_ > 0;
  for (;;) {
    ssize_t n = readv(fd_, in_slab ? iov : iov + 1, in_slab ? 2 : 1);
    if (n >= 0) return n;
    if (errno != EINTR) return -errno;
  }
}

Napi::Value TapQueue::FrameOf(Napi::Env env, size_t len) {
  size_t skip = len >= hdr_len_ ? hdr_len_ : len;
  size_t room = slab_size_ - slab_used_;
  if (len <= room) {
    // start * 65536 + length (a slab is below 64 KiB): a number, where a
    // Buffer costs an allocation, a copy and a backing store to track.
    size_t start = slab_used_ + skip;
    slab_used_ = std::min(slab_size_, (slab_used_ + len + 7) & ~size_t{7});
    return Napi::Number::New(env, static_cast<double>(start * 65536 + (len - skip)));
  }
  // Too long for the room left: it began there and went on in scratch_.
  auto frame = Napi::Buffer<uint8_t>::New(env, len - skip);
  uint8_t* out = frame.Data();
  size_t from_slab = room > skip ? room - skip : 0;
  if (from_slab) std::memcpy(out, slab_data_ + slab_used_ + skip, from_slab);
  size_t scratch_skip = room > skip ? 0 : skip - room;
  std::memcpy(out + from_slab, scratch_.data() + scratch_skip, len - skip - from_slab);
  return {env, static_cast<napi_value>(frame)};
}

void TapQueue::ReadReady(Napi::Env env, SettleBatch& out) {
  for (int i = 0; i < kReadBudget && !readers_.empty(); i++) {
    ssize_t n = ReadOne();
    if (n == -EAGAIN) return;
    double id = readers_.front();
    readers_.pop_front();
    if (n < 0) {
      out.Add(id, static_cast<int>(-n), env.Undefined());
    } else {
      out.Add(id, 0, FrameOf(env, static_cast<size_t>(n)));
    }
  }
}

int TapQueue::TryWrite(const uint8_t* data, size_t len) {
  static const uint8_t kZeroHeader[64] = {};
  iovec iov[2] = {{const_cast<uint8_t*>(kZeroHeader), hdr_len_}, {const_cast<uint8_t*>(data), len}};
  for (;;) {
    ssize_t n = writev(fd_, hdr_len_ ? iov : iov + 1, hdr_len_ ? 2 : 1);
    if (n >= 0) return 0;
    if (errno != EINTR) return errno;
  }
}

void TapQueue::WriteReady(Napi::Env env, SettleBatch& out) {
  while (!writers_.empty()) {
    auto& w = writers_.front();
    Napi::Buffer<uint8_t> frame = w.frame.Value();
    int err = TryWrite(frame.Data(), frame.Length());
    if (err == EAGAIN) return;
    out.Add(w.id, err, env.Undefined());
    writers_.pop_front();
  }
}

void TapQueue::RejectAll(int error, SettleBatch& out) {
  Napi::Env env = Env();
  for (double id : readers_) out.Add(id, error, env.Undefined());
  readers_.clear();
  for (auto& w : writers_) out.Add(w.id, error, env.Undefined());
  writers_.clear();
}

Napi::Value TapQueue::Read(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (closed_) return Napi::Number::New(env, -EBADF);
  if (link_gone_) return Napi::Number::New(env, -ENOLINK);
  double id = info[0].As<Napi::Number>().DoubleValue();
  // A frame may already be queued: take it now, which saves a loop turn
  // (unless others wait before this read).
  if (readers_.empty()) {
    ssize_t n = ReadOne();
    if (n >= 0) return FrameOf(env, static_cast<size_t>(n));
    if (n != -EAGAIN) return Napi::Number::New(env, static_cast<double>(n));
  }
  readers_.push_back(id);
  UpdatePoll(env);
  return env.Undefined();
}

Napi::Value TapQueue::SetSlab(const Napi::CallbackInfo& info) {
  auto slab = info[0].As<Napi::Buffer<uint8_t>>();
  // A frame's place is start * 65536 + length: both below 65536.
  if (slab.Length() >= 65536) throw Napi::RangeError::New(info.Env(), "native: a tap slab is below 64 KiB");
  slab_ = Napi::Persistent(slab);
  slab_data_ = slab.Data();
  slab_size_ = slab.Length();
  slab_used_ = 0;
  return info.Env().Undefined();
}

Napi::Value TapQueue::Write(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (closed_) return Napi::Number::New(env, EBADF);
  if (link_gone_) return Napi::Number::New(env, ENOLINK);
  double id = info[0].As<Napi::Number>().DoubleValue();
  auto frame = info[1].As<Napi::Buffer<uint8_t>>();
  if (writers_.empty()) {
    int err = TryWrite(frame.Data(), frame.Length());
    if (err != EAGAIN) return Napi::Number::New(env, err);
  }
  writers_.push_back({id, Napi::Persistent(frame)});
  UpdatePoll(env, true);
  return Napi::Number::New(env, -1);
}

Napi::Value TapQueue::Release(const Napi::CallbackInfo& info) {
  int fd = closed_ ? -1 : fd_;
  closed_ = true;
  readers_.clear();
  writers_.clear();
  StopPoll();
  Unpin();
  settle_.Reset();
  slab_.Reset();
  slab_data_ = nullptr;
  slab_size_ = slab_used_ = 0;
  fd_ = -1;
  return Napi::Number::New(info.Env(), fd);
}

Napi::Value CloseTapFds(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Array list = info[0].As<Napi::Array>();
  std::string node = info[1].As<Napi::String>().Utf8Value();
  uint32_t major = info[2].As<Napi::Number>().Uint32Value();
  uint32_t minor = info[3].As<Napi::Number>().Uint32Value();
  Napi::Function done = info[4].As<Napi::Function>();
  if (!node.empty()) UntrackNode(env, node);
  std::vector<int> fds;
  for (uint32_t i = 0; i < list.Length(); i++) fds.push_back(list.Get(i).As<Napi::Number>().Int32Value());
  // The node goes with the first fd (or alone): an open fd never needs it.
  if (fds.empty() && !node.empty()) fds.push_back(-1);
  if (fds.empty()) {
    done.Call({});
    return env.Undefined();
  }
  auto group = std::make_shared<CloseGroup>(done, fds.size());
  for (size_t i = 0; i < fds.size(); i++) {
    (new CloseWorker(env, group, fds[i], i == 0 ? node : std::string(), major, minor))->Queue();
  }
  return env.Undefined();
}

}  // namespace macvlan
