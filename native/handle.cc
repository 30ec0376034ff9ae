#include "handle.h"

#include <errno.h>

#include <sched.h>

#include <algorithm>
#include <chrono>
#include <mutex>
#include <vector>

#include "env_resources.h"
#include "event_socket.h"
#include "js_addr_route.h"
#include "js_link.h"
#include "netns.h"
#include "settle_batch.h"
#include "sysfs_probe.h"
#include "tap_device.h"
#include "tap_uevents.h"
#include "trace_points.h"
#include "uv_handle.h"

namespace macvlan {
namespace {

// A request whose result becomes a JS value, settled by its id.
class JsRequest : public Request {
 public:
  virtual Napi::Value Result(Napi::Env env) = 0;
  // JS thread: adds the parts that came before the result (kPart).
  virtual void TakeParts(Napi::Env env, SettleBatch& out) {
    (void)env;
    (void)out;
  }
  double id = 0;
};

class LinkRequest : public JsRequest {
 public:
  // What may be read from sysfs for each link that arrives (the I/O
  // thread's sysfs shows the handle's namespace).
  enum Probe : uint32_t {
    kProbeTapDevice = 1,  // a macvtap's device number (one sysfs read a link)
    kProbeWireless = 2,   // Wi-Fi facts (a stat or a small directory read)
  };

  // `in_parts`: a dump of more than kFirstPartLinks links is handed to JS
  // kPartLinks links at a time after those, so the JS thread builds the
  // first links while the kernel still dumps the rest. A smaller dump goes
  // whole: its one part cost the JS thread a wakeup and a table more (60 us
  // of its CPU a 503-link listLinks) for less overlap than that.
  LinkRequest(LinkOp op, LinkAttrs attrs, std::string netns_path, uint32_t probes, bool in_parts)
      : op_(op),
        attrs_(std::move(attrs)),
        netns_path_(std::move(netns_path)),
        probes_(probes),
        in_parts_(in_parts && op == LinkOp::kDump) {}

  int Prepare() override {
    if (attrs_.link_name) {
      int index = IndexByName(*attrs_.link_name);
      if (index < 0) return index;
      attrs_.link = index;
    }
    if (!netns_path_.empty()) {
      int fd = OpenNetnsFile(netns_path_);
      if (fd < 0) return fd;
      netns_fd_.Reset(fd);
      attrs_.net_ns_fd = fd;
    }
    // Listening starts before the first macvtap create is sent: its add
    // uevent is queued before the ACK.
    if (op_ == LinkOp::kCreate && (probes_ & kProbeTapDevice) && attrs_.kind == "macvtap") {
      ThreadTapUevents().Listen();
    }
    // A namespace's link count changes little from one dump to the next:
    // room for the last one's (and some) saves the table's regrowth.
    if (op_ == LinkOp::kDump) {
      size_t expected = last_dump_links + last_dump_links / 8;
      table_.Reserve(in_parts_ ? std::min(expected, kFirstPartLinks) : expected);
    }
    encoded = EncodeLinkRequest(op_, attrs_);
    return 0;
  }
  // Each link goes into the table as it arrives (probed first), so the JS
  // thread only hands the finished table over.
  void OnReply(const nlmsghdr* h) override {
    if (table_.Add(h) && probes_) ReadSysfsFacts();
  }
  bool OnReceived() override {
    uevents_read_ = false;
    if (!in_parts_ || table_.size() < (handed_over_ ? kPartLinks : kFirstPartLinks)) return false;
    std::lock_guard<std::mutex> lock(parts_mu_);
    handed_over_ += table_.size();
    parts_.push_back(std::move(table_));
    table_ = LinkTableBuilder();
    table_.Reserve(kPartLinks);
    bool tell = !parts_told_;  // else the JS thread has yet to take the earlier ones
    parts_told_ = true;
    return tell;
  }
  void OnRestart() override {
    table_.Clear();
    uevents_read_ = false;
    if (!in_parts_) return;
    std::lock_guard<std::mutex> lock(parts_mu_);
    parts_.clear();
    parts_void_ = true;
    handed_over_ = 0;
  }
  void Complete() override {
    netns_fd_.Reset();
    if (op_ == LinkOp::kDump && error == 0) last_dump_links = handed_over_ + table_.size();
  }

