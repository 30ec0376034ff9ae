// Module init: the handle class, and the codec on its own for tests that run
// without privileges.
#include <napi.h>

#include <string>

#include <fcntl.h>
#include <sys/socket.h>

#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>

#include "event_socket.h"
#include "handle.h"
#include "js_link.h"
#include "nlmsg.h"
#include "rtnl_link.h"
#include "tap_device.h"
#include "tap_queue.h"
#include "tap_uevents.h"

namespace macvlan {

// encodeLink(op, numbers, strings) -> { bytes: Buffer, attrs: [{ offset, length, name }] }
static Napi::Value EncodeLink(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto op = static_cast<LinkOp>(info[0].As<Napi::Number>().Int32Value());
  EncodedRequest req = EncodeLinkRequest(op, LinkAttrsFromColumns(info[1], info[2]));
  Napi::Object out = Napi::Object::New(env);
  out.Set("bytes", Napi::Buffer<uint8_t>::Copy(env, req.bytes.data(), req.bytes.size()));
  Napi::Array attrs = Napi::Array::New(env, req.attrs.size());
  for (size_t i = 0; i < req.attrs.size(); i++) {
    Napi::Object a = Napi::Object::New(env);
    a.Set("offset", req.attrs[i].offset);
    a.Set("length", req.attrs[i].length);
    a.Set("name", req.attrs[i].name);
    attrs.Set(static_cast<uint32_t>(i), a);
  }
  out.Set("attrs", attrs);
  return out;
}

// decodeMessages(buffer) -> { messages: [...], truncated: boolean }
static Napi::Value DecodeMessages(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto buf = info[0].As<Napi::Buffer<uint8_t>>();
  MessageReader reader(buf.Data(), buf.Length());
  Napi::Array list = Napi::Array::New(env);
  while (const nlmsghdr* h = reader.Next()) {
    Napi::Object m = Napi::Object::New(env);
    m.Set("type", h->nlmsg_type);
    m.Set("flags", h->nlmsg_flags);
    m.Set("seq", h->nlmsg_seq);
    m.Set("pid", h->nlmsg_pid);
    LinkTableBuilder link;
    if (auto ack = ParseAck(h)) {
      Napi::Object a = Napi::Object::New(env);
      a.Set("error", ack->error);
      a.Set("message", ack->message);
      if (ack->offset) a.Set("offset", *ack->offset);
      m.Set("ack", a);
    } else if (link.Add(h)) {
      m.Set("link", link.Take(env));
    }
    list.Set(list.Length(), m);
  }
  Napi::Object out = Napi::Object::New(env);
  out.Set("messages", list);
  out.Set("truncated", reader.truncated());
  return out;
}

// decodeTapUevent(buffer) -> { add, ifindex, major, minor } | null
static Napi::Value DecodeTapUevent(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto buf = info[0].As<Napi::Buffer<char>>();
  TapUevent ev;
  if (!ParseTapUevent(buf.Data(), buf.Length(), &ev)) return env.Null();
  Napi::Object out = Napi::Object::New(env);
  out.Set("add", ev.add);
  out.Set("ifindex", ev.ifindex);
  out.Set("major", ev.major);
  out.Set("minor", ev.minor);
  return out;
}

// tapUeventFilterPasses(buffer) -> boolean: the listener's socket filter on
// one message (tests).
static Napi::Value TapUeventFilterPassesJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto buf = info[0].As<Napi::Buffer<char>>();
  bool passes = false;
  if (int err = TapUeventFilterPasses(buf.Data(), buf.Length(), &passes)) {
    throw Napi::Error::New(env, "tapUeventFilterPasses: errno " + std::to_string(err));
  }
  return Napi::Boolean::New(env, passes);
}

// numberBuffers() -> { kept, reused }: link tables' number buffers kept for
// the next tables, and how many tables have taken one (tests).
static Napi::Value NumberBuffers(const Napi::CallbackInfo& info) {
  auto [kept, reused] = NumberBufferCounts();
  Napi::Object out = Napi::Object::New(info.Env());
  out.Set("kept", static_cast<double>(kept));
  out.Set("reused", static_cast<double>(reused));
  return out;
}

// linkLayoutHits() -> link messages this thread indexed from the layout of
// the one before (tests).
static Napi::Value LinkLayoutHits(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(LayoutHits()));
}

// recycleNumbers(numbers: Float64Array) -> whether its buffer was a table's,
// now detached and kept for the next dump.
static Napi::Value RecycleNumbersJs(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), RecycleNumbers(info[0].As<Napi::TypedArray>().ArrayBuffer()));
}

// idleUeventsRead() -> the macvtap uevents read by idle I/O threads (tests).
static Napi::Value IdleUevents(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(IdleUeventsRead()));
}

// seqpacketPair() -> [reader, writer]: an AF_UNIX SOCK_SEQPACKET pair, the
// reader non-blocking, where each write is one frame (tests of TapQueue's
// reads without a macvtap).
static Napi::Value SeqpacketPair(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fds[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) != 0) {
    throw Napi::Error::New(env, "seqpacketPair: errno " + std::to_string(errno));
  }
  fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) | O_NONBLOCK);
  Napi::Array out = Napi::Array::New(env, 2);
  out.Set(0U, fds[0]);
  out.Set(1U, fds[1]);
  return out;
}

