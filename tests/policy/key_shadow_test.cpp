// key_shadow<P>: any policy over keys alone decides exactly as cache<uint64_t, …, P>
// with the same weights — every answer, the size and the weight, after every request,
// over random weighted requests at several capacities.
#include "prescient/policy/detail/key_shadow.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "prescient/cache.hpp"
#include "prescient/hash.hpp"
#include "prescient/policy/arc.hpp"
#include "prescient/policy/lru.hpp"
#include "prescient/policy/s3fifo.hpp"
#include "prescient/policy/sieve.hpp"
#include "prescient/policy/wtinylfu.hpp"

namespace {

using namespace prescient;

struct weight_is_value {
  std::uint64_t operator()(const std::uint64_t&, const std::uint64_t& w) const noexcept { return std::max<std::uint64_t>(w, 1); }
};

template <class P>
class KeyShadow : public ::testing::Test {};
using shadowed = ::testing::Types<policy::lru, policy::s3fifo, policy::wtinylfu, policy::arc, policy::sieve>;
TYPED_TEST_SUITE(KeyShadow, shadowed);

TYPED_TEST(KeyShadow, DecidesAsTheCacheWould) {
  for (const std::uint64_t capacity : {1u, 7u, 64u, 500u}) {
    for (const std::uint64_t max_weight : {1u, 5u}) {
      std::mt19937_64 rng(capacity * 31 + max_weight);
      // Keys through the cache's own hash: the shadow takes hashes, the cache keys.
      cache<std::uint64_t, std::uint64_t, TypeParam, prescient::hash<std::uint64_t>, std::equal_to<std::uint64_t>,
            weight_is_value>
          c(capacity);
      policy::detail::key_shadow<TypeParam> s(capacity);
      const prescient::hash<std::uint64_t> h;
      std::uint64_t time = 0;
      for (int i = 0; i < 20000; ++i) {
        const std::uint64_t k = std::min(rng() % (4 * capacity + 8), rng() % (4 * capacity + 8));
        const std::uint64_t w = max_weight == 1 ? 1 : 1 + (k * 7) % max_weight;  // one weight per key
        bool cache_hit = c.get(k).has_value();
        if (!cache_hit) (void)c.put(k, w);
        const bool shadow_hit = s.request(h(k), w, time++);
        ASSERT_EQ(shadow_hit, cache_hit) << TypeParam::name << " capacity " << capacity << " op " << i;
        ASSERT_EQ(s.size(), c.size()) << TypeParam::name << " capacity " << capacity << " op " << i;
        ASSERT_EQ(s.weight(), c.weight());
        ASSERT_EQ(s.contains(h(k)), c.contains(k));
      }
    }
  }
}

TYPED_TEST(KeyShadow, ClearForgetsEverything) {
  policy::detail::key_shadow<TypeParam> s(16);
  for (std::uint64_t k = 0; k < 100; ++k) s.request(k * 0x9e3779b97f4a7c15ULL, 1, k);
  s.clear();
  EXPECT_EQ(s.size(), 0u);
  EXPECT_EQ(s.weight(), 0u);
  EXPECT_FALSE(s.request(99 * 0x9e3779b97f4a7c15ULL, 1, 200)) << "a cleared shadow holds nothing";
  EXPECT_GT(s.bytes_per_entry(), 0u);
}

}  // namespace