  void TakeParts(Napi::Env env, SettleBatch& out) override {
    if (!in_parts_) return;
    std::vector<LinkTableBuilder> parts;
    bool void_before;
    {
      std::lock_guard<std::mutex> lock(parts_mu_);
      parts.swap(parts_);
      void_before = parts_void_;
      parts_void_ = false;
      parts_told_ = false;
    }
    if (void_before) out.Add(id, kPartsVoid, env.Undefined());
    for (auto& part : parts) out.Add(id, kPart, part.Take(env));
  }

  Napi::Value Result(Napi::Env env) override {
    // A create answers with its echo (none before Linux 6.3), a get with
    // one link, a dump with all: always a link table.
    if (op_ == LinkOp::kChange || op_ == LinkOp::kDelete) return env.Undefined();
    return table_.Take(env);
  }

 private:
  // For the row just decoded. Its name and kind are views into the table:
  // the Wi-Fi lower, which adds to the table, goes last.
  void ReadSysfsFacts() {
    LinkTableBuilder::Row l = table_.Last();
    if (l.name.empty()) return;
    uint32_t major, minor;
    if ((probes_ & kProbeTapDevice) && l.kind == "macvtap" && FindTapDevt(l, &major, &minor)) {
      table_.SetTapDevice(major, minor);
    }
    if (!(probes_ & kProbeWireless)) return;
    if (!IsMacvlanKind(l.kind)) {
      if (IsWirelessLink(l.index, std::string(l.name))) table_.SetWireless();
    } else if (l.link && !l.lower_elsewhere) {
      std::string lower = WirelessByIndex(static_cast<int>(*l.link));
      if (!lower.empty()) table_.SetWirelessLower(lower);
    }
  }

  // From the uevents when this thread listens, else from sysfs. What is
  // queued is read once a datagram, at its first macvtap: every change its
  // replies can show (an add, a remove, a move out and back) was queued
  // before the kernel built it.
  bool FindTapDevt(const LinkTableBuilder::Row& l, uint32_t* major, uint32_t* minor) {
    TapUevents& uevents = ThreadTapUevents();
    if (uevents.listening()) {
      if (!uevents_read_) {
        uevents.Drain();
        uevents_read_ = true;
      }
      if (uevents.Find(l.index, major, minor)) return true;
    }
    return ReadTapDevt(std::string(l.name), l.index, major, minor);
  }

  static thread_local size_t last_dump_links;  // this I/O thread's last dump
  static constexpr size_t kFirstPartLinks = 1024;
  static constexpr size_t kPartLinks = 256;

  LinkOp op_;
  LinkAttrs attrs_;
  std::string netns_path_;
  uint32_t probes_;
  bool in_parts_;
  bool uevents_read_ = false;  // since this datagram began (OnReceived ends one)
  UniqueFd netns_fd_;
  LinkTableBuilder table_;  // the links not handed over yet
  // A dump in parts: those handed over that the JS thread has not taken.
  std::mutex parts_mu_;
  std::vector<LinkTableBuilder> parts_;
  bool parts_told_ = false;  // a progress event is on its way
  bool parts_void_ = false;  // the dump went out again: what JS has is void
  size_t handed_over_ = 0;
};

thread_local size_t LinkRequest::last_dump_links = 0;

// RTM_*ADDR / RTM_*ROUTE: encode, collect the replies, hand them to JS.
template <class Attrs, EncodedRequest (*Encode)(AddrRouteOp, const Attrs&),
          bool (*Decode)(const nlmsghdr*, Attrs*), Napi::Object (*ToJs)(Napi::Env, const Attrs&)>
class AddrRouteRequest : public JsRequest {
 public:
  AddrRouteRequest(AddrRouteOp op, Attrs attrs) : op_(op), attrs_(std::move(attrs)) {}

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
  SubscribeRequest(std::vector<unsigned> groups, int rcvbuf) : groups_(std::move(groups)), rcvbuf_(rcvbuf) {}
  SubscribeRequest(const SubscribeRequest&) = delete;
  SubscribeRequest& operator=(const SubscribeRequest&) = delete;
  SubscribeRequest(SubscribeRequest&&) = delete;
  SubscribeRequest& operator=(SubscribeRequest&&) = delete;
  // A socket JS never got (the environment went first) is closed here.
  ~SubscribeRequest() override {
    if (fd_ >= 0) close(fd_);
  }
  int Prepare() override {
    fd_ = OpenEventSocket(groups_, rcvbuf_);
    return fd_ < 0 ? fd_ : 0;
  }
  void OnReply(const nlmsghdr*) override {}
  Napi::Value Result(Napi::Env env) override {
    Napi::Value fd = Napi::Number::New(env, fd_);
    FdsInTransit(env, {fd_});  // until its EventSocket adopts it
    fd_ = -1;
    return fd;
  }

