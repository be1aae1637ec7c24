// The learned policy's scale of time for labels and scores (policy/learned/labels.hpp):
// the censoring window, a regression score read back as the gap it labels, the
// classifier's boundary from the misses, and the held-out check's confusion counts on
// rows whose answers are worked out by hand.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <vector>

#include "prescient/learn/features.hpp"
#include "prescient/policy/learned/labels.hpp"

namespace {

using prescient::learn::feature_count;
using prescient::learn::feature_matrix;
using prescient::policy::learned_stats;
using prescient::policy::detail::label_scale;
using prescient::policy::detail::label_scale_config;
using prescient::policy::detail::score_held_out;

label_scale_config regression(double label_unit = 1.0 / 64) { return {6.0, 1.0, label_unit, false, 1.0}; }

TEST(LearnedLabels, TheWindowIsSixTimesTheEntriesAndAtLeast1024Requests) {
  const label_scale s(regression());
  EXPECT_EQ(s.window(100), 1024u);
  EXPECT_EQ(s.window(1000), 6000u);
  const auto lc = s.labels(6000, 1000);
  EXPECT_EQ(lc.window, 6000u);
  EXPECT_EQ(lc.horizon, 1000u);  // horizon_per_entry × entries
  EXPECT_DOUBLE_EQ(lc.unit, 6000.0 / 64);
  EXPECT_DOUBLE_EQ(label_scale(regression(0)).labels(6000, 1000).unit, 1.0);  // a unit of one request
  EXPECT_DOUBLE_EQ(s.labels(1024, 1).unit, 16.0);
  EXPECT_DOUBLE_EQ(s.labels(32, 1).unit, 1.0);  // never below one request
}

TEST(LearnedLabels, ARegressionScoreReadsBackAsTheGapItLabels) {
  label_scale s(regression());
  const double unit = s.labels(6000, 1000).unit;
  s.set_model_unit(unit);
  EXPECT_DOUBLE_EQ(s.model_unit(), unit);
  for (double gap : {1.0, 50.0, 93.75, 4000.0, 11999.0}) {
    const auto score = static_cast<float>(std::log1p(gap / unit));
    EXPECT_NEAR(s.time_to_next(score), gap, gap * 1e-5) << "gap " << gap;
  }
  s.set_model_unit(1.0);  // a model from elsewhere: log1p of the gap in requests
  EXPECT_NEAR(s.time_to_next(static_cast<float>(std::log1p(300.0))), 300.0, 300.0 * 1e-5);
}

TEST(LearnedLabels, TheClassifiersBoundaryIsAnEntrysStayFromTheMissesSinceTheLastTraining) {
  label_scale s({6.0, 1.0, 1.0 / 64, /*classify=*/true, /*boundary_per_entry=*/1.0});
  for (int i = 0; i < 100; ++i) s.miss();
  s.set_boundary(1000, 50);  // 100 misses in 1,000 requests: 50 entries stay 500 requests
  EXPECT_EQ(s.boundary(), 500u);
  const auto lc = s.labels(300, 50);
  EXPECT_EQ(lc.window, 500u);  // at least the boundary
  EXPECT_EQ(lc.horizon, 500u);
  // A chance of 1 − e^(−1) of a request within 500 requests reads as a gap of 500.
  EXPECT_NEAR(s.time_to_next(static_cast<float>(1 - std::exp(-1.0))), 500.0, 0.01);
  EXPECT_GT(s.time_to_next(0.1f), s.time_to_next(0.9f));  // less likely: farther
  s.set_boundary(2000, 50);  // no miss since: the miss ratio's floor, 1e-3
  EXPECT_EQ(s.boundary(), 50'000u);
}

// Scores a row by its first column.
struct first_column {
  [[nodiscard]] float predict_row(const float* row) const { return row[0]; }
};

TEST(LearnedLabels, TheHeldOutCheckCountsReuseAsPredictedAgainstWhatHappened) {
  feature_matrix x(10, static_cast<Eigen::Index>(feature_count));
  x.setZero();
  const std::vector<float> scores = {1, 5, 2, 6, 3, 7, 4, 8, 9, 0};
  const std::vector<std::uint8_t> reused = {1, 0, 1, 1, 0, 0, 1, 0, 0, 1};
  for (Eigen::Index r = 0; r < 10; ++r) x(r, 0) = scores[static_cast<std::size_t>(r)];
  // Regression: predicted reused when the score (a gap) is at most the threshold, 3.
  learned_stats all;
  score_held_out(first_column{}, x, reused, 3.0f, false, 8192, all);
  // rows predicted reused: scores 1, 2, 3, 0 (rows 0, 2, 4, 9): reused 1, 1, 0, 1.
  EXPECT_EQ(all.true_positives, 3u);
  EXPECT_EQ(all.false_positives, 1u);
  EXPECT_EQ(all.false_negatives, 2u);  // rows 3 and 6
  EXPECT_EQ(all.true_negatives, 4u);
  // At most 5 rows: every second one (rows 0, 2, 4, 6, 8).
  learned_stats spread;
  score_held_out(first_column{}, x, reused, 3.0f, false, 5, spread);
  EXPECT_EQ(spread.true_positives + spread.false_positives + spread.false_negatives + spread.true_negatives, 5u);
  EXPECT_EQ(spread.true_positives, 2u);   // rows 0 and 2
  EXPECT_EQ(spread.false_positives, 1u);  // row 4
  EXPECT_EQ(spread.false_negatives, 1u);  // row 6
  EXPECT_EQ(spread.true_negatives, 1u);   // row 8
  // Classification: predicted reused when the chance is at least one half.
  feature_matrix p(2, static_cast<Eigen::Index>(feature_count));
  p.setZero();
  p(0, 0) = 0.7f;
  p(1, 0) = 0.2f;
  learned_stats c;
  score_held_out(first_column{}, p, std::vector<std::uint8_t>{1, 1}, 0.0f, true, 8192, c);
  EXPECT_EQ(c.true_positives, 1u);
  EXPECT_EQ(c.false_negatives, 1u);
}

}  // namespace
