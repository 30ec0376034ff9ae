#include "js_link.h"

#include <cmath>
#include <iterator>

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

Mac MacFrom(Napi::Env env, const std::string& s) {
  Mac m;
  if (!ParseMac(s, m.data())) throw Napi::TypeError::New(env, "native: malformed MAC " + s);
  return m;
}

// Header fields and the mark of a macvlan/macvtap, before the tables' fields.
constexpr const char* kFixedNumberColumns[] = {"index", "flags", "type", "hasMacvlan", "truncated"};
constexpr const char* kStringColumns[] = {"name", "address", "kind", "parentDevName", "wirelessLower"};
constexpr size_t kFixed = std::size(kFixedNumberColumns);
constexpr size_t kLinkFieldCount = std::size(kLinkFields);
constexpr size_t kNumberColumns = kFixed + kLinkFieldCount + std::size(kMacvlanFields);

void FillRow(const LinkAttrs& l, double* row) {
  row[0] = l.index;
  row[1] = l.flags;
  row[2] = l.type;
  row[3] = l.macvlan ? 1 : 0;
  row[4] = l.truncated ? 1 : 0;
  double* p = row + kFixed;
  for (const auto& f : kLinkFields) *p++ = (l.*f.field) ? static_cast<double>(*(l.*f.field)) : NAN;
  for (const auto& f : kMacvlanFields) {
    *p++ = (l.macvlan && (*l.macvlan).*f.field) ? static_cast<double>(*((*l.macvlan).*f.field)) : NAN;
  }
}

}  // namespace

Napi::Object LinkTableColumns(Napi::Env env) {
  Napi::Array numbers = Napi::Array::New(env, kNumberColumns);
  uint32_t i = 0;
  for (const char* name : kFixedNumberColumns) numbers.Set(i++, name);
  for (const auto& f : kLinkFields) numbers.Set(i++, f.key);
  for (const auto& f : kMacvlanFields) numbers.Set(i++, std::string("macvlan.") + f.key);
  Napi::Array strings = Napi::Array::New(env, std::size(kStringColumns));
  i = 0;
  for (const char* name : kStringColumns) strings.Set(i++, name);
  Napi::Object o = Napi::Object::New(env);
  o.Set("numbers", numbers);
  o.Set("strings", strings);
  return o;
}

Napi::Object LinkTableToJs(Napi::Env env, const std::vector<LinkAttrs>& links) {
  size_t n = links.size();
  auto numbers = Napi::Float64Array::New(env, n * kNumberColumns);
  // Strings travel as one NUL-separated string (names cannot hold a NUL):
  // one N-API call for the table instead of several per link.
  std::string strings;
  std::string macs;
  strings.reserve(n * 48);
  for (size_t i = 0; i < n; i++) {
    const LinkAttrs& l = links[i];
    FillRow(l, numbers.Data() + i * kNumberColumns);
    if (i) {
      strings.push_back('\0');
      macs.push_back('\0');
    }
    strings += l.name.value_or("");
    strings.push_back('\0');
    if (l.address) {
      strings += FormatMac(l.address->data(), 6);
    } else if (l.raw_address) {
      strings += FormatMac(l.raw_address->data(), l.raw_address->size());
    }
    strings.push_back('\0');
    strings += l.kind.value_or("");
    strings.push_back('\0');
    strings += l.parent_dev_name.value_or("");
    strings.push_back('\0');
    strings += l.wireless_lower.value_or("");
    if (l.macvlan && l.macvlan->macaddr_data) {
      const auto& list = *l.macvlan->macaddr_data;
      for (size_t k = 0; k < list.size(); k++) {
        if (k) macs.push_back(',');
        macs += FormatMac(list[k].data(), 6);
      }
    }
  }
  Napi::Object o = Napi::Object::New(env);
  o.Set("count", static_cast<double>(n));
  o.Set("numbers", numbers);
  o.Set("strings", Napi::String::New(env, strings));
  o.Set("macs", Napi::String::New(env, macs));
  return o;
}

namespace {

// Walks the keys an object has (one N-API call for the names, one a value),
// rather than asking for every key a request could have.
template <class Fn>
void ForEachField(const Napi::Object& o, Fn&& fn) {
  Napi::Array keys = o.GetPropertyNames();
  for (uint32_t i = 0, n = keys.Length(); i < n; i++) {
    Napi::Value k = keys.Get(i);
    Napi::Value v = o.Get(k);
    if (v.IsUndefined()) continue;
    fn(k.As<Napi::String>().Utf8Value(), v);
  }
}

int64_t AsInteger(Napi::Env env, const std::string& key, const Napi::Value& v) {
  if (!v.IsNumber()) throw Napi::TypeError::New(env, "native: " + key + " must be a number");
  return v.As<Napi::Number>().Int64Value();
}

std::string AsString(Napi::Env env, const std::string& key, const Napi::Value& v) {
  if (!v.IsString()) throw Napi::TypeError::New(env, "native: " + key + " must be a string");
  return v.As<Napi::String>().Utf8Value();
}

template <class Owner, size_t N>
bool SetField(const JsField<Owner> (&table)[N], Napi::Env env, const std::string& key, const Napi::Value& v,
              Owner* out) {
  for (const auto& f : table) {
    if (key == f.key) {
      out->*f.field = AsInteger(env, key, v);
      return true;
    }
  }
  return false;
}

MacvlanAttrs MacvlanFromJs(Napi::Env env, const Napi::Object& m) {
  MacvlanAttrs mv;
  ForEachField(m, [&](const std::string& key, const Napi::Value& v) {
    if (SetField(kMacvlanFields, env, key, v, &mv)) return;
    if (key == "macaddr") {
      mv.macaddr = MacFrom(env, AsString(env, key, v));
    } else if (key == "macaddrData") {
      Napi::Array list = v.As<Napi::Array>();
      std::vector<Mac> macs;
      for (uint32_t i = 0; i < list.Length(); i++)
        macs.push_back(MacFrom(env, AsString(env, key, list.Get(i))));
      mv.macaddr_data = std::move(macs);
    }
  });
  return mv;
}

}  // namespace

LinkAttrs LinkAttrsFromJs(const Napi::Object& o) {
  Napi::Env env = o.Env();
  LinkAttrs l;
  ForEachField(o, [&](const std::string& key, const Napi::Value& v) {
    if (SetField(kLinkFields, env, key, v, &l)) return;
    if (key == "index") {
      l.index = static_cast<int32_t>(AsInteger(env, key, v));
    } else if (key == "flags") {
      l.flags = static_cast<uint32_t>(AsInteger(env, key, v));
    } else if (key == "change") {
      l.change = static_cast<uint32_t>(AsInteger(env, key, v));
    } else if (key == "name") {
      l.name = AsString(env, key, v);
    } else if (key == "kind") {
      l.kind = AsString(env, key, v);
    } else if (key == "address") {
      l.address = MacFrom(env, AsString(env, key, v));
    } else if (key == "macvlan") {
      l.macvlan = MacvlanFromJs(env, v.As<Napi::Object>());
    }
  });
  return l;
}

}  // namespace macvlan
