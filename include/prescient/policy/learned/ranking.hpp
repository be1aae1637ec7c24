// prescient/policy/learned/ranking.hpp — one ranking of the learned policy: the candidates
// its owner offers, scored by the model, and the farthest of them filed as the next
// victims.
//
// The owner draws the candidates (the young entries first, then the least recently used,
// then random residents: learned.hpp) and offers them in that order; of equal predictions
// the earlier offered wins, so that order is the ranking's preference among ties. Each
// candidate is
//   - a put in its grace (young_entries.hpp): predicted to be requested now and never
//     scored, so it is a victim only when too few other candidates are predicted later;
//   - with lazy rescoring (`rescore_age_factor` > 0), an entry scored before, untouched
//     since, not yet overdue and at most that factor older than when it was scored: its
//     prediction stands;
//   - otherwise fresh: its feature row is written (all of a ranking's at once) and
//     scored through the screened scorer (scorer.hpp), where a row screened out keeps no
//     prediction and cannot be a victim.
// The farthest `keep` predictions — `keep_victims`, no more than `keep_share` of the
// residents (at least one), no more than the candidates — become the victims, in
// ascending order so that the farthest is taken first. A victim the cache has since
// requested, replaced or evicted is skipped when its turn comes (its stamp moved).
//
// Per slot: without lazy rescoring one byte (the slot's candidate index in the ranking,
// where its prediction is kept: a slot drawn twice has one, the last written); with it,
// the prediction (8 bytes), the stamp and the time it was scored at (12). Per ranking:
// the candidates' slots, stamps and values and the scorer's rows, sized once.
#pragma once

#include <algorithm>
#include <cassert>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

#include "prescient/learn/features.hpp"
#include "prescient/policy/learned/scorer.hpp"
#include "prescient/policy/learned/stats.hpp"
#include "prescient/policy/learned/young_entries.hpp"
#include "prescient/policy/policy.hpp"

namespace prescient::policy::detail {

struct ranking_config {
  std::size_t candidates = 64;     ///< candidates a ranking takes at most (≤ 256: a slot's index is a byte)
  std::size_t keep_victims = 6;    ///< victims one ranking files at most
  double keep_share = 1.0 / 64;    ///< and no more than this share of the residents (at least one)
  double rescore_age_factor = 0;   ///< lazy rescoring (0: every candidate scored afresh)
  screen_settings screen{};        ///< the scorer's screen (its `keep` at least `keep_victims`)
};

/// A victim filed by a ranking.
struct ranked_entry {
  double predicted;  ///< absolute logical time of the predicted next request
  slot_id slot;
  std::uint32_t stamp;  ///< the slot's stamp when ranked: a victim only while unchanged
};

template <class Predictor>
class ranking {
 public:
  explicit ranking(const ranking_config& cfg) : cfg_(cfg), scorer_(cfg.candidates) {
    cfg_.screen.keep = std::max(cfg_.screen.keep, cfg_.keep_victims);
    victims_.reserve(cfg_.keep_victims);
    // Sized once: an offer writes its candidate's place, no capacity check per offer.
    slots_.resize(cfg_.candidates);
    stamps_.resize(cfg_.candidates);
    candidate_predicted_.resize(cfg_.candidates);
    value_.resize(cfg_.candidates);
    order_.reserve(cfg_.candidates + 1);
    fresh_.resize(cfg_.candidates);
    fresh_histories_.resize(cfg_.candidates);
    fresh_rows_.resize(cfg_.candidates);
  }

  void reserve_slots(std::size_t n) {
    if (cfg_.rescore_age_factor > 0) {  // lazy rescoring's record, kept only when it is on
      if (n > predicted_.size()) {
        predicted_.resize(n, 0);
        score_stamp_.resize(n, 0);
        score_time_.resize(n, 0);
      }
    } else if (n > last_copy_.size()) {
      last_copy_.resize(n, 0);
    }
  }

  // ---- one ranking: begin, offer each candidate, decide ----

  void begin() noexcept {
    offered_ = 0;
    fresh_count_ = 0;
  }

