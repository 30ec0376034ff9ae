// A NETLINK_ROUTE socket subscribed to multicast groups (link events),
// read on the JS thread's loop with uv_poll. The socket itself is made on a
// handle's I/O thread (so it lives in that handle's namespace) and handed
// over as an fd.
#pragma once

#include <napi.h>
#include <uv.h>

#include <memory>
#include <string>

namespace macvlan {

// I/O thread: a non-blocking, close-on-exec socket bound to `groups`
// (RTNLGRP_* numbers, via NETLINK_ADD_MEMBERSHIP) with the given receive
// buffer (0: the default). Returns an fd or -errno.
int OpenEventSocket(const std::vector<unsigned>& groups, int rcvbuf);

class EventSocket : public Napi::ObjectWrap<EventSocket> {
 public:
  static Napi::Function Define(Napi::Env env);

  // (fd, onEvents: (links: LinkTable, deleted: string) => void, and
  // (null, errno) on an error; ENOBUFS: the kernel dropped events (overrun).
  // deleted has one character a link: '1' for RTM_DELLINK, '0' for RTM_NEWLINK.
  explicit EventSocket(const Napi::CallbackInfo& info);
  ~EventSocket() override;
  EventSocket(const EventSocket&) = delete;
  EventSocket& operator=(const EventSocket&) = delete;

 private:
  Napi::Value Pause(const Napi::CallbackInfo& info);
  Napi::Value Resume(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);

  static void OnPoll(uv_poll_t* poll, int status, int events);
  void ReadReady(Napi::Env env);
  void Stop();

  int fd_;
  uv_poll_t* poll_ = nullptr;
  bool closed_ = false;
  bool paused_ = false;
  std::vector<uint8_t> buf_;
  Napi::FunctionReference on_events_;
  Napi::ObjectReference self_;                 // held while polling
  std::unique_ptr<Napi::AsyncContext> async_;  // callbacks from libuv run in its scope
};

}  // namespace macvlan
