// Exception safety of the core: prescient::cache and prescient::concurrent_cache keep
// their invariants whatever user code throws, over every registered policy.
//
// Model-based, like cache_model_test.cpp: random operations on a small key space, each
// checked against a model of what may be cached. The user code the core calls throws at
// random — copies and moves of values (three kinds of value: a throwing copy with a
// noexcept move, copy-only, and a move that may throw too), copies and moves of keys,
// the hash, the key comparison, the weigher, the eviction listener, the loader and the
// `make` of get_or_insert and the `f` of visit — and weighers answer 0 and weights near
// 2^64 in a budget of 2^64 − 1. One matrix cell is (policy, operation, fault profile):
// faults are armed only while that operation runs (so a failure names the operation),
// and after every operation, thrown or not:
//   * check_invariants() is empty: weight() is the sum of the entries' weights and at
//     most capacity(); the index, the slab, the free list and the policy (walked through
//     its own lists) agree on the live entries;
//   * a protocol checker between the core and the policy saw no misuse (a hit, eviction
//     or erasure of a slot the policy does not hold, a victim asked of an empty policy)
//     and holds the same slots as the policy;
//   * every cached value belongs to its key and is one the model allows (the last one
//     put, or — after a put that threw — the previous one), weight() is the sum of the
//     cached values' weights, an operation that returned normally did what it says;
//   * no load is left in flight (concurrent_cache), and when the cache is gone no key or
//     value object is left alive (AddressSanitizer checks the memory itself).
// Concurrent loads with waiters are checked with bounded waits: no waiter stays blocked.
//
// This file runs the matrix over prescient::cache, and replays issue 15's D2–D4 exactly
// (ExceptionSafetyRegression); concurrent_exception_safety_test.cpp does the same for
// concurrent_cache, with concurrent loads and D1.
#include <gtest/gtest.h>

#include "exception_safety_harness.hpp"

