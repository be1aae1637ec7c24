// The simulator's streamed replay, piece by piece, on orm-busy (5M requests) written once
// to temporary files as plain oracleGeneral (24-byte records) and plain i32be:
//
//   build/release/bench/sim_stream_bench
//
//   BM_Decode/<format>      the reader alone: file -> batches of 32k requests
//                           (read(2) of 256 KiB, memcpy and byte swap per record)
//   BM_Footprint            the footprint counter over requests in memory
//   BM_IndexBuild           next_access_index's first pass over requests in memory
//   BM_ReplayInMemory       the replay loop over the trace held in memory (the reference)
//   BM_Streamed             reader thread + one worker through stream.hpp: what
//                           prescient-sim --json --threads 1 does for one policy
//   BM_ReadAndReplayOneThread  the same in one thread, reading and replaying in turn
//
// items_per_second is requests per second; 1e9 / items_per_second is ns per request.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include "prescient/trace/next_access.hpp"
#include "prescient/trace/reader.hpp"
#include "sim/footprint.hpp"
#include "sim/replay.hpp"
#include "sim/stream.hpp"
#include "support/trace_path.hpp"

namespace {

namespace trace = prescient::trace;
namespace sim = prescient::sim;

struct files {
  std::vector<trace::request> requests;
  std::filesystem::path oracle_general, i32be;
};

// Removes the temporary files, if a benchmark wrote them.
struct cleanup {
  ~cleanup() {
    if (written == nullptr) return;
    std::error_code ec;
    std::filesystem::remove(written->oracle_general, ec);
    std::filesystem::remove(written->i32be, ec);
  }
  static inline const files* written = nullptr;
};

const files& orm_busy() {
  static const files f = [] {
    const auto path = prescient::tools::find_trace("cache2k-orm-busy.trace.xz");
    if (!path) throw std::runtime_error(prescient::tools::missing_trace_message("cache2k-orm-busy.trace.xz"));
    files out;
    out.requests = trace::load(*path, "i32be");
    trace::annotate_next_access(out.requests);
    const auto dir = std::filesystem::temp_directory_path();
    out.oracle_general = dir / ("sim_stream_bench." + std::to_string(::getpid()) + ".oracleGeneral.bin");
    out.i32be = dir / ("sim_stream_bench." + std::to_string(::getpid()) + ".i32be");
    std::FILE* og = std::fopen(out.oracle_general.c_str(), "wb");
    std::FILE* be = std::fopen(out.i32be.c_str(), "wb");
    if (og == nullptr || be == nullptr) throw std::runtime_error("cannot write the temporary traces");
    for (std::size_t i = 0; i < out.requests.size(); ++i) {
      const auto& r = out.requests[i];
      char rec[24];
      const auto time = static_cast<std::uint32_t>(i + 1);
      const std::uint32_t size = 1;
      const std::int64_t next = r.next_access < 0 ? -1 : r.next_access + 1;
      std::memcpy(rec, &time, 4);
      std::memcpy(rec + 4, &r.key, 8);
      std::memcpy(rec + 12, &size, 4);
      std::memcpy(rec + 16, &next, 8);
      std::fwrite(rec, 1, 24, og);
      const auto k = __builtin_bswap32(static_cast<std::uint32_t>(r.key));
      std::fwrite(&k, 1, 4, be);
    }
    std::fclose(og);
    std::fclose(be);
    return out;
  }();
  cleanup::written = &f;
  return f;
}

void BM_Decode(benchmark::State& state, trace::format f) {
  const auto& files = orm_busy();
  std::vector<trace::request> batch(std::size_t{1} << 15);
  std::size_t n = 0;
  for (auto _ : state) {
    trace::reader r = trace::open(f == trace::format::oracle_general ? files.oracle_general : files.i32be, f);
    n = 0;
    while (const std::size_t got = r.read(batch)) n += got;
    benchmark::DoNotOptimize(n);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * n));
}

void BM_Footprint(benchmark::State& state) {
  const auto& requests = orm_busy().requests;
  for (auto _ : state) {
    sim::footprint_counter c;
    c.add(requests);
    benchmark::DoNotOptimize(c.result());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * requests.size()));
}

void BM_IndexBuild(benchmark::State& state) {
  const auto& requests = orm_busy().requests;
  for (auto _ : state) {
    trace::next_access_index index;
    index.add(requests);
    benchmark::DoNotOptimize(index.size());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * requests.size()));
}

sim::replay_options lru_1500() {
  sim::replay_options opt;
  opt.capacity = 1500;
  opt.ignore_size = true;
  return opt;
}

void BM_ReplayInMemory(benchmark::State& state) {
  const auto& requests = orm_busy().requests;
  for (auto _ : state) benchmark::DoNotOptimize(sim::replay("lru", requests, lru_1500()).misses);
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * requests.size()));
}

void BM_Streamed(benchmark::State& state) {
  const auto& files = orm_busy();
  std::uint64_t n = 0;
  for (auto _ : state) {
    trace::reader r = trace::open(files.oracle_general, trace::format::oracle_general);
    const auto replay = sim::make_replayer("lru", lru_1500());
    const std::vector<sim::batch_sink> sinks{[&](std::span<const trace::request> b) { replay->feed(b); }};
    n = sim::stream([&](std::span<trace::request> slot) { return r.read(slot); }, sinks, {.threads = 1}).requests;
    benchmark::DoNotOptimize(replay->result().misses);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * n));
}

void BM_ReadAndReplayOneThread(benchmark::State& state) {
  const auto& files = orm_busy();
  std::uint64_t n = 0;
  std::vector<trace::request> batch(std::size_t{1} << 15);
  for (auto _ : state) {
    trace::reader r = trace::open(files.oracle_general, trace::format::oracle_general);
    const auto replay = sim::make_replayer("lru", lru_1500());
    n = 0;
    while (const std::size_t got = r.read(batch)) {
      replay->feed(std::span(batch).first(got));
      n += got;
    }
    benchmark::DoNotOptimize(replay->result().misses);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * n));
}

BENCHMARK_CAPTURE(BM_Decode, oracle-general, trace::format::oracle_general)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Decode, i32be, trace::format::i32be)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Footprint)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_IndexBuild)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ReplayInMemory)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Streamed)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_ReadAndReplayOneThread)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  const cleanup removes_the_files;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
