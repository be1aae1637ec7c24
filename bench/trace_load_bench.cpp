// Decoding speed of the trace readers on a real trace: cache2k-orm-busy (5M requests,
// xz-compressed big-endian int32 keys), loaded whole into memory and streamed in batches.
//
//   build/release/bench/trace_load_bench
//
// items_per_second is requests decoded per second.
#include <benchmark/benchmark.h>

#include <array>
#include <filesystem>
#include <optional>

#include "prescient/trace/reader.hpp"
#include "support/trace_path.hpp"

namespace {

constexpr const char* orm_busy = "cache2k-orm-busy.trace.xz";

std::optional<std::filesystem::path> path_or_skip(benchmark::State& state) {
  auto path = prescient::tools::find_trace(orm_busy);
  if (!path) state.SkipWithError(prescient::tools::missing_trace_message(orm_busy).c_str());
  return path;
}

void BM_TraceLoad(benchmark::State& state) {
  const auto path = path_or_skip(state);
  if (!path) return;
  std::size_t n = 0;
  for (auto _ : state) {
    const auto v = prescient::trace::load(*path, "i32be");
    n = v.size();
    benchmark::DoNotOptimize(v.data());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * n));
}

void BM_TraceStream(benchmark::State& state) {
  const auto path = path_or_skip(state);
  if (!path) return;
  std::array<prescient::trace::request, 8192> batch;
  std::size_t n = 0;
  for (auto _ : state) {
    prescient::trace::reader r = prescient::trace::open(*path, "i32be");
    n = 0;
    while (const std::size_t got = r.read(batch)) n += got;
    benchmark::DoNotOptimize(n);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * n));
}

BENCHMARK(BM_TraceLoad)->Unit(benchmark::kMillisecond)->MinTime(2.0);
BENCHMARK(BM_TraceStream)->Unit(benchmark::kMillisecond)->MinTime(2.0);

}  // namespace

BENCHMARK_MAIN();
