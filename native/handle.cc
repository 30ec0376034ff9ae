#include "handle.h"

#include <errno.h>
#include <string.h>

#include "event_socket.h"
#include "js_addr_route.h"
#include "js_link.h"
#include "netns.h"
#include "sysfs_probe.h"
#include "tap_device.h"

namespace macvlan {
namespace {

// A request whose result becomes a JS value.
class JsRequest : public Request {
 public:
  explicit JsRequest(Napi::Env env) : deferred(Napi::Promise::Deferred::New(env)) {}
  virtual Napi::Value Result(Napi::Env env) = 0;
  Napi::Promise::Deferred deferred;
};

class LinkRequest : public JsRequest {
 public:
  // What Complete() may read from sysfs for each link (the I/O thread's
  // sysfs shows the handle's namespace).
  enum Probe : uint32_t {
    kProbeTapDevice = 1,  // a macvtap's device number (one sysfs read a link)
    kProbeWireless = 2,   // Wi-Fi facts (a stat or a small directory read)
  };

  LinkRequest(Napi::Env env, LinkOp op, LinkAttrs attrs, std::string netns_path, uint32_t probes)
      : JsRequest(env),
        op_(op),
        attrs_(std::move(attrs)),
        netns_path_(std::move(netns_path)),
        probes_(probes) {}

  int Prepare() override {
    if (!netns_path_.empty()) {
      int fd = OpenNetnsFile(netns_path_);
      if (fd < 0) return fd;
      netns_fd_.Reset(fd);
      attrs_.net_ns_fd = fd;
    }
    encoded = EncodeLinkRequest(op_, attrs_);
    return 0;
  }
  void OnReply(const nlmsghdr* h) override {
    LinkAttrs l;
    if (DecodeLink(h, &l)) links_.push_back(std::move(l));
  }
  void OnRestart() override { links_.clear(); }
  void Complete() override {
    netns_fd_.Reset();
    for (auto& l : links_) {
      if (!l.name) continue;
      bool macvlan = l.kind == "macvlan" || l.kind == "macvtap";
      if (probes_ & kProbeWireless) {
        if (macvlan && l.link && !l.link_netnsid) {
          std::string lower = WirelessByIndex(static_cast<int>(*l.link));
          if (!lower.empty()) l.wireless_lower = lower;
        } else if (!macvlan && IsWireless(*l.name)) {
          l.wireless = 1;
        }
      }
      uint32_t major, minor;
      if ((probes_ & kProbeTapDevice) && l.kind == "macvtap" &&
          ReadTapDevt(*l.name, l.index, &major, &minor)) {
        l.tap_major = major;
        l.tap_minor = minor;
      }
    }
  }

  Napi::Value Result(Napi::Env env) override {
    // A create answers with its echo (none before Linux 6.3), a get with
    // one link, a dump with all: always a link table.
    if (op_ == LinkOp::kChange || op_ == LinkOp::kDelete) return env.Undefined();
    return LinkTableToJs(env, links_);
  }

 private:
  LinkOp op_;
  LinkAttrs attrs_;
  std::string netns_path_;
  uint32_t probes_;
  UniqueFd netns_fd_;
  std::vector<LinkAttrs> links_;
};

// RTM_*ADDR / RTM_*ROUTE: encode, collect the replies, hand them to JS.
template <class Attrs, EncodedRequest (*Encode)(AddrRouteOp, const Attrs&),
          bool (*Decode)(const nlmsghdr*, Attrs*), Napi::Object (*ToJs)(Napi::Env, const Attrs&)>
class AddrRouteRequest : public JsRequest {
 public:
  AddrRouteRequest(Napi::Env env, AddrRouteOp op, Attrs attrs)
      : JsRequest(env), op_(op), attrs_(std::move(attrs)) {}

  int Prepare() override {
    encoded = Encode(op_, attrs_);
    return encoded.bytes.empty() ? -EINVAL : 0;
  }
  void OnReply(const nlmsghdr* h) override {
    Attrs a;
    if (Decode(h, &a)) replies_.push_back(std::move(a));
  }
  void OnRestart() override { replies_.clear(); }
  Napi::Value Result(Napi::Env env) override {
    if (op_ != AddrRouteOp::kDump) return env.Undefined();
    Napi::Array list = Napi::Array::New(env, replies_.size());
    for (size_t i = 0; i < replies_.size(); i++) list.Set(static_cast<uint32_t>(i), ToJs(env, replies_[i]));
    return list;
  }

