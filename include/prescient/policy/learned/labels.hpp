// prescient/policy/learned/labels.hpp — the learned policy's scale of time for its
// labels and its model's scores, and the held-out check of a model.
//
// Labels (features.hpp, `next_access_label`) are censored at a window W =
// `window_per_entry` × the resident entries (at least 1,024 requests), and are
// log1p(gap / unit) with a unit of `label_unit` × W (1 request when 0): gaps far shorter
// than the window all come back before an eviction could matter. A model's score is
// read back in the unit it was trained in (`model_unit`: 1 for a model from elsewhere).
// With classification (`classify`) the label is "requested again within the boundary
// B", B = `boundary_per_entry` × the time an entry stays in the cache (entries / misses
// per request since the last training), and a chance p of a request within B reads as
// an expected gap τ = −B / ln(1 − p) — what p would be if requests were memoryless.
//
// The held-out check: a new training scores the current model on the rows labelled since
// it was installed (rows it never saw), as a classifier of "requested again within the
// horizon H" (`horizon_per_entry` × entries): precision and recall in the stats.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "prescient/learn/features.hpp"
#include "prescient/policy/learned/stats.hpp"

namespace prescient::policy::detail {

/// The learned policy's parameters of the same names (config.hpp keeps the defaults).
struct label_scale_config {
  double window_per_entry;    ///< censoring window W = this × resident entries
  double horizon_per_entry;   ///< horizon H of the held-out metrics = this × entries
  double label_unit;          ///< the labels' unit, as a share of W (0: one request)
  bool classify;              ///< labels are "requested within the boundary" (0 or 1)
  double boundary_per_entry;  ///< the boundary B = this × an entry's stay
};

class label_scale {
 public:
  explicit label_scale(const label_scale_config& cfg) : cfg_(cfg) {}

  /// A miss of the cache (the boundary's estimate of an entry's stay counts them).
  void miss() noexcept { ++interval_misses_; }

  /// The censoring window for `residents` entries, in requests.
  [[nodiscard]] std::uint64_t window(std::size_t residents) const {
    return std::max<std::uint64_t>(1024, static_cast<std::uint64_t>(cfg_.window_per_entry * static_cast<double>(residents)));
  }

  /// How rows are labelled at window `window` with `residents` entries.
  [[nodiscard]] learn::label_config labels(std::uint64_t window, std::size_t residents) const {
    const double entries = static_cast<double>(std::max<std::size_t>(residents, 1));
    if (cfg_.classify) return learn::label_config{std::max(window, boundary_), std::max<std::uint64_t>(1, boundary_)};
    return learn::label_config{window, std::max<std::uint64_t>(1, static_cast<std::uint64_t>(cfg_.horizon_per_entry * entries)),
                               cfg_.label_unit > 0 ? std::max(1.0, cfg_.label_unit * static_cast<double>(window)) : 1.0};
  }

  /// Classification: the boundary from the misses since the last call (or the start),
  /// at logical time `now` with `residents` entries.
  void set_boundary(std::uint64_t now, std::size_t residents) {
    const double requests = static_cast<double>(std::max<std::uint64_t>(now - interval_start_, 1));
    const double miss_ratio = std::max(static_cast<double>(interval_misses_) / requests, 1e-3);
    const double entries = static_cast<double>(std::max<std::size_t>(residents, 1));
    boundary_ = std::max<std::uint64_t>(1, static_cast<std::uint64_t>(cfg_.boundary_per_entry * entries / miss_ratio));
    interval_start_ = now;
    interval_misses_ = 0;
  }
  [[nodiscard]] std::uint64_t boundary() const noexcept { return boundary_; }

  /// The unit of the labels the installed model was trained on.
  void set_model_unit(double unit) noexcept { model_unit_ = unit; }
  [[nodiscard]] double model_unit() const noexcept { return model_unit_; }

  /// A score of the installed model as the expected requests to the next request.
  [[nodiscard]] double time_to_next(float score) const {
    if (!cfg_.classify) return learn::label_gap(score, model_unit_);
    const double p = std::clamp(static_cast<double>(score), 1e-6, 1 - 1e-6);
    return -static_cast<double>(boundary_) / std::log1p(-p);
  }

 private:
  label_scale_config cfg_;
  double model_unit_ = 1.0;            // the unit of the installed model's labels
  std::uint64_t interval_misses_ = 0;  // misses since interval_start_ (boundary estimate)
  std::uint64_t interval_start_ = 0;
  std::uint64_t boundary_ = 1;         // the classifier's boundary, set at training
};

/// Scores `model` on held-out rows `x` (`reused[r]`: row r's key was requested again
/// within the horizon) as a classifier of reuse — a regression score at most
/// `threshold` (the horizon in the model's unit), or a chance of at least ½ — and adds
/// the confusion counts to `stats`. Up to `max_rows` rows, evenly spread: the metrics'
/// sampling error is then well under a per cent, and scoring every row cost a few per
/// cent of a replay.
template <class Predictor>
void score_held_out(const Predictor& model, const learn::feature_matrix& x, const std::vector<std::uint8_t>& reused,
                    float threshold, bool classify, std::size_t max_rows, learned_stats& stats) {
  const auto n = static_cast<std::size_t>(x.rows());
  const std::size_t stride = std::max<std::size_t>(1, (n + max_rows - 1) / max_rows);
  for (std::size_t r = 0; r < n; r += stride) {
    const float score = model.predict_row(x.row(static_cast<Eigen::Index>(r)).data());
    const bool predicted = classify ? score >= 0.5f : score <= threshold;
    const bool actual = reused[r] != 0;
    (predicted ? (actual ? stats.true_positives : stats.false_positives)
               : (actual ? stats.false_negatives : stats.true_negatives))++;
  }
}

}  // namespace prescient::policy::detail
