// AddrAttrs/RouteAttrs <-> the plain objects src/binding.ts describes.
#pragma once

#include <napi.h>

#include "rtnl_addr_route.h"

namespace macvlan {

AddrAttrs AddrAttrsFromJs(const Napi::Object& o);
Napi::Object AddrToJs(Napi::Env env, const AddrAttrs& a);
RouteAttrs RouteAttrsFromJs(const Napi::Object& o);
Napi::Object RouteToJs(Napi::Env env, const RouteAttrs& r);

}  // namespace macvlan
