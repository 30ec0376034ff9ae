// libuv handles owned by a JS object: allocated on first use, freed after
// uv_close() has run its callback (never before: libuv still holds them).
#pragma once

#include <uv.h>

namespace macvlan {

// Closes (and so stops) the handle, frees it once libuv is done, and clears
// the pointer. Does nothing for a null handle.
template <class Handle>
void CloseUvHandle(Handle*& h) {
  if (h == nullptr) return;
  uv_close(reinterpret_cast<uv_handle_t*>(h),
           [](uv_handle_t* done) { delete reinterpret_cast<Handle*>(done); });
  h = nullptr;
}

}  // namespace macvlan
