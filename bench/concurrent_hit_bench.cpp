// Hits from several threads: does concurrent_cache scale? Pure get hits over 100,000
// resident keys (Zipf 0.99 and uniform), and a mixed request stream (90% of requests
// for those keys, 10% for new keys: get, and put on a miss), for LRU, S3-FIFO, SIEVE
// and the learned policy, with 1, 2, 4 and 8 threads (4 and 8 oversubscribe a small
// machine: they must not collapse). Beside each, the previous design in the same run:
// the same shards of `cache`, each behind a std::mutex that every request takes
// (`mutex_shards`). Calibrations: `private_caches` (every thread hits its own `cache`)
// and `private_concurrent_caches` (every thread runs the mixed stream on its own
// concurrent_cache): what the machine gives when nothing is shared. The rows fix 8
// shards; `concurrent_cache_default_shards` lets the cache pick its count.
//
//   build/release/bench/concurrent_hit_bench --benchmark_filter=hit/lru
//
// Read scaling as items_per_second at 2 threads over 1 thread of the same row, from one
// run (the machine's load moves absolute figures between runs). docs/benchmarks.md.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cmath>
#include <cstdint>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "prescient/cache.hpp"
#include "prescient/concurrent_cache.hpp"
#include "prescient/learn/compiled_forest.hpp"
#include "prescient/learn/forest_trainer.hpp"
#include "prescient/policy/learned.hpp"
#include "prescient/policy/lru.hpp"
#include "prescient/policy/s3fifo.hpp"
#include "prescient/policy/sieve.hpp"

namespace {

using u64 = std::uint64_t;
constexpr u64 resident = 100'000;
constexpr std::size_t shards = 8;
constexpr std::size_t trace_length = 1 << 20;

// Key ranks in [0, resident) (Zipf 0.99, or uniform), scattered so that popular keys are
// not neighbours; one trace read by every thread from its own offset.
std::vector<u64> make_trace(bool zipf) {
  std::vector<u64> t(trace_length);
  std::mt19937_64 rng(zipf ? 42 : 43);
  if (zipf) {
    std::vector<double> cdf(resident);
    double sum = 0;
    for (u64 i = 0; i < resident; ++i) cdf[i] = (sum += 1.0 / std::pow(static_cast<double>(i + 1), 0.99));
    std::uniform_real_distribution<double> u(0, sum);
    for (auto& k : t) k = static_cast<u64>(std::lower_bound(cdf.begin(), cdf.end(), u(rng)) - cdf.begin());
  } else {
    for (auto& k : t) k = rng() % resident;
  }
  for (auto& k : t) k = prescient::mix64(k + 1) % (resident * 1000);  // the key of rank k
  return t;
}
const std::vector<u64>& trace(bool zipf) {
  static const std::vector<u64> z = make_trace(true), u = make_trace(false);
  return zipf ? z : u;
}

// The previous concurrent_cache: shards chosen by the hash's high bits, each a `cache`
// behind a mutex taken by every request, hits included.
template <class Policy>
class mutex_shards {
 public:
  mutex_shards(u64 capacity, std::size_t n, typename Policy::config cfg = {}) : bits_(std::countr_zero(n)) {
    for (std::size_t i = 0; i < n; ++i) shards_.push_back(std::make_unique<shard>(capacity / n + (i < capacity % n), cfg));
  }
  std::optional<u64> get(u64 key) {
    shard& s = of(key);
    std::lock_guard lock(s.mutex);
    return s.cache.get(key);
  }
  void put(u64 key, u64 value) {
    shard& s = of(key);
    std::lock_guard lock(s.mutex);
    s.cache.put(key, value);
  }

