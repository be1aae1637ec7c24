// The prefetch planner weighs a candidate against the predicted value of the entry it
// would displace: the policy's predicted gap for its victim, calibrated on what earlier
// prefetches displaced. A victim predicted back soon protects itself; one predicted far
// away does not; a policy without predictions gets the measured overall share.
#include "prescient/prefetch/planner.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <vector>

#include "prescient/cache.hpp"
#include "prescient/concurrent_cache.hpp"
#include "prescient/learn/compiled_forest.hpp"
#include "prescient/policy/learned.hpp"
#include "prescient/policy/lru.hpp"

namespace {

using namespace prescient;
using prefetch::planner;

// 200 entries displaced with a predicted gap of 4 that came back at once, and 200 with a
// predicted gap of 100,000 that never came back.
void calibrate(planner& p, std::uint64_t& now) {
  const auto soon = planner::bucket_of(4.0), far = planner::bucket_of(1e5);
  for (std::uint64_t i = 0; i < 200; ++i) {
    p.displaced(1000 + i, now, soon);
    p.displaced(5000 + i, now, far);
    p.record(1000 + i, now + 2, false);
    now += 3;
  }
}

TEST(PrefetchPlanner, CalibratesThePredictedGapOfWhatItDisplaces) {
  planner p;
  EXPECT_DOUBLE_EQ(p.displaced_value(planner::unpredicted), 0.5) << "nothing displaced yet";
  std::uint64_t now = 0;
  calibrate(p, now);
  EXPECT_GT(p.displaced_value(planner::bucket_of(4.0)), 0.9);
  EXPECT_LT(p.displaced_value(planner::bucket_of(1e5)), 0.1);
  EXPECT_NEAR(p.displaced_value(planner::unpredicted), 0.5, 0.05) << "the overall share";
  EXPECT_EQ(p.counts().displaced, 400u);
  EXPECT_EQ(p.counts().displaced_reused, 200u);
  // Buckets are log2 of the gap; no prediction, a negative or NaN gap: unpredicted.
  EXPECT_EQ(planner::bucket_of(std::nullopt), planner::unpredicted);
  EXPECT_EQ(planner::bucket_of(-1.0), planner::unpredicted);
  EXPECT_EQ(planner::bucket_of(std::numeric_limits<double>::quiet_NaN()), planner::unpredicted);
  EXPECT_NE(planner::bucket_of(4.0), planner::bucket_of(1e5));
  EXPECT_LT(planner::bucket_of(1e300), planner::gap_buckets);
}

TEST(PrefetchPlanner, PrefetchesOnlyOverAVictimPredictedFarAway) {
  planner p;
  std::uint64_t now = 0;
  calibrate(p, now);
  // Key 1 is followed by 2 or by 3, half the time each, then by a key never seen again:
  // p ≈ 0.5 for 2 and for 3.
  for (int i = 0; i < 300; ++i) {
    p.record(1, now++, false);
    p.record(i % 2 == 0 ? 2 : 3, now++, false);
    p.record(100000 + now, now, false);  // an unrelated key
    ++now;
  }
  auto plan_with_victim_gap = [&](std::optional<double> gap) {
    std::vector<std::uint64_t> issued;
    p.record(1, now, false);
    p.plan(
        1, now++, 0, [](std::uint64_t k) { return k == 2 || k == 3; },
        [&](std::uint64_t k, planner::gap_bucket) {
          issued.push_back(k);
          return true;
        },
        [&](std::uint64_t) { return gap; });
    return issued;
  };
  const auto below_before = p.counts().below_value;
  EXPECT_TRUE(plan_with_victim_gap(4.0).empty()) << "the victim is predicted back sooner than the candidates";
  EXPECT_EQ(p.counts().below_value, below_before + 2);
  EXPECT_EQ(plan_with_victim_gap(1e5).size(), 2u) << "the victim is predicted never to come back";
}

// The learned policy names its next victim's predicted gap once it ranks with a model —
// in a cache of 50, whose rankings keep one victim each, the last victim's between
// rankings; the heuristics predict nothing; concurrent_cache reaches a shard's policy.
struct age_predictor {  // predicts the older entry returns later (as LRU would)
  [[nodiscard]] float predict_row(const float* row) const noexcept {
    const float age = row[learn::column::age];
    return std::isnan(age) ? 0.0f : age;
  }
  [[nodiscard]] std::size_t num_features() const noexcept { return learn::feature_count; }
};

TEST(PrefetchPlanner, TheLearnedPolicyPredictsItsVictimsGap) {
  using P = policy::learned<age_predictor>;
  P::config cfg;
  cfg.mode = policy::training_mode::off;
  cfg.model = std::make_shared<const age_predictor>();
  cfg.duel = false;
  cache<std::uint64_t, std::uint64_t, P> c(50, cfg);
  EXPECT_FALSE(prefetch::predicted_victim_gap(c.policy()).has_value()) << "no ranking yet";
  for (std::uint64_t k = 0; k < 200; ++k) c.put(k, k);
  const auto gap = prefetch::predicted_victim_gap(c.policy());
  ASSERT_TRUE(gap.has_value());
  EXPECT_GE(*gap, 0.0);

  cache<std::uint64_t, std::uint64_t, policy::lru> lru(50);
  EXPECT_FALSE(prefetch::predicted_victim_gap(lru.policy()).has_value());

  concurrent_cache<std::uint64_t, std::uint64_t, P> shared(64, {.shards = 4, .policy = cfg});
  for (std::uint64_t k = 0; k < 400; ++k) shared.put(k, k);
  std::size_t predicted = 0;
  for (std::uint64_t k = 0; k < 64; ++k)
    predicted += shared.with_policy_of(k, [](const P& p) { return prefetch::predicted_victim_gap(p); }).has_value();
  EXPECT_GT(predicted, 0u);
}

}  // namespace
