// LinkAttrs <-> JS: link tables out, request rows in (src/binding.ts
// describes both). Main thread only, but for LinkTableBuilder::Add.
#pragma once

#include <napi.h>

#include "rtnl_link.h"

namespace macvlan {

// NativeLinkRequests as rows (src/link_request.ts packs them): a
// Float64Array of LinkRequestColumns().numbers a row (NaN where absent) and
// the string columns of every row joined by NUL ('' where absent; source
// MACs joined by ','). Two N-API calls for any number of requests, where
// walking an object costs a few per field. TypeScript has validated the
// values; rows of the wrong shape (or none) are a bug, reported as a
// TypeError.
std::vector<LinkAttrs> LinkAttrsFromColumns(const Napi::Value& numbers, const Napi::Value& strings);

// The column names of a link request row, in order: { numbers, strings }.
Napi::Object LinkRequestColumns(Napi::Env env);

// Many links as columns: { count, numbers: Float64Array (count x columns,
// NaN where absent), strings: the string columns of every link joined by
// NUL ('' where absent), macs: each link's source MACs joined by ',', links
// joined by NUL }. Building JS objects property by property costs a N-API
// call per field; this costs a handful per table, and TypeScript builds the
// objects (src/link.ts: linksOf, rowsOf).
Napi::Object LinkTableToJs(Napi::Env env, const std::vector<LinkAttrs>& links);

// A link table built a link at a time, on any thread, and handed to JS
// once, on the main thread. The I/O thread can fill it as a dump arrives;
// the main thread then moves the numbers into JS without a copy.
class LinkTableBuilder {
 public:
  void Reserve(size_t links);
  void Add(const LinkAttrs& l);
  void Clear();
  size_t size() const { return count_; }
  // What LinkTableToJs gives; leaves the builder empty.
  Napi::Object Take(Napi::Env env);

 private:
  size_t count_ = 0;
  std::vector<double> numbers_;
  std::string strings_;
  std::string macs_;
};

// The column names of a link table, in order: { numbers, strings }.
Napi::Object LinkTableColumns(Napi::Env env);

}  // namespace macvlan
