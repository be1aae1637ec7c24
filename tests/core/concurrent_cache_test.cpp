// concurrent_cache under concurrent use: invariants hold and every value read is one
// that some thread wrote for that key. Run it under the tsan preset as well.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <random>
#include <thread>
#include <type_traits>
#include <vector>

#include "prescient/concurrent_cache.hpp"
#include "prescient/detail/spin_then_park_mutex.hpp"
#include "prescient/policy/fifo.hpp"
#include "prescient/policy/lfu.hpp"
#include "prescient/policy/lru.hpp"
#include "prescient/policy/s3fifo.hpp"
#include "prescient/policy/sieve.hpp"

namespace {

// Values encode their key: value = key * 1000 + writer, so a reader can check that the
// value it got was written for that key.
template <class Policy>
void stress(std::size_t shards) {
  constexpr std::uint64_t capacity = 512;
  prescient::concurrent_cache<std::uint64_t, std::uint64_t, Policy> c(capacity, {.shards = shards});
  std::atomic<std::uint64_t> evictions{0};
  c.set_eviction_listener([&](const std::uint64_t&, const std::uint64_t&, prescient::removal_cause) {
    evictions.fetch_add(1, std::memory_order_relaxed);
  });
  constexpr int threads = 4;
  constexpr int ops = 40'000;
  std::atomic<int> bad{0};
  std::atomic<std::uint64_t> gets{0}, erased{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      std::mt19937_64 rng(static_cast<std::uint64_t>(t) + 17);
      for (int i = 0; i < ops; ++i) {
        const std::uint64_t key = rng() % 2048;
        switch (rng() % 10) {
          case 0:
            if (c.erase(key)) erased.fetch_add(1);
            break;
          case 1: case 2: case 3: c.put(key, key * 1000 + static_cast<std::uint64_t>(t)); break;
          default:
            gets.fetch_add(1);
            if (auto v = c.get(key); v && *v / 1000 != key) bad.fetch_add(1);
        }
      }
    });
  }
  for (auto& th : pool) th.join();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_LE(c.size(), capacity);
  EXPECT_LE(c.weight(), capacity);
  const auto s = c.stats();
  EXPECT_EQ(s.evictions, evictions.load());
  // Every entry that came in either left (evicted or erased) or is still there.
  EXPECT_EQ(s.inserts, s.evictions + erased.load() + c.size());
  EXPECT_EQ(s.hits + s.misses, gets.load());
  EXPECT_GT(s.hits, 0u);
  EXPECT_GT(s.misses, 0u);
}

TEST(ConcurrentCache, LruStress) { stress<prescient::policy::lru>(8); }
TEST(ConcurrentCache, LfuStress) { stress<prescient::policy::lfu>(4); }
TEST(ConcurrentCache, FifoSingleShardStress) { stress<prescient::policy::fifo>(1); }