 private:
  AddrRouteOp op_;
  Attrs attrs_;
  std::vector<Attrs> replies_;
};

using AddrRequest = AddrRouteRequest<AddrAttrs, EncodeAddrRequest, DecodeAddr, AddrToJs>;
using RouteRequest = AddrRouteRequest<RouteAttrs, EncodeRouteRequest, DecodeRoute, RouteToJs>;

// Makes a multicast listener socket on the I/O thread, inside the handle's
// namespace; the fd goes to an EventSocket on the JS thread.
class SubscribeRequest : public JsRequest {
 public:
  SubscribeRequest(Napi::Env env, std::vector<unsigned> groups, int rcvbuf)
      : JsRequest(env), groups_(std::move(groups)), rcvbuf_(rcvbuf) {}
  int Prepare() override {
    fd_ = OpenEventSocket(groups_, rcvbuf_);
    return fd_ < 0 ? fd_ : 0;
  }
  void OnReply(const nlmsghdr*) override {}
  Napi::Value Result(Napi::Env env) override { return Napi::Number::New(env, fd_); }

 private:
  std::vector<unsigned> groups_;
  int rcvbuf_;
  int fd_ = -1;
};

// Opens a macvtap's device on the I/O thread, where sysfs shows the
// handle's namespace.
class TapOpenRequest : public JsRequest {
 public:
  TapOpenRequest(Napi::Env env, TapOpenParams params) : JsRequest(env), params_(std::move(params)) {}

  int Prepare() override {
    result_ = OpenTap(params_);
    if (result_.error) ext_message = result_.message;
    return -result_.error;
  }
  void OnReply(const nlmsghdr*) override {}

  Napi::Value Result(Napi::Env env) override {
    Napi::Object o = Napi::Object::New(env);
    o.Set("path", result_.path);
    o.Set("madeNode", result_.made_node);
    o.Set("major", result_.major);
    o.Set("minor", result_.minor);
    o.Set("features", result_.features);
    o.Set("offloadSupported", result_.offload_supported);
    Napi::Array fds = Napi::Array::New(env, result_.fds.size());
    for (size_t i = 0; i < result_.fds.size(); i++) fds.Set(static_cast<uint32_t>(i), result_.fds[i]);
    o.Set("fds", fds);
    return o;
  }

