// concurrent_cache's lookups without the lock (concurrent_cache.hpp): readers that race
// writers only ever read whole values of their own key (heap-allocated strings, so a
// read of a value being replaced or destroyed shows under the sanitizers), the counts
// stay exact, with one thread the buffered policy updates (and SIEVE's and S3-FIFO's
// marks) make every policy decide exactly as a plain `cache` does over the same random
// operations, and marks set from two threads at once all count. Run it under the
// tsan preset as well.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "prescient/cache.hpp"
#include "prescient/concurrent_cache.hpp"
#include "prescient/policy/arc.hpp"
#include "prescient/policy/fifo.hpp"
#include "prescient/policy/lfu.hpp"
#include "prescient/policy/lru.hpp"
#include "prescient/policy/s3fifo.hpp"
#include "prescient/policy/sieve.hpp"
#include "prescient/policy/wtinylfu.hpp"

namespace {

using u64 = std::uint64_t;

// Long enough to live on the heap: a torn or freed string would not read back as this.
std::string value_of(u64 key, u64 writer) {
  return "key " + std::to_string(key) + " written by " + std::to_string(writer) + std::string(40, '.');
}
bool is_value_of(const std::string& v, u64 key) { return v.rfind("key " + std::to_string(key) + " written by ", 0) == 0; }

template <class Policy>
void readers_race_writers() {
  prescient::concurrent_cache<u64, std::string, Policy> c(256, {.shards = 2});
  constexpr int readers = 3, writers = 1, ops = 30'000;
  std::atomic<int> bad{0};
  std::atomic<u64> lookups{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < readers + writers; ++t) {
    pool.emplace_back([&, t] {
      std::mt19937_64 rng(static_cast<u64>(t) * 7 + 1);
      for (int i = 0; i < ops; ++i) {
        const u64 k = rng() % 512;  // twice the capacity: evictions all along
        if (t >= readers) {
          if (rng() % 8 == 0) c.erase(k);
          else c.put(k, value_of(k, static_cast<u64>(t)));
          continue;
        }
        switch (rng() % 4) {
          case 0:
            lookups.fetch_add(1, std::memory_order_relaxed);
            c.visit(k, [&](const std::string& v) { bad += !is_value_of(v, k); });
            break;
          case 1:
            if (auto v = c.peek(k)) bad += !is_value_of(*v, k);
            break;
          case 2:
            lookups.fetch_add(1, std::memory_order_relaxed);
            if (auto v = c.get_or_load(k, [&](u64 key) { return value_of(key, 99); })) bad += !is_value_of(*v, k);
            else ++bad;
            break;
          default:
            lookups.fetch_add(1, std::memory_order_relaxed);
            if (auto v = c.get(k)) bad += !is_value_of(*v, k);
        }
      }
    });
  }
  for (auto& th : pool) th.join();
  EXPECT_EQ(bad.load(), 0);
  const prescient::cache_stats s = c.stats();
  EXPECT_EQ(s.hits + s.misses, lookups.load()) << "every lookup counted once, with or without the lock";
  EXPECT_GT(s.hits, 0u);
  EXPECT_EQ(c.check_invariants(), "");
  EXPECT_EQ(c.loads_in_flight(), 0u);
}

// SIEVE and S3-FIFO take a hit as a mark on the entry, without the lock or a buffer
// (policy::has_lockfree_hit). Two threads hit disjoint halves of the first 32 of 64
// resident keys, twice each, at once; then 32 new keys are inserted. Both policies must
// keep exactly the keys that were hit (SIEVE: visited, S3-FIFO: counted twice, so moved
// to the main queue) and evict the 32 that were not: every hit reached the policy.
template <class Policy>
void marks_from_two_threads_survive_eviction() {
  static_assert(prescient::policy::has_lockfree_hit<Policy>);
  prescient::concurrent_cache<u64, u64, Policy> c(64, {.shards = 1});
  for (u64 k = 0; k < 64; ++k) c.put(k, k);
  std::atomic<int> ready{0};
  std::vector<std::thread> pool;
  for (u64 t = 0; t < 2; ++t)
    pool.emplace_back([&, t] {
      ready.fetch_add(1);
      while (ready.load() < 2) std::this_thread::yield();
      for (int round = 0; round < 2; ++round)
        for (u64 k = 16 * t; k < 16 * t + 16; ++k) EXPECT_EQ(c.get(k), std::optional<u64>(k));
    });
  for (auto& th : pool) th.join();
  for (u64 k = 64; k < 96; ++k) c.put(k, k);
  for (u64 k = 0; k < 32; ++k) EXPECT_TRUE(c.contains(k)) << "hit key " << k << " was evicted";
  for (u64 k = 32; k < 64; ++k) EXPECT_FALSE(c.contains(k)) << "key " << k << " was never hit but stayed";
  EXPECT_EQ(c.stats().hits, 64u);
  EXPECT_EQ(c.check_invariants(), "");
}
TEST(ConcurrentHits, SieveMarksFromTwoThreadsDecideEviction) { marks_from_two_threads_survive_eviction<prescient::policy::sieve>(); }
TEST(ConcurrentHits, S3fifoMarksFromTwoThreadsDecideEviction) { marks_from_two_threads_survive_eviction<prescient::policy::s3fifo>(); }

// A shard's buffered hits are drained by one thread, its drainer (the last to drain);
// another thread leaves its ring to the drainer until too many of its hits wait, and
// then takes the drains over. Here the drainer (this thread) goes idle while a second
// thread hits every resident key once, in a random order: twice its ring's length of
// hits, with no write to drain them. None may be lost: LRU must then evict the keys in
// exactly the order the second thread hit them.
TEST(ConcurrentHits, LruHitsOfAThreadThatIsNotTheDrainerAllReachThePolicy) {
  constexpr u64 n = 256;
  prescient::concurrent_cache<u64, u64, prescient::policy::lru> c(n, {.shards = 1});
  for (u64 k = 0; k < n; ++k) c.put(k, k);
  for (int round = 0; round < 2; ++round)
    for (u64 k = 0; k < n; ++k) ASSERT_EQ(c.get(k), std::optional<u64>(k));  // this thread drains
  std::vector<u64> order(n);
  for (u64 k = 0; k < n; ++k) order[k] = k;
  std::shuffle(order.begin(), order.end(), std::mt19937_64(5));
  std::thread other([&] {
    for (const u64 k : order) EXPECT_EQ(c.get(k), std::optional<u64>(k));
  });
  other.join();
  std::vector<u64> evicted;
  for (u64 k = n; k < 2 * n; ++k) {
    c.put(k, k);
    for (u64 old = 0; old < n; ++old)
      if (std::find(evicted.begin(), evicted.end(), old) == evicted.end() && !c.contains(old)) evicted.push_back(old);
    ASSERT_EQ(evicted.size(), k - n + 1) << "one eviction per insert";
  }
  EXPECT_EQ(evicted, order) << "a hit of the thread that did not drain was lost or reordered";
  EXPECT_EQ(c.stats().hits, 3 * n);
  EXPECT_EQ(c.check_invariants(), "");
}

TEST(ConcurrentHits, LruReadersRaceWriters) { readers_race_writers<prescient::policy::lru>(); }
TEST(ConcurrentHits, S3fifoReadersRaceWriters) { readers_race_writers<prescient::policy::s3fifo>(); }
TEST(ConcurrentHits, SieveReadersRaceWriters) { readers_race_writers<prescient::policy::sieve>(); }

// Only hits, from several threads, while nothing is written: all served without the
// lock, all counted; then a writer's eviction finds a consistent policy.
TEST(ConcurrentHits, PureHitsAreCountedExactly) {
  prescient::concurrent_cache<u64, u64, prescient::policy::lru> c(1000, {.shards = 4});
  for (u64 k = 0; k < 500; ++k) c.put(k, k);
  constexpr int threads = 4, ops = 50'000;
  std::vector<std::thread> pool;
  std::atomic<int> bad{0};
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      for (int i = 0; i < ops; ++i) {
        const u64 k = static_cast<u64>(i * (t + 1)) % 500;
        if (c.get(k) != k) ++bad;
      }
    });
  for (auto& th : pool) th.join();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_EQ(c.stats().hits, u64{threads} * ops);
  EXPECT_EQ(c.stats().misses, 0u);
  for (u64 k = 1000; k < 3000; ++k) c.put(k, k);
  EXPECT_EQ(c.size(), 1000u);
  EXPECT_EQ(c.check_invariants(), "");
}

