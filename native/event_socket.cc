#include "event_socket.h"

#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include "env_resources.h"
#include "js_link.h"
#include "nlmsg.h"
#include "rtnl_link.h"
#include "uv_handle.h"

namespace macvlan {
namespace {

// Datagrams one wakeup may read before yielding to the loop.
constexpr int kReadBudget = 256;

}  // namespace

int OpenEventSocket(const std::vector<unsigned>& groups, int rcvbuf) {
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);
  if (fd < 0) return -errno;
  if (rcvbuf > 0 && setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf) != 0) {
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  }
  sockaddr_nl addr{};
  addr.nl_family = AF_NETLINK;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    int err = errno;
    close(fd);
    return -err;
  }
  for (unsigned g : groups) {
    if (setsockopt(fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &g, sizeof g) != 0) {
      int err = errno;
      close(fd);
      return -err;
    }
  }
  return fd;
}

Napi::Function EventSocket::Define(Napi::Env env) {
  return DefineClass(env, "EventSocket",
                     {
                         InstanceMethod<&EventSocket::Pause>("pause"),
                         InstanceMethod<&EventSocket::Resume>("resume"),
                         InstanceMethod<&EventSocket::Close>("close"),
                     });
}

EventSocket::EventSocket(const Napi::CallbackInfo& info)
    : Napi::ObjectWrap<EventSocket>(info),
      fd_(info[0].As<Napi::Number>().Int32Value()),
      async_(std::make_unique<Napi::AsyncContext>(info.Env(), "macvlan:EventSocket")) {
  on_events_ = Napi::Persistent(info[1].As<Napi::Function>());
  buf_.resize(64 << 10);
  FdAdopted(info.Env(), fd_);
}

EventSocket::~EventSocket() {
  // Not Stop(): self_.Reset() may throw, and self_'s own destructor releases
  // it without throwing.
  CloseUvHandle(poll_);
  if (!closed_ && fd_ >= 0) close(fd_);
}

void EventSocket::Stop() {
  CloseUvHandle(poll_);
  if (!self_.IsEmpty()) self_.Reset();
}

Napi::Value EventSocket::Resume(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (closed_) return env.Undefined();
  if (!poll_) {
    uv_loop_t* loop = nullptr;
    napi_get_uv_event_loop(env, &loop);
    poll_ = new uv_poll_t;
    uv_poll_init(loop, poll_, fd_);
    poll_->data = this;
  }
  if (self_.IsEmpty()) self_ = Napi::Persistent(Value());
  paused_ = false;
  uv_poll_start(poll_, UV_READABLE, OnPoll);
  return env.Undefined();
}

Napi::Value EventSocket::Pause(const Napi::CallbackInfo& info) {
  if (poll_) uv_poll_stop(poll_);
  paused_ = true;
  return info.Env().Undefined();
}

Napi::Value EventSocket::Close(const Napi::CallbackInfo& info) {
  if (!closed_) {
    Stop();
    close(fd_);
    fd_ = -1;
    closed_ = true;
    // The callback closes over the JS stream that holds this object: kept,
    // it would keep both alive for ever.
    on_events_.Reset();
  }
  return info.Env().Undefined();
}

void EventSocket::OnPoll(uv_poll_t* poll, int status, int) {
  auto* self = static_cast<EventSocket*>(poll->data);
  Napi::Env env = self->Env();
  Napi::HandleScope scope(env);
  Napi::CallbackScope callback(env, *self->async_);
  CallIntoJsFromLoop(env, [&] {
    if (status < 0) {
      // An overrun sets the socket error (ENOBUFS): epoll says EPOLLERR, and
      // libuv reports EBADF and stops the poll. Read (and so clear) the real
      // error, report it, and go on polling.
      int err = 0;
      socklen_t len = sizeof err;
      if (getsockopt(self->fd_, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
      if (err == 0) err = -status;
      self->on_events_.Call({env.Null(), Napi::Number::New(env, err)});
      if (err != ENOBUFS || self->closed_ || self->paused_) return;
      uv_poll_start(poll, UV_READABLE, OnPoll);
    }
    self->ReadReady(env);
  });
}

void EventSocket::ReadReady(Napi::Env env) {
  LinkTableBuilder links;
  std::string deleted;  // one char a link: '1' for RTM_DELLINK
  int error = 0;
  for (int i = 0; i < kReadBudget && !closed_; i++) {
    ssize_t n = recv(fd_, buf_.data(), buf_.size(), MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN) error = errno;  // ENOBUFS: events were dropped
      break;
    }
    MessageReader reader(buf_.data(), static_cast<size_t>(n));
    while (const nlmsghdr* h = reader.Next()) {
      if (!links.Add(h)) continue;
      deleted.push_back(h->nlmsg_type == RTM_DELLINK ? '1' : '0');
    }
  }
  if (links.size() > 0) on_events_.Call({links.Take(env), Napi::String::New(env, deleted)});
  if (error && !closed_) on_events_.Call({env.Null(), Napi::Number::New(env, error)});
}

}  // namespace macvlan
