// prescient/policy/learned.hpp — the learned cache: relaxed Belady with a model of the
// time to each key's next request, admission by the same model, online training, and a
// duel against LRU so that learning never costs more than it earns.
//
// Belady's optimum evicts the entry requested farthest in the future. LRB (Song et al.,
// "Learning Relaxed Belady for Content Distribution Network Caching", NSDI 2020) showed
// that one need not find *the* farthest: any entry whose next request lies beyond the
// "Belady boundary" is a good victim, so a model that predicts the time to the next
// request, applied to a small sample of resident entries, gets close. This policy
// follows that design, in logical time, refereed by a panel of heuristics:
//
//   request ──► key_history (features.hpp) updated in O(1); the base policy is told too
//     while no model decides (it sleeps while one does, and wakes with the resident
//     entries, least recently used first, when the model goes)
//
//   eviction, model loaded:  take the best of the ranked victims still valid; when none
//     is left, score `candidates` resident entries in one batch — up to
//     `young_candidates` young ones (inserted `young_depth` × entries insertions ago and
//     not requested since: S3-FIFO's test for a one-hit wonder), the `tail_candidates`
//     least recently used, and the rest drawn at random — and keep the `keep_victims`
//     predicted farthest, no more than `keep_share` of the entries (an entry touched
//     since it was ranked is skipped: its prediction is stale). A forest is screened:
//     every candidate gets its first `screen_trees` trees, and the `screen_keep` that
//     look farthest get the rest (the partial sum ranks nearly as the whole does, and
//     its coarser view also proved the better filter: over nine seeds it moved the
//     policy closer to Belady, not further)
//   eviction, no model:      the referee's heuristic decides: the panel's best now (W-TinyLFU
//     until there is evidence, `wtinylfu_first`), kept up to date by every request
//
//   admission (optional, `admission`): the missed key's predicted next request (from
//     its ghost history, or "never seen") against the victim's: the key enters only if
//     it comes back sooner; otherwise it is bypassed and the victim stays
//
//   training: each eviction samples one random resident entry and each miss (with
//     probability `miss_sample_rate`) the incoming key, as feature rows at that moment;
//     the key's next request labels its row (features.hpp: log1p of the gap in units of
//     `label_unit` × W, censored at the window W = `window_per_entry` × resident
//     entries). Retraining happens after `first_model` requests (once
//     `min_training_rows` rows are labelled), then at intervals doubling from
//     `first_retrain` up to `retrain_every`, on the newest `max_training_rows` labelled
//     rows; the new model replaces the old at once.
//     Once retrains are further apart than the ring takes to fill, rows are thinned so
//     that the ring spans two retrain intervals (`sample_span`): a retrain reads rows
//     spread over a long stretch, not only those just before it.
//     (The forest trainer takes the histogram bin edges from 4,096 of those rows:
//     forest_trainer.hpp.)
//
// The referee (learned/referee.hpp) decides who evicts: the model, or the panel's best
// heuristic when the model loses epochs to it over the same requests (the duel), or when
// the whole run has missed more than (1 + `guard`) × the best member's misses (the guard).
//
// The parts, one per header in policy/learned/: config.hpp (the parameters), stats.hpp
// (what it did), ghost_histories.hpp (what it remembers of keys it no longer holds),
// heuristics.hpp (the heuristics hosted on its slots, one awake, and a hand-over's
// disowned residents), labels.hpp (the labels' window and unit, a score read back as a
// gap, the held-out check), panel.hpp (the heuristics' key-only shadows), referee.hpp
// (the duel and the guard), residents.hpp (which slots are resident, their recency and
// stamps), ranking.hpp (a ranking's candidates scored, and the victims it files),
// scorer.hpp (a ranking's rows screened through the forest), online_training.hpp (the
// training loop: rows sampled, labelled and trained on), which holds training_ring.hpp
// (rows waiting for their labels), training_schedule.hpp (when to retrain, and which
// rows to keep meanwhile) and model_training.hpp (the training modes, with
// training_worker.hpp, the background trainer); shared_model.hpp (one model for a
// concurrent cache's shards), young_entries.hpp (the young candidates, and the puts in
// their grace), fixed_ring.hpp.
//
// The model is a template parameter (`compiled_forest` through forest_trainer.hpp, or
// `linear_predictor`): scoring is a direct call on a batch, not a virtual one. Training
// is synchronous (deterministic: the simulator and tests), on a background thread
// (hosts: the cache keeps serving with the previous model and swaps when the new one is
// ready; the thread stops when the policy is destroyed), or pipelined (on that thread,
// each model installed a fixed number of requests after its retrain began: deterministic
// too, its models older when installed).
//
// Learning never blocks correctness: with no model, a model that scores NaN, a model of
// the wrong shape, or a trainer that throws, the policy follows the referee's heuristic
// and counts it in `learned_stats`. Without a panel (`panel_entries` 0) the heuristics
// sleep while a model decides and wake with the resident entries when one has to take
// over; with one, the chosen heuristic is kept up to date all along.
//
// Cost per request: the history update (a few multiplications, one log and three
// exp2), a probe of the training ring's index when the key's history says a row waits
// for it, the panel (a hash comparison, and for a sampled key the miniatures' requests;
// an exact LRU's lookup in a cache of up to `panel_entries`), W-TinyLFU's sketch
// increment, and the awake heuristic's own O(1) update. Per eviction: amortised
// `candidates / keep_victims` feature rows, each scored by `screen_trees` trees, and
// `screen_keep / keep_victims` completed by the rest of the forest (in a cache under 384
// entries a ranking keeps fewer victims, see `keep_share`, and there are more rankings
// per eviction). Memory per resident entry:
// the 32-byte history, ~23 bytes of bookkeeping, the metadata of the one heuristic
// awake on the cache's slots (one that sleeps gives its memory back, W-TinyLFU keeping
// its sketch), the panel's bytes;
// plus the ghost histories (60 bytes each; as many as were evicted within the last
// `ghost_age_per_entry` × entries requests, at most `ghost_per_entry` per entry) and the training
// ring (`training_rows` × ~90 bytes). `metadata_bytes_per_entry` adds up all but the ring.
#pragma once

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "prescient/hash.hpp"
#include "prescient/learn/detail/json.hpp"
#include "prescient/learn/features.hpp"
#include "prescient/learn/predictor.hpp"
#include "prescient/learn/trainer.hpp"
#include "prescient/policy/detail/hash_column.hpp"
#include "prescient/policy/detail/weight_column.hpp"
#include "prescient/policy/learned/config.hpp"
#include "prescient/policy/learned/ghost_histories.hpp"
#include "prescient/policy/learned/heuristics.hpp"
#include "prescient/policy/learned/labels.hpp"
#include "prescient/policy/learned/online_training.hpp"
#include "prescient/policy/learned/panel.hpp"
#include "prescient/policy/learned/ranking.hpp"
#include "prescient/policy/learned/referee.hpp"
#include "prescient/policy/learned/residents.hpp"
#include "prescient/policy/learned/shared_model.hpp"
#include "prescient/policy/learned/stats.hpp"
#include "prescient/policy/learned/young_entries.hpp"
#include "prescient/policy/any_policy.hpp"
#include "prescient/policy/policy.hpp"
#include "prescient/policy/arc.hpp"
#include "prescient/policy/s3fifo.hpp"
#include "prescient/policy/wtinylfu.hpp"

