#include "js_link.h"

namespace macvlan {
namespace {

template <class Owner>
struct JsField {
  const char* key;
  std::optional<int64_t> Owner::*field;
};

const JsField<LinkAttrs> kLinkFields[] = {
    {"mtu", &LinkAttrs::mtu},
    {"link", &LinkAttrs::link},
    {"txqlen", &LinkAttrs::txqlen},
    {"operstate", &LinkAttrs::operstate},
    {"group", &LinkAttrs::group},
    {"numTxQueues", &LinkAttrs::num_tx_queues},
    {"numRxQueues", &LinkAttrs::num_rx_queues},
    {"linkNetnsid", &LinkAttrs::link_netnsid},
    {"minMtu", &LinkAttrs::min_mtu},
    {"maxMtu", &LinkAttrs::max_mtu},
    {"master", &LinkAttrs::master},
    {"netnsPid", &LinkAttrs::net_ns_pid},
    {"netnsFd", &LinkAttrs::net_ns_fd},
    {"extMask", &LinkAttrs::ext_mask},
    {"tapMajor", &LinkAttrs::tap_major},
    {"tapMinor", &LinkAttrs::tap_minor},
    {"wireless", &LinkAttrs::wireless},
};

const JsField<MacvlanAttrs> kMacvlanFields[] = {
    {"mode", &MacvlanAttrs::mode},
    {"flags", &MacvlanAttrs::flags},
    {"macaddrMode", &MacvlanAttrs::macaddr_mode},
    {"macaddrCount", &MacvlanAttrs::macaddr_count},
    {"bcQueueLen", &MacvlanAttrs::bc_queue_len},
    {"bcQueueLenUsed", &MacvlanAttrs::bc_queue_len_used},
    {"bcCutoff", &MacvlanAttrs::bc_cutoff},
};

bool Has(const Napi::Object& o, const char* key) {
  return o.Has(key) && !o.Get(key).IsUndefined();
}

int64_t Integer(const Napi::Object& o, const char* key) {
  Napi::Value v = o.Get(key);
  if (!v.IsNumber()) {
    throw Napi::TypeError::New(o.Env(), std::string("native: ") + key + " must be a number");
  }
  return v.As<Napi::Number>().Int64Value();
}

std::string String(const Napi::Object& o, const char* key) {
  Napi::Value v = o.Get(key);
  if (!v.IsString()) {
    throw Napi::TypeError::New(o.Env(), std::string("native: ") + key + " must be a string");
  }
  return v.As<Napi::String>().Utf8Value();
}

Mac MacFrom(Napi::Env env, const std::string& s) {
  Mac m;
  if (!ParseMac(s, m.data())) throw Napi::TypeError::New(env, "native: malformed MAC " + s);
  return m;
}

template <class Owner, size_t N>
void ReadFields(const JsField<Owner> (&table)[N], const Napi::Object& o, Owner* out) {
  for (const auto& f : table) {
    if (Has(o, f.key)) out->*f.field = Integer(o, f.key);
  }
}

template <class Owner, size_t N>
void WriteFields(const JsField<Owner> (&table)[N], const Owner& in, Napi::Object o) {
  for (const auto& f : table) {
    if (in.*f.field) o.Set(f.key, static_cast<double>(*(in.*f.field)));
  }
}

}  // namespace

LinkAttrs LinkAttrsFromJs(const Napi::Object& o) {
  Napi::Env env = o.Env();
  LinkAttrs l;
  if (Has(o, "index")) l.index = static_cast<int32_t>(Integer(o, "index"));
  if (Has(o, "flags")) l.flags = static_cast<uint32_t>(Integer(o, "flags"));
  if (Has(o, "change")) l.change = static_cast<uint32_t>(Integer(o, "change"));
  if (Has(o, "name")) l.name = String(o, "name");
  if (Has(o, "kind")) l.kind = String(o, "kind");
  if (Has(o, "address")) l.address = MacFrom(env, String(o, "address"));
  ReadFields(kLinkFields, o, &l);
  if (Has(o, "macvlan")) {
    Napi::Object m = o.Get("macvlan").As<Napi::Object>();
    MacvlanAttrs mv;
    ReadFields(kMacvlanFields, m, &mv);
    if (Has(m, "macaddr")) mv.macaddr = MacFrom(env, String(m, "macaddr"));
    if (Has(m, "macaddrData")) {
      Napi::Array list = m.Get("macaddrData").As<Napi::Array>();
      std::vector<Mac> macs;
      for (uint32_t i = 0; i < list.Length(); i++) {
        macs.push_back(MacFrom(env, list.Get(i).As<Napi::String>().Utf8Value()));
      }
      mv.macaddr_data = std::move(macs);
    }
    l.macvlan = std::move(mv);
  }
  return l;
}

Napi::Object LinkToJs(Napi::Env env, const LinkAttrs& l) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("index", l.index);
  o.Set("flags", l.flags);
  o.Set("type", l.type);
  if (l.name) o.Set("name", *l.name);
  if (l.address) o.Set("address", FormatMac(l.address->data(), 6));
  if (l.raw_address) o.Set("address", FormatMac(l.raw_address->data(), l.raw_address->size()));
  WriteFields(kLinkFields, l, o);
  if (l.parent_dev_name) o.Set("parentDevName", *l.parent_dev_name);
  if (l.wireless_lower) o.Set("wirelessLower", *l.wireless_lower);
  if (l.truncated) o.Set("truncated", true);
  if (l.kind) o.Set("kind", *l.kind);
  if (l.macvlan) {
    Napi::Object m = Napi::Object::New(env);
    WriteFields(kMacvlanFields, *l.macvlan, m);
    if (l.macvlan->macaddr_data) {
      const auto& macs = *l.macvlan->macaddr_data;
      Napi::Array list = Napi::Array::New(env, macs.size());
      for (size_t i = 0; i < macs.size(); i++) {
        list.Set(static_cast<uint32_t>(i), FormatMac(macs[i].data(), 6));
      }
      m.Set("macaddrData", list);
    }
    o.Set("macvlan", m);
  }
  return o;
}

}  // namespace macvlan
