// concurrent_cache with time, from many threads (the single-threaded answers are
// checked against a reference in concurrent_expiry_model_test): readers on the lock-free
// path never see a value past its deadline while the fake clock moves; get_all from
// several threads with overlapping keys loads each key once; a get_all whose loader
// throws wakes every caller waiting for its keys with the exception; a stale entry read
// from many threads at once starts one background reload and is served meanwhile. Run
// it under the tsan and asan-ubsan presets as well.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <span>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "prescient/concurrent_cache.hpp"
#include "prescient/executor.hpp"
#include "prescient/expiry.hpp"
#include "prescient/policy/lru.hpp"
#include "prescient/policy/s3fifo.hpp"
#include "prescient/policy/sieve.hpp"
#include "test_support.hpp"

namespace {

using namespace std::chrono_literals;
using u64 = std::uint64_t;
using prescient::fake_ticker;
using prescient::test::eventually;

constexpr u64 ttl_ns = 5'000'000;  // 5 ms of fake time

// The value of a key written at fake time t: t itself, in a string long enough to live
// on the heap (a torn or freed value would not parse back).
std::string stamp(u64 t) { return std::to_string(t) + std::string(32, '.'); }
u64 stamp_of(const std::string& v) { return std::stoull(v); }

// One thread writes (value = the fake time of the write) and is the only one to move
// the clock, so an entry's deadline is exactly its value + its time to live. Readers
// read the clock BEFORE each lookup: an answer whose deadline is at or before that
// time was expired when the lookup ran, and must not be returned.
template <class Policy, class Expiry, class Options>
void readers_never_see_expired(Options opts, bool per_key_ttl) {
  fake_ticker clock(1'000'000'000);
  opts.ticker = clock;
  opts.shards = 2;
  prescient::concurrent_cache<u64, std::string, Policy, prescient::hash<u64>, std::equal_to<u64>,
                              prescient::unit_weigher, std::mutex, Expiry>
      c(512, opts);
  std::atomic<u64> expired_removals{0};
  c.set_removal_listener([&](const u64&, const std::string&, prescient::removal_cause why) {
    if (why == prescient::removal_cause::expired) expired_removals.fetch_add(1, std::memory_order_relaxed);
  });
  const auto ttl_of = [&](u64 k) { return per_key_ttl ? ttl_ns * (1 + k % 3) : ttl_ns; };
  constexpr u64 keys = 256;
  constexpr int readers = 3;
  std::atomic<bool> stop{false};
  std::atomic<u64> bad{0}, hits{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < readers; ++t) {
    pool.emplace_back([&, t] {
      std::mt19937_64 rng(static_cast<u64>(t) + 11);
      while (!stop.load(std::memory_order_relaxed)) {
        const u64 k = rng() % keys;
        const u64 before = clock();
        const auto check = [&](const std::string& v) {
          hits.fetch_add(1, std::memory_order_relaxed);
          if (stamp_of(v) + ttl_of(k) <= before) bad.fetch_add(1, std::memory_order_relaxed);
        };
        switch (rng() % 4) {
          case 0:
          case 1:
            if (auto v = c.get(k)) check(*v);
            break;
          case 2:
            c.visit(k, check);
            break;
          default:
            if (auto v = c.peek(k)) check(*v);
            break;
        }
      }
    });
  }
  std::mt19937_64 rng(5);
  // On a busy machine the writer's 60,000 operations can end before the readers are
  // scheduled at all (78 answers checked, in one CI run): it goes on until they have
  // checked 2,000 (at most a hundred times as long), so that reads always meet writes.
  for (int i = 0; i < 60'000 || (hits.load(std::memory_order_relaxed) < 2'000 && i < 6'000'000); ++i) {
    const u64 k = rng() % keys;
    if (rng() % 4 == 0) c.put(k, stamp(clock()));
    if (rng() % 3 == 0) clock.advance(std::chrono::nanoseconds(rng() % 200'000));
    if (i % 1024 == 0) std::this_thread::yield();
  }
  stop = true;
  for (auto& th : pool) th.join();
  EXPECT_EQ(bad.load(), 0u) << "expired values returned";
  EXPECT_GT(hits.load(), 1000u);
  EXPECT_GT(expired_removals.load(), 100u);
  EXPECT_EQ(c.check_invariants(), "");
}

TEST(ConcurrentExpiry, ReadersNeverSeeExpiredAfterWrite) {
  using E = prescient::expiring<fake_ticker>;
  using C = prescient::concurrent_cache<u64, std::string, prescient::policy::lru, prescient::hash<u64>,
                                        std::equal_to<u64>, prescient::unit_weigher, std::mutex, E>;
  typename C::options o{};
  o.after_write = std::chrono::nanoseconds(ttl_ns);
  readers_never_see_expired<prescient::policy::lru, E>(o, false);
}

TEST(ConcurrentExpiry, ReadersNeverSeeExpiredPerEntryS3Fifo) {
  auto by_key = prescient::ttl_by([](const u64& k, const std::string&) { return std::chrono::nanoseconds(ttl_ns * (1 + k % 3)); });
  using E = prescient::expiring<fake_ticker, decltype(by_key)>;
  using C = prescient::concurrent_cache<u64, std::string, prescient::policy::s3fifo, prescient::hash<u64>,
                                        std::equal_to<u64>, prescient::unit_weigher, std::mutex, E>;
  typename C::options o{.entry = by_key};
  readers_never_see_expired<prescient::policy::s3fifo, E>(o, true);
}

// A loader counting its calls per key; load_many sleeps a little so batches overlap.
struct counting_loader {
  std::shared_ptr<std::vector<std::atomic<int>>> calls;
  u64 operator()(const u64& k) const {
    (*calls)[k].fetch_add(1);
    return k * 10;
  }
  std::vector<std::optional<u64>> load_many(std::span<const u64> ks) const {
    std::this_thread::sleep_for(1ms);
    std::vector<std::optional<u64>> out;
    for (const u64 k : ks) {
      (*calls)[k].fetch_add(1);
      out.emplace_back(k * 10);
    }
    return out;
  }
};

TEST(ConcurrentExpiry, GetAllFromManyThreadsLoadsEachKeyOnce) {
  constexpr u64 keys = 96;
  for (int round = 0; round < 20; ++round) {
    prescient::concurrent_cache<u64, u64> c(1024, {.shards = 4});
    counting_loader load{std::make_shared<std::vector<std::atomic<int>>>(keys)};
    std::atomic<int> wrong{0};
    std::vector<std::thread> pool;
    for (int t = 0; t < 4; ++t) {
      pool.emplace_back([&, t] {
        std::mt19937_64 rng(static_cast<u64>(round * 31 + t));
        for (int rep = 0; rep < 4; ++rep) {
          std::vector<u64> ks;
          for (int i = 0; i < 24; ++i) ks.push_back(rng() % keys);
          if (t == 3 && rep % 2 == 1) {  // get_or_load joins the same flights
            for (const u64 k : ks) wrong += c.get_or_load(k, load) != std::optional<u64>(k * 10);
            continue;
          }
          const auto got = c.get_all(ks, load);
          for (std::size_t i = 0; i < ks.size(); ++i) wrong += got[i] != std::optional<u64>(ks[i] * 10);
        }
      });
    }
    for (auto& th : pool) th.join();
    EXPECT_EQ(wrong.load(), 0);
    for (u64 k = 0; k < keys; ++k) ASSERT_LE((*load.calls)[k].load(), 1) << "key " << k << ", round " << round;
    EXPECT_EQ(c.loads_in_flight(), 0u);
    const auto l = c.load_stats();
    u64 loaded = 0;
    for (u64 k = 0; k < keys; ++k) loaded += static_cast<u64>((*load.calls)[k].load());
    EXPECT_EQ(l.loads, loaded);
    EXPECT_EQ(c.stats().load_successes, l.successes);
  }
}

struct store_down : std::runtime_error {
  using std::runtime_error::runtime_error;
};

TEST(ConcurrentExpiry, GetAllThatThrowsWakesEveryWaiter) {
  prescient::concurrent_cache<u64, u64> c(1024, {.shards = 4});
  std::atomic<bool> started{false};
  constexpr int waiters = 4;  // 3 get_or_load, 1 get_all
  struct throwing {
    prescient::concurrent_cache<u64, u64>* c;
    std::atomic<bool>* started;
    u64 operator()(const u64&) const { throw store_down("down"); }
    std::vector<std::optional<u64>> load_many(std::span<const u64>) const {
      started->store(true);
      // Every waiter has joined a load of this batch before it fails.
      if (!eventually([&] { return c->load_stats().coalesced >= waiters; })) ADD_FAILURE() << "waiters did not join";
      throw store_down("down");
    }
  };
  std::atomic<int> woken_with_error{0};
  std::thread leader([&] {
    try {
      (void)c.get_all(std::vector<u64>{1, 2, 3, 4}, throwing{&c, &started});
    } catch (const store_down&) {
      ++woken_with_error;
    }
  });
  ASSERT_TRUE(eventually([&] { return started.load(); }));
  std::vector<std::thread> pool;
  for (int t = 0; t < waiters - 1; ++t) {
    pool.emplace_back([&, t] {
      try {
        (void)c.get_or_load(static_cast<u64>(t + 1), [](const u64& k) { return k; });
      } catch (const store_down&) {
        ++woken_with_error;
      }
    });
  }
  pool.emplace_back([&] {
    try {  // key 4 is loading; key 9 is this call's own load, which succeeds
      (void)c.get_all(std::vector<u64>{9, 4}, [](const u64& k) { return k; });
    } catch (const store_down&) {
      ++woken_with_error;
    }
  });
  leader.join();
  for (auto& th : pool) th.join();
  EXPECT_EQ(woken_with_error.load(), waiters + 1);
  EXPECT_EQ(c.loads_in_flight(), 0u);
  EXPECT_EQ(c.peek(9), std::optional<u64>(9));  // the waiting get_all's own load was cached
  for (u64 k = 1; k <= 4; ++k) EXPECT_FALSE(c.contains(k));
  EXPECT_EQ(c.stats().load_failures, 1u);
  // The next read loads again.
  EXPECT_EQ(c.get_or_load(2, [](const u64& k) { return k * 2; }), std::optional<u64>(4));
}

TEST(ConcurrentExpiry, StaleEntryReadFromManyThreadsRefreshesOnce) {
  fake_ticker clock(1'000'000'000);
  using E = prescient::expiring<fake_ticker>;
  using C = prescient::concurrent_cache<u64, u64, prescient::policy::lru, prescient::hash<u64>, std::equal_to<u64>,
                                        prescient::unit_weigher, std::mutex, E>;
  C::options o{};
  o.shards = 2;
  o.after_write = 10s;
  o.refresh_after_write = 1s;
  o.ticker = clock;
  C c(64, o);
  prescient::bounded_executor executor(2, 64);
  std::atomic<int> calls{0};
  std::atomic<bool> release{false};
  c.set_refresher(
      [&](const u64& k) -> std::optional<u64> {
        ++calls;
        while (!release.load()) std::this_thread::yield();
        if (k == 2) throw store_down("down");
        return k + 1000;
      },
      executor);
  c.put(1, 1);
  c.put(2, 2);
  clock.advance(2s);
  std::atomic<int> wrong{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < 4; ++t)
    pool.emplace_back([&] {
      for (int i = 0; i < 2000; ++i) {
        wrong += c.get(1) != std::optional<u64>(1);  // served at once, the old value
        wrong += c.get(2) != std::optional<u64>(2);
      }
    });
  for (auto& th : pool) th.join();
  EXPECT_EQ(wrong.load(), 0);
  // One reload per key (the executor's two threads each hold one until released).
  EXPECT_TRUE(eventually([&] { return calls.load() == 2; }));
  EXPECT_EQ(calls.load(), 2);
  release = true;
  executor.wait_idle();
  EXPECT_EQ(c.get(1), std::optional<u64>(1001));  // installed at the start of this read
  EXPECT_EQ(c.get(2), std::optional<u64>(2));     // the failed refresh kept the old value
  const auto s = c.stats();
  EXPECT_EQ(s.refreshes, 1u);
  EXPECT_EQ(s.refresh_failures, 1u);
  // That read of key 2 started its refresh again; once it is installed nothing is in flight.
  executor.wait_idle();
  c.cleanup();
  EXPECT_EQ(c.stats().refresh_failures, 2u);
  EXPECT_EQ(c.loads_in_flight(), 0u);
}

// after_access without an entry expiry: hits store an access stamp and take no lock
// (cache.hpp, "Access stamps"). A mutex that counts how often it is taken tells.
struct counting_mutex {
  static inline std::atomic<u64> taken{0};
  void lock() {
    taken.fetch_add(1, std::memory_order_relaxed);
    m.lock();
  }
  bool try_lock() {
    const bool got = m.try_lock();
    if (got) taken.fetch_add(1, std::memory_order_relaxed);
    return got;
  }
  void unlock() { m.unlock(); }
  std::mutex m;
};

template <class Entry>
using counted_cache = prescient::concurrent_cache<u64, u64, prescient::policy::sieve, prescient::hash<u64>,
                                                  std::equal_to<u64>, prescient::unit_weigher, counting_mutex,
                                                  prescient::expiring<fake_ticker, Entry>>;

// Two shards on `clock`, entries expiring 5 ms after their last read or write.
counted_cache<prescient::no_entry_expiry>::options after_access_5ms(const fake_ticker& clock) {
  counted_cache<prescient::no_entry_expiry>::options o{};
  o.shards = 2;
  o.after_access = 5ms;
  o.ticker = clock;
  return o;
}

TEST(ConcurrentExpiry, AfterAccessHitsTakeNoLock) {
  fake_ticker clock(0);
  counted_cache<prescient::no_entry_expiry> c(64, after_access_5ms(clock));
  for (u64 k = 0; k < 32; ++k) c.put(k, k);
  clock.advance(4ms);
  const u64 before = counting_mutex::taken.load();  // the clock passed no deadline: lock-free
  for (int round = 0; round < 100; ++round)
    for (u64 k = 0; k < 16; ++k) ASSERT_EQ(c.get(k), k);
  EXPECT_EQ(counting_mutex::taken.load() - before, 0u) << "after_access hits took a shard's lock";
  // The stamps moved the deadlines of keys 0-15 to 9 ms; 16-31 expire at 5 ms. Past 5 ms
  // the first hit of each shard takes the lock once (next_due, the wheel's lower bound,
  // came due), re-checks the stamps and puts 0-15 back in the wheel.
  clock.advance(2ms);
  for (u64 k = 0; k < 16; ++k) EXPECT_EQ(c.get(k), k) << "key " << k << " was read at 4 ms";
  for (u64 k = 16; k < 32; ++k) EXPECT_FALSE(c.peek(k).has_value()) << "key " << k << " was last written at 0";
  c.cleanup();
  EXPECT_EQ(c.size(), 16u);
  EXPECT_EQ(c.stats().expirations, 16u);
  const u64 after_recheck = counting_mutex::taken.load();
  for (u64 k = 0; k < 16; ++k) ASSERT_EQ(c.get(k), k);
  EXPECT_EQ(counting_mutex::taken.load() - after_recheck, 0u) << "re-checked deadlines left the hits locked";
  clock.advance(6ms);  // 12 ms: read last at 6 ms, so due at 11 ms
  c.cleanup();
  EXPECT_EQ(c.size(), 0u);
  EXPECT_EQ(c.check_invariants(), "");
}

// A read rule may shorten a deadline, which only the wheel can hold: those hits lock.
struct keep_on_read {
  prescient::duration after_read(const u64&, const u64&, u64, prescient::duration left) { return left; }
};
TEST(ConcurrentExpiry, ReadRuleHitsTakeTheLock) {
  fake_ticker clock(0);
  typename counted_cache<keep_on_read>::options o{};
  o.shards = 2;
  o.after_write = 5ms;
  o.ticker = clock;
  counted_cache<keep_on_read> c(64, o);
  for (u64 k = 0; k < 16; ++k) c.put(k, k);
  const u64 before = counting_mutex::taken.load();
  for (u64 k = 0; k < 16; ++k) ASSERT_EQ(c.get(k), k);
  EXPECT_GE(counting_mutex::taken.load() - before, 16u);
}

// Three readers hit 16 hot keys of an after_access cache, racing each other's stamps,
// while this thread moves the fake clock 1 ms at a time, only after every reader has
// made a whole pass over the hot keys since the last move: so every hot key is read
// within each 5 ms and must never expire or miss; the cold keys, never read, expire.
TEST(ConcurrentExpiry, RacingAccessStampsKeepHotEntries) {
  fake_ticker clock(0);
  counted_cache<prescient::no_entry_expiry> c(512, after_access_5ms(clock));
  constexpr u64 hot = 16, cold = 200;
  for (u64 k = 0; k < hot + cold; ++k) c.put(k, k);
  constexpr int readers = 3;
  std::atomic<bool> stop{false};
  std::atomic<u64> misses{0};
  std::vector<std::atomic<u64>> passes(readers);
  std::vector<std::thread> pool;
  for (int t = 0; t < readers; ++t)
    pool.emplace_back([&, t] {
      while (!stop.load(std::memory_order_relaxed)) {
        for (u64 k = 0; k < hot; ++k) {
          const auto v = c.get((k + static_cast<u64>(t) * 5) % hot);
          if (!v) misses.fetch_add(1, std::memory_order_relaxed);
        }
        passes[static_cast<std::size_t>(t)].fetch_add(1, std::memory_order_release);
      }
    });
  for (int step = 0; step < 200; ++step) {
    std::vector<u64> seen(readers);
    for (int t = 0; t < readers; ++t) seen[static_cast<std::size_t>(t)] = passes[static_cast<std::size_t>(t)].load();
    for (int t = 0; t < readers; ++t)  // two more passes: one began after the last move
      while (passes[static_cast<std::size_t>(t)].load(std::memory_order_acquire) < seen[static_cast<std::size_t>(t)] + 2)
        std::this_thread::yield();
    clock.advance(1ms);
  }
  stop = true;
  for (auto& th : pool) th.join();
  c.cleanup();
  EXPECT_EQ(misses.load(), 0u) << "a hot key, read every millisecond, expired";
  EXPECT_EQ(c.size(), hot);
  EXPECT_EQ(c.stats().expirations, cold);
  EXPECT_EQ(c.check_invariants(), "");
}

}  // namespace