 private:
  std::vector<unsigned> groups_;
  int rcvbuf_;
  int fd_ = -1;
};

// Opens a macvtap's device on the I/O thread, where sysfs shows the
// handle's namespace.
class TapOpenRequest : public JsRequest {
 public:
  explicit TapOpenRequest(TapOpenParams params) : params_(std::move(params)) {
    sleep_after = params_.queues > 1;
  }
  TapOpenRequest(const TapOpenRequest&) = delete;
  TapOpenRequest& operator=(const TapOpenRequest&) = delete;
  TapOpenRequest(TapOpenRequest&&) = delete;
  TapOpenRequest& operator=(TapOpenRequest&&) = delete;
  // An open JS never got (the environment went first): its fds are closed
  // and a node it made removed, or they would hold the link's queues (256
  // at most) and the node its owner.
  ~TapOpenRequest() override {
    if (handed_over_) return;
    for (int fd : result_.fds) close(fd);
    if (result_.made_node) CloseTap(-1, result_.path, result_.major, result_.minor);
  }

  int Prepare() override {
    result_ = OpenTap(params_);
    if (result_.error) ext_message = result_.message;
    return -result_.error;
  }
  void OnReply(const nlmsghdr*) override {}

  Napi::Value Result(Napi::Env env) override {
    Napi::Object o = Napi::Object::New(env);
    o.Set("index", result_.ifindex);
    o.Set("name", result_.ifname);
    if (!result_.mac.empty()) o.Set("mac", result_.mac);
    o.Set("path", result_.path);
    o.Set("madeNode", result_.made_node);
    o.Set("major", result_.major);
    o.Set("minor", result_.minor);
    o.Set("features", result_.features);
    o.Set("offloadSupported", result_.offload_supported);
    Napi::Array fds = Napi::Array::New(env, result_.fds.size());
    for (size_t i = 0; i < result_.fds.size(); i++) fds.Set(static_cast<uint32_t>(i), result_.fds[i]);
    o.Set("fds", fds);
    // Until a TapQueue adopts each fd, and close() removes the node.
    FdsInTransit(env, result_.fds);
    if (result_.made_node) TrackNode(env, result_.path, result_.major, result_.minor);
    handed_over_ = true;
    return o;
  }

 private:
  TapOpenParams params_;
  TapOpenResult result_;
  bool handed_over_ = false;
};

// Closes a one-queue tap's fd, and removes the node its open made, on the
// I/O thread: a caller that opens and closes taps in turn then finds the
// thread still looking for its next request, where a thread-pool close
// costs a wakeup on each side (bench/RESULTS.md, session 23). It closes
// however it ends: it goes to the thread at once (HandleCalls.closeTap
// flushes), and Complete() runs for a job done and one cancelled alike.
class TapCloseRequest : public JsRequest {
 public:
  TapCloseRequest(int fd, std::string node, uint32_t major, uint32_t minor)
      : fd_(fd), node_(std::move(node)), major_(major), minor_(minor) {}

  int Prepare() override { return 0; }
  void OnReply(const nlmsghdr*) override {}
  void Complete() override { CloseTap(fd_, node_, major_, minor_); }
  Napi::Value Result(Napi::Env env) override { return env.Undefined(); }

