// prescient/policy/learned/online_training.hpp — the learned policy's training loop:
// the rows it samples, their labels, and the retrains that turn them into models.
//
//   sample ──► training ring (training_ring.hpp; kept or thinned by the schedule,
//              training_schedule.hpp) ──► labelled by the key's next request, or
//              censored when none comes within the window W (labels.hpp)
//   retrain due ──► sweep (censor rows older than W) ──► enough labelled rows?
//              no: try again soon; yes: check the current model on the rows labelled
//              since it came (held out), collect the newest `max_rows` rows, and train
//              them here, on a worker (model_training.hpp), or give them to the
//              shards' shared trainer (shared_model.hpp)
//
// The policy keeps the model and the features, and says how a model is installed; this
// part never decides a victim. Training is off when the mode is `off` or there is no
// trainer: rows are still sampled and labelled (the stats count them), and no retrain
// starts — so no held-out check either, which runs at a retrain.
//
// Cost: a sample is a ring slot and a feature row; a request of a key with a row
// waiting, one probe of the ring's index; a retrain, O(ring) to sweep and collect.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "prescient/learn/features.hpp"
#include "prescient/policy/learned/config.hpp"
#include "prescient/policy/learned/labels.hpp"
#include "prescient/policy/learned/model_training.hpp"
#include "prescient/policy/learned/shared_model.hpp"
#include "prescient/policy/learned/stats.hpp"
#include "prescient/policy/learned/training_ring.hpp"
#include "prescient/policy/learned/training_schedule.hpp"

namespace prescient::policy::detail {

/// The learned policy's knobs of the same names (learned/config.hpp has their defaults).
struct online_training_config {
  std::size_t ring_rows;      ///< `training_rows`: the ring's rows
  std::size_t min_rows;       ///< `min_training_rows`: labelled rows a retrain needs
  std::size_t max_rows;       ///< `max_training_rows`: a retrain uses at most the newest this many
  bool classify;              ///< labels are "requested within the boundary" (0 or 1)
  bool trains;                ///< a trainer and a mode other than `off`
  training_schedule_config schedule;
};

template <class Predictor>
class online_training {
 public:
  /// `shared`: the shards' shared model and trainer (null outside a concurrent_cache);
  /// this policy joins it as one of its shards.
  online_training(const online_training_config& cfg, model_training<Predictor> training,
                  std::shared_ptr<shared_model<Predictor>> shared)
      : cfg_(cfg), ring_(cfg.ring_rows), schedule_(cfg.schedule), training_(std::move(training)), shared_(std::move(shared)) {
    if (shared_) shard_ = shared_->join();
  }

  online_training(online_training&&) noexcept = default;
  online_training& operator=(online_training&&) noexcept = default;

  /// Offers a row of the key with history `h` at `now` (`size`: its weight), written by
  /// `features`. Kept unless sampling is paused or thinned, or the key already has a row
  /// waiting; a kept row marks the history (`row_waiting`).
  void sample(std::uint64_t key_hash, learn::key_history& h, std::uint64_t now, std::uint64_t size,
              const learn::feature_extractor& features, learned_stats& stats) {
    if (!schedule_.keep_row(now)) return;
    float* row = ring_.add(key_hash, now, h.row_waiting || !h.seen());
    if (row == nullptr) return;
    h.row_waiting = 1;
    features.write(h, now, size, row);
    ++stats.samples;
  }

  /// A request of the key at `now`, before `h` records it: labels its waiting row. Only
  /// a key sampled since its last request, or whose history was forgotten (never seen,
  /// as far as `h` knows), can have one: other requests skip the probe.
  void requested(std::uint64_t key_hash, learn::key_history& h, std::uint64_t now, learned_stats& stats) {
    if (!h.row_waiting && h.seen()) return;
    if (ring_.label(key_hash, now)) ++stats.labelled;
    h.row_waiting = 0;
  }

  /// The key's entry expired at its deadline: its waiting row, if any, is censored (a
  /// next request after the deadline could not have been a hit).
  void expired(std::uint64_t key_hash, learn::key_history& h, learned_stats& stats) {
    if (h.row_waiting && ring_.censor(key_hash)) ++stats.expired_rows;
    h.row_waiting = 0;
  }

  /// The cache was cleared at `now`: the ring is emptied and sampling starts afresh.
  void clear(std::uint64_t now) {
    ring_.clear();
    schedule_.restart_sampling(now);
  }

