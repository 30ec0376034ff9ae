// The JS object behind a handle: it owns one NetlinkSocket (and so one I/O
// thread) and turns completions into settled promises on the JS thread.
#pragma once

#include <napi.h>

#include <deque>
#include <memory>
#include <mutex>

#include "netlink_socket.h"

namespace macvlan {

class NativeHandle : public Napi::ObjectWrap<NativeHandle>, public SocketListener {
 public:
  static Napi::Function Define(Napi::Env env);

  explicit NativeHandle(const Napi::CallbackInfo& info);  // (netnsPath: string)
  ~NativeHandle() override;

  // SocketListener: called on the I/O thread.
  void OnOpened(int error) override;
  void OnCompleted(RequestList done) override;
  void OnExit() override;

 private:
  struct Event;

  Napi::Value Opened(const Napi::CallbackInfo& info);
  Napi::Value LinkCall(const Napi::CallbackInfo& info);   // (op, attrs, netnsPath?)
  Napi::Value AddrCall(const Napi::CallbackInfo& info);   // (op, attrs)
  Napi::Value RouteCall(const Napi::CallbackInfo& info);  // (op, attrs)
  Napi::Value Subscribe(const Napi::CallbackInfo& info);  // (groups, rcvbuf) -> fd
  Napi::Value OpenTap(const Napi::CallbackInfo& info);    // (TapOpenParams as an object)
  Napi::Value Close(const Napi::CallbackInfo& info);
  Napi::Value Submit(Napi::Env env, std::unique_ptr<Request> req, Napi::Promise::Deferred& deferred);

  // The thread-safe function's callback: it only drains events_.
  static void CallJs(Napi::Env env, Napi::Function, NativeHandle* self, Event* unused);
  using Tsfn = Napi::TypedThreadSafeFunction<NativeHandle, Event, &NativeHandle::CallJs>;

  void Post(Event* ev);  // any thread: queue it and wake the JS thread
  void Wake();
  void Drain(Napi::Env env);              // JS thread
  void Handle(Napi::Env env, Event* ev);  // JS thread
  void Track(Napi::Env env);
  void Untrack(Napi::Env env);
  void Shutdown();
  static void CleanupHook(void* self);

  std::unique_ptr<NetlinkSocket> socket_;
  Tsfn tsfn_;
  std::mutex events_mu_;
  std::deque<Event*> events_;   // from the I/O thread to the JS thread
  bool tearing_down_ = false;   // the environment is ending: settle everything now
  Napi::ObjectReference self_;  // keeps this object alive while the thread runs
  Napi::Promise::Deferred opened_;
  Napi::Reference<Napi::Promise> opened_promise_;
  std::unique_ptr<Napi::Promise::Deferred> closed_;
  Napi::Reference<Napi::Promise> closed_promise_;
  int pending_ = 0;
  bool closing_ = false;
  bool hook_installed_ = false;
};

// An errno (positive) as a JS Error carrying errno and the extended ACK.
Napi::Error ErrnoError(Napi::Env env, int error, const std::string& ext_message, const char* ext_attr);

}  // namespace macvlan