namespace prescient::policy {


template <class Predictor, class Base = s3fifo>
  requires learn::row_predictor<Predictor> && eviction_policy<Base>
class learned {
 public:
  using config = learned_config<Predictor, typename Base::config>;
  using model_ptr = std::shared_ptr<const Predictor>;
  static constexpr std::string_view name = "learned";
  /// A hit updates the key's history, the panel and the sketch (0.5–1 µs): in a
  /// concurrent_cache every thread drains its own buffered hits (policy::has_costly_hit).
  static constexpr bool costly_hit = true;

  explicit learned(std::uint64_t capacity = 0, config cfg = {})
      : cfg_(checked(std::move(cfg))),
        capacity_(capacity),
        heuristics_(capacity, cfg_.base, panel_wanted(capacity)),
        features_(cfg_.features),
        ghost_(detail::ghost_histories::bound(cfg_.ghost_per_entry, capacity), cfg_.ghost_age_per_entry),
        learning_(detail::online_training_config{cfg_.training_rows, cfg_.min_training_rows, cfg_.max_training_rows,
                                                 cfg_.classify, cfg_.trainer && cfg_.mode != training_mode::off,
                                                 detail::training_schedule_config{cfg_.first_model, cfg_.first_retrain,
                                                                                  cfg_.retrain_every, cfg_.sample_span,
                                                                                  cfg_.pause_sampling, cfg_.seed}},
                  detail::model_training<Predictor>(cfg_.mode, cfg_.trainer, cfg_.lag_per_row), cfg_.shared),
        rng_(cfg_.seed),
        ranking_(detail::ranking_config{cfg_.candidates, cfg_.keep_victims, cfg_.keep_share, cfg_.rescore_age_factor,
                                        detail::screen_settings{cfg_.screen_trees, cfg_.screen_keep, cfg_.classify}}),
        young_(cfg_.young_candidates, cfg_.young_depth),
        referee_(detail::referee_config{cfg_.epoch_per_entry, cfg_.probe_every, cfg_.duel_margin,
                                        cfg_.losses_to_switch, cfg_.guard, panel_wanted(capacity),
                                        cfg_.switch_margin, cfg_.reprobe, cfg_.duel_noise,
                                        cfg_.wtinylfu_first ? detail::member::wtinylfu : detail::member::base,
                                        1.0 / static_cast<double>(std::max<std::size_t>(cfg_.shards, 1)),
                                        cfg_.guard_restart}),
        scale_(detail::label_scale_config{cfg_.window_per_entry, cfg_.horizon_per_entry, cfg_.label_unit, cfg_.classify,
                                          cfg_.boundary_per_entry}) {
    heuristics_.use_key_hashes(hash_.view());
    stats_.heuristic = std::string(Base::name);
    if (cfg_.duel && capacity > 0)
      panel_ = std::make_unique<detail::panel<Base>>(capacity, panel_wanted(capacity) ? cfg_.panel_entries : 0, cfg_.base,
                                                     cfg_.seed);
    if (referee_panel()) {  // the first heuristic is awake from the first insert
      wake(referee_.fallback(false));
      handed_to_ = reported_heuristic_ = heuristics_.awake();
      stats_.heuristic = std::string(member_name(heuristics_.awake()));
    }
    if (cfg_.model) install(cfg_.model);
    young_slots_.reserve(cfg_.young_candidates);
  }

