// prescient/policy/learned/referee.hpp — who decides the learned policy's evictions: the
// model, or a heuristic of the panel (learned/panel.hpp). It is driven by the cache's
// misses, the panel's estimates of what each heuristic alone would have missed over the
// same requests, and a request clock, and knows nothing else of the cache, so it can be
// tested on synthetic streams.
//
// The heuristic. Until there is evidence it is `first` (W-TinyLFU in the learned policy's
// defaults: on short runs the contents kept before any evidence decide the run). At each
// epoch's end, the panel member with the fewest misses over the
// recent epochs (a sum decaying by half per epoch; every member counted on the same
// keys: the panel's sample, or all of them) becomes the heuristic — the one that
// decides while no model does, while the model is out, and while the guard holds — if
// it beat the current one by more than `switch_margin`, a margin against the sampling
// noise of the panel's miniatures. When the panel's shadows are exact (a cache no larger
// than the miniatures: every key is seen), there is no such noise and a hand-over costs
// at most a turnover of a few hundred entries, so any lead switches and the best
// heuristic is in charge sooner (docs/experiments.md). Not in a shard of a
// concurrent_cache: its panel sees the shard's keys, a hash sample of the cache's, and
// small leads there are noise (eight shards of 312 entries switching on any lead
// missed 1.3% more than one cache of 2,500 over five seeds; with the margin, 0.4% fewer:
// docs/benchmarks.md, "Host replay against the simulator"). Without a panel the
// heuristic is the base while no model decides, and LRU otherwise (the duel and the
// guard against LRU alone).
//
// The duel. A model can be confidently wrong on a workload it has not learned (LRB's
// authors saw it too), and a cache library must not lose to the heuristics because of
// it. The stream is cut in epochs of `epoch_per_entry` × entries requests. After
// `losses_to_switch` consecutive epochs in which the cache missed more than (1 +
// `duel_margin`) × the heuristic's estimate — plus `duel_noise` standard errors of that
// estimate where the panel samples the keys (a miniature's few hundred misses an epoch
// can overrate a heuristic by more than the margin) — the heuristic decides for `probe_every`
// epochs, then the model is tried again. The heuristic an epoch is judged against is
// the one that would take over at its end where the panel samples (a switch there
// needs the margin, so the choice is not the noise of the epoch's own estimates), and
// the one held when the epoch began where the panel holds every key it judges (see
// `epoch_duel_member`). An epoch lost while the model is ahead over its
// run since it took over does not count, however badly it was lost: a bad phase is
// ridden out on the lead the model has earned, and the lead bounds what it can cost.
// Behind over its run, an epoch lost by more than five margins switches at once, and is
// cut short at the next 1,024-request check once it has lost by that much (and by more
// than 32 misses); and a probe lost from its start doubles the wait before the next (up
// to 8 × `probe_every`). It is set dueling (Qureshi et al., ISCA 2007) in time rather
// than in cache sets.
//
// The guard. The duel judges epochs, so it can lose a little in each of many, or a lot
// in one before it reacts. The guard watches the whole run: whenever the cache has missed
// more than (1 + `guard`) × the best panel member over the run since the start (checked
// every 1,024 requests), the heuristic decides — model or no model — until the excess is
// back under `guard` / 2. Once the contents have converged (about one turnover of the
// cache) the cache misses as the heuristic does, so the excess stops growing: over a run,
// the cache misses at most about (1 + guard) × the best member, plus one check interval
// and a turnover per hand-over (and the panel's estimation error, where it samples).
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>

#include "prescient/policy/learned/panel.hpp"
#include "prescient/policy/learned/stats.hpp"

