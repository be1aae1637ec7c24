// The prefetch candidate scorer, backed by ridge (the default) or by a gradient-boosted
// forest: both learn online from what followed earlier predictions; the forest also
// learns an outcome that is not monotone in a feature, which ridge cannot; a trainer
// that throws leaves the scorer as it was.
#include "prescient/prefetch/candidate_scorer.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <deque>
#include <random>
#include <stdexcept>
#include <utility>

#include "prescient/learn/forest_trainer.hpp"

namespace {

using namespace prescient;
using prefetch::candidate_scorer;
using prefetch::successor;

// A candidate comes true (is requested 3 requests after the prediction) exactly when its
// co-occurrence count is mid-range, in [8, 20]: too few means chance, too many means a
// key requested so often that it is cached anyway (in this made-up stream).
bool comes_true(float co_count) { return co_count >= 8 && co_count <= 20; }

successor candidate(std::uint64_t key, float co_count) {
  successor s;
  s.key_hash = key;
  s.probability = 0.5f;
  s.co_count = co_count;
  s.key_count = 50;
  s.link_age = 10;
  s.successor_count = 5;
  s.successor_age = 100;
  return s;
}

// Streams 20,000 predictions through the scorer, then returns its Brier score on 2,000
// fresh ones (held out: never trained on).
double held_out_brier(candidate_scorer& scorer) {
  std::mt19937_64 rng(11);
  std::uniform_real_distribution<float> co(0.0f, 40.0f);
  std::deque<std::pair<std::uint64_t, std::uint64_t>> due;  // (time, key) of requests to come
  std::uint64_t now = 0;
  for (std::uint64_t i = 0; i < 20000; ++i, ++now) {
    while (!due.empty() && due.front().first <= now) {
      scorer.observe(due.front().second, now);
      due.pop_front();
    }
    scorer.observe(5'000'000 + i, now);  // an unrelated request moves time on
    const successor s = candidate(1'000'000 + i, co(rng));
    scorer.sample(s, now);
    if (comes_true(s.co_count)) due.emplace_back(now + 3, s.key_hash);
  }
  double brier = 0;
  for (int i = 0; i < 2000; ++i) {
    const successor s = candidate(9'000'000 + static_cast<std::uint64_t>(i), co(rng));
    const double p = scorer.score(s);
    EXPECT_GE(p, 0.0);
    EXPECT_LE(p, 1.0);
    const double y = comes_true(s.co_count) ? 1.0 : 0.0;
    brier += (p - y) * (p - y);
  }
  return brier / 2000;
}

prefetch::scorer_config every_candidate() {
  prefetch::scorer_config cfg;
  cfg.sample_rate = 1.0;
  return cfg;
}

TEST(CandidateScorer, AForestLearnsWhatRidgeCannot) {
  candidate_scorer ridge(every_candidate());
  auto forest_cfg = every_candidate();
  forest_cfg.forest = learn::forest_trainer(learn::candidate_forest_params());
  candidate_scorer forest(forest_cfg);
  const double ridge_brier = held_out_brier(ridge);
  const double forest_brier = held_out_brier(forest);
  EXPECT_TRUE(ridge.model_active());
  EXPECT_FALSE(ridge.forest_active());
  EXPECT_TRUE(forest.forest_active());
  EXPECT_GT(forest.retrains(), 1u);
  EXPECT_EQ(forest.training_failures(), 0u);
  // About a third come true: ridge, a straight line in log(co-occurrences), can do little
  // better than the base rate (~0.2); the forest finds the band.
  EXPECT_GT(ridge_brier, 0.15);
  EXPECT_LT(forest_brier, 0.05);
}

TEST(CandidateScorer, AForestTrainerThatThrowsLeavesTheRawRatio) {
  auto cfg = every_candidate();
  int calls = 0;
  cfg.forest = [&calls](const learn::feature_matrix&, std::span<const float>) -> std::shared_ptr<const learn::compiled_forest> {
    ++calls;
    throw learn::model_error("xgboost failed (in a test)");
  };
  candidate_scorer scorer(cfg);
  held_out_brier(scorer);
  EXPECT_GT(calls, 0);
  EXPECT_EQ(scorer.training_failures(), static_cast<std::uint64_t>(calls));
  EXPECT_FALSE(scorer.model_active());
  const successor s = candidate(1, 12.0f);
  EXPECT_FLOAT_EQ(scorer.score(s), s.probability) << "no model: the successor model's own ratio";
}

}  // namespace