namespace {

// One run of the single-threaded matrix over a prescient::cache.
template <class P, class V>
void run_cache(op target, const profile& pr, std::uint32_t seed, int steps = 500) {
  using cache_t = prescient::cache<tkey, V, checked<P>, thash, tequal, tweigher>;
  SCOPED_TRACE(testing::Message() << "cache, policy " << P::name << ", operation " << op_name(target) << ", profile "
                                  << pr.name << ", seed " << seed);
  plan = fault_plan{};
  plan.sources = pr.sources;
  plan.rng.seed(seed * 7919u + 1);
  const std::uint64_t capacity = pr.huge_weights ? max_u64 : small_capacity;
  std::mt19937_64 rng(seed);
  {
    cache_t c(capacity);
    allowed_map allowed;
    std::uint64_t next_id = 1;
    int listener_mismatches = 0;
    c.set_eviction_listener([&](const tkey& k, const V& v, prescient::removal_cause) {
      if (v.key != k.k) ++listener_mismatches;
      maybe_fail(listener_fn, "eviction listener");
    });
    static constexpr op ops[] = {op::get,  op::get,   op::peek,          op::visit,       op::contains,
                                 op::put,  op::put,   op::put,           op::erase,       op::get_or_insert,
                                 op::get_or_load, op::get_or_load, op::set_capacity, op::clear};
    for (int step = 0; step < steps; ++step) {
      op o = rng() % 3 == 0 ? target : ops[rng() % std::size(ops)];
      if (o == op::clear && o != target && rng() % 8 != 0) o = op::get;  // clear rarely unless tested
      const int k = static_cast<int>(rng() % key_space);
      const std::uint64_t id = next_id++;
      const std::uint64_t w = draw_weight(rng, pr.huge_weights);
      promise p;
      bool threw = false;
      try {
        const armed on(o == target);
        switch (o) {
          case op::get: {
            const auto v = c.get(tkey(k));
            if (v && (v->key != k || !allowed[k].contains(v->id))) ADD_FAILURE() << "get " << k << ": a wrong value";
            break;
          }
          case op::peek: {
            const auto v = c.peek(tkey(k));
            if (v && (v->key != k || !allowed[k].contains(v->id))) ADD_FAILURE() << "peek " << k << ": a wrong value";
            break;
          }
          case op::visit:
            c.visit(tkey(k), [&](const V& v) {
              if (v.key != k) ADD_FAILURE() << "visit " << k << ": a wrong value";
              maybe_fail(callback, "visit's f");
            });
            break;
          case op::contains: (void)c.contains(tkey(k)); break;
          case op::put: {
            const prescient::put_result r = c.put(tkey(k), V(id, k, w));
            allowed[k] = {id};
            p = r.cached() ? promise{promise::present, id} : promise{promise::absent, 0};
            break;
          }
          case op::erase:
            (void)c.erase(tkey(k));
            p = {promise::absent, 0};
            break;
          case op::get_or_insert: {
            bool made = false;
            const bool hit = c.get_or_insert(tkey(k), [&] {
              maybe_fail(callback, "make");
              made = true;
              return V(id, k, w);
            });
            if (!hit) allowed[k] = {id};
            if (hit == made) ADD_FAILURE() << "get_or_insert " << k << ": hit " << hit << " but make called " << made;
            break;
          }
          case op::get_or_load: {
            const bool absent = rng() % 8 == 0;
            std::set<std::uint64_t> before = allowed[k];
            allowed[k].insert(id);  // whatever happens, the loaded value may be cached
            const auto v = c.get_or_load(tkey(k), [&](const tkey& key) -> std::optional<V> {
              maybe_fail(callback, "loader");
              if (absent) return std::nullopt;
              return V(id, key.k, w);
            });
            if (v && v->id == id) {
              allowed[k] = {id};
            } else if (v) {
              allowed[k] = before;
              if (!before.contains(v->id)) ADD_FAILURE() << "get_or_load " << k << ": a wrong value";
            } else {
              allowed[k] = before;
              if (!absent) ADD_FAILURE() << "get_or_load " << k << ": nullopt from a loader that answered";
              p = {promise::absent, 0};
            }
            break;
          }
          case op::set_capacity: {
            const std::uint64_t before = c.capacity();
            const std::uint64_t n = rng() % 2 == 0 ? capacity : (pr.huge_weights ? rng() : rng() % (capacity + 1));
            try {
              c.set_capacity(n);
            } catch (...) {
              if (c.capacity() != before) ADD_FAILURE() << "set_capacity threw and changed the capacity";
              throw;
            }
            if (c.capacity() != n) ADD_FAILURE() << "set_capacity(" << n << ") left capacity " << c.capacity();
            break;
          }
          case op::clear:
            c.clear();
            if (c.size() != 0 || c.weight() != 0) ADD_FAILURE() << "clear left entries";
            break;
          case op::invalidate: break;
        }
      } catch (const injected_fault&) {
        threw = true;
        if (o == op::put || o == op::get_or_insert) allowed[k].insert(id);
      } catch (const protocol_violation& e) {
        FAIL() << "step " << step << " (" << op_name(o) << " " << k << "): the core misused the policy: " << e.what();
      }
      const std::string problems = check_cache(c, allowed, k, threw ? promise{} : p, [&] { return c.policy().problems(); });
      ASSERT_EQ(problems, "") << "after step " << step << ": " << op_name(o) << " " << k << (threw ? " (threw)" : "");
      ASSERT_EQ(listener_mismatches, 0);
      if (c.capacity() != capacity && rng() % 4 == 0) c.set_capacity(capacity);  // faults are off here
    }
  }
  EXPECT_EQ(live_keys.load(), 0) << "key objects leaked";
  EXPECT_EQ(live_values.load(), 0) << "value objects leaked";
}

template <class P>
class ExceptionMatrix : public ::testing::Test {};
TYPED_TEST_SUITE(ExceptionMatrix, every_policy);

PRESCIENT_MATRIX_PROFILES(ExceptionMatrix, run_cache, get)
PRESCIENT_MATRIX_PROFILES(ExceptionMatrix, run_cache, peek)
PRESCIENT_MATRIX_PROFILES(ExceptionMatrix, run_cache, visit)
PRESCIENT_MATRIX_PROFILES(ExceptionMatrix, run_cache, contains)
PRESCIENT_MATRIX_PROFILES(ExceptionMatrix, run_cache, put)
PRESCIENT_MATRIX_PROFILES(ExceptionMatrix, run_cache, erase)
PRESCIENT_MATRIX_PROFILES(ExceptionMatrix, run_cache, get_or_insert)
PRESCIENT_MATRIX_PROFILES(ExceptionMatrix, run_cache, get_or_load)
PRESCIENT_MATRIX_PROFILES(ExceptionMatrix, run_cache, set_capacity)
PRESCIENT_MATRIX_PROFILES(ExceptionMatrix, run_cache, clear)

// ---- regressions: the defects of issue 15, exactly ------------------------------------

// D2: assign updated weight_ before the value assignment, which can throw: weight() then
// disagreed with the entries (here 10 for entries of 5), and wrapped below zero after
// erasing them; the next insert asked an empty policy for a victim.
TEST(ExceptionSafetyRegression, D2_AWeightStaysTrueWhenTheAssignmentThrows) {
  prescient::cache<tkey, copy_only_value, pol::lru, thash, tequal, tweigher> c(10);
  plan = fault_plan{};
  c.put(tkey(1), copy_only_value(1, 1, 2));
  c.put(tkey(2), copy_only_value(2, 2, 3));
  plan.sources = value_copy;
  plan.countdown = 1;  // the assignment's copy (the argument is built in place)
  {
    const armed on;
    EXPECT_THROW(c.put(tkey(1), copy_only_value(3, 1, 7)), injected_fault);
  }
  plan = fault_plan{};
  ASSERT_EQ(c.peek(tkey(1))->id, 1u) << "the assignment failed: the old value stays";
  ASSERT_EQ(c.weight(), 5u) << "the old weights stay";
  ASSERT_TRUE(c.erase(tkey(1)));
  ASSERT_TRUE(c.erase(tkey(2)));
  ASSERT_EQ(c.weight(), 0u);
  ASSERT_EQ(c.size(), 0u);
  c.put(tkey(3), copy_only_value(4, 3, 9));  // must fit without asking for a victim
  EXPECT_EQ(c.weight(), 9u);
  EXPECT_EQ(c.check_invariants(), "");
}

// D3: the too-heavy branch of assign called on_erase before copying the entry out, and
// evict called on_evict before copying it for the listener; when that copy threw, the
// entry stayed indexed and weighed but the policy had forgotten it, and the next hit
// failed inside the policy.
TEST(ExceptionSafetyRegression, D3_ThePolicyKeepsAnEntryWhenTooHeavyRemovalCopiesThrow) {
  prescient::cache<tkey, copy_only_value, checked<pol::lru>, thash, tequal, tweigher> c(10);
  plan = fault_plan{};
  c.put(tkey(1), copy_only_value(1, 1, 2));
  plan.sources = value_copy;
  plan.countdown = 1;
  prescient::put_result r{prescient::put_outcome::inserted};
  bool threw = false;
  try {
    const armed on;
    r = c.put(tkey(1), copy_only_value(2, 1, 11));  // heavier than the whole capacity
  } catch (const injected_fault&) {
    threw = true;
  }
  plan = fault_plan{};
  ASSERT_EQ(c.check_invariants(), "");
  ASSERT_EQ(c.policy().problems(), "");
  if (!threw) {
    EXPECT_EQ(r.outcome, prescient::put_outcome::too_heavy);
    EXPECT_FALSE(c.contains(tkey(1)));
  }
  EXPECT_NO_THROW((void)c.get(tkey(1)));
  EXPECT_EQ(c.policy().problems(), "");
}

TEST(ExceptionSafetyRegression, D3_ThePolicyKeepsAnEntryWhenTheListenersCopyThrows) {
  prescient::cache<tkey, copy_only_value, checked<pol::lru>, thash, tequal, tweigher> c(3);
  plan = fault_plan{};
  for (int k = 1; k <= 3; ++k) c.put(tkey(k), copy_only_value(static_cast<std::uint64_t>(k), k, 1));
  std::vector<int> evicted;
  c.set_eviction_listener([&](const tkey& k, const copy_only_value&, prescient::removal_cause) { evicted.push_back(k.k); });
  plan.sources = value_copy;
  plan.countdown = 1;  // the first value copy made while key 4 goes in
  try {
    const armed on;
    c.put(tkey(4), copy_only_value(4, 4, 1));
  } catch (const injected_fault&) {
  }
  plan = fault_plan{};
  ASSERT_EQ(c.check_invariants(), "");
  ASSERT_EQ(c.policy().problems(), "");
  for (int k = 1; k <= 4; ++k) EXPECT_NO_THROW((void)c.get(tkey(k))) << k;
  EXPECT_EQ(c.policy().problems(), "");
  EXPECT_EQ(evicted, std::vector<int>{1}) << "key 1 was evicted, and the listener told once";
}

// D4: weight_ + w wrapped: with capacity 2^64 − 1, two entries of 2^63 gave weight() 0.
TEST(ExceptionSafetyRegression, D4_WeightsNear2To64DoNotWrap) {
  struct value_weigher {
    std::uint64_t operator()(int, std::uint64_t v) const { return v; }
  };
  constexpr std::uint64_t half = std::uint64_t{1} << 63;
  prescient::cache<int, std::uint64_t, pol::lru, prescient::hash<int>, std::equal_to<int>, value_weigher> c(max_u64);
  c.put(1, half);
  c.put(2, half);  // does not fit beside key 1: key 1 is evicted
  EXPECT_EQ(c.weight(), half);
  EXPECT_EQ(c.size(), 1u);
  EXPECT_TRUE(c.contains(2));

  // An assignment that would take the total past 2^64.
  prescient::cache<int, std::uint64_t, pol::lru, prescient::hash<int>, std::equal_to<int>, value_weigher> d(max_u64);
  d.put(1, half);
  d.put(2, 1);
  EXPECT_EQ(d.weight(), half + 1);
  d.put(2, half);  // key 2 is now the most recent: key 1 makes room
  EXPECT_EQ(d.weight(), half);
  EXPECT_TRUE(d.contains(2));
  EXPECT_FALSE(d.contains(1));

  // The largest weight fits alone; weight 0 counts as 1.
  d.put(3, max_u64);
  EXPECT_EQ(d.weight(), max_u64);
  EXPECT_EQ(d.size(), 1u);
  d.put(4, 0);
  EXPECT_EQ(d.weight(), 1u);
  EXPECT_EQ(c.check_invariants(), "");
  EXPECT_EQ(d.check_invariants(), "");
}

}  // namespace
