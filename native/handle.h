// The JS object behind a handle: it owns one NetlinkSocket (and so one I/O
// thread) and hands completions back to the JS thread. Promises live in JS:
// every call carries an id, and the JS `settle` function given to the
// constructor receives [id, errno, value, ...] for a slice of completions at
// a time. Nothing in flight then needs N-API when the environment ends.
#pragma once

#include <napi.h>
#include <uv.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>

#include "netlink_socket.h"

namespace macvlan {

// The macvtap uevents the handles' I/O threads have read while they had no
// request, since the process began (tests).
uint64_t IdleUeventsRead();

class NativeHandle : public Napi::ObjectWrap<NativeHandle>, public SocketListener {
 public:
  static Napi::Function Define(Napi::Env env);

  explicit NativeHandle(const Napi::CallbackInfo& info);  // (netnsPath, settle, openedId)
  ~NativeHandle() override;
  NativeHandle(const NativeHandle&) = delete;
  NativeHandle& operator=(const NativeHandle&) = delete;

  // SocketListener: called on the I/O thread.
  void OnOpened(int error, int tid) override;
  void OnCompleted(RequestList done) override;
  void OnProgress(Request* r) override;
  void OnExit() override;
  // The macvtap uevents other processes cause, read while the thread waits
  // (a create reads what is still queued when it is answered).
  int IdleFd() override;
  void OnIdleReadable() override;

 private:
  struct Event;

  // Each takes the call's id first and returns whether it was accepted
  // (false once closing: the JS side rejects the call itself).
  // (id, op, numbers, strings, netnsPath?, probes?, inParts?): a request a
  // row of numbers/strings, with the ids id, id + 1, ...
  Napi::Value LinkCall(const Napi::CallbackInfo& info);
  Napi::Value AddrCall(const Napi::CallbackInfo& info);   // (id, op, attrs)
  Napi::Value RouteCall(const Napi::CallbackInfo& info);  // (id, op, attrs)
  Napi::Value Subscribe(const Napi::CallbackInfo& info);  // (id, groups, rcvbuf) -> fd
  Napi::Value OpenTap(const Napi::CallbackInfo& info);    // (id, TapOpenParams as an object)
  Napi::Value CloseTap(const Napi::CallbackInfo& info);   // (id, fd, node, major, minor): false once closing
  Napi::Value Flush(const Napi::CallbackInfo& info);      // (): the calls made so far go to the I/O thread
  Napi::Value Close(const Napi::CallbackInfo& info);      // (id): settled when the thread has exited
  Napi::Value Submit(Napi::Env env, std::unique_ptr<Request> req);  // false once closing
  void Queue(Napi::Env env, std::unique_ptr<Request> req);          // the caller checked closing_

  // The thread-safe function's callback; its JS function is `settle`.
  static void CallJs(Napi::Env env, Napi::Function settle, NativeHandle* self, Event* unused);
  using Tsfn = Napi::TypedThreadSafeFunction<NativeHandle, Event, &NativeHandle::CallJs>;

  void Post(Event* ev);  // the I/O thread: queue it and wake the JS thread
  void Wake();
  Event* Next();
  void Drain(Napi::Env env, Napi::Function settle);  // JS thread
  void CountThisTurn(Napi::Env env, size_t settled);
  void DrainNextTurn(Napi::Env env);
  static void OnNextTurn(uv_idle_t* idle);
  void Track(Napi::Env env);
  void Untrack(Napi::Env env);
  void Shutdown();
  static void CleanupHook(void* self);

  std::unique_ptr<NetlinkSocket> socket_;
  RequestList unflushed_;  // accepted, not yet handed to the I/O thread (Flush)
  Tsfn tsfn_;
  // What Drain() left for the next turn of the event loop is settled from
  // next_turn_, with `settle` and a callback scope of our own; turn_end_
  // resets the count of a turn's settlements after its poll phase.
  uv_idle_t* next_turn_ = nullptr;
  uv_check_t* turn_end_ = nullptr;
  size_t settled_this_turn_ = 0;
  Napi::FunctionReference settle_;
  std::unique_ptr<Napi::AsyncContext> async_;
  std::mutex events_mu_;
  std::deque<Event*> events_;                       // from the I/O thread to the JS thread
  std::atomic<bool> wake_pending_{false};           // a wakeup is on its way: no need for another
  std::chrono::steady_clock::time_point woken_at_;  // of that wakeup (I/O thread only)
  static constexpr std::chrono::microseconds kStarvedAfter{200};
  Napi::ObjectReference self_;  // keeps this object alive while the thread runs
  double opened_id_;
  int io_tid_ = 0;        // the I/O thread's id (OnOpened)
  double close_id_ = -1;  // set by Close()
  int pending_ = 0;
  bool closing_ = false;
  bool hook_installed_ = false;
};

}  // namespace macvlan
