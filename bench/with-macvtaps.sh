#!/usr/bin/env bash
# Runs a command inside a throwaway network namespace that holds N macvtap
# links (d0, d1, ...) in bridge mode on a veth (v0 <-> v1), IPv6 off as in
# npm run bench, and removes the namespace when the command ends. The
# profiling tools' common setup:
#   bash bench/with-macvtaps.sh N command [args...]
set -euo pipefail
n=$1
shift
ns=mvprof-$$
ip netns add "$ns"
trap 'ip netns del "$ns"' EXIT
ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
ip -n "$ns" link add v0 type veth peer name v1
for ((i = 0; i < n; i++)); do echo "link add link v0 name d$i type macvtap mode bridge"; done | ip -n "$ns" -batch -
ip netns exec "$ns" "$@"
