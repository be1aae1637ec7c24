// prescient/policy/learned/referee.hpp — who decides the learned policy's evictions: the
// model, or LRU. It is driven by two miss streams (the cache's and a shadow LRU's over
// the same requests) and a request clock, and knows nothing else of the cache, so it can
// be tested on synthetic streams.
//
// The duel. A model can be confidently wrong on a workload it has not learned (LRB's
// authors saw it too), and a cache library must not lose to LRU because of it. The
// stream is cut in epochs of `epoch_per_entry` × entries requests. After
// `losses_to_switch` consecutive epochs in which the cache missed more than (1 +
// `duel_margin`) × the shadow, LRU decides for `probe_every` epochs, then the model is
// tried again. An epoch lost while the model is ahead over its run since it took over
// does not count (a bad phase is ridden out); one lost by more than five margins switches
// at once, and is cut short at the next 1,024-request check once it has lost by that
// much (and by more than 32 misses) while the model is behind over its run; and a probe
// lost from its start doubles the wait before the next (up to 8 × `probe_every`). It is
// set dueling (Qureshi et al., ISCA 2007) in time rather than in cache sets.
//
// The guard. The duel judges epochs, so it can lose a little in each of many, or a lot
// in one before it reacts, and it does not watch the base heuristic. The guard watches
// the whole run: whenever the cache has missed more than (1 + `guard`) × the shadow
// since the start (checked every 1,024 requests), LRU decides — model or no model —
// until the excess is back under `guard` / 2. Once the contents have converged (about
// one turnover of the cache) the cache misses exactly as the shadow does, so the excess
// stops growing: over a run, the cache misses at most about (1 + guard) × LRU plus one
// check interval and one turnover.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "prescient/policy/learned/stats.hpp"

namespace prescient::policy::detail {

struct referee_config {
  double epoch_per_entry = 8.0;   ///< epoch length = this × resident entries (≥ 4096)
  unsigned probe_every = 8;       ///< LRU epochs before the model is tried again (backs off)
  double duel_margin = 0.02;      ///< the model loses an epoch with > (1 + this) × LRU's misses
  unsigned losses_to_switch = 2;  ///< consecutive lost model epochs before LRU decides
  double guard = 0.01;            ///< the run's budget over LRU (0: no guard)
};

class referee {
 public:
  static constexpr std::uint64_t guard_check_every = 1024;
  static constexpr double rout_slack = 32;

  explicit referee(const referee_config& cfg = {}) : cfg_(cfg), probe_interval_(cfg.probe_every) {}

  /// The cache missed a request.
  void cache_miss() { ++epoch_misses_; }
  /// The shadow LRU missed a request.
  void shadow_miss() { ++epoch_shadow_misses_; }

  /// Once per request, after its misses are counted. `model`: a model is installed;
  /// `entries`: the cache's resident entries (sets the epoch's length). Returns true
  /// when the guard has just tripped (the caller drops the model's ranked victims).
  bool end_request(bool model, std::size_t entries, learned_stats& stats) {
    bool tripped = false;
    if (++epoch_requests_ < epoch_length(entries)) {
      if (epoch_requests_ % guard_check_every == 0 && !guard_run(stats, tripped)) rout_if_losing_badly(model, stats);
      return tripped;
    }
    const std::uint64_t misses = epoch_misses_, shadow_misses = epoch_shadow_misses_;
    if (guard_run(stats, tripped)) ++stats.guarded_epochs;
    total_misses_ += misses;
    total_shadow_misses_ += shadow_misses;
    if (guarded_) {
      epoch_requests_ = epoch_misses_ = epoch_shadow_misses_ = 0;
      return tripped;
    }
    if (model) {
      if (!lru_decides_) {
        ++stats.model_epochs;
        const double m = static_cast<double>(epoch_misses_), shadow = static_cast<double>(epoch_shadow_misses_);
        run_misses_ += m;
        run_shadow_misses_ += shadow;
        // An epoch counts as lost only while the model is also behind over its whole run
        // since it took over: a model ahead overall rides out a bad phase.
        const bool lost = m > (1 + cfg_.duel_margin) * shadow && run_misses_ > run_shadow_misses_;
        // Losing by five margins at once is evidence enough: no second epoch is paid for.
        const bool routed = m > (1 + 5 * cfg_.duel_margin) * shadow;
        lost_run_ = lost ? lost_run_ + 1 : 0;
        ++epochs_since_probe_;
        if (!lost) probe_interval_ = cfg_.probe_every;
        if (lost_run_ >= cfg_.losses_to_switch || routed) hand_to_lru();
      } else {
        ++stats.lru_epochs;
        if (++lru_run_ >= probe_interval_) {
          lru_decides_ = false;
          epochs_since_probe_ = 0;
          run_misses_ = run_shadow_misses_ = 0;
        }
      }
    }
    epoch_requests_ = epoch_misses_ = epoch_shadow_misses_ = 0;
    return tripped;
  }