  /// Offers resident slot `s` (its history `h`, its stamp) as the next candidate, at
  /// logical time `now`; `graced`: a put in its grace. At most `candidates` offers.
  void offer(slot_id s, const learn::key_history& h, std::uint32_t stamp, bool graced, std::uint64_t now) {
    assert(offered_ < cfg_.candidates);
    const auto i = static_cast<std::uint32_t>(offered_++);
    if (cfg_.rescore_age_factor == 0) last_copy_[s] = static_cast<std::uint8_t>(i);
    slots_[i] = s;
    stamps_[i] = stamp;
    if (graced) {  // requested next, as far as a ranking is concerned
      prediction(s) = static_cast<double>(now);
      if (cfg_.rescore_age_factor > 0) score_time_[s] = 0;  // not a model's prediction: never reused
      return;
    }
    // Lazy rescoring: a prediction stands while the entry is untouched, not yet overdue,
    // and no more than `rescore_age_factor` times as old as when it was scored (the age
    // column is a logarithm: the row has barely moved).
    const bool cached = cfg_.rescore_age_factor > 0 && score_stamp_[s] == stamp && score_time_[s] != 0 &&
                        predicted_[s] > static_cast<double>(now) && within_rescore_age(s, h, now);
    if (!cached) {
      fresh_histories_[fresh_count_] = &h;
      fresh_rows_[fresh_count_] = scorer_.row(fresh_count_);
      fresh_[fresh_count_++] = i;
    }
  }

  /// Scores the fresh candidates with `model` (rows written by `features` at `now`;
  /// `time_to_next(score)` reads a score as requests to the next request) and files the
  /// farthest as the victims, given `residents` entries. False, with nothing filed, when
  /// a score is NaN: the owner must drop the model.
  template <class TimeToNext>
  bool decide(const Predictor& model, const learn::feature_extractor& features, std::uint64_t now,
              std::size_t residents, TimeToNext&& time_to_next, learned_stats& stats) {
    const std::size_t m = fresh_count_;
    features.write_rows(fresh_histories_.data(), m, now, 1, fresh_rows_.data());
    if (m > 0) {
      const auto start = std::chrono::steady_clock::now();
      const std::size_t completed = scorer_.score(model, m, cfg_.screen);
      stats.inference_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      stats.rows_scored += completed;
      stats.rows_screened_out += m - completed;
      for (std::size_t j = 0; j < m; ++j) {
        if (std::isnan(scorer_.score(j))) {
          victims_.clear();
          return false;
        }
        const std::uint32_t i = fresh_[j];
        const slot_id s = slots_[i];
        if (!scorer_.complete(j)) {  // screened out: cannot be this ranking's victim, and keeps no score
          prediction(s) = -std::numeric_limits<double>::infinity();
          continue;
        }
        prediction(s) = static_cast<double>(now) + time_to_next(scorer_.score(j));
        if (cfg_.rescore_age_factor > 0) {
          score_stamp_[s] = stamps_[i];
          score_time_[s] = now;
        }
      }
    }
    ++stats.rankings;
    const std::size_t k = offered_;
    const std::size_t keep = std::min({cfg_.keep_victims, k, victims_per_ranking(residents)});
    for (std::size_t i = 0; i < k; ++i) value_[i] = prediction(slots_[i]);  // read once, compared often
    select_farthest(order_, k, keep, [&](std::uint32_t a, std::uint32_t b) { return value_[a] > value_[b]; });
    victims_.clear();
    for (std::size_t j = keep; j-- > 0;)  // ascending, so back() is the farthest
      victims_.push_back(ranked_entry{value_[order_[j]], slots_[order_[j]], stamps_[order_[j]]});
    // A slot offered twice may be filed twice; harmless (the second copy is skipped once
    // the first is evicted, since the slot is then not resident or re-stamped).
    return true;
  }

  // ---- the victims filed ----