namespace prescient::policy::detail {

struct referee_config {
  double epoch_per_entry = 8.0;   ///< epoch length = this × resident entries (≥ 4096)
  unsigned probe_every = 8;       ///< heuristic epochs before the model is tried again (backs off)
  double duel_margin = 0.02;      ///< the model loses an epoch with > (1 + this) × the heuristic's misses
  unsigned losses_to_switch = 2;  ///< consecutive lost model epochs before the heuristic decides
  double guard = 0.01;            ///< the run's budget over the best panel member (0: no guard)
  bool panel = true;              ///< the panel's estimates are there (else: LRU's alone)
  double switch_margin = 0.05;    ///< a member replaces the heuristic when it is this much better
  bool reprobe = true;            ///< a new model is probed at the next epoch's end
  double duel_noise = 2.0;        ///< standard errors of the heuristic's estimate added to the duel's margins
  member first = member::base;    ///< with a panel, the heuristic before any evidence
  /// The share of the whole cache's keys this policy sees: 1 for a cache of its own, 1/S
  /// for a shard of a concurrent_cache of S shards. Shards split the keys by hash, so a
  /// shard's panel — exact for the shard — sees a sample of the workload as a
  /// miniature does, and its choice of heuristic keeps the switch margin.
  double key_share = 1.0;
  /// After this many epochs under the guard, the guard starts its account afresh and the
  /// model is probed again; each re-start doubles the wait (0: the guard never re-starts;
  /// the policy passes learned_config::guard_restart, 8 by default).
  unsigned guard_restart = 0;
};

class referee {
 public:
  static constexpr std::uint64_t guard_check_every = 1024;
  static constexpr double rout_slack = 32;

  explicit referee(const referee_config& cfg = {})
      : cfg_(cfg), probe_interval_(cfg.probe_every), guard_wait_(cfg.guard_restart) {
    if (cfg_.panel) heuristic_ = epoch_heuristic_ = cfg_.first;
  }

  /// The cache missed a request.
  void cache_miss() { ++epoch_misses_; }

  /// Once per request, after its misses are counted (the cache's, and the panel's in
  /// `p`: anything with `epoch_misses(member)` and `start_epoch()`). `model`: a model is
  /// installed; `entries`: the cache's resident entries (sets the epoch's length).
  /// Returns true when the guard has just tripped (the caller drops the model's ranked
  /// victims).
  template <class Panel>
  bool end_request(bool model, std::size_t entries, Panel& p, learned_stats& stats) {
    bool tripped = false;
    if (++epoch_requests_ < epoch_length(entries)) {
      if (epoch_requests_ % guard_check_every == 0) {
        if (!guard_run(p, entries, stats, tripped)) rout_if_losing_badly(model, p, stats);
        choose_heuristic(p, false, stats);
      }
      return tripped;
    }
    if (guard_run(p, entries, stats, tripped)) ++stats.guarded_epochs;
    const member benchmark = epoch_duel_member(p);
    const double heuristic_misses = p.epoch_misses(benchmark);  // the benchmark this epoch
    const double heuristic_noise = noise(p, benchmark);         // and its sampling error
    choose_heuristic(p, true, stats);
    p.start_epoch();
    epoch_heuristic_ = heuristic_;
    const std::uint64_t misses = epoch_misses_;
    total_misses_ += misses;
    if (guarded_) {
      epoch_requests_ = epoch_misses_ = 0;
      if (cfg_.guard_restart > 0 && ++guarded_run_ >= guard_wait_) {
        restart_guard();
        ++stats.guard_restarts;
      }
      return tripped;
    }
    if (model) {
      if (!heuristic_decides_) {
        ++stats.model_epochs;
        const double m = static_cast<double>(misses), shadow = heuristic_misses;
        run_misses_ += m;
        run_shadow_misses_ += shadow;
        // An epoch counts as lost only while the model is also behind over its whole run
        // since it took over: a model ahead overall rides out a bad phase. Losing by five
        // margins at once is evidence enough (no second epoch is paid for), but only once
        // the lead is spent too: routed whatever its run, a model far ahead was handed
        // over for one bad epoch, and its probes, judged from the heuristic's contents,
        // were routed in turn (docs/experiments.md, "A model ahead rides out one bad epoch").
        const bool behind = run_misses_ > run_shadow_misses_;
        const bool lost = m > (1 + cfg_.duel_margin) * shadow + heuristic_noise && behind;
        const bool routed = m > (1 + 5 * cfg_.duel_margin) * shadow + heuristic_noise && behind;
        lost_run_ = lost ? lost_run_ + 1 : 0;
        ++epochs_since_probe_;
        if (!lost) probe_interval_ = cfg_.probe_every;
        if (lost_run_ >= cfg_.losses_to_switch || routed) hand_to_heuristic();
      } else {
        ++stats.lru_epochs;
        if (++heuristic_run_ >= probe_interval_) {
          heuristic_decides_ = false;
          epochs_since_probe_ = 0;
          run_misses_ = run_shadow_misses_ = 0;
        }
      }
    }
    epoch_requests_ = epoch_misses_ = 0;
    return tripped;
  }

