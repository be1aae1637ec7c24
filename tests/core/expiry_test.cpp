// Expiry, refresh and the removal causes on prescient::cache, on a fake clock (no test
// here reads a real clock or asserts a duration).
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <thread>

#include <chrono>
#include <cstdint>
#include <limits>
#include <optional>
#include <random>
#include <span>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "prescient/cache.hpp"
#include "prescient/detail/timer_wheel.hpp"
#include "prescient/executor.hpp"
#include "prescient/expiry.hpp"

namespace {

using namespace std::chrono_literals;
using prescient::removal_cause;

using fake_cache = prescient::expiring_cache<int, int, prescient::policy::lru, prescient::expiring<prescient::fake_ticker>>;

struct recorder {
  std::vector<std::pair<int, removal_cause>> removed;
  std::vector<std::pair<int, removal_cause>> evicted;
  template <class C>
  void attach(C& c) {
    c.set_removal_listener([this](const int& k, const int&, removal_cause why) { removed.emplace_back(k, why); });
    c.set_eviction_listener([this](const int& k, const int&, removal_cause why) { evicted.emplace_back(k, why); });
  }
};

// Random schedules, cancels, lookaheads (the cursor running ahead of the clock, small
// near heaps so that cascades stop half way) and expires, against a brute force.
void wheel_against_brute_force(std::uint64_t seed, std::size_t near_min) {
  std::mt19937_64 rng(seed);
  prescient::detail::timer_wheel wheel(near_min);
  constexpr std::size_t n = 512;
  wheel.reserve_slots(n);
  std::vector<std::uint64_t> deadline(n, 0);
  std::vector<bool> live(n, false);
  std::uint64_t now = 1'000;
  for (int step = 0; step < 20'000; ++step) {
    const auto s = static_cast<prescient::slot_id>(rng() % n);
    const int what = static_cast<int>(rng() % 12);
    if (what < 5) {  // (re)schedule at a spread of distances: 0 to 2^40
      const std::uint64_t d = now + (rng() >> (24 + rng() % 40));
      wheel.reschedule(s, d);
      deadline[s] = d;
      live[s] = true;
    } else if (what < 6) {
      wheel.cancel(s);
      live[s] = false;
    } else if (what < 8) {
      wheel.lookahead(static_cast<unsigned>(rng() % 8));
    } else {
      now += rng() >> (30 + rng() % 34);
      std::vector<prescient::slot_id> got;
      wheel.expire(now, [&](prescient::slot_id t) { got.push_back(t); });
      std::vector<prescient::slot_id> want;
      for (std::size_t t = 0; t < n; ++t)
        if (live[t] && deadline[t] <= now) {
          want.push_back(static_cast<prescient::slot_id>(t));
          live[t] = false;
        }
      std::sort(got.begin(), got.end());
      ASSERT_EQ(got, want) << "step " << step;
      std::uint64_t earliest = std::numeric_limits<std::uint64_t>::max();
      for (std::size_t t = 0; t < n; ++t)
        if (live[t]) earliest = std::min(earliest, deadline[t]);
      ASSERT_LE(wheel.next_due(), earliest) << "step " << step << ": next_due must be a lower bound";
    }
    std::string problems;
    wheel.check([&](const std::string& p) { problems += p; });
    ASSERT_EQ(problems, "") << "step " << step;
  }
}

TEST(TimerWheel, ExpiresExactlyTheDueSlotsAgainstABruteForce) {
  for (std::uint64_t seed = 1; seed <= 3; ++seed) {
    wheel_against_brute_force(seed, 256);
    wheel_against_brute_force(seed, 0);
    wheel_against_brute_force(seed, 4);
    if (HasFatalFailure()) return;
  }
}

TEST(Expiry, AfterWriteIsNeverReturnedAndIsReportedExpired) {
  prescient::fake_ticker clock;
  fake_cache c(10, {.after_write = 10s, .ticker = clock});
  recorder r;
  r.attach(c);
  c.put(1, 100);
  clock.advance(9s);
  EXPECT_EQ(c.get(1), 100);
  EXPECT_TRUE(c.contains(1));
  clock.advance(1s);  // the deadline: expired
  EXPECT_FALSE(c.contains(1));
  EXPECT_EQ(c.peek(1), std::nullopt);
  EXPECT_EQ(c.get(1), std::nullopt);
  EXPECT_EQ(c.size(), 0u);
  EXPECT_EQ(c.stats().expirations, 1u);
  EXPECT_EQ(c.stats().hits, 1u);
  EXPECT_EQ(c.stats().misses, 1u);
  EXPECT_EQ(r.removed, (std::vector<std::pair<int, removal_cause>>{{1, removal_cause::expired}}));
  EXPECT_EQ(r.evicted, r.removed);
  EXPECT_EQ(c.check_invariants(), "");
}

TEST(Expiry, AReadDoesNotExtendAfterWriteButAWriteDoes) {
  prescient::fake_ticker clock;
  fake_cache c(10, {.after_write = 10s, .ticker = clock});
  c.put(1, 1);
  clock.advance(6s);
  EXPECT_TRUE(c.get(1));
  c.put(1, 2);  // the deadline restarts
  clock.advance(6s);
  EXPECT_EQ(c.get(1), 2);
  clock.advance(4s);
  EXPECT_EQ(c.get(1), std::nullopt);
}

TEST(Expiry, AfterAccessMovesWithEveryReadCappedByAfterWrite) {
  prescient::fake_ticker clock;
  fake_cache c(10, {.after_write = 30s, .after_access = 10s, .ticker = clock});
  c.put(1, 1);
  for (int i = 0; i < 2; ++i) {
    clock.advance(9s);
    EXPECT_TRUE(c.get(1)) << i;
  }
  clock.advance(9s);  // 27 s after the write, 9 s after the last read
  EXPECT_TRUE(c.get(1));
  clock.advance(3s);  // 30 s after the write: the write deadline caps the access one
  EXPECT_FALSE(c.get(1));
  c.put(2, 2);
  clock.advance(10s);  // never read: after_access counts from the write
  EXPECT_FALSE(c.get(2));
}

TEST(Expiry, PerEntryTimeToLiveFromAFunctionOfKeyAndValue) {
  prescient::fake_ticker clock;
  auto ttl = prescient::ttl_by([](const int&, const int& v) { return std::chrono::seconds(v); });
  using E = prescient::expiring<prescient::fake_ticker, decltype(ttl)>;
  prescient::expiring_cache<int, int, prescient::policy::lru, E> c(10, {.ticker = clock, .entry = ttl});
  c.put(1, 5);
  c.put(2, 20);
  c.put(3, 0);  // a time to live of 0: expired at once
  EXPECT_FALSE(c.get(3));
  clock.advance(5s);
  EXPECT_FALSE(c.get(1));
  EXPECT_TRUE(c.get(2));
  c.put(2, 1);  // updated: 1 s from now
  clock.advance(1s);
  EXPECT_FALSE(c.get(2));
  EXPECT_EQ(c.stats().expirations, 3u);
}

struct read_extends {
  prescient::duration after_create(const int&, const int&, std::uint64_t) { return 10s; }
  prescient::duration after_read(const int&, const int&, std::uint64_t, prescient::duration left) {
    return left + 1s;
  }
};

TEST(Expiry, PerEntryAfterReadSeesWhatIsLeft) {
  prescient::fake_ticker clock;
  using E = prescient::expiring<prescient::fake_ticker, read_extends>;
  prescient::expiring_cache<int, int, prescient::policy::lru, E> c(10, {.ticker = clock});
  c.put(1, 1);
  clock.advance(9s);
  EXPECT_TRUE(c.get(1));  // 1 s left, extended to 2 s
  clock.advance(1s);
  EXPECT_TRUE(c.get(1));  // 1 s left again, now 2 s
  clock.advance(2s);
  EXPECT_FALSE(c.get(1));
}

TEST(Expiry, ExpiredEntriesLeaveBeforeThePolicyIsAskedForAVictim) {
  prescient::fake_ticker clock;
  fake_cache c(3, {.after_write = 10s, .ticker = clock});
  recorder r;
  r.attach(c);
  c.put(1, 1);
  clock.advance(5s);
  c.put(2, 2);
  c.put(3, 3);
  EXPECT_TRUE(c.get(1));  // 1 is the most recent: LRU would evict 2
  clock.advance(5s);      // 1 expires
  c.put(4, 4);
  EXPECT_EQ(r.removed, (std::vector<std::pair<int, removal_cause>>{{1, removal_cause::expired}}));
  EXPECT_EQ(c.stats().evictions, 0u);
  EXPECT_TRUE(c.contains(2));
  EXPECT_EQ(c.check_invariants(), "");
}

TEST(Expiry, SetCapacityAndCleanupExpireFirst) {
  prescient::fake_ticker clock;
  fake_cache c(4, {.after_write = 10s, .ticker = clock});
  for (int k = 0; k < 4; ++k) c.put(k, k);
  clock.advance(10s);
  EXPECT_EQ(c.size(), 4u);  // not yet removed: nothing has run
  c.cleanup();
  EXPECT_EQ(c.size(), 0u);
  for (int k = 0; k < 4; ++k) c.put(k, k);
  clock.advance(10s);
  c.set_capacity(1);
  EXPECT_EQ(c.stats().evictions, 0u);
  EXPECT_EQ(c.stats().expirations, 8u);
}

TEST(RemovalCauses, EveryRemovalIsReportedOnceWithItsCause) {
  prescient::cache<int, int> c(2);
  recorder r;
  r.attach(c);
  c.put(1, 10);
  c.put(1, 11);  // replaced: the old value
  c.put(2, 20);
  c.put(3, 30);  // capacity: 1
  c.erase(2);
  c.put(4, 40);
  c.invalidate(4);
  c.put(5, 50);
  c.clear();
  using v = std::vector<std::pair<int, removal_cause>>;
  EXPECT_EQ(r.removed, (v{{1, removal_cause::replaced},
                          {1, removal_cause::capacity},
                          {2, removal_cause::erased},
                          {4, removal_cause::invalidated},
                          {3, removal_cause::cleared},
                          {5, removal_cause::cleared}}));
  EXPECT_EQ(r.evicted, (v{{1, removal_cause::capacity}}));
  EXPECT_EQ(c.stats().evictions, 1u);
  EXPECT_EQ(c.stats().evicted_weight, 1u);
}

TEST(RemovalCauses, ReplacedSeesTheOldValueAndAThrowChangesNothing) {
  prescient::cache<int, int> c(2);
  std::vector<int> old;
  bool fail = false;
  c.set_removal_listener([&](const int&, const int& v, removal_cause why) {
    if (why != removal_cause::replaced) return;
    if (fail) throw std::runtime_error("listener");
    old.push_back(v);
  });
  c.put(1, 10);
  c.put(1, 11);
  EXPECT_EQ(old, std::vector<int>{10});
  fail = true;
  EXPECT_THROW(c.put(1, 12), std::runtime_error);
  EXPECT_EQ(c.peek(1), 11);
  EXPECT_EQ(c.check_invariants(), "");
}

TEST(RemovalCauses, TooHeavyAndEvictedWeight) {
  struct by_value {
    std::uint64_t operator()(const int&, const int& v) const { return static_cast<std::uint64_t>(v); }
  };
  prescient::cache<int, int, prescient::policy::lru, prescient::hash<int>, std::equal_to<int>, by_value> c(10);
  recorder r;
  r.attach(c);
  c.put(1, 4);
  c.put(2, 4);
  c.put(3, 4);  // evicts 1 (weight 4)
  c.put(2, 11);  // too heavy
  EXPECT_EQ(c.stats().evicted_weight, 4u);
  using v = std::vector<std::pair<int, removal_cause>>;
  EXPECT_EQ(r.evicted, (v{{1, removal_cause::capacity}, {2, removal_cause::too_heavy}}));
}

TEST(Loads, SuccessesFailuresAndTimeOnTheTicker) {
  prescient::fake_ticker clock;
  fake_cache c(10, {.ticker = clock});
  auto slow = [&](const int& k) {
    clock.advance(3ms);
    if (k < 0) throw std::runtime_error("store down");
    return k * 2;
  };
  EXPECT_EQ(c.get_or_load(1, slow), 2);
  EXPECT_EQ(c.get_or_load(1, slow), 2);  // a hit: no load
  EXPECT_THROW((void)c.get_or_load(-1, slow), std::runtime_error);
  EXPECT_EQ(c.stats().load_successes, 1u);
  EXPECT_EQ(c.stats().load_failures, 1u);
  EXPECT_EQ(c.stats().total_load_time, 6'000'000u);
}

TEST(Compute, InsertsUpdatesRemovesAndLeavesEverythingWhenFThrows) {
  prescient::cache<int, int> c(4);
  recorder r;
  r.attach(c);
  auto add = [](int d) {
    return [d](const int&, const int* v) -> std::optional<int> { return v ? *v + d : d; };
  };
  EXPECT_EQ(c.compute(1, add(5)), 5);
  EXPECT_EQ(c.compute(1, add(2)), 7);
  EXPECT_EQ(c.stats().inserts, 1u);
  EXPECT_EQ(c.stats().updates, 1u);
  EXPECT_THROW(c.compute(1, [](const int&, const int*) -> std::optional<int> { throw std::runtime_error("f"); }),
               std::runtime_error);
  EXPECT_EQ(c.peek(1), 7);
  EXPECT_EQ(c.compute(1, [](const int&, const int*) -> std::optional<int> { return std::nullopt; }), std::nullopt);
  EXPECT_FALSE(c.contains(1));
  EXPECT_EQ(c.merge(2, 1, [](const int& a, const int& b) -> std::optional<int> { return a + b; }), 1);
  EXPECT_EQ(c.merge(2, 1, [](const int& a, const int& b) -> std::optional<int> { return a + b; }), 2);
  using v = std::vector<std::pair<int, removal_cause>>;
  EXPECT_EQ(r.removed, (v{{1, removal_cause::replaced}, {1, removal_cause::erased}, {2, removal_cause::replaced}}));
  EXPECT_EQ(c.stats().hits + c.stats().misses, 0u);
  EXPECT_EQ(c.check_invariants(), "");
}

struct batch_loader {
  int calls = 0;
  int batches = 0;
  std::vector<int> asked;
  std::optional<int> operator()(const int& k) {
    ++calls;
    return k >= 100 ? std::nullopt : std::optional<int>(k * 10);
  }
  std::vector<std::optional<int>> load_many(std::span<const int> keys) {
    ++batches;
    asked.assign(keys.begin(), keys.end());
    std::vector<std::optional<int>> out;
    for (int k : keys) out.push_back(k >= 100 ? std::nullopt : std::optional<int>(k * 10));
    return out;
  }
};

TEST(GetAll, LoadsTheMissingKeysInOneBatchEachOnce) {
  prescient::cache<int, int> c(10);
  c.put(1, 1);
  batch_loader l;
  const std::vector<int> keys{1, 2, 3, 2, 100};
  const auto got = c.get_all(keys, l);
  EXPECT_EQ(got, (std::vector<std::optional<int>>{1, 20, 30, 20, std::nullopt}));
  EXPECT_EQ(l.batches, 1);
  EXPECT_EQ(l.calls, 0);
  EXPECT_EQ(l.asked, (std::vector<int>{2, 3, 100}));
  EXPECT_EQ(c.stats().hits, 1u);
  EXPECT_EQ(c.stats().misses, 4u);
  EXPECT_EQ(c.stats().load_successes, 1u);
  EXPECT_EQ(c.peek(2), 20);
  EXPECT_FALSE(c.contains(100));
  // All hits now: no load.
  EXPECT_EQ(c.get_all(std::vector<int>{2, 3}, l), (std::vector<std::optional<int>>{20, 30}));
  EXPECT_EQ(l.batches, 1);
}

TEST(GetAll, ALoaderThatThrowsCachesNothing) {
  prescient::cache<int, int> c(10);
  auto fails = [](const int&) -> int { throw std::runtime_error("down"); };
  EXPECT_THROW((void)c.get_all(std::vector<int>{1, 2}, fails), std::runtime_error);
  EXPECT_EQ(c.size(), 0u);
  EXPECT_EQ(c.stats().load_failures, 1u);
}

TEST(Refresh, ServesTheOldValueAndInstallsTheNewOneSingleFlight) {
  prescient::fake_ticker clock;
  prescient::bounded_executor ex(1, 16);
  fake_cache c(10, {.after_write = 60s, .refresh_after_write = 10s, .ticker = clock});
  recorder r;
  r.attach(c);
  std::atomic<int> version{1};
  std::atomic<int> loads{0};
  c.set_refresher([&](const int& k) { ++loads; return k * 100 + version.load(); }, ex);
  c.put(1, 101);
  clock.advance(10s);
  EXPECT_EQ(c.get(1), 101);  // served at once; a refresh starts
  EXPECT_EQ(c.get(1), 101);  // one in flight: no second
  ex.wait_idle();
  EXPECT_EQ(loads.load(), 1);
  version = 2;
  EXPECT_EQ(c.get(1), 101);  // the refresh (version 1's answer) is installed first: same value
  EXPECT_EQ(c.stats().refreshes, 1u);
  clock.advance(10s);
  EXPECT_EQ(c.get(1), 101);  // written 10 s ago by the refresh: refreshes again
  ex.wait_idle();
  EXPECT_EQ(c.get(1), 102);
  EXPECT_EQ(c.stats().refreshes, 2u);
  // The refresh restarted the write deadline: 60 s from the last refresh.
  clock.advance(55s);
  EXPECT_TRUE(c.peek(1));
  EXPECT_EQ(loads.load(), 2);
  using v = std::vector<std::pair<int, removal_cause>>;
  EXPECT_EQ(r.removed, (v{{1, removal_cause::replaced}, {1, removal_cause::replaced}}));
  EXPECT_EQ(c.check_invariants(), "");
}

TEST(Refresh, AFailedRefreshKeepsTheOldValueAndIsCounted) {
  prescient::fake_ticker clock;
  prescient::bounded_executor ex(1, 16);
  fake_cache c(10, {.refresh_after_write = 10s, .ticker = clock});
  c.set_refresher([](const int&) -> int { throw std::runtime_error("store down"); }, ex);
  c.put(1, 1);
  clock.advance(10s);
  EXPECT_EQ(c.get(1), 1);
  ex.wait_idle();
  EXPECT_EQ(c.get(1), 1);  // the failure is installed: old value kept; a new refresh starts
  EXPECT_EQ(c.stats().refresh_failures, 1u);
  ex.wait_idle();
  c.cleanup();
  EXPECT_EQ(c.stats().refresh_failures, 2u);
  EXPECT_EQ(c.peek(1), 1);
}

TEST(Refresh, AWriteDuringTheRefreshWins) {
  prescient::fake_ticker clock;
  prescient::bounded_executor ex(1, 16);
  fake_cache c(10, {.refresh_after_write = 10s, .ticker = clock});
  std::atomic<bool> go{false};
  c.set_refresher(
      [&](const int&) {
        while (!go.load()) std::this_thread::yield();
        return 999;
      },
      ex);
  c.put(1, 1);
  clock.advance(10s);
  EXPECT_EQ(c.get(1), 1);  // starts a refresh, held until `go`
  c.put(1, 2);             // written while the refresh runs: its answer will be dropped
  go = true;
  ex.wait_idle();
  c.cleanup();
  EXPECT_EQ(c.peek(1), 2);
  EXPECT_EQ(c.stats().refreshes, 0u);
  EXPECT_EQ(c.stats().refresh_failures, 0u);
  // Removed while refreshing: dropped too.
  go = false;
  clock.advance(10s);
  EXPECT_EQ(c.get(1), 2);
  c.erase(1);
  go = true;
  ex.wait_idle();
  c.cleanup();
  EXPECT_FALSE(c.contains(1));
  EXPECT_EQ(c.stats().refreshes, 0u);
}

TEST(Expiry, ThrowingEntryExpiryChangesNothingAtInsert) {
  struct picky {
    prescient::duration after_create(const int& k, const int&, std::uint64_t) {
      if (k < 0) throw std::runtime_error("expiry");
      return 5s;
    }
  };
  prescient::fake_ticker clock;
  using E = prescient::expiring<prescient::fake_ticker, picky>;
  prescient::expiring_cache<int, int, prescient::policy::lru, E> c(1, {.ticker = clock});
  c.put(1, 1);
  EXPECT_THROW(c.put(-1, 1), std::runtime_error);
  EXPECT_TRUE(c.contains(1));
  EXPECT_EQ(c.size(), 1u);
  EXPECT_EQ(c.check_invariants(), "");
}

TEST(Expiry, AThrowingListenerWhileExpiringLeavesTheCacheConsistent) {
  prescient::fake_ticker clock;
  fake_cache c(10, {.after_write = 1s, .ticker = clock});
  int calls = 0;
  c.set_eviction_listener([&](const int&, const int&, removal_cause) {
    if (++calls == 2) throw std::runtime_error("listener");
  });
  for (int k = 0; k < 5; ++k) c.put(k, k);
  clock.advance(1s);
  EXPECT_THROW((void)c.get(0), std::runtime_error);
  EXPECT_EQ(c.check_invariants(), "");
  EXPECT_EQ(c.size(), 3u);
  EXPECT_EQ(c.get(0), std::nullopt);  // the rest go now
  EXPECT_EQ(c.size(), 0u);
  EXPECT_EQ(c.check_invariants(), "");
}

}  // namespace
