// Replay throughput of the simulator's engine, one core, trace decoded in memory:
// cache2k-orm-busy (5M requests) at 1,500 objects through every policy.
//
//   build/release/bench/sim_replay_bench
//
// items_per_second is requests replayed per second (the targets: lru 30 M/s; learned,
// online training included, 5 M/s). `learned/fast` is `preset=fast`: lazy rescoring
// and 16k training rows.
#include <benchmark/benchmark.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "prescient/policy/registry.hpp"
#include "sim/replay.hpp"
#include "prescient/trace/next_access.hpp"
#include "prescient/trace/reader.hpp"
#include "support/trace_path.hpp"

namespace {

// Lazy rescoring (a candidate's prediction stands while it is untouched and not yet
// overdue) and half the training rows: about 1.3× the default's speed, further from
// Belady (README, "The learned cache").
constexpr const char* fast_learned = "preset=fast";

const std::vector<prescient::trace::request>& orm_busy() {
  static const auto requests = [] {
    const auto path = prescient::tools::find_trace("cache2k-orm-busy.trace.xz");
    if (!path) throw std::runtime_error(prescient::tools::missing_trace_message("cache2k-orm-busy.trace.xz"));
    auto r = prescient::trace::load(*path, "i32be");
    prescient::trace::annotate_next_access(r);
    return r;
  }();
  return requests;
}

void BM_Replay(benchmark::State& state, std::string policy, std::string params) {
  const auto& requests = orm_busy();
  prescient::sim::replay_options opt;
  opt.params = params;
  opt.capacity = static_cast<std::uint64_t>(state.range(0));
  opt.ignore_size = true;
  double miss_ratio = 0;
  for (auto _ : state) {
    const auto r = prescient::sim::replay(policy, requests, opt);
    miss_ratio = r.miss_ratio();
    benchmark::DoNotOptimize(miss_ratio);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * requests.size()));
  state.counters["miss_ratio"] = miss_ratio;
}

const bool registered = [] {
  for (auto name : prescient::sim::replayable_policies()) {
    benchmark::RegisterBenchmark(("BM_Replay/orm-busy/" + std::string(name)).c_str(), BM_Replay, std::string(name),
                                 std::string())
        ->Arg(1500)
        ->Unit(benchmark::kMillisecond)
        ->MinTime(1.0);
  }
  benchmark::RegisterBenchmark("BM_Replay/orm-busy/learned/fast", BM_Replay, std::string("learned"),
                               std::string(fast_learned))
      ->Arg(1500)
      ->Unit(benchmark::kMillisecond)
      ->MinTime(1.0);
  return true;
}();

}  // namespace

BENCHMARK_MAIN();
