// Module init: the handle class, and the codec on its own for tests that run
// without privileges.
#include <napi.h>

#include "handle.h"
#include "js_link.h"
#include "nlmsg.h"
#include "rtnl_link.h"

namespace macvlan {

// encodeLink(op, attrs) -> { bytes: Buffer, attrs: [{ offset, length, name }] }
static Napi::Value EncodeLink(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto op = static_cast<LinkOp>(info[0].As<Napi::Number>().Int32Value());
  EncodedRequest req = EncodeLinkRequest(op, LinkAttrsFromJs(info[1].As<Napi::Object>()));
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
    LinkAttrs link;
    if (auto ack = ParseAck(h)) {
      Napi::Object a = Napi::Object::New(env);
      a.Set("error", ack->error);
      a.Set("message", ack->message);
      if (ack->offset) a.Set("offset", *ack->offset);
      m.Set("ack", a);
    } else if (DecodeLink(h, &link)) {
      m.Set("link", LinkToJs(env, link));
    }
    list.Set(list.Length(), m);
  }
  Napi::Object out = Napi::Object::New(env);
  out.Set("messages", list);
  out.Set("truncated", reader.truncated());
  return out;
}

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("NativeHandle", NativeHandle::Define(env));
  exports.Set("encodeLink", Napi::Function::New<EncodeLink>(env, "encodeLink"));
  exports.Set("decodeMessages", Napi::Function::New<DecodeMessages>(env, "decodeMessages"));
  return exports;
}

}  // namespace macvlan

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) {
  return macvlan::Init(env, exports);
}

NODE_API_MODULE(macvlan, InitModule)
