#!/usr/bin/env bash
# Sets up, builds (release) and runs the main job: the demo.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cmake --preset release >/dev/null
cmake --build --preset release -j "$(nproc 2>/dev/null || echo 2)" --target example_quick_tour
./build/release/examples/example_quick_tour
