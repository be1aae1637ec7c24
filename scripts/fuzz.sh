#!/usr/bin/env bash
# Builds every libFuzzer target (clang, AddressSanitizer + UndefinedBehaviorSanitizer) in
# build/fuzz and runs each briefly on its seed corpus (fuzz/corpus, copied into the build
# tree), two at a time. Fails (non-zero) on any crash, sanitizer report, leak, timeout or
# running out of memory, and prints each target's executions and coverage.
#
#   bash scripts/fuzz.sh                      # 60 s per target (~3 min of fuzzing on 2 cores)
#   FUZZ_SECONDS=600 bash scripts/fuzz.sh     # longer; see fuzz/README.md for real campaigns
#
# Environment: FUZZ_SECONDS (per target, default 60), FUZZ_JOBS (targets at once, default
# 2), FUZZ_TIMEOUT (seconds one input may take, default 25), FUZZ_RSS_MB (default 2048),
# FUZZ_BUILD_DIR (default build/fuzz). A finding is written to <build>/fuzz/artifacts/
# (crash-*, leak-*, timeout-*, oom-*) and its log to <build>/fuzz/logs/.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${FUZZ_SECONDS:-60}
jobs=${FUZZ_JOBS:-2}
timeout_s=${FUZZ_TIMEOUT:-25}
rss_mb=${FUZZ_RSS_MB:-2048}
build=${FUZZ_BUILD_DIR:-build/fuzz}

# The libraries (scripts/setup.sh), then clang and libFuzzer's runtime.
bash scripts/setup.sh
missing=()
for p in clang libclang-rt-14-dev; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  as_root=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "fuzz: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
    as_root=(sudo)
  fi
  echo "fuzz: installing ${missing[*]}" >&2
  "${as_root[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# target:corpus:dictionary (empty: none)
targets=(
  trace_text_fuzz:text:
  trace_binary_fuzz:binary:
  forest_json_fuzz:forest_json:xgboost_json.dict
  forest_ubjson_fuzz:forest_ubjson:
  xgboost_model_fuzz:xgboost_model:xgboost_json.dict
  libsvm_fuzz:libsvm:libsvm.dict
)
names=()
for t in "${targets[@]}"; do names+=("${t%%:*}"); done

# Configuring copies the seed corpora and dictionaries into the build tree afresh.
CC=clang CXX=clang++ cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPRESCIENT_BUILD_FUZZERS=ON \
  -DPRESCIENT_BUILD_TESTS=OFF -DPRESCIENT_BUILD_TOOLS=OFF -DPRESCIENT_BUILD_EXAMPLES=OFF \
  -DPRESCIENT_BUILD_BENCH=OFF >/dev/null
cmake --build "$build" --target "${names[@]}" -j "$(nproc 2>/dev/null || echo 2)"

out="$build/fuzz"
mkdir -p "$out/artifacts" "$out/logs"
echo "fuzz: ${#names[@]} targets, ${seconds} s each, ${jobs} at a time" >&2

run() {  # name corpus dict
  local name=$1 corpus=$2 dict=$3 args=()
  [ -n "$dict" ] && args+=("-dict=dict/$dict")
  (cd "$out" && "./$name" "${args[@]}" -max_total_time="$seconds" -rss_limit_mb="$rss_mb" -timeout="$timeout_s" \
     -print_final_stats=1 -artifact_prefix="artifacts/$name-" "corpus/$corpus" >"logs/$name.log" 2>&1)
}

declare -A pid_of
for t in "${targets[@]}"; do
  IFS=: read -r name corpus dict <<<"$t"
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do sleep 1; done
  run "$name" "$corpus" "$dict" &
  pid_of[$name]=$!
done

failed=0
for name in "${names[@]}"; do
  rc=0
  wait "${pid_of[$name]}" || rc=$?
  log="$out/logs/$name.log"
  done_line=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -1 || true)
  runs=$(grep -oE 'stat::number_of_executed_units: [0-9]+' "$log" | awk '{print $2}' | tail -1 || true)
  cov=$(sed -nE 's/.*cov: ([0-9]+) ft: ([0-9]+) corp: ([0-9]+)\/.*/cov \1, features \2, corpus \3/p' <<<"$done_line")
  if [ "$rc" -eq 0 ] && [ -n "$done_line" ]; then
    echo "fuzz: $name passed: ${runs:-?} runs, ${cov:-no coverage line}"
  else
    failed=1
    echo "fuzz: $name FAILED (exit $rc): see $log" >&2
    grep -E 'ERROR|SUMMARY|deadly signal|Test unit written|runtime error|out-of-memory|timeout' "$log" | head -8 >&2 || true
  fi
done
if [ "$failed" -ne 0 ]; then
  echo "fuzz: findings in $out/artifacts" >&2
  exit 1
fi
echo "fuzz: all ${#names[@]} targets passed"
