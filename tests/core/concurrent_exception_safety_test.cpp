// Exception safety of prescient::concurrent_cache: the matrix of exception_safety_test.cpp
// (see there) over a sharded cache, single-threaded, for its operations (get, visit,
// contains, put, erase, invalidate, get_or_load, clear); then get_or_load raced by
// threads whose loaders, value copies and moves and listeners throw, with bounded
// waits: no waiter may stay blocked and no load may stay in flight. And the regression
// for issue 15's D1.
#include <gtest/gtest.h>

#include "exception_safety_harness.hpp"

namespace {

// One run of the single-threaded matrix over a prescient::concurrent_cache (2 shards).
template <class P, class V>
void run_concurrent(op target, const profile& pr, std::uint32_t seed, int steps = 400) {
  using cache_t = prescient::concurrent_cache<tkey, V, checked<P>, thash, tequal, tweigher>;
  SCOPED_TRACE(testing::Message() << "concurrent_cache, policy " << P::name << ", operation " << op_name(target)
                                  << ", profile " << pr.name << ", seed " << seed);
  plan = fault_plan{};
  plan.sources = pr.sources;
  plan.rng.seed(seed * 104729u + 3);
  const std::uint64_t capacity = pr.huge_weights ? max_u64 : small_capacity;
  std::mt19937_64 rng(seed);
  {
    cache_t c(capacity, {.shards = 2});
    allowed_map allowed;
    std::uint64_t next_id = 1;
    std::atomic<int> listener_mismatches{0};
    c.set_eviction_listener([&](const tkey& k, const V& v, prescient::removal_cause) {
      if (v.key != k.k) ++listener_mismatches;
      maybe_fail(listener_fn, "eviction listener");
    });
    const auto policy_problems = [&] {
      std::string out;
      for (int k = 0; k < key_space; ++k)
        out += c.with_policy_of(tkey(k), [](const checked<P>& p) { return p.problems(); });
      return out;
    };
    static constexpr op ops[] = {op::get,   op::get,        op::peek,        op::visit,       op::contains,
                                 op::put,   op::put,        op::put,         op::erase,       op::invalidate,
                                 op::get_or_load, op::get_or_load, op::clear};
    for (int step = 0; step < steps; ++step) {
      op o = rng() % 3 == 0 ? target : ops[rng() % std::size(ops)];
      if (o == op::clear && o != target && rng() % 8 != 0) o = op::get;
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
          case op::peek: (void)c.peek(tkey(k)); break;
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
          case op::invalidate:
            (void)(o == op::erase ? c.erase(tkey(k)) : c.invalidate(tkey(k)));
            p = {promise::absent, 0};
            break;
          case op::get_or_load: {
            const bool absent = rng() % 8 == 0;
            std::set<std::uint64_t> before = allowed[k];
            allowed[k].insert(id);
            bool hit = false;
            const auto v = c.get_or_load(
                tkey(k),
                [&](const tkey& key) -> std::optional<V> {
                  maybe_fail(callback, "loader");
                  if (absent) return std::nullopt;
                  return V(id, key.k, w);
                },
                hit);
            if (v && !hit) {
              if (v->id != id) ADD_FAILURE() << "get_or_load " << k << ": a loaded value that was not loaded";
              allowed[k] = {id};
            } else {
              allowed[k] = before;
              if (v && !before.contains(v->id)) ADD_FAILURE() << "get_or_load " << k << ": a wrong value";
              if (!v) p = {promise::absent, 0};
            }
            break;
          }
          case op::clear:
            c.clear();
            if (c.size() != 0) ADD_FAILURE() << "clear left entries";
            break;
          case op::get_or_insert:
          case op::set_capacity: break;
        }
      } catch (const injected_fault&) {
        threw = true;
        if (o == op::put) allowed[k].insert(id);
      } catch (const protocol_violation& e) {
        FAIL() << "step " << step << " (" << op_name(o) << " " << k << "): the core misused the policy: " << e.what();
      }
      std::string problems = check_cache(c, allowed, k, threw ? promise{} : p, policy_problems);
      if (c.loads_in_flight() != 0) problems += std::to_string(c.loads_in_flight()) + " loads left in flight; ";
      ASSERT_EQ(problems, "") << "after step " << step << ": " << op_name(o) << " " << k << (threw ? " (threw)" : "");
      ASSERT_EQ(listener_mismatches.load(), 0);
    }
  }
  EXPECT_EQ(live_keys.load(), 0) << "key objects leaked";
  EXPECT_EQ(live_values.load(), 0) << "value objects leaked";
}

