#!/usr/bin/env bash
# Makes a fresh machine ready: Debian packages the tests and the demo use,
# npm dependencies, the native addon and the TypeScript build. Idempotent and
# quick when everything is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v ip >/dev/null 2>&1 || need+=(iproute2)
command -v ping >/dev/null 2>&1 || need+=(iputils-ping)
# The persistence tests hand the generated files to their real consumers.
[ -x /lib/systemd/systemd-networkd ] || need+=(systemd)
command -v virt-xml-validate >/dev/null 2>&1 || need+=(libvirt-clients)
command -v xmllint >/dev/null 2>&1 || need+=(libxml2-utils)
# npm pack (scripts/prebuild.sh, test/package.test.ts) cross-builds the linux-arm64 addon.
command -v aarch64-linux-gnu-g++ >/dev/null 2>&1 || need+=(g++-aarch64-linux-gnu)
command -v file >/dev/null 2>&1 || need+=(file)
# scripts/lint.sh checks native/ with Debian's clang-format and clang-tidy (14 on Debian 12).
command -v clang-format >/dev/null 2>&1 || need+=(clang-format)
command -v clang-tidy >/dev/null 2>&1 || need+=(clang-tidy)
if ((${#need[@]})); then
  echo "setup: apt-get install ${need[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi

addon=build/Release/macvlan.node
if [ ! -f "$addon" ] || [ -n "$(find native binding.gyp -newer "$addon" -print -quit)" ]; then
  npx node-gyp rebuild -j 2 >/dev/null
fi
npx tsc -p tsconfig.json
