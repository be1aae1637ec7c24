// prescient/policy/learned/training_schedule.hpp — when the learned policy retrains, and
// which of the rows offered to its training ring it keeps meanwhile.
//
// Retrains. The first is tried after `first_model` requests, and again every quarter of
// `first_retrain` requests while too few rows are labelled; from the first on, the
// interval between retrains doubles, from `first_retrain` up to `retrain_every`.
//
// Rows. A retrain uses the newest rows of the ring (learned/training_ring.hpp), so once
// retrains are far apart, rows sampled at the full rate would all come from the stretch
// just before a retrain (learned_stats::last_training_span shows which stretch). With
// `sample_span` (the default), each offered row is kept with the probability that makes
// the ring span `sample_span` × the coming interval, at the rate of rows offered a
// request over the interval just ended; the ring then holds rows spread over that
// stretch (the draws are a stream of their own, so the ranking's draws are those of the
// unthinned policy until the rows differ; models trained on a long stretch ranked
// better: docs/experiments.md, "Training rows spread over two retrain intervals").
// Without it, and with `pause_sampling`, sampling pauses until shortly before the next
// retrain: 1.5 × the requests the ring took to fill at the rate seen last, plus the
// censoring window — the same rows as sampling all the time, at a quarter of the cost (a
// few rows differ: a key whose row from before the pause would still have been waiting,
// and so blocked a second one, may now be sampled; over 18 seeds of orm-busy the miss
// ratios agree to 0.1%). The held-out metrics see only the rows the ring was given.
//
// Cost: O(1) a row offered (a draw while thinning) and a retrain.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "prescient/hash.hpp"

namespace prescient::policy::detail {

/// The learned policy's knobs of the same names (learned/config.hpp has their defaults).
struct training_schedule_config {
  std::uint64_t first_model;    ///< requests before the first training is tried
  std::uint64_t first_retrain;  ///< the interval after the first model (it doubles)
  std::uint64_t retrain_every;  ///< the interval doubles up to this
  double sample_span;           ///< the ring spans this many intervals (0: no thinning)
  bool pause_sampling;          ///< without thinning: no rows long before a retrain
  std::uint64_t seed;           ///< the thinning's draws
};

class training_schedule {
 public:
  explicit training_schedule(const training_schedule_config& cfg)
      : cfg_(cfg), next_(cfg.first_model), interval_(cfg.first_retrain / 2), thin_rng_(cfg.seed ^ 0x6a09e667f3bcc909ULL) {}

  /// Whether a retrain is due at request `now`.
  [[nodiscard]] bool due(std::uint64_t now) const { return now >= next_; }

  /// Too few rows were labelled for a first model at `now`: try again soon.
  void retry_soon(std::uint64_t now) { next_ = now + cfg_.first_retrain / 4 + 1; }

  /// A retrain starts at `now`: the next is due one (doubled) interval later, and the
  /// rows until then are thinned or paused. `ring_rows`: the rows the ring has taken
  /// since it was last cleared; `ring_capacity`: its rows; `window`: the censoring
  /// window in requests (a row needs that long to be labelled).
  void start(std::uint64_t now, std::uint64_t ring_rows, std::size_t ring_capacity, std::uint64_t window) {
    interval_ = std::min<std::uint64_t>(interval_ * 2, cfg_.retrain_every);
    next_ = now + interval_;
    const std::uint64_t rows = ring_rows - sampled_rows_at_;
    const std::uint64_t requests = now > sampling_since_ ? now - sampling_since_ : 0;
    sample_from_ = 0;
    if (cfg_.sample_span > 0) {
      if (requests > 0) {
        const double offered = static_cast<double>(offered_rows_ - offered_at_) / static_cast<double>(requests);
        const double wanted = cfg_.sample_span * static_cast<double>(interval_) * offered;
        const auto capacity = static_cast<double>(ring_capacity);
        keep_share_ = wanted > capacity ? capacity / wanted : 1.0;
      }
    } else if (cfg_.pause_sampling && rows > 0 && requests > 0 && ring_capacity > 0) {
      const double per_request = static_cast<double>(rows) / static_cast<double>(requests);
      const double lead = 1.5 * static_cast<double>(ring_capacity) / per_request + static_cast<double>(window);
      if (lead < static_cast<double>(next_ - now)) sample_from_ = next_ - static_cast<std::uint64_t>(lead);
    }
    sampling_since_ = std::max(now, sample_from_);
    sampled_rows_at_ = ring_rows;
    offered_at_ = offered_rows_;
  }

  /// A row offered for the ring at `now`: whether the ring takes it (sampling is not
  /// paused, and the thinning keeps it).
  [[nodiscard]] bool keep_row(std::uint64_t now) {
    if (now < sample_from_) return false;
    ++offered_rows_;
    return keep_share_ >= 1.0 || unit_draw() < keep_share_;
  }

  /// The ring was emptied at `now` (the cache was cleared): sampling starts afresh, at
  /// the full rate; the retrain clock runs on.
  void restart_sampling(std::uint64_t now) {
    sample_from_ = sampled_rows_at_ = 0;
    sampling_since_ = now;
    offered_rows_ = offered_at_ = 0;
    keep_share_ = 1.0;
  }

  [[nodiscard]] std::uint64_t next_retrain() const { return next_; }
  [[nodiscard]] std::uint64_t interval() const { return interval_; }
  /// The share of offered rows kept until the next retrain.
  [[nodiscard]] double keep_share() const { return keep_share_; }
  /// No rows are taken before this request (0: none paused).
  [[nodiscard]] std::uint64_t sampling_from() const { return sample_from_; }

 private:
  // splitmix64's stream: the state advances by the golden gamma, its finaliser is the draw.
  double unit_draw() { return static_cast<double>(mix64(thin_rng_ += 0x9e3779b97f4a7c15ULL) >> 11) * 0x1.0p-53; }

  training_schedule_config cfg_;
  std::uint64_t next_;                // the next retrain is due at this request
  std::uint64_t interval_;            // between the last retrain and the next
  std::uint64_t sample_from_ = 0;     // no rows before this request
  std::uint64_t sampling_since_ = 0;  // since when, and from which ring row, the rate is measured
  std::uint64_t sampled_rows_at_ = 0;
  std::uint64_t offered_rows_ = 0;    // rows offered (before thinning), and
  std::uint64_t offered_at_ = 0;      // their count at the last retrain
  double keep_share_ = 1.0;           // the share of offered rows kept
  std::uint64_t thin_rng_;
};

}  // namespace prescient::policy::detail