template <class P>
class ConcurrentExceptionMatrix : public ::testing::Test {};
TYPED_TEST_SUITE(ConcurrentExceptionMatrix, every_policy);

PRESCIENT_MATRIX_PROFILES(ConcurrentExceptionMatrix, run_concurrent, get)
PRESCIENT_MATRIX_PROFILES(ConcurrentExceptionMatrix, run_concurrent, visit)
PRESCIENT_MATRIX_PROFILES(ConcurrentExceptionMatrix, run_concurrent, contains)
PRESCIENT_MATRIX_PROFILES(ConcurrentExceptionMatrix, run_concurrent, put)
PRESCIENT_MATRIX_PROFILES(ConcurrentExceptionMatrix, run_concurrent, erase)
PRESCIENT_MATRIX_PROFILES(ConcurrentExceptionMatrix, run_concurrent, invalidate)
PRESCIENT_MATRIX_PROFILES(ConcurrentExceptionMatrix, run_concurrent, get_or_load)
PRESCIENT_MATRIX_PROFILES(ConcurrentExceptionMatrix, run_concurrent, clear)

// ---- concurrent loads with waiters ----------------------------------------------------

// Threads race get_or_load on a few keys (with puts and invalidations among them) while
// loaders, value copies and moves and the listener throw at random. Every call must
// return or throw within a bounded time: a waiter left blocked fails the test (and is
// abandoned, with its cache, rather than hanging the suite).
template <class P, class V>
void run_concurrent_loads(const profile& pr, std::uint32_t seed) {
  using cache_t = prescient::concurrent_cache<tkey, V, checked<P>, thash, tequal, tweigher>;
  SCOPED_TRACE(testing::Message() << "concurrent loads, policy " << P::name << ", profile " << pr.name);
  constexpr int threads = 3;
  constexpr int calls = 150;
  auto c = std::make_unique<cache_t>(small_capacity, typename cache_t::options{.shards = 2});
  c->set_eviction_listener([](const tkey&, const V&, prescient::removal_cause) {
    maybe_fail(listener_fn, "eviction listener");
  });
  std::atomic<int> finished{0};
  std::atomic<int> wrong{0};
  std::atomic<std::uint64_t> next_id{1};
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      plan = fault_plan{};
      plan.sources = pr.sources;
      plan.one_in = 5;
      plan.rng.seed(seed * 31u + static_cast<unsigned>(t));
      std::mt19937_64 rng(seed + static_cast<unsigned>(t));
      for (int i = 0; i < calls; ++i) {
        const int k = static_cast<int>(rng() % 4);
        try {
          const armed on;
          if (rng() % 10 == 0) {
            (void)c->invalidate(tkey(k));
          } else if (rng() % 10 == 0) {
            (void)c->put(tkey(k), V(next_id++, k, 1));
          } else {
            const auto v = c->get_or_load(tkey(k), [&](const tkey& key) -> std::optional<V> {
              for (int spin = 0; spin < 20; ++spin) std::this_thread::yield();  // let waiters join
              maybe_fail(callback, "loader");
              return V(next_id++, key.k, 1 + rng() % 3);
            });
            if (!v || v->key != k) ++wrong;
          }
        } catch (const injected_fault&) {
        } catch (const std::exception&) {
          ++wrong;
        }
      }
      ++finished;
    });
  }
  const bool done = prescient::test::eventually([&] { return finished.load() == threads; }, std::chrono::seconds(60));
  if (!done) {
    ADD_FAILURE() << (threads - finished.load()) << " threads still blocked after 60 s: a waiter was never woken";
    for (auto& th : pool) th.detach();
    (void)c.release();  // abandoned with the blocked threads: never destroyed under them
    return;
  }
  for (auto& th : pool) th.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_EQ(c->loads_in_flight(), 0u);
  EXPECT_EQ(c->check_invariants(), "");
  for (int k = 0; k < key_space; ++k)
    EXPECT_EQ(c->with_policy_of(tkey(k), [](const checked<P>& p) { return p.problems(); }), "");
  const prescient::load_stats s = c->load_stats();
  EXPECT_GE(s.loads, s.failures + s.absent);
  c.reset();
  EXPECT_EQ(live_keys.load(), 0) << "key objects leaked";
  EXPECT_EQ(live_values.load(), 0) << "value objects leaked";
}