  /// After request `now`: installs a model trained in the background once it is done,
  /// or a pipelined one once it is due (`install(model, unit)`).
  template <class Install>
  void collect(std::uint64_t now, learned_stats& stats, Install&& install) {
    training_.collect(now, stats, install);
  }

  /// Waits for a training in flight, then installs its model.
  template <class Install>
  void wait(learned_stats& stats, Install&& install) {
    training_.wait(stats, install);
  }

  /// After request `now`, with `residents` entries and `model` deciding (null: none):
  /// starts a retrain if one is due (see the header). `scale` gives the labels and the
  /// unit the current model's scores are in; with classification the retrain sets its
  /// boundary.
  template <class Install>
  void retrain_if_due(std::uint64_t now, std::size_t residents, const Predictor* model, label_scale& scale,
                      learned_stats& stats, Install&& install) {
    if (!schedule_.due(now) || !cfg_.trains) return;
    const std::uint64_t window = scale.window(residents);
    stats.labelled += ring_.sweep(now, window);
    if (stats.labelled < cfg_.min_rows) {
      schedule_.retry_soon(now);
      return;
    }
    schedule_.start(now, ring_.next_id(), ring_.capacity(), window);
    if (model != nullptr) score_held_out(*model, scale, scale.labels(window, residents), stats);
    if (cfg_.classify) scale.set_boundary(now, residents);  // how long an entry stays
    const learn::label_config lc = scale.labels(window, residents);
    learn::feature_matrix x;
    std::vector<float> y;
    std::vector<std::uint8_t> reused;
    ring_.collect(0, lc, x, y, &reused);
    if (cfg_.classify)
      for (std::size_t i = 0; i < y.size(); ++i) y[i] = reused[i] ? 1.0f : 0.0f;
    held_out_from_ = ring_.next_id();
    if (static_cast<std::size_t>(x.rows()) > cfg_.max_rows) {  // keep the newest rows
      const auto keep = static_cast<Eigen::Index>(cfg_.max_rows);
      x = learn::feature_matrix(x.bottomRows(keep));
      y.erase(y.begin(), y.end() - keep);
    }
    if (x.rows() == 0) return;
    stats.last_training_rows = static_cast<std::uint64_t>(x.rows());
    stats.last_training_span = now - ring_.oldest_time();
    if (shared_) {  // the shards' one trainer trains on every shard's rows
      shared_->contribute(shard_, std::move(x), std::move(y), cfg_.classify ? 0.0 : lc.unit);
      return;
    }
    training_.train(std::move(x), std::move(y), lc.unit, now, stats, install);
  }

  /// The ring's rows (`training_rows`; in a concurrent_cache, its 1/S share).
  [[nodiscard]] std::size_t ring_rows() const { return ring_.capacity(); }
  /// The ring itself (tests).
  [[nodiscard]] const training_ring& ring() const { return ring_; }
  /// When the next retrain is due, and the share of offered rows kept until then.
  [[nodiscard]] const training_schedule& schedule() const { return schedule_; }

  /// Held-out rows scored at most per retrain (score_held_out, labels.hpp).
  static constexpr std::size_t held_out_rows = 8192;

 private:
  // The current model on the rows labelled since it was installed (rows it never saw).
  void score_held_out(const Predictor& model, const label_scale& scale, const learn::label_config& lc,
                      learned_stats& stats) const {
    learn::feature_matrix x;
    std::vector<float> y;
    std::vector<std::uint8_t> reused;
    ring_.collect(held_out_from_, lc, x, y, &reused);
    learn::label_config scored = lc;
    scored.unit = scale.model_unit();  // the model's scores are in the unit it was trained in
    detail::score_held_out(model, x, reused, learn::horizon_score(scored), cfg_.classify, held_out_rows, stats);
  }

  online_training_config cfg_;
  training_ring ring_;
  training_schedule schedule_;          // when to retrain, and which offered rows the ring keeps
  model_training<Predictor> training_;  // synchronous, background or pipelined
  std::shared_ptr<shared_model<Predictor>> shared_;
  std::size_t shard_ = 0;               // this policy's number among the shared model's shards
  std::uint64_t held_out_from_ = 0;     // the first ring row the current model has not seen
};

}  // namespace prescient::policy::detail
