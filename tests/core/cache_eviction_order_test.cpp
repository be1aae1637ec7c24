// Hand-checked eviction orders for the classic policies on small sequences.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "prescient/cache.hpp"
#include "prescient/policy/fifo.hpp"
#include "prescient/policy/lfu.hpp"
#include "prescient/policy/lru.hpp"

namespace {

template <class Policy>
struct recorder {
  explicit recorder(std::uint64_t capacity) : cache(capacity) {
    cache.set_eviction_listener([this](const char& k, const int&, prescient::removal_cause) { victims += k; });
  }
  prescient::cache<char, int, Policy> cache;
  std::string victims;
};

TEST(EvictionOrder, LruPromotesOnGet) {
  recorder<prescient::policy::lru> r(3);
  for (char k : std::string("abc")) r.cache.put(k, 0);
  ASSERT_TRUE(r.cache.get('a'));  // order, most recent first: a c b
  r.cache.put('d', 0);            // evicts b
  ASSERT_TRUE(r.cache.get('c'));  // c d a
  r.cache.put('e', 0);            // evicts a
  r.cache.put('d', 1);            // assign promotes d: d e c
  r.cache.put('f', 0);            // evicts c
  EXPECT_EQ(r.victims, "bac");
  EXPECT_FALSE(r.cache.contains('b'));
  EXPECT_TRUE(r.cache.contains('d'));
}

TEST(EvictionOrder, LruPeekDoesNotPromote) {
  recorder<prescient::policy::lru> r(2);
  r.cache.put('a', 0);
  r.cache.put('b', 0);
  ASSERT_TRUE(r.cache.peek('a'));
  r.cache.put('c', 0);
  EXPECT_EQ(r.victims, "a");
}

TEST(EvictionOrder, FifoIgnoresHits) {
  recorder<prescient::policy::fifo> r(3);
  for (char k : std::string("abc")) r.cache.put(k, 0);
  ASSERT_TRUE(r.cache.get('a'));
  ASSERT_TRUE(r.cache.get('a'));
  r.cache.put('d', 0);  // evicts a despite the hits
  r.cache.put('b', 5);  // assignment keeps b's place
  r.cache.put('e', 0);  // evicts b
  r.cache.put('f', 0);  // evicts c
  EXPECT_EQ(r.victims, "abc");
}

TEST(EvictionOrder, LfuEvictsLeastFrequentThenLeastRecent) {
  recorder<prescient::policy::lfu> r(3);
  for (char k : std::string("abc")) r.cache.put(k, 0);  // counts a1 b1 c1
  ASSERT_TRUE(r.cache.get('a'));                         // a2
  ASSERT_TRUE(r.cache.get('a'));                         // a3
  ASSERT_TRUE(r.cache.get('c'));                         // c2
  r.cache.put('d', 0);  // lowest count is b (1): evict b
  ASSERT_TRUE(r.cache.get('d'));  // d2, now c2 and d2 tie; c is less recent
  r.cache.put('e', 0);  // evicts... e is new (count 1) — victim among a3 c2 d2: c
  r.cache.put('f', 0);  // victim among a3 d2 e1: e
  EXPECT_EQ(r.victims, "bce");
  EXPECT_EQ(r.cache.policy().metadata_bytes_per_entry(), 12u);
}

}  // namespace
