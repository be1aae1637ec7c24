// "No allocation on a hit": counts global operator new calls around hits, and around a
// steady state of misses that evict, for a cache whose capacity counts entries.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <new>

#include "prescient/cache.hpp"
#include "prescient/policy/fifo.hpp"
#include "prescient/policy/lfu.hpp"
#include "prescient/policy/lru.hpp"
#include "prescient/policy/s3fifo.hpp"
#include "prescient/policy/arc.hpp"

// GCC 12 pairs this operator new with inlined library deletes and warns that malloc'd
// memory reaches free through them; the replaced pair below is consistent.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
static std::atomic<std::uint64_t> g_allocations{0};
static std::atomic<std::uint64_t> g_allocated_bytes{0};
static std::atomic<bool> g_fail_allocations{false};  // every operator new throws while set
void* operator new(std::size_t n) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  g_allocated_bytes.fetch_add(n, std::memory_order_relaxed);
  if (g_fail_allocations.load(std::memory_order_relaxed)) throw std::bad_alloc();
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace {

template <class Policy>
void check_no_allocation() {
  prescient::cache<std::uint64_t, std::uint64_t, Policy> c(1000);
  for (std::uint64_t k = 0; k < 3000; ++k) c.put(k, k);  // fill and wrap once
  const auto before_hits = g_allocations.load();
  std::uint64_t hits = 0;
  for (int round = 0; round < 10; ++round)
    for (std::uint64_t k = 2000; k < 3000; ++k) hits += c.get(k).has_value() ? 1 : 0;
  EXPECT_EQ(hits, 10'000u);
  EXPECT_EQ(g_allocations.load() - before_hits, 0u) << "allocations during hits";

  const auto before_misses = g_allocations.load();
  for (std::uint64_t k = 3000; k < 50'000; ++k) {
    if (!c.get(k)) c.put(k, k);
  }
  EXPECT_EQ(g_allocations.load() - before_misses, 0u) << "allocations in steady-state misses";
}

TEST(CacheAllocation, LruHitsAndSteadyMissesDoNotAllocate) { check_no_allocation<prescient::policy::lru>(); }
TEST(CacheAllocation, FifoHitsAndSteadyMissesDoNotAllocate) { check_no_allocation<prescient::policy::fifo>(); }
TEST(CacheAllocation, LfuHitsAndSteadyMissesDoNotAllocate) { check_no_allocation<prescient::policy::lfu>(); }

// ARC and S3-FIFO store no weights while every weight is 1: the first heavier entry makes
// them allocate, and they do it in reserve_weight, before the cache changes anything — so
// a std::bad_alloc there leaves the cache as it was, and once it succeeded, weighted
// steady-state misses allocate nothing either.
struct value_is_weight {
  std::size_t operator()(const std::uint64_t&, const std::uint64_t& v) const { return static_cast<std::size_t>(v); }
};

template <class Policy>
void check_first_heavier_entry() {
  prescient::cache<std::uint64_t, std::uint64_t, Policy, prescient::hash<std::uint64_t>,
                   std::equal_to<std::uint64_t>, value_is_weight>
      c(1000);
  for (std::uint64_t k = 0; k < 3000; ++k) c.put(k, 1);
  for (std::uint64_t k = 3000; k < 6000; ++k) c.put(k, 1);  // steady state: nothing grows now
  const std::size_t size = c.size();
  const std::uint64_t weight = c.weight();
  const auto before = g_allocations.load();
  g_fail_allocations = true;
  EXPECT_THROW(c.put(99'999, 3), std::bad_alloc);
  g_fail_allocations = false;
  EXPECT_EQ(g_allocations.load() - before, 1u) << "the first allocation is the one that failed";
  EXPECT_EQ(c.size(), size);
  EXPECT_EQ(c.weight(), weight);
  EXPECT_FALSE(c.contains(99'999));
  EXPECT_EQ(c.check_invariants(), "");
  c.put(99'999, 3);
  EXPECT_TRUE(c.contains(99'999));
  // Warm the weighted state up (ghosts of every weight), then count.
  for (std::uint64_t k = 10'000; k < 30'000; ++k) c.put(k, 1 + k % 4);
  const auto before_misses = g_allocations.load();
  for (std::uint64_t k = 10'000; k < 30'000; ++k)
    if (!c.get(k)) c.put(k, 1 + k % 4);
  EXPECT_EQ(g_allocations.load() - before_misses, 0u) << "allocations in weighted steady-state misses";
  EXPECT_EQ(c.check_invariants(), "");
}

// With the unit weigher the slab stores no weight: room for 4,096 entries takes at
// least 8 bytes an entry less than with a weigher that also answers 1 but is not known
// to (the same policy, index and free list besides).
struct always_one {
  std::size_t operator()(const std::uint64_t&, const std::uint64_t&) const { return 1; }
};

TEST(CacheAllocation, TheUnitWeigherStoresNoWeight) {
  const auto bytes_to_reserve = [](auto& c) {
    const auto before = g_allocated_bytes.load();
    c.reserve(4096);
    return g_allocated_bytes.load() - before;
  };
  prescient::cache<std::uint64_t, std::uint64_t, prescient::policy::lru> unit(1);
  prescient::cache<std::uint64_t, std::uint64_t, prescient::policy::lru, prescient::hash<std::uint64_t>,
                   std::equal_to<std::uint64_t>, always_one>
      weighted(1);
  const auto unit_bytes = bytes_to_reserve(unit);
  const auto weighted_bytes = bytes_to_reserve(weighted);
  EXPECT_GE(weighted_bytes, unit_bytes + 4096 * sizeof(std::uint64_t));
  EXPECT_EQ(weighted.metadata_bytes_per_entry(), unit.metadata_bytes_per_entry() + sizeof(std::uint64_t));
  for (std::uint64_t k = 0; k < 3; ++k) {
    unit.put(k, k);
    weighted.put(k, k);
  }
  EXPECT_EQ(unit.weight(), 1u);  // capacity 1: one entry of weight 1
  EXPECT_EQ(weighted.weight(), 1u);
  EXPECT_EQ(unit.check_invariants(), "");
}

TEST(CacheAllocation, S3FifoFirstHeavierEntryAllocatesBeforeAnythingChanges) {
  check_first_heavier_entry<prescient::policy::s3fifo>();
}
TEST(CacheAllocation, ArcFirstHeavierEntryAllocatesBeforeAnythingChanges) {
  check_first_heavier_entry<prescient::policy::arc>();
}

}  // namespace
