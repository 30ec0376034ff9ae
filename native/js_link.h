// LinkAttrs <-> the plain objects src/binding.ts describes (NativeLink,
// NativeLinkRequest). Main thread only.
#pragma once

#include <napi.h>

#include "rtnl_link.h"

namespace macvlan {

// Reads the fields of a NativeLinkRequest. TypeScript has validated them;
// a field of the wrong type here is a bug, reported as a TypeError.
LinkAttrs LinkAttrsFromJs(const Napi::Object& o);

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