TYPED_TEST(ConcurrentExceptionMatrix, loads_with_waiters_value_copy) {
  run_concurrent_loads<TypeParam, copy_throws_value>(value_copy_faults, 21);
}
TYPED_TEST(ConcurrentExceptionMatrix, loads_with_waiters_copy_only) {
  run_concurrent_loads<TypeParam, copy_only_value>(copy_only_faults, 22);
}
TYPED_TEST(ConcurrentExceptionMatrix, loads_with_waiters_everything) {
  run_concurrent_loads<TypeParam, throwing_move_value>(every_fault, 23);
}

// ---- regression: issue 15's D1 ---------------------------------------------------------

// D1: the leader published its flight outside its try block; when copying the loaded
// value for the waiters threw, the flight was never published and every waiter on the
// key blocked for ever.
TEST(ExceptionSafetyRegression, D1_WaitersWakeWhenCopyingTheLoadedValueThrows) {
  using cache_t = prescient::concurrent_cache<tkey, copy_throws_value, pol::lru, thash, tequal>;
  auto c = std::make_unique<cache_t>(8, cache_t::options{.shards = 1});
  plan = fault_plan{};
  std::atomic<bool> waiter_done{false};
  std::optional<copy_throws_value> waiter_value;
  std::exception_ptr waiter_error;
  std::thread waiter;
  std::optional<copy_throws_value> leader_value;
  std::exception_ptr leader_error;
  try {
    leader_value = c->get_or_load(tkey(5), [&](const tkey&) {
      waiter = std::thread([&] {
        try {
          waiter_value = c->get_or_load(tkey(5), [](const tkey&) { return copy_throws_value(99, 5, 1); });
        } catch (...) {
          waiter_error = std::current_exception();
        }
        waiter_done = true;
      });
      EXPECT_TRUE(prescient::test::eventually([&] { return c->load_stats().coalesced == 1; }));
      (void)c->invalidate(tkey(5));  // the load goes stale: its value is not copied into the cache
      plan.sources = value_copy;     // this thread's next value copy (the waiters' share) throws
      plan.countdown = 1;
      plan.armed = true;
      return copy_throws_value(1, 5, 1);
    });
  } catch (...) {
    leader_error = std::current_exception();
  }
  plan = fault_plan{};
  const bool woke = prescient::test::eventually([&] { return waiter_done.load(); }, std::chrono::seconds(5));
  if (!woke) {
    ADD_FAILURE() << "the waiter is still blocked 5 s after the leader's load ended";
    waiter.detach();
    (void)c.release();  // abandoned with the blocked waiter
    return;
  }
  waiter.join();
  // The leader's load succeeded: it returns its value; the waiter gets the value or the
  // exception of the copy that could not be made for it.
  EXPECT_FALSE(leader_error) << "the leader's own load did not fail";
  ASSERT_TRUE(leader_value.has_value());
  EXPECT_EQ(leader_value->id, 1u);
  EXPECT_TRUE(waiter_error || (waiter_value && waiter_value->id == 1u));
  EXPECT_EQ(c->loads_in_flight(), 0u);
  EXPECT_FALSE(c->contains(tkey(5)));
}

}  // namespace
