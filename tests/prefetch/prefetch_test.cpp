// The successor model and the simulator's prefetch planner: successors are learned and
// forgotten as the stream changes, memory stays bounded, prefetching cuts misses on a
// predictable stream and stays quiet on an unpredictable one.
#include "prescient/prefetch/successors.hpp"

#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "sim/prefetch_replay.hpp"
#include "prescient/trace/next_access.hpp"

namespace {

using namespace prescient;

TEST(SuccessorModel, LearnsWhatFollowsAKeyAndForgetsOverTime) {
  prefetch::successor_model m({.max_keys = 100, .lookahead = 1, .half_life = 500});
  std::vector<prefetch::successor> out;
  std::uint64_t t = 0;
  for (int i = 0; i < 200; ++i) {
    m.record(1, t++);
    m.record(2, t++);  // 2 always follows 1
    m.record(100 + static_cast<std::uint64_t>(i), t++);
  }
  m.predict(1, t, 0.5f, out);
  ASSERT_FALSE(out.empty());
  EXPECT_EQ(out[0].key_hash, 2u);
  EXPECT_GT(out[0].probability, 0.9f);
  // The workload changes: 3 now follows 1. Decay lets 3 overtake 2.
  for (int i = 0; i < 400; ++i) {
    m.record(1, t++);
    m.record(3, t++);
    m.record(1000 + static_cast<std::uint64_t>(i), t++);
  }
  m.predict(1, t, 0.0f, out);
  ASSERT_FALSE(out.empty());
  EXPECT_EQ(out[0].key_hash, 3u);
  for (const auto& s : out) {
    if (s.key_hash == 2) {
      EXPECT_LT(s.probability, 0.1f);
    }
  }
  EXPECT_LE(m.size(), 100u);  // bounded
}

TEST(SuccessorModel, UnrelatedKeysHaveNoConfidentSuccessor) {
  prefetch::successor_model m({.max_keys = 1000, .lookahead = 4, .half_life = 1e6});
  std::mt19937_64 rng(1);
  for (std::uint64_t t = 0; t < 50000; ++t) m.record(rng() % 500, t);
  std::vector<prefetch::successor> out;
  std::size_t confident = 0;
  for (std::uint64_t k = 0; k < 500; ++k) {
    m.predict(k, 50000, 0.4f, out);
    confident += out.size();
  }
  EXPECT_EQ(confident, 0u);
}

std::vector<trace::request> make_trace(bool sequential, std::size_t n, std::uint32_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<trace::request> out;
  while (out.size() < n) {
    if (sequential) {
      // Files read front to back: a random file of 20 blocks out of 300 files.
      const std::uint64_t file = rng() % 300;
      for (std::uint64_t b = 0; b < 20; ++b) out.push_back({.key = file * 100 + b, .size = 1});
    } else {
      out.push_back({.key = rng() % 6000, .size = 1});
    }
  }
  out.resize(n);
  trace::annotate_next_access(out);
  return out;
}

TEST(PrefetchReplay, CutsMissesOnAPredictableStream) {
  const auto reqs = make_trace(true, 60000, 2);
  sim::replay_options ro;
  ro.capacity = 600;
  ro.ignore_size = true;
  for (const char* policy : {"lru", "s3fifo"}) {
    const auto plain = sim::replay(policy, reqs, ro);
    const auto pf = sim::replay_with_prefetch(policy, reqs, ro, {});
    EXPECT_LT(pf.demand.miss_ratio(), 0.7 * plain.miss_ratio()) << policy;
    EXPECT_GT(pf.accuracy(), 0.5) << policy;
    EXPECT_LE(pf.used, pf.issued);
    EXPECT_NEAR(pf.coverage(plain.misses), 1 - pf.demand.miss_ratio() / plain.miss_ratio(), 1e-9);
    EXPECT_EQ(pf.demand.stats.hits + pf.demand.stats.misses, reqs.size());
  }
}

TEST(PrefetchReplay, StaysQuietOnAnUnpredictableStream) {
  const auto reqs = make_trace(false, 60000, 3);
  sim::replay_options ro;
  ro.capacity = 600;
  ro.ignore_size = true;
  const auto plain = sim::replay("lru", reqs, ro);
  const auto pf = sim::replay_with_prefetch("lru", reqs, ro, {.planner = {.candidate_floor = 0.05f, .min_probability = 0.05f}});  // eager on purpose
  EXPECT_LE(pf.demand.miss_ratio(), plain.miss_ratio() * 1.01);
  EXPECT_GT(pf.quiet_skips, pf.issued) << "the planner should notice its prefetches are not used";
}

TEST(PrefetchReplay, HonoursBudgetAndOutstandingCap) {
  const auto reqs = make_trace(true, 20000, 4);
  sim::replay_options ro;
  ro.capacity = 400;
  ro.ignore_size = true;
  sim::prefetch_options po;
  po.planner.budget = 1;
  po.planner.max_outstanding = 1;
  po.delay = 8;  // arrivals lag: the cap binds
  const auto pf = sim::replay_with_prefetch("lru", reqs, ro, po);
  EXPECT_GT(pf.capped, 0u);
  EXPECT_LE(pf.issued, reqs.size());
}

}  // namespace
