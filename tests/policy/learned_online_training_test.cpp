// The learned policy's training loop (policy/learned/online_training.hpp), driven by
// synthetic samples and requests with a recording trainer: a retrain trains on exactly
// the rows labelled by then — a key's next request, or censored once older than the
// window — with the labels a reference computes, never on a row still waiting; a key
// with a row waiting is not sampled twice; too few rows retry soon and train nothing;
// a retrain keeps the newest `max_rows` rows and first scores the current model on the
// rows labelled since the last retrain; training off samples and labels but never
// trains; an expired entry's row is censored; clearing empties the ring.
#include "prescient/policy/learned/online_training.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <vector>

namespace {

using prescient::policy::learned_stats;
using prescient::policy::training_mode;
using prescient::policy::detail::label_scale;
using prescient::policy::detail::label_scale_config;
using prescient::policy::detail::model_training;
using prescient::policy::detail::online_training;
using prescient::policy::detail::online_training_config;
using prescient::policy::detail::training_schedule_config;
namespace learn = prescient::learn;

// A model that predicts the same score for every row.
struct fixed_model {
  float score;
  [[nodiscard]] float predict_row(const float*) const { return score; }
};
using model_ptr = std::shared_ptr<const fixed_model>;

using row = std::vector<float>;

// Rows alike feature by feature, a missing feature (NaN) matching only a missing one.
bool same_rows(const std::vector<row>& a, const std::vector<row>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t r = 0; r < a.size(); ++r) {
    if (a[r].size() != b[r].size()) return false;
    for (std::size_t f = 0; f < a[r].size(); ++f)
      if (!(a[r][f] == b[r][f] || (std::isnan(a[r][f]) && std::isnan(b[r][f])))) return false;
  }
  return true;
}

// What the trainer was given, each time it was called.
struct trainings {
  std::vector<std::vector<float>> labels;
  std::vector<std::vector<row>> rows;
  learn::trainer<fixed_model> trainer() {
    return [this](const learn::feature_matrix& x, std::span<const float> y) {
      EXPECT_EQ(static_cast<std::size_t>(x.rows()), y.size());
      labels.emplace_back(y.begin(), y.end());
      rows.emplace_back();
      for (Eigen::Index r = 0; r < x.rows(); ++r) rows.back().emplace_back(x.row(r).data(), x.row(r).data() + x.cols());
      return std::make_shared<const fixed_model>(fixed_model{1.0f});
    };
  }
};

constexpr std::size_t residents = 100;
constexpr std::uint64_t window = 1024;  // max(1,024, 1 × residents)
constexpr std::uint64_t first_model = 2000;
constexpr std::uint64_t retrain_every = 1000;

online_training_config config(std::size_t ring_rows, std::size_t min_rows, std::size_t max_rows, bool trains = true) {
  return online_training_config{ring_rows, min_rows, max_rows, false, trains,
                                training_schedule_config{first_model, retrain_every, retrain_every, 0.0, false, 1}};
}

// A training loop with a recording trainer (synchronous), the keys' histories as the
// policy would keep them, and the rows the test expects.
struct driver {
  explicit driver(const online_training_config& cfg)
      : learning(cfg, model_training<fixed_model>(training_mode::synchronous, t.trainer(), 0.0), nullptr) {}
  driver(const driver&) = delete;  // the trainer holds `t`'s address
  driver& operator=(const driver&) = delete;

  trainings t;
  online_training<fixed_model> learning;
  label_scale scale{label_scale_config{1.0, 1.0, 0.0, false, 1.0}};  // labels' unit: one request
  learned_stats stats;
  std::vector<model_ptr> installed;
  learn::feature_extractor features{};
  std::map<std::uint64_t, learn::key_history> histories;
  std::vector<row> rows;  // each row the ring took, as the features write it

  void sample(std::uint64_t key, std::uint64_t now) {
    const std::uint64_t before = stats.samples;
    row r(learn::feature_count);
    features.write(histories[key], now, 1, r.data());
    learning.sample(key, histories[key], now, 1, features, stats);
    if (stats.samples > before) rows.push_back(std::move(r));
  }
  void request(std::uint64_t key, std::uint64_t now) {
    learning.requested(key, histories[key], now, stats);
    features.record(histories[key], now, 1);
  }
  void retrain(std::uint64_t now, const fixed_model* model) {
    learning.retrain_if_due(now, residents, model, scale, stats, [this](model_ptr m, double unit) {
      EXPECT_EQ(unit, 1.0);
      installed.push_back(std::move(m));
    });
  }
};

