#!/usr/bin/env bash
# Sets up, builds and runs the test suite (ctest) for each preset named (default: release).
#   bash scripts/test.sh                  # release
#   bash scripts/test.sh release asan-ubsan tsan
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
presets=("$@")
[ ${#presets[@]} -gt 0 ] || presets=(release)
jobs=$(nproc 2>/dev/null || echo 2)
for preset in "${presets[@]}"; do
  echo "== $preset" >&2
  cmake --preset "$preset" >/dev/null
  cmake --build --preset "$preset" -j "$jobs"
  ctest --preset "$preset"
done