  static constexpr std::size_t max_candidates = config::max_candidates;

  learned(learned&&) noexcept = default;
  learned& operator=(learned&&) noexcept = default;

  /// Reads the cache's key hashes instead of keeping its own (policy.hpp); the
  /// heuristics hosted on the same slots read them too.
  void use_key_hashes(key_hash_view v) noexcept {
    hash_.bind(v);
    heuristics_.use_key_hashes(hash_.view());
  }

  void reserve_slots(std::size_t n) {
    heuristics_.reserve_slots(n);  // the awake one's slots, and W-TinyLFU's sketch, which counts on
    residents_.reserve_slots(n);
    if (n > history_.size()) {
      history_.resize(n);
      hash_.resize(n);
      weight_.resize(n);
      ranking_.reserve_slots(n);
      young_.reserve_slots(n);
    }
  }

  /// Room for weights other than 1: this policy's column and the awake heuristic's (a
  /// heuristic woken later fills its column then, as it fills all its arrays).
  void reserve_weight(std::uint64_t w) {
    weight_.materialise();
    with_awake([&](auto& h) {
      if constexpr (has_weight_reserve<std::decay_t<decltype(h)>>) h.reserve_weight(w);
    });
  }

  void on_miss(const access& a) {
    keep_histories_within_reach(a.time);
    scale_.miss();
    referee_.cache_miss();
    if (panel_) panel_->cache_miss(a.key_hash);
    settle_pending_miss();
    pending_weight_ = 1;
    now_ = a.time;
    pending_hash_ = a.key_hash;
    pending_valid_ = true;
    pending_history_ = ghost_.recall(a.key_hash, a.time, residents_.size());
    observe_miss(a.key_hash, pending_history_, a.time);
    with_awake([&](auto& h) {
      if constexpr (has_miss_hook<std::decay_t<decltype(h)>>) h.on_miss(a);
    });
    if (cfg_.miss_sample_rate > 0 && uniform() < cfg_.miss_sample_rate) add_sample(a.key_hash, pending_history_, a.time, a.weight);
    after_request(a.time);
  }

  void on_insert(slot_id s, const access& a) {
    keep_histories_within_reach(a.time);
    const bool requested = pending_valid_ && pending_hash_ == a.key_hash;
    if (requested) {  // the miss just seen: a request
      shadow_request(a.key_hash, a.weight);
      history_[s] = pending_history_;
      pending_valid_ = false;
      pending_bypassed_ = false;
    } else {
      // An insert without a lookup (a put of new data, a prefetch) is not a request: the
      // key's history is kept, not extended, and the duel does not count it as a miss.
      settle_pending_miss();
      if (panel_) panel_->put(a.key_hash, a.weight);
      history_[s] = ghost_.recall(a.key_hash, a.time, residents_.size());
    }
    features_.set_size(history_[s], a.weight);  // the function every row is written with
    hash_.set(s, a.key_hash);
    weight_.set(s, a.weight);
    residents_.enter(s);  // a new stamp, the most recently used
    with_awake([&](auto& h) { h.on_insert(s, a); });
    // An entry put without a request (a prefetch, a write) is in its grace until it is
    // requested or leaves the young ring: see `in_grace`.
    young_.inserted(s, residents_.stamp(s), requested, residents_.size(), liveness());
  }

