#!/usr/bin/env bash
# Checks that prescient can be consumed: through add_subdirectory (core only); through
# find_package after `cmake --install`, every component together and each alone (the
# core with Eigen, xgboost, liblzma, zlib and zstd made unfindable, so a host that links
# only the core needs none of them); through pkg-config for the core; and that a wrong
# version is refused.
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
[ -f "$work/prefix/share/doc/prescient/LICENSE" ] || { echo "consumer: LICENSE not installed" >&2; exit 1; }

cmake -S tests/consumer/find_package -B "$work/pkg" -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
cmake --build "$work/pkg" -j "$jobs" >/dev/null
for exe in consumer consumer_trace consumer_learn consumer_full; do "$work/pkg/$exe"; done
echo "consumer: find_package (all components) ok"

# The core alone, with every dependency of the other components unfindable (CMake would
# fail any find_package of them; --no-warn-unused-cli: that none is even asked for is
# the point).
no_deps=(-DCMAKE_DISABLE_FIND_PACKAGE_Eigen3=ON -DCMAKE_DISABLE_FIND_PACKAGE_xgboost=ON
         -DCMAKE_DISABLE_FIND_PACKAGE_LibLZMA=ON -DCMAKE_DISABLE_FIND_PACKAGE_ZLIB=ON
         -DCMAKE_DISABLE_FIND_PACKAGE_PkgConfig=ON -DCMAKE_DISABLE_FIND_PACKAGE_Threads=ON)
cmake -S tests/consumer/find_package -B "$work/pkg-core" -DCMAKE_PREFIX_PATH="$work/prefix" \
  -DPRESCIENT_COMPONENTS=core --no-warn-unused-cli "${no_deps[@]}" >/dev/null
cmake --build "$work/pkg-core" -j "$jobs" >/dev/null
"$work/pkg-core/consumer"
for exe in consumer_trace consumer_learn consumer_full; do
  [ ! -e "$work/pkg-core/$exe" ] || { echo "consumer: COMPONENTS core brought $exe's targets" >&2; exit 1; }
done
echo "consumer: find_package(prescient COMPONENTS core) without Eigen, xgboost, lzma, zlib, zstd ok"
for c in trace learn; do
  cmake -S tests/consumer/find_package -B "$work/pkg-$c" -DCMAKE_PREFIX_PATH="$work/prefix" \
    -DPRESCIENT_COMPONENTS=$c >/dev/null
  cmake --build "$work/pkg-$c" -j "$jobs" >/dev/null
  "$work/pkg-$c/consumer" && "$work/pkg-$c/consumer_$c"
  echo "consumer: find_package(prescient COMPONENTS $c) ok"
done

if command -v pkg-config >/dev/null; then
  cflags=$(PKG_CONFIG_PATH="$work/prefix/share/pkgconfig" pkg-config --cflags prescient-core)
  # shellcheck disable=SC2086
  c++ $cflags tests/consumer/main.cpp -o "$work/pc-consumer"
  "$work/pc-consumer"
  echo "consumer: pkg-config prescient-core ok"
fi

if cmake -S tests/consumer/find_package -B "$work/pkg-wrong" -DCMAKE_PREFIX_PATH="$work/prefix" \
     -DPRESCIENT_REQUIRED_VERSION=9.0 >/dev/null 2>&1; then
  echo "consumer: find_package accepted a wrong version" >&2
  exit 1
fi
echo "consumer: wrong version refused ok"
