// prescient-sim --ttl: the replay engine with a time to live. With a capacity that never
// fills, a request hits exactly when its key was inserted (its last miss) fewer than
// ttl requests ago — checked against that rule computed here, request by request, for
// time in requests and for the trace's own timestamps; with a ttl longer than the trace
// the figures are those of a replay without expiry.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <unordered_map>
#include <vector>

#include "sim/replay.hpp"

namespace {

std::vector<prescient::trace::request> trace(std::size_t n, std::uint64_t keys, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<prescient::trace::request> out(n);
  std::uint64_t t = 1'000;
  for (auto& r : out) {
    r.key = std::min(rng() % keys, rng() % keys);
    t += rng() % 5;  // timestamps with ties and gaps
    r.time = t;
  }
  return out;
}

// Misses of an unbounded cache whose entries expire ttl after their insert.
std::uint64_t expected_misses(const std::vector<prescient::trace::request>& reqs, std::uint64_t ttl, bool trace_time) {
  std::unordered_map<std::uint64_t, std::uint64_t> inserted;  // key → time of its insert
  std::uint64_t misses = 0, now = 0;
  for (const auto& r : reqs) {
    now = trace_time ? r.time : now + 1;
    auto it = inserted.find(r.key);
    if (it != inserted.end() && it->second + ttl > now) continue;  // a hit
    ++misses;
    inserted[r.key] = now;
  }
  return misses;
}

TEST(SimTtl, AnUnboundedCacheMissesExactlyWhenTheEntryExpired) {
  const auto reqs = trace(20'000, 500, 3);
  for (const bool trace_time : {false, true}) {
    for (const std::uint64_t ttl : {1u, 7u, 100u, 1'000u}) {
      prescient::sim::replay_options opt;
      opt.capacity = 1'000;  // more than the keys: nothing is evicted
      opt.ignore_size = true;
      opt.ttl = ttl;
      opt.ttl_trace_time = trace_time;
      for (const char* policy : {"lru", "fifo", "s3fifo", "sieve"}) {
        const auto r = prescient::sim::replay(policy, reqs, opt);
        EXPECT_EQ(r.misses, expected_misses(reqs, ttl, trace_time))
            << policy << " ttl " << ttl << (trace_time ? " (trace time)" : " (requests)");
        EXPECT_EQ(r.stats.evictions, 0u) << policy;
        EXPECT_EQ(r.stats.inserts, r.misses) << policy;
      }
    }
  }
}

TEST(SimTtl, ATimeToLiveLongerThanTheTraceChangesNothing) {
  const auto reqs = trace(20'000, 2'000, 5);
  prescient::sim::replay_options opt;
  opt.capacity = 300;
  opt.ignore_size = true;
  for (const char* policy : {"lru", "fifo", "lfu", "arc", "s3fifo", "sieve", "wtinylfu"}) {
    const auto plain = prescient::sim::replay(policy, reqs, opt);
    auto timed = opt;
    timed.ttl = 1'000'000;
    const auto with_ttl = prescient::sim::replay(policy, reqs, timed);
    EXPECT_EQ(with_ttl.misses, plain.misses) << policy;
    EXPECT_EQ(with_ttl.stats.evictions, plain.stats.evictions) << policy;
    EXPECT_EQ(with_ttl.stats.expirations, 0u) << policy;
    // A short one expires entries, and the replay says how many.
    timed.ttl = 200;
    const auto short_ttl = prescient::sim::replay(policy, reqs, timed);
    EXPECT_GT(short_ttl.stats.expirations, 0u) << policy;
    EXPECT_NE(short_ttl.misses, plain.misses) << policy;
  }
}

}  // namespace
