// shadow_group<Ps...>: policies over keys alone, sharing one key index, each deciding
// exactly as cache<uint64_t, …, P> with the same weights would — every member's answer,
// size, weight and membership after every request, over random weighted requests at
// several capacities, with members switched on and off at random — and the index holds
// exactly the keys that some member holds.
#include "prescient/policy/detail/shadow_group.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <tuple>

#include "prescient/cache.hpp"
#include "prescient/hash.hpp"
#include "prescient/policy/arc.hpp"
#include "prescient/policy/lru.hpp"
#include "prescient/policy/s3fifo.hpp"
#include "prescient/policy/sieve.hpp"
#include "prescient/policy/wtinylfu.hpp"

namespace {

using namespace prescient;
using group = policy::detail::shadow_group<policy::lru, policy::s3fifo, policy::wtinylfu, policy::arc, policy::sieve>;

struct weight_is_value {
  std::uint64_t operator()(const std::uint64_t&, const std::uint64_t& w) const noexcept { return std::max<std::uint64_t>(w, 1); }
};
template <class P>
using reference_cache =
    cache<std::uint64_t, std::uint64_t, P, prescient::hash<std::uint64_t>, std::equal_to<std::uint64_t>, weight_is_value>;

std::uint64_t key_hash(std::uint64_t k) { return (k + 1) * 0x9e3779b97f4a7c15ULL; }

TEST(ShadowGroup, EveryMemberDecidesAsTheCacheWould) {
  for (const std::uint64_t capacity : {1u, 7u, 64u, 500u}) {
    for (const std::uint64_t max_weight : {1u, 5u}) {
      for (const bool switching : {false, true}) {
        std::mt19937_64 rng(capacity * 131 + max_weight * 7 + switching);
        group g(capacity, {}, {}, {}, {}, {});
        // Member i's reference: a cache of its policy that sees the requests member i sees.
        std::tuple<reference_cache<policy::lru>, reference_cache<policy::s3fifo>, reference_cache<policy::wtinylfu>,
                   reference_cache<policy::arc>, reference_cache<policy::sieve>>
            caches(capacity, capacity, capacity, capacity, capacity);
        const prescient::hash<std::uint64_t> h;  // the group takes hashes, the caches keys
        const std::uint64_t universe = 4 * capacity + 8;
        for (std::uint64_t t = 0; t < 20000; ++t) {
          const std::uint64_t k = std::min(rng() % universe, rng() % universe);
          const std::uint64_t w = max_weight == 1 ? 1 : 1 + (k * 7) % max_weight;  // one weight per key
          const group::member_bits active = switching ? static_cast<group::member_bits>(rng() % 32) : group::all;
          const group::member_bits hits = g.request(h(k), w, t, active);
          group::member_bits expected = 0;
          auto reference_request = [&](std::size_t i, auto& c) {
            if ((active >> i & 1u) == 0) return;
            if (c.get(k).has_value())
              expected |= group::member_bits{1} << i;
            else
              (void)c.put(k, w);
          };
          std::apply([&](auto&... c) { std::size_t i = 0; (reference_request(i++, c), ...); }, caches);
          ASSERT_EQ(hits, expected) << "capacity " << capacity << " weights ≤ " << max_weight << " request " << t;
          auto compare = [&](std::size_t i, const auto& c) {
            EXPECT_EQ(g.size(i), c.size()) << "member " << i << " request " << t;
            EXPECT_EQ(g.weight(i), c.weight()) << "member " << i << " request " << t;
            EXPECT_EQ(g.contains(i, h(k)), c.contains(k)) << "member " << i << " request " << t;
          };
          std::apply([&](const auto&... c) { std::size_t i = 0; (compare(i++, c), ...); }, caches);
          if (::testing::Test::HasFailure()) return;
        }
        // The index holds the union of the members: every key some member holds, no other.
        std::size_t in_union = 0, largest = 0;
        for (std::uint64_t k = 0; k < universe; ++k) {
          const bool any = std::apply([&](auto&... c) { return (c.contains(k) || ...); }, caches);
          in_union += any;
          for (std::size_t m = 0; m < group::members; ++m) ASSERT_TRUE(any || !g.contains(m, h(k)));
        }
        std::apply([&](auto&... c) { ((largest = std::max(largest, c.size())), ...); }, caches);
        EXPECT_EQ(g.union_size(), in_union) << "capacity " << capacity;
        EXPECT_GE(g.union_size(), largest);
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
  policy::detail::shadow_group<policy::lru> one(100, {});
  for (std::uint64_t t = 0; t < 5000; ++t) (void)one.request(key_hash(rng() % 400), 1, t);
  EXPECT_LT(g.bytes_per_entry(), 2 * one.bytes_per_entry()) << "two LRUs that agree cost less than two groups of one";
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
