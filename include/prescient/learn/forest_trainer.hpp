// prescient/learn/forest_trainer.hpp — the learned policy's default trainer for
// compiled_forest: boost trees with xgboost (xgboost_predictor), then flatten them.
//
// Needs the compiled library (prescient::prescient), which links xgboost.
#pragma once

#include <filesystem>
#include <memory>
#include <span>

#include "prescient/learn/compiled_forest.hpp"
#include "prescient/learn/trainer.hpp"
#include "prescient/learn/xgboost_predictor.hpp"

namespace prescient::learn {

/// The parameters online retraining uses: small enough that a retrain on the policy's
/// training window takes tens of milliseconds on one core, and the compiled forest
/// scores a row in well under a microsecond.
[[nodiscard]] inline training_params online_training_params() {
  training_params p;
  p.rounds = 24;
  // Shallow trees rank candidates better, not worse: over nine seeds of the 15
  // pairs, depth 3 closed more of the gap to Belady than depth 4, 5 or 6 (mean gap to
  // the best heuristic -1.28% against -1.17%, -1.12% and -1.13%; README, "The learned
  // cache"), and a retrain and a score cost a fraction of depth 6's.
  p.max_depth = 3;
  p.eta = 0.3f;
  p.max_bin = 64;
  // Leaves of at least 200 rows: the policy evicts the candidate with the *largest*
  // prediction, so a leaf fitted to a handful of rows (an extreme, noisy value) would
  // decide far more evictions than it deserves. Over the 47-pair table and ten seeds,
  // 200 closed more of the gap to Belady than 30, 100, 150, 300, 600 or 1,000, and
  // more than a bound proportional to the training rows (docs/experiments.md).
  p.min_child_weight = 200;
  p.nthread = 1;
  // Bin edges from 4,096 of the (up to 32k) rows: the same 64 bins within sampling
  // error (held-out RMSE +1% in a test), training 15% faster on orm-busy.
  p.sketch_rows = 4096;
  return p;
}

/// Parameters for the prefetch candidate scorer's forest (prefetch/candidate_scorer.hpp):
/// 6 columns and 0/1 outcomes, so shallow trees; leaves may be small (it ranks no
/// extreme), and the output is a probability.
[[nodiscard]] inline training_params candidate_forest_params() {
  training_params p;
  p.rounds = 16;
  p.max_depth = 4;
  p.eta = 0.3f;
  p.max_bin = 64;
  p.min_child_weight = 2;
  p.objective = "binary:logistic";
  p.nthread = 1;
  return p;
}

/// A trainer with other parameters, for learned_config::trainer.
[[nodiscard]] inline trainer<compiled_forest> forest_trainer(training_params params) {
  return [params](const feature_matrix& rows, std::span<const float> labels) {
    return std::make_shared<const compiled_forest>(xgboost_predictor::train(rows, labels, params).compile());
  };
}

/// Loads an xgboost model file (JSON or UBJSON) and compiles it. Throws model_error
/// naming the file when it is missing, corrupt, truncated or of a shape the compiled
/// forest does not support.
[[nodiscard]] inline std::shared_ptr<const compiled_forest> load_forest(const std::filesystem::path& path) {
  return std::make_shared<const compiled_forest>(xgboost_predictor::load(path).compile());
}

template <>
struct default_trainer<compiled_forest> {
  static std::shared_ptr<const compiled_forest> train(const feature_matrix& rows, std::span<const float> labels) {
    return std::make_shared<const compiled_forest>(
        xgboost_predictor::train(rows, labels, online_training_params()).compile());
  }
  /// 0/1 labels: logistic loss; the forest then scores a probability.
  static std::shared_ptr<const compiled_forest> train_classifier(const feature_matrix& rows,
                                                                 std::span<const float> labels) {
    training_params p = online_training_params();
    p.objective = "binary:logistic";
    return std::make_shared<const compiled_forest>(xgboost_predictor::train(rows, labels, p).compile());
  }
};

}  // namespace prescient::learn