 private:
  int fd_;
  std::string node_;
  uint32_t major_, minor_;
};

}  // namespace

// Completions settled per turn of the event loop: each settlement runs its
// continuations, and a batch of 1024 at once would stall timers.
constexpr size_t kSettleSlice = 64;

struct NativeHandle::Event {
  enum Kind { kOpened, kCompleted, kProgress, kExit } kind;
  int error = 0;
  RequestList done;
  Request* progress = nullptr;  // kProgress: still the I/O thread's
};

Napi::Function NativeHandle::Define(Napi::Env env) {
  return DefineClass(env, "NativeHandle",
                     {
                         InstanceMethod<&NativeHandle::LinkCall>("link"),
                         InstanceMethod<&NativeHandle::AddrCall>("addr"),
                         InstanceMethod<&NativeHandle::RouteCall>("route"),
                         InstanceMethod<&NativeHandle::OpenTap>("openTap"),
                         InstanceMethod<&NativeHandle::CloseTap>("closeTap"),
                         InstanceMethod<&NativeHandle::Subscribe>("subscribe"),
                         InstanceMethod<&NativeHandle::Flush>("flush"),
                         InstanceMethod<&NativeHandle::Close>("close"),
                     });
}

NativeHandle::NativeHandle(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NativeHandle>(info) {
  Napi::Env env = info.Env();
  std::string netns_path = info[0].IsString() ? info[0].As<Napi::String>().Utf8Value() : "";
  opened_id_ = info[2].As<Napi::Number>().DoubleValue();
  tsfn_ = Tsfn::New(env, info[1].As<Napi::Function>(), "macvlan:netlink", 0, 1, this);
  settle_ = Napi::Persistent(info[1].As<Napi::Function>());
  async_ = std::make_unique<Napi::AsyncContext>(env, "macvlan:netlink");
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
  CloseUvHandle(next_turn_);
  CloseUvHandle(turn_end_);
  if (hook_installed_) {
    napi_remove_env_cleanup_hook(Env(), CleanupHook, this);
    hook_installed_ = false;
  }
  socket_.reset();  // stops and joins the I/O thread
}

void NativeHandle::CleanupHook(void* self) {
  // The environment is going away (process exit, worker terminated) with the
  // handle still open: stop the thread and free what it completed. The
  // promises are JS objects and go with the environment; no N-API call is
  // needed (a terminating worker would refuse it).
  auto* h = static_cast<NativeHandle*>(self);
  h->hook_installed_ = false;
  CloseUvHandle(h->next_turn_);
  CloseUvHandle(h->turn_end_);
  h->socket_.reset();
  h->unflushed_.clear();
  std::lock_guard<std::mutex> lock(h->events_mu_);
  for (Event* ev : h->events_) delete ev;
  h->events_.clear();
}

NativeHandle::~NativeHandle() {
  Shutdown();
  for (Event* ev : events_) delete ev;  // only when the environment is gone
}

// Events travel in our own queue; the thread-safe function only wakes the JS
// thread, once however many events arrive before it runs.
void NativeHandle::Post(Event* ev) {
  {
    std::lock_guard<std::mutex> lock(events_mu_);
    events_.push_back(ev);
  }
  MACVLAN_TRACE(kPosted);
  auto now = std::chrono::steady_clock::now();
  if (!wake_pending_.exchange(true)) {
    woken_at_ = now;
    Wake();
  } else if (now - woken_at_ > kStarvedAfter) {
    // The JS thread was woken and has not run since. The scheduler may have
    // queued it behind this thread on its CPU with another CPU idle (the
    // kernels of these VMs pack wakeups onto busy vCPUs), and with
    // PREEMPT_NONE it then waits for the tick (4 ms at HZ=250) while this
    // thread reads replies: give way (bench/RESULTS.md, session 23).
    woken_at_ = now;
    sched_yield();
  }
}

void NativeHandle::Wake() { tsfn_.NonBlockingCall(static_cast<Event*>(nullptr)); }

NativeHandle::Event* NativeHandle::Next() {
  std::lock_guard<std::mutex> lock(events_mu_);
  if (events_.empty()) return nullptr;
  Event* ev = events_.front();
  events_.pop_front();
  return ev;
}

void NativeHandle::CallJs(Napi::Env env, Napi::Function settle, NativeHandle* self, Event*) {
  if (static_cast<napi_env>(env) == nullptr) return;
  MACVLAN_TRACE(kWoken);
  if (self->settled_this_turn_ >= kSettleSlice) {
    // This wakeup's events wait for the next turn (and the I/O thread
    // need not wake this thread again until then).
    self->DrainNextTurn(env);
    return;
  }
  self->wake_pending_.store(false);
  self->Drain(env, settle);
}

void NativeHandle::OnOpened(int error, int tid) {
  io_tid_ = tid;  // read on the JS thread after the event, which the queue's mutex orders
  Post(new Event{Event::kOpened, error, {}});
}

void NativeHandle::OnCompleted(RequestList done) { Post(new Event{Event::kCompleted, 0, std::move(done)}); }

void NativeHandle::OnProgress(Request* r) { Post(new Event{Event::kProgress, 0, {}, r}); }

void NativeHandle::OnExit() { Post(new Event{Event::kExit, 0, {}}); }

namespace {
std::atomic<uint64_t> idle_uevents_read{0};
}  // namespace

uint64_t IdleUeventsRead() { return idle_uevents_read.load(); }

int NativeHandle::IdleFd() { return ThreadTapUevents().fd(); }

// A slice at a time: the thread looks for requests between slices, so a
// stream of other processes' uevents never holds one up for long.
void NativeHandle::OnIdleReadable() { idle_uevents_read += ThreadTapUevents().Drain(4 * TapUevents::kBatch); }

void NativeHandle::Track(Napi::Env env) {
  if (pending_++ == 0) tsfn_.Ref(env);
}

void NativeHandle::Untrack(Napi::Env env) {
  if (--pending_ == 0) tsfn_.Unref(env);
}

// Settles what is left of this turn's kSettleSlice calls with one call of
// `settle` (SettleBatch).
void NativeHandle::Drain(Napi::Env env, Napi::Function settle) {
  Napi::HandleScope scope(env);
  SettleBatch batch(env);
  bool exited = false;
  auto add = [&](double id, int error, Napi::Value value) {
    batch.Add(id, error, value);
    Untrack(env);
  };
  const size_t limit = kSettleSlice - std::min(settled_this_turn_, kSettleSlice);
  while (batch.size() < limit && !exited) {
    std::unique_ptr<Event> ev(Next());
    if (!ev) break;
    switch (ev->kind) {
      case Event::kOpened: add(opened_id_, ev->error, Napi::Number::New(env, io_tid_)); break;
      case Event::kProgress: static_cast<JsRequest*>(ev->progress)->TakeParts(env, batch); break;
      case Event::kCompleted: {
        size_t take = std::min(ev->done.size(), limit - batch.size());
        for (size_t i = 0; i < take; i++) {
          auto* jr = static_cast<JsRequest*>(ev->done[i].get());
          if (jr->error == 0) {
            jr->TakeParts(env, batch);
            add(jr->id, 0, jr->Result(env));
          } else if (jr->ext_message.empty() && jr->ext_attr == nullptr) {
            add(jr->id, jr->error, env.Undefined());
          } else {
            Napi::Array ext = Napi::Array::New(env, 2);
            if (!jr->ext_message.empty()) ext.Set(0u, jr->ext_message);
            if (jr->ext_attr) ext.Set(1u, jr->ext_attr);
            add(jr->id, jr->error, ext);
          }
        }
        if (take < ev->done.size()) {
          // The rest goes back to the front of the queue for the next turn.
          ev->done.erase(ev->done.begin(), ev->done.begin() + static_cast<ptrdiff_t>(take));
          std::lock_guard<std::mutex> lock(events_mu_);
          events_.push_front(ev.release());
        }
        break;
      }
      case Event::kExit:
        Shutdown();
        if (close_id_ >= 0) add(close_id_, 0, env.Undefined());
        self_.Reset();
        exited = true;
        break;
    }
  }
  if (batch.size() > 0) CountThisTurn(env, batch.size());
  MACVLAN_TRACE(kSettling);
  batch.Deliver(settle);
  if (exited) {
    // The last event: nothing wakes this thread-safe function any more.
    tsfn_.Release();
    return;
  }
  bool more;
  {
    std::lock_guard<std::mutex> lock(events_mu_);
    more = !events_.empty();
  }
  if (more) DrainNextTurn(env);
}

// A turn of the event loop settles at most kSettleSlice calls: the rest wait
// for the next turn, after the timers. Not through the thread-safe
// function: Node runs a call queued during its callback in the same turn
// (ThreadSafeFunction::Dispatch loops while calls arrive), and so it ran
// every slice of 500 answers in one stretch. An idle handle runs on the
// next turn, before its poll; a check handle ends the count after the poll.
void NativeHandle::CountThisTurn(Napi::Env env, size_t settled) {
  if (settled_this_turn_ == 0) {
    uv_check_start(UvHandleOf(env, turn_end_, this, false, uv_check_init), [](uv_check_t* check) {
      uv_check_stop(check);
      static_cast<NativeHandle*>(check->data)->settled_this_turn_ = 0;
    });
  }
  settled_this_turn_ += settled;
}

void NativeHandle::DrainNextTurn(Napi::Env env) {
  uv_idle_start(UvHandleOf(env, next_turn_, this, false, uv_idle_init), OnNextTurn);
}

void NativeHandle::OnNextTurn(uv_idle_t* idle) {
  uv_idle_stop(idle);
  auto* self = static_cast<NativeHandle*>(idle->data);
  self->wake_pending_.store(false);
  Napi::Env env = self->Env();
  Napi::HandleScope scope(env);
  Napi::CallbackScope callback(env, *self->async_);
  CallIntoJsFromLoop(env, [&] { self->Drain(env, self->settle_.Value()); });
}

// Calls wait here until JS flushes them (src/calls.ts flushes the first
// call of a stretch of synchronous code at once, the others 64 at a time):
// each slice of a burst such as 500 creates in a Promise.all goes to the
// I/O thread, and to the kernel, as one batch, with one wakeup.
Napi::Value NativeHandle::Submit(Napi::Env env, std::unique_ptr<Request> req) {
  if (closing_ || !socket_) return Napi::Boolean::New(env, false);
  Queue(env, std::move(req));
  return Napi::Boolean::New(env, true);
}

void NativeHandle::Queue(Napi::Env env, std::unique_ptr<Request> req) {
  Track(env);
  unflushed_.push_back(std::move(req));
}

Napi::Value NativeHandle::Flush(const Napi::CallbackInfo& info) {
  if (!unflushed_.empty()) MACVLAN_TRACE(kFlushed);
  if (socket_) socket_->Submit(std::move(unflushed_));
  unflushed_.clear();
  return info.Env().Undefined();
}

template <class R, class... Args>
static std::unique_ptr<R> MakeJsRequest(const Napi::CallbackInfo& info, Args&&... args) {
  auto req = std::make_unique<R>(std::forward<Args>(args)...);
  req->id = info[0].As<Napi::Number>().DoubleValue();
  return req;
}

// One request; with ifindexes (an Int32Array), one for each, the i-th
// being call id + i: a change or delete of many links costs one call.
Napi::Value NativeHandle::LinkCall(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  double id = info[0].As<Napi::Number>().DoubleValue();
  auto op = static_cast<LinkOp>(info[1].As<Napi::Number>().Int32Value());
  LinkAttrs attrs = LinkAttrsFromColumns(info[2], info[3]);
  std::string netns_path = info[4].IsString() ? info[4].As<Napi::String>().Utf8Value() : "";
  uint32_t probes = info[5].IsNumber() ? info[5].As<Napi::Number>().Uint32Value() : 0;
  bool in_parts = info[6].IsBoolean() && info[6].As<Napi::Boolean>().Value();
  if (closing_ || !socket_) return Napi::Boolean::New(env, false);
  if (!info[7].IsTypedArray()) {
    auto req = std::make_unique<LinkRequest>(op, std::move(attrs), std::move(netns_path), probes, in_parts);
    req->id = id;
    Queue(env, std::move(req));
    return Napi::Boolean::New(env, true);
  }
  auto indexes = info[7].As<Napi::Int32Array>();
  for (size_t i = 0; i < indexes.ElementLength(); i++) {
    attrs.index = indexes[i];
    auto req = std::make_unique<LinkRequest>(op, attrs, netns_path, probes, in_parts);
    req->id = id + static_cast<double>(i);
    Queue(env, std::move(req));
  }
  return Napi::Boolean::New(env, true);
}

Napi::Value NativeHandle::AddrCall(const Napi::CallbackInfo& info) {
  auto op = static_cast<AddrRouteOp>(info[1].As<Napi::Number>().Int32Value());
  return Submit(info.Env(),
                MakeJsRequest<AddrRequest>(info, op, AddrAttrsFromJs(info[2].As<Napi::Object>())));
}

Napi::Value NativeHandle::RouteCall(const Napi::CallbackInfo& info) {
  auto op = static_cast<AddrRouteOp>(info[1].As<Napi::Number>().Int32Value());
  return Submit(info.Env(),
                MakeJsRequest<RouteRequest>(info, op, RouteAttrsFromJs(info[2].As<Napi::Object>())));
}

Napi::Value NativeHandle::Subscribe(const Napi::CallbackInfo& info) {
  Napi::Array list = info[1].As<Napi::Array>();
  std::vector<unsigned> groups;
  for (uint32_t i = 0; i < list.Length(); i++) groups.push_back(list.Get(i).As<Napi::Number>().Uint32Value());
  int rcvbuf = info[2].As<Napi::Number>().Int32Value();
  return Submit(info.Env(), MakeJsRequest<SubscribeRequest>(info, std::move(groups), rcvbuf));
}

Napi::Value NativeHandle::OpenTap(const Napi::CallbackInfo& info) {
  Napi::Object o = info[1].As<Napi::Object>();
  TapOpenParams p;
  Napi::Value ref = o.Get("ref");
  if (ref.IsNumber()) {
    p.ifindex = ref.As<Napi::Number>().Int32Value();
  } else {
    p.ifname = ref.As<Napi::String>().Utf8Value();
  }
  p.queues = o.Get("queues").As<Napi::Number>().Int32Value();
  p.vnet_hdr = o.Get("vnetHdr").As<Napi::Boolean>().Value();
  p.vnet_hdr_size = o.Get("vnetHdrSize").As<Napi::Number>().Int32Value();
  p.node_dir = o.Get("nodeDir").As<Napi::String>().Utf8Value();
  p.node_uid = o.Get("uid").As<Napi::Number>().Int64Value();
  p.node_gid = o.Get("gid").As<Napi::Number>().Int64Value();
  p.node_mode = o.Get("mode").As<Napi::Number>().Int64Value();
  p.offload = o.Get("offload").As<Napi::Number>().Uint32Value();
  return Submit(info.Env(), MakeJsRequest<TapOpenRequest>(info, std::move(p)));
}

Napi::Value NativeHandle::CloseTap(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (closing_ || !socket_) return Napi::Boolean::New(env, false);  // the caller closes it elsewhere
  std::string node = info[2].As<Napi::String>().Utf8Value();
  if (!node.empty()) UntrackNode(env, node);
  return Submit(env, MakeJsRequest<TapCloseRequest>(info, info[1].As<Napi::Number>().Int32Value(),
                                                    std::move(node), info[3].As<Napi::Number>().Uint32Value(),
                                                    info[4].As<Napi::Number>().Uint32Value()));
}

Napi::Value NativeHandle::Close(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (closing_ || !socket_) return Napi::Boolean::New(env, false);  // nothing left to wait for
  closing_ = true;
  close_id_ = info[0].As<Napi::Number>().DoubleValue();
  Track(env);
  Flush(info);  // they end with ECANCELED like the queued ones
  socket_->Stop();
  return Napi::Boolean::New(env, true);
}

}  // namespace macvlan
