#include "js_addr_route.h"

#include <sys/socket.h>

namespace macvlan {
namespace {

bool Has(const Napi::Object& o, const char* key) { return o.Has(key) && !o.Get(key).IsUndefined(); }

int64_t Int(const Napi::Object& o, const char* key, int64_t fallback = 0) {
  return Has(o, key) ? o.Get(key).As<Napi::Number>().Int64Value() : fallback;
}

std::optional<std::string> Str(const Napi::Object& o, const char* key) {
  if (!Has(o, key)) return std::nullopt;
  return o.Get(key).As<Napi::String>().Utf8Value();
}

uint8_t FamilyFromJs(const Napi::Object& o) { return Int(o, "family") == 6 ? AF_INET6 : AF_INET; }

int FamilyToJs(uint8_t family) { return family == AF_INET6 ? 6 : family == AF_INET ? 4 : family; }

void SetIf(Napi::Object o, const char* key, const std::optional<std::string>& v) {
  if (v) o.Set(key, *v);
}

}  // namespace

AddrAttrs AddrAttrsFromJs(const Napi::Object& o) {
  AddrAttrs a;
  a.family = Has(o, "family") ? FamilyFromJs(o) : 0;
  a.prefixlen = static_cast<uint8_t>(Int(o, "prefixLength"));
  a.index = static_cast<int32_t>(Int(o, "index"));
  a.address = Str(o, "address");
  a.local = Str(o, "local");
  if (Has(o, "flags")) a.flags = Int(o, "flags");
  return a;
}

Napi::Object AddrToJs(Napi::Env env, const AddrAttrs& a) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("index", a.index);
  o.Set("family", FamilyToJs(a.family));
  o.Set("prefixLength", a.prefixlen);
  o.Set("scope", a.scope);
  SetIf(o, "address", a.address);
  SetIf(o, "local", a.local);
  SetIf(o, "label", a.label);
  if (a.flags) o.Set("flags", static_cast<double>(*a.flags));
  return o;
}

RouteAttrs RouteAttrsFromJs(const Napi::Object& o) {
  RouteAttrs r;
  r.family = Has(o, "family") ? FamilyFromJs(o) : 0;
  r.dst_len = static_cast<uint8_t>(Int(o, "dstLength"));
  r.protocol = static_cast<uint8_t>(Int(o, "protocol"));
  r.scope = static_cast<uint8_t>(Int(o, "scope"));
  r.type = static_cast<uint8_t>(Int(o, "type"));
  r.tos = static_cast<uint8_t>(Int(o, "tos"));
  r.table = static_cast<uint32_t>(Int(o, "table"));
  r.dst = Str(o, "dst");
  r.gateway = Str(o, "gateway");
  if (Has(o, "oif")) r.oif = Int(o, "oif");
  if (Has(o, "priority")) r.priority = Int(o, "priority");
  if (Has(o, "prefsrc")) r.prefsrc = Str(o, "prefsrc");
  if (Has(o, "nexthops")) {
    Napi::Array hops = o.Get("nexthops").As<Napi::Array>();
    for (uint32_t i = 0; i < hops.Length(); i++) {
      Napi::Object h = hops.Get(i).As<Napi::Object>();
      NextHop nh;
      nh.ifindex = static_cast<int32_t>(Int(h, "oif"));
      nh.hops = static_cast<uint8_t>(Int(h, "weight", 1) - 1);
      nh.gateway = Str(h, "gateway");
      r.nexthops.push_back(std::move(nh));
    }
  }
  return r;
}

Napi::Object RouteToJs(Napi::Env env, const RouteAttrs& r) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("family", FamilyToJs(r.family));
  o.Set("dstLength", r.dst_len);
  o.Set("protocol", r.protocol);
  o.Set("scope", r.scope);
  o.Set("type", r.type);
  if (r.tos) o.Set("tos", r.tos);
  o.Set("table", r.table);
  SetIf(o, "dst", r.dst);
  SetIf(o, "gateway", r.gateway);
  SetIf(o, "prefsrc", r.prefsrc);
  if (r.oif) o.Set("oif", static_cast<double>(*r.oif));
  if (r.priority) o.Set("priority", static_cast<double>(*r.priority));
  if (!r.nexthops.empty()) {
    Napi::Array hops = Napi::Array::New(env, r.nexthops.size());
    for (uint32_t i = 0; i < r.nexthops.size(); i++) {
      const NextHop& nh = r.nexthops[i];
      Napi::Object h = Napi::Object::New(env);
      if (nh.ifindex > 0) h.Set("oif", nh.ifindex);
      SetIf(h, "gateway", nh.gateway);
      h.Set("weight", nh.hops + 1);
      hops.Set(i, h);
    }
    o.Set("nexthops", hops);
  }
  return o;
}

}  // namespace macvlan