  /// The run is over its budget: the heuristic decides, model or no model.
  [[nodiscard]] bool guarded() const { return guarded_; }
  /// The duel gave the decisions to the heuristic (the model lost).
  [[nodiscard]] bool heuristic_decides() const { return heuristic_decides_; }
  /// Who decides while the model does not: with no model, `fallback(false)`; when the
  /// model is out or the guard holds, `fallback(true)`. Without a panel these are the
  /// base and LRU; with one, both are the panel's best now.
  [[nodiscard]] member fallback(bool model_out) const {
    if (cfg_.panel) return heuristic_;
    return model_out ? member::lru : member::base;
  }
  /// A new model was installed: with a panel, it is probed at the next epoch's end, and
  /// the back-off starts again (a retrained model is not the one that lost).
  void new_model() {
    if (!cfg_.panel || !cfg_.reprobe) return;
    probe_interval_ = cfg_.probe_every;
    if (heuristic_decides_) heuristic_run_ = std::max(heuristic_run_, probe_interval_ - 1);
  }
  /// The current heuristic wait before the model is tried again.
  [[nodiscard]] unsigned probe_interval() const { return probe_interval_; }

  /// Forgets the epoch and the run (the cache was cleared); the probe back-off and the
  /// members' recent record stay.
  void clear() {
    heuristic_decides_ = false;
    guarded_ = false;
    epoch_requests_ = epoch_misses_ = 0;
    total_misses_ = 0;
    total_est_.fill(0);
    guarded_run_ = 0;
    guard_from_misses_ = 0;
    guard_from_est_.fill(0);
  }

 private:
  [[nodiscard]] std::uint64_t epoch_length(std::size_t entries) const {
    return std::max<std::uint64_t>(4096, static_cast<std::uint64_t>(cfg_.epoch_per_entry * static_cast<double>(entries)));
  }

  // `duel_noise` standard errors of member m's estimate this epoch: a miniature that
  // samples the keys can overrate a heuristic by chance, and the model must not lose its
  // place to that (a panel without sampling errors, as the tests' fakes: none).
  template <class Panel>
  [[nodiscard]] double noise(const Panel& p, member m) const {
    if constexpr (requires { p.epoch_noise(m); })
      return cfg_.duel_noise * p.epoch_noise(m);
    else
      return 0.0;
  }

  // The member the model is judged against mid-epoch (the rout): the heuristic that
  // would have taken over when the epoch began.
  [[nodiscard]] member duel_member() const { return cfg_.panel ? epoch_heuristic_ : member::lru; }

