// bench/ref.c as a Node addon, for bench/inproc-profile.mjs: the C
// reference's commands run inside a Node process, to tell what the process
// costs the kernel's work from what the library adds. Built by
// bench/inproc-profile.sh with ref.c's main() renamed ref_main().
//   run(outPath, command, ...args): runs `ref command args...` on the
//   calling thread (blocking it), its JSON output written to outPath.
#include <fcntl.h>
#include <node_api.h>
#include <stdio.h>
#include <unistd.h>

int ref_main(int argc, char **argv);

static napi_value Run(napi_env env, napi_callback_info info) {
  enum { kMaxArgs = 12, kArgSize = 256 };
  size_t argc = kMaxArgs;
  napi_value args[kMaxArgs];
  static char text[kMaxArgs][kArgSize];
  char *argv[kMaxArgs + 1];
  napi_get_cb_info(env, info, &argc, args, NULL, NULL);
  argv[0] = "ref";
  for (size_t i = 0; i < argc; i++) {
    size_t n;
    if (napi_get_value_string_utf8(env, args[i], text[i], kArgSize, &n) != napi_ok) {
      napi_throw_type_error(env, NULL, "run: string arguments only");
      return NULL;
    }
    argv[i] = text[i];
  }
  if (argc < 2) {
    napi_throw_type_error(env, NULL, "run(outPath, command, ...args)");
    return NULL;
  }
  // argv[0] is the output path; ref sees "ref command args...".
  int out = open(text[0], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (out < 0) {
    napi_throw_error(env, NULL, "run: cannot open the output path");
    return NULL;
  }
  fflush(stdout);
  int saved = dup(1);
  dup2(out, 1);
  close(out);
  argv[0] = "ref";
  int rc = ref_main((int)argc, argv);
  fflush(stdout);
  dup2(saved, 1);
  close(saved);
  napi_value result;
  napi_create_int32(env, rc, &result);
  return result;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  napi_create_function(env, "run", NAPI_AUTO_LENGTH, Run, NULL, &fn);
  napi_set_named_property(env, exports, "run", fn);
  return exports;
}
