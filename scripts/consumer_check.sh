#!/usr/bin/env bash
# Checks that prescient can be consumed: through add_subdirectory (core only), and
# through find_package after `cmake --install`, and that a wrong version is refused.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
jobs=$(nproc 2>/dev/null || echo 2)

cmake -S tests/consumer/add_subdirectory -B "$work/sub" -DPRESCIENT_SOURCE_DIR="$root" >/dev/null
cmake --build "$work/sub" -j "$jobs" >/dev/null
"$work/sub/consumer"
echo "consumer: add_subdirectory ok"

cmake -S . -B "$work/lib" -DCMAKE_BUILD_TYPE=Release -DPRESCIENT_BUILD_TESTS=OFF -DPRESCIENT_BUILD_BENCH=OFF \
  -DPRESCIENT_BUILD_TOOLS=OFF -DPRESCIENT_BUILD_EXAMPLES=OFF -DCMAKE_INSTALL_PREFIX="$work/prefix" >/dev/null
cmake --build "$work/lib" -j "$jobs" >/dev/null
cmake --install "$work/lib" >/dev/null
cmake -S tests/consumer/find_package -B "$work/pkg" -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
cmake --build "$work/pkg" -j "$jobs" >/dev/null
"$work/pkg/consumer"
"$work/pkg/consumer_full"
echo "consumer: find_package ok"

if cmake -S tests/consumer/find_package -B "$work/pkg-wrong" -DCMAKE_PREFIX_PATH="$work/prefix" \
     -DPRESCIENT_REQUIRED_VERSION=9.0 >/dev/null 2>&1; then
  echo "consumer: find_package accepted a wrong version" >&2
  exit 1
fi
echo "consumer: wrong version refused ok"
