// prescient/prefetch/planner.hpp — what to load ahead of demand, and when to stay quiet.
//
// The decisions shared by the simulator (sim/prefetch_replay.hpp) and hosts
// (prefetching_cache.hpp); they differ only in how a load is carried out (a delayed
// arrival, or a task on an executor) and in what "cached" and "in flight" mean.
//
// After each demand request of key A, the successor model (successors.hpp) names the
// keys that follow A with ratio ≥ `candidate_floor`, and the candidate scorer
// (candidate_scorer.hpp: a predictor trained online on what followed earlier
// predictions) gives each the probability p of a request within its horizon. A candidate
// the caller says may be loaded is prefetched when
//
//   p ≥ `min_probability`, and
//   p > the predicted value of the entry the prefetch would displace (`weigh_displaced`):
//       the chance that it is requested again within four horizons. Where the policy
//       predicts its victim's next request (policy::learned: `predicted_victim_gap`),
//       the planner turns that predicted gap into a chance by calibration: entries
//       displaced by earlier prefetches are kept in buckets of log2(predicted gap), and
//       a bucket's value is the decayed share of its entries that came back in time
//       (shrunk towards the overall share while the bucket has few entries). A policy
//       without predictions gets the overall share: what prefetches displaced, measured.
//
// at most `budget` per request and `max_outstanding` in flight. The planner watches its
// own accuracy (used / issued, decayed over ~1,000 prefetches): below `min_accuracy` it
// goes quiet and lets one candidate in `quiet_probe` through, enough to notice when the
// stream becomes predictable again.
//
// Not thread-safe: a host guards it with a lock.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <unordered_map>
#include <utility>
#include <vector>

#include "prescient/prefetch/candidate_scorer.hpp"
#include "prescient/prefetch/successors.hpp"

namespace prescient::prefetch {

struct planner_config {
  std::size_t budget = 2;            ///< prefetches per demand request, at most
  std::size_t max_outstanding = 32;  ///< prefetches in flight, at most
  float candidate_floor = 0.1f;      ///< successors below this ratio are not considered
  float min_probability = 0.4f;      ///< the scored probability a prefetch needs, at least
  bool weigh_displaced = true;       ///< also require more than the displaced entries' value
  double min_accuracy = 0.5;         ///< below it the planner goes quiet
  unsigned quiet_probe = 16;         ///< while quiet, one candidate in this many goes through
  successor_config successors{};
  scorer_config scorer{};
};

/// What the planner did.
struct planner_counts {
  std::uint64_t issued = 0;            ///< prefetches issued (each an extra backend load)
  std::uint64_t used = 0;              ///< prefetched entries hit by demand before eviction
  std::uint64_t capped = 0;            ///< candidates dropped at the outstanding cap
  std::uint64_t quiet_skips = 0;       ///< candidates held back while the planner was quiet
  std::uint64_t below_value = 0;       ///< candidates less likely than what they would displace
  std::uint64_t displaced = 0;         ///< entries evicted to make room for prefetches
  std::uint64_t displaced_reused = 0;  ///< of those, requested again within four horizons
  [[nodiscard]] double accuracy() const { return issued ? double(used) / double(issued) : 0.0; }
};

/// What `policy` predicts for the entry it would evict next (requests until its next
/// request), if it predicts anything: policy::learned does; the heuristics do not.
template <class Policy>
[[nodiscard]] std::optional<double> predicted_victim_gap(const Policy& policy) {
  if constexpr (requires { { policy.predicted_victim_gap() } -> std::convertible_to<std::optional<double>>; })
    return policy.predicted_victim_gap();
  else
    return std::nullopt;
}

class planner {
 public:
  explicit planner(const planner_config& cfg = {})
      : cfg_(cfg), model_(cfg.successors), scorer_(cfg.scorer),
        displaced_horizon_(4 * std::max<std::uint64_t>(cfg.scorer.horizon, 1)) {}

  /// A demand request of `key` at logical time `now`; `hit_prefetched`: it hit an entry a
  /// prefetch loaded (the first such hit only).
  void record(std::uint64_t key, std::uint64_t now, bool hit_prefetched) {
    if (hit_prefetched) {
      ++counts_.used;
      recent_used_ += 1;
    }
    if (const auto d = displaced_at_.find(key); d != displaced_at_.end()) {
      if (now - d->second.when <= displaced_horizon_) {
        ++counts_.displaced_reused;
        recent_displaced_reused_ += 1;
        bucket_reused_[d->second.bucket] += 1;
      }
      displaced_at_.erase(d);
    }
    if (++requests_ % 4096 == 0)  // forget displaced keys past the horizon
      std::erase_if(displaced_at_, [&](const auto& e) { return now - e.second.when > displaced_horizon_; });
    model_.record(key, now);
    scorer_.observe(key, now);
  }

