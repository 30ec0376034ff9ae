// The floor of any Node library that keeps its rtnetlink I/O off the event
// loop, for bench/run.mjs: bench/ref.c's requests through its I/O thread
// (the library's thread structure), with Node as the caller. Each call
// returns a promise; the I/O thread's completion wakes the event loop through
// libuv (a uv_poll on ref.c's done eventfd: uv_async, under N-API's
// thread-safe function, is an eventfd too) and resolves it, and JS awaits it
// before the next call. No validation, no request row packed in JS, no Link
// object: the least a Node caller pays over a C caller.
//
//   open(netnsPath, op, n, lower, prefix, spinUs): a socket in that namespace
//     and an I/O thread for n calls, op 'create' (a macvtap named prefix + i on
//     ifindex `lower`, its device number from its uevent, as createMacvtap)
//     or 'dump' (RTM_GETLINK dump, parsed to a count).
//   call() -> Promise<number>: the next request; the new link's ifindex, or
//     the dump's link count.
//   close(): stops the I/O thread and closes the sockets.
#define main ref_main
#include "ref.c"
#undef main

#include <node_api.h>
#include <uv.h>

static struct {
  napi_env env;
  napi_ref resource;
  napi_async_context context;
  uv_poll_t *poll;  // one a run: a closed one is freed once libuv is done with it
  napi_deferred *deferred;
  long *value;  // per call: what its promise resolves with
  long n, called, resolved;
  int open;
} floor_state;

static void op_floor_dump(long i) {
  floor_state.value[i] = dump_once();
  if (floor_state.value[i] < 0) die("dump: a link without a name");
}

static void op_floor_create(long i) {
  op_create(i);
  floor_state.value[i] = seq.ifindex[i];
}

#define CHECK(call)                                        \
  do {                                                     \
    if ((call) != napi_ok) {                               \
      napi_throw_error(env, NULL, "floor: " #call);        \
      return NULL;                                         \
    }                                                      \
  } while (0)

// The event loop's side of ref.c's io_call(): the I/O thread signalled its
// done eventfd; every call completed since resolves, inside a callback scope
// so that their continuations run before the loop goes on (as N-API's
// thread-safe function does).
static void on_done(uv_poll_t *handle, int status, int events) {
  (void)handle;
  (void)status;
  (void)events;
  napi_env env = floor_state.env;
  TRACE(TRACE_WOKEN);
  long done = io_take_completed();
  napi_handle_scope hs;
  napi_callback_scope cs;
  napi_value resource;
  napi_open_handle_scope(env, &hs);
  napi_get_reference_value(env, floor_state.resource, &resource);
  napi_open_callback_scope(env, resource, floor_state.context, &cs);
  TRACE(TRACE_SETTLING);
  for (; floor_state.resolved < done; floor_state.resolved++) {
    napi_value v;
    napi_create_int64(env, floor_state.value[floor_state.resolved], &v);
    napi_resolve_deferred(env, floor_state.deferred[floor_state.resolved], v);
  }
  napi_close_callback_scope(env, cs);
  napi_close_handle_scope(env, hs);
}

static int enter_netns(const char *path) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  int rc = setns(fd, CLONE_NEWNET);
  close(fd);
  return rc;
}