  // The member the model is judged against at an epoch's end: where the panel samples,
  // the heuristic that would take over now. It was chosen with the switch margin's
  // lead, so the epoch's own estimates do not favour it by chance, and a heuristic the
  // panel has left on evidence is no benchmark: the first heuristic, chosen before any,
  // let a model 5% above LRU win the whole first epoch of a scan-heavy run because
  // W-TinyLFU missed more still (scan mix 2 at 10% of its keys: the model 698,878
  // misses, W-TinyLFU 717,403, LRU 666,719; docs/experiments.md). With
  // exact shadows any lead switches, so the heuristic held now would often be the
  // epoch's luckiest member; there it is the one held when the epoch began (a duel
  // against the epoch's best member cost lirs-multi2 at 560 entries 2%). So too in a
  // shard of a concurrent_cache whose panel holds all of the shard's keys (its switch
  // keeps the margin, the shard being a hash sample of the cache): the rule for sampled
  // panels cost eight shards of a 7,500-entry cache 2% more misses (orm-busy, four
  // seeds; docs/benchmarks.md).
  template <class Panel>
  [[nodiscard]] member epoch_duel_member(const Panel& p) const {
    if (!cfg_.panel) return member::lru;
    return p.rate() < 1 ? heuristic_ : epoch_heuristic_;
  }

  // The member with the fewest misses over the recent epochs (decaying by half per
  // epoch) and the current one so far becomes the heuristic, if it beat the current one
  // by more than the switch margin. At an epoch's end (`epoch_end`) the epoch's misses
  // join the record: the run's totals and the decaying sum.
  template <class Panel>
  void choose_heuristic(const Panel& p, bool epoch_end, learned_stats& stats) {
    std::array<double, panel_members> score{};
    for (std::size_t m = 0; m < panel_members; ++m) {
      const double e = p.epoch_misses(static_cast<member>(m));
      score[m] = recent_[m] + e;
      if (epoch_end) {
        total_est_[m] += e;
        recent_[m] = recent_[m] / 2 + e;
      }
    }
    if (!cfg_.panel) return;
    std::size_t best = 0;
    for (std::size_t m = 1; m < panel_members; ++m)
      if (score[m] < score[best]) best = m;
    const auto current = static_cast<std::size_t>(heuristic_);
    // Exact shadows of the whole cache's keys: no sampling noise, any lead switches.
    const double margin = p.rate() * cfg_.key_share >= 1 ? 0.0 : cfg_.switch_margin;
    if (best != current && score[best] < (1 - margin) * score[current]) {
      heuristic_ = static_cast<member>(best);
      ++stats.heuristic_switches;
    }
  }

  // Between epoch ends: a model losing the epoch so far by five margins (and by more than
  // `rout_slack` misses), while behind over its run since it took over, hands the
  // decisions to the heuristic at once, as a routed epoch would at its end — a phase the
  // model has not learned (the end of lirs-sprite) costs a check interval, not an epoch.
  template <class Panel>
  void rout_if_losing_badly(bool model, Panel& p, learned_stats& stats) {
    if (!model || heuristic_decides_) return;
    const double misses = static_cast<double>(epoch_misses_), shadow = p.epoch_misses(duel_member());
    if (misses <= (1 + 5 * cfg_.duel_margin) * shadow + rout_slack + noise(p, duel_member()) ||
        run_misses_ + misses <= run_shadow_misses_ + shadow)
      return;
    ++stats.model_epochs;
    ++stats.routs;
    run_misses_ += misses;
    run_shadow_misses_ += shadow;
    ++epochs_since_probe_;
    ++lost_run_;
    hand_to_heuristic();
    epoch_heuristic_ = heuristic_;
    // The epoch ends here (a partial epoch: its misses join the totals, not yet decayed).
    for (std::size_t m = 0; m < panel_members; ++m) {
      const double e = p.epoch_misses(static_cast<member>(m));
      total_est_[m] += e;
      recent_[m] += e;
    }
    p.start_epoch();
    total_misses_ += epoch_misses_;
    epoch_requests_ = epoch_misses_ = 0;
  }

  // The duel's switch to the heuristic after lost model epochs. A probe lost from its
  // start waits twice as long before the next one (up to 8×), so a workload the model
  // keeps losing costs it fewer and fewer epochs.
  void hand_to_heuristic() {
    if (epochs_since_probe_ == lost_run_) probe_interval_ = std::min(2 * probe_interval_, 8 * cfg_.probe_every);
    heuristic_decides_ = true;
    heuristic_run_ = 0;
    lost_run_ = 0;
  }

