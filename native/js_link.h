// LinkAttrs <-> JS: link tables out, request rows in (src/binding.ts
// describes both). Main thread only.
#pragma once

#include <napi.h>

#include "rtnl_link.h"

namespace macvlan {

// A NativeLinkRequest as one row (src/link_request.ts packs it): a
// Float64Array of LinkRequestColumns().numbers (NaN where absent) and the
// string columns joined by NUL ('' where absent; source MACs joined by ',').
// Two N-API calls a request, where walking an object costs a few per field.
// TypeScript has validated the values; a row of the wrong shape is a bug,
// reported as a TypeError.
LinkAttrs LinkAttrsFromColumns(const Napi::Value& numbers, const Napi::Value& strings);

// The column names of a link request row, in order: { numbers, strings }.
Napi::Object LinkRequestColumns(Napi::Env env);

// Many links as columns: { count, numbers: Float64Array (count x columns,
// NaN where absent), strings: the string columns of every link joined by
// NUL ('' where absent), macs: each link's source MACs joined by ',', links
// joined by NUL }. Building JS objects property by property costs a N-API
// call per field; this costs a handful per table, and TypeScript builds the
// objects (src/link.ts, rowsOf).
Napi::Object LinkTableToJs(Napi::Env env, const std::vector<LinkAttrs>& links);

// The column names of a link table, in order: { numbers, strings }.
Napi::Object LinkTableColumns(Napi::Env env);

}  // namespace macvlan
