// prescient/policy/learned/config.hpp — the learned policy's parameters and their
// parameter-string names (see policy/learned.hpp for what each part does).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "prescient/learn/features.hpp"
#include "prescient/learn/trainer.hpp"
#include "prescient/policy/detail/param_value.hpp"

namespace prescient::policy {

template <class Predictor>
class shared_model;  // learned/shared_model.hpp

enum class training_mode : std::uint8_t {
  synchronous,  ///< retrain inside the request that triggers it (deterministic)
  background,   ///< retrain on a thread; swap the model when it is ready
  /// Retrain on a thread; install the model a fixed number of requests after the
  /// retrain began (`lag_per_row` × its rows), waiting for the thread only if it is not
  /// done by then. Deterministic, as synchronous is, with the training off the requests.
  pipelined,
  off,          ///< never retrain (use the starting model, if any)
};

/// The parameters of `learned` (outside the class so that `= {}` defaults work).
template <class Predictor, class BaseConfig>
struct learned_config {
  BaseConfig base{};                 ///< the base heuristic's parameters
  /// At most this many candidates a ranking (a slot's candidate index is kept in a byte).
  static constexpr std::size_t max_candidates = 256;
  std::size_t candidates = 64;       ///< resident entries sampled per ranking, 1 to max_candidates
  std::size_t keep_victims = 6;      ///< ranked victims used before sampling again
  /// ...and at most this share of the resident entries (at least one). A ranking decides
  /// `keep` evictions ahead, and an entry inserted meanwhile is no candidate until the
  /// next one: in a cache of 24 entries at 75% misses, six kept victims were a quarter of
  /// the cache chosen before the newest keys — one-hit wonders among them — could be
  /// weighed (lirs-cpp at 24: 0.760 → 0.727; docs/experiments.md, "Victims kept in
  /// proportion to the cache"). Caches of 384 entries and more keep `keep_victims`.
  double keep_share = 1.0 / 64;
  /// Lazy rescoring: a candidate's prediction is reused while the entry is untouched,
  /// not overdue and at most this many times older than when it was scored (0: score
  /// every candidate every time).
  double rescore_age_factor = 0.0;
  /// Screening: score every fresh candidate with the first `screen_trees` trees of the
  /// forest, and only the `screen_keep` best with the rest (0: score every candidate in
  /// full). Needs a forest that scores in stages (compiled_forest).
  std::size_t screen_trees = 8;
  std::size_t screen_keep = 8;
  /// Of the candidates, how many are the least recently used entries (the rest are
  /// drawn at random). The recency tail is where a good victim usually is; the random
  /// draws find dead entries anywhere (a key in a loop longer than the cache, a one-hit
  /// wonder just inserted).
  std::size_t tail_candidates = 16;
  /// Young candidates: an entry not requested again in the `young_depth` × entries
  /// insertions since it was inserted (S3-FIFO's small-queue test) is offered to the next
  /// ranking, at most this many per ranking. A one-hit wonder is otherwise examined only
  /// when a random draw finds it or it reaches the recency tail.
  std::size_t young_candidates = 8;
  double young_depth = 0.1;
  /// Bypass a missed key predicted to return later than the victim. Off by default:
  /// on the shared traces it cost more hits than it saved (docs/experiments.md).
  bool admission = false;
  /// The referee (learned/referee.hpp): the panel's shadows run beside the cache; after
  /// model epochs with more misses than the panel's best heuristic, that heuristic
  /// decides until the next probe (the duel). Off: no panel, no duel, no guard.
  bool duel = true;
  double epoch_per_entry = 8.0;      ///< epoch length = this × resident entries (≥ 4096)
  unsigned probe_every = 8;          ///< heuristic epochs before the model is tried again (backs off)
  double duel_margin = 0.02;         ///< the model loses an epoch with > (1 + this) × the heuristic's misses
  unsigned losses_to_switch = 2;     ///< consecutive lost model epochs before the heuristic decides
  /// The duel's margins also allow this many standard errors of the heuristic's estimate
  /// (its miniature's misses are counted on a sample of the keys; exact shadows have none).
  double duel_noise = 2.0;
  /// The guard: over the whole run, the cache may miss at most (1 + guard) × what the
  /// best panel member missed, plus a turnover of the cache. Past that, the heuristic
  /// decides — model or no model — until the excess is back under half (0: no guard).
  double guard = 0.01;
  /// After this many epochs under the guard its account starts afresh and the model is
  /// probed again; each re-start doubles the wait, so a run of E epochs re-starts at most
  /// log2(E / this) times (0: the guard holds to the run's end). Without it, a guard
  /// tripped early held for the rest of a long run: the cache then follows the panel's
  /// best now, whose hand-overs cost turnovers, so the excess never drains — orm-busy at
  /// 1,500 entries, 2 seeds of 5, 0.1969 where the model decides to 0.186–0.190
  /// (docs/experiments.md, "The guard starts afresh").
  unsigned guard_restart = 8;
  /// The panel (learned/panel.hpp): key-only shadows of LRU, the base heuristic,
  /// W-TinyLFU and ARC, sampled down to at most this many entries each; the referee
  /// hands the decisions to the best of them and bounds the run by it (0: LRU's shadow
  /// alone, and the base decides while no model does). Needs `duel`.
  /// 1,024 rather than 512: on orm-busy at 7,500 and 20,000 entries, miniatures of 512
  /// misjudged the heuristics on some samples of keys (seeds) and handed them the
  /// decisions, up to 8% more misses; at 1,024 they no longer do (docs/experiments.md).
  std::size_t panel_entries = 1024;
  /// A panel member replaces the heuristic when this much better — when the panel samples
  /// (a cache larger than `panel_entries`); with exact shadows, when better at all.
  double switch_margin = 0.05;
  /// The heuristic that decides before the panel has any evidence: W-TinyLFU (true) or
  /// the base. On short runs the contents kept before the first evidence decide the run
  /// (lirs-ps at 1,542: W-TinyLFU's lead is built from keys kept since the start), and
  /// over every shared trace W-TinyLFU first lost less than it won, once ghost histories
  /// lasted long enough for the model to recover from a first heuristic that suits a
  /// trace badly (docs/experiments.md, "W-TinyLFU first, and ghosts by age").
  bool wtinylfu_first = true;
  /// With a panel, a retrained model is probed at the next epoch's end even while the
  /// heuristic decides after lost duels. Off since the guard re-starts: each such probe of
  /// a model that keeps losing paid a hand-over, and the probes' back-off and the guard's
  /// re-starts already bring a model back (both tables, three sets of seeds: the worst
  /// pair better on all three, G up on five of six; docs/experiments.md).
  bool reprobe = false;
  double miss_sample_rate = 0.5;     ///< share of misses whose incoming key becomes a training row
  /// Once retrains are further apart than the training ring takes to fill, each offered
  /// row is kept with the probability that makes the ring span this many retrain
  /// intervals: a retrain then reads rows spread evenly over that many intervals, not
  /// only those of the stretch just before it. A model trained on rows from a long
  /// stretch ranks better than one trained on as many rows from a short one
  /// (docs/experiments.md, "Training rows spread over two retrain intervals", with its
  /// tables). 0: no thinning; then `pause_sampling` decides.
  double sample_span = 2.0;
  /// With `sample_span` 0: pause sampling between far-apart retrains (rows sampled long
  /// before one would be overwritten unused; see learned/training_schedule.hpp). Off: every
  /// eviction and sampled miss writes a row, and the held-out metrics see them all.
  bool pause_sampling = true;
  std::size_t training_rows = 1u << 15;  ///< ring of training rows (the training window)
  std::size_t min_training_rows = 2048;  ///< labelled rows needed for the first model
  std::size_t max_training_rows = 1u << 15;  ///< a retrain uses at most the newest this many
  std::uint64_t first_model = 1u << 11;    ///< requests before the first training is tried
  std::uint64_t first_retrain = 1u << 13;  ///< the retrain interval after the first model (it doubles)
  std::uint64_t retrain_every = 1u << 21;  ///< the interval doubles up to this
  double window_per_entry = 6.0;     ///< censoring window W = this × resident entries
  double horizon_per_entry = 1.0;    ///< horizon H of the binary metrics = this × entries
  /// The training labels' unit of time as a share of the window W: a gap g is labelled
  /// log1p(g / (label_unit × W)) (0: log1p(g), a unit of one request). Gaps far shorter
  /// than W all come back before an eviction could matter; in units of W / 64 they look
  /// alike, and the trees spend their splits on the gaps where evictions are decided
  /// (four sets of seeds, both tables: mean G up on all eight; docs/experiments.md).
  double label_unit = 1.0 / 64;
  /// Ghost histories: of keys no longer resident, at most `ghost_per_entry` per unit of
  /// capacity (the oldest evicted forgotten first), and none whose last request is more
  /// than `ghost_age_per_entry` × resident entries requests old (0: no age limit). The
  /// count bounds memory; the age keeps what the model sees alike across miss ratios: by
  /// count alone, 2 per entry remember 2.6 × entries requests at cloudphysics' 78% misses
  /// and 8 per entry 80 × entries at orm-busy's 10%, and the model did worse at both ends.
  double ghost_per_entry = 8.0;
  double ghost_age_per_entry = 32.0;
  std::uint64_t seed = 0x9e3779b97f4a7c15ULL;
  training_mode mode = training_mode::synchronous;
  /// Pipelined training: a model is installed this many requests per training row after
  /// its retrain began (xgboost trains about a row a microsecond here; a replay serves
  /// two to three requests a microsecond, a host far fewer).
  double lag_per_row = 4.0;
  learn::feature_config features{};
  /// A model to start from (e.g. loaded from a file); null: learn from nothing.
  std::shared_ptr<const Predictor> model{};
  /// What the model predicts: the time to the next request (regression on its log), or
  /// the probability of a request within the eviction boundary (classification; the
  /// boundary is `boundary_per_entry` × the time an entry stays in the cache, estimated
  /// as resident entries / recent miss ratio).
  bool classify = false;
  double boundary_per_entry = 1.0;
  /// How to train; empty: learn::default_trainer<Predictor>::train (or train_classifier).
  learn::trainer<Predictor> trainer{};
  /// The model and trainer the shards of a concurrent_cache share (set by the cache,
  /// learned/shared_model.hpp); null: this policy trains its own.
  std::shared_ptr<shared_model<Predictor>> shared{};
  /// How many shards of one concurrent_cache this policy is one of (set by the cache,
  /// whatever the training mode; 1: a cache of its own). A shard sees 1/shards of the
  /// cache's keys, so its panel, however exact for the shard, estimates the workload's
  /// best heuristic from a sample of the keys (see referee_config::key_share).
  std::size_t shards = 1;

