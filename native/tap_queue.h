// One open tap queue (fd) with readiness-driven frame I/O on the JS thread's
// libuv loop: uv_poll, never a blocking read on the threadpool.
#pragma once

#include <napi.h>
#include <uv.h>

#include <deque>
#include <memory>
#include <vector>

namespace macvlan {

class TapQueue : public Napi::ObjectWrap<TapQueue> {
 public:
  static Napi::Function Define(Napi::Env env);

  explicit TapQueue(const Napi::CallbackInfo& info);  // (fd, vnetHdrLen)
  ~TapQueue() override;
  TapQueue(const TapQueue&) = delete;
  TapQueue& operator=(const TapQueue&) = delete;

 private:
  struct PendingWrite {
    Napi::Reference<Napi::Buffer<uint8_t>> frame;
    Napi::Promise::Deferred done;
  };

  Napi::Value Read(const Napi::CallbackInfo& info);   // () => Promise<Buffer>
  Napi::Value Write(const Napi::CallbackInfo& info);  // (Buffer) => Promise<void>
  Napi::Value Close(const Napi::CallbackInfo& info);  // () => Promise<void>

  static void OnPoll(uv_poll_t* poll, int status, int events);
  static void OnLivenessTimer(uv_timer_t* timer);
  void OnLinkGone(Napi::Env env);  // a liveness check found ENOLINK
  void Service(Napi::Env env, int status, int events);
  void ReadReady(Napi::Env env);
  void WriteReady(Napi::Env env);
  // Returns 0, EAGAIN, or an errno.
  int TryWrite(const uint8_t* data, size_t len);
  void UpdatePoll(Napi::Env env, bool keep_readable = false);
  void StopPoll();
  void RejectAll(Napi::Env env, int error, const char* why);

  int fd_;
  size_t hdr_len_;
  uv_poll_t* poll_ = nullptr;
  uv_timer_t* timer_ = nullptr;  // checks for a deleted link while reads wait
  int events_ = 0;
  bool closed_ = false;
  std::deque<Napi::Promise::Deferred> readers_;
  std::deque<PendingWrite> writers_;
  std::vector<uint8_t> scratch_;
  Napi::ObjectReference self_;  // held while I/O is pending
  bool checking_ = false;       // a liveness check is on the thread pool
  // libuv callbacks settle promises: they need a callback scope (and so an
  // async context) for the microtask queue to run afterwards.
  std::unique_ptr<Napi::AsyncContext> async_;

  friend class LivenessCheck;
};

}  // namespace macvlan