  void on_access(slot_id s, const access& a) {
    keep_histories_within_reach(a.time);
    settle_pending_miss();
    shadow_request(a.key_hash, a.weight);  // the slot's hash (the cache's lookup computed it)
    observe(a.key_hash, history_[s], a.time, a.weight);
    residents_.touch(s);  // a new stamp, the most recently used
    young_.requested(s);  // a put's grace ends
    weight_.set(s, a.weight);
    with_awake([&](auto& h) { h.on_access(s, a); });
    after_request(a.time);
  }

  [[nodiscard]] slot_id victim(const access& incoming) {
    now_ = std::max(now_, incoming.time);
    sample_resident();
    if (referee_.guarded() && residents_.lru() != no_slot) return decide_by(referee_.fallback(true), incoming, true);
    if (model_ != nullptr) {
      if (referee_.heuristic_decides() && residents_.lru() != no_slot)
        return decide_by(referee_.fallback(true), incoming, true);
      for (int attempt = 0; attempt < 2 && model_ != nullptr; ++attempt) {
        if (const detail::ranked_entry* r = ranking_.next_victim(liveness())) {
          victim_by_ = expert::model;
          handed_to_ = no_member;
          return r->slot;
        }
        if (!rank()) break;  // the model failed: fall back below
      }
    }
    return decide_by(referee_.fallback(false), incoming, false);
  }

  bool admit(const access& incoming, slot_id v) {
    if (model_ == nullptr || !cfg_.admission || victim_by_ != expert::model || ranking_.top() == nullptr ||
        ranking_.top()->slot != v) {
      bool admitted = true;  // the awake heuristic's admission, if it has one
      with_awake([&](auto& h) {
        if constexpr (has_admission<std::decay_t<decltype(h)>>) admitted = h.admit(incoming, v);
      });
      return admitted;
    }
    if (!pending_valid_ || pending_hash_ != incoming.key_hash) return true;
    pending_weight_ = incoming.weight;
    float row[learn::feature_count];
    features_.write(pending_history_, now_, incoming.weight, row);
    const float score = timed_score(row);
    if (std::isnan(score)) {
      drop_model();
      return true;
    }
    const double predicted = static_cast<double>(now_) + time_to_next(score);
    if (predicted < ranking_.top()->predicted) {
      ++stats_.admissions;
      return true;
    }
    ++stats_.bypasses;
    pending_bypassed_ = true;
    return false;
  }

  void on_evict(slot_id s) {
    switch (victim_by_) {
      case expert::model:
        if (const detail::ranked_entry* r = ranking_.top(); r != nullptr && r->slot == s) {
          last_victim_gap_ = std::max(0.0, r->predicted - static_cast<double>(now_));
          ranking_.pop();
        }
        ++stats_.model_evictions;
        with_awake([&](auto& h) { h.on_erase(s); });
        break;
      case expert::lru:
        ++(model_out_ ? stats_.recency_evictions : stats_.fallback_evictions);
        with_awake([&](auto& h) { h.on_erase(s); });
        break;
      case expert::heuristic:
        ++(model_out_ ? stats_.panel_evictions : stats_.fallback_evictions);
        with_awake([&](auto& h) { h.on_evict(s); });
        break;
      default:  // evicted without a victim asked for: the awake heuristic forgets it
        with_awake([&](auto& h) { h.on_erase(s); });
        break;
    }
    victim_by_ = expert::none;
    leave(s);
  }

  void on_erase(slot_id s) {
    with_awake([&](auto& h) { h.on_erase(s); });
    leave(s);
  }

  /// An expiring cache removed the entry at its deadline. The key's waiting training
  /// row, if any, gets the far label now: a next request after the deadline could not
  /// have been a hit, so it must not teach the model that the entry was worth keeping.
  void on_expire(slot_id s) {
    learning_.expired(hash_[s], history_[s], stats_);
    on_erase(s);
  }

  void clear() {
    heuristics_.sleep();
    if (model_ == nullptr)  // the heuristic to decide, empty: nothing to hand it
      heuristics_.wake(referee_.fallback(false), history_.size(), [](auto&&) {});
    ghost_.clear();
    learning_.clear(now_);
    residents_.clear();
    ranking_.clear();
    last_victim_gap_.reset();
    young_.clear();
    if (panel_) panel_->clear();
    referee_.clear();
    pending_valid_ = false;
    pending_bypassed_ = false;
    victim_by_ = expert::none;
  }

