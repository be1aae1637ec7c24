// prescient/learn/linear_predictor.hpp — ridge regression in closed form (Eigen only).
//
// The baseline every tree model must beat, and the learned policy's model when xgboost
// is not available. Training normalises the columns (z-score, features.hpp's
// running_normaliser; a missing value becomes the column mean), then solves the ridge
// normal equations
//
//     (Xᵀ X + λ n I) w = Xᵀ (y − ȳ),     bias = ȳ
//
// with Eigen's LDLT (XᵀX + λnI is symmetric positive definite for λ > 0), so training
// costs O(n·d² + d³) and never iterates. The normalisation is folded into the weights
// afterwards, so a prediction is one dot product over the raw row: no copy, no
// allocation, O(d) — `predict_row` is the hot path the learned policy calls.
#pragma once

#include <Eigen/Cholesky>
#include <Eigen/Core>

#include <cmath>
#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "prescient/learn/features.hpp"
#include "prescient/learn/predictor.hpp"

namespace prescient::learn {

class linear_predictor final : public predictor {
 public:
  /// Fits on `rows` (NaN: missing) and `labels`. `lambda` is the ridge penalty per row
  /// (scaled by n, so it means the same for any dataset size). Throws feature_error on
  /// an infinite feature or a size mismatch, model_error on an empty dataset or a
  /// non-finite label.
  static linear_predictor train(const feature_matrix& rows, std::span<const float> labels, double lambda = 1e-3) {
    if (rows.rows() == 0) throw model_error("linear_predictor: cannot train on an empty dataset");
    check_batch(rows, static_cast<std::size_t>(rows.cols()), labels);
    for (std::size_t i = 0; i < labels.size(); ++i)
      if (!std::isfinite(labels[i]))
        throw model_error("linear_predictor: label " + std::to_string(i) + " is not finite");
    running_normaliser norm(static_cast<std::size_t>(rows.cols()));
    norm.update(rows);
    feature_matrix z = rows;
    norm.apply(z);
    const Eigen::MatrixXd x = z.cast<double>();
    const Eigen::VectorXd y = Eigen::Map<const Eigen::VectorXf>(labels.data(), static_cast<Eigen::Index>(labels.size())).cast<double>();
    const double y_mean = y.mean();
    const auto d = x.cols();
    Eigen::MatrixXd gram = x.transpose() * x;
    gram.diagonal().array() += std::max(lambda, 1e-12) * static_cast<double>(x.rows());
    const Eigen::VectorXd w = gram.ldlt().solve(x.transpose() * (y.array() - y_mean).matrix());
    if (!w.allFinite()) throw model_error("linear_predictor: the ridge system has no finite solution");

    // Fold the normalisation in: w·(x − μ)/σ + ȳ = Σ (w/σ)·x + (ȳ − Σ w·μ/σ).
    linear_predictor out;
    out.weights_.resize(static_cast<std::size_t>(d));
    out.means_.resize(static_cast<std::size_t>(d));
    double bias = y_mean;
    const Eigen::ArrayXd sd = norm.stddev();
    for (Eigen::Index c = 0; c < d; ++c) {
      const double scaled = sd(c) > 1e-12 ? w(c) / sd(c) : 0.0;
      out.weights_[static_cast<std::size_t>(c)] = static_cast<float>(scaled);
      out.means_[static_cast<std::size_t>(c)] = static_cast<float>(norm.mean()(c));
      bias -= scaled * norm.mean()(c);
    }
    out.bias_ = static_cast<float>(bias);
    return out;
  }

  /// The score of one row of num_features() values; NaN counts as the training mean.
  [[nodiscard]] float predict_row(const float* row) const noexcept {
    float sum = bias_;
    for (std::size_t c = 0; c < weights_.size(); ++c) sum += weights_[c] * (std::isnan(row[c]) ? means_[c] : row[c]);
    return sum;
  }

  void predict(const feature_matrix& rows, std::span<float> out) const override {
    check_batch(rows, num_features(), out);
    for (Eigen::Index r = 0; r < rows.rows(); ++r) out[static_cast<std::size_t>(r)] = predict_row(rows.row(r).data());
  }

  [[nodiscard]] std::string_view name() const noexcept override { return "linear"; }
  [[nodiscard]] std::string version() const override {
    return "ridge regression, " + std::to_string(weights_.size()) + " features";
  }
  [[nodiscard]] std::size_t num_features() const noexcept override { return weights_.size(); }
  /// Weights on the raw (unnormalised) columns, and the bias.
  [[nodiscard]] std::span<const float> weights() const noexcept { return weights_; }
  [[nodiscard]] float bias() const noexcept { return bias_; }

 private:
  linear_predictor() = default;
  std::vector<float> weights_;
  std::vector<float> means_;
  float bias_ = 0;
};

}  // namespace prescient::learn
