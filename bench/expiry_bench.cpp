// The cost of time in the cache core (issue 17): the same requests through a cache
// without expiry and through expiring caches, in one run, so the figures compare.
//
//   build/release/bench/expiry_bench
//
// * GetHit / MissThenPut, 100,000 entries (LRU), as bench/cache_bench.cpp measures them:
//   off      — prescient::cache, no_expiry (the default; no clock is read);
//   write    — expire after write (1 h: nothing expires during the run), steady clock;
//   access   — expire after access (1 h): every hit also stores its time in the entry's
//              access stamp (cache.hpp, "Access stamps"), steady clock;
//   access_fake — after access on a fake ticker: the stamp without the clock;
//   coarse   — after write, on coarse_ticker (CLOCK_MONOTONIC_COARSE);
//   fake     — after write, on a fake ticker: the wheel's bookkeeping without the clock.
// * ConcurrentGetHit, the same 100,000 entries in a concurrent_cache (16 shards, one
//   thread, capacity 200,000 so that no shard evicts): its lock-free hit with expiry
//   off, after write (steady clock; coarse; fake: the protocol without the clock), and
//   after access (steady; fake): lock-free too, the hit storing its access stamp.
// * SharedGetHit: one concurrent_cache hit from 1 and 2 threads (below).
// * SteadyExpiry: 1M live entries expiring steadily. Every request inserts a new key with
//   a 60 s time to live and the fake clock moves 60 µs per request, so about one entry
//   expires per request once the first million are in; the capacity (2M) is never
//   reached: expiry alone keeps the size. Requests run in batches of 1,024; counters give
//   the median, 99.9th percentile and longest batch, in µs, over 4M requests after the
//   warm-up (a pause would show as a longest batch far above the median). Batches are
//   timed in the thread's CPU time (CLOCK_THREAD_CPUTIME_ID), so that the scheduler
//   giving the core to another process (4-5 ms slices on a busy machine) is not taken
//   for a pause of the cache; SteadyErase does the same work with explicit erases of
//   the oldest key and no expiry, for comparison.
#include <benchmark/benchmark.h>

#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <vector>

#include "prescient/cache.hpp"
#include "prescient/concurrent_cache.hpp"
#include "prescient/expiry.hpp"
#include "prescient/hash.hpp"
#include "prescient/policy/lru.hpp"

