// prescient/policy/learned/scorer.hpp — how a ranking scores its candidates: every row
// through the first trees of the forest, the rest of the trees only for the rows that
// could still be victims.
#pragma once

#include <algorithm>
#include <cmath>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "prescient/learn/features.hpp"

namespace prescient::policy::detail {

/// The `n` farthest of the items [0, count) into `order`, farthest first, by
/// `farther(a, b)` (strict). Of equal items the earlier wins, so a caller that lists its
/// items by preference (the learned policy: young candidates, then the least recently
/// used, then the random draws) gets that order among ties — not wherever a selection
/// algorithm happens to leave them. O(count × n), n a handful; no allocation once
/// `order` holds n + 1.
template <class Farther>
void select_farthest(std::vector<std::uint32_t>& order, std::size_t count, std::size_t n, Farther&& farther) {
  order.clear();
  if (n == 0) return;
  for (std::uint32_t i = 0; i < count; ++i) {
    if (order.size() == n) {
      if (!farther(i, order.back())) continue;
      order.pop_back();
    }
    auto at = order.end();
    while (at != order.begin() && farther(i, *(at - 1))) --at;
    order.insert(at, i);
  }
}

/// A forest that can score in stages (compiled_forest): a margin accumulated over a
/// range of trees, then finished into the prediction.
template <class P>
concept staged_forest = requires(const P& p, const float* r) {
  { p.accumulate(r, 0.0f, std::size_t{0}, std::size_t{1}) } -> std::convertible_to<float>;
  { p.finish(0.0f) } -> std::convertible_to<float>;
  { p.base_margin() } -> std::convertible_to<float>;
  { p.num_trees() } -> std::convertible_to<std::size_t>;
};

/// A staged forest that also scores a block of rows at once, tree by tree.
template <class P>
concept block_forest = staged_forest<P> && requires(const P& p, const float* const* rows, float* margins) {
  p.accumulate_block(rows, std::size_t{0}, margins, std::size_t{0}, std::size_t{1});
  { p.scores_blocks() } -> std::convertible_to<bool>;
  P::block_rows;
};

/// How a ranking's rows are screened.
struct screen_settings {
  std::size_t trees = 8;  ///< trees every row gets (0, or all of them: no screen)
  std::size_t keep = 8;   ///< rows, farthest by their partial scores, that get the rest
  bool classify = false;  ///< scores are chances of a request (farthest: smallest), not gaps
};

/// Scores up to `max_rows` feature rows of one ranking. The caller writes the rows
/// (`row(j)`), then `score(model, m, screen)` fills `score(j)` and `complete(j)` —
/// whether row j got the whole model. A forest that scores in stages is screened: every
/// row gets the first `screen.trees` trees, and only the `screen.keep` rows whose
/// partial scores say farthest get the rest — the victims are among them unless the
/// remaining trees reorder the ranking's top — and a completed score equals a one-pass
/// score bit for bit. Other predictors score every row whole. No allocation per call.
template <class Predictor>
class screened_scorer {
 public:
  explicit screened_scorer(std::size_t max_rows)
      : rows_(static_cast<Eigen::Index>(max_rows), static_cast<Eigen::Index>(learn::feature_count)),
        scores_(max_rows) {
    complete_.reserve(max_rows);
    order_.reserve(max_rows + 1);
  }

  [[nodiscard]] float* row(std::size_t j) noexcept { return rows_.row(static_cast<Eigen::Index>(j)).data(); }
  [[nodiscard]] float score(std::size_t j) const noexcept { return scores_[j]; }
  [[nodiscard]] bool complete(std::size_t j) const noexcept { return complete_[j] != 0; }

  /// Scores rows [0, m) with `model`; returns how many were completed. A NaN among the
  /// partial scores stops the screen: every row is then marked complete and the caller,
  /// which checks every score for NaN, drops the model.
  std::size_t score(const Predictor& model, std::size_t m, const screen_settings& screen) {
    complete_.assign(m, 1);
    if constexpr (staged_forest<Predictor>) {
      const std::size_t trees = model.num_trees(), first = screen.trees;
      const std::size_t keep = std::min(screen.keep, m);
      if (first > 0 && first < trees) {
        std::fill_n(scores_.begin(), m, model.base_margin());
        add_trees(model, m, [](std::size_t j) { return j; }, 0, first);
        for (std::size_t j = 0; j < m; ++j)
          if (std::isnan(scores_[j])) return m;  // (and a selection needs an order)
        // The farthest first: the largest predicted gap (regression), or the smallest
        // chance of a request within the boundary (classification).
        select_farthest(order_, m, keep, [&](std::uint32_t a, std::uint32_t b) {
          return screen.classify ? scores_[a] < scores_[b] : scores_[a] > scores_[b];
        });
        if (keep < m) std::fill(complete_.begin(), complete_.end(), 0);
        add_trees(model, keep, [&](std::size_t i) { return order_[i]; }, first, trees);
        for (std::size_t i = 0; i < keep; ++i) {
          const std::uint32_t j = order_[i];
          scores_[j] = model.finish(scores_[j]);
          complete_[j] = 1;
        }
        return keep;
      }
    }
    if constexpr (requires { model.predict_rows(rows_.data(), m, learn::feature_count, scores_.data()); }) {
      model.predict_rows(rows_.data(), m, learn::feature_count, scores_.data());
    } else {
      for (std::size_t i = 0; i < m; ++i) scores_[i] = model.predict_row(row(i));
    }
    return m;
  }

 private:
  // scores_[j] += trees [from, to) for the `count` rows j = index(0), index(1), …: a
  // block of rows at a time where the forest scores blocks (the same sums, bit for bit).
  template <class Index>
  void add_trees(const Predictor& model, std::size_t count, Index&& index, std::size_t from, std::size_t to) {
    if constexpr (block_forest<Predictor>) {
      if (model.scores_blocks()) {
        constexpr std::size_t lanes = Predictor::block_rows;
        for (std::size_t b = 0; b < count; b += lanes) {
          const std::size_t c = std::min(lanes, count - b);
          const float* rows[lanes];
          float margins[lanes];
          for (std::size_t i = 0; i < c; ++i) {
            rows[i] = row(index(b + i));
            margins[i] = scores_[index(b + i)];
          }
          model.accumulate_block(rows, c, margins, from, to);
          for (std::size_t i = 0; i < c; ++i) scores_[index(b + i)] = margins[i];
        }
        return;
      }
    }
    for (std::size_t i = 0; i < count; ++i) scores_[index(i)] = model.accumulate(row(index(i)), scores_[index(i)], from, to);
  }

  learn::feature_matrix rows_;
  std::vector<float> scores_;
  std::vector<std::uint8_t> complete_;
  std::vector<std::uint32_t> order_;
};

}  // namespace prescient::policy::detail