TEST(ConcurrentCache, CapacityIsSplitAcrossShards) {
  prescient::concurrent_cache<int, int> c(1000, {.shards = 8});
  EXPECT_EQ(c.shard_count(), 8u);
  for (int i = 0; i < 10'000; ++i) c.put(i, i);
  EXPECT_LE(c.size(), 1000u);
  EXPECT_GT(c.size(), 900u);  // hashing spreads keys; every shard is full
  int found = 0;
  for (int i = 0; i < 10'000; ++i) found += c.contains(i) ? 1 : 0;
  EXPECT_EQ(static_cast<std::size_t>(found), c.size());
}

TEST(ConcurrentCache, DefaultShardCountKeepsShardsUseful) {
  prescient::concurrent_cache<int, int> tiny(10);
  EXPECT_EQ(tiny.shard_count(), 1u);
  tiny.put(1, 1);
  EXPECT_EQ(tiny.get(1), 1);
  prescient::concurrent_cache<int, int> zero(0);
  EXPECT_FALSE(zero.put(1, 1));
  EXPECT_EQ(zero.size(), 0u);
}

// An LRU whose hit update is declared costly, as the learned policy's is.
struct costly_lru : prescient::policy::lru {
  using prescient::policy::lru::lru;
  static constexpr bool costly_hit = true;
};

// The default shard count: a power of two near 4 × hardware threads with 64 units a
// shard at least; then up to 16 × while a shard holds 256 units (more shards mean fewer
// lookups meeting a writer) — for a policy whose hits are buffered, only while its
// stripes' rings (1,088 bytes a stripe) cost at most 4 bytes a unit of capacity, and not
// at all for a policy whose hits are costly (the learned policy's shards are each a
// policy with its own referee and panel).
TEST(ConcurrentCache, DefaultShardCountFollowsThePolicysHits) {
  const std::size_t threads = std::max(1u, std::thread::hardware_concurrency());
  const std::uint64_t large = 256 * std::bit_ceil(16 * threads);  // room for every count tried
  // ...but not for buffered hits' rings: 4 bytes a unit is too little for even twice
  // the base count's stripes (at least 5 a shard).
  EXPECT_EQ((prescient::concurrent_cache<int, int, prescient::policy::lru>(large).shard_count()),
            std::bit_ceil(4 * threads));
  // Room for the rings of 16 × hardware threads of shards (at most 80 stripes each).
  const std::uint64_t roomy = std::bit_ceil(16 * threads) * 80 * 1088 / 4;
  EXPECT_EQ((prescient::concurrent_cache<int, int, prescient::policy::lru>(roomy).shard_count()),
            std::bit_ceil(16 * threads));
  EXPECT_EQ((prescient::concurrent_cache<int, int, costly_lru>(roomy).shard_count()), std::bit_ceil(4 * threads));
  EXPECT_EQ((prescient::concurrent_cache<int, int, prescient::policy::sieve>(large).shard_count()),
            std::bit_ceil(16 * threads));
  EXPECT_EQ((prescient::concurrent_cache<int, int, prescient::policy::s3fifo>(large).shard_count()),
            std::bit_ceil(16 * threads));
  // Half that capacity: the marks' extra shards stop at 256 units each.
  EXPECT_EQ((prescient::concurrent_cache<int, int, prescient::policy::sieve>(large / 2).shard_count()),
            std::max(std::bit_ceil(4 * threads), std::bit_ceil(16 * threads) / 2));
  // A small cache gets no more shards than LRU's rule gives it.
  prescient::concurrent_cache<int, int, prescient::policy::sieve> small(1000);
  const prescient::concurrent_cache<int, int, prescient::policy::lru> small_lru(1000);
  EXPECT_EQ(small.shard_count(), small_lru.shard_count());
  EXPECT_GE(1000 / small.shard_count(), 64u);
  for (int i = 0; i < 5000; ++i) small.put(i, i);
  EXPECT_LE(small.size(), 1000u);
  EXPECT_GT(small.size(), 900u);
}

// The shards' default lock spins before it sleeps: it must still exclude. Four threads
// add to a plain counter under it, each long enough that the others find it held, spin
// out and sleep (a lock that let two in would lose additions, and tsan would report the
// race); try_lock fails while another thread holds it and succeeds after.
TEST(ConcurrentCache, TheShardLockSpinsThenSleepsAndExcludes) {
  static_assert(std::is_same_v<prescient::concurrent_cache<int, int>::mutex_type, prescient::detail::spin_then_park_mutex>);
  prescient::detail::spin_then_park_mutex m;
  std::uint64_t counter = 0;  // guarded by m
  constexpr int threads = 4, rounds = 20'000;
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t)
    ts.emplace_back([&] {
      for (int i = 0; i < rounds; ++i) {
        std::lock_guard lock(m);
        const std::uint64_t seen = counter;
        if (i % 1000 == 0) std::this_thread::sleep_for(std::chrono::microseconds(50));  // others spin out and sleep
        counter = seen + 1;
      }
    });
  for (auto& t : ts) t.join();
  EXPECT_EQ(counter, std::uint64_t{threads} * rounds);

  std::atomic<int> step{0};
  std::thread holder([&] {
    std::lock_guard lock(m);
    step = 1;
    while (step.load() != 2) std::this_thread::yield();
  });
  while (step.load() != 1) std::this_thread::yield();
  EXPECT_FALSE(m.try_lock()) << "try_lock took a lock another thread holds";
  step = 2;
  holder.join();
  ASSERT_TRUE(m.try_lock());
  m.unlock();
}

}  // namespace
