#!/usr/bin/env bash
# Dumps of N macvtap links (default 500) measured five ways, alternating, in
# one Node process inside a throwaway namespace (bench/with-macvtaps.sh,
# bench/inproc-profile.mjs):
# the C reference as its own process, the same C code inside this Node
# process (bench/inproc.c) on the calling thread and through an I/O thread,
# and the library's raw dump and listLinks().
#   bash bench/inproc-profile.sh [N] [ROUNDS]
# What it showed (session 5): C inside Node dumps at C's own speed; the
# library's I/O thread spends the same CPU a dump as C's; what the library
# adds is its decode and the hand-over to the JS thread (bench/RESULTS.md).
source "$(dirname "$0")/profile-env.sh"
n=${1:-500}
rounds=${2:-15}
cc -O2 -Wall -pthread -o "$out/ref" bench/ref.c
cc -O2 -Wall -pthread -shared -fPIC -Dmain=ref_main -I"$nodeinc" bench/inproc.c bench/ref.c -o "$out/inproc.node"
bash bench/with-macvtaps.sh "$n" node bench/inproc-profile.mjs "$rounds"
