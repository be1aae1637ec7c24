// fuzz/model_fuzz.hpp — what the model fuzzers check of a model that loads: it scores a
// few fixed rows (values, missing values, extreme values) to finite numbers, the staged
// sum (accumulate / finish) equals predict_row bit for bit, and the batch call agrees
// with the row call. A model too wide for the fixed rows (more than max_features
// columns) is only loaded, not scored.
#pragma once

#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <vector>

#include "prescient/learn/compiled_forest.hpp"
#include "prescient/learn/predictor.hpp"

namespace prescient::fuzz {

inline constexpr std::size_t max_features = 4096;

// Row `r` of the fixed rows, `n` columns wide.
inline std::vector<float> fixed_row(std::size_t r, std::size_t n) {
  std::vector<float> row(n);
  for (std::size_t c = 0; c < n; ++c) {
    switch (r) {
      case 0: row[c] = 0.0f; break;
      case 1: row[c] = static_cast<float>(c % 7) * 0.37f - 1.0f; break;
      case 2: row[c] = std::numeric_limits<float>::quiet_NaN(); break;  // every value missing
      case 3: row[c] = c % 2 == 0 ? 1e30f : -1e30f; break;
      default: row[c] = c % 3 == 0 ? std::numeric_limits<float>::quiet_NaN() : static_cast<float>(c) * 0.5f;
    }
  }
  return row;
}
inline constexpr std::size_t fixed_rows = 5;

// The rows as one batch.
inline learn::feature_matrix fixed_batch(std::size_t n) {
  learn::feature_matrix rows(static_cast<Eigen::Index>(fixed_rows), static_cast<Eigen::Index>(n));
  for (std::size_t r = 0; r < fixed_rows; ++r) {
    const std::vector<float> row = fixed_row(r, n);
    for (std::size_t c = 0; c < n; ++c) rows(static_cast<Eigen::Index>(r), static_cast<Eigen::Index>(c)) = row[c];
  }
  return rows;
}

inline bool same_bits(float a, float b) { return std::bit_cast<std::uint32_t>(a) == std::bit_cast<std::uint32_t>(b); }

// Traps unless `f` scores the fixed rows to finite numbers, the same through every path.
inline void check_forest(const learn::compiled_forest& f) {
  const std::size_t n = f.num_features();
  if (n == 0) __builtin_trap();  // a loaded model has at least one feature
  if (n > max_features) return;
  const learn::feature_matrix batch = fixed_batch(n);
  std::vector<float> scores(fixed_rows);
  f.predict(batch, scores);
  const std::size_t trees = f.num_trees();
  for (std::size_t r = 0; r < fixed_rows; ++r) {
    const std::vector<float> row = fixed_row(r, n);
    const float s = f.predict_row(row.data());
    if (!std::isfinite(s)) __builtin_trap();  // a model that loads scores finite values
    if (!same_bits(s, scores[r])) __builtin_trap();
    const float half = f.accumulate(row.data(), f.base_margin(), 0, trees / 2);
    if (!same_bits(f.finish(f.accumulate(row.data(), half, trees / 2, trees)), s)) __builtin_trap();
  }
}

}  // namespace prescient::fuzz