namespace {

using namespace std::chrono_literals;
using key = std::uint64_t;
using lru = prescient::policy::lru;

using off_cache = prescient::cache<key, key, lru>;
using steady_cache = prescient::expiring_cache<key, key, lru, prescient::expiring<prescient::steady_ticker>>;
using fake_cache = prescient::expiring_cache<key, key, lru, prescient::expiring<prescient::fake_ticker>>;
using coarse_cache = prescient::expiring_cache<key, key, lru, prescient::expiring<prescient::coarse_ticker>>;

enum class mode { off, write, access, coarse, fake, access_fake };

template <mode M>
auto make(std::uint64_t n) {
  if constexpr (M == mode::off) return off_cache(n);
  else if constexpr (M == mode::write) return steady_cache(n, {.after_write = 1h});
  else if constexpr (M == mode::access) return steady_cache(n, {.after_access = 1h});
  else if constexpr (M == mode::coarse) return coarse_cache(n, {.after_write = 1h});
  else if constexpr (M == mode::access_fake) return fake_cache(n, {.after_access = 1h, .ticker = prescient::fake_ticker(1)});
  else return fake_cache(n, {.after_write = 1h, .ticker = prescient::fake_ticker(1)});
}

template <mode M>
void BM_GetHit(benchmark::State& state) {
  const auto n = static_cast<std::uint64_t>(state.range(0));
  auto c = make<M>(n);
  for (std::uint64_t k = 0; k < n; ++k) c.put(k, k);
  std::uint64_t i = 0;
  for (auto _ : state) benchmark::DoNotOptimize(c.get(prescient::mix64(i++) % n));
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
  if (c.stats().misses != 0) state.SkipWithError("a hit missed");
}

template <class E>
using concurrent = prescient::concurrent_cache<key, key, lru, prescient::hash<key>, std::equal_to<key>,
                                               prescient::unit_weigher, std::mutex, E>;

template <mode M>
auto make_concurrent(std::uint64_t n) {
  if constexpr (M == mode::off) {
    return concurrent<prescient::no_expiry>(n, {.shards = 16});
  } else if constexpr (M == mode::coarse) {
    return concurrent<prescient::expiring<prescient::coarse_ticker>>(n, {.shards = 16, .after_write = 1h});
  } else if constexpr (M == mode::write) {
    return concurrent<prescient::expiring<prescient::steady_ticker>>(n, {.shards = 16, .after_write = 1h});
  } else if constexpr (M == mode::fake) {
    return concurrent<prescient::expiring<prescient::fake_ticker>>(
        n, {.shards = 16, .after_write = 1h, .ticker = prescient::fake_ticker(1)});
  } else if constexpr (M == mode::access_fake) {
    return concurrent<prescient::expiring<prescient::fake_ticker>>(
        n, {.shards = 16, .after_access = 1h, .ticker = prescient::fake_ticker(1)});
  } else {
    return concurrent<prescient::expiring<prescient::steady_ticker>>(n, {.shards = 16, .after_access = 1h});
  }
}

template <mode M>
void BM_ConcurrentGetHit(benchmark::State& state) {
  const auto n = static_cast<std::uint64_t>(state.range(0));
  auto c = make_concurrent<M>(2 * n);  // room to spare: the shards are not filled evenly
  for (std::uint64_t k = 0; k < n; ++k) c.put(k, k);
  std::uint64_t i = 0;
  for (auto _ : state) benchmark::DoNotOptimize(c.get(prescient::mix64(i++) % n));
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
  if (c.stats().misses != 0) state.SkipWithError("a hit missed");
}

// Hits from 1 and 2 threads on one shared concurrent_cache, on a fake clock (so the
// clock's cost, noisy on this machine, is out): no expiry; after_access (lock-free, the
// hit stores its access stamp); and a read rule that keeps the deadline (an entry expiry
// with after_read: every hit takes the shard's exclusive lock, as after_access hits did
// before access stamps).
struct keep_on_read {
  prescient::duration after_read(const key&, const key&, std::uint64_t, prescient::duration left) { return left; }
};
enum class shared_mode { off, access, read_rule };
template <shared_mode M>
auto make_shared_cache(std::uint64_t n) {
  if constexpr (M == shared_mode::off) {
    return std::make_unique<concurrent<prescient::no_expiry>>(n, concurrent<prescient::no_expiry>::options{.shards = 16});
  } else if constexpr (M == shared_mode::access) {
    using C = concurrent<prescient::expiring<prescient::fake_ticker>>;
    return std::make_unique<C>(n, C::options{.shards = 16, .after_access = 1h, .ticker = prescient::fake_ticker(1)});
  } else {
    using C = concurrent<prescient::expiring<prescient::fake_ticker, keep_on_read>>;
    return std::make_unique<C>(n, C::options{.shards = 16, .after_write = 1h, .ticker = prescient::fake_ticker(1)});
  }
}

template <shared_mode M>
void BM_SharedGetHit(benchmark::State& state) {
  const auto n = static_cast<std::uint64_t>(state.range(0));
  static decltype(make_shared_cache<M>(0)) c;
  if (state.thread_index() == 0) {
    c = make_shared_cache<M>(2 * n);
    for (std::uint64_t k = 0; k < n; ++k) c->put(k, k);
  }
  std::uint64_t i = static_cast<std::uint64_t>(state.thread_index()) << 40;
  for (auto _ : state) benchmark::DoNotOptimize(c->get(prescient::mix64(i++) % n));  // the loop's start is a barrier
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

template <mode M>
void BM_MissThenPut(benchmark::State& state) {
  const auto n = static_cast<std::uint64_t>(state.range(0));
  auto c = make<M>(n);
  std::uint64_t k = 0;
  for (auto _ : state) {
    const std::uint64_t x = k++;  // always new: every get misses, every put evicts
    if (!c.get(x)) c.put(x, x);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

double thread_cpu_us() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) * 1e6 + static_cast<double>(t.tv_nsec) / 1e3;
}

template <class Request>
void batches(benchmark::State& state, Request&& request, std::uint64_t warmup, std::uint64_t measured) {
  constexpr std::size_t batch = 1024;
  for (std::uint64_t i = 0; i < warmup; ++i) request();
  std::vector<double> us;
  us.reserve(measured / batch);
  for (std::uint64_t b = 0; b < measured / batch; ++b) {
    const double t0 = thread_cpu_us();
    for (std::size_t i = 0; i < batch; ++i) request();
    us.push_back(thread_cpu_us() - t0);
  }
  std::sort(us.begin(), us.end());
  state.counters["median_batch_us"] = us[us.size() / 2];
  state.counters["p999_batch_us"] = us[us.size() * 999 / 1000];
  state.counters["max_batch_us"] = us.back();
}

void BM_SteadyErase(benchmark::State& state) {
  constexpr std::uint64_t live = 1'000'000;
  for (auto _ : state) {
    off_cache c(2 * live);
    std::uint64_t k = 0;
    batches(
        state,
        [&] {
          const std::uint64_t x = k++;
          benchmark::DoNotOptimize(c.get(x / 2));
          c.put(x, x);
          if (x >= live) c.erase(x - live);
        },
        2 * live, 4'000'000);
    state.counters["live_entries"] = static_cast<double>(c.size());
  }
}

void BM_SteadyExpiry(benchmark::State& state) {
  constexpr std::uint64_t live = 1'000'000;
  constexpr std::uint64_t measured = 4'000'000;
  const std::uint64_t step = std::chrono::nanoseconds(60s).count() / live;  // 60 µs per request
  for (auto _ : state) {
    prescient::fake_ticker clock(1);
    fake_cache c(2 * live, {.after_write = 60s, .ticker = clock});
    std::uint64_t k = 0;
    auto request = [&] {
      clock.advance(std::chrono::nanoseconds(step));
      const std::uint64_t x = k++;
      benchmark::DoNotOptimize(c.get(x / 2));  // a miss once warm (x / 2 has expired): as SteadyErase
      c.put(x, x);
    };
    batches(state, request, 2 * live, measured);  // warm up: fill, then expire steadily
    state.counters["live_entries"] = static_cast<double>(c.size());
    state.counters["expired_per_request"] =
        static_cast<double>(c.stats().expirations) / static_cast<double>(2 * live + measured);
    state.counters["evictions"] = static_cast<double>(c.stats().evictions);
  }
}

}  // namespace

BENCHMARK(BM_GetHit<mode::off>)->Name("GetHit/off")->Arg(100'000);
BENCHMARK(BM_GetHit<mode::write>)->Name("GetHit/write")->Arg(100'000);
BENCHMARK(BM_GetHit<mode::access>)->Name("GetHit/access")->Arg(100'000);
BENCHMARK(BM_GetHit<mode::coarse>)->Name("GetHit/coarse")->Arg(100'000);
BENCHMARK(BM_GetHit<mode::fake>)->Name("GetHit/fake")->Arg(100'000);
BENCHMARK(BM_GetHit<mode::access_fake>)->Name("GetHit/access_fake")->Arg(100'000);
BENCHMARK(BM_ConcurrentGetHit<mode::off>)->Name("ConcurrentGetHit/off")->Arg(100'000);
BENCHMARK(BM_ConcurrentGetHit<mode::write>)->Name("ConcurrentGetHit/write")->Arg(100'000);
BENCHMARK(BM_ConcurrentGetHit<mode::coarse>)->Name("ConcurrentGetHit/coarse")->Arg(100'000);
BENCHMARK(BM_ConcurrentGetHit<mode::fake>)->Name("ConcurrentGetHit/fake")->Arg(100'000);
BENCHMARK(BM_ConcurrentGetHit<mode::access>)->Name("ConcurrentGetHit/access")->Arg(100'000);
BENCHMARK(BM_ConcurrentGetHit<mode::access_fake>)->Name("ConcurrentGetHit/access_fake")->Arg(100'000);
BENCHMARK(BM_SharedGetHit<shared_mode::off>)->Name("SharedGetHit/off")->Arg(100'000)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK(BM_SharedGetHit<shared_mode::access>)->Name("SharedGetHit/access_fake")->Arg(100'000)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK(BM_SharedGetHit<shared_mode::read_rule>)->Name("SharedGetHit/read_rule_fake")->Arg(100'000)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK(BM_MissThenPut<mode::off>)->Name("MissThenPut/off")->Arg(100'000);
BENCHMARK(BM_MissThenPut<mode::write>)->Name("MissThenPut/write")->Arg(100'000);
BENCHMARK(BM_MissThenPut<mode::access>)->Name("MissThenPut/access")->Arg(100'000);
BENCHMARK(BM_MissThenPut<mode::coarse>)->Name("MissThenPut/coarse")->Arg(100'000);
BENCHMARK(BM_MissThenPut<mode::fake>)->Name("MissThenPut/fake")->Arg(100'000);
BENCHMARK(BM_SteadyErase)->Iterations(1)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_SteadyExpiry)->Iterations(1)->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