  /// The next victim still `live` (a callable on stamped_slot: resident, stamp
  /// unchanged), dropping the ones that are not; null when none is left.
  template <class Live>
  [[nodiscard]] const ranked_entry* next_victim(Live&& live) {
    while (!victims_.empty()) {
      const ranked_entry& r = victims_.back();
      if (live(stamped_slot{r.slot, r.stamp})) return &r;
      victims_.pop_back();
    }
    return nullptr;
  }
  /// The same without dropping anything (introspection).
  template <class Live>
  [[nodiscard]] const ranked_entry* peek_victim(Live&& live) const {
    for (auto r = victims_.rbegin(); r != victims_.rend(); ++r)
      if (live(stamped_slot{r->slot, r->stamp})) return &*r;
    return nullptr;
  }
  /// The victim a `next_victim` returned last, whatever became of it since (null: none filed).
  [[nodiscard]] const ranked_entry* top() const { return victims_.empty() ? nullptr : &victims_.back(); }
  /// The victim `top()` was taken (evicted).
  void pop() { victims_.pop_back(); }
  /// Forgets the victims filed (a new model, a guard that tripped, a cleared cache).
  void clear() { victims_.clear(); }
  /// Forgets the predictions lazy rescoring would reuse (a new model's scores differ).
  void forget_scores() { std::fill(score_time_.begin(), score_time_.end(), 0); }

  /// Bytes the ranking keeps per slot (its per-ranking arrays are a constant).
  [[nodiscard]] std::size_t bytes_per_slot() const noexcept {
    return cfg_.rescore_age_factor > 0 ? sizeof(double) + sizeof(std::uint64_t) + sizeof(std::uint32_t)
                                       : sizeof(std::uint8_t);
  }

  /// The victims one ranking may file among `residents` entries: `keep_victims`, and no
  /// more than `keep_share` of them (at least one).
  [[nodiscard]] std::size_t victims_per_ranking(std::size_t residents) const {
    return std::max<std::size_t>(1, static_cast<std::size_t>(cfg_.keep_share * static_cast<double>(residents)));
  }

 private:
  // The predicted time of the next request of candidate slot `s`, one value per slot (a
  // slot offered twice has one: the last written — which differs from an earlier copy's
  // when the screen kept one copy of a tie and cut the other). With lazy rescoring it is
  // kept per slot, to be reused in later rankings. Without it every candidate is scored
  // afresh and nothing outlives the ranking: it is kept per candidate, at the slot's last
  // candidate index (`last_copy_`, 1 byte a slot instead of 8).
  [[nodiscard]] double& prediction(slot_id s) noexcept {
    return cfg_.rescore_age_factor > 0 ? predicted_[s] : candidate_predicted_[last_copy_[s]];
  }

  // The entry's age is at most `rescore_age_factor` × its age when it was scored (+ 1).
  // (Its history has not changed since: the stamp is the same.)
  [[nodiscard]] bool within_rescore_age(slot_id s, const learn::key_history& h, std::uint64_t now) const {
    const std::uint64_t age = h.age(now), since_scored = now - score_time_[s];
    const std::uint64_t age_when_scored = age > since_scored ? age - since_scored : 0;
    return static_cast<double>(age) <= cfg_.rescore_age_factor * static_cast<double>(age_when_scored) + 1;
  }

  ranking_config cfg_;
  screened_scorer<Predictor> scorer_;      // the fresh candidates' rows and their scores
  std::size_t offered_ = 0;                // candidates offered to this ranking
  std::size_t fresh_count_ = 0;            // of which to be scored
  std::vector<slot_id> slots_;             // per candidate: its slot, in the order offered
  std::vector<std::uint32_t> stamps_;      // per candidate: its slot's stamp when offered
  std::vector<double> candidate_predicted_;  // per candidate, without lazy rescoring: the prediction
  std::vector<double> value_;              // per candidate: its slot's prediction, for the selection
  std::vector<std::uint32_t> order_;       // the selection's farthest candidates
  std::vector<std::uint32_t> fresh_;       // candidates (by index) scored in this ranking
  std::vector<const learn::key_history*> fresh_histories_;  // their histories and rows, written at once
  std::vector<float*> fresh_rows_;
  std::vector<std::uint8_t> last_copy_;    // per slot, without lazy rescoring: its last candidate index
  std::vector<double> predicted_;          // per slot, with it: the predicted time of the next request
  std::vector<std::uint32_t> score_stamp_;  // per slot, with it: the stamp when last scored
  std::vector<std::uint64_t> score_time_;   // per slot, with it: when last scored (0: never)
  std::vector<ranked_entry> victims_;       // ascending by prediction; back() = next victim
};

}  // namespace prescient::policy::detail
