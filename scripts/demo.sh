#!/usr/bin/env bash
# Sets up, builds (release) and runs the main job: a real trace shipped in the repository
# — database object accesses of an e-commerce site (cache2k orm-busy, 5M requests,
# data/traces) — replayed through every policy at two sizes, with Belady's optimum as
# the ceiling. Extra arguments go to prescient-sim.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cmake --preset release >/dev/null
cmake --build --preset release -j "$(nproc 2>/dev/null || echo 2)" --target prescient-sim
./build/release/tools/sim/prescient-sim --trace data/traces/cache2k-orm-busy.trace.xz --format i32be --ignore-size \
  --sizes 1500,7500 --plot build/release/orm-busy.svg "$@"
