// The learned policy's shadow LRU (policy/detail/key_lru.hpp) decides exactly as a
// cache<> with the LRU policy and the same weights: checked against one on random
// requests and puts, with weights that sometimes exceed the capacity.
#include "prescient/policy/detail/key_lru.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>

#include "prescient/cache.hpp"
#include "prescient/policy/lru.hpp"

namespace {

using namespace prescient;

struct weight_is_value {
  std::uint64_t operator()(const std::uint64_t&, const std::uint64_t& w) const noexcept { return w; }
};
using reference_lru = cache<std::uint64_t, std::uint64_t, policy::lru, prescient::hash<std::uint64_t>,
                            std::equal_to<std::uint64_t>, weight_is_value>;

TEST(KeyLru, DecidesAsACacheWithTheLruPolicy) {
  for (const std::uint64_t capacity : {1u, 7u, 64u}) {
    for (const std::uint64_t max_weight : {1u, 4u, 80u}) {
      std::mt19937_64 rng(capacity * 1000 + max_weight);
      policy::detail::key_lru shadow(capacity);
      reference_lru reference(capacity);
      if (capacity == 64) shadow.reserve(16);  // reserved or grown: the same answers
      constexpr std::uint64_t universe = 200;
      for (int op = 0; op < 20000; ++op) {
        const std::uint64_t key = rng() % universe * 0x9e3779b97f4a7c15ULL;  // spread like hashes
        const std::uint64_t weight = rng() % (max_weight + 1);               // 0 counts as 1
        const std::uint64_t w = std::max<std::uint64_t>(weight, 1);
        if (rng() % 8 == 0) {
          shadow.put(key, weight);
          reference.put(key, w);
        } else {
          ASSERT_EQ(shadow.request(key, weight), reference.get_or_insert(key, [&] { return w; }))
              << "capacity " << capacity << ", op " << op;
        }
        ASSERT_EQ(shadow.size(), reference.size());
        ASSERT_EQ(shadow.weight(), reference.weight());
        ASSERT_LE(shadow.weight(), capacity);
      }
      for (std::uint64_t k = 0; k < universe; ++k)
        EXPECT_EQ(shadow.contains(k * 0x9e3779b97f4a7c15ULL), reference.contains(k * 0x9e3779b97f4a7c15ULL));
      shadow.clear();
      EXPECT_EQ(shadow.size(), 0u);
      EXPECT_EQ(shadow.weight(), 0u);
      EXPECT_FALSE(shadow.request(0, 1)) << "empty after clear";
      EXPECT_TRUE(shadow.request(0, 1));
    }
  }
}

}  // namespace