  // True while the run since the start has missed more than (1 + guard) × the best
  // member's estimate (until it is back under guard / 2); not before the first epoch
  // has ended. With a panel the budget also allows a turnover of the cache (`entries`
  // misses): what a hand-over between the model and a heuristic costs while the new one
  // shapes the contents to its liking — without it, one early hand-over locks the model
  // out for most of a run.
  template <class Panel>
  bool guard_run(const Panel& p, std::size_t entries, learned_stats& stats, bool& tripped) {
    if (cfg_.guard <= 0 || total_est_[0] - guard_from_est_[0] <= 0) return guarded_;
    const double misses = static_cast<double>(total_misses_ + epoch_misses_ - guard_from_misses_);
    double best = total_est_[0] - guard_from_est_[0] + p.epoch_misses(member::lru);
    if (cfg_.panel)
      for (std::size_t m = 1; m < panel_members; ++m)
        best = std::min(best, total_est_[m] - guard_from_est_[m] + p.epoch_misses(static_cast<member>(m)));
    const double slack = cfg_.panel ? static_cast<double>(entries) : 0.0;
    if (!guarded_ && misses > (1 + cfg_.guard) * best + slack) {
      guarded_ = true;
      guarded_run_ = 0;
      ++stats.guard_trips;
      tripped = true;
    } else if (guarded_ && misses <= (1 + cfg_.guard / 2) * best + slack / 2) {
      guarded_ = false;
      guarded_run_ = 0;
    }
    return guarded_;
  }

  // The guard's re-start: after `guard_wait_` epochs under it, the account begins again
  // from here (the cache's misses and the members' so far are its zero), and the model,
  // if there is one, is probed as after a heuristic's spell. Over a run, each re-start
  // forgives at most the excess the guard had let build up — its budget, a turnover and
  // what the spell's hand-overs cost — and the waits double, so a run of E epochs
  // re-starts at most log2(E / guard_restart) times.
  void restart_guard() {
    guarded_ = false;
    guarded_run_ = 0;
    guard_wait_ *= 2;
    guard_from_misses_ = total_misses_;
    guard_from_est_ = total_est_;
    heuristic_decides_ = false;
    heuristic_run_ = 0;
    lost_run_ = 0;
    epochs_since_probe_ = 0;
    run_misses_ = run_shadow_misses_ = 0;
  }

  referee_config cfg_;
  member heuristic_ = member::base;  // the panel's best now (cfg_.first until there is evidence)
  member epoch_heuristic_ = member::base;  // the heuristic when the epoch began (the duel's benchmark)
  bool heuristic_decides_ = false;   // the duel gave the decisions to the heuristic
  bool guarded_ = false;             // the run is over its budget: the heuristic decides
  std::uint64_t total_misses_ = 0;   // the cache's, over the run, at epoch ends
  std::array<double, panel_members> total_est_{};  // each member's, over the run, at epoch ends
  std::array<double, panel_members> recent_{};     // each member's, decaying by half per epoch
  unsigned heuristic_run_ = 0;       // heuristic epochs since the switch
  unsigned lost_run_ = 0;            // consecutive model epochs lost
  unsigned epochs_since_probe_ = 0;  // model epochs since the model last took over
  double run_misses_ = 0, run_shadow_misses_ = 0;  // over those epochs: the cache's, the heuristic's
  unsigned probe_interval_;          // heuristic epochs before the next probe (backs off)
  std::uint64_t epoch_requests_ = 0, epoch_misses_ = 0;
  unsigned guarded_run_ = 0;                // epochs under the guard since it tripped
  unsigned guard_wait_ = 0;                 // epochs under the guard before it re-starts (doubles)
  std::uint64_t guard_from_misses_ = 0;     // the guard's account begins at these: the cache's misses
  std::array<double, panel_members> guard_from_est_{};  // and each member's
};

}  // namespace prescient::policy::detail
