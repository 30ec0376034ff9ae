// Links <-> JS: tables of decoded RTM_NEWLINKs out, request rows (as
// LinkAttrs) in; src/binding.ts describes both. Main thread only, but for
// filling a LinkTableBuilder.
#pragma once

#include <napi.h>

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "rtnl_link.h"

namespace macvlan {

// A NativeLinkRequest as a row (src/link_request.ts packs it): a
// Float64Array of LinkRequestColumns().numbers (NaN where absent) and the
// string columns joined by NUL ('' where absent; source MACs joined by ',').
// Two or three N-API calls, where walking an object costs a few per field.
// TypeScript has validated the values; a row of the wrong shape is a bug,
// reported as a TypeError.
LinkAttrs LinkAttrsFromColumns(const Napi::Value& numbers, const Napi::Value& strings);

// The column names of a link request row, in order: { numbers, strings }.
Napi::Object LinkRequestColumns(Napi::Env env);

// Many links as columns: { count, numbers: Float64Array (count x columns,
// NaN where absent), strings: the string columns of every link joined by
// NUL ('' where absent), macs: each link's source MACs joined by ',', links
// joined by NUL, kinds: the kinds the kind column indexes, joined by NUL,
// rare: the rare string columns of every link joined by NUL, or '' when no
// link has one }. Building JS objects property by property costs a N-API
// call per field; this costs a handful per table, and TypeScript builds the
// objects (src/link.ts: linksOf, rowsOf).
//
// Built a message at a time, on any thread: RTM_NEWLINK/RTM_DELLINK are
// decoded straight into a row (no LinkAttrs in between: a dump decodes
// hundreds). Handed to JS once, on the main thread, which moves the numbers
// into JS without a copy.
class LinkTableBuilder {
 public:
  void Reserve(size_t links);
  // Decodes one message into a new row; false (no row) when it is not a
  // link message or its fixed header is cut short. Unknown attributes are
  // skipped; one cut short marks the row truncated.
  bool Add(const nlmsghdr* h);
  void Clear();
  size_t size() const { return count_; }

  // The row Add() made last, and what sysfs adds to it.
  struct Row {
    int32_t index;
    std::string_view name;  // valid until the next change to the table
    std::string_view kind;
    std::optional<uint32_t> link;  // IFLA_LINK
    bool lower_elsewhere;          // IFLA_LINK_NETNSID: the lower is in another namespace
  };
  Row Last() const;
  void SetTapDevice(uint32_t major, uint32_t minor);
  void SetWireless();
  void SetWirelessLower(std::string_view lower);  // once, before the next Add

  // What JS gets (above); leaves the builder empty.
  Napi::Object Take(Napi::Env env);
  // The rows' numbers as they stand (bench/decode-profile.cc reads them on
  // another core, as the JS thread does).
  std::span<const double> numbers() const { return numbers_; }

 private:
  static constexpr size_t kNoKind = static_cast<size_t>(-1);
  size_t count_ = 0;
  std::vector<double> numbers_;
  std::string strings_;
  std::string macs_;
  std::string rare_;  // kRareColumns of every link, joined by NUL
  bool any_rare_ = false;
  bool ascii_ = true;               // every name so far: the name offsets hold
  std::vector<std::string> kinds_;  // what the kind column indexes
  // The last row's name in strings_, and its kind.
  size_t name_at_ = 0, name_len_ = 0, kind_code_ = kNoKind;
};

// The column names of a link table, in order: { numbers, strings, rare }.
Napi::Object LinkTableColumns(Napi::Env env);

// The number buffers of tables the GC has let go: how many are kept for
// the next tables, and how many tables have taken one so far (tests).
std::pair<size_t, size_t> NumberBufferCounts();

// How many link messages this thread has indexed from the layout of the
// one before (js_link.cc AttrLayout) instead of walking them (tests).
size_t LayoutHits();

// JS is done with a table whose numbers are `buffer`: it is detached and its
// memory kept for the next table. False (nothing done) for any other buffer.
bool RecycleNumbers(Napi::ArrayBuffer buffer);

// The JS function Take() makes a table object with:
// (count, numbers, strings, macs, kinds, rare) => LinkTable. An
// environment's instance data.
struct LinkTableMaker {
  Napi::FunctionReference make;
};
void SetLinkTableMaker(const Napi::CallbackInfo& info);

}  // namespace macvlan