  /// The bucket of a predicted gap (requests until the displaced entry's next request);
  /// `unpredicted` when the policy made no prediction. Callers carry it from `plan`'s
  /// `issue` to `displaced`.
  using gap_bucket = std::uint8_t;
  static constexpr gap_bucket unpredicted = 0;
  static constexpr std::size_t gap_buckets = 33;
  [[nodiscard]] static gap_bucket bucket_of(std::optional<double> gap) {
    if (!gap || !(*gap >= 0)) return unpredicted;  // NaN too
    return static_cast<gap_bucket>(1 + std::min(31.0, std::floor(std::log2(1 + *gap))));
  }

  /// `key` was evicted at `now` to make room for a prefetch issued with `bucket`.
  void displaced(std::uint64_t key, std::uint64_t now, gap_bucket bucket = unpredicted) {
    displaced_at_[key] = {now, bucket};
    ++counts_.displaced;
    recent_displaced_ = recent_displaced_ * 0.999 + 1;
    recent_displaced_reused_ *= 0.999;
    bucket_displaced_[bucket] = bucket_displaced_[bucket] * 0.999 + 1;
    bucket_reused_[bucket] *= 0.999;
  }

  /// The chance that an entry displaced with `bucket` is requested again within four
  /// horizons: 0.5 before anything was displaced; the overall share for `unpredicted`.
  [[nodiscard]] double displaced_value(gap_bucket bucket) const {
    const double overall = (recent_displaced_reused_ + 1) / (recent_displaced_ + 2);
    if (bucket == unpredicted) return overall;
    constexpr double prior = 8;  // a bucket's own figures count once it has seen ~8 entries
    return (bucket_reused_[bucket] + prior * overall) / (bucket_displaced_[bucket] + prior);
  }

  /// Plans the prefetches after a request of `key` at `now`, with `in_flight` prefetches
  /// outstanding: `may_load(k)` says whether k is neither cached nor on its way and can be
  /// loaded; `issue(k, bucket)` carries a prefetch out (and hands `bucket` to `displaced`
  /// for whatever the load evicts); `victim_gap(k)` is the policy's predicted gap for the
  /// entry a load of k would displace (std::optional<double>; empty: no prediction).
  template <class MayLoad, class Issue, class VictimGap>
  void plan(std::uint64_t key, std::uint64_t now, std::size_t in_flight, MayLoad&& may_load, Issue&& issue,
            VictimGap&& victim_gap) {
    model_.predict(key, now, cfg_.candidate_floor, candidates_);
    std::size_t issued_now = 0;
    for (const auto& c : candidates_) {
      if (issued_now >= cfg_.budget) break;
      if (!may_load(c.key_hash)) continue;
      scorer_.sample(c, now);
      const float p = scorer_.score(c);
      if (p < cfg_.min_probability) continue;
      const gap_bucket bucket = cfg_.weigh_displaced ? bucket_of(victim_gap(c.key_hash)) : unpredicted;
      if (cfg_.weigh_displaced && p < displaced_value(bucket)) {
        ++counts_.below_value;
        continue;
      }
      const bool quiet = recent_issued_ >= 32 && recent_used_ < cfg_.min_accuracy * recent_issued_;
      if (quiet && (++probe_ % cfg_.quiet_probe) != 0) {
        ++counts_.quiet_skips;
        continue;
      }
      if (in_flight >= cfg_.max_outstanding) {
        ++counts_.capped;
        break;
      }
      if (!issue(c.key_hash, bucket)) continue;  // the caller could not carry it out (a full queue)
      ++in_flight;
      ++issued_now;
      ++counts_.issued;
      recent_issued_ = recent_issued_ * 0.999 + 1;
      recent_used_ *= 0.999;
    }
  }

  /// The same, for a policy that makes no predictions.
  template <class MayLoad, class Issue>
  void plan(std::uint64_t key, std::uint64_t now, std::size_t in_flight, MayLoad&& may_load, Issue&& issue) {
    plan(key, now, in_flight, std::forward<MayLoad>(may_load), std::forward<Issue>(issue),
         [](std::uint64_t) { return std::optional<double>{}; });
  }

  [[nodiscard]] const planner_counts& counts() const { return counts_; }
  [[nodiscard]] std::uint64_t scorer_retrains() const { return scorer_.retrains(); }
  [[nodiscard]] const planner_config& config() const { return cfg_; }

 private:
  planner_config cfg_;
  successor_model model_;
  candidate_scorer scorer_;
  std::vector<successor> candidates_;
  struct displacement {
    std::uint64_t when;  // a prefetch evicted the key then
    gap_bucket bucket;   // with this predicted gap
  };
  std::unordered_map<std::uint64_t, displacement> displaced_at_;
  std::uint64_t displaced_horizon_;
  std::uint64_t requests_ = 0, probe_ = 0;
  double recent_issued_ = 0, recent_used_ = 0;
  double recent_displaced_ = 0, recent_displaced_reused_ = 0;
  std::array<double, gap_buckets> bucket_displaced_{}, bucket_reused_{};
  planner_counts counts_;
};

}  // namespace prescient::prefetch
