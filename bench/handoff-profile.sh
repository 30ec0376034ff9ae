#!/usr/bin/env bash
# Where the time of a sequential create goes, segment by segment, in the
# Node floor (bench/floor.c) and in the library, both built with their trace
# points (-DMACVLAN_TRACE_POINTS, native/trace_points.h) into a throwaway
# copy of the package; the creates run in a throwaway namespace
# (bench/with-macvtaps.sh). bench/handoff-profile.mjs explains the output.
#   bash bench/handoff-profile.sh [ROUNDS]   (default 10 rounds of 500)
source "$(dirname "$0")/profile-env.sh"
rounds=${1:-10}
tree=$(mktemp -d /tmp/macvlan-trace.XXXXXX)
trap 'rm -rf "$tree"' EXIT
cp -r src native binding.gyp package.json tsconfig.json "$tree"/
ln -s "$PWD/node_modules" "$tree/node_modules"
(cd "$tree" && CXXFLAGS=-DMACVLAN_TRACE_POINTS npx node-gyp rebuild --loglevel=error >/dev/null && npx tsc -p tsconfig.json)
cc -O2 -Wall -pthread -shared -fPIC -DMACVLAN_TRACE_POINTS -I"$nodeinc" -o "$tree/floor.node" bench/floor.c
MACVLAN_TRACE_FILE=$tree/library.marks MACVLAN_TRACE_FLOOR_FILE=$tree/floor.marks \
  bash bench/with-macvtaps.sh 0 node bench/handoff-profile.mjs run "$tree/dist" "$tree/floor.node" "$rounds" "$tree/windows.json"
node bench/handoff-profile.mjs report "$tree/windows.json" "$tree/library.marks" "$tree/floor.marks"