  /// The policy's bytes per unit of capacity: the per-slot arrays, the largest heuristic
  /// that may wake, the panel, and the ghost histories as the table holds them now (it
  /// grows to what `ghost_age_per_entry` keeps, at most `ghost_per_entry` per unit).
  [[nodiscard]] std::size_t metadata_bytes_per_entry() const {
    // Per slot: the history; the hash (outside a cache) and the weight (once one is not 1);
    // the residents' stamp, places and links (residents.hpp); the ranking's record.
    return learn::key_history::bytes + hash_.bytes_per_slot() + weight_.bytes_per_index() +
           detail::residents::bytes_per_slot +
           ranking_.bytes_per_slot() +
           young_.bytes_per_slot(history_.size()) +
           heuristic_bytes_per_entry() +
           (panel_ ? panel_->bytes_per_entry() : 0) +
           ghost_.bytes() / static_cast<std::size_t>(std::max<std::uint64_t>(capacity_, 1));
  }

  /// The heuristics' share: only the awake one holds metadata per slot (see sleep), so
  /// the largest of those that may wake, plus W-TinyLFU's sketch, which counts all along.
  [[nodiscard]] std::size_t heuristic_bytes_per_entry() const { return heuristics_.bytes_per_entry(); }

  /// The slots the policy holds, walked through its recency list (for
  /// cache::check_invariants; O(n), allocates).
  [[nodiscard]] std::vector<slot_id> resident_slots() const {
    return residents_.by_recency();
  }

  // ---- introspection ----
  [[nodiscard]] const learned_stats& stats() const { return stats_; }

  /// The model's prediction for the entry it would evict next: requests until that
  /// entry's next request (from the last ranking; no new scoring). Once the ranking's
  /// victims are all evicted (a cache under 384 entries keeps fewer than six a ranking,
  /// under 128 one), the gap predicted for the last of them when it was evicted: the next
  /// ranking is made at the next eviction, and its victim is of the same kind. Empty
  /// while the base heuristic or LRU decides, or before the model's first victim. The
  /// prefetch planner weighs a prefetch against it (prefetch/planner.hpp).
  [[nodiscard]] std::optional<double> predicted_victim_gap() const {
    if (model_ == nullptr || referee_.heuristic_decides() || referee_.guarded()) return std::nullopt;
    if (const detail::ranked_entry* r = ranking_.peek_victim(liveness()))
      return std::max(0.0, r->predicted - static_cast<double>(now_));
    return last_victim_gap_;
  }
  [[nodiscard]] const Base& base() const { return heuristics_.base(); }
  /// The model driving decisions now (null: the base heuristic decides).
  [[nodiscard]] model_ptr model() const { return model_; }
  /// The model and trainer this policy shares with the other shards of its
  /// concurrent_cache (learned/shared_model.hpp); null outside one.
  [[nodiscard]] const std::shared_ptr<shared_model<Predictor>>& shared() const { return cfg_.shared; }
  /// Rows the training ring holds (`training_rows`; in a concurrent_cache, its 1/S share).
  [[nodiscard]] std::size_t training_ring_rows() const { return learning_.ring_rows(); }
  /// Replaces the model (null: back to the base heuristic). Its scores are read as
  /// log1p of the gap in requests, as prescient-train's models predict.
  void set_model(model_ptr m) { m ? install(std::move(m)) : drop_model(); }
  /// Waits for a background or pipelined training in flight, then installs its model
  /// (tests; a pipelined model is then installed before the request it was due at).
  void wait_for_training() { learning_.wait(stats_, installer()); }
  /// concurrent_cache's hooks: what its shards share (learned/shared_model.hpp).
  static void prepare_shards(config& c, std::size_t shards, std::uint64_t capacity) {
    detail::prepare_shards<Predictor>(c, shards, capacity);
  }
  static void add_shared_stats(const config& c, learned_stats& total) { detail::add_shared_stats<Predictor>(c, total); }

  /// The history the policy keeps for a resident slot (tests, explanations).
  [[nodiscard]] const learn::key_history& history(slot_id s) const { return history_[s]; }
  /// Whether the entry in slot `s` is in a put's grace: put without a request and not
  /// requested since, still in the young ring (the young_depth × entries insertions
  /// S3-FIFO's small queue would give it). Its history says when it was last *requested*
  /// — long ago, or never, for a prefetch — so the model would score it as the farthest
  /// and evict it before the request it was loaded for, and a prefetch planner's gain
  /// would be lost (docs/prefetching.md). A ranking neither scores it nor evicts it until
  /// then; left unrequested it becomes a young candidate like any other.
  [[nodiscard]] bool in_grace(slot_id s) const { return young_.in_grace(s); }

