// prescient/learn/predictor.hpp — the predictor interface: a batch of feature rows in,
// one score per row out.
//
// A score is what the model was trained to predict. For the learned policy that is the
// time until the key's next request, as log1p(requests) (see features.hpp); a
// classifier trained on "requested again within the horizon" scores a probability.
//
// Feature rows are an Eigen row-major float matrix, one row per key, one column per
// feature, the layout xgboost's dense input and the compiled forest both read without a
// copy. Values:
//   - NaN means "missing" (xgboost's convention): trees follow the default branch that
//     training chose, the linear model substitutes the training mean.
//   - ±infinity is invalid input: `predict` throws `feature_error` naming the row and
//     column, and writes nothing.
//
// The interface is virtual because it is called once per *batch* (a sample of eviction
// candidates, a training fold), never once per request; the learned policy calls the
// concrete compiled_forest / linear_predictor type directly on its hot path.
#pragma once

#include <Eigen/Core>

#include <cmath>
#include <cstddef>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>

namespace prescient::learn {

/// One row per key, one column per feature (row-major, so a row is contiguous).
using feature_matrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

/// A batch that cannot be scored: wrong number of columns, an infinite value, an output
/// span of the wrong length.
class feature_error : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

/// A model that cannot be built, read or used: a corrupt, truncated or wrong-shaped model
/// file, or a failure inside xgboost (the message then carries XGBGetLastError()).
class model_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class predictor {
 public:
  virtual ~predictor() = default;

  /// A short name for logs: "compiled_forest", "xgboost", "linear".
  [[nodiscard]] virtual std::string_view name() const noexcept = 0;
  /// What exactly is loaded, for logs: e.g. "xgboost 1.7.4, 32 trees, 14 features".
  [[nodiscard]] virtual std::string version() const = 0;
  /// Columns every row must have.
  [[nodiscard]] virtual std::size_t num_features() const noexcept = 0;
  /// Scores every row of `rows` into `out` (out.size() == rows.rows()). Throws
  /// feature_error on a malformed batch (see the top of this file).
  virtual void predict(const feature_matrix& rows, std::span<float> out) const = 0;
};

/// Throws feature_error unless `rows` has `columns` columns, `out` one slot per row and
/// no value is infinite. Every predictor calls it before scoring.
inline void check_batch(const feature_matrix& rows, std::size_t columns, std::span<const float> out) {
  if (static_cast<std::size_t>(rows.cols()) != columns)
    throw feature_error("feature batch has " + std::to_string(rows.cols()) + " columns; the model expects " +
                        std::to_string(columns));
  if (out.size() != static_cast<std::size_t>(rows.rows()))
    throw feature_error("output span holds " + std::to_string(out.size()) + " scores for " +
                        std::to_string(rows.rows()) + " rows");
  for (Eigen::Index r = 0; r < rows.rows(); ++r)
    for (Eigen::Index c = 0; c < rows.cols(); ++c)
      if (std::isinf(rows(r, c)))
        throw feature_error("feature batch row " + std::to_string(r) + " column " + std::to_string(c) +
                            " is infinite");
}

}  // namespace prescient::learn
