#!/usr/bin/env bash
# clang-tidy over native/ with the checks in .clang-tidy (npm run tidy).
# Exits non-zero on any warning. Each file is its own clang-tidy run, one per
# CPU; a file's diagnostics are printed together once it is done.
#   scripts/tidy.sh [native/file.cc...]   (default: every native/*.cc)
#
# The flags come from binding.gyp, the real build: node-gyp's own gyp writes
# them as a compile database (its compile_commands_json generator), made into
# build-tidy/ when missing or older than binding.gyp. A clean file is
# remembered in build-tidy/clean/ under a hash of everything its result
# depends on (the file, every native header, .clang-tidy, the database), so
# scripts/lint.sh runs it on every test run: a fresh clone checks all files
# (a minute or two: clang-tidy parses napi.h and the C++ library again for
# each, and the analyzer walks every path), later runs only what changed.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

# Debian 12's clang-tidy is 14, the version .clang-tidy was checked with.
if ! command -v clang-tidy >/dev/null 2>&1; then
  echo "tidy: apt-get install clang-tidy" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends clang-tidy >/dev/null
fi

db=build-tidy/compile_commands.json
if [ ! -f "$db" ] || [ binding.gyp -nt "$db" ] || [ package-lock.json -nt "$db" ]; then
  # node-gyp runs gyp with build/ as its output: the database lands in
  # build/{Debug,Release}/ (beside, never over, a real build) and moves here.
  npx --no-install node-gyp configure --loglevel=warn -- -f compile_commands_json
  mkdir -p build-tidy
  # gyp writes "directory": "." and absolute paths; clang-tidy wants a real
  # directory.
  node -e '
    const fs = require("fs");
    const [from, to, dir] = process.argv.slice(1);
    const db = JSON.parse(fs.readFileSync(from, "utf8")).map((e) => ({ ...e, directory: dir }));
    fs.writeFileSync(to, JSON.stringify(db, null, 1) + "\n");
  ' build/Release/compile_commands.json "$db" "$root"
  rm -f build/Release/compile_commands.json build/Debug/compile_commands.json
  rmdir build/Debug 2>/dev/null || true
fi

if (($#)); then all=("$@"); else all=(native/*.cc); fi
mkdir -p build-tidy/clean
shared=$(cat native/*.h .clang-tidy "$db" | sha256sum | cut -c1-64)
key() { printf '%s %s' "$shared" "$(sha256sum <"$1")" | sha256sum | cut -c1-64; }
files=()
for f in "${all[@]}"; do
  [ -f "build-tidy/clean/$(key "$f")" ] || files+=("$f")
done
if ((${#files[@]} == 0)); then
  echo "tidy: ${#all[@]} files unchanged since they were clean" >&2
  exit 0
fi
logs=$(mktemp -d /tmp/macvlan-tidy.XXXXXX)
trap 'rm -rf "$logs"' EXIT

started=$SECONDS
status=0
# One log per file (named after it), printed whole: parallel runs do not
# interleave their lines. "N warnings generated." counts system headers too.
printf '%s\n' "${files[@]}" | xargs -P "$(nproc)" -I{} bash -c '
  log=$1/$(basename "$2").log
  clang-tidy -p build-tidy --quiet --warnings-as-errors="*" "$2" >"$log" 2>&1 || echo failed >"$log.failed"
  [ -f "$log.failed" ] || touch "$log.clean"
  grep -v "^[0-9]* warnings\? \(and [0-9]* errors\? \)\?generated\.$" "$log" || true
' _ "$logs" {} || status=$?
failed=$(find "$logs" -name '*.failed' | wc -l)
for f in "${files[@]}"; do
  [ -f "$logs/$(basename "$f").log.clean" ] && touch "build-tidy/clean/$(key "$f")"
done
echo "tidy: ${#files[@]} files in $((SECONDS - started))s, $failed with findings" >&2
if ((status != 0 || failed != 0)); then exit 1; fi