float label_of(std::optional<std::uint64_t> gap) {
  return learn::next_access_label(gap, learn::label_config{window, residents, 1.0});
}

TEST(LearnedOnlineTraining, RetrainsOnTheLabelledRowsAsAReferenceLabelsThem) {
  driver d(config(256, 10, 256));
  const auto& t = d.t;

  // Keys 1–40 sampled at 100 + key; the even ones requested 10 × key later, the odd
  // never. Keys 41–45 sampled at 1,900, within the window of the retrain at 2,000.
  std::vector<float> expected;
  for (std::uint64_t key = 1; key <= 40; ++key) d.sample(key, 100 + key);
  d.sample(2, 150);  // a row waits for key 2 already: not a second one
  for (std::uint64_t key = 2; key <= 40; key += 2) d.request(key, 100 + key + 10 * key);
  for (std::uint64_t key = 41; key <= 45; ++key) d.sample(key, 1900);
  for (std::uint64_t key = 1; key <= 40; ++key)
    expected.push_back(key % 2 == 0 ? label_of(10 * key) : label_of(std::nullopt));
  EXPECT_EQ(d.stats.samples, 45u);
  EXPECT_EQ(d.stats.labelled, 20u);

  d.retrain(first_model - 1, nullptr);
  EXPECT_TRUE(t.labels.empty()) << "not due yet";
  d.retrain(first_model, nullptr);
  ASSERT_EQ(t.labels.size(), 1u);
  EXPECT_EQ(t.labels[0], expected) << "the 40 rows older than the window, in the order sampled; not the 5 waiting";
  EXPECT_TRUE(same_rows(t.rows[0], std::vector<row>(d.rows.begin(), d.rows.begin() + 40)));
  EXPECT_EQ(d.stats.labelled, 40u) << "20 labelled by a request, 20 censored by the sweep";
  EXPECT_EQ(d.stats.last_training_rows, 40u);
  EXPECT_EQ(d.stats.last_training_span, first_model - 101);
  EXPECT_EQ(d.installed.size(), 1u);
  EXPECT_EQ(d.stats.retrains, 1u);
  EXPECT_EQ(d.learning.schedule().next_retrain(), first_model + retrain_every);

  // The waiting keys are labelled by their requests, and the next retrain sees them.
  for (std::uint64_t key = 41; key <= 45; ++key) d.request(key, 1900 + key);
  for (std::uint64_t key = 41; key <= 45; ++key) expected.push_back(label_of(key));
  d.retrain(first_model + retrain_every, d.installed.back().get());
  ASSERT_EQ(t.labels.size(), 2u);
  EXPECT_EQ(t.labels[1], expected);
}

TEST(LearnedOnlineTraining, TooFewRowsRetrySoonAndTrainNothing) {
  driver d(config(256, 10, 256));
  const auto& t = d.t;
  for (std::uint64_t key = 1; key <= 5; ++key) {
    d.sample(key, key);
    d.request(key, key + 3);
  }
  d.retrain(first_model, nullptr);
  EXPECT_TRUE(t.labels.empty());
  EXPECT_EQ(d.stats.labelled, 5u);
  const std::uint64_t retry = first_model + retrain_every / 4 + 1;
  EXPECT_EQ(d.learning.schedule().next_retrain(), retry);
  for (std::uint64_t key = 6; key <= 10; ++key) {
    d.sample(key, 1000 + key);
    d.request(key, 1000 + key + 3);
  }
  d.retrain(retry - 1, nullptr);
  EXPECT_TRUE(t.labels.empty()) << "the retry is not due yet";
  d.retrain(retry, nullptr);
  ASSERT_EQ(t.labels.size(), 1u);
  EXPECT_EQ(t.labels[0].size(), 10u);
}