static napi_value Open(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value args[6];
  char path[256], op[16];
  static char prefix[IFNAMSIZ];
  int64_t n, lower, spin_us;
  size_t len;
  CHECK(napi_get_cb_info(env, info, &argc, args, NULL, NULL));
  if (argc != 6 || floor_state.open) {
    napi_throw_error(env, NULL, "floor: open(netnsPath, op, n, lower, prefix, spinUs), once until close()");
    return NULL;
  }
  CHECK(napi_get_value_string_utf8(env, args[0], path, sizeof path, &len));
  CHECK(napi_get_value_string_utf8(env, args[1], op, sizeof op, &len));
  CHECK(napi_get_value_int64(env, args[2], &n));
  CHECK(napi_get_value_int64(env, args[3], &lower));
  CHECK(napi_get_value_string_utf8(env, args[4], prefix, sizeof prefix, &len));
  CHECK(napi_get_value_int64(env, args[5], &spin_us));
  int create = !strcmp(op, "create");
  if ((!create && strcmp(op, "dump")) || n < 1) {
    napi_throw_error(env, NULL, "floor: op 'create' or 'dump', n >= 1");
    return NULL;
  }
  // The sockets are made in the namespace; this thread goes back to its own.
  int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (self < 0 || enter_netns(path) != 0) die("floor: enter the namespace");
  nl_open();
  if (create) uevent_open();
  if (setns(self, CLONE_NEWNET) != 0) die("floor: leave the namespace");
  close(self);

  seq.lower = (int)lower;
  seq.prefix = prefix;
  seq.start = 0;
  seq.read_tap = 2;
  seq.ifindex = calloc((size_t)n, sizeof *seq.ifindex);
  floor_state.deferred = calloc((size_t)n, sizeof *floor_state.deferred);
  floor_state.value = calloc((size_t)n, sizeof *floor_state.value);
  floor_state.n = n;
  floor_state.called = floor_state.resolved = 0;
  floor_state.env = env;
  napi_value resource, name;
  CHECK(napi_create_object(env, &resource));
  CHECK(napi_create_string_utf8(env, "floor", NAPI_AUTO_LENGTH, &name));
  CHECK(napi_create_reference(env, resource, 1, &floor_state.resource));
  CHECK(napi_async_init(env, resource, name, &floor_state.context));
  io_start(create ? op_floor_create : op_floor_dump, (long)spin_us);
  uv_loop_t *loop;
  CHECK(napi_get_uv_event_loop(env, &loop));
  floor_state.poll = malloc(sizeof *floor_state.poll);
  if (!floor_state.poll || uv_poll_init(loop, floor_state.poll, io.done_fd) != 0 ||
      uv_poll_start(floor_state.poll, UV_READABLE, on_done) != 0) {
    die("floor: uv_poll");
  }
  floor_state.open = 1;
  return NULL;
}

// ref.c's io_call() without the wait: the promise is settled by on_done().
static napi_value Call(napi_env env, napi_callback_info info) {
  (void)info;
  if (!floor_state.open || floor_state.called >= floor_state.n) {
    napi_throw_error(env, NULL, "floor: call() after n calls or before open()");
    return NULL;
  }
  napi_value promise;
  CHECK(napi_create_promise(env, &floor_state.deferred[floor_state.called++], &promise));
  TRACE(TRACE_FLUSHED);
  io_submit();
  return promise;
}

static void on_poll_closed(uv_handle_t *handle) { free(handle); }

static napi_value Close(napi_env env, napi_callback_info info) {
  (void)info;
  if (!floor_state.open) return NULL;
  floor_state.open = 0;
  uv_poll_stop(floor_state.poll);
  uv_close((uv_handle_t *)floor_state.poll, on_poll_closed);
  io_stop();  // closes the eventfds after the poll has stopped watching them
  if (floor_state.resolved != floor_state.called) die("floor: close() with calls pending");
  CHECK(napi_async_destroy(env, floor_state.context));
  CHECK(napi_delete_reference(env, floor_state.resource));
  close(nl);
  nl = 0;
  if (uev >= 0) close(uev);
  uev = -1;
  memset(uevent_seen, 0, sizeof uevent_seen);
  free(seq.ifindex);
  free(floor_state.deferred);
  free(floor_state.value);
  return NULL;
}

NAPI_MODULE_INIT() {
  static const struct {
    const char *name;
    napi_callback fn;
  } fns[] = {{"open", Open}, {"call", Call}, {"close", Close}};
  for (size_t i = 0; i < sizeof fns / sizeof *fns; i++) {
    napi_value f;
    napi_create_function(env, fns[i].name, NAPI_AUTO_LENGTH, fns[i].fn, NULL, &f);
    napi_set_named_property(env, exports, fns[i].name, f);
  }
  return exports;
}
