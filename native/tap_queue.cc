#include "tap_queue.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <thread>

#include <linux/if_tun.h>

#include "handle.h"
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

// close() on a tap fd waits for the kernel to detach the queue (about 7.5 ms
// here, an RCU grace period): do it off the JS thread.
class CloseWorker : public Napi::AsyncWorker {
 public:
  CloseWorker(Napi::Env env, int fd)
      : Napi::AsyncWorker(env, "macvlan:tapclose"), fd_(fd), deferred_(Napi::Promise::Deferred::New(env)) {}
  void Execute() override {
    if (fd_ >= 0) close(fd_);
  }
  void OnOK() override { deferred_.Resolve(Env().Undefined()); }
  Napi::Promise Promise() { return deferred_.Promise(); }

 private:
  int fd_;
  Napi::Promise::Deferred deferred_;
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
                         InstanceMethod<&TapQueue::Write>("write"),
                         InstanceMethod<&TapQueue::Close>("close"),
                     });
}

TapQueue::TapQueue(const Napi::CallbackInfo& info)
    : Napi::ObjectWrap<TapQueue>(info),
      fd_(info[0].As<Napi::Number>().Int32Value()),
      hdr_len_(info[1].As<Napi::Number>().Uint32Value()),
      async_(std::make_unique<Napi::AsyncContext>(info.Env(), "macvlan:TapQueue")) {}

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
  if (timer_ == nullptr && reading) {
    uv_loop_t* loop = nullptr;
    napi_get_uv_event_loop(env, &loop);
    timer_ = new uv_timer_t;
    uv_timer_init(loop, timer_);
    uv_unref(reinterpret_cast<uv_handle_t*>(timer_));
    timer_->data = this;
  }
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
  if (want == events_) return;
  if (want == 0) {
    if (poll_) uv_poll_stop(poll_);
    events_ = 0;
    if (!self_.IsEmpty()) self_.Reset();
    return;
  }
  if (!poll_) {
    uv_loop_t* loop = nullptr;
    napi_get_uv_event_loop(env, &loop);
    poll_ = new uv_poll_t;
    uv_poll_init(loop, poll_, fd_);
    poll_->data = this;
  }
  if (events_ == 0 && self_.IsEmpty()) self_ = Napi::Persistent(Value());
  uv_poll_start(poll_, want, OnPoll);
  events_ = want;
}

void TapQueue::OnPoll(uv_poll_t* poll, int status, int events) {
  auto* self = static_cast<TapQueue*>(poll->data);
  Napi::Env env = self->Env();
  Napi::HandleScope scope(env);
  Napi::CallbackScope callback(env, *self->async_);
  self->Service(env, status, events);
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
  if (closed_) return;
  RejectAll(env, ENOLINK, "the link was deleted");
  UpdatePoll(env);
}

void TapQueue::Service(Napi::Env env, int status, int events) {
  // Readable with nobody waiting: now stop watching (see UpdatePoll).
  bool idle = (events & UV_READABLE) && readers_.empty();
  if (status < 0) {
    RejectAll(env, -status, "poll");
  } else {
    if (events & UV_WRITABLE) WriteReady(env);
    if (events & UV_READABLE) ReadReady(env);
  }
  if (!closed_) UpdatePoll(env, !idle);
}

void TapQueue::ReadReady(Napi::Env env) {
  if (scratch_.size() < kMaxFrame) scratch_.resize(kMaxFrame);
  for (int i = 0; i < kReadBudget && !readers_.empty(); i++) {
    ssize_t n = read(fd_, scratch_.data(), scratch_.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return;
    Napi::Promise::Deferred d = readers_.front();
    readers_.pop_front();
    if (n < 0) {
      d.Reject(ErrnoError(env, errno, "", nullptr).Value());
      continue;
    }
    size_t len = static_cast<size_t>(n);
    size_t skip = len >= hdr_len_ ? hdr_len_ : len;
    d.Resolve(Napi::Buffer<uint8_t>::Copy(env, scratch_.data() + skip, len - skip));
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

void TapQueue::WriteReady(Napi::Env env) {
  while (!writers_.empty()) {
    auto& w = writers_.front();
    Napi::Buffer<uint8_t> frame = w.frame.Value();
    int err = TryWrite(frame.Data(), frame.Length());
    if (err == EAGAIN) return;
    if (err) {
      w.done.Reject(ErrnoError(env, err, "", nullptr).Value());
    } else {
      w.done.Resolve(env.Undefined());
    }
    writers_.pop_front();
  }
}

void TapQueue::RejectAll(Napi::Env env, int error, const char*) {
  while (!readers_.empty()) {
    readers_.front().Reject(ErrnoError(env, error, "", nullptr).Value());
    readers_.pop_front();
  }
  while (!writers_.empty()) {
    writers_.front().done.Reject(ErrnoError(env, error, "", nullptr).Value());
    writers_.pop_front();
  }
}

Napi::Value TapQueue::Read(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto d = Napi::Promise::Deferred::New(env);
  if (closed_) {
    d.Reject(ErrnoError(env, EBADF, "", nullptr).Value());
    return d.Promise();
  }
  readers_.push_back(d);
  // Try at once: a frame may already be queued, and that saves a loop turn.
  ReadReady(env);
  UpdatePoll(env);
  return d.Promise();
}

Napi::Value TapQueue::Write(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto d = Napi::Promise::Deferred::New(env);
  if (closed_) {
    d.Reject(ErrnoError(env, EBADF, "", nullptr).Value());
    return d.Promise();
  }
  auto frame = info[0].As<Napi::Buffer<uint8_t>>();
  if (writers_.empty()) {
    int err = TryWrite(frame.Data(), frame.Length());
    if (err != EAGAIN) {
      if (err) {
        d.Reject(ErrnoError(env, err, "", nullptr).Value());
      } else {
        d.Resolve(env.Undefined());
      }
      return d.Promise();
    }
  }
  writers_.push_back({Napi::Persistent(frame), d});
  UpdatePoll(env, true);
  return d.Promise();
}

Napi::Value TapQueue::Close(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (closed_) {
    auto d = Napi::Promise::Deferred::New(env);
    d.Resolve(env.Undefined());
    return d.Promise();
  }
  closed_ = true;
  RejectAll(env, ECANCELED, "closed");
  StopPoll();
  if (!self_.IsEmpty()) self_.Reset();
  auto* worker = new CloseWorker(env, fd_);
  fd_ = -1;
  Napi::Promise p = worker->Promise();
  worker->Queue();
  return p;
}

}  // namespace macvlan