 private:
  struct alignas(64) shard {
    shard(u64 capacity, const typename Policy::config& cfg) : cache(capacity, cfg) {}
    std::mutex mutex;
    prescient::cache<u64, u64, Policy> cache;
  };
  shard& of(u64 key) { return *shards_[prescient::hash<u64>{}(key) >> (64 - bits_)]; }
  int bits_;
  std::vector<std::unique_ptr<shard>> shards_;
};

template <class Policy>
using sharded = prescient::concurrent_cache<u64, u64, Policy>;

// The same, with the shard count the cache picks itself (options' shards = 0) instead
// of the rows' fixed `shards`.
template <class Policy>
struct default_sharded : sharded<Policy> {
  using sharded<Policy>::sharded;
};

// `capacity`: room for every key (a quarter more, as the shards' shares of the keys are
// uneven), or exactly the resident keys (the mixed stream then evicts).
template <class Cache, class Policy>
std::unique_ptr<Cache> make_cache(u64 capacity) {
  typename Policy::config cfg{};
  std::unique_ptr<Cache> c;
  if constexpr (std::is_same_v<Cache, sharded<Policy>>)
    c = std::make_unique<Cache>(capacity, typename Cache::options{.shards = shards, .policy = cfg});
  else if constexpr (std::is_same_v<Cache, default_sharded<Policy>>)
    c = std::make_unique<Cache>(capacity, typename Cache::options{.policy = cfg});
  else
    c = std::make_unique<Cache>(capacity, shards, cfg);
  for (const bool zipf : {true, false})
    for (const u64 k : trace(zipf)) c->put(k, k);
  return c;
}

// One cache per (design, policy), built once, shared by the threads of every run.
template <class Cache, class Policy>
Cache& cache_of() {
  static std::unique_ptr<Cache> c = make_cache<Cache, Policy>(resident + resident / 4);
  return *c;
}

template <class Cache, class Policy>
void hit(benchmark::State& state, bool zipf) {
  Cache& c = cache_of<Cache, Policy>();
  const std::vector<u64>& keys = trace(zipf);
  std::size_t i = static_cast<std::size_t>(state.thread_index()) * 104'729;
  u64 found = 0;
  u64 sum = 0;
  for (auto _ : state) {
    const auto v = c.get(keys[i++ & (trace_length - 1)]);
    found += v.has_value();
    // The value, not the optional: DoNotOptimize on the optional had GCC copy it through
    // the stack in 16-byte moves just after storing its two fields apart, a stalled
    // store forwarding that cost some designs a third of a hit and not others.
    sum += v.value_or(0);
    benchmark::DoNotOptimize(sum);
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["hit_ratio"] = benchmark::Counter(static_cast<double>(found) / static_cast<double>(std::max<int64_t>(1, state.iterations())),
                                                   benchmark::Counter::kAvgThreads);
}

// 90% of requests for the resident keys (Zipf 0.99), 10% for keys never seen: get, and
// put on a miss. Its own cache per (design, policy): it evicts, so a resident key of the
// Zipf tail that was pushed out misses too, and `hit_ratio` says how many gets hit.
// Each thread of each run takes its new keys from a block of its own (a counter shared
// by the threads put a contended locked addition in every tenth request: the bench's
// cost, not the cache's). The cache is first run on this stream until its contents
// settle (`settle_requests`, one thread), so every run, whichever comes first, sees the
// same steady state: a run on the freshly filled cache hit far more often than the
// runs after it, and 1 against 2 threads compared two different workloads.
constexpr std::size_t settle_requests = 4'000'000;

template <class Cache>
u64 mixed_stream(Cache& c, std::size_t& i, std::minstd_rand& rng, u64& fresh, const std::vector<u64>& keys) {
  const u64 k = rng() % 10 == 0 ? fresh++ : keys[i++ & (trace_length - 1)];
  if (c.get(k)) return 1;
  c.put(k, k);
  return 0;
}

// A cache of `resident` entries, filled, then settled on the mixed stream.
template <class Cache, class Policy>
std::unique_ptr<Cache> settled_cache(std::atomic<u64>& blocks) {
  std::unique_ptr<Cache> made = make_cache<Cache, Policy>(resident);
  u64 fresh = u64{1} << 60 | blocks.fetch_add(1) << 36;
  std::size_t i = 0;
  std::minstd_rand rng(12345);
  const std::vector<u64>& keys = trace(true);
  for (std::size_t r = 0; r < settle_requests; ++r) mixed_stream(*made, i, rng, fresh, keys);
  return made;
}

// `private_per_thread`: every thread (up to 8) runs the stream on a cache of its own,
// settled the same way: what the machine gives the mixed stream when nothing is shared,
// the calibration its shared rows are read against (as private_caches is for hits).
template <class Cache, class Policy, bool private_per_thread = false>
void mixed(benchmark::State& state) {
  static std::atomic<u64> blocks{0};
  static std::vector<std::unique_ptr<Cache>> caches = [] {
    std::vector<std::unique_ptr<Cache>> v;
    for (int t = 0; t < (private_per_thread ? 8 : 1); ++t) v.push_back(settled_cache<Cache, Policy>(blocks));
    return v;
  }();
  Cache& c = *caches[static_cast<std::size_t>(state.thread_index()) % caches.size()];
  u64 fresh = u64{1} << 60 | blocks.fetch_add(1) << 36;
  const std::vector<u64>& keys = trace(true);
  std::size_t i = static_cast<std::size_t>(state.thread_index()) * 104'729;
  std::minstd_rand rng(static_cast<unsigned>(state.thread_index()) + 1);
  u64 hits = 0;
  for (auto _ : state) hits += mixed_stream(c, i, rng, fresh, keys);
  state.SetItemsProcessed(state.iterations());
  state.counters["hit_ratio"] = benchmark::Counter(static_cast<double>(hits) / static_cast<double>(std::max<int64_t>(1, state.iterations())),
                                                   benchmark::Counter::kAvgThreads);
}

// What the machine gives: every thread hits its own `cache` (no sharing at all).
void private_caches(benchmark::State& state, bool zipf) {
  static std::vector<std::unique_ptr<prescient::cache<u64, u64>>> caches = [] {
    std::vector<std::unique_ptr<prescient::cache<u64, u64>>> v;
    for (int t = 0; t < 8; ++t) {
      v.push_back(std::make_unique<prescient::cache<u64, u64>>(resident + resident / 4));
      for (const bool z : {true, false})
        for (const u64 k : trace(z)) v.back()->put(k, k);
    }
    return v;
  }();
  prescient::cache<u64, u64>& c = *caches[static_cast<std::size_t>(state.thread_index()) % caches.size()];
  const std::vector<u64>& keys = trace(zipf);
  std::size_t i = static_cast<std::size_t>(state.thread_index()) * 104'729;
  u64 sum = 0;
  for (auto _ : state) {
    sum += c.get(keys[i++ & (trace_length - 1)]).value_or(0);
    benchmark::DoNotOptimize(sum);
  }
  state.SetItemsProcessed(state.iterations());
}

using learned_forest = prescient::policy::learned<prescient::learn::compiled_forest>;

// A policy with its lock-free hit hidden, so concurrent_cache buffers its hits as it
// does LRU's: S3-FIFO and SIEVE as they ran before per-entry marks, in the same run.
template <class P>
struct buffered_hits : P {
  using P::P;
  void on_access_lockfree(prescient::slot_id) noexcept = delete;
};
static_assert(!prescient::policy::has_lockfree_hit<buffered_hits<prescient::policy::s3fifo>>);
static_assert(prescient::policy::has_lockfree_hit<prescient::policy::s3fifo>);

// A policy whose buffered hits every thread drains from its own ring (as every policy's
// were before a shard had one drainer, and as the learned policy's still are): LRU under
// both designs in the same run.
template <class P>
struct own_ring_drains : P {
  using P::P;
  static constexpr bool costly_hit = true;
};
static_assert(prescient::policy::has_costly_hit<own_ring_drains<prescient::policy::lru>>);
static_assert(!prescient::policy::has_costly_hit<prescient::policy::lru>);

template <class Policy>
void register_hits_only(const std::string& name) {
  for (const bool zipf : {true, false}) {
    const std::string dist = zipf ? "zipf" : "uniform";
    benchmark::RegisterBenchmark(("hit/" + name + "/" + dist + "/concurrent_cache").c_str(),
                                 [zipf](benchmark::State& s) { hit<sharded<Policy>, Policy>(s, zipf); })
        ->Threads(1)->Threads(2)->Threads(4)->Threads(8)->UseRealTime()->MinTime(0.4);
  }
}

template <class Policy>
void register_concurrent_only(const std::string& name) {
  register_hits_only<Policy>(name);
  benchmark::RegisterBenchmark(("mixed/" + name + "/zipf/concurrent_cache").c_str(),
                               [](benchmark::State& s) { mixed<sharded<Policy>, Policy>(s); })
      ->Threads(1)->Threads(2)->Threads(4)->Threads(8)->UseRealTime()->MinTime(0.4);
}

template <class Policy>
void register_policy(const std::string& name) {
  register_concurrent_only<Policy>(name);
  const auto threads = [](benchmark::internal::Benchmark* b) {
    b->Threads(1)->Threads(2)->Threads(4)->Threads(8)->UseRealTime()->MinTime(0.4);
  };
  for (const bool zipf : {true, false}) {
    const std::string dist = zipf ? "zipf" : "uniform";
    threads(benchmark::RegisterBenchmark(("hit/" + name + "/" + dist + "/mutex_shards").c_str(),
                                         [zipf](benchmark::State& s) { hit<mutex_shards<Policy>, Policy>(s, zipf); }));
  }
  threads(benchmark::RegisterBenchmark(("mixed/" + name + "/zipf/mutex_shards").c_str(),
                                       [](benchmark::State& s) { mixed<mutex_shards<Policy>, Policy>(s); }));
}

// The mixed stream with nothing shared (every thread its own concurrent_cache), and the
// hits and the mixed stream on one cache of the default shard count.
template <class Policy>
void register_mixed_calibrations(const std::string& name) {
  for (const bool zipf : {true, false}) {
    const std::string dist = zipf ? "zipf" : "uniform";
    benchmark::RegisterBenchmark(("hit/" + name + "/" + dist + "/concurrent_cache_default_shards").c_str(),
                                 [zipf](benchmark::State& s) { hit<default_sharded<Policy>, Policy>(s, zipf); })
        ->Threads(1)->Threads(2)->Threads(4)->Threads(8)->UseRealTime()->MinTime(0.4);
  }
  benchmark::RegisterBenchmark(("mixed/" + name + "/zipf/private_concurrent_caches").c_str(),
                               [](benchmark::State& s) { mixed<sharded<Policy>, Policy, true>(s); })
      ->Threads(1)->Threads(2)->Threads(4)->Threads(8)->UseRealTime()->MinTime(0.4);
  benchmark::RegisterBenchmark(("mixed/" + name + "/zipf/concurrent_cache_default_shards").c_str(),
                               [](benchmark::State& s) { mixed<default_sharded<Policy>, Policy>(s); })
      ->Threads(1)->Threads(2)->Threads(4)->Threads(8)->UseRealTime()->MinTime(0.4);
}

}  // namespace

int main(int argc, char** argv) {
  for (const bool zipf : {true, false})
    benchmark::RegisterBenchmark(zipf ? "hit/lru/zipf/private_caches" : "hit/lru/uniform/private_caches",
                                 [zipf](benchmark::State& s) { private_caches(s, zipf); })
        ->Threads(1)->Threads(2)->Threads(4)->Threads(8)->UseRealTime()->MinTime(0.4);
  register_policy<prescient::policy::lru>("lru");
  register_policy<prescient::policy::s3fifo>("s3fifo");
  register_policy<prescient::policy::sieve>("sieve");
  register_hits_only<buffered_hits<prescient::policy::s3fifo>>("s3fifo_buffered");
  register_hits_only<buffered_hits<prescient::policy::sieve>>("sieve_buffered");
  register_concurrent_only<own_ring_drains<prescient::policy::lru>>("lru_own_ring");
  register_policy<learned_forest>("learned");
  register_mixed_calibrations<prescient::policy::lru>("lru");
  register_mixed_calibrations<prescient::policy::s3fifo>("s3fifo");
  register_mixed_calibrations<prescient::policy::sieve>("sieve");
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
