#!/usr/bin/env bash
# Style and lint checks (STYLE.md 12: style never needs review): prettier for
# TypeScript/JavaScript, ESLint (typescript-eslint) for src/ and test/,
# clang-format and clang-tidy (scripts/tidy.sh, which skips files that were
# clean and have not changed) for native/. Exits non-zero on any finding; runs every check
# before it does. `scripts/lint.sh --fix` rewrites instead of checking.
# Needs the devDependencies (npm ci) and clang-format on the PATH (Debian's
# clang-format package; .clang-format was checked with clang-format 14).
set -uo pipefail
cd "$(dirname "$0")/.."

fix=0
if [ "${1:-}" = --fix ]; then fix=1; elif [ $# -gt 0 ]; then
  echo "usage: scripts/lint.sh [--fix]" >&2
  exit 2
fi

js=(src test bench scripts examples bin ./*.ts eslint.config.js)
native=(native/*.cc native/*.h)
failed=()

step() {
  local name=$1
  shift
  echo "lint: $name" >&2
  "$@" || failed+=("$name")
}

if ((fix)); then
  step prettier npx --no-install prettier --write --log-level warn "${js[@]}"
  step eslint npx --no-install eslint --fix .
else
  step prettier npx --no-install prettier --check --log-level warn "${js[@]}"
  step eslint npx --no-install eslint --max-warnings 0 .
fi

if ! command -v clang-format >/dev/null 2>&1; then
  echo "lint: clang-format is not on the PATH (apt-get install clang-format)" >&2
  failed+=(clang-format)
elif ((fix)); then
  step clang-format clang-format -i "${native[@]}"
else
  step clang-format clang-format --dry-run --Werror "${native[@]}"
fi
((fix)) || step clang-tidy bash scripts/tidy.sh

if ((${#failed[@]})); then
  echo "lint: failed: ${failed[*]}" >&2
  exit 1
fi
echo "lint: ok" >&2
