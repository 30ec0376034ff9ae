# Sourced by bench/decode-profile.sh and bench/inproc-profile.sh: strict
# mode, the repository as the working directory, bench/out made, and
# $nodeinc, Node's headers for what they compile.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
out=bench/out
mkdir -p "$out"
nodeinc=$(dirname "$(dirname "$(command -v node)")")/include/node
