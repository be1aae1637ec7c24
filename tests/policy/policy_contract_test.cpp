// The contract every registered policy keeps, checked over the whole registry with one
// typed test (as CacheLib's typed MM tests do): through the real cache core, capacity 0
// caches nothing and capacity 1 holds one entry; weights never exceed the capacity and an
// entry heavier than it is refused; clear() forgets everything (a cleared policy decides
// as a fresh one); every configurable policy refuses an unknown parameter; every policy
// reports its metadata bytes. A policy added to registered_policies is covered here
// without a line of this file changing.
#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "key_hashes_check.hpp"
#include "policy_harness.hpp"
#include "prescient/cache.hpp"
#include "prescient/policy/registry.hpp"

namespace policy_test {
namespace {

template <class List>
struct as_gtest_types;
template <class... Ps>
struct as_gtest_types<pol::type_list<Ps...>> {
  using type = ::testing::Types<Ps...>;
};
using every_policy = as_gtest_types<pol::registered_policies>::type;

// Weighs a value by itself: the test chooses each entry's weight.
struct value_weigher {
  std::uint64_t operator()(const key_t&, const std::uint64_t& v) const noexcept { return v; }
};

template <class P>
void clear_then_replay_matches_fresh() {
  std::mt19937_64 rng(15);
  std::vector<key_t> trace(3000);
  for (auto& k : trace) k = std::min(rng() % 100, rng() % 100);
  P a(20), b(20);
  // Drive `a`, clear it, then drive both with the same trace through identical slots.
  auto drive = [&](P& p, bool compare_with_b) {
    std::unordered_map<key_t, slot_id> idx;
    std::vector<key_t> keys;
    std::vector<slot_id> free;
    p.reserve_slots(64);
    if (compare_with_b) b.reserve_slots(64);
    std::uint64_t t = 0;
    std::vector<key_t> va;
    for (auto k : trace) {
      const access x{mix(k), t++, 1, access::unknown};
      if (auto it = idx.find(k); it != idx.end()) {
        p.on_access(it->second, x);
        if (compare_with_b) b.on_access(it->second, x);
        continue;
      }
      if constexpr (pol::has_miss_hook<P>) {
        p.on_miss(x);
        if (compare_with_b) b.on_miss(x);
      }
      if (idx.size() == 20) {
        const slot_id v = p.victim(x);
        if (compare_with_b) {
          EXPECT_EQ(v, b.victim(x));
        }
        p.on_evict(v);
        if (compare_with_b) b.on_evict(v);
        idx.erase(keys[v]);
        free.push_back(v);
      }
      slot_id s;
      if (!free.empty()) {
        s = free.back();
        free.pop_back();
      } else {
        s = static_cast<slot_id>(keys.size());
        keys.push_back(0);
      }
      keys[s] = k;
      idx[k] = s;
      p.on_insert(s, x);
      if (compare_with_b) b.on_insert(s, x);
    }
  };
  drive(a, false);
  a.clear();
  drive(a, true);
}

template <class P>
class PolicyContract : public ::testing::Test {};
TYPED_TEST_SUITE(PolicyContract, every_policy);

TYPED_TEST(PolicyContract, CapacityZeroCachesNothing) {
  prescient::cache<key_t, int, TypeParam> c(0);
  for (key_t k = 0; k < 20; ++k) {
    EXPECT_FALSE(c.put(k, 1).cached()) << TypeParam::name;
    EXPECT_FALSE(c.get(k).has_value());
  }
  EXPECT_EQ(c.size(), 0u);
  EXPECT_EQ(c.weight(), 0u);
}

TYPED_TEST(PolicyContract, CapacityOneHoldsOneEntry) {
  prescient::cache<key_t, int, TypeParam> c(1);
  std::mt19937_64 rng(7);
  for (int i = 0; i < 500; ++i) {
    const key_t k = rng() % 4;
    if (rng() % 2) {
      (void)c.get(k);
    } else {
      (void)c.put(k, static_cast<int>(k));
    }
    ASSERT_LE(c.size(), 1u) << TypeParam::name << " at op " << i;
    ASSERT_EQ(c.weight(), c.size());
  }
  // Something was cached at some point, and a cached value is the one put.
  c.put(9, 9);
  if (auto v = c.peek(9)) {
    EXPECT_EQ(*v, 9);
  }
}

TYPED_TEST(PolicyContract, WeightsNeverExceedTheCapacity) {
  constexpr std::uint64_t capacity = 100;
  prescient::cache<key_t, std::uint64_t, TypeParam, prescient::hash<key_t>, std::equal_to<key_t>, value_weigher> c(
      capacity);
  std::mt19937_64 rng(11);
  std::unordered_map<key_t, std::uint64_t> weight_of;
  for (int i = 0; i < 20000; ++i) {
    const key_t k = std::min(rng() % 400, rng() % 400);
    auto& w = weight_of[k];
    if (w == 0) w = 1 + rng() % 30;
    if (rng() % 4 == 0) {
      (void)c.get(k);
    } else if (rng() % 50 == 0) {
      c.erase(k);
    } else {
      const auto r = c.put(k, w);
      if (r.cached()) {
        ASSERT_EQ(c.peek(k), w);
      }
    }
    ASSERT_LE(c.weight(), capacity) << TypeParam::name << " at op " << i;
  }
  std::uint64_t sum = 0;
  c.for_each([&](const key_t&, const std::uint64_t& v) { sum += v; });
  EXPECT_EQ(sum, c.weight());
  // Heavier than the whole capacity: refused, and nothing else is disturbed.
  const auto before = c.size();
  EXPECT_EQ(c.put(100000, capacity + 1).outcome, prescient::put_outcome::too_heavy);
  EXPECT_FALSE(c.contains(100000));
  EXPECT_EQ(c.size(), before);
}

TYPED_TEST(PolicyContract, ClearForgetsEverything) { clear_then_replay_matches_fresh<TypeParam>(); }

TYPED_TEST(PolicyContract, CacheClearEmptiesAndStaysUsable) {
  prescient::cache<key_t, int, TypeParam> c(16);
  for (key_t k = 0; k < 64; ++k) c.put(k, 1);
  c.clear();
  EXPECT_EQ(c.size(), 0u);
  EXPECT_EQ(c.weight(), 0u);
  for (key_t k = 0; k < 64; ++k) EXPECT_FALSE(c.contains(k));
  for (key_t k = 0; k < 64; ++k) c.put(k, 1);
  EXPECT_GT(c.size(), 0u);
  EXPECT_LE(c.size(), 16u);
}

template <class C>
concept configurable = requires(C c, std::string_view s) {
  { c.set(s, s) } -> std::same_as<bool>;
};

TYPED_TEST(PolicyContract, UnknownParameterIsRefused) {
  if constexpr (configurable<typename TypeParam::config>) {
    typename TypeParam::config c;
    EXPECT_FALSE(c.set("no-such-parameter", "1")) << TypeParam::name;
    EXPECT_THROW((void)pol::parse_config<TypeParam>("no-such-parameter=1"), pol::config_error);
  } else {
    // A policy without parameters refuses any parameter string through the registry.
    EXPECT_THROW((void)pol::parse_config<TypeParam>("no-such-parameter=1"), pol::config_error);
  }
}

TYPED_TEST(PolicyContract, ReportsItsMetadataBytes) {
  TypeParam p(100);
  EXPECT_GT(p.metadata_bytes_per_entry(), 0u) << TypeParam::name;
  prescient::cache<key_t, int, TypeParam> c(100);
  for (key_t k = 0; k < 100; ++k) c.put(k, 1);
  EXPECT_GT(c.metadata_bytes_per_entry(), p.metadata_bytes_per_entry()) << "the core's own bytes come on top";
}

TEST(Policies, ParameterStrings) {
  pol::s3fifo::config s;
  EXPECT_TRUE(s.set("small", "0.2") && s.set("ghost", "0.5") && s.set("threshold", "1") && s.set("warmup", "true"));
  EXPECT_DOUBLE_EQ(s.small_ratio, 0.2);
  EXPECT_EQ(s.move_to_main_threshold, 1);
  EXPECT_TRUE(s.warmup_into_main);
  // A known key's unusable value throws (and leaves the field as it was); an unknown key
  // is false, for the registry to name.
  EXPECT_THROW(s.set("small", "lots"), pol::config_error);
  EXPECT_THROW(s.set("threshold", "4"), pol::config_error);
  EXPECT_DOUBLE_EQ(s.small_ratio, 0.2);
  EXPECT_EQ(s.move_to_main_threshold, 1);
  EXPECT_FALSE(s.set("nope", "1"));
  pol::wtinylfu::config w;
  EXPECT_TRUE(w.set("window", "0.05") && w.set("sample", "32") && w.set("doorkeeper", "off"));
  EXPECT_FALSE(w.doorkeeper);
  EXPECT_EQ(w.sample_factor, 32u);
  EXPECT_THROW(w.set("window", "0.05x"), pol::config_error);
  EXPECT_DOUBLE_EQ(w.window_ratio, 0.05);
  pol::belady::config b;
  EXPECT_TRUE(b.set("bypass", "1"));
  EXPECT_TRUE(b.bypass);
  EXPECT_THROW(b.set("bypass", "maybe"), pol::config_error);
  EXPECT_TRUE(b.bypass);
}

TEST(Policies, MetadataBytes) {
  EXPECT_EQ(pol::sieve(100).metadata_bytes_per_entry(), 9u);
  EXPECT_EQ(pol::s3fifo::per_slot_bytes, 9u);  // and 8 of key hash outside a cache
  EXPECT_GT(pol::s3fifo(100).metadata_bytes_per_entry(), 17u);
  EXPECT_GT(pol::arc(100).metadata_bytes_per_entry(), 17u);
  EXPECT_GT(pol::wtinylfu(100).metadata_bytes_per_entry(), 17u);
  EXPECT_EQ(pol::belady(100).metadata_bytes_per_entry(), 60u);
}

// A policy stores no weights while every weight is 1 (weight_column.hpp): 8 bytes a slot
// (and 8 a ghost) appear with the first heavier entry, and the cache asks for them before
// it changes anything (reserve_weight).
struct value_is_weight {
  std::size_t operator()(const int&, const int& v) const { return static_cast<std::size_t>(v); }
};

template <class P>
void expect_weights_cost_bytes_once_heavier(std::size_t slot_and_ghost_bytes) {
  prescient::cache<int, int, P, prescient::hash<int>, std::equal_to<int>, value_is_weight> c(100);
  for (int k = 0; k < 300; ++k) c.put(k, 1);
  const std::size_t unit = c.policy().metadata_bytes_per_entry();
  c.put(1000, 3);
  EXPECT_EQ(c.policy().metadata_bytes_per_entry(), unit + slot_and_ghost_bytes) << P::name;
  for (int k = 0; k < 300; ++k) c.put(k, 1 + k % 4);
  EXPECT_TRUE(c.check_invariants().empty()) << P::name;
  EXPECT_LE(c.weight(), 100u);
}

TEST(Policies, WeightsCostBytesOnlyOnceAnEntryIsHeavier) {
  expect_weights_cost_bytes_once_heavier<pol::s3fifo>(8 + 7);  // slot + 0.9 of a ghost
  expect_weights_cost_bytes_once_heavier<pol::arc>(8 + 8);
  expect_weights_cost_bytes_once_heavier<pol::wtinylfu>(8);
}

// Inside a cache S3-FIFO, ARC and W-TinyLFU read the cache's key hashes (use_key_hashes)
// instead of keeping 8 bytes a slot of their own, and decide exactly as before.
TEST(Policies, ReadingTheCachesHashesChangesNoDecision) {
  for (const std::uint64_t seed : {1u, 2u, 3u}) {
    expect_bound_decides_as_own<pol::s3fifo>(200, {}, 20'000, seed);
    expect_bound_decides_as_own<pol::arc>(200, {}, 20'000, seed);
    expect_bound_decides_as_own<pol::wtinylfu>(200, {}, 20'000, seed);
  }
  // The reported bytes: 8 fewer in a cache than driven alone.
  prescient::cache<key_t, int, pol::s3fifo> c(100);
  for (key_t k = 0; k < 100; ++k) c.put(k, 1);
  EXPECT_EQ(c.policy().metadata_bytes_per_entry() + 8, pol::s3fifo(100).metadata_bytes_per_entry());
}

}  // namespace
}  // namespace policy_test
