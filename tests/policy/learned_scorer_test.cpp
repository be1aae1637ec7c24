// The learned policy's scorer (policy/learned/scorer.hpp): the selection a ranking uses,
// and the screen — every row through the first trees, the rest of the trees only for
// the rows that could still be victims — checked against one-pass scores of the same
// forest on random rows.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <random>
#include <vector>

#include "prescient/learn/forest_trainer.hpp"
#include "prescient/policy/learned/scorer.hpp"

namespace {

using prescient::learn::compiled_forest;
using prescient::learn::feature_count;
using prescient::learn::feature_matrix;
using prescient::policy::detail::screen_settings;
using prescient::policy::detail::screened_scorer;
using prescient::policy::detail::select_farthest;

// A forest of the policy's shape (24 trees of depth 3), trained on random rows whose
// label is a sum of a few columns, so its trees split on many columns.
compiled_forest trained_forest(bool classify) {
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<float> u(0.0f, 10.0f);
  feature_matrix x(4000, static_cast<Eigen::Index>(feature_count));
  std::vector<float> y(4000);
  for (Eigen::Index r = 0; r < x.rows(); ++r) {
    for (Eigen::Index c = 0; c < x.cols(); ++c) x(r, c) = u(rng);
    const float v = x(r, 0) + 0.5f * x(r, 3) - x(r, 5) + 0.3f * x(r, 7) + u(rng) * 0.2f;
    y[static_cast<std::size_t>(r)] = classify ? (v > 4.0f ? 1.0f : 0.0f) : v;
  }
  auto p = prescient::learn::online_training_params();
  p.min_child_weight = 20;
  if (classify) p.objective = "binary:logistic";
  return prescient::learn::xgboost_predictor::train(x, y, p).compile();
}

// The reference selection: the n farthest by a stable sort (ties: the earlier first).
template <class Farther>
std::vector<std::uint32_t> reference_farthest(std::size_t count, std::size_t n, Farther farther) {
  std::vector<std::uint32_t> all(count);
  std::iota(all.begin(), all.end(), 0u);
  std::stable_sort(all.begin(), all.end(), farther);
  all.resize(std::min(n, count));
  return all;
}

TEST(LearnedScorer, SelectFarthestKeepsTheFarthestAndTheEarlierOfTies) {
  std::mt19937_64 rng(1);
  std::vector<std::uint32_t> order;
  order.reserve(65);
  for (int round = 0; round < 500; ++round) {
    const std::size_t count = rng() % 64 + 1, n = rng() % 10;
    std::vector<int> value(count);
    for (auto& v : value) v = static_cast<int>(rng() % 8);  // many ties
    const auto farther = [&](std::uint32_t a, std::uint32_t b) { return value[a] > value[b]; };
    select_farthest(order, count, n, farther);
    EXPECT_EQ(order, reference_farthest(count, n, farther)) << "round " << round;
  }
}

// Random rows: uniform values, and some missing (a key without a second gap).
void fill_rows(screened_scorer<compiled_forest>& s, std::size_t m, std::mt19937_64& rng) {
  std::uniform_real_distribution<float> u(0.0f, 10.0f);
  for (std::size_t j = 0; j < m; ++j)
    for (std::size_t c = 0; c < feature_count; ++c)
      s.row(j)[c] = rng() % 8 == 0 ? std::numeric_limits<float>::quiet_NaN() : u(rng);
}

TEST(LearnedScorer, ScreenedRowsKeepTheOnePassScoreOfTheFarthest) {
  for (const bool classify : {false, true}) {
    const compiled_forest forest = trained_forest(classify);
    ASSERT_EQ(forest.num_trees(), 24u);
    screened_scorer<compiled_forest> scorer(64);
    std::mt19937_64 rng(classify ? 3 : 2);
    for (int round = 0; round < 200; ++round) {
      const std::size_t m = rng() % 64 + 1, keep = rng() % 12 + 1;
      fill_rows(scorer, m, rng);
      const screen_settings screen{8, keep, classify};
      const std::size_t completed = scorer.score(forest, m, screen);
      ASSERT_EQ(completed, std::min(keep, m));
      // The completed rows are exactly the farthest by the first 8 trees' partial sums,
      // and their scores equal the whole forest's, bit for bit.
      std::vector<float> partial(m), whole(m);
      for (std::size_t j = 0; j < m; ++j) {
        partial[j] = forest.accumulate(scorer.row(j), forest.base_margin(), 0, 8);
        whole[j] = forest.predict_row(scorer.row(j));
      }
      const auto farther = [&](std::uint32_t a, std::uint32_t b) {
        return classify ? partial[a] < partial[b] : partial[a] > partial[b];
      };
      const auto expected = reference_farthest(m, keep, farther);
      std::size_t complete = 0;
      for (std::size_t j = 0; j < m; ++j) {
        const bool chosen = std::find(expected.begin(), expected.end(), j) != expected.end();
        EXPECT_EQ(scorer.complete(j), chosen) << "round " << round << " row " << j;
        if (scorer.complete(j)) {
          ++complete;
          EXPECT_EQ(scorer.score(j), whole[j]) << "round " << round << " row " << j;
        }
      }
      EXPECT_EQ(complete, completed);
    }
  }
}

TEST(LearnedScorer, NoScreenScoresEveryRowWhole) {
  const compiled_forest forest = trained_forest(false);
  screened_scorer<compiled_forest> scorer(40);
  std::mt19937_64 rng(4);
  for (const std::size_t trees : {std::size_t{0}, std::size_t{24}, std::size_t{30}}) {
    fill_rows(scorer, 40, rng);
    ASSERT_EQ(scorer.score(forest, 40, screen_settings{trees, 4, false}), 40u) << trees << " trees";
    for (std::size_t j = 0; j < 40; ++j) {
      EXPECT_TRUE(scorer.complete(j));
      EXPECT_EQ(scorer.score(j), forest.predict_row(scorer.row(j)));
    }
  }
}

// A predictor without stages (as linear_predictor): the sum of the row's columns.
struct whole_stub {
  [[nodiscard]] float predict_row(const float* row) const noexcept {
    float sum = 1.0f;
    for (std::size_t c = 0; c < feature_count; ++c) sum += row[c];
    return sum;
  }
};

TEST(LearnedScorer, APredictorThatCannotScoreInStagesScoresEveryRow) {
  screened_scorer<whole_stub> scorer(16);
  for (std::size_t j = 0; j < 16; ++j)
    for (std::size_t c = 0; c < feature_count; ++c) scorer.row(j)[c] = static_cast<float>(j);
  ASSERT_EQ(scorer.score(whole_stub{}, 16, screen_settings{8, 2, false}), 16u);
  for (std::size_t j = 0; j < 16; ++j) {
    EXPECT_TRUE(scorer.complete(j));
    EXPECT_EQ(scorer.score(j), 1.0f + static_cast<float>(feature_count * j));
  }
}

// A staged predictor whose every tree adds the row's first column, except that a row
// whose first column is negative sums to NaN (as a corrupt model could).
struct staged_stub {
  [[nodiscard]] float accumulate(const float* row, float margin, std::size_t from, std::size_t to) const noexcept {
    if (row[0] < 0) return std::numeric_limits<float>::quiet_NaN();
    return margin + row[0] * static_cast<float>(to - from);
  }
  [[nodiscard]] float finish(float margin) const noexcept { return margin; }
  [[nodiscard]] float base_margin() const noexcept { return 0.5f; }
  [[nodiscard]] std::size_t num_trees() const noexcept { return 24; }
  [[nodiscard]] float predict_row(const float* row) const noexcept { return accumulate(row, 0.5f, 0, 24); }
};

TEST(LearnedScorer, ANaNPartialScoreStopsTheScreenForTheCallerToDropTheModel) {
  screened_scorer<staged_stub> scorer(16);
  for (std::size_t j = 0; j < 16; ++j) scorer.row(j)[0] = static_cast<float>(j);
  // Without a NaN: the two farthest (rows 15 and 14) complete, with every tree's sum.
  ASSERT_EQ(scorer.score(staged_stub{}, 16, screen_settings{8, 2, false}), 2u);
  for (std::size_t j = 0; j < 16; ++j) EXPECT_EQ(scorer.complete(j), j >= 14) << j;
  EXPECT_EQ(scorer.score(15), 0.5f + 15.0f * 24);
  // Row 3 scores NaN in the first trees: the scorer hands every row back, marked
  // complete, rather than select on an order NaN does not have; the NaN is there for the
  // caller to see.
  scorer.row(3)[0] = -1.0f;
  ASSERT_EQ(scorer.score(staged_stub{}, 16, screen_settings{8, 2, false}), 16u);
  for (std::size_t j = 0; j < 16; ++j) EXPECT_TRUE(scorer.complete(j)) << j;
  EXPECT_TRUE(std::isnan(scorer.score(3)));
}

}  // namespace