TEST(LearnedOnlineTraining, KeepsTheNewestRowsAndChecksTheModelOnRowsItNeverSaw) {
  driver d(config(256, 10, 8));
  const auto& t = d.t;
  std::vector<float> expected;
  for (std::uint64_t key = 1; key <= 20; ++key) {
    d.request(key, key);  // a history of its own: each row differs
    d.sample(key, 10 * key);
    d.request(key, 10 * key + key);
    expected.push_back(label_of(key));
  }
  d.retrain(first_model, nullptr);
  ASSERT_EQ(t.labels.size(), 1u);
  EXPECT_EQ(t.labels[0], std::vector<float>(expected.end() - 8, expected.end())) << "the newest 8 of 20";
  ASSERT_EQ(d.rows.size(), 20u);
  EXPECT_TRUE(same_rows(t.rows[0], std::vector<row>(d.rows.end() - 8, d.rows.end()))) << "their rows, as sampled";
  EXPECT_FALSE(same_rows({d.rows[12]}, {d.rows[19]})) << "each key's row differs";
  EXPECT_EQ(d.stats.true_positives + d.stats.false_positives + d.stats.true_negatives + d.stats.false_negatives, 0u)
      << "no model yet: nothing to check";

  // Rows after the retrain: 6 requested within the horizon (100 requests), 4 later, 3
  // never (censored by the sweep). A model predicting a gap of e^0.5 − 1 < 1 request
  // says "within the horizon" for all of them.
  for (std::uint64_t key = 101; key <= 113; ++key) d.sample(key, first_model + key);
  for (std::uint64_t key = 101; key <= 106; ++key) d.request(key, first_model + key + 50);
  for (std::uint64_t key = 107; key <= 110; ++key) d.request(key, first_model + key + 500);
  const fixed_model near{0.5f};
  d.retrain(first_model + retrain_every + window, &near);
  EXPECT_EQ(d.stats.true_positives, 6u);
  EXPECT_EQ(d.stats.false_positives, 7u);
  EXPECT_EQ(d.stats.true_negatives + d.stats.false_negatives, 0u);
  ASSERT_EQ(t.labels.size(), 2u);
  EXPECT_EQ(t.labels[1].size(), 8u);

  // The next check sees only the rows labelled since: a model predicting "far" (a gap
  // of e^10 requests) says "not within the horizon" for each.
  for (std::uint64_t key = 201; key <= 204; ++key) d.sample(key, 5000 + key);
  for (std::uint64_t key = 201; key <= 202; ++key) d.request(key, 5000 + key + 10);
  const fixed_model far{10.0f};
  d.retrain(first_model + 3 * retrain_every + 2 * window, &far);
  EXPECT_EQ(d.stats.true_positives, 6u);
  EXPECT_EQ(d.stats.false_positives, 7u);
  EXPECT_EQ(d.stats.false_negatives, 2u);
  EXPECT_EQ(d.stats.true_negatives, 2u);
}

TEST(LearnedOnlineTraining, OffSamplesAndLabelsButNeverTrains) {
  driver d(config(256, 1, 256, false));
  const auto& t = d.t;
  for (std::uint64_t key = 1; key <= 20; ++key) {
    d.sample(key, key);
    d.request(key, key + 1);
  }
  for (std::uint64_t now = first_model; now < 10 * first_model; now += 500) d.retrain(now, nullptr);
  EXPECT_TRUE(t.labels.empty());
  EXPECT_EQ(d.stats.samples, 20u);
  EXPECT_EQ(d.stats.labelled, 20u);
  EXPECT_EQ(d.learning.schedule().next_retrain(), first_model) << "no retrain started";
}

TEST(LearnedOnlineTraining, AnExpiredEntrysRowIsCensoredAndClearingEmptiesTheRing) {
  driver d(config(256, 1, 256));
  const auto& t = d.t;
  d.sample(1, 10);
  d.sample(2, 20);
  d.learning.expired(1, d.histories[1], d.stats);
  EXPECT_EQ(d.stats.expired_rows, 1u);
  EXPECT_EQ(d.histories[1].row_waiting, 0);
  d.learning.expired(1, d.histories[1], d.stats);
  EXPECT_EQ(d.stats.expired_rows, 1u) << "no row waits any more";
  d.request(1, 30);  // after its deadline: the row stays censored
  d.request(2, 40);
  d.retrain(first_model, nullptr);
  ASSERT_EQ(t.labels.size(), 1u);
  EXPECT_EQ(t.labels[0], (std::vector<float>{label_of(std::nullopt), label_of(20)}));

  EXPECT_EQ(d.learning.ring().next_id(), 2u);
  d.learning.clear(first_model + 1);
  EXPECT_EQ(d.learning.ring().next_id(), 0u);
  EXPECT_EQ(d.learning.schedule().sampling_from(), 0u);
}

}  // namespace