 private:
  TapOpenParams params_;
  TapOpenResult result_;
};

}  // namespace

// Completions settled per turn of the event loop.
constexpr size_t kSettleSlice = 64;

struct NativeHandle::Event {
  enum Kind { kOpened, kCompleted, kExit } kind;
  int error = 0;
  RequestList done;
};

Napi::Error ErrnoError(Napi::Env env, int error, const std::string& ext_message, const char* ext_attr) {
  char buf[128];
  const char* text = strerror_r(error, buf, sizeof buf);
  Napi::Error e = Napi::Error::New(env, text);
  e.Set("errno", Napi::Number::New(env, error));
  if (!ext_message.empty()) e.Set("extack", Napi::String::New(env, ext_message));
  if (ext_attr) e.Set("extackAttr", Napi::String::New(env, ext_attr));
  return e;
}

Napi::Function NativeHandle::Define(Napi::Env env) {
  return DefineClass(env, "NativeHandle",
                     {
                         InstanceMethod<&NativeHandle::Opened>("opened"),
                         InstanceMethod<&NativeHandle::LinkCall>("link"),
                         InstanceMethod<&NativeHandle::AddrCall>("addr"),
                         InstanceMethod<&NativeHandle::RouteCall>("route"),
                         InstanceMethod<&NativeHandle::OpenTap>("openTap"),
                         InstanceMethod<&NativeHandle::Subscribe>("subscribe"),
                         InstanceMethod<&NativeHandle::Close>("close"),
                     });
}

NativeHandle::NativeHandle(const Napi::CallbackInfo& info)
    : Napi::ObjectWrap<NativeHandle>(info), opened_(Napi::Promise::Deferred::New(info.Env())) {
  Napi::Env env = info.Env();
  std::string netns_path = info[0].IsString() ? info[0].As<Napi::String>().Utf8Value() : "";
  opened_promise_ = Napi::Persistent(opened_.Promise());
  tsfn_ = Tsfn::New(env, "macvlan:netlink", 0, 1, this);
  // The thread holds tsfn_ (and this object) until it exits; an idle handle
  // must not keep the process alive, so the loop is only held while a call is
  // pending (Track/Untrack).
  tsfn_.Unref(env);
  self_ = Napi::Persistent(info.This().As<Napi::Object>());
  napi_add_env_cleanup_hook(env, CleanupHook, this);
  hook_installed_ = true;
  Track(env);  // until opened
  socket_ = std::make_unique<NetlinkSocket>(std::move(netns_path), this);
}

void NativeHandle::Shutdown() {
  if (hook_installed_) {
    napi_remove_env_cleanup_hook(Env(), CleanupHook, this);
    hook_installed_ = false;
  }
  socket_.reset();  // stops and joins the I/O thread
}

void NativeHandle::CleanupHook(void* self) {
  auto* h = static_cast<NativeHandle*>(self);
  // The environment is going away (process exit, worker terminated) with the
  // handle still open: stop the thread, then settle what it completed (calls
  // in flight end with ECANCELED) while N-API still works. Nothing runs
  // their continuations any more, but no promise is left unsettled.
  h->hook_installed_ = false;
  h->tearing_down_ = true;
  h->socket_.reset();
  Napi::Env env = h->Env();
  for (;;) {
    Event* ev;
    {
      std::lock_guard<std::mutex> lock(h->events_mu_);
      if (h->events_.empty()) return;
      ev = h->events_.front();
      h->events_.pop_front();
    }
    // A terminated worker may refuse even this (N-API then throws): the
    // event is freed all the same, its promises stay unsettled.
    try {
      h->Handle(env, ev);
    } catch (const Napi::Error&) {
    }
  }
}

NativeHandle::~NativeHandle() {
  Shutdown();
  for (Event* ev : events_) delete ev;  // only when the environment is gone
}

// Events travel in our own queue; the thread-safe function only wakes the JS
// thread. An event queued in a thread-safe function when the environment
// ends could no longer be settled, ours can (CleanupHook).
void NativeHandle::Post(Event* ev) {
  {
    std::lock_guard<std::mutex> lock(events_mu_);
    events_.push_back(ev);
  }
  Wake();
}

void NativeHandle::Wake() { tsfn_.NonBlockingCall(static_cast<Event*>(nullptr)); }

void NativeHandle::CallJs(Napi::Env env, Napi::Function, NativeHandle* self, Event*) {
  if (static_cast<napi_env>(env) != nullptr) self->Drain(env);
}

void NativeHandle::Drain(Napi::Env env) {
  for (;;) {
    Event* ev;
    {
      std::lock_guard<std::mutex> lock(events_mu_);
      if (events_.empty()) return;
      ev = events_.front();
      events_.pop_front();
    }
    bool sliced = ev->kind == Event::kCompleted && ev->done.size() > kSettleSlice && !tearing_down_;
    Handle(env, ev);
    if (sliced) return;  // the rest was requeued and a wakeup posted: yield to the loop
  }
}

void NativeHandle::OnOpened(int error) { Post(new Event{Event::kOpened, error, {}}); }

void NativeHandle::OnCompleted(RequestList done) { Post(new Event{Event::kCompleted, 0, std::move(done)}); }

void NativeHandle::OnExit() { Post(new Event{Event::kExit, 0, {}}); }

void NativeHandle::Track(Napi::Env env) {
  if (pending_++ == 0) tsfn_.Ref(env);
}

void NativeHandle::Untrack(Napi::Env env) {
  if (--pending_ == 0) tsfn_.Unref(env);
}

void NativeHandle::Handle(Napi::Env env, Event* raw) {
  std::unique_ptr<Event> ev(raw);
  Napi::HandleScope scope(env);
  switch (ev->kind) {
    case Event::kOpened:
      if (ev->error) {
        opened_.Reject(ErrnoError(env, ev->error, "", nullptr).Value());
      } else {
        opened_.Resolve(env.Undefined());
      }
      Untrack(env);
      break;
    case Event::kCompleted: {
      // Settle a slice, then let the loop breathe: each settlement runs its
      // continuations, and a batch of 1024 at once would stall timers.
      size_t n = tearing_down_ ? ev->done.size() : std::min(ev->done.size(), kSettleSlice);
      for (size_t i = 0; i < n; i++) {
        auto* jr = static_cast<JsRequest*>(ev->done[i].get());
        if (jr->error) {
          jr->deferred.Reject(ErrnoError(env, jr->error, jr->ext_message, jr->ext_attr).Value());
        } else {
          jr->deferred.Resolve(jr->Result(env));
        }
        Untrack(env);
      }
      if (n < ev->done.size()) {
        // The rest goes back to the front of the queue for the next turn.
        RequestList rest(std::make_move_iterator(ev->done.begin() + static_cast<ptrdiff_t>(n)),
                         std::make_move_iterator(ev->done.end()));
        {
          std::lock_guard<std::mutex> lock(events_mu_);
          events_.push_front(new Event{Event::kCompleted, 0, std::move(rest)});
        }
        if (!tearing_down_) Wake();
      }
      break;
    }
    case Event::kExit:
      Shutdown();
      if (closed_) {
        closed_->Resolve(env.Undefined());
        Untrack(env);
      }
      self_.Reset();
      // The last event: nothing wakes this thread-safe function any more.
      tsfn_.Release();
      break;
  }
}

Napi::Value NativeHandle::Opened(const Napi::CallbackInfo&) { return opened_promise_.Value(); }

Napi::Value NativeHandle::LinkCall(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto op = static_cast<LinkOp>(info[0].As<Napi::Number>().Int32Value());
  LinkAttrs attrs = LinkAttrsFromJs(info[1].As<Napi::Object>());
  std::string netns_path = info[2].IsString() ? info[2].As<Napi::String>().Utf8Value() : "";
  uint32_t probes = info[3].IsNumber() ? info[3].As<Napi::Number>().Uint32Value() : 0;
  auto req = std::make_unique<LinkRequest>(env, op, std::move(attrs), std::move(netns_path), probes);
  Napi::Promise::Deferred deferred = req->deferred;
  return Submit(env, std::move(req), deferred);
}

Napi::Value NativeHandle::Submit(Napi::Env env, std::unique_ptr<Request> req,
                                 Napi::Promise::Deferred& deferred) {
  Napi::Promise promise = deferred.Promise();
  if (closing_ || !socket_) {
    deferred.Reject(ErrnoError(env, ECANCELED, "", nullptr).Value());
    return promise;
  }
  Track(env);
  socket_->Submit(std::move(req));
  return promise;
}

Napi::Value NativeHandle::AddrCall(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto op = static_cast<AddrRouteOp>(info[0].As<Napi::Number>().Int32Value());
  auto req = std::make_unique<AddrRequest>(env, op, AddrAttrsFromJs(info[1].As<Napi::Object>()));
  Napi::Promise::Deferred deferred = req->deferred;
  return Submit(env, std::move(req), deferred);
}

Napi::Value NativeHandle::RouteCall(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto op = static_cast<AddrRouteOp>(info[0].As<Napi::Number>().Int32Value());
  auto req = std::make_unique<RouteRequest>(env, op, RouteAttrsFromJs(info[1].As<Napi::Object>()));
  Napi::Promise::Deferred deferred = req->deferred;
  return Submit(env, std::move(req), deferred);
}

Napi::Value NativeHandle::Subscribe(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Array list = info[0].As<Napi::Array>();
  std::vector<unsigned> groups;
  for (uint32_t i = 0; i < list.Length(); i++) groups.push_back(list.Get(i).As<Napi::Number>().Uint32Value());
  int rcvbuf = info[1].As<Napi::Number>().Int32Value();
  auto req = std::make_unique<SubscribeRequest>(env, std::move(groups), rcvbuf);
  Napi::Promise::Deferred deferred = req->deferred;
  return Submit(env, std::move(req), deferred);
}

Napi::Value NativeHandle::OpenTap(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = info[0].As<Napi::Object>();
  TapOpenParams p;
  p.ifname = o.Get("ifname").As<Napi::String>().Utf8Value();
  p.ifindex = o.Get("ifindex").As<Napi::Number>().Int32Value();
  p.queues = o.Get("queues").As<Napi::Number>().Int32Value();
  p.vnet_hdr = o.Get("vnetHdr").As<Napi::Boolean>().Value();
  p.vnet_hdr_size = o.Get("vnetHdrSize").As<Napi::Number>().Int32Value();
  p.node_dir = o.Get("nodeDir").As<Napi::String>().Utf8Value();
  p.node_uid = o.Get("uid").As<Napi::Number>().Int64Value();
  p.node_gid = o.Get("gid").As<Napi::Number>().Int64Value();
  p.node_mode = o.Get("mode").As<Napi::Number>().Int64Value();
  p.offload = o.Get("offload").As<Napi::Number>().Uint32Value();
  auto req = std::make_unique<TapOpenRequest>(env, std::move(p));
  Napi::Promise::Deferred deferred = req->deferred;
  return Submit(env, std::move(req), deferred);
}

Napi::Value NativeHandle::Close(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!closing_) {
    closing_ = true;
    if (socket_) {
      closed_ = std::make_unique<Napi::Promise::Deferred>(env);
      closed_promise_ = Napi::Persistent(closed_->Promise());
      Track(env);
      socket_->Stop();
    }
  }
  if (closed_promise_.IsEmpty()) {
    auto d = Napi::Promise::Deferred::New(env);
    d.Resolve(env.Undefined());
    return d.Promise();
  }
  return closed_promise_.Value();
}

}  // namespace macvlan
