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
  /// before one would be overwritten unused; see `schedule_sampling`). Off: every
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
  /// config.
  bool set(std::string_view key, std::string_view value) {
    using detail::parse_value;
    if (key == "candidates") return parse_value(value, candidates) && candidates > 0 && candidates <= max_candidates;
    if (key == "keep") return parse_value(value, keep_victims) && keep_victims > 0;
    if (key == "keep_share") return parse_value(value, keep_share) && keep_share > 0 && keep_share <= 1;
    if (key == "rescore") return parse_value(value, rescore_age_factor) && rescore_age_factor >= 0;
    if (key == "tail") return parse_value(value, tail_candidates);
    if (key == "screen") return parse_value(value, screen_trees);
    if (key == "screen_keep") return parse_value(value, screen_keep) && screen_keep > 0;
    if (key == "young") return parse_value(value, young_candidates);
    if (key == "young_depth") return parse_value(value, young_depth) && young_depth > 0 && young_depth <= 1;
    if (key == "admission") return parse_value(value, admission);
    if (key == "duel") return parse_value(value, duel);
    if (key == "epoch") return parse_value(value, epoch_per_entry) && epoch_per_entry > 0;
    if (key == "losses") return parse_value(value, losses_to_switch) && losses_to_switch > 0;
    if (key == "margin") return parse_value(value, duel_margin) && duel_margin >= 0;
    if (key == "noise") return parse_value(value, duel_noise) && duel_noise >= 0;
    if (key == "guard") return parse_value(value, guard) && guard >= 0;
    if (key == "restart") return parse_value(value, guard_restart);
    if (key == "panel") return parse_value(value, panel_entries);
    if (key == "reprobe") return parse_value(value, reprobe);
    if (key == "switch") return parse_value(value, switch_margin) && switch_margin >= 0 && switch_margin < 1;
    if (key == "probe") return parse_value(value, probe_every) && probe_every > 0;
    if (key == "pause") return parse_value(value, pause_sampling);
    if (key == "span") return parse_value(value, sample_span) && sample_span >= 0;
    if (key == "sample") return parse_value(value, miss_sample_rate) && miss_sample_rate >= 0 && miss_sample_rate <= 1;
    if (key == "rows") return parse_value(value, training_rows) && training_rows >= 16;
    if (key == "min_rows") return parse_value(value, min_training_rows) && min_training_rows > 0;
    if (key == "max_rows") return parse_value(value, max_training_rows) && max_training_rows > 0;
    if (key == "first") return parse_value(value, first_retrain) && first_retrain > 0;
    if (key == "first_model") return parse_value(value, first_model) && first_model > 0;
    if (key == "every") return parse_value(value, retrain_every) && retrain_every > 0;
    if (key == "classify") return parse_value(value, classify);
    if (key == "boundary") return parse_value(value, boundary_per_entry) && boundary_per_entry > 0;
    if (key == "window") return parse_value(value, window_per_entry) && window_per_entry > 0;
    if (key == "horizon") return parse_value(value, horizon_per_entry) && horizon_per_entry > 0;
    if (key == "label_unit") return parse_value(value, label_unit) && label_unit >= 0 && label_unit <= 1;
    if (key == "ghost") return parse_value(value, ghost_per_entry) && ghost_per_entry >= 0;
    if (key == "ghost_age") return parse_value(value, ghost_age_per_entry) && ghost_age_per_entry >= 0;
    if (key == "wtinylfu_first") return parse_value(value, wtinylfu_first);
    if (key == "seed") return parse_value(value, seed);
    if (key == "lag") return parse_value(value, lag_per_row) && lag_per_row >= 0;
    if (key == "preset") {  // named trade-offs (docs/learned-cache.md); later keys override
      if (value != "fast") return false;
      rescore_age_factor = 2;  // lazy rescoring
      training_rows = max_training_rows = 1u << 14;
      return true;
    }
    if (key == "mode") {
      if (value == "sync") return mode = training_mode::synchronous, true;
      if (value == "background") return mode = training_mode::background, true;
      if (value == "pipelined") return mode = training_mode::pipelined, true;
      if (value == "off") return mode = training_mode::off, true;
      return false;
    }
    if constexpr (requires { base.set(key, value); }) return base.set(key, value);
    return false;
  }
};

}  // namespace prescient::policy
