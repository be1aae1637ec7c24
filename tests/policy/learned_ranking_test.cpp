// The learned policy's ranking (policy/learned/ranking.hpp), with a model whose score is
// a candidate's age column, so that its predicted next request is "as long from now as
// since the last": the victims are then checked against a reference — a stable sort of
// the offered candidates by that prediction — on random rankings with repeated slots,
// puts in their grace and equal ages; and the victims' list, a NaN score and lazy
// rescoring on their own.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <random>
#include <vector>

#include "prescient/learn/features.hpp"
#include "prescient/policy/learned/ranking.hpp"

namespace {

using prescient::slot_id;
using prescient::learn::feature_extractor;
using prescient::learn::key_history;
using prescient::policy::learned_stats;
using prescient::policy::detail::ranked_entry;
using prescient::policy::detail::ranking;
using prescient::policy::detail::ranking_config;
using prescient::policy::detail::stamped_slot;
namespace column = prescient::learn::column;

// Scores a row by its age column (log1p of the requests since the key's last request);
// NaN for the ages listed in `nan_at` (as a failing model would). Counts its rows.
struct age_model {
  float nan_age = -1;
  mutable std::size_t rows = 0;
  [[nodiscard]] float predict_row(const float* row) const {
    ++rows;
    return row[column::age] == nan_age ? std::numeric_limits<float>::quiet_NaN() : row[column::age];
  }
};

// A score (log1p of a gap) read back as the gap.
double gap_of(float score) { return std::expm1(static_cast<double>(score)); }

// Histories whose last request was at `last[s]`.
std::vector<key_history> histories(const feature_extractor& f, const std::vector<std::uint64_t>& last) {
  std::vector<key_history> h(last.size());
  for (std::size_t s = 0; s < last.size(); ++s) f.record(h[s], last[s], 1);
  return h;
}

ranking_config config(std::size_t candidates, std::size_t keep_victims, double keep_share = 1.0 / 64,
                      double rescore_age_factor = 0) {
  ranking_config c;
  c.candidates = candidates;
  c.keep_victims = keep_victims;
  c.keep_share = keep_share;
  c.rescore_age_factor = rescore_age_factor;
  return c;
}

TEST(LearnedRanking, FilesTheFarthestAscendingAndTheEarlierOfEqualPredictions) {
  std::mt19937_64 rng(11);
  const feature_extractor f;
  learned_stats stats;
  for (int round = 0; round < 300; ++round) {
    const std::size_t slots = rng() % 40 + 1, k = rng() % 64 + 1, keep_victims = rng() % 8 + 1;
    const std::size_t residents = rng() % 1000 + 1;
    const double share = (rng() % 2 == 0) ? 1.0 / 64 : 1.0;
    const std::uint64_t now = 100'000;
    std::vector<std::uint64_t> last(slots);
    for (auto& t : last) t = now - 1 - rng() % 12;  // few distinct ages: many equal predictions
    const auto h = histories(f, last);
    std::vector<bool> graced(slots);
    for (std::size_t s = 0; s < slots; ++s) graced[s] = rng() % 8 == 0;

    ranking<age_model> r(config(64, keep_victims, share));
    r.reserve_slots(slots);
    r.begin();
    std::vector<slot_id> offered(k);
    for (std::size_t i = 0; i < k; ++i) {
      offered[i] = static_cast<slot_id>(rng() % slots);  // a slot may be offered twice
      r.offer(offered[i], h[offered[i]], 7, graced[offered[i]], now);
    }
    ASSERT_TRUE(r.decide(age_model{}, f, now, residents, gap_of, stats));

    // The reference: each candidate's prediction (a put in its grace: now), the farthest
    // first by a stable sort, as many as the ranking may keep, filed nearest first.
    std::vector<double> predicted(k);
    for (std::size_t i = 0; i < k; ++i) {
      float row[prescient::learn::feature_count];
      f.write(h[offered[i]], now, 1, row);
      predicted[i] = graced[offered[i]] ? static_cast<double>(now) : static_cast<double>(now) + gap_of(row[column::age]);
    }
    std::vector<std::size_t> order(k);
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return predicted[a] > predicted[b]; });
    const std::size_t keep = std::min({keep_victims, k, std::max<std::size_t>(1, static_cast<std::size_t>(share * residents))});
    ASSERT_EQ(r.victims_per_ranking(residents), std::max<std::size_t>(1, static_cast<std::size_t>(share * residents)));