// Uapi numbers the TypeScript side needs, taken from the headers here so they
// are never retyped by hand.
static Napi::Object Constants(Napi::Env env) {
  Napi::Object c = Napi::Object::New(env);
#define MACVLAN_CONSTANT(name) c.Set(#name, Napi::Number::New(env, name))
  MACVLAN_CONSTANT(MACVLAN_MODE_PRIVATE);
  MACVLAN_CONSTANT(MACVLAN_MODE_VEPA);
  MACVLAN_CONSTANT(MACVLAN_MODE_BRIDGE);
  MACVLAN_CONSTANT(MACVLAN_MODE_PASSTHRU);
  MACVLAN_CONSTANT(MACVLAN_MODE_SOURCE);
  MACVLAN_CONSTANT(MACVLAN_FLAG_NOPROMISC);
  MACVLAN_CONSTANT(MACVLAN_FLAG_NODST);
  MACVLAN_CONSTANT(MACVLAN_MACADDR_ADD);
  MACVLAN_CONSTANT(MACVLAN_MACADDR_DEL);
  MACVLAN_CONSTANT(MACVLAN_MACADDR_FLUSH);
  MACVLAN_CONSTANT(MACVLAN_MACADDR_SET);
  MACVLAN_CONSTANT(IFF_UP);
  MACVLAN_CONSTANT(IFF_RUNNING);
  MACVLAN_CONSTANT(IFF_LOWER_UP);
  MACVLAN_CONSTANT(RTEXT_FILTER_SKIP_STATS);
  MACVLAN_CONSTANT(IF_OPER_UNKNOWN);
  MACVLAN_CONSTANT(IF_OPER_NOTPRESENT);
  MACVLAN_CONSTANT(IF_OPER_DOWN);
  MACVLAN_CONSTANT(IF_OPER_LOWERLAYERDOWN);
  MACVLAN_CONSTANT(IF_OPER_TESTING);
  MACVLAN_CONSTANT(IF_OPER_DORMANT);
  MACVLAN_CONSTANT(IF_OPER_UP);
  MACVLAN_CONSTANT(RTM_NEWLINK);
  MACVLAN_CONSTANT(RTM_DELLINK);
  MACVLAN_CONSTANT(RTM_GETLINK);
  MACVLAN_CONSTANT(NLMSG_ERROR);
  MACVLAN_CONSTANT(NLMSG_DONE);
  MACVLAN_CONSTANT(NLM_F_ECHO);
  MACVLAN_CONSTANT(NLM_F_DUMP_INTR);
  MACVLAN_CONSTANT(RTNLGRP_LINK);
  MACVLAN_CONSTANT(RTPROT_BOOT);
  MACVLAN_CONSTANT(RT_SCOPE_UNIVERSE);
  MACVLAN_CONSTANT(RT_SCOPE_LINK);
  MACVLAN_CONSTANT(RT_SCOPE_NOWHERE);
  MACVLAN_CONSTANT(RT_SCOPE_HOST);
  MACVLAN_CONSTANT(RTN_UNICAST);
  MACVLAN_CONSTANT(RT_TABLE_MAIN);
  MACVLAN_CONSTANT(IFA_F_NODAD);
  MACVLAN_CONSTANT(TUN_F_CSUM);
  MACVLAN_CONSTANT(TUN_F_TSO4);
  MACVLAN_CONSTANT(TUN_F_TSO6);
  MACVLAN_CONSTANT(TUN_F_TSO_ECN);
  MACVLAN_CONSTANT(TUN_F_UFO);
  MACVLAN_CONSTANT(TUN_F_USO4);
  MACVLAN_CONSTANT(TUN_F_USO6);
#undef MACVLAN_CONSTANT
  return c;
}

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("constants", Constants(env));
  exports.Set("linkColumns", LinkTableColumns(env));
  exports.Set("linkRequestColumns", LinkRequestColumns(env));
  exports.Set("NativeHandle", NativeHandle::Define(env));
  exports.Set("TapQueue", TapQueue::Define(env));
  exports.Set("closeTap", Napi::Function::New<CloseTapFds>(env, "closeTap"));
  exports.Set("EventSocket", EventSocket::Define(env));
  exports.Set("encodeLink", Napi::Function::New<EncodeLink>(env, "encodeLink"));
  exports.Set("setLinkTableMaker", Napi::Function::New<SetLinkTableMaker>(env, "setLinkTableMaker"));
  exports.Set("decodeMessages", Napi::Function::New<DecodeMessages>(env, "decodeMessages"));
  exports.Set("decodeTapUevent", Napi::Function::New<DecodeTapUevent>(env, "decodeTapUevent"));
  exports.Set("seqpacketPair", Napi::Function::New<SeqpacketPair>(env, "seqpacketPair"));
  exports.Set("numberBuffers", Napi::Function::New<NumberBuffers>(env, "numberBuffers"));
  exports.Set("linkLayoutHits", Napi::Function::New<LinkLayoutHits>(env, "linkLayoutHits"));
  exports.Set("recycleNumbers", Napi::Function::New<RecycleNumbersJs>(env, "recycleNumbers"));
  exports.Set("idleUeventsRead", Napi::Function::New<IdleUevents>(env, "idleUeventsRead"));
  exports.Set("tapUeventFilterPasses",
              Napi::Function::New<TapUeventFilterPassesJs>(env, "tapUeventFilterPasses"));
  return exports;
}

}  // namespace macvlan

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) { return macvlan::Init(env, exports); }

NODE_API_MODULE(macvlan, InitModule)
