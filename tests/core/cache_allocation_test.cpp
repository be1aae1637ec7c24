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

// GCC 12 pairs this operator new with inlined library deletes and warns that malloc'd
// memory reaches free through them; the replaced pair below is consistent.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
static std::atomic<std::uint64_t> g_allocations{0};
void* operator new(std::size_t n) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
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

}  // namespace
