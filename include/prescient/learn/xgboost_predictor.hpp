// prescient/learn/xgboost_predictor.hpp — gradient-boosted trees through xgboost's C API.
//
// Trains (tree_method=hist), saves and loads models in xgboost's own JSON and UBJSON
// formats, and scores batches. Models written here load in xgboost's command line and
// Python package, and models trained there (or by xgboost's distributed trainers) load
// here: the file is xgboost's, not ours.
//
// Errors: every C API call is checked; a failure becomes model_error carrying
// XGBGetLastError(). xgboost's own log output never reaches the host's stderr: the
// first use sets its verbosity to 0 and routes its log callback into a buffer
// (`last_xgboost_log`).
//
// xgboost's predict is not safe to call concurrently on one booster, so `predict` takes
// a lock; for concurrent scoring on the hot path compile the model (`compile`), which
// yields an immutable compiled_forest. This type lives in the compiled library
// (src/learn/xgboost_predictor.cpp); the xgboost headers stay out of the host's build.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "prescient/learn/compiled_forest.hpp"
#include "prescient/learn/predictor.hpp"

namespace prescient::learn {

/// xgboost training parameters (a subset; the defaults suit the learned policy).
struct training_params {
  int rounds = 32;               ///< boosting rounds (trees)
  int max_depth = 6;             ///< depth of each tree
  float eta = 0.3f;              ///< learning rate
  float lambda = 1.0f;           ///< L2 regularisation of leaf weights
  float min_child_weight = 1.0f; ///< minimum hessian in a child
  float subsample = 1.0f;        ///< row subsampling per tree
  int max_bin = 256;             ///< histogram bins per feature (hist)
  std::string objective = "reg:squarederror";
  int nthread = 1;               ///< xgboost's threads while training
  std::uint64_t seed = 0;
};

enum class model_format { json, ubjson };

class xgboost_predictor final : public predictor {
 public:
  /// Trains on `rows` (NaN: missing) and `labels`. Throws feature_error on an infinite
  /// feature or a size mismatch, model_error on an empty dataset, a non-finite label or
  /// a failure inside xgboost.
  static xgboost_predictor train(const feature_matrix& rows, std::span<const float> labels,
                                 const training_params& params = {});
  /// Loads a model file in JSON or UBJSON (told apart by content, not by extension).
  static xgboost_predictor load(const std::filesystem::path& path);
  /// Loads a model from bytes (JSON or UBJSON).
  static xgboost_predictor from_buffer(std::span<const char> bytes);

  void save(const std::filesystem::path& path, model_format format) const;
  [[nodiscard]] std::vector<char> to_buffer(model_format format) const;
  [[nodiscard]] std::string to_json() const;
  /// The same trees as an immutable compiled_forest.
  [[nodiscard]] compiled_forest compile() const { return compiled_forest::from_json(to_json()); }

  void predict(const feature_matrix& rows, std::span<float> out) const override;
  [[nodiscard]] std::string_view name() const noexcept override { return "xgboost"; }
  [[nodiscard]] std::string version() const override;
  [[nodiscard]] std::size_t num_features() const noexcept override { return num_features_; }
  [[nodiscard]] std::size_t num_trees() const noexcept { return num_trees_; }

  xgboost_predictor(xgboost_predictor&&) noexcept;
  xgboost_predictor& operator=(xgboost_predictor&&) noexcept;
  ~xgboost_predictor() override;

 private:
  struct booster;
  explicit xgboost_predictor(std::unique_ptr<booster> b);
  std::unique_ptr<booster> booster_;
  std::unique_ptr<std::mutex> predict_mutex_ = std::make_unique<std::mutex>();
  std::size_t num_features_ = 0;
  std::size_t num_trees_ = 0;
};

/// The last lines xgboost logged (it never prints them).
[[nodiscard]] std::string last_xgboost_log();

}  // namespace prescient::learn