 private:
  // `cfg` with the predictor's default trainer where it names none; refused (a
  // config_error) when training is on without a trainer, or `candidates` is not 1 to
  // max_candidates. Checked before any part is built.
  static config checked(config cfg) {
    if (!cfg.trainer) {
      if constexpr (requires { learn::default_trainer<Predictor>::train(learn::feature_matrix{}, std::span<const float>{}); }) {
        if (cfg.classify)
          cfg.trainer = [](const learn::feature_matrix& x, std::span<const float> y) {
            return learn::default_trainer<Predictor>::train_classifier(x, y);
          };
        else
          cfg.trainer = [](const learn::feature_matrix& x, std::span<const float> y) {
            return learn::default_trainer<Predictor>::train(x, y);
          };
      }
    }
    if (!cfg.trainer && cfg.mode != training_mode::off) throw config_error(std::string(detail::no_trainer_message));
    if (cfg.candidates == 0 || cfg.candidates > max_candidates)
      throw config_error("learned: candidates is " + std::to_string(cfg.candidates) + "; it must be 1 to " +
                         std::to_string(max_candidates));
    return cfg;
  }

  /// Who chose the victim about to be evicted.
  enum class expert : std::uint8_t { none, model, lru, heuristic };

  [[nodiscard]] bool panel_wanted(std::uint64_t capacity) const {
    return cfg_.duel && capacity > 0 && cfg_.panel_entries > 0;
  }
  [[nodiscard]] bool referee_panel() const { return panel_ && panel_->enabled(); }
  [[nodiscard]] static std::string_view member_name(detail::member m) { return detail::hosted_heuristics<Base>::name(m); }

  // A request of a key: label its waiting training row, then record the request.
  void observe(std::uint64_t key_hash, learn::key_history& h, std::uint64_t now, std::uint64_t size) {
    now_ = now;
    learning_.requested(key_hash, h, now, stats_);
    features_.record(h, now, size);
  }

  // Histories keep 32-bit times (learn::key_history): once every 2^30 requests, every
  // history held (per slot, in the ghost table, the pending miss's) is brought within
  // 2^31 requests of age, so that each still says how old it is.
  void keep_histories_within_reach(std::uint64_t now) {
    reach_.advance(now, [&](auto&& f) {
      for (learn::key_history& h : history_) f(h);
      ghost_.for_each_history(f);
      f(pending_history_);
    });
  }

  // A miss carries no weight yet (the value is not loaded): keep the size last seen.
  void observe_miss(std::uint64_t key_hash, learn::key_history& h, std::uint64_t now) {
    const auto log_size = h.log_size;
    observe(key_hash, h, now, 1);
    if (h.count > 1) h.log_size = log_size;
  }

  // A missed key that was not inserted (bypassed, or looked up without insertion):
  // its history goes back to the ghost.
  void settle_pending_miss() {
    if (!pending_valid_) return;
    pending_valid_ = false;
    pending_bypassed_ = false;
    shadow_request(pending_hash_, pending_weight_);
    remember(pending_hash_, pending_history_);
  }

  // Wakes heuristic `m` (heuristics.hpp) when it must decide — no model, the model was
  // dropped or is out, or the guard holds — with the residents, least recently used
  // first, each frequent when its key's history has at least two requests. LRU needs no
  // waking: the recency order is always kept.
  void wake(detail::member m) {
    heuristics_.wake(m, history_.size(), [&](auto&& adopt) {
      residents_.for_each_lru_first([&](slot_id s) {
        adopt(s, access{hash_[s], now_, weight_[s], access::unknown}, history_[s].count >= 2);
      });
    });
  }
  // A hand-over: with a panel, the residents the heuristic's shadow would not hold are
  // its first victims (heuristics.hpp). Keys outside the panel's sample count as held.
  void disown_for(detail::member m) {
    if (!referee_panel()) {
      heuristics_.forget_disowned();
      return;
    }
    heuristics_.disown(
        [&](auto&& file) {
          residents_.for_each_lru_first([&](slot_id s) { file(s, residents_.stamp(s), hash_[s]); });
        },
        [&](std::uint64_t key_hash) { return panel_->holds(m, key_hash).value_or(true); });
  }
  // Calls f on the awake heuristic, if any.
  template <class F>
  void with_awake(F&& f) {
    heuristics_.with_awake(std::forward<F>(f));
  }
  // The victim of heuristic `m` (LRU: the recency tail). `model_out`: the model is
  // installed but out (lost the duel) or the guard holds — for the counters.
  slot_id decide_by(detail::member m, const access& incoming, bool model_out) {
    model_out_ = model_out;
    if (m != handed_to_) {  // a hand-over: the heuristic's disowned residents go first
      handed_to_ = m;
      disown_for(m);
    }
    if (const slot_id d = heuristics_.next_disowned(liveness()); d != no_slot) {
      if (m != detail::member::lru) wake(m);
      victim_by_ = m == detail::member::lru ? expert::lru : expert::heuristic;
      return d;
    }
    if (m == detail::member::lru && residents_.lru() != no_slot) {
      victim_by_ = expert::lru;
      return residents_.lru();
    }
    if (m == detail::member::lru) m = detail::member::base;  // nothing resident: cannot happen in the core
    wake(m);
    victim_by_ = expert::heuristic;
    slot_id v = no_slot;
    with_awake([&](auto& h) { v = h.victim(incoming); });
    return v;
  }

