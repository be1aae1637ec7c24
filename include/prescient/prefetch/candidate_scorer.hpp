// prescient/prefetch/candidate_scorer.hpp — the predictor's probability that a predicted
// successor is requested soon, learned online from what followed earlier predictions.
//
// The successor model's ratio p(A → B) is a raw frequency; it does not know that an
// association seen twice is weaker evidence than one seen two hundred times, or that a
// successor requested a moment ago is probably cached anyway. The scorer gives each
// candidate a feature row and lets a predictor (linear_predictor: ridge regression on the
// 0/1 outcome, closed form, microseconds to train) turn it into a probability:
//
//   col  value
//   0    p(A → B), the successor model's ratio
//   1    log1p(decayed co-occurrences of A → B)
//   2    log1p(decayed requests of A)
//   3    log1p(requests since A → B last occurred)
//   4    log1p(decayed requests of B)
//   5    log1p(requests since B's last request)          (NaN: B not tracked)
//
// Labels come from the future: a sampled candidate is labelled 1 when B is requested
// within `horizon` requests of the prediction, 0 when the horizon passes first. Until
// `min_rows` rows are labelled the score is the raw ratio; a training failure keeps the
// previous model (or the ratio) and is counted.
//
// The model is ridge regression by default (header-only, no xgboost). With
// `scorer_config::forest` set — e.g. to learn::default_trainer<compiled_forest>::
// train_classifier from forest_trainer.hpp, which needs the compiled library — it is a
// gradient-boosted forest (logistic) instead, scored through compiled_forest::predict_row:
// no virtual call per candidate. A forest retrains at intervals doubling from
// `retrain_every` up to `forest_retrain_every` labelled rows (xgboost takes milliseconds
// where ridge takes microseconds). learn::candidate_forest_params() (forest_trainer.hpp)
// are parameters for it: small leaves, logistic output.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <vector>

#include "prescient/detail/slot_index.hpp"
#include "prescient/hash.hpp"
#include "prescient/learn/compiled_forest.hpp"
#include "prescient/learn/linear_predictor.hpp"
#include "prescient/learn/trainer.hpp"
#include "prescient/prefetch/successors.hpp"

namespace prescient::prefetch {

struct scorer_config {
  std::uint64_t horizon = 32;       ///< requests within which a prediction must come true
  double sample_rate = 0.25;        ///< share of candidates kept as training rows
  std::size_t rows = 8192;          ///< training rows kept (ring)
  std::size_t min_rows = 512;       ///< labelled rows before the first model
  std::size_t retrain_every = 4096; ///< labelled rows between retrains (ridge)
  std::uint64_t seed = 7;
  /// Trains a forest on the 0/1 outcomes instead of ridge (empty: ridge).
  learn::trainer<learn::compiled_forest> forest{};
  std::size_t forest_retrain_every = 32768;  ///< labelled rows between forest retrains
};

class candidate_scorer {
 public:
  static constexpr std::size_t columns = 6;

  explicit candidate_scorer(scorer_config cfg = {})
      : cfg_(cfg), rows_(cfg.rows * columns), key_(cfg.rows, 0), time_(cfg.rows, 0), label_(cfg.rows, unlabelled),
        rng_(cfg.seed | 1) {}

  static void write(const successor& s, float* row) noexcept {
    row[0] = s.probability;
    row[1] = std::log1p(s.co_count);
    row[2] = std::log1p(s.key_count);
    row[3] = std::log1p(s.link_age);
    row[4] = std::log1p(s.successor_count);
    row[5] = s.successor_age < 0 ? std::numeric_limits<float>::quiet_NaN() : std::log1p(s.successor_age);
  }

  /// P(the candidate is requested within the horizon), in [0, 1].
  [[nodiscard]] float score(const successor& s) const {
    if (!model_ && !forest_) return s.probability;
    float row[columns];
    write(s, row);
    const float p = forest_ ? forest_->predict_row(row) : model_->predict_row(row);
    return std::isnan(p) ? s.probability : std::clamp(p, 0.0f, 1.0f);
  }

