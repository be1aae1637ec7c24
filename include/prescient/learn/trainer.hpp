// prescient/learn/trainer.hpp — how the learned policy turns a dataset into a model.
//
// The learned policy is a template over its predictor type (compiled_forest,
// linear_predictor, or any type with `float predict_row(const float*) const noexcept`
// and `std::size_t num_features() const`). Online it retrains through a `trainer`:
// a function from (feature rows, labels) to a new immutable model. The default trainer
// for a predictor type is `default_trainer<P>::train`; linear_predictor's lives here,
// compiled_forest's (xgboost's gradient boosting, then flattening) in forest_trainer.hpp
// because it needs the compiled library.
#pragma once

#include <concepts>
#include <cstddef>
#include <functional>
#include <memory>
#include <span>

#include "prescient/learn/linear_predictor.hpp"
#include "prescient/learn/predictor.hpp"

namespace prescient::learn {

/// What the learned policy needs of a model on its hot path.
template <class P>
concept row_predictor = requires(const P& p, const float* row) {
  { p.predict_row(row) } -> std::convertible_to<float>;
  { p.num_features() } -> std::convertible_to<std::size_t>;
};

/// Trains a model of type P; throws model_error (or feature_error) when it cannot.
template <class P>
using trainer = std::function<std::shared_ptr<const P>(const feature_matrix& rows, std::span<const float> labels)>;

/// The trainer used when the policy's config names none. Specialise per predictor type.
template <class P>
struct default_trainer;

template <>
struct default_trainer<linear_predictor> {
  static std::shared_ptr<const linear_predictor> train(const feature_matrix& rows, std::span<const float> labels) {
    return std::make_shared<const linear_predictor>(linear_predictor::train(rows, labels));
  }
  /// 0/1 labels: a linear probability model (the same least squares).
  static std::shared_ptr<const linear_predictor> train_classifier(const feature_matrix& rows,
                                                                  std::span<const float> labels) {
    return train(rows, labels);
  }
};

}  // namespace prescient::learn