  // Still the entry filed — resident, and not requested (nor replaced) since — as the
  // callback the ranking, the young entries and a hand-over's disowned list take.
  auto liveness() const {
    return [this](detail::stamped_slot y) { return residents_.live(y); };
  }

  // ---- the duel ----

  // The shadow sees every request once, with its weight, like a cache of the base
  // policy alone would.
  void shadow_request(std::uint64_t key_hash, std::uint64_t weight) {
    if (!panel_) return;
    panel_->request(key_hash, weight, now_);
    heuristics_.record(key_hash);  // W-TinyLFU's sketch, while it sleeps
  }

  // The referee counts the request; a guard that has just tripped voids the ranking.
  void end_epoch_if_due() {
    if (!panel_) return;
    if (referee_.end_request(model_ != nullptr, residents_.size(), *panel_, stats_)) ranking_.clear();
    if (referee_panel()) wake(referee_.fallback(true));  // the panel's best stays awake
    if (const detail::member h = referee_.fallback(false); h != reported_heuristic_) {
      reported_heuristic_ = h;
      stats_.heuristic = member_name(h);
    }
  }

  // A key that leaves: its history goes to the ghosts (ghost_histories.hpp). Taken back
  // stale, it counts as never seen — its waiting training row, if any, is still
  // labelled: observe looks for the row of a key never seen.
  void remember(std::uint64_t hash, const learn::key_history& h) { ghost_.remember(hash, h, now_, residents_.size()); }

  void leave(slot_id s) {
    remember(hash_[s], history_[s]);
    residents_.leave(s);
  }

  void add_sample(std::uint64_t key_hash, learn::key_history& h, std::uint64_t now, std::uint64_t size) {
    learning_.sample(key_hash, h, now, size, features_, stats_);
  }

  void sample_resident() {
    if (residents_.empty()) return;
    const slot_id s = residents_.drawn(next_random());
    add_sample(hash_[s], history_[s], now_, 1);
  }

  // Offers the ranking (learned/ranking.hpp) the young candidates first, then the least
  // recently used, then random residents (all of them when there are no more than the
  // candidates), and files its victims.
  bool rank() {
    const std::size_t n = residents_.size();
    if (n == 0) return false;
    const std::size_t k = std::min(cfg_.candidates, n);
    ranking_.begin();
    slot_id tail = residents_.lru();
    young_slots_.clear();  // young candidates come first
    if (k < n) young_.take(std::min(cfg_.young_candidates, k), young_slots_, liveness());
    const std::size_t young = young_slots_.size();
    for (std::size_t i = 0; i < k; ++i) {
      slot_id s;
      if (i < young) {
        s = young_slots_[i];
      } else if (k == n) {
        s = residents_.at(i);
      } else if (i - young < cfg_.tail_candidates && tail != no_slot) {
        s = tail;
        tail = residents_.newer(tail);
      } else {
        s = residents_.drawn(next_random());
      }
      ranking_.offer(s, history_[s], residents_.stamp(s), in_grace(s), now_);
    }
    if (ranking_.decide(*model_, features_, now_, n, [this](float score) { return time_to_next(score); }, stats_))
      return true;
    drop_model();
    return false;
  }

  float timed_score(const float* row) {
    // Timing every admission would cost as much as the score; time one in 16.
    if ((++admission_scores_ & 15) != 0) {
      ++stats_.rows_scored;
      return model_->predict_row(row);
    }
    const auto start = std::chrono::steady_clock::now();
    const float s = model_->predict_row(row);
    stats_.inference_seconds += 16 * std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    ++stats_.rows_scored;
    return s;
  }

