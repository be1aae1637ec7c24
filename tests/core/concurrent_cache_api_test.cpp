// concurrent_cache's host API: the options struct, set_capacity, for_each and snapshot,
// reset_stats, and heterogeneous lookup (std::string_view for std::string keys), checked
// against a reference map over random operations; the same lookups on `cache`.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <stdexcept>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "prescient/cache.hpp"
#include "prescient/concurrent_cache.hpp"
#include "prescient/policy/lru.hpp"
#include "prescient/policy/s3fifo.hpp"
#include "prescient/policy/sieve.hpp"

namespace {

using u64 = std::uint64_t;

TEST(ConcurrentCacheApi, OptionsNameTheShardCount) {
  prescient::concurrent_cache<u64, u64> four(1000, {.shards = 4});
  EXPECT_EQ(four.shard_count(), 4u);
  prescient::concurrent_cache<u64, u64> rounded(1000, {.shards = 3});
  EXPECT_EQ(rounded.shard_count(), 4u) << "rounded up to a power of two";
  prescient::concurrent_cache<u64, u64, prescient::policy::s3fifo> tuned(1000, {.shards = 2, .policy = {.small_ratio = 0.2}});
  EXPECT_EQ(tuned.shard_count(), 2u);
  EXPECT_EQ(tuned.capacity(), 1000u);
  EXPECT_EQ(tuned.check_invariants(), "");
}

// Random puts and erases below the capacity (nothing is evicted): the snapshot and
// for_each see exactly what a std::map of the same operations holds.
TEST(ConcurrentCacheApi, SnapshotAndForEachMatchAReferenceMap) {
  prescient::concurrent_cache<u64, u64, prescient::policy::sieve> c(4096, {.shards = 8});
  std::map<u64, u64> ref;
  std::mt19937_64 rng(7);
  for (int i = 0; i < 20'000; ++i) {
    const u64 k = rng() % 2048;
    if (rng() % 4 == 0) {
      EXPECT_EQ(c.erase(k), ref.erase(k) == 1);
    } else {
      const u64 v = rng();
      c.put(k, v);
      ref[k] = v;
    }
  }
  auto snap = c.snapshot();
  std::sort(snap.begin(), snap.end());
  const std::vector<std::pair<u64, u64>> expected(ref.begin(), ref.end());
  EXPECT_EQ(snap, expected);
  std::map<u64, u64> walked;
  c.for_each([&](const u64& k, const u64& v) { EXPECT_TRUE(walked.emplace(k, v).second) << "key " << k << " twice"; });
  EXPECT_EQ(walked, ref);
  const auto before = c.stats();
  c.for_each([](const u64&, const u64&) {});
  EXPECT_EQ(c.stats(), before) << "walking counts nothing";
}

TEST(ConcurrentCacheApi, SetCapacityShrinksThroughThePolicyAndGrowsAgain) {
  prescient::concurrent_cache<u64, u64> c(1000, {.shards = 8});
  u64 evicted = 0;
  c.set_eviction_listener([&](const u64&, const u64&, prescient::removal_cause why) {
    EXPECT_EQ(why, prescient::removal_cause::capacity);
    ++evicted;
  });
  for (u64 k = 0; k < 5000; ++k) c.put(k, k);
  const u64 full = c.size();
  const u64 evicted_full = evicted;
  c.set_capacity(101);
  EXPECT_EQ(c.capacity(), 101u);
  EXPECT_LE(c.size(), 101u);
  EXPECT_EQ(evicted - evicted_full, full - c.size()) << "every entry that left was told to the listener";
  EXPECT_EQ(c.check_invariants(), "") << "the shards' capacities add up to the new total";
  c.set_capacity(3000);
  for (u64 k = 10'000; k < 20'000; ++k) c.put(k, k);
  EXPECT_EQ(c.capacity(), 3000u);
  EXPECT_GT(c.size(), 2800u);
  EXPECT_LE(c.size(), 3000u);
  EXPECT_EQ(c.check_invariants(), "");
  c.set_capacity(0);
  EXPECT_EQ(c.size(), 0u);
  EXPECT_FALSE(c.put(1, 1));
  EXPECT_EQ(c.check_invariants(), "");
}

TEST(ConcurrentCacheApi, ResetStatsZeroesEveryCounter) {
  prescient::concurrent_cache<u64, u64> c(100, {.shards = 4});
  for (u64 k = 0; k < 300; ++k) {
    c.put(k, k);
    (void)c.get(k);
    (void)c.get(k + 1000);
    (void)c.get_or_load(k + 2000, [](u64 key) { return key; });
  }
  EXPECT_NE(c.stats(), prescient::cache_stats{});
  EXPECT_NE(c.load_stats().loads, 0u);
  c.reset_stats();
  EXPECT_EQ(c.stats(), prescient::cache_stats{});
  EXPECT_EQ(c.load_stats().loads, 0u);
  EXPECT_EQ(c.check_invariants(), "");
  (void)c.get(299);
  EXPECT_EQ(c.stats().hits + c.stats().misses, 1u) << "counting goes on after a reset";
}

// With prescient::hash<std::string> (transparent) and std::equal_to<>, a string_view or a
// literal finds the std::string key; the answers are those of the std::string key.
template <class Cache>
void heterogeneous_lookups(Cache& c) {
  c.put(std::string("user:42"), 42);
  const std::string_view k = "user:42";
  EXPECT_EQ(c.get(k), 42);
  EXPECT_EQ(c.get("user:42"), 42);
  EXPECT_FALSE(c.get(std::string_view("user:7")).has_value());
  EXPECT_EQ(c.peek(k), 42);
  EXPECT_TRUE(c.contains(k));
  int seen = 0;
  EXPECT_TRUE(c.visit(k, [&](const int& v) { seen = v; }));
  EXPECT_EQ(seen, 42);
  EXPECT_EQ(c.stats().hits, 3u);
  EXPECT_EQ(c.stats().misses, 1u);
  EXPECT_TRUE(c.erase(k));
  EXPECT_FALSE(c.contains(std::string("user:42")));
  EXPECT_FALSE(c.erase(k));
}

// compute and merge against a reference map on random operations (no capacity
// reached), then every removal reported once with its cause.
TEST(ConcurrentCacheApi, ComputeAndMergeMatchAReferenceMap) {
  prescient::concurrent_cache<u64, u64, prescient::policy::s3fifo> c(8192, {.shards = 8});
  std::map<u64, u64> ref;
  std::mt19937_64 rng(11);
  for (int i = 0; i < 20'000; ++i) {
    const u64 k = rng() % 1024;
    const u64 v = rng() % 100;
    switch (rng() % 3) {
      case 0: {  // add v, or remove the entry when the sum passes 150
        const auto got = c.compute(k, [&](const u64&, const u64* cur) -> std::optional<u64> {
          const u64 next = (cur ? *cur : 0) + v;
          if (next > 150) return std::nullopt;
          return next;
        });
        const auto it = ref.find(k);
        const u64 next = (it == ref.end() ? 0 : it->second) + v;
        if (next > 150) {
          EXPECT_FALSE(got.has_value());
          ref.erase(k);
        } else {
          EXPECT_EQ(got, std::optional<u64>(next));
          ref[k] = next;
        }
        break;
      }
      case 1: {
        const auto got = c.merge(k, v, [](const u64& old, const u64& add) -> std::optional<u64> { return old * 2 + add; });
        const auto it = ref.find(k);
        const u64 expected = it == ref.end() ? v : it->second * 2 + v;
        EXPECT_EQ(got, std::optional<u64>(expected));
        ref[k] = expected;
        break;
      }
      default:
        EXPECT_EQ(c.get(k), ref.count(k) ? std::optional<u64>(ref[k]) : std::nullopt);
    }
  }
  auto snap = c.snapshot();
  std::sort(snap.begin(), snap.end());
  EXPECT_EQ(snap, (std::vector<std::pair<u64, u64>>(ref.begin(), ref.end())));
  EXPECT_EQ(c.check_invariants(), "");
  // A compute whose function throws changes nothing.
  const u64 some = ref.begin()->first;
  EXPECT_THROW(c.compute(some, [](const u64&, const u64*) -> std::optional<u64> { throw std::runtime_error("f"); }),
               std::runtime_error);
  EXPECT_EQ(c.get(some), std::optional<u64>(ref.begin()->second));
}

TEST(ConcurrentCacheApi, EveryRemovalIsReportedWithItsCause) {
  using cause = prescient::removal_cause;
  prescient::concurrent_cache<u64, u64, prescient::policy::lru> c(16, {.shards = 1});
  std::vector<std::pair<u64, cause>> removed;
  c.set_removal_listener([&](const u64& k, const u64&, cause why) { removed.emplace_back(k, why); });
  for (u64 k = 0; k < 16; ++k) c.put(k, k);
  c.put(3, 30);       // replaced
  c.erase(4);         // erased
  c.invalidate(5);    // invalidated
  c.compute(6, [](const u64&, const u64*) -> std::optional<u64> { return std::nullopt; });  // erased
  c.put(100, 1);      // room: three were removed
  c.put(101, 1);
  c.put(102, 1);
  c.put(103, 1);      // full: the LRU entry (0) goes
  const std::vector<std::pair<u64, cause>> expected = {
      {3, cause::replaced}, {4, cause::erased}, {5, cause::invalidated}, {6, cause::erased}, {0, cause::capacity}};
  EXPECT_EQ(removed, expected);
  removed.clear();
  c.clear();
  EXPECT_EQ(removed.size(), 16u);
  for (const auto& [k, why] : removed) EXPECT_EQ(why, cause::cleared) << k;
}

// merge is atomic per key: threads adding to the same few keys lose no update.
TEST(ConcurrentCacheApi, MergeFromManyThreadsLosesNoUpdate) {
  prescient::concurrent_cache<u64, u64, prescient::policy::sieve> c(1024, {.shards = 4});
  constexpr int threads = 4, rounds = 5000;
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      for (int i = 0; i < rounds; ++i) {
        c.merge(static_cast<u64>(i % 8), 1, [](const u64& a, const u64& b) -> std::optional<u64> { return a + b; });
        if (i % 16 == t) (void)c.get(static_cast<u64>(i % 8));  // hits on the lock-free path meanwhile
      }
    });
  for (auto& th : pool) th.join();
  u64 total = 0;
  for (u64 k = 0; k < 8; ++k) total += c.get(k).value_or(0);
  EXPECT_EQ(total, static_cast<u64>(threads) * rounds);
  EXPECT_EQ(c.check_invariants(), "");
}

