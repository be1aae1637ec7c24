// A policy that reads the cache's key hashes (policy.hpp, `use_key_hashes`) decides as
// the same policy keeping its own: shared by the heuristics' and the learned policy's
// tests.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <random>
#include <utility>
#include <vector>

#include "prescient/cache.hpp"
#include "prescient/policy/policy.hpp"

namespace policy_test {

/// `P` with its use_key_hashes hidden: it keeps its own hashes, as a policy driven
/// outside a cache does.
template <class P>
struct own_hashes : P {
  using P::P;
  void use_key_hashes(prescient::key_hash_view) = delete;
};

/// The value is the entry's weight.
struct weight_is_value {
  std::uint64_t operator()(const std::uint64_t&, const std::uint64_t& v) const noexcept { return v; }
};

/// The same random puts, gets and erases (weight 1 for the first half, 1–4 after) through
/// a cache whose policy reads the cache's hashes and one whose policy keeps its own; the
/// first cache is moved into a new object a third of the way in (the view must survive
/// the move). Both must evict the same keys in the same order and hit alike, and the
/// bound policy must report `saved` fewer bytes an entry.
template <class P>
void expect_bound_decides_as_own(std::uint64_t capacity, const typename P::config& cfg, std::size_t ops,
                                 std::uint64_t seed, std::size_t saved = sizeof(std::uint64_t)) {
  static_assert(prescient::policy::has_key_hashes<P>);
  static_assert(!prescient::policy::has_key_hashes<own_hashes<P>>);
  using bound_cache = prescient::cache<std::uint64_t, std::uint64_t, P, prescient::hash<std::uint64_t>,
                                       std::equal_to<std::uint64_t>, weight_is_value>;
  using own_cache = prescient::cache<std::uint64_t, std::uint64_t, own_hashes<P>, prescient::hash<std::uint64_t>,
                                     std::equal_to<std::uint64_t>, weight_is_value>;
  std::vector<std::uint64_t> bound_evicted, own_evicted;
  auto bound = std::make_unique<bound_cache>(capacity, cfg);
  own_cache own(capacity, cfg);
  bound->set_eviction_listener([&](const std::uint64_t& k, const std::uint64_t&, auto) { bound_evicted.push_back(k); });
  own.set_eviction_listener([&](const std::uint64_t& k, const std::uint64_t&, auto) { own_evicted.push_back(k); });
  std::mt19937_64 rng(seed);
  const std::uint64_t keys = 4 * capacity;
  std::uint64_t hits = 0;
  for (std::size_t i = 0; i < ops; ++i) {
    if (i == ops / 3) bound = std::make_unique<bound_cache>(std::move(*bound));  // the old object is freed
    // Skewed keys: a quarter of them draw most requests.
    const std::uint64_t k = rng() % 4 == 0 ? rng() % keys : rng() % (keys / 4);
    const std::uint64_t w = i < ops / 2 ? 1 : 1 + rng() % 4;
    const unsigned op = static_cast<unsigned>(rng() % 20);
    if (op == 0) {
      ASSERT_EQ(bound->erase(k), own.erase(k)) << "erase of " << k << " at op " << i;
    } else if (op < 4) {
      ASSERT_EQ(bound->put(k, w).outcome, own.put(k, w).outcome) << "put of " << k << " at op " << i;
    } else {
      const bool a = bound->get_or_insert(k, [&] { return w; });
      const bool b = own.get_or_insert(k, [&] { return w; });
      ASSERT_EQ(a, b) << "request of " << k << " at op " << i;
      hits += a;
    }
    ASSERT_EQ(bound_evicted.size(), own_evicted.size()) << "at op " << i;
  }
  EXPECT_EQ(bound_evicted, own_evicted);
  EXPECT_GT(hits, ops / 10);
  EXPECT_GT(bound_evicted.size(), ops / 10);
  EXPECT_TRUE(bound->check_invariants().empty());
  EXPECT_EQ(bound->policy().metadata_bytes_per_entry() + saved, own.policy().metadata_bytes_per_entry())
      << P::name << ": a policy bound to the cache's hashes keeps none of its own";
}

}  // namespace policy_test