  void after_request(std::uint64_t now) {
    if (cfg_.shared && cfg_.shared->version() != shared_version_) {  // a new shared model: one atomic load per request
      shared_version_ = cfg_.shared->version();
      // Trained on every shard's rows, their labels put in one unit (shared_model.hpp).
      auto [m, unit] = cfg_.shared->model_and_unit();
      if (m) install(std::move(m), unit);
    }
    end_epoch_if_due();
    learning_.collect(now, stats_, installer());
    learning_.retrain_if_due(now, residents_.size(), model_.get(), scale_, stats_, installer());
  }

  // How a trained model is installed (model_training.hpp calls it).
  auto installer() {
    return [this](model_ptr m, double unit) { install(std::move(m), unit); };
  }

  // A score as the expected time to the next request (labels.hpp).
  [[nodiscard]] double time_to_next(float score) const { return scale_.time_to_next(score); }

  // `unit`: the unit of time of the labels the model was trained on (label_config::unit;
  // 1 for a model from elsewhere, which predicts log1p of the gap in requests).
  void install(model_ptr m, double unit = 1.0) {
    if (m->num_features() != learn::feature_count) {
      ++stats_.training_failures;
      stats_.last_error = "model expects " + std::to_string(m->num_features()) + " features, the policy writes " +
                          std::to_string(learn::feature_count);
      return;
    }
    model_ = std::move(m);
    scale_.set_model_unit(unit);
    ranking_.clear();
    ranking_.forget_scores();  // the old model's predictions
    last_victim_gap_.reset();
    // While a model decides, the heuristic stays awake only with a panel: it takes over
    // at once when the model loses, so its state is kept warm (one O(1) update per
    // request); without one, none is kept up to date.
    if (!referee_panel()) heuristics_.sleep();
    referee_.new_model();
    stats_.model_active = true;
  }

  void drop_model() {
    model_.reset();
    ranking_.clear();
    last_victim_gap_.reset();
    ++stats_.model_failures;
    stats_.model_active = false;
  }

  // splitmix64: the state advances by the golden gamma, and its finaliser (mix64) is the draw.
  static std::uint64_t splitmix(std::uint64_t& state) { return mix64(state += 0x9e3779b97f4a7c15ULL); }
  static double unit_interval(std::uint64_t draw) { return static_cast<double>(draw >> 11) * 0x1.0p-53; }

  std::uint64_t next_random() { return splitmix(rng_); }
  double uniform() { return unit_interval(next_random()); }

  config cfg_;
  std::uint64_t capacity_;  // as built (the ghost table's bytes are counted per unit of it)
  detail::hosted_heuristics<Base> heuristics_;  // the base, W-TinyLFU and ARC on these slots; one awake
  bool model_out_ = false;  // the last victim was chosen while the model was out or guarded
  static constexpr auto no_member = static_cast<detail::member>(0xff);
  detail::member reported_heuristic_ = detail::member::base;  // stats_.heuristic's member
  detail::member handed_to_ = detail::member::base;  // the heuristic that last chose a victim (no_member: the model)
  learn::feature_extractor features_;
  detail::ghost_histories ghost_;
  learn::history_reach reach_;  // keeps the 32-bit times of history_ and ghost_ exact
  detail::online_training<Predictor> learning_;  // the rows, their labels and the retrains
  std::uint64_t rng_;
  detail::ranking<Predictor> ranking_;  // a ranking's candidates, their scores, and the victims it filed

  std::vector<learn::key_history> history_;  // per slot
  detail::hash_column hash_;                 // per slot: key hash (to file the history in the ghost); the cache's once bound
  detail::weight_column weight_;             // per slot: weight (to wake the base heuristic)
  detail::residents residents_;              // which slots are resident, their recency and stamps
  std::optional<double> last_victim_gap_;    // the last model victim's predicted gap, at its eviction
  detail::young_entries young_;              // the young candidates, and the puts in their grace
  std::vector<slot_id> young_slots_;         // the young candidates of one ranking

  model_ptr model_;
  std::uint64_t shared_version_ = 0;   // the shared model's version installed last
  learned_stats stats_;

  learn::key_history pending_history_{};
  std::uint64_t pending_hash_ = 0;
  bool pending_valid_ = false;
  expert victim_by_ = expert::none;
  bool pending_bypassed_ = false;
  std::unique_ptr<detail::panel<Base>> panel_;  // the heuristics alone, keys only (the referee's evidence)
  detail::referee referee_;                     // who decides: the model or a heuristic
  std::uint64_t pending_weight_ = 1;
  std::uint64_t now_ = 0;
  std::uint64_t admission_scores_ = 0;
  detail::label_scale scale_;                   // the labels' window and unit, and the scores read back
};

}  // namespace prescient::policy