// get and get_or_load return a small trivially copyable value through a plain local, and
// any other value through the optional itself: both ways give the value, or nothing.
struct no_default {
  explicit no_default(u64 x) : v(x) {}
  u64 v;
};
template <class Value, class Make>
void hits_and_misses_return_the_value(Make make) {
  prescient::concurrent_cache<u64, Value, prescient::policy::lru> c(64, {.shards = 2});
  for (u64 k = 0; k < 32; ++k) c.put(k, make(k));
  for (u64 k = 0; k < 32; ++k) {
    const std::optional<Value> v = c.get(k);
    ASSERT_TRUE(v.has_value()) << k;
    EXPECT_EQ(v->v, make(k).v);
    bool hit = false;
    const std::optional<Value> w = c.get_or_load(k, [&](u64) -> Value { return make(999); }, hit);
    EXPECT_TRUE(hit);
    EXPECT_EQ(w->v, make(k).v);
  }
  EXPECT_FALSE(c.get(100).has_value());
  bool hit = true;
  EXPECT_EQ(c.get_or_load(100, [&](u64 key) { return make(key); }, hit)->v, make(100).v);
  EXPECT_FALSE(hit);
  EXPECT_EQ(c.stats().hits, 64u);
}
struct small_value {
  u64 v = 0;
};
TEST(ConcurrentCacheApi, SmallAndOtherValuesComeBackWhole) {
  hits_and_misses_return_the_value<small_value>([](u64 k) { return small_value{k * 3 + 1}; });
  hits_and_misses_return_the_value<no_default>([](u64 k) { return no_default(k * 5 + 2); });
  struct big {
    u64 v = 0;
    u64 pad[3] = {};
  };
  hits_and_misses_return_the_value<big>([](u64 k) { return big{k * 7 + 3, {k, k, k}}; });
}

using string_hash = prescient::hash<std::string>;

TEST(HeterogeneousLookup, StringViewFindsStringKeysInACache) {
  prescient::cache<std::string, int, prescient::policy::lru, string_hash, std::equal_to<>> c(16);
  heterogeneous_lookups(c);
  EXPECT_EQ(c.check_invariants(), "");
}

TEST(HeterogeneousLookup, StringViewFindsStringKeysInAConcurrentCache) {
  prescient::concurrent_cache<std::string, int, prescient::policy::lru, string_hash, std::equal_to<>> c(64, {.shards = 4});
  heterogeneous_lookups(c);
  c.put("user:1", 1);
  EXPECT_TRUE(c.invalidate(std::string_view("user:1")));
  EXPECT_EQ(c.check_invariants(), "");
}

TEST(HeterogeneousLookup, TheStringHashIsTheHashOfItsCharacters) {
  const string_hash h;
  for (const std::string& s : std::vector<std::string>{"", "a", "user:42", std::string(1000, 'x')}) {
    EXPECT_EQ(h(s), h(std::string_view(s)));
    EXPECT_EQ(h(s), prescient::mix64(std::hash<std::string>{}(s))) << "the generic template's value, unchanged";
  }
}

}  // namespace
