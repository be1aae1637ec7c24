// Host-mode prefetching: values stay right (nothing stale, nothing lost), prefetches
// cut demand misses on a sequential workload, a full queue drops prefetches instead of
// blocking, and a throwing loader reaches the caller without breaking the planner.
#include "prescient/prefetch/prefetching_cache.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <random>
#include <stdexcept>
#include <thread>
#include <vector>

namespace {

using namespace prescient;
using cache_t = prefetch::prefetching_cache<std::uint64_t, std::uint64_t>;

// Files of 16 blocks read front to back, in random order of files.
std::vector<std::uint64_t> sequential_reads(std::size_t files, std::size_t n, std::uint32_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<std::uint64_t> keys;
  while (keys.size() < n) {
    const std::uint64_t f = rng() % files;
    for (std::uint64_t b = 0; b < 16; ++b) keys.push_back(f * 1000 + b);
  }
  keys.resize(n);
  return keys;
}

struct backing_store {
  std::atomic<std::uint64_t> version{0};
  std::atomic<std::uint64_t> loads{0};
  [[nodiscard]] std::uint64_t value_of(std::uint64_t k) const { return k * 7 + version.load(); }
};

TEST(PrefetchingCache, CutsDemandMissesAndValuesStayRight) {
  backing_store store;
  auto loader = [&store](std::uint64_t k) {
    store.loads.fetch_add(1);
    return store.value_of(k);
  };
  const auto keys = sequential_reads(200, 20000, 1);
  cache_t c(500, {});
  for (auto k : keys) {
    ASSERT_EQ(c.get_or_load(k, loader), store.value_of(k));
    c.wait_for_prefetches();  // deterministic: each prefetch lands before the next request
  }
  const auto s = c.stats();
  // Without prefetching every block but the cached files' would miss; with it, the
  // successor of each block is loaded ahead.
  EXPECT_GT(s.issued, 1000u);
  EXPECT_GT(s.accuracy(), 0.5);
  EXPECT_LT(static_cast<double>(s.demand_misses), 0.5 * static_cast<double>(keys.size()));

  // A write to the store, then invalidate: the next read sees the new value.
  store.version = 1;
  for (std::uint64_t k = 0; k < 16; ++k) c.invalidate(k);
  for (std::uint64_t k = 0; k < 16; ++k) {
    ASSERT_EQ(c.get_or_load(k, loader), store.value_of(k));
    c.wait_for_prefetches();
  }
}

TEST(PrefetchingCache, ConcurrentReadersNeverSeeAWrongValue) {
  backing_store store;
  auto loader = [&store](std::uint64_t k) { return store.value_of(k); };
  cache_t c(300, {.threads = 2, .queue_capacity = 8});
  std::vector<std::thread> readers;
  std::atomic<int> wrong{0};
  for (int t = 0; t < 3; ++t)
    readers.emplace_back([&, t] {
      for (auto k : sequential_reads(100, 20000, static_cast<std::uint32_t>(t + 10)))
        if (c.get_or_load(k, loader) != store.value_of(k)) ++wrong;
    });
  for (auto& r : readers) r.join();
  c.wait_for_prefetches();
  EXPECT_EQ(wrong.load(), 0);
  const auto s = c.stats();
  EXPECT_GT(s.issued, 0u);
  EXPECT_EQ(s.issued, c.executor_statistics().submitted);
}

TEST(PrefetchingCache, AFullQueueDropsPrefetchesInsteadOfBlocking) {
  std::atomic<bool> release{false};
  auto slow = [&](std::uint64_t k) {
    if (k % 1000 != 0)  // demand loads of a file's first block are fast; prefetches block
      while (!release.load()) std::this_thread::sleep_for(std::chrono::microseconds(50));
    return k;
  };
  // Never quiet: whether the teaching rounds' prefetches landed before their demand (and so
  // count as used) is a matter of timing, and a quiet planner would hold the successors back.
  cache_t c(1000, {.planner = {.budget = 4, .max_outstanding = 1000, .min_probability = 0.1f, .min_accuracy = 0.0},
                   .threads = 1, .queue_capacity = 2});
  // Teach the model that f*1000 is followed by f*1000 + 1, + 2, + 3 (fast loads).
  auto fast = [](std::uint64_t k) { return k; };
  for (int round = 0; round < 3; ++round)
    for (std::uint64_t f = 0; f < 50; ++f)
      for (std::uint64_t b = 0; b < 4; ++b) c.get_or_load(f * 1000 + b, fast);
  c.wait_for_prefetches();
  c.cache().clear();
  // Now each first block is served at once while its successors' prefetches block the
  // single worker: the queue of 2 fills and further prefetches are dropped, not waited for.
  for (std::uint64_t f = 0; f < 50; ++f) EXPECT_EQ(c.get_or_load(f * 1000, slow), f * 1000);
  // The first file's successors are still loading (blocked or queued): not prefetched twice.
  // (A request that finds the planner busy skips planning; ask until one is planned.)
  const auto skipped_before = c.stats().planning_skipped;
  for (int attempt = 0; attempt < 100; ++attempt) {
    c.get_or_load(0, slow);
    if (c.stats().planning_skipped == skipped_before + static_cast<std::uint64_t>(attempt)) break;
  }
  const auto planned = c.stats();
  EXPECT_GT(planned.already_loading, 0u) << "issued " << planned.issued << ", dropped " << planned.dropped
                                         << ", planning skipped " << planned.planning_skipped;
  release = true;
  c.wait_for_prefetches();
  EXPECT_GT(c.executor_statistics().dropped + c.stats().capped, 0u);
  // Now they are cached: not prefetched again either.
  const auto cached_before = c.stats().already_cached;
  c.get_or_load(0, slow);
  EXPECT_GT(c.stats().already_cached, cached_before);
}

TEST(PrefetchingCache, AThrowingLoaderReachesTheCallerAndPrefetchFailuresAreCounted) {
  auto flaky = [](std::uint64_t k) -> std::uint64_t {
    if (k % 16 == 5) throw std::runtime_error("backend down");
    return k;
  };
  cache_t c(500, {});
  int thrown = 0;
  for (auto k : sequential_reads(50, 4000, 3)) {
    try {
      EXPECT_EQ(c.get_or_load(k, flaky), k);
    } catch (const std::runtime_error&) {
      ++thrown;
      EXPECT_FALSE(c.cache().contains(k));
    }
    c.wait_for_prefetches();
  }
  EXPECT_GT(thrown, 0);
  EXPECT_GT(c.executor_statistics().failed, 0u);  // prefetches of the bad blocks failed quietly
}

}  // namespace
