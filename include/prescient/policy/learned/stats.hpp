// prescient/policy/learned/stats.hpp — what the learned policy did, and why.
#pragma once

#include <cstdint>
#include <string>

namespace prescient::policy {

/// What the learned policy did, and why. Every decision driven by a prediction is
/// counted here.
struct learned_stats {
  std::uint64_t model_evictions = 0;     ///< victims chosen by the model
  std::uint64_t fallback_evictions = 0;  ///< victims chosen by the referee's heuristic (no model)
  std::uint64_t recency_evictions = 0;   ///< least recently used victims, while LRU is the referee's heuristic
  std::uint64_t panel_evictions = 0;     ///< victims of another panel heuristic, while the model is out or guarded
  std::uint64_t model_epochs = 0;        ///< duel epochs the model decided
  std::uint64_t lru_epochs = 0;          ///< duel epochs the heuristic decided (the model had lost)
  std::uint64_t heuristic_switches = 0;  ///< times the panel's best heuristic changed
  std::uint64_t guarded_epochs = 0;      ///< epochs LRU decided because the run was over its budget
  std::uint64_t guard_trips = 0;         ///< times the run went over budget (see learned_config::guard)
  std::uint64_t guard_restarts = 0;      ///< times the guard's account started afresh (learned_config::guard_restart)
  std::uint64_t routs = 0;               ///< model epochs cut short: lost badly before their end
  std::uint64_t admissions = 0;          ///< missed keys the model admitted
  std::uint64_t bypasses = 0;            ///< missed keys the model kept out
  std::uint64_t rankings = 0;            ///< candidate samples scored
  std::uint64_t rows_scored = 0;         ///< feature rows the model scored
  std::uint64_t rows_screened_out = 0;   ///< rows scored by the first trees only (see `screen_trees`)
  std::uint64_t samples = 0;             ///< training rows collected
  std::uint64_t labelled = 0;            ///< training rows whose label is known
  std::uint64_t expired_rows = 0;        ///< training rows given the far label because their entry expired
  std::uint64_t retrains = 0;            ///< models trained and installed
  std::uint64_t last_training_rows = 0;  ///< rows handed to the newest training
  /// Requests from the oldest row in the training ring to the newest training: the
  /// stretch its rows were sampled over (learned_config::sample_span).
  std::uint64_t last_training_span = 0;
  std::uint64_t training_failures = 0;   ///< trainer calls that threw (old model kept)
  std::uint64_t model_failures = 0;      ///< models dropped for scoring NaN
  double training_seconds = 0;           ///< wall time inside the trainer
  double training_wait_seconds = 0;      ///< pipelined: wall time requests waited for the trainer
  double inference_seconds = 0;          ///< wall time scoring (rankings and admissions)
  /// Held-out classification of "requested again within the horizon": rows collected
  /// after a model was installed, scored by it, checked when the next model is trained.
  std::uint64_t true_positives = 0, false_positives = 0, false_negatives = 0, true_negatives = 0;
  bool model_active = false;  ///< a model currently drives decisions
  std::string heuristic = "s3fifo";  ///< the panel's heuristic now (who decides without the model)
  std::string last_error;     ///< the last training failure, for logs

  /// Held-out rows checked so far. Zero until a second model is trained (a model is
  /// checked when the next one is trained): then precision, recall and F1 read 0 but
  /// measure nothing, and a report should say so.
  [[nodiscard]] std::uint64_t held_out_rows() const {
    return true_positives + false_positives + false_negatives + true_negatives;
  }
  [[nodiscard]] double precision() const {
    return true_positives + false_positives ? double(true_positives) / double(true_positives + false_positives) : 0;
  }
  [[nodiscard]] double recall() const {
    return true_positives + false_negatives ? double(true_positives) / double(true_positives + false_negatives) : 0;
  }
  [[nodiscard]] double f1() const {
    const double p = precision(), r = recall();
    return p + r > 0 ? 2 * p * r / (p + r) : 0;
  }
};

}  // namespace prescient::policy
