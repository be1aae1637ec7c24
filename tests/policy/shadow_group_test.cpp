// shadow_group<Ps...>: members sharing one key index decide exactly as a key_shadow of
// each would — every member's answer, size and weight after every request, over random
// weighted requests at several capacities, with members switched on and off at random —
// and the index holds exactly the keys that some member holds.
#include "prescient/policy/detail/shadow_group.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>

#include "prescient/policy/arc.hpp"
#include "prescient/policy/detail/key_shadow.hpp"
#include "prescient/policy/lru.hpp"
#include "prescient/policy/s3fifo.hpp"
#include "prescient/policy/sieve.hpp"
#include "prescient/policy/wtinylfu.hpp"

namespace {

using namespace prescient;
using group = policy::detail::shadow_group<policy::lru, policy::s3fifo, policy::wtinylfu, policy::arc, policy::sieve>;

std::uint64_t key_hash(std::uint64_t k) { return (k + 1) * 0x9e3779b97f4a7c15ULL; }

TEST(ShadowGroup, EveryMemberDecidesAsItsOwnShadowWould) {
  for (const std::uint64_t capacity : {1u, 7u, 64u, 500u}) {
    for (const std::uint64_t max_weight : {1u, 5u}) {
      for (const bool switching : {false, true}) {
        std::mt19937_64 rng(capacity * 131 + max_weight * 7 + switching);
        group g(capacity, {}, {}, {}, {}, {});
        policy::detail::key_shadow<policy::lru> lru(capacity);
        policy::detail::key_shadow<policy::s3fifo> s3fifo(capacity);
        policy::detail::key_shadow<policy::wtinylfu> wtinylfu(capacity);
        policy::detail::key_shadow<policy::arc> arc(capacity);
        policy::detail::key_shadow<policy::sieve> sieve(capacity);
        const std::uint64_t universe = 4 * capacity + 8;
        for (std::uint64_t t = 0; t < 20000; ++t) {
          const std::uint64_t k = std::min(rng() % universe, rng() % universe);
          const std::uint64_t w = max_weight == 1 ? 1 : 1 + (k * 7) % max_weight;
          const group::member_bits active = switching ? static_cast<group::member_bits>(rng() % 32) : group::all;
          const std::uint64_t h = key_hash(k);
          const group::member_bits hits = g.request(h, w, t, active);
          group::member_bits expected = 0;
          if ((active & 1u) != 0 && lru.request(h, w, t)) expected |= 1u;
          if ((active & 2u) != 0 && s3fifo.request(h, w, t)) expected |= 2u;
          if ((active & 4u) != 0 && wtinylfu.request(h, w, t)) expected |= 4u;
          if ((active & 8u) != 0 && arc.request(h, w, t)) expected |= 8u;
          if ((active & 16u) != 0 && sieve.request(h, w, t)) expected |= 16u;
          ASSERT_EQ(hits, expected) << "capacity " << capacity << " weights ≤ " << max_weight << " request " << t;
          const std::size_t sizes[] = {lru.size(), s3fifo.size(), wtinylfu.size(), arc.size(), sieve.size()};
          const std::uint64_t weights[] = {lru.weight(), s3fifo.weight(), wtinylfu.weight(), arc.weight(), sieve.weight()};
          const bool holds[] = {lru.contains(h), s3fifo.contains(h), wtinylfu.contains(h), arc.contains(h),
                                sieve.contains(h)};
          for (std::size_t m = 0; m < group::members; ++m) {
            ASSERT_EQ(g.size(m), sizes[m]) << "member " << m << " request " << t;
            ASSERT_EQ(g.weight(m), weights[m]) << "member " << m << " request " << t;
            ASSERT_EQ(g.contains(m, h), holds[m]) << "member " << m << " request " << t;
          }
        }
        // The index holds the union of the members: every key some member holds, no other.
        std::size_t in_union = 0;
        for (std::uint64_t k = 0; k < universe; ++k) {
          const std::uint64_t h = key_hash(k);
          const bool any = lru.contains(h) || s3fifo.contains(h) || wtinylfu.contains(h) || arc.contains(h) ||
                           sieve.contains(h);
          in_union += any;
          for (std::size_t m = 0; m < group::members; ++m) ASSERT_TRUE(any || !g.contains(m, h));
        }
        EXPECT_EQ(g.union_size(), in_union) << "capacity " << capacity;
        EXPECT_GE(g.union_size(), std::max({lru.size(), s3fifo.size(), wtinylfu.size(), arc.size(), sieve.size()}));
      }
    }
  }
}

TEST(ShadowGroup, OneIndexForMembersThatAgree) {
  // Two LRUs over the same stream hold the same keys: the union is one of them, and the
  // group's bytes per entry count one record per key, not one per member.
  policy::detail::shadow_group<policy::lru, policy::lru> g(100, {}, {});
  std::mt19937_64 rng(7);
  for (std::uint64_t t = 0; t < 5000; ++t) (void)g.request(key_hash(rng() % 400), 1, t);
  EXPECT_EQ(g.size(0), 100u);
  EXPECT_EQ(g.size(1), 100u);
  EXPECT_EQ(g.union_size(), 100u);
  policy::detail::key_shadow<policy::lru> one(100);
  EXPECT_LT(g.bytes_per_entry(), 2 * one.bytes_per_entry()) << "the index and the keys are not held twice";
  EXPECT_LT(g.bytes_per_entry(0b01), g.bytes_per_entry()) << "a member not counted adds none of its slots";
}

TEST(ShadowGroup, ClearForgetsEverything) {
  group g(16, {}, {}, {}, {}, {});
  for (std::uint64_t k = 0; k < 100; ++k) (void)g.request(key_hash(k), 1, k);
  g.clear();
  for (std::size_t m = 0; m < group::members; ++m) {
    EXPECT_EQ(g.size(m), 0u);
    EXPECT_EQ(g.weight(m), 0u);
  }
  EXPECT_EQ(g.union_size(), 0u);
  EXPECT_EQ(g.request(key_hash(99), 1, 200), 0u) << "a cleared group holds nothing";
  EXPECT_EQ(g.request(key_hash(99), 1, 201), group::all) << "and then every member holds the key it took";
}

TEST(ShadowGroup, AKeyHeavierThanTheCapacityIsNeverHeld) {
  group g(4, {}, {}, {}, {}, {});
  EXPECT_EQ(g.request(key_hash(1), 5, 0), 0u);
  EXPECT_EQ(g.request(key_hash(1), 5, 1), 0u);
  EXPECT_EQ(g.union_size(), 0u) << "no member took it, so it has no record";
  for (std::size_t m = 0; m < group::members; ++m) EXPECT_EQ(g.weight(m), 0u);
}

}  // namespace
