// libuv handles owned by a JS object: allocated on first use, freed after
// uv_close() has run its callback (never before: libuv still holds them).
#pragma once

#include <napi.h>
#include <node_api.h>
#include <uv.h>

namespace macvlan {

// The handle `h`, made on first use in the environment's loop (`init(loop,
// h)`) with `data`. Unless `keep_alive`, it does not keep the loop alive
// while active.
template <class Handle, class Init>
Handle* UvHandleOf(napi_env env, Handle*& h, void* data, bool keep_alive, Init init) {
  if (h == nullptr) {
    uv_loop_t* loop = nullptr;
    napi_get_uv_event_loop(env, &loop);
    h = new Handle;
    init(loop, h);
    if (!keep_alive) uv_unref(reinterpret_cast<uv_handle_t*>(h));
    h->data = data;
  }
  return h;
}

// Closes (and so stops) the handle, frees it once libuv is done, and clears
// the pointer. Does nothing for a null handle.
template <class Handle>
void CloseUvHandle(Handle*& h) {
  if (h == nullptr) return;
  uv_close(reinterpret_cast<uv_handle_t*>(h),
           [](uv_handle_t* done) { delete reinterpret_cast<Handle*>(done); });
  h = nullptr;
}

// Runs `fn`, which calls into JS, from a libuv callback. An exception it
// throws goes to Node as an uncaught one: thrown on from here, it would
// end the process (std::terminate), as it did while a worker was torn down
// and a poll still fired (no JS can run then).
template <class Fn>
void CallIntoJsFromLoop(napi_env env, Fn&& fn) {
  try {
    fn();
  } catch (const Napi::Error& e) {
    napi_fatal_exception(env, e.Value());
  }
}

}  // namespace macvlan
