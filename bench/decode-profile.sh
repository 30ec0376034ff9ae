#!/usr/bin/env bash
# The decode of a dump alone (bench/decode-profile.cc), for the links of a
# throwaway namespace (IPv6 off, as in npm run bench): N macvtaps on a veth
# (default 500), 30 blocks of ROUNDS decodes (default 100), and C's walk of
# the same messages as the floor; then ROUNDS x 10 decodes into a table the
# other CPU read last, as the JS thread reads a listLinks() table.
#   bash bench/decode-profile.sh [N] [ROUNDS]
# No N-API symbol is needed: the sections that use one are dropped at link
# time (-ffunction-sections, --gc-sections).
source "$(dirname "$0")/profile-env.sh"
n=${1:-500}
rounds=${2:-100}
napi=$(node -p "require('node-addon-api').include_dir")
g++ -O2 -std=c++20 -pthread -DNAPI_VERSION=8 -DNAPI_CPP_EXCEPTIONS -Inative -I"$nodeinc" -I"$napi" \
  -ffunction-sections -fdata-sections -Wl,--gc-sections \
  bench/decode-profile.cc native/js_link.cc native/rtnl_link.cc native/nlmsg.cc -o "$out/decode-profile"
bash bench/with-macvtaps.sh "$n" "$out/decode-profile" "$rounds"
