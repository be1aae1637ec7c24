#!/usr/bin/env bash
# Sets up, builds (release) and runs the main job: a real trace — database object
# accesses of an e-commerce site (cache2k orm-busy, 5M requests) — replayed through
# every policy at two sizes, with Belady's optimum as the ceiling.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cmake --preset release >/dev/null
cmake --build --preset release -j "$(nproc 2>/dev/null || echo 2)" --target prescient-sim
trace=../shared/traces/cache2k-orm-busy.trace.xz
[ -f "$trace" ] || { echo "demo: $trace not found (the shared traces sit beside the repository)" >&2; exit 1; }
./build/release/tools/sim/prescient-sim --trace "$trace" --format i32be --ignore-size --sizes 1500,7500 \
  --plot build/release/orm-busy.svg "$@"
