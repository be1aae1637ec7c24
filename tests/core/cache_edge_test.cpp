// Edge cases of the cache core: capacity 0 and 1, oversized entries, missing keys,
// re-insertion, assignments that change weight, clear, and listener counts.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "prescient/cache.hpp"
#include "prescient/policy/fifo.hpp"
#include "prescient/policy/lfu.hpp"
#include "prescient/policy/lru.hpp"

namespace {

using prescient::put_outcome;

struct size_weigher {
  std::uint64_t operator()(const int&, const std::string& v) const { return v.size(); }
};
using weighted_cache = prescient::cache<int, std::string, prescient::policy::lru, prescient::hash<int>,
                                        std::equal_to<int>, size_weigher>;

TEST(CacheEdge, CapacityZeroCachesNothing) {
  prescient::cache<int, int> c(0);
  EXPECT_EQ(c.put(1, 1).outcome, put_outcome::too_heavy);
  EXPECT_FALSE(c.put(1, 1));
  EXPECT_FALSE(c.get(1));
  EXPECT_EQ(c.size(), 0u);
  EXPECT_EQ(c.weight(), 0u);
  EXPECT_EQ(c.stats().rejections, 2u);
  EXPECT_EQ(c.stats().misses, 1u);
}

TEST(CacheEdge, CapacityOneKeepsTheLatest) {
  prescient::cache<int, int> c(1);
  int evictions = 0;
  c.set_eviction_listener([&](const int&, const int&, prescient::removal_cause) { ++evictions; });
  for (int i = 0; i < 10; ++i) {
    EXPECT_TRUE(c.put(i, i * 10));
    EXPECT_EQ(c.size(), 1u);
    EXPECT_EQ(c.get(i), i * 10);
  }
  EXPECT_EQ(evictions, 9);
  EXPECT_EQ(c.stats().evictions, 9u);
}

TEST(CacheEdge, OversizedEntryIsRejectedAndNothingIsEvicted) {
  weighted_cache c(10);
  ASSERT_TRUE(c.put(1, "abcd"));
  ASSERT_TRUE(c.put(2, "efgh"));
  const auto r = c.put(3, std::string(11, 'x'));
  EXPECT_EQ(r.outcome, put_outcome::too_heavy);
  EXPECT_FALSE(r.cached());
  EXPECT_TRUE(c.contains(1));
  EXPECT_TRUE(c.contains(2));
  EXPECT_EQ(c.weight(), 8u);
  EXPECT_EQ(c.stats().rejections, 1u);
  EXPECT_EQ(c.stats().evictions, 0u);
  // Exactly the capacity fits, after evicting everything else.
  EXPECT_TRUE(c.put(4, std::string(10, 'y')));
  EXPECT_EQ(c.size(), 1u);
  EXPECT_EQ(c.weight(), 10u);
}

TEST(CacheEdge, EraseOfMissingKeyIsFalse) {
  prescient::cache<int, int> c(4);
  EXPECT_FALSE(c.erase(7));
  c.put(7, 1);
  EXPECT_TRUE(c.erase(7));
  EXPECT_FALSE(c.erase(7));
  EXPECT_EQ(c.size(), 0u);
}

TEST(CacheEdge, ReinsertAfterEviction) {
  prescient::cache<int, int> c(2);
  c.put(1, 1);
  c.put(2, 2);
  c.put(3, 3);  // evicts 1
  EXPECT_FALSE(c.contains(1));
  EXPECT_TRUE(c.put(1, 11));  // evicts 2
  EXPECT_EQ(c.get(1), 11);
  EXPECT_FALSE(c.contains(2));
  EXPECT_EQ(c.stats().inserts, 4u);
}

TEST(CacheEdge, AssignChangingWeightEvictsOthersOrRemovesTheEntry) {
  weighted_cache c(10);
  std::vector<std::pair<int, prescient::removal_cause>> removed;
  c.set_eviction_listener([&](const int& k, const std::string&, prescient::removal_cause why) {
    removed.emplace_back(k, why);
  });
  c.put(1, "aaa");
  c.put(2, "bbb");
  c.put(3, "ccc");
  EXPECT_EQ(c.weight(), 9u);
  // Growing 3 to 8 bytes needs 14 > 10: LRU evicts 1 then 2 (3 is most recent).
  EXPECT_EQ(c.put(3, "cccccccc").outcome, put_outcome::assigned);
  EXPECT_EQ(c.weight(), 8u);
  ASSERT_EQ(removed.size(), 2u);
  EXPECT_EQ(removed[0].first, 1);
  EXPECT_EQ(removed[1].first, 2);
  // Shrinking frees weight.
  EXPECT_EQ(c.put(3, "c").outcome, put_outcome::assigned);
  EXPECT_EQ(c.weight(), 1u);
  // Growing past the whole capacity removes the stale entry and says so.
  EXPECT_EQ(c.put(3, std::string(11, 'c')).outcome, put_outcome::too_heavy);
  EXPECT_FALSE(c.contains(3));
  EXPECT_EQ(c.weight(), 0u);
  ASSERT_EQ(removed.size(), 3u);
  EXPECT_EQ(removed[2].second, prescient::removal_cause::too_heavy);
}

TEST(CacheEdge, FifoAssignmentCanEvictTheEntryItself) {
  prescient::cache<int, std::string, prescient::policy::fifo, prescient::hash<int>, std::equal_to<int>,
                   size_weigher>
      c(10);
  c.put(1, "aaaa");
  c.put(2, "bbbb");
  // FIFO's victim is the oldest, entry 1 itself: it leaves and the put says so.
  EXPECT_EQ(c.put(1, "aaaaaaaa").outcome, put_outcome::evicted);
  EXPECT_FALSE(c.contains(1));
  EXPECT_TRUE(c.contains(2));
  EXPECT_LE(c.weight(), 10u);
}

TEST(CacheEdge, ClearEmptiesAndTheCacheKeepsWorking) {
  prescient::cache<int, int, prescient::policy::lfu> c(3);
  int evictions = 0;
  c.set_eviction_listener([&](const int&, const int&, prescient::removal_cause) { ++evictions; });
  for (int i = 0; i < 3; ++i) c.put(i, i);
  EXPECT_TRUE(c.get(0));
  c.clear();
  EXPECT_EQ(c.size(), 0u);
  EXPECT_EQ(c.weight(), 0u);
  EXPECT_EQ(evictions, 0);  // clear is not an eviction
  for (int i = 10; i < 14; ++i) c.put(i, i);
  EXPECT_EQ(c.size(), 3u);
  EXPECT_EQ(evictions, 1);
  EXPECT_FALSE(c.contains(10));
}

TEST(CacheEdge, ListenerCalledOncePerEviction) {
  prescient::cache<int, int> c(50);
  std::vector<int> times(1000, 0);
  c.set_eviction_listener([&](const int& k, const int& v, prescient::removal_cause why) {
    EXPECT_EQ(v, k * 2);
    EXPECT_EQ(why, prescient::removal_cause::capacity);
    ++times[static_cast<std::size_t>(k)];
  });
  for (int i = 0; i < 1000; ++i) c.put(i, i * 2);
  for (int i = 0; i < 950; ++i) EXPECT_EQ(times[static_cast<std::size_t>(i)], 1) << i;
  for (int i = 950; i < 1000; ++i) EXPECT_EQ(times[static_cast<std::size_t>(i)], 0) << i;
  EXPECT_EQ(c.stats().evictions, 950u);
}

TEST(CacheEdge, StatsCountEveryKind) {
  prescient::cache<int, int> c(2);
  EXPECT_FALSE(c.get(1));  // miss
  c.put(1, 1);  // insert
  EXPECT_TRUE(c.get(1));   // hit
  c.put(1, 2);  // update
  c.put(2, 2);
  c.put(3, 3);  // evicts 1
  const auto& s = c.stats();
  EXPECT_EQ(s.hits, 1u);
  EXPECT_EQ(s.misses, 1u);
  EXPECT_EQ(s.inserts, 3u);
  EXPECT_EQ(s.updates, 1u);
  EXPECT_EQ(s.evictions, 1u);
  EXPECT_DOUBLE_EQ(s.hit_ratio(), 0.5);
}

TEST(CacheEdge, GetOrInsertCountsHitsAndInserts) {
  prescient::cache<std::uint64_t, int> c(2);
  int made = 0;
  auto make = [&] { return ++made; };
  EXPECT_FALSE(c.get_or_insert(1, make));
  EXPECT_TRUE(c.get_or_insert(1, make));
  EXPECT_FALSE(c.get_or_insert(2, make));
  EXPECT_FALSE(c.get_or_insert(3, make));  // evicts 1
  EXPECT_FALSE(c.contains(1));
  EXPECT_EQ(made, 3);
  EXPECT_EQ(c.stats().hits, 1u);
  EXPECT_EQ(c.stats().misses, 3u);
}

TEST(CacheEdge, StringKeysAndManyGrowths) {
  prescient::cache<std::string, int> c(5000);
  for (int i = 0; i < 20000; ++i) c.put("key-" + std::to_string(i), i);
  EXPECT_EQ(c.size(), 5000u);
  for (int i = 15000; i < 20000; ++i) ASSERT_EQ(c.get("key-" + std::to_string(i)), i);
  for (int i = 0; i < 15000; ++i) ASSERT_FALSE(c.contains("key-" + std::to_string(i)));
}

// A hash that sends every key to one bucket: correctness must not depend on the hash.
struct terrible_hash {
  std::size_t operator()(int) const { return 42; }
};

TEST(CacheEdge, CollidingHashesStayCorrect) {
  prescient::cache<int, int, prescient::policy::lru, terrible_hash> c(64);
  for (int i = 0; i < 200; ++i) c.put(i, i);
  for (int i = 136; i < 200; ++i) ASSERT_EQ(c.get(i), i);
  for (int i = 0; i < 136; ++i) ASSERT_FALSE(c.contains(i));
  for (int i = 150; i < 180; ++i) ASSERT_TRUE(c.erase(i));
  for (int i = 180; i < 200; ++i) ASSERT_EQ(c.get(i), i);
}

}  // namespace