  /// A request of `key` at `now`: settles rows waiting on it, expires old ones, and
  /// retrains when enough new rows are labelled.
  void observe(std::uint64_t key, std::uint64_t now) {
    const slot_id pos = find(key);
    if (pos != no_slot) {
      label_[pos] = now - time_[pos] <= cfg_.horizon ? 1 : 0;
      index_.erase(mix64(key), pos);
      ++labelled_since_;
    }
    for (; cursor_ < next_; ++cursor_) {  // rows are in time order: expire from the oldest
      const std::size_t p = cursor_ % cfg_.rows;
      if (label_[p] != unlabelled) continue;
      if (time_[p] + cfg_.horizon >= now) break;
      label_[p] = 0;
      index_.erase(mix64(key_[p]), static_cast<slot_id>(p));
      ++labelled_since_;
    }
    if (labelled_since_ >= (model_active() ? interval_ : cfg_.min_rows)) train();
  }

  /// Keeps (a sample of) a prediction made at `now` as a training row.
  void sample(const successor& s, std::uint64_t now) {
    if (cfg_.rows == 0 || uniform() >= cfg_.sample_rate || find(s.key_hash) != no_slot) return;
    const std::size_t p = next_ % cfg_.rows;
    if (next_ >= cfg_.rows && label_[p] == unlabelled) index_.erase(mix64(key_[p]), static_cast<slot_id>(p));
    write(s, &rows_[p * columns]);
    key_[p] = s.key_hash;
    time_[p] = now;
    label_[p] = unlabelled;
    index_.insert(mix64(s.key_hash), static_cast<slot_id>(p));
    ++next_;
    if (cursor_ + cfg_.rows < next_) cursor_ = next_ - cfg_.rows;
  }

  [[nodiscard]] bool model_active() const { return model_ != nullptr || forest_ != nullptr; }
  [[nodiscard]] bool forest_active() const { return forest_ != nullptr; }
  [[nodiscard]] std::uint64_t retrains() const { return retrains_; }
  [[nodiscard]] std::uint64_t training_failures() const { return failures_; }

 private:
  static constexpr std::int8_t unlabelled = -1;

  [[nodiscard]] slot_id find(std::uint64_t key) const {
    return index_.find(mix64(key), [&](slot_id p) { return key_[p] == key && label_[p] == unlabelled; });
  }

  void train() {
    labelled_since_ = 0;
    if (cfg_.forest && model_active()) interval_ = std::min(2 * interval_, std::max(cfg_.forest_retrain_every, cfg_.retrain_every));
    std::size_t n = 0;
    const std::size_t held = std::min<std::size_t>(next_, cfg_.rows);
    for (std::size_t p = 0; p < held; ++p) n += label_[p] != unlabelled;
    if (n < cfg_.min_rows) return;
    learn::feature_matrix x(static_cast<Eigen::Index>(n), static_cast<Eigen::Index>(columns));
    std::vector<float> y(n);
    std::size_t r = 0;
    for (std::size_t p = 0; p < held; ++p) {
      if (label_[p] == unlabelled) continue;
      for (std::size_t c = 0; c < columns; ++c) x(static_cast<Eigen::Index>(r), static_cast<Eigen::Index>(c)) = rows_[p * columns + c];
      y[r++] = static_cast<float>(label_[p]);
    }
    try {
      if (cfg_.forest) {
        auto forest = cfg_.forest(x, y);
        if (!forest || forest->num_features() != columns) throw learn::model_error("candidate scorer: the forest trainer returned no model of 6 features");
        forest_ = std::move(forest);
      } else {
        model_ = std::make_shared<const learn::linear_predictor>(learn::linear_predictor::train(x, y));
      }
      ++retrains_;
    } catch (const std::exception&) {
      ++failures_;  // keep the previous model (or the raw ratio)
    }
  }

  double uniform() {
    rng_ = mix64(rng_ + 0x9e3779b97f4a7c15ULL);
    return static_cast<double>(rng_ >> 11) * 0x1.0p-53;
  }

  scorer_config cfg_;
  std::vector<float> rows_;
  std::vector<std::uint64_t> key_;
  std::vector<std::uint64_t> time_;
  std::vector<std::int8_t> label_;
  prescient::detail::slot_index index_;  // mix64(key) → ring position, for unlabelled rows
  std::uint64_t next_ = 0, cursor_ = 0, labelled_since_ = 0;
  std::size_t interval_ = cfg_.retrain_every;  // labelled rows between retrains (a forest's doubles)
  std::uint64_t rng_;
  std::uint64_t retrains_ = 0, failures_ = 0;
  std::shared_ptr<const learn::linear_predictor> model_;
  std::shared_ptr<const learn::compiled_forest> forest_;
};

}  // namespace prescient::prefetch
