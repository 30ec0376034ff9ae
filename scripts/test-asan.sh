#!/usr/bin/env bash
# The kernel tests against an ASan+UBSan build of the addon (npm run test:asan).
#
# Builds native/ with cmake-js (CMakeLists.txt) into build-asan/, never build/,
# then runs vitest in a throwaway copy of the package whose
# build/Release/macvlan.node is the sanitizer build. src/, test/ and dist/ are
# copied, not linked: Node and Vite resolve symlinks to their real path, and
# src/binding.ts loads the addon relative to its own location. Node is not
# built with ASan, so the runtimes are preloaded. Exits non-zero when a test
# fails or when any Node process wrote a sanitizer report.
#   scripts/test-asan.sh [vitest args...]   e.g. test/links.test.ts
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

# cmake-js reads nodedir from npm's config (npm run exports it); without it,
# use the running Node's own headers rather than downloading them.
if [ -z "${npm_config_nodedir:-}" ]; then
  prefix=$(dirname "$(dirname "$(command -v node)")")
  [ -f "$prefix/include/node/node_api.h" ] && export npm_config_nodedir=$prefix
fi

started=$SECONDS
npx cmake-js build --out build-asan --parallel "$(nproc)" --log-level warn
echo "test:asan: built build-asan/Release/macvlan.node in $((SECONDS - started))s" >&2

tree=$(mktemp -d /tmp/macvlan-asan.XXXXXX)
reports=$tree/.sanitizer
trap 'rm -rf "$tree"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
cp -r src test bin scripts package.json vitest.config.ts tsconfig.json binding.gyp CMakeLists.txt "$tree"/
ln -s "$root/node_modules" "$tree/node_modules"
[ -d .cache ] && ln -s "$root/.cache" "$tree/.cache" # the VM test's guest
mkdir -p "$tree/build/Release" "$reports"
cp build-asan/Release/macvlan.node "$tree/build/Release/macvlan.node"
(cd "$tree" && npx tsc -p tsconfig.json) # dist/ for the worker-thread tests
# tinypool stops each vitest fork with SIGTERM, which skips the exit-time
# leak check: in the forks only, SIGTERM becomes a normal exit.
cat > "$tree/.asan-fork-exit.cjs" <<'JS'
if (/[\\/]tinypool[\\/]dist[\\/]entry[\\/]process\.js$/.test(process.argv[1] ?? '')) {
  process.once('SIGTERM', () => process.exit(0));
}
JS
export NODE_OPTIONS="${NODE_OPTIONS:+$NODE_OPTIONS }--require $tree/.asan-fork-exit.cjs"

asan=$(gcc -print-file-name=libasan.so)
ubsan=$(gcc -print-file-name=libubsan.so)
[ -f "$asan" ] && [ -f "$ubsan" ] || { echo "test:asan: no libasan/libubsan (gcc -print-file-name)" >&2; exit 1; }
export LD_PRELOAD="$asan:$ubsan"
# Leaks are checked when each process exits; test/asan.supp names only
# allocation sites inside V8. The preload reaches every program the tests run
# (ip, python3, qemu...), and ASan finds faults in some of them (ip 6.1
# strncpy-param-overlap, leaks at exit): halt_on_error=0 and exitcode=0 keep
# them working. Our code is built without -fsanitize-recover, so its first
# fault still aborts the process. What decides is the report files (one per
# process, named after the executable): any from a Node process fails the
# run, whatever its exit status was. (Leak suppressions must go in
# LSAN_OPTIONS: ASan refuses `leak:` lines in its own.)
export ASAN_OPTIONS="detect_leaks=1:halt_on_error=0:exitcode=0:log_path=$reports/asan:log_exe_name=1"
export LSAN_OPTIONS="suppressions=$root/test/asan.supp:print_suppressions=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$reports/ubsan:log_exe_name=1"

# The copy, not the checkout, is what the tests load.
loaded=$(cd "$tree" && node --input-type=module -e "
  await import('./dist/binding.js');
  const fs = await import('node:fs');
  const m = fs.readFileSync('/proc/self/maps', 'utf8').split('\n').find((l) => l.includes('macvlan.node'));
  console.log(m ? m.slice(m.indexOf('/')) : '');")
if [ "$loaded" != "$tree/build/Release/macvlan.node" ]; then
  echo "test:asan: the addon came from '$loaded', not the sanitizer build" >&2
  exit 1
fi

status=0
# test/package.test.ts packs and installs the tarball, whose addon is a fresh
# prebuild rather than the sanitizer build: nothing here for ASan to check.
(cd "$tree" && npx vitest run --exclude test/package.test.ts "$@") || status=$?

# A report from a Node process is ours (the addon runs in it); other
# programs' are only counted.
shopt -s nullglob
ours=0
others=()
for f in "$reports"/*; do
  name=$(basename "$f")
  case "$name" in
    asan.node.* | ubsan.node.*) ours=1; echo "==== $name" >&2; cat "$f" >&2 ;;
    *) others+=("${name%.*}") ;;
  esac
done
if ((${#others[@]})); then
  echo "test:asan: not counted, reports from other programs: $(printf '%s\n' "${others[@]}" | sort | uniq -c | xargs)" >&2
fi
if ((ours)); then
  echo "test:asan: sanitizer reports from Node processes (above)" >&2
  status=1
fi
echo "test:asan: vitest exit $status, $((SECONDS - started))s in all" >&2
exit $status