  /// The run is over its budget: LRU decides, model or no model.
  [[nodiscard]] bool guarded() const { return guarded_; }
  /// The duel gave the decisions to LRU (the model lost).
  [[nodiscard]] bool lru_decides() const { return lru_decides_; }
  /// The current LRU-epoch wait before the model is tried again.
  [[nodiscard]] unsigned probe_interval() const { return probe_interval_; }

  /// Forgets the epoch and the run (the cache was cleared); the probe back-off stays.
  void clear() {
    lru_decides_ = false;
    guarded_ = false;
    epoch_requests_ = epoch_misses_ = epoch_shadow_misses_ = 0;
    total_misses_ = total_shadow_misses_ = 0;
  }

 private:
  [[nodiscard]] std::uint64_t epoch_length(std::size_t entries) const {
    return std::max<std::uint64_t>(4096, static_cast<std::uint64_t>(cfg_.epoch_per_entry * static_cast<double>(entries)));
  }

  // Between epoch ends: a model losing the epoch so far by five margins (and by more than
  // `rout_slack` misses), while behind over its run since it took over, hands the
  // decisions to LRU at once, as a routed epoch would at its end — a phase the model has
  // not learned (the end of lirs-sprite) costs a check interval, not a whole epoch.
  void rout_if_losing_badly(bool model, learned_stats& stats) {
    if (!model || lru_decides_) return;
    const double misses = static_cast<double>(epoch_misses_), shadow = static_cast<double>(epoch_shadow_misses_);
    if (misses <= (1 + 5 * cfg_.duel_margin) * shadow + rout_slack || run_misses_ + misses <= run_shadow_misses_ + shadow)
      return;
    ++stats.model_epochs;
    ++stats.routs;
    run_misses_ += misses;
    run_shadow_misses_ += shadow;
    ++epochs_since_probe_;
    ++lost_run_;
    hand_to_lru();
    total_misses_ += epoch_misses_;  // the epoch ends here
    total_shadow_misses_ += epoch_shadow_misses_;
    epoch_requests_ = epoch_misses_ = epoch_shadow_misses_ = 0;
  }

  // The duel's switch to LRU after lost model epochs. A probe lost from its start waits
  // twice as long before the next one (up to 8×), so a workload the model keeps losing
  // costs it fewer and fewer epochs.
  void hand_to_lru() {
    if (epochs_since_probe_ == lost_run_) probe_interval_ = std::min(2 * probe_interval_, 8 * cfg_.probe_every);
    lru_decides_ = true;
    lru_run_ = 0;
    lost_run_ = 0;
  }

  // True while the run since the start has missed more than (1 + guard) × the shadow
  // (until it is back under guard / 2); not before the first epoch has ended.
  bool guard_run(learned_stats& stats, bool& tripped) {
    if (cfg_.guard <= 0 || total_shadow_misses_ == 0) return guarded_;
    const double misses = static_cast<double>(total_misses_ + epoch_misses_);
    const double shadow = static_cast<double>(total_shadow_misses_ + epoch_shadow_misses_);
    if (!guarded_ && misses > (1 + cfg_.guard) * shadow) {
      guarded_ = true;
      ++stats.guard_trips;
      tripped = true;
    } else if (guarded_ && misses <= (1 + cfg_.guard / 2) * shadow) {
      guarded_ = false;
    }
    return guarded_;
  }

  referee_config cfg_;
  bool lru_decides_ = false;        // the duel gave the decisions to LRU
  bool guarded_ = false;            // the run is over its budget: LRU decides
  std::uint64_t total_misses_ = 0, total_shadow_misses_ = 0;  // over the run, at epoch ends
  unsigned lru_run_ = 0;            // LRU epochs since the switch
  unsigned lost_run_ = 0;           // consecutive model epochs lost
  unsigned epochs_since_probe_ = 0; // model epochs since the model last took over
  double run_misses_ = 0, run_shadow_misses_ = 0;  // over those epochs: the cache's, the shadow's
  unsigned probe_interval_;         // LRU epochs before the next probe (backs off)
  std::uint64_t epoch_requests_ = 0, epoch_misses_ = 0, epoch_shadow_misses_ = 0;
};

}  // namespace prescient::policy::detail