    // Every victim is live here; take them in turn.
    for (std::size_t j = 0; j < keep; ++j) {
      const ranked_entry* v = r.next_victim([](stamped_slot) { return true; });
      ASSERT_NE(v, nullptr) << "round " << round << ", victim " << j;
      EXPECT_EQ(v->slot, offered[order[j]]) << "round " << round << ", victim " << j;
      EXPECT_EQ(v->predicted, predicted[order[j]]);
      EXPECT_EQ(v->stamp, 7u);
      r.pop();
    }
    EXPECT_EQ(r.next_victim([](stamped_slot) { return true; }), nullptr) << "round " << round;
  }
}

TEST(LearnedRanking, AVictimNoLongerLiveIsSkippedAndPeekingDropsNothing) {
  const feature_extractor f;
  learned_stats stats;
  const std::uint64_t now = 1000;
  const auto h = histories(f, {990, 900, 500, 100});  // slot 3 the farthest, then 2, 1, 0
  ranking<age_model> r(config(8, 3, 1.0));
  r.reserve_slots(4);
  r.begin();
  for (slot_id s = 0; s < 4; ++s) r.offer(s, h[s], 10 + s, false, now);
  ASSERT_TRUE(r.decide(age_model{}, f, now, 100, gap_of, stats));
  EXPECT_EQ(stats.rankings, 1u);

  // Slot 3 was requested since (its stamp moved): skipped, and dropped by next_victim only.
  const auto live = [](stamped_slot y) { return !(y.slot == 3 && y.stamp == 13); };
  ASSERT_NE(r.peek_victim(live), nullptr);
  EXPECT_EQ(r.peek_victim(live)->slot, 2u);
  EXPECT_EQ(r.top()->slot, 3u);  // peeking dropped nothing
  const ranked_entry* v = r.next_victim(live);
  ASSERT_NE(v, nullptr);
  EXPECT_EQ(v->slot, 2u);
  EXPECT_EQ(r.top(), v);
  r.pop();
  EXPECT_EQ(r.next_victim(live)->slot, 1u);
  r.clear();
  EXPECT_EQ(r.top(), nullptr);
  EXPECT_EQ(r.next_victim(live), nullptr);
}

TEST(LearnedRanking, ANaNScoreFilesNoVictim) {
  const feature_extractor f;
  learned_stats stats;
  const std::uint64_t now = 1000;
  const auto h = histories(f, {990, 900});
  float row[prescient::learn::feature_count];
  f.write(h[1], now, 1, row);
  ranking<age_model> r(config(8, 2, 1.0));
  r.reserve_slots(2);
  r.begin();
  r.offer(0, h[0], 1, false, now);
  r.offer(1, h[1], 1, false, now);
  EXPECT_FALSE(r.decide(age_model{row[column::age]}, f, now, 100, gap_of, stats));
  EXPECT_EQ(r.top(), nullptr);
  EXPECT_EQ(stats.rankings, 0u);
}

TEST(LearnedRanking, LazyRescoringReusesAPredictionWhileTheEntryIsUntouched) {
  const feature_extractor f;
  learned_stats stats;
  const auto h = histories(f, {900, 500});
  ranking<age_model> r(config(8, 1, 1.0, /*rescore_age_factor=*/2.0));
  r.reserve_slots(2);
  const age_model model;
  // Predictions ten times the age ahead, so that an entry grows too old (more than twice
  // its age when scored) long before it is overdue.
  const auto far = [](float score) { return 10 * gap_of(score); };
  const auto rank_at = [&](std::uint64_t now, std::uint32_t stamp0) {
    r.begin();
    r.offer(0, h[0], stamp0, false, now);
    r.offer(1, h[1], 0, false, now);
    EXPECT_TRUE(r.decide(model, f, now, 100, far, stats));
  };
  rank_at(1000, 0);  // ages 100 and 500: both scored
  EXPECT_EQ(model.rows, 2u);
  rank_at(1010, 0);  // both untouched, not overdue, barely older: no row scored
  EXPECT_EQ(model.rows, 2u);
  rank_at(1020, 1);  // slot 0 requested since (a new stamp): scored again, at age 120
  EXPECT_EQ(model.rows, 3u);
  rank_at(1250, 1);  // slot 0 at age 350 > 2 × 120 + 1: scored again; slot 1 at 750 ≤ 1,001 stands
  EXPECT_EQ(model.rows, 4u);
  rank_at(1520, 1);  // slot 0 at 620 ≤ 701 stands; slot 1 at 1,020 > 1,001: scored again
  EXPECT_EQ(model.rows, 5u);
  r.forget_scores();  // a new model: nothing stands
  rank_at(1530, 1);
  EXPECT_EQ(model.rows, 7u);
  EXPECT_EQ(r.bytes_per_slot(), sizeof(double) + sizeof(std::uint64_t) + sizeof(std::uint32_t));
  EXPECT_EQ(ranking<age_model>(config(8, 1)).bytes_per_slot(), 1u);
}

}  // namespace