// More threads alive at once than there are owned stripes (at most 64), and more than
// the 64 unique thread numbers: the threads numbered beyond share stripes, whose counts
// must take locked additions (a plain store there would lose counts); a writer keeps
// the readers going in and out of the locked path. Every lookup is counted, exactly.
TEST(ConcurrentHits, ThreadsBeyondTheOwnedStripesCountExactly) {
  prescient::concurrent_cache<u64, u64, prescient::policy::lru> c(4000, {.shards = 2});
  for (u64 k = 0; k < 500; ++k) c.put(k, k);
  constexpr int readers = 79, ops = 2'000;
  std::atomic<int> alive{0};
  std::atomic<int> bad{0};
  std::atomic<bool> readers_done{false};
  std::vector<std::thread> pool;
  for (int t = 0; t < readers; ++t)
    pool.emplace_back([&, t] {
      ++alive;
      while (alive.load() < readers + 1) std::this_thread::yield();  // every thread holds a number now
      for (int i = 0; i < ops; ++i) {
        const u64 k = static_cast<u64>(i * 7 + t) % 500;
        if (i % 4 == 3) bad += c.get(k + 10'000).has_value();  // never written: a miss
        else bad += c.get(k) != k;
      }
    });
  pool.emplace_back([&] {  // keys of its own, 1,000-1,999: the 500 above are never touched
    ++alive;
    for (u64 i = 0; !readers_done.load(); ++i) {
      if (i % 3 == 0) c.erase(1000 + i % 1000);
      else c.put(1000 + i % 1000, i);
    }
  });
  for (int t = 0; t < readers; ++t) pool[static_cast<std::size_t>(t)].join();
  readers_done = true;
  pool.back().join();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_EQ(c.stats().hits, u64{readers} * ops / 4 * 3);
  EXPECT_EQ(c.stats().misses, u64{readers} * ops / 4);
  EXPECT_EQ(c.check_invariants(), "");
}

// One thread: a one-shard concurrent_cache and a plain cache of the same policy give the
// same answer to every operation and end with the same contents (hits buffered for the
// policy are told to it, in order, before any decision they could change).
template <class Policy>
void same_as_plain_cache(std::uint32_t seed) {
  SCOPED_TRACE(testing::Message() << Policy::name << ", seed " << seed);
  constexpr u64 capacity = 100;
  prescient::cache<u64, u64, Policy> plain(capacity);
  prescient::concurrent_cache<u64, u64, Policy> shared(capacity, {.shards = 1});
  std::mt19937_64 rng(seed);
  for (int i = 0; i < 40'000; ++i) {
    // Skewed keys (a hot fifth and a cold tail), so hits come in runs longer than a buffer.
    const u64 k = rng() % 4 != 0 ? rng() % 60 : rng() % 400;
    switch (rng() % 16) {
      case 0: ASSERT_EQ(shared.erase(k), plain.erase(k)) << "erase " << k << " at " << i; break;
      case 1: ASSERT_EQ(shared.contains(k), plain.contains(k)) << "contains " << k << " at " << i; break;
      case 2: case 3: ASSERT_EQ(shared.put(k, k + 1), plain.put(k, k + 1)) << "put " << k << " at " << i; break;
      default: {
        const std::optional<u64> got = shared.get(k);
        ASSERT_EQ(got, plain.get(k)) << "get " << k << " at " << i;
        if (!got) {
          ASSERT_EQ(shared.put(k, k), plain.put(k, k)) << "fill " << k << " at " << i;
        }
      }
    }
  }
  auto a = shared.snapshot();
  std::vector<std::pair<u64, u64>> b;
  plain.for_each([&](const u64& k, const u64& v) { b.emplace_back(k, v); });
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  EXPECT_EQ(a, b);
  EXPECT_EQ(shared.stats(), plain.stats());
  EXPECT_EQ(shared.check_invariants(), "");
}

template <class P>
class OneThreadExactness : public testing::Test {};
using policies = testing::Types<prescient::policy::lru, prescient::policy::fifo, prescient::policy::lfu,
                                prescient::policy::sieve, prescient::policy::s3fifo, prescient::policy::arc,
                                prescient::policy::wtinylfu>;
TYPED_TEST_SUITE(OneThreadExactness, policies);
TYPED_TEST(OneThreadExactness, SameDecisionsAsAPlainCache) {
  for (std::uint32_t seed = 1; seed <= 3; ++seed) same_as_plain_cache<TypeParam>(seed);
}

}  // namespace
