// One open tap queue (fd) with readiness-driven frame I/O on the JS thread's
// libuv loop: uv_poll, never a blocking read on the threadpool. As with the
// handle, promises live in JS (src/calls.ts): a read or write that cannot
// finish at once is settled later through `settle`, by id.
#pragma once

#include <napi.h>
#include <uv.h>

#include <deque>
#include <memory>
#include <vector>

#include "settle_batch.h"

namespace macvlan {

class TapQueue : public Napi::ObjectWrap<TapQueue> {
 public:
  static Napi::Function Define(Napi::Env env);

  explicit TapQueue(const Napi::CallbackInfo& info);  // (fd, vnetHdrLen, settle)
  ~TapQueue() override;
  TapQueue(const TapQueue&) = delete;
  TapQueue& operator=(const TapQueue&) = delete;

 private:
  struct PendingWrite {
    double id;
    Napi::Reference<Napi::Buffer<uint8_t>> frame;
  };

  // (id) => a frame now (a slab code or a Buffer), -errno now, or
  // undefined: settled later.
  Napi::Value Read(const Napi::CallbackInfo& info);
  // (slab: Buffer) => frames are read into it from its start on.
  Napi::Value SetSlab(const Napi::CallbackInfo& info);
  // (id, frame) => 0 written, an errno, or -1: settled later.
  Napi::Value Write(const Napi::CallbackInfo& info);
  // () => the fd, now the caller's to close (closeTap), or -1 if released
  // before. Pending reads and writes are dropped (JS rejects them).
  Napi::Value Release(const Napi::CallbackInfo& info);

  static void OnPoll(uv_poll_t* poll, int status, int events);
  static void OnLivenessTimer(uv_timer_t* timer);
  void OnLinkGone(Napi::Env env);  // a liveness check found ENOLINK
  void Service(Napi::Env env, int status, int events);
  void ReadReady(Napi::Env env, SettleBatch& out);
  void WriteReady(Napi::Env env, SettleBatch& out);
  // Reads one frame into the slab's free room, what does not fit into
  // scratch_: its length (the header included), or -errno.
  ssize_t ReadOne();
  // The frame ReadOne() read, without its virtio-net header: its slab code
  // when it fits in the slab, else a Buffer copy.
  Napi::Value FrameOf(Napi::Env env, size_t len);
  // Returns 0, EAGAIN, or an errno.
  int TryWrite(const uint8_t* data, size_t len);
  void UpdatePoll(Napi::Env env, bool keep_readable = false);
  // While I/O is pending the queue holds itself and `settle` (self_), so a
  // pending promise settles even if JS drops the tap. Otherwise `settle` is
  // weak: it closes over the JS object that holds this one, and a strong
  // reference from here would keep both alive for ever.
  void Pin();
  void Unpin();
  void StopPoll();
  void RejectAll(int error, SettleBatch& out);

  int fd_;
  size_t hdr_len_;
  uv_poll_t* poll_ = nullptr;
  uv_timer_t* timer_ = nullptr;  // checks for a deleted link while reads wait
  int events_ = 0;
  bool closed_ = false;
  std::deque<double> readers_;  // ids of the reads waiting for a frame
  std::deque<PendingWrite> writers_;
  Napi::FunctionReference settle_;  // weak unless pinned
  std::vector<uint8_t> scratch_;
  // The JS-allocated buffer frames are read into, handed out as views
  // (src/calls.ts TapQueueCalls): no allocation and no copy a frame.
  Napi::Reference<Napi::Buffer<uint8_t>> slab_;
  uint8_t* slab_data_ = nullptr;
  size_t slab_size_ = 0;
  size_t slab_used_ = 0;
  Napi::ObjectReference self_;  // held while I/O is pending
  bool checking_ = false;       // a liveness check is on the thread pool
  // A liveness check found the link deleted: reads and writes fail with
  // ENOLINK from then on (the kernel drops what is written to a queue of a
  // deleted macvtap and says it was sent).
  bool link_gone_ = false;
  // libuv callbacks settle promises: they need a callback scope (and so an
  // async context) for the microtask queue to run afterwards. Made by the
  // first poll: a tap whose fds go to QEMU never needs one.
  std::unique_ptr<Napi::AsyncContext> async_;

  friend class LivenessCheck;
};

// closeTap(fds, node, major, minor, done): closes the fds off the JS thread,
// removes `node` ('' for none) while it is still that device's node (and
// stops tracking it: env_resources.h), then calls done().
Napi::Value CloseTapFds(const Napi::CallbackInfo& info);

}  // namespace macvlan
