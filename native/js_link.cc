#include "js_link.h"

#include <linux/rtnetlink.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <iterator>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace macvlan {
namespace {

template <class Owner>
struct JsField {
  const char* key;
  std::optional<int64_t> Owner::*field;
};

constexpr JsField<LinkAttrs> kLinkFields[] = {
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

constexpr JsField<MacvlanAttrs> kMacvlanFields[] = {
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
// "kind" indexes the table's kinds: a dump holds few, and one JS string
// each is made once, not once a link. "nameAt" and "nameEnd" are where the
// link's name is in `strings` (its address follows, up to the next link's
// name), in UTF-16 units: JS takes substrings instead of splitting the
// whole string. NaN in every row when a name is not ASCII (UTF-8 bytes are
// not UTF-16 units).
constexpr const char* kFixedNumberColumns[] = {"index",     "flags", "type",   "hasMacvlan",
                                               "truncated", "kind",  "nameAt", "nameEnd"};
constexpr size_t kKindColumn = 5;
constexpr size_t kNameAtColumn = 6;
constexpr size_t kNameEndColumn = 7;
// The string fields of every link; the rare ones travel apart, and only
// when a link has one.
constexpr const char* kStringColumns[] = {"name", "address"};
constexpr const char* kRareColumns[] = {"parentDevName", "wirelessLower"};
constexpr size_t kFixed = std::size(kFixedNumberColumns);
constexpr size_t kLinkFieldCount = std::size(kLinkFields);
constexpr size_t kNumberColumns = kFixed + kLinkFieldCount + std::size(kMacvlanFields);

// Where a scalar attribute goes in a row: its column (0: none, as no
// attribute fills the index column) and how it is read. One entry per
// attribute type, from the attribute tables (rtnl_link.h) and the column
// order above: a macvlan block's attribute is one lookup; a link's are read
// in a fixed order (kLinkReads).
struct Slot {
  uint8_t column = 0;
  Wire wire = Wire::kU32;
};
constexpr uint16_t kSlotTypes = 128;
using Slots = std::array<Slot, kSlotTypes>;

template <class Owner, size_t N>
Slots SlotsOf(std::span<const ScalarAttr<Owner>> attrs, const JsField<Owner> (&fields)[N],
              size_t first_column) {
  Slots slots{};
  for (const auto& a : attrs) {
    for (size_t k = 0; k < N; k++) {
      if (fields[k].field == a.field && a.type < kSlotTypes) {
        slots[a.type] = {static_cast<uint8_t>(first_column + k), a.wire};
      }
    }
  }
  return slots;
}

const Slots kLinkSlots = SlotsOf(LinkScalarAttrs(), kLinkFields, kFixed);
// IFLA_MACVLAN_MACADDR_MODE is a scalar too, though the encoder puts it
// first on its own.
Slots MacvlanSlots() {
  Slots slots = SlotsOf(MacvlanScalarAttrs(), kMacvlanFields, kFixed + kLinkFieldCount);
  for (size_t k = 0; k < std::size(kMacvlanFields); k++) {
    if (kMacvlanFields[k].field == &MacvlanAttrs::macaddr_mode) {
      slots[IFLA_MACVLAN_MACADDR_MODE] = {static_cast<uint8_t>(kFixed + kLinkFieldCount + k), Wire::kU32};
    }
  }
  return slots;
}
const Slots kMacvlanSlots = MacvlanSlots();

// The attribute types a slot table reads, in type order: a row's second pass.
struct SlotRead {
  uint16_t type;
  Slot slot;
};
std::vector<SlotRead> ReadsOf(const Slots& slots) {
  std::vector<SlotRead> reads;
  for (uint16_t t = 0; t < kSlotTypes; t++) {
    if (slots[t].column) reads.push_back({t, slots[t]});
  }
  return reads;
}
const std::vector<SlotRead> kLinkReads = ReadsOf(kLinkSlots);

// The attribute whose header ForEachAttr has checked, at `header`.
Attr AttrAt(const uint8_t* header) {
  nlattr h;
  std::memcpy(&h, header, sizeof h);
  return {static_cast<uint16_t>(h.nla_type & NLA_TYPE_MASK), header + NLA_HDRLEN,
          size_t{h.nla_len} - NLA_HDRLEN};
}

constexpr size_t ColumnOf(std::optional<int64_t> LinkAttrs::*field) {
  for (size_t k = 0; k < kLinkFieldCount; k++) {
    if (kLinkFields[k].field == field) return kFixed + k;
  }
  return 0;
}
constexpr size_t kLinkColumn = ColumnOf(&LinkAttrs::link);
constexpr size_t kLinkNetnsidColumn = ColumnOf(&LinkAttrs::link_netnsid);
constexpr size_t kTapMajorColumn = ColumnOf(&LinkAttrs::tap_major);
constexpr size_t kTapMinorColumn = ColumnOf(&LinkAttrs::tap_minor);
constexpr size_t kWirelessColumn = ColumnOf(&LinkAttrs::wireless);

// A scalar as its wire format reads (Attr::U8 and so on, inline); a value
// cut short stays absent.
template <class T>
void ReadAs(const Attr& a, double* out) {
  if (a.len < sizeof(T)) return;
  T v;
  std::memcpy(&v, a.data, sizeof v);
  *out = v;
}

inline void ReadInto(const Slot& slot, const Attr& a, double* row) {
  double* out = row + slot.column;
  switch (slot.wire) {
    case Wire::kU8: return ReadAs<uint8_t>(a, out);
    case Wire::kU16: return ReadAs<uint16_t>(a, out);
    case Wire::kU32: return ReadAs<uint32_t>(a, out);
    case Wire::kS32: return ReadAs<int32_t>(a, out);
  }
}

// at[type] of a link message's attributes: 1 + the attribute's offset / 4
// (they are 4-aligned), 0 for none. 256 bytes to clear a message where
// pointers took 1 KiB. A link message is far below the 256 KiB this
// indexes: past it is cut short.
using AttrIndex = std::array<uint16_t, kSlotTypes>;
constexpr size_t kIndexed = size_t{UINT16_MAX - 1} * NLA_ALIGNTO;

// The attribute layout of the last link message walked on this thread:
// each header after the first (IFLA_IFNAME, whose length follows the name)
// and where it is. rtnl_fill_ifinfo() fills every link of a kind alike, so
// the messages of a dump mostly repeat it. Walking a message is a chain of
// dependent loads (each nla_len gives the next header's place: C's walk
// pays it too, 60-75 ns a link here); checking each header where the
// layout puts it is independent loads, a few ns. A message whose headers
// all match and whose attributes end where the layout's do walks exactly
// as the layout's did, so what it indexes is the same. A 503-link dump's
// decode: 167 -> 78 ns a link (bash bench/decode-profile.sh).
class AttrLayout {
 public:
  // Fills `at` for `len` bytes of attributes that have this layout; false
  // (`at` untouched) for any other.
  bool Index(const uint8_t* attrs, size_t len, AttrIndex& at) {
    if (count_ == 0 || len < NLA_HDRLEN) return false;
    nlattr first;
    std::memcpy(&first, attrs, sizeof first);
    if (first.nla_type != first_type_ || first.nla_len < NLA_HDRLEN) return false;
    size_t base = NLA_ALIGN(size_t{first.nla_len});
    if (base > len || len - base != rest_len_) return false;
    const uint8_t* rest = attrs + base;
    uint32_t differ = 0;
    for (size_t k = 0; k < count_; k++) {
      uint32_t header;
      std::memcpy(&header, rest + offsets_[k], sizeof header);
      differ |= header ^ headers_[k];
    }
    if (differ != 0) return false;
    hits_++;
    auto shift = static_cast<uint16_t>(base / NLA_ALIGNTO);
    for (size_t t = 0; t < kSlotTypes; t++)
      at[t] = rest_at_[t] ? static_cast<uint16_t>(rest_at_[t] + shift) : 0;
    uint16_t type = first_type_ & NLA_TYPE_MASK;
    if (type < kSlotTypes && at[type] == 0) at[type] = 1;
    return true;
  }

  // Walks `len` bytes of attributes into `at` (cleared first), and keeps
  // their layout when the walk was whole; false when it was cut short.
  bool Walk(const uint8_t* attrs, size_t len, AttrIndex& at) {
    at.fill(0);
    count_ = 0;
    rest_at_.fill(0);
    size_t base = 0;
    bool fits = true;
    bool whole = ForEachAttr(attrs, len, [&](const Attr& a) {
      size_t off = static_cast<size_t>(a.data - NLA_HDRLEN - attrs);
      if (a.type < kSlotTypes) at[a.type] = static_cast<uint16_t>(off / NLA_ALIGNTO + 1);
      uint32_t header;
      std::memcpy(&header, attrs + off, sizeof header);
      if (off == 0) {
        first_type_ = static_cast<uint16_t>(header >> 16);
        base = NLA_ALIGN(a.len + NLA_HDRLEN);
        return;
      }
      if (count_ == kMaxAttrs) {
        fits = false;
        return;
      }
      offsets_[count_] = static_cast<uint32_t>(off - base);
      headers_[count_++] = header;
      if (a.type < kSlotTypes) rest_at_[a.type] = static_cast<uint16_t>((off - base) / NLA_ALIGNTO + 1);
    });
    if (!whole || !fits || count_ == 0) {
      count_ = 0;
    } else {
      rest_len_ = len - base;
    }
    return whole;
  }

  size_t hits() const { return hits_; }

 private:
  static constexpr size_t kMaxAttrs = 96;  // a macvtap's message has about 50
  size_t count_ = 0;                       // 0: no layout
  uint16_t first_type_ = 0;                // nla_type as sent, flags included
  size_t rest_len_ = 0;                    // from the end of the first attribute (aligned)
  std::array<uint32_t, kMaxAttrs> offsets_;
  std::array<uint32_t, kMaxAttrs> headers_;  // nla_len | nla_type << 16, as sent
  AttrIndex rest_at_;                        // as at[], from the end of the first attribute
  size_t hits_ = 0;                          // messages Index() took (tests)
};

// One per thread: a table is filled on one thread, and a dump's next call
// finds the layout its last one left. Zero-initialized, no constructor to
// guard.
thread_local AttrLayout last_layout;

std::string_view StringOf(const Attr& a) {
  const char* s = reinterpret_cast<const char*>(a.data);
  return {s, strnlen(s, a.len)};
}

}  // namespace

// { numbers, strings }: the fixed columns, every link field, the mark of a
// macvlan block where a row has one, the macvlan fields; the string columns.
template <size_t F, size_t S>
Napi::Object ColumnNames(Napi::Env env, const char* const (&fixed)[F], const char* macvlan_mark,
                         const char* const (&string_columns)[S]) {
  Napi::Array numbers = Napi::Array::New(env);
  uint32_t i = 0;
  for (const char* name : fixed) numbers.Set(i++, name);
  for (const auto& f : kLinkFields) numbers.Set(i++, f.key);
  if (macvlan_mark) numbers.Set(i++, macvlan_mark);
  for (const auto& f : kMacvlanFields) numbers.Set(i++, std::string("macvlan.") + f.key);
  Napi::Array strings = Napi::Array::New(env, S);
  for (uint32_t k = 0; k < S; k++) strings.Set(k, string_columns[k]);
  Napi::Object o = Napi::Object::New(env);
  o.Set("numbers", numbers);
  o.Set("strings", strings);
  return o;
}

Napi::Object LinkTableColumns(Napi::Env env) {
  Napi::Object o = ColumnNames(env, kFixedNumberColumns, nullptr, kStringColumns);
  Napi::Array rare = Napi::Array::New(env, std::size(kRareColumns));
  for (uint32_t k = 0; k < std::size(kRareColumns); k++) rare.Set(k, kRareColumns[k]);
  o.Set("rare", rare);
  return o;
}

namespace {

// FormatMac, appended in place: a table formats a MAC a link, and a
// std::string for each (17 characters: past the small-string buffer) was a
// heap allocation each.
void AppendMac(std::string& out, const uint8_t* mac, size_t len) {
  static const char kHex[] = "0123456789abcdef";
  if (len == 0) return;
  size_t at = out.size();
  out.resize(at + len * 3 - 1);
  char* p = out.data() + at;
  for (size_t i = 0; i < len; i++) {
    if (i) *p++ = ':';
    *p++ = kHex[mac[i] >> 4];
    *p++ = kHex[mac[i] & 15];
  }
}

// The numbers of the tables handed to JS, kept for the next tables. Freed
// instead, glibc gave their pages back to the kernel (heap trimming) and the
// next dump faulted each in again: 19 page faults a 503-link listLinks, all
// in LinkTableBuilder::Add (perf -e page-faults); kept, 0.06-0.1 ms less of
// the I/O thread's CPU a call on these VMs. A buffer comes back when JS says
// it is done with its table (Recycle), or else when the GC lets it go: left
// to the GC alone, a run of dumps between two scavenges took a fresh buffer
// each, 36-40 page faults and 0.4-0.6 ms more a 503-link listLinks.
class NumberBuffers {
 public:
  // A cleared buffer with room for `capacity` values.
  static std::vector<double> Take(size_t capacity) {
    {
      std::lock_guard<std::mutex> lock(mu());
      auto& kept = Kept();
      for (auto it = kept.begin(); it != kept.end(); ++it) {
        if (it->capacity() < capacity) continue;
        std::vector<double> v = std::move(*it);
        kept.erase(it);
        reused_++;
        return v;
      }
    }
    std::vector<double> v;
    v.reserve(capacity);
    return v;
  }

  // How many are kept now, and how many tables have taken one so far.
  static std::pair<size_t, size_t> Counts() {
    std::lock_guard<std::mutex> lock(mu());
    return {Kept().size(), reused_};
  }

  // `v` now backs an ArrayBuffer; its finalizer calls Finalize(v).
  static void Lend(std::vector<double>* v) {
    std::lock_guard<std::mutex> lock(mu());
    Lent()[v->data()] = v;
  }

  static void Finalize(std::vector<double>* v) {
    {
      std::lock_guard<std::mutex> lock(mu());
      auto it = Lent().find(v->data());
      if (it != Lent().end() && it->second == v) Lent().erase(it);
    }
    if (v->capacity() > 0) Give(std::move(*v));  // empty once recycled
    delete v;
  }

  // JS is done with the table whose numbers are `buffer`: detached (its
  // views read nothing from now on), its vector is kept at once. False for
  // a buffer that is not a lent table's.
  static bool Recycle(Napi::ArrayBuffer buffer) {
    std::vector<double>* v;
    {
      std::lock_guard<std::mutex> lock(mu());
      auto it = Lent().find(buffer.Data());
      if (it == Lent().end()) return false;
      v = it->second;
      Lent().erase(it);
    }
    // Emptied first: a runtime that ran the finalizer inside Detach() would
    // find nothing to give back (Node runs it later, from an immediate).
    std::vector<double> storage = std::move(*v);
    buffer.Detach();
    Give(std::move(storage));
    return true;
  }

 private:
  static void Give(std::vector<double>&& v) {
    v.clear();
    std::lock_guard<std::mutex> lock(mu());
    auto& kept = Kept();
    size_t bytes = v.capacity() * sizeof(double);
    for (const auto& k : kept) bytes += k.capacity() * sizeof(double);
    if (kept.size() < kMaxKept && bytes <= kMaxBytes) kept.push_back(std::move(v));
  }

  static inline size_t reused_ = 0;  // under mu()
  static constexpr size_t kMaxKept = 32;
  static constexpr size_t kMaxBytes = 4 << 20;  // a 5000-link dump in parts is 1.2 MB
  // Never destroyed: a finalizer may run as the process exits.
  static std::mutex& mu() {
    static auto* m = new std::mutex;
    return *m;
  }
  static std::vector<std::vector<double>>& Kept() {
    static auto* kept = new std::vector<std::vector<double>>;
    return *kept;
  }
  static std::unordered_map<const void*, std::vector<double>*>& Lent() {
    static auto* lent = new std::unordered_map<const void*, std::vector<double>*>;
    return *lent;
  }
};

}  // namespace

std::pair<size_t, size_t> NumberBufferCounts() { return NumberBuffers::Counts(); }

size_t LayoutHits() { return last_layout.hits(); }

bool RecycleNumbers(Napi::ArrayBuffer buffer) { return NumberBuffers::Recycle(buffer); }

void LinkTableBuilder::Reserve(size_t links) {
  size_t values = links * kNumberColumns;
  if (numbers_.capacity() < values) {
    std::vector<double> v = NumberBuffers::Take(values);
    v.assign(numbers_.begin(), numbers_.end());
    numbers_ = std::move(v);
  }
  // A pooled buffer's cache lines were last read by the JS thread, on the
  // other core, and each row's first store here waited for its lines to
  // come back: about 200 ns a link to decode a 503-link dump, against 77
  // into lines this core holds (bash bench/decode-profile.sh). memset()
  // takes them whole, a few microseconds for the lot, into the vector's
  // spare room; what it writes does not matter (Add() fills every column
  // of a new row). The same for the names, whose buffer malloc hands back
  // from the last table.
  if (numbers_.size() < values) {
    std::memset(numbers_.data() + numbers_.size(), 0, (values - numbers_.size()) * sizeof(double));
  }
  size_t named = strings_.size();
  strings_.reserve(links * 48);
  strings_.append(strings_.capacity() - named, '\0');
  strings_.resize(named);
}

bool LinkTableBuilder::Add(const nlmsghdr* h) {
  if (h->nlmsg_type != RTM_NEWLINK && h->nlmsg_type != RTM_DELLINK) return false;
  const auto* ifi = FamilyHeader<ifinfomsg>(h);
  if (!ifi) return false;
  if (count_ > 0) {
    strings_.push_back('\0');
    macs_.push_back('\0');
    rare_.push_back('\0');
  }
  count_++;
  size_t at = numbers_.size();
  static constexpr auto kEmptyRow = [] {
    std::array<double, kNumberColumns> r{};
    r.fill(NAN);
    return r;
  }();
  numbers_.insert(numbers_.end(), kEmptyRow.begin(), kEmptyRow.end());
  double* row = numbers_.data() + at;
  row[0] = ifi->ifi_index;
  row[1] = ifi->ifi_flags;
  row[2] = ifi->ifi_type;
  row[3] = 0;
  row[4] = 0;
  // row[kKindColumn] stays NaN without a kind

  std::string_view name, kind, parent;
  Attr address{0, nullptr, 0};
  std::optional<Attr> data;
  bool whole = true;
  constexpr size_t kStart = NLMSG_SPACE(sizeof(ifinfomsg));
  if (h->nlmsg_len > kStart) {
    // Two passes, as the kernel's nla_parse(): the first only notes where
    // each attribute is (the last of a type wins), the second reads the
    // columns in a fixed order. Deciding per attribute what to do with it
    // cost four times a plain walk of a link's ~50 attributes.
    const uint8_t* attrs = reinterpret_cast<const uint8_t*>(h) + kStart;
    size_t len = h->nlmsg_len - kStart;
    if (len > kIndexed) {
      len = kIndexed;
      whole = false;
    }
    AttrLayout& layout = last_layout;  // one thread-local lookup (the addon is dlopen()ed)
    AttrIndex at;
    if (!layout.Index(attrs, len, at)) whole &= layout.Walk(attrs, len, at);
    auto header = [&](uint16_t type) { return attrs + (size_t{at[type]} - 1) * NLA_ALIGNTO; };
    for (const SlotRead& r : kLinkReads) {
      if (at[r.type]) ReadInto(r.slot, AttrAt(header(r.type)), row);
    }
    if (at[IFLA_IFNAME]) name = StringOf(AttrAt(header(IFLA_IFNAME)));
    if (at[IFLA_ADDRESS]) address = AttrAt(header(IFLA_ADDRESS));
    if (at[IFLA_PARENT_DEV_NAME]) parent = StringOf(AttrAt(header(IFLA_PARENT_DEV_NAME)));
    if (at[IFLA_LINKINFO]) {
      Attr info = AttrAt(header(IFLA_LINKINFO));
      whole &= ForEachAttr(info.data, info.len, [&](const Attr& a) {
        if (a.type == IFLA_INFO_KIND) kind = StringOf(a);
        if (a.type == IFLA_INFO_DATA) data = a;
      });
    }
  }
  // IFLA_INFO_KIND comes before IFLA_INFO_DATA, but this does not rely on it.
  size_t macs_at = macs_.size();
  if (data && IsMacvlanKind(kind)) {
    row[3] = 1;
    whole &= ForEachAttr(data->data, data->len, [&](const Attr& a) {
      if (a.type < kSlotTypes && kMacvlanSlots[a.type].column) return ReadInto(kMacvlanSlots[a.type], a, row);
      if (a.type != IFLA_MACVLAN_MACADDR_DATA) return;
      macs_.resize(macs_at);  // a second list replaces the first
      bool first = true;
      whole &= ForEachAttr(a.data, a.len, [&](const Attr& mac) {
        if (mac.type != IFLA_MACVLAN_MACADDR || mac.len != 6) return;
        if (!first) macs_.push_back(',');
        first = false;
        AppendMac(macs_, mac.data, 6);
      });
    });
  }
  if (!whole) row[4] = 1;
  if (!kind.empty()) {
    auto known = std::find(kinds_.begin(), kinds_.end(), kind);
    if (known == kinds_.end()) {
      kinds_.emplace_back(kind);
      known = kinds_.end() - 1;
    }
    kind_code_ = static_cast<size_t>(known - kinds_.begin());
    row[kKindColumn] = static_cast<double>(kind_code_);
  } else {
    kind_code_ = kNoKind;
  }
  // Strings travel as one NUL-separated string (names cannot hold a NUL):
  // one N-API call for the table instead of several per link. The last
  // rare column (wirelessLower) stays open for SetWirelessLower().
  name_at_ = strings_.size();
  name_len_ = name.size();
  row[kNameAtColumn] = static_cast<double>(name_at_);
  row[kNameEndColumn] = static_cast<double>(name_at_ + name_len_);
  ascii_ &=
      std::all_of(name.begin(), name.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
  strings_ += name;
  strings_.push_back('\0');
  AppendMac(strings_, address.data, address.len);
  any_rare_ |= !parent.empty();
  rare_ += parent;
  rare_.push_back('\0');
  return true;
}

LinkTableBuilder::Row LinkTableBuilder::Last() const {
  const double* row = numbers_.data() + numbers_.size() - kNumberColumns;
  std::optional<uint32_t> link;
  if (!std::isnan(row[kLinkColumn])) link = static_cast<uint32_t>(row[kLinkColumn]);
  std::string_view kind = kind_code_ == kNoKind ? std::string_view() : std::string_view(kinds_[kind_code_]);
  return {static_cast<int32_t>(row[0]), std::string_view(strings_).substr(name_at_, name_len_), kind, link,
          !std::isnan(row[kLinkNetnsidColumn])};
}

void LinkTableBuilder::SetTapDevice(uint32_t major, uint32_t minor) {
  double* row = numbers_.data() + numbers_.size() - kNumberColumns;
  row[kTapMajorColumn] = major;
  row[kTapMinorColumn] = minor;
}

void LinkTableBuilder::SetWireless() { numbers_[numbers_.size() - kNumberColumns + kWirelessColumn] = 1; }

void LinkTableBuilder::SetWirelessLower(std::string_view lower) {
  rare_ += lower;
  any_rare_ = true;
}

void LinkTableBuilder::Clear() {
  count_ = 0;
  numbers_.clear();
  strings_.clear();
  ascii_ = true;
  macs_.clear();
  rare_.clear();
  any_rare_ = false;
  kinds_.clear();
}

constexpr size_t kCopiedNumbers = 16 * kNumberColumns;  // 16 links

Napi::Object LinkTableBuilder::Take(Napi::Env env) {
  if (!ascii_) {
    for (size_t at = 0; at < numbers_.size(); at += kNumberColumns) {
      numbers_[at + kNameAtColumn] = NAN;
      numbers_[at + kNameEndColumn] = NAN;
    }
  }
  Napi::Float64Array numbers;
  if (numbers_.size() <= kCopiedNumbers) {
    // A few links (a create, a get): a copy costs less than an external
    // buffer, whose finalizer the GC must track and run.
    numbers = Napi::Float64Array::New(env, numbers_.size());
    std::copy(numbers_.begin(), numbers_.end(), numbers.Data());
  } else {
    // The ArrayBuffer owns the vector: no zeroed allocation, no copy.
    auto owned = std::make_unique<std::vector<double>>(std::move(numbers_));
    auto buffer = Napi::ArrayBuffer::New(
        env, owned->data(), owned->size() * sizeof(double),
        [](Napi::Env, void*, std::vector<double>* v) { NumberBuffers::Finalize(v); }, owned.get());
    std::vector<double>* kept = owned.release();  // the ArrayBuffer's finalizer deletes it
    NumberBuffers::Lend(kept);
    numbers = Napi::Float64Array::New(env, kept->size(), buffer, 0);
  }
  std::string kinds;
  for (const std::string& kind : kinds_) {
    if (!kinds.empty()) kinds.push_back('\0');
    kinds += kind;
  }
  auto* maker = env.GetInstanceData<LinkTableMaker>();
  if (!maker) throw Napi::Error::New(env, "native: setLinkTableMaker() was not called (src/binding.ts)");
  Napi::Value table =
      maker->make.Call({Napi::Number::New(env, static_cast<double>(count_)), numbers,
                        Napi::String::New(env, strings_), Napi::String::New(env, macs_),
                        Napi::String::New(env, kinds), Napi::String::New(env, any_rare_ ? rare_ : "")});
  Clear();
  return table.As<Napi::Object>();
}

// One call into JS makes the table object: six properties set from C++
// were six runtime calls, each a map transition, and with the names made
// as strings each time they took ~10 us a table on these VMs (perf of
// sequential creates). Each environment (a worker thread loads the addon
// anew) has its own.
void SetLinkTableMaker(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsFunction()) throw Napi::TypeError::New(env, "native: setLinkTableMaker(function)");
  auto make = Napi::Persistent(info[0].As<Napi::Function>());
  // A second call (the package loaded twice) replaces the function: N-API
  // drops old instance data without finalizing it.
  if (auto* maker = env.GetInstanceData<LinkTableMaker>()) {
    maker->make = std::move(make);
  } else {
    env.SetInstanceData(new LinkTableMaker{std::move(make)});
  }
}

namespace {

// A request row: the fixed header fields, every link field, whether a
// macvlan block is present, then its fields (NaN where absent); and the
// string fields joined by NUL.
constexpr const char* kRequestFixedColumns[] = {"index", "flags", "change"};
constexpr const char* kRequestStringColumns[] = {
    "name", "kind", "address", "macvlan.macaddr", "macvlan.macaddrData", "linkName"};
constexpr size_t kRequestFixed = std::size(kRequestFixedColumns);
constexpr size_t kRequestMacvlan = kRequestFixed + kLinkFieldCount;  // the presence column
constexpr size_t kRequestNumberColumns = kRequestMacvlan + 1 + std::size(kMacvlanFields);

std::vector<std::string_view> SplitOn(std::string_view s, char sep) {
  std::vector<std::string_view> parts;
  for (size_t start = 0;;) {
    size_t end = s.find(sep, start);
    parts.push_back(s.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
    if (end == std::string_view::npos) return parts;
    start = end + 1;
  }
}

std::optional<int64_t> Present(double v) {
  if (std::isnan(v)) return std::nullopt;
  return static_cast<int64_t>(v);
}

}  // namespace

Napi::Object LinkRequestColumns(Napi::Env env) {
  return ColumnNames(env, kRequestFixedColumns, "macvlan", kRequestStringColumns);
}

LinkAttrs LinkAttrsFromColumns(const Napi::Value& numbers_value, const Napi::Value& strings_value) {
  Napi::Env env = numbers_value.Env();
  auto numbers = numbers_value.As<Napi::Float64Array>();
  // A create's strings are a few dozen bytes: read them into the stack in
  // one N-API call (Utf8Value() makes two and a heap string).
  std::array<char, 512> small;
  std::string large;
  size_t length = 0;
  napi_get_value_string_utf8(env, strings_value, small.data(), small.size(), &length);
  std::string_view joined(small.data(), length);
  if (length + 1 >= small.size()) {
    large = strings_value.As<Napi::String>().Utf8Value();
    joined = large;
  }
  std::array<std::string_view, std::size(kRequestStringColumns)> str;
  size_t fields = 0;
  for (size_t start = 0;; fields++) {
    size_t end = joined.find('\0', start);
    if (fields < str.size())
      str[fields] = joined.substr(start, end == std::string_view::npos ? end : end - start);
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  if (numbers.ElementLength() != kRequestNumberColumns || fields + 1 != str.size()) {
    throw Napi::TypeError::New(env, "native: a link request row of the wrong shape");
  }
  const double* row = numbers.Data();
  LinkAttrs l;
  if (auto v = Present(row[0])) l.index = static_cast<int32_t>(*v);
  if (auto v = Present(row[1])) l.flags = static_cast<uint32_t>(*v);
  if (auto v = Present(row[2])) l.change = static_cast<uint32_t>(*v);
  const double* p = row + kRequestFixed;
  for (const auto& f : kLinkFields) l.*f.field = Present(*p++);
  if (!str[0].empty()) l.name = std::string(str[0]);
  if (!str[1].empty()) l.kind = std::string(str[1]);
  if (!str[2].empty()) l.address = MacFrom(env, std::string(str[2]));
  if (!str[5].empty()) l.link_name = std::string(str[5]);
  if (!std::isnan(row[kRequestMacvlan])) {
    MacvlanAttrs mv;
    p = row + kRequestMacvlan + 1;
    for (const auto& f : kMacvlanFields) mv.*f.field = Present(*p++);
    if (!str[3].empty()) mv.macaddr = MacFrom(env, std::string(str[3]));
    if (!str[4].empty()) {
      std::vector<Mac> macs;
      for (std::string_view m : SplitOn(str[4], ',')) macs.push_back(MacFrom(env, std::string(m)));
      mv.macaddr_data = std::move(macs);
    }
    l.macvlan = std::move(mv);
  }
  return l;
}

}  // namespace macvlan
