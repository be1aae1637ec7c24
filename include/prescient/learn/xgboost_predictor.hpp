// prescient/learn/xgboost_predictor.hpp — gradient-boosted trees through xgboost's C API.
//
// Trains (tree_method=hist), saves and loads models in xgboost's own JSON and UBJSON
// formats, and scores batches. Models written here load in xgboost's command line and
// Python package, and models trained there load here: the file is xgboost's, not ours.
// `load` tells the formats apart by content, never by extension: JSON starts with `{"`,
// UBJSON with `{` and a type marker. The deprecated binary format, which xgboost 1.7's
// command line still writes unless model_out ends in ".json" (it starts with "binf"), is
// refused with a model_error saying how to convert it: it cannot be checked before
// xgboost reads it, and xgboost's loader crashes on a corrupt one.
//
// Loading is defensive, because xgboost 1.7 is not: it crashes inside its loader on some
// corrupt files and, given well-formed but inconsistent trees, crashes (children not
// stored side by side), hangs (a cycle) or reads out of bounds (a split feature beyond
// num_feature) when it predicts. So a JSON or UBJSON model is read and checked here
// (detail/json.hpp) before xgboost sees it: its structure, and its numbers — no NaN or
// infinite leaf, no NaN split threshold, a finite base_score, leaves that cannot add up
// beyond float's range (compiled_forest.hpp says which values are legal and why).
// Checking costs one extra parse of the model.
//
// Errors: every C API call is checked; a failure becomes model_error
// "xgboost: <what>: <XGBGetLastError()>" (xgboost's timestamp and stack trace cut off).
// Models refused by the checks above say "xgboost: a corrupt <format> model: <why>". Bad
// input is refused before it reaches xgboost, with a message naming the row, column or
// label.
//
// xgboost's log output never reaches the host's stderr. Its verbosity and its log
// callback are *per thread* (thread-local stores inside libxgboost), so the first call
// on each thread sets that thread's verbosity to 0 and routes its log into a buffer
// (`last_xgboost_log`). A host that raises the verbosity itself (XGBSetGlobalConfig)
// finds the messages there, still not on stderr. xgboost also frees a booster through
// the freeing thread's thread-local state, which is gone once the main thread starts
// exiting; a predictor destroyed after that (one in static storage) leaves its booster
// to the ending process instead of crashing it.
//
// Costs: `predict` is one C API call per batch (in-place prediction on the row-major
// buffer, no DMatrix copy) behind a mutex, because one booster must not predict from two
// threads at once; that call costs ~20 µs for one row and ~0.6 µs a row for large
// batches (32 trees of depth 6), so for per-request scoring compile the model
// (`compile` / `from_predictor`) into an immutable compiled_forest (~0.25 µs a row,
// any number of threads). Loaded models predict on one thread (nthread=1). This type
// lives in the compiled library (src/learn/xgboost_predictor.cpp): the xgboost headers
// stay out of the host's build.
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

/// xgboost training parameters (a subset; the defaults are xgboost's, 32 rounds).
struct training_params {
  int rounds = 32;               ///< boosting rounds (one tree each)
  int max_depth = 6;             ///< depth of each tree
  float eta = 0.3f;              ///< learning rate
  float lambda = 1.0f;           ///< L2 regularisation of leaf weights
  float min_child_weight = 1.0f; ///< minimum hessian in a child
  float subsample = 1.0f;        ///< row subsampling per tree
  int max_bin = 256;             ///< histogram bins per feature (hist)
  std::string objective = "reg:squarederror";
  int nthread = 1;               ///< xgboost's threads while training
  std::uint64_t seed = 0;
  /// Bin edges from this many rows drawn at random instead of all of them (0: all). Above
  /// twice as many rows, the training matrix is a QuantileDMatrix binned on the sample's
  /// edges (xgboost's quantile sketch over all of 32k synthetic rows took more than half
  /// of a 24-tree retrain).
  std::size_t sketch_rows = 0;
};

enum class model_format { json, ubjson };

class xgboost_predictor final : public predictor {
 public:
  /// Trains on `rows` (NaN: missing) and `labels`, one per row, with tree_method=hist.
  /// Throws feature_error on an infinite feature or a label count that is not the row
  /// count; model_error on an empty dataset, a non-finite label, rounds < 1 or a failure
  /// inside xgboost (an unknown objective, labels outside [0, 1] for logistic, ...).
  static xgboost_predictor train(const feature_matrix& rows, std::span<const float> labels,
                                 const training_params& params = {});
  /// Loads a model file: JSON or UBJSON, told apart by content. A missing, empty,
  /// truncated, corrupt or wrong-shaped file, or one in xgboost's deprecated binary format,
  /// throws model_error naming the file (and carrying xgboost's message when xgboost
  /// refused it).
  static xgboost_predictor load(const std::filesystem::path& path);
  /// Loads a model from bytes, as `load` does.
  static xgboost_predictor from_buffer(std::span<const char> bytes);

  /// Writes the model (throws model_error when the file cannot be written).
  void save(const std::filesystem::path& path, model_format format) const;
  [[nodiscard]] std::vector<char> to_buffer(model_format format) const;
  [[nodiscard]] std::string to_json() const;
  /// The same trees as an immutable compiled_forest (through to_json).
  [[nodiscard]] compiled_forest compile() const { return compiled_forest::from_json(to_json()); }

  /// Scores a batch (after check_batch): probabilities for logistic objectives, not margins.
  void predict(const feature_matrix& rows, std::span<float> out) const override;
  [[nodiscard]] std::string_view name() const noexcept override { return "xgboost"; }
  /// "xgboost 1.7.4, 32 rounds, 14 features"
  [[nodiscard]] std::string version() const override;
  [[nodiscard]] std::size_t num_features() const noexcept override { return num_features_; }
  /// Boosting rounds (trees, for a single-output gbtree model).
  [[nodiscard]] std::size_t num_trees() const noexcept { return num_trees_; }

  xgboost_predictor(xgboost_predictor&&) noexcept;
  xgboost_predictor& operator=(xgboost_predictor&&) noexcept;
  xgboost_predictor(const xgboost_predictor&) = delete;
  xgboost_predictor& operator=(const xgboost_predictor&) = delete;
  ~xgboost_predictor() override;

 private:
  struct booster;  // owns the BoosterHandle (XGBoosterFree)
  explicit xgboost_predictor(std::unique_ptr<booster> b);
  [[nodiscard]] booster& live() const;  // throws model_error on a moved-from predictor

  std::unique_ptr<booster> booster_;
  std::unique_ptr<std::mutex> mutex_ = std::make_unique<std::mutex>();  // one call into the booster at a time
  std::size_t num_features_ = 0;
  std::size_t num_trees_ = 0;
};

/// The compiled form of `model` (xgboost → JSON → compiled_forest); throws model_error
/// when the model is of a kind compiled_forest does not support.
[[nodiscard]] inline compiled_forest from_predictor(const xgboost_predictor& model) { return model.compile(); }

/// The last messages xgboost logged on any thread (it never prints them), oldest first,
/// one a line; at most a few KiB. Empty while verbosity stays 0.
[[nodiscard]] std::string last_xgboost_log();

}  // namespace prescient::learn