  /// Parameter strings: candidates, keep, keep_share, rescore, tail, young, young_depth, screen,
  /// screen_keep, admission, duel, epoch, losses, margin, noise, guard, restart, panel, switch, reprobe, probe, pause,
  /// sample, rows, min_rows, max_rows, first_model, first, every, classify, boundary, window, horizon, label_unit,
  /// ghost, ghost_age, wtinylfu_first, seed, lag,
  /// mode=sync|background|pipelined|off, preset=fast (lazy rescoring and 16k training rows: about
  /// 1.3× the speed, less close to Belady); anything else goes to the base policy's
  /// config. A known key's unusable value throws config_error (detail::set_param).
  bool set(std::string_view key, std::string_view value) {
    using detail::set_param;
    // Bounds for set_param, and the words its error uses for them.
    const auto positive = [](auto x) { return x > 0; };
    const auto non_negative = [](auto x) { return x >= 0; };
    const auto share = [](double x) { return x > 0 && x <= 1; };      // (0, 1]
    const auto fraction = [](double x) { return x >= 0 && x <= 1; };  // [0, 1]
    constexpr std::string_view whole = "a whole number >= 0", counting = "a whole number >= 1",
                               finite = "a finite number >= 0", above_zero = "a finite number > 0",
                               in_share = "a number above 0 and at most 1", in_fraction = "a number from 0 to 1";
    if (key == "candidates")
      return set_param(key, value, candidates, [](std::size_t x) { return x >= 1 && x <= max_candidates; },
                       "a whole number from 1 to " + std::to_string(max_candidates));
    if (key == "keep") return set_param(key, value, keep_victims, positive, counting);
    if (key == "keep_share") return set_param(key, value, keep_share, share, in_share);
    if (key == "rescore") return set_param(key, value, rescore_age_factor, non_negative, finite);
    if (key == "tail") return set_param(key, value, tail_candidates, whole);
    if (key == "screen") return set_param(key, value, screen_trees, whole);
    if (key == "screen_keep") return set_param(key, value, screen_keep, positive, counting);
    if (key == "young") return set_param(key, value, young_candidates, whole);
    if (key == "young_depth") return set_param(key, value, young_depth, share, in_share);
    if (key == "admission") return set_param(key, value, admission);
    if (key == "duel") return set_param(key, value, duel);
    if (key == "epoch") return set_param(key, value, epoch_per_entry, positive, above_zero);
    if (key == "losses") return set_param(key, value, losses_to_switch, positive, counting);
    if (key == "margin") return set_param(key, value, duel_margin, non_negative, finite);
    if (key == "noise") return set_param(key, value, duel_noise, non_negative, finite);
    if (key == "guard") return set_param(key, value, guard, non_negative, finite);
    if (key == "restart") return set_param(key, value, guard_restart, whole);
    if (key == "panel") return set_param(key, value, panel_entries, whole);
    if (key == "reprobe") return set_param(key, value, reprobe);
    if (key == "switch")
      return set_param(key, value, switch_margin, [](double x) { return x >= 0 && x < 1; },
                       "a number from 0 up to (not including) 1");
    if (key == "probe") return set_param(key, value, probe_every, positive, counting);
    if (key == "pause") return set_param(key, value, pause_sampling);
    if (key == "span") return set_param(key, value, sample_span, non_negative, finite);
    if (key == "sample") return set_param(key, value, miss_sample_rate, fraction, in_fraction);
    if (key == "rows")
      return set_param(key, value, training_rows, [](std::size_t x) { return x >= 16; }, "a whole number >= 16");
    if (key == "min_rows") return set_param(key, value, min_training_rows, positive, counting);
    if (key == "max_rows") return set_param(key, value, max_training_rows, positive, counting);
    if (key == "first") return set_param(key, value, first_retrain, positive, counting);
    if (key == "first_model") return set_param(key, value, first_model, positive, counting);
    if (key == "every") return set_param(key, value, retrain_every, positive, counting);
    if (key == "classify") return set_param(key, value, classify);
    if (key == "boundary") return set_param(key, value, boundary_per_entry, positive, above_zero);
    if (key == "window") return set_param(key, value, window_per_entry, positive, above_zero);
    if (key == "horizon") return set_param(key, value, horizon_per_entry, positive, above_zero);
    if (key == "label_unit") return set_param(key, value, label_unit, fraction, in_fraction);
    if (key == "ghost") return set_param(key, value, ghost_per_entry, non_negative, finite);
    if (key == "ghost_age") return set_param(key, value, ghost_age_per_entry, non_negative, finite);
    if (key == "wtinylfu_first") return set_param(key, value, wtinylfu_first);
    if (key == "seed") return set_param(key, value, seed, whole);
    if (key == "lag") return set_param(key, value, lag_per_row, non_negative, finite);
    if (key == "preset") {  // named trade-offs (docs/learned-cache.md); later keys override
      if (value != "fast") throw detail::bad_value(key, value, "fast");
      rescore_age_factor = 2;  // lazy rescoring
      training_rows = max_training_rows = 1u << 14;
      return true;
    }
    if (key == "mode") {
      if (value == "sync") return mode = training_mode::synchronous, true;
      if (value == "background") return mode = training_mode::background, true;
      if (value == "pipelined") return mode = training_mode::pipelined, true;
      if (value == "off") return mode = training_mode::off, true;
      throw detail::bad_value(key, value, "sync, background, pipelined or off");
    }
    if constexpr (requires { base.set(key, value); }) return base.set(key, value);
    return false;
  }
};

}  // namespace prescient::policy
