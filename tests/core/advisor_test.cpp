// policy_advisor: the miniature simulation's curves track full simulation on a
// synthetic skewed stream, fixed-size sampling bounds memory, and bad configs are
// refused.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "prescient/advisor.hpp"
#include "prescient/cache.hpp"
#include "prescient/policy/registry.hpp"

namespace {

// A stream over 200,000 keys, skewed by a power of a uniform (no single key carries more
// than a fraction of a percent of the requests, as in real traces: spatial sampling
// cannot estimate a stream dominated by one key), with a scan now and
// then (so that policies differ).
std::vector<std::uint64_t> stream(std::size_t n, std::uint32_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(0, 1);
  std::vector<std::uint64_t> keys;
  keys.reserve(n);
  std::uint64_t scan = 1'000'000;
  for (std::size_t i = 0; i < n; ++i) {
    if (i % 50'000 < 3'000) keys.push_back(scan++);
    else keys.push_back(static_cast<std::uint64_t>(200'000 * std::pow(u(rng), 1.6)));
  }
  return keys;
}

double exact_miss_ratio(const std::string& policy, const std::vector<std::uint64_t>& keys, std::uint64_t size) {
  prescient::cache<std::uint64_t, int, prescient::policy::any_policy> c(size, {.name = policy, .params = ""});
  std::uint64_t misses = 0;
  for (auto k : keys) misses += c.get_or_insert(k, [] { return 0; }) ? 0 : 1;
  return double(misses) / double(keys.size());
}

TEST(PolicyAdvisor, CurvesTrackFullSimulation) {
  const auto keys = stream(2'000'000, 11);
  prescient::advisor_config cfg;
  cfg.sample_rate = 0.02;
  cfg.policies = {"lru", "fifo", "s3fifo", "sieve"};
  cfg.sizes = {2'000, 10'000, 40'000};
  prescient::policy_advisor advisor(cfg);
  for (auto k : keys) advisor.record(k);
  EXPECT_NEAR(double(advisor.sampled_requests()) / double(keys.size()), 0.02, 0.004);
  double total_error = 0;
  int points = 0;
  for (const auto& p : cfg.policies) {
    const auto curve = advisor.curve(p);
    ASSERT_EQ(curve.size(), 3u);
    for (const auto& pt : curve) {
      const double exact = exact_miss_ratio(p, keys, pt.size);
      EXPECT_NEAR(pt.miss_ratio, exact, 0.05) << p << " at " << pt.size;
      total_error += std::abs(pt.miss_ratio - exact);
      ++points;
    }
    // A miss-ratio curve falls as the cache grows.
    EXPECT_GT(curve[0].miss_ratio, curve[2].miss_ratio) << p;
  }
  EXPECT_LT(total_error / points, 0.02);
}

TEST(PolicyAdvisor, AnswersTheTwoQuestions) {
  const auto keys = stream(1'000'000, 5);
  prescient::advisor_config cfg;
  cfg.sample_rate = 0.05;
  cfg.policies = {"fifo", "s3fifo"};
  cfg.sizes = {1'000, 5'000, 20'000, 80'000};
  prescient::policy_advisor advisor(cfg);
  for (auto k : keys) advisor.record(k);
  // S3-FIFO resists the scans that FIFO does not.
  EXPECT_EQ(advisor.best_policy(20'000), "s3fifo");
  const auto c = advisor.curve("s3fifo");
  const double target = c[2].miss_ratio + 1e-9;
  EXPECT_EQ(advisor.smallest_size_for("s3fifo", target), 20'000u);
  EXPECT_FALSE(advisor.smallest_size_for("s3fifo", -1.0).has_value());
  // Interpolation lies between its neighbours.
  const double mid = advisor.miss_ratio("s3fifo", 12'500);
  EXPECT_LE(mid, c[1].miss_ratio);
  EXPECT_GE(mid, c[2].miss_ratio);
}

TEST(PolicyAdvisor, FixedSizeSamplingBoundsTrackedKeys) {
  const auto keys = stream(1'000'000, 7);
  prescient::advisor_config cfg;
  cfg.sample_rate = 0.5;
  cfg.max_tracked_keys = 2'000;
  cfg.policies = {"lru"};
  cfg.sizes = {5'000, 20'000};
  prescient::policy_advisor advisor(cfg);
  for (auto k : keys) advisor.record(k);
  EXPECT_LE(advisor.tracked_keys(), 2'000u);
  EXPECT_LT(advisor.sample_rate(), 0.5);
  EXPECT_GT(advisor.sample_rate(), 0.001);
  for (const auto& pt : advisor.curve("lru"))
    EXPECT_NEAR(pt.miss_ratio, exact_miss_ratio("lru", keys, pt.size), 0.06) << pt.size;
}

TEST(PolicyAdvisor, RefusesBadConfigs) {
  prescient::advisor_config cfg;
  cfg.sizes = {100};
  cfg.sample_rate = 0;
  EXPECT_THROW(prescient::policy_advisor{cfg}, std::invalid_argument);
  cfg.sample_rate = 0.01;
  cfg.sizes.clear();
  EXPECT_THROW(prescient::policy_advisor{cfg}, std::invalid_argument);
  cfg.sizes = {100};
  cfg.policies = {"nope"};
  EXPECT_THROW(prescient::policy_advisor{cfg}, prescient::policy::config_error);
  cfg.policies = {"lru"};
  prescient::policy_advisor ok(cfg);
  EXPECT_THROW((void)ok.curve("fifo"), std::invalid_argument);
}

}  // namespace
