#!/usr/bin/env bash
# `npm pack` / `npm publish` run this (the "prepack" script): it builds the
# TypeScript into dist/ and the addon from this tree's native/ into
# prebuilds/linux-x64/ and prebuilds/linux-arm64/ (node-gyp-build's layout),
# so a tarball never carries binaries older than its sources. Both addons are
# built in a scratch copy, never in build/: that stays the developers' source
# build. linux-arm64 is cross-built with Debian's g++-aarch64-linux-gnu and
# refused unless it really is an AArch64 ELF.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
cross=aarch64-linux-gnu
for tool in "$cross-gcc" "$cross-g++" "$cross-strip" file readelf; do
  command -v "$tool" >/dev/null 2>&1 || {
    echo "prebuild: $tool not found (bash scripts/setup.sh installs it)" >&2
    exit 1
  }
done

stage=$(mktemp -d "${TMPDIR:-/tmp}/macvlan-prebuild.XXXXXX")
trap 'rm -rf "$stage"' EXIT
cp -r binding.gyp package.json native "$stage/"
ln -s "$root/node_modules" "$stage/node_modules"

# N-API (NAPI_VERSION pinned in binding.gyp): one binary per arch serves every
# Node that has that N-API version. The headers are the running Node's, which
# are the same for every arch.
target=$(node -p process.versions.node)
export JOBS=${JOBS:-max}
(cd "$stage" && npx prebuildify --napi --strip --target "$target")
(cd "$stage" && CC=$cross-gcc CXX=$cross-g++ LINK=$cross-g++ AR=$cross-ar \
  npx prebuildify --napi --strip --strip-bin "$cross-strip" --arch arm64 --target "$target")

check() { # <dir> <what `file` must say>
  local f
  f=$(echo "$stage/prebuilds/$1"/*.node)
  [ -f "$f" ] || { echo "prebuild: no addon in prebuilds/$1" >&2; exit 1; }
  file -b "$f" | grep -q "$2" || { echo "prebuild: prebuilds/$1 is not $2: $(file -b "$f")" >&2; exit 1; }
}
check linux-x64 'x86-64'
check linux-arm64 'ARM aarch64'

rm -rf prebuilds/linux-x64 prebuilds/linux-arm64
mkdir -p prebuilds
cp -r "$stage/prebuilds/linux-x64" "$stage/prebuilds/linux-arm64" prebuilds/
npx tsc -p tsconfig.json
