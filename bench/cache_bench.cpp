// Microbenchmarks of the cache core: hits, misses that insert, and a mixed Zipf(0.99)
// workload over 1M keys with caches of 10% and 1% of the keys, for every classic
// policy and for the textbook LRU (std::list + std::unordered_map).
//
//   build/release/bench/cache_bench --benchmark_filter=Zipf
//
// Counters: items_per_second (requests/s), bytes_per_entry (metadata beside key and
// value), allocs_per_request (global operator new calls per request, measured).
#include <benchmark/benchmark.h>

#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <random>
#include <unordered_map>
#include <vector>

#include "prescient/cache.hpp"
#include "prescient/policy/fifo.hpp"
#include "prescient/policy/lfu.hpp"
#include "prescient/policy/lru.hpp"
#include "textbook_lru.hpp"

// Counts allocations so that the benchmark can report allocations per request.
// GCC 12 pairs the replaced operator new with the library's inlined deletes and warns
// that malloc'd memory reaches free through them; the pair below is consistent.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
static std::atomic<std::uint64_t> g_allocations{0};
void* operator new(std::size_t n) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace {

constexpr std::uint64_t key_space = 1'000'000;
constexpr std::size_t trace_length = 1 << 22;

// Zipf(0.99) over [0, key_space), by inverse CDF on a precomputed table; ranks are
// scattered over the key space so that popular keys are not neighbours.
const std::vector<std::uint64_t>& zipf_trace() {
  static const std::vector<std::uint64_t> trace = [] {
    std::vector<double> cdf(key_space);
    double sum = 0;
    for (std::uint64_t i = 0; i < key_space; ++i) cdf[i] = (sum += 1.0 / std::pow(static_cast<double>(i + 1), 0.99));
    std::mt19937_64 rng(42);
    std::uniform_real_distribution<double> u(0, sum);
    std::vector<std::uint64_t> t(trace_length);
    for (auto& k : t) {
      const auto rank = static_cast<std::uint64_t>(std::lower_bound(cdf.begin(), cdf.end(), u(rng)) - cdf.begin());
      k = prescient::mix64(rank) % (key_space * 16);
    }
    return t;
  }();
  return trace;
}

template <class Cache>
void finish(benchmark::State& state, std::uint64_t allocs_before, std::size_t bytes_per_entry) {
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
  state.counters["bytes_per_entry"] = static_cast<double>(bytes_per_entry);
  state.counters["allocs_per_request"] =
      static_cast<double>(g_allocations.load() - allocs_before) / static_cast<double>(state.iterations());
}

template <class Policy>
void BM_GetHit(benchmark::State& state) {
  const auto n = static_cast<std::uint64_t>(state.range(0));
  prescient::cache<std::uint64_t, std::uint64_t, Policy> c(n);
  for (std::uint64_t k = 0; k < n; ++k) c.put(k, k);
  std::uint64_t i = 0;
  const auto before = g_allocations.load();
  for (auto _ : state) {
    benchmark::DoNotOptimize(c.get(prescient::mix64(i++) % n));
  }
  finish<decltype(c)>(state, before, c.metadata_bytes_per_entry());
}

void BM_GetHit_Textbook(benchmark::State& state) {
  const auto n = static_cast<std::uint64_t>(state.range(0));
  textbook_lru<std::uint64_t, std::uint64_t> c(n);
  for (std::uint64_t k = 0; k < n; ++k) c.put(k, k);
  std::uint64_t i = 0;
  const auto before = g_allocations.load();
  for (auto _ : state) {
    benchmark::DoNotOptimize(c.get(prescient::mix64(i++) % n));
  }
  finish<decltype(c)>(state, before, c.metadata_bytes_per_entry());
}

template <class Policy>
void BM_MissThenPut(benchmark::State& state) {
  const auto n = static_cast<std::uint64_t>(state.range(0));
  prescient::cache<std::uint64_t, std::uint64_t, Policy> c(n);
  std::uint64_t k = 0;
  const auto before = g_allocations.load();
  for (auto _ : state) {
    const std::uint64_t key = k++;  // always new: every get misses, every put evicts
    if (!c.get(key)) c.put(key, key);
  }
  finish<decltype(c)>(state, before, c.metadata_bytes_per_entry());
}

void BM_MissThenPut_Textbook(benchmark::State& state) {
  const auto n = static_cast<std::uint64_t>(state.range(0));
  textbook_lru<std::uint64_t, std::uint64_t> c(n);
  std::uint64_t k = 0;
  const auto before = g_allocations.load();
  for (auto _ : state) {
    const std::uint64_t key = k++;
    if (!c.get(key)) c.put(key, key);
  }
  finish<decltype(c)>(state, before, c.metadata_bytes_per_entry());
}

// range(0): cache size as per mille of the key space (100 = 10%, 10 = 1%).
template <class Cache>
void run_zipf(benchmark::State& state, Cache& c, std::size_t bytes_per_entry) {
  const auto& trace = zipf_trace();
  std::size_t i = 0;
  std::uint64_t hits = 0;
  // Warm up once through the trace so that the figures are for a full cache.
  for (std::uint64_t key : trace)
    if (!c.get(key)) c.put(key, key);
  const auto before = g_allocations.load();
  for (auto _ : state) {
    const std::uint64_t key = trace[i];
    i = (i + 1) & (trace_length - 1);
    if (c.get(key)) {
      ++hits;
    } else {
      c.put(key, key);
    }
  }
  finish<Cache>(state, before, bytes_per_entry);
  state.counters["hit_ratio"] = static_cast<double>(hits) / static_cast<double>(state.iterations());
}

template <class Policy>
void BM_Zipf(benchmark::State& state) {
  prescient::cache<std::uint64_t, std::uint64_t, Policy> c(key_space * static_cast<std::uint64_t>(state.range(0)) / 1000);
  run_zipf(state, c, 0);
  state.counters["bytes_per_entry"] = static_cast<double>(c.metadata_bytes_per_entry());
}

void BM_Zipf_Textbook(benchmark::State& state) {
  textbook_lru<std::uint64_t, std::uint64_t> c(key_space * static_cast<std::size_t>(state.range(0)) / 1000);
  run_zipf(state, c, c.metadata_bytes_per_entry());
}

// The index alone: slot_index (open addressing, 8-byte buckets) against
// std::unordered_map<key, slot>, 100,000 keys, random successful lookups.
void BM_IndexFind_SlotIndex(benchmark::State& state) {
  const auto n = static_cast<std::uint64_t>(state.range(0));
  std::vector<std::uint64_t> keys(n);
  prescient::detail::slot_index index;
  for (std::uint64_t i = 0; i < n; ++i) {
    keys[i] = prescient::mix64(i + 1);
    index.insert(prescient::mix64(keys[i]), static_cast<prescient::slot_id>(i));
  }
  std::uint64_t i = 0;
  for (auto _ : state) {
    const std::uint64_t k = keys[prescient::mix64(i++) % n];
    benchmark::DoNotOptimize(index.find(prescient::mix64(k), [&](prescient::slot_id s) { return keys[s] == k; }));
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
  state.counters["bytes_per_entry"] = static_cast<double>(index.bucket_count() * 8) / static_cast<double>(n);
}

void BM_IndexFind_UnorderedMap(benchmark::State& state) {
  const auto n = static_cast<std::uint64_t>(state.range(0));
  std::vector<std::uint64_t> keys(n);
  std::unordered_map<std::uint64_t, prescient::slot_id> index;
  index.reserve(n);
  for (std::uint64_t i = 0; i < n; ++i) {
    keys[i] = prescient::mix64(i + 1);
    index.emplace(keys[i], static_cast<prescient::slot_id>(i));
  }
  std::uint64_t i = 0;
  for (auto _ : state) benchmark::DoNotOptimize(index.find(keys[prescient::mix64(i++) % n]));
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

BENCHMARK(BM_IndexFind_SlotIndex)->Arg(100'000);
BENCHMARK(BM_IndexFind_UnorderedMap)->Arg(100'000);

using prescient::policy::fifo;
using prescient::policy::lfu;
using prescient::policy::lru;

BENCHMARK(BM_GetHit<lru>)->Arg(100'000);
BENCHMARK(BM_GetHit<fifo>)->Arg(100'000);
BENCHMARK(BM_GetHit<lfu>)->Arg(100'000);
BENCHMARK(BM_GetHit_Textbook)->Arg(100'000);
BENCHMARK(BM_MissThenPut<lru>)->Arg(100'000);
BENCHMARK(BM_MissThenPut<fifo>)->Arg(100'000);
BENCHMARK(BM_MissThenPut<lfu>)->Arg(100'000);
BENCHMARK(BM_MissThenPut_Textbook)->Arg(100'000);
BENCHMARK(BM_Zipf<lru>)->Arg(100)->Arg(10);
BENCHMARK(BM_Zipf<fifo>)->Arg(100)->Arg(10);
BENCHMARK(BM_Zipf<lfu>)->Arg(100)->Arg(10);
BENCHMARK(BM_Zipf_Textbook)->Arg(100)->Arg(10);

}  // namespace

BENCHMARK_MAIN();
