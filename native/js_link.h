// LinkAttrs <-> the plain objects src/binding.ts describes (NativeLink,
// NativeLinkRequest). Main thread only.
#pragma once

#include <napi.h>

#include "rtnl_link.h"

namespace macvlan {

// Reads the fields of a NativeLinkRequest. TypeScript has validated them;
// a field of the wrong type here is a bug, reported as a TypeError.
LinkAttrs LinkAttrsFromJs(const Napi::Object& o);

Napi::Object LinkToJs(Napi::Env env, const LinkAttrs& l);

}  // namespace macvlan
