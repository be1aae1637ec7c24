// prescient/advisor.hpp — which policy, and how big a cache, for this workload?
//
// `policy_advisor` answers both from a sample of the live key stream, cheaply enough to
// run inside a host. It is a spatially sampled miniature simulation:
//
//   * SHARDS (Waldspurger, Park, Garthwaite, Ahmad, "Efficient MRC Construction with
//     SHARDS", FAST 2015): a request is kept iff hash(key) < T, where T = R · 2^64, so
//     a sampled key keeps *all* of its requests and the sample is a faithful
//     miniature of the key space at rate R.
//   * Miniature simulation (Waldspurger et al., "Cache Modeling and Optimization using
//     Miniature Simulations", USENIX ATC 2017): every candidate policy is simulated on
//     the sample at the scaled-down size R · S; its miss ratio estimates the full-size
//     cache's miss ratio at size S, for any policy (not only stack algorithms).
//   * Fixed-size SHARDS, for unbounded streams: with `max_tracked_keys` set, the
//     advisor tracks at most that many distinct sampled keys; when the set is full it
//     lowers T to drop the keys with the largest hashes (a tenth of the set at a
//     time, to amortise), removes them from every miniature cache, and shrinks the
//     caches to the new R · S. Memory stays bounded whatever the stream's length.
//
// Costs: a request that is not sampled costs one hash and one compare; a sampled one
// costs one cache request per (policy, size) pair: O(1) amortised, and at R = 1% a
// hundredth of that. Memory: the miniature caches hold Σ R · S entries per policy.
//
// The hash used for sampling is salted so that it is independent of the hash the
// miniature caches use for their own index and sketches (whose inputs would otherwise
// all have small hashes).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <queue>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "prescient/cache.hpp"
#include "prescient/hash.hpp"
#include "prescient/policy/any_policy.hpp"

namespace prescient {

struct advisor_config {
  /// R: the share of the key space simulated, in (0, 1].
  double sample_rate = 0.01;
  /// 0: fixed rate R. Otherwise fixed-size SHARDS: at most this many distinct sampled
  /// keys are tracked; R falls as the stream reveals more keys.
  std::size_t max_tracked_keys = 0;
  /// The candidate policies, by registry name, optionally with parameters after a
  /// colon ("s3fifo:small=0.2"); answers name them the same way.
  std::vector<std::string> policies = {"lru", "fifo", "lfu", "arc", "s3fifo", "sieve", "wtinylfu"};
  /// Full-scale cache sizes to evaluate (objects, or bytes when sizes count).
  std::vector<std::uint64_t> sizes;
  /// Every object weighs 1 (sizes are object counts).
  bool ignore_size = true;
};

class policy_advisor {
 public:
  struct curve_point {
    std::uint64_t size;  ///< full-scale size
    double miss_ratio;   ///< estimated
  };

  explicit policy_advisor(advisor_config cfg) : cfg_(std::move(cfg)) {
    if (!(cfg_.sample_rate > 0.0 && cfg_.sample_rate <= 1.0))
      throw std::invalid_argument("policy_advisor: sample_rate must be in (0, 1]");
    if (cfg_.sizes.empty()) throw std::invalid_argument("policy_advisor: no sizes to evaluate");
    if (cfg_.policies.empty()) throw std::invalid_argument("policy_advisor: no policies to evaluate");
    std::sort(cfg_.sizes.begin(), cfg_.sizes.end());
    rate_ = cfg_.sample_rate;
    threshold_ = rate_ >= 1.0 ? std::numeric_limits<std::uint64_t>::max()
                              : static_cast<std::uint64_t>(std::ldexp(rate_, 64));
    for (const auto& p : cfg_.policies)
      for (std::uint64_t s : cfg_.sizes) sims_.push_back(sim{p, s, make_cache(p, scaled(s)), 0, 0});
  }

  /// Feeds one request of the live stream.
  void record(std::uint64_t key, std::uint64_t size = 1) {
    ++requests_;
    const std::uint64_t h = sample_hash(key);
    if (h >= threshold_) return;
    ++sampled_;
    if (cfg_.max_tracked_keys != 0 && tracked_.insert(key).second) {
      by_hash_.push({h, key});
      if (tracked_.size() > cfg_.max_tracked_keys) lower_threshold();
      if (sample_hash(key) >= threshold_) return;  // the new key itself was dropped
    }
    const std::uint64_t weight = cfg_.ignore_size ? 1 : std::max<std::uint64_t>(1, size);
    // Each sampled request stands for 1/R requests of the full stream; with fixed-size
    // SHARDS R falls over time, so later requests weigh more (SHARDS' rescaling).
    const double stands_for = 1.0 / rate_;
    for (sim& s : sims_) {
      s.requests += stands_for;
      if (!s.cache.get_or_insert(key, [&] { return weight; })) s.misses += stands_for;
    }
  }

  /// The estimated miss-ratio curve of `policy` over the configured sizes.
  [[nodiscard]] std::vector<curve_point> curve(std::string_view policy) const {
    std::vector<curve_point> out;
    for (const sim& s : sims_)
      if (s.policy == policy) out.push_back({s.size, s.miss_ratio()});
    if (out.empty()) throw std::invalid_argument("policy_advisor: policy '" + std::string(policy) + "' not evaluated");
    return out;
  }

  /// Estimated miss ratio of `policy` at `size` (interpolated linearly between the
  /// configured sizes, clamped at the ends).
  [[nodiscard]] double miss_ratio(std::string_view policy, std::uint64_t size) const {
    const auto c = curve(policy);
    if (size <= c.front().size) return c.front().miss_ratio;
    if (size >= c.back().size) return c.back().miss_ratio;
    for (std::size_t i = 1; i < c.size(); ++i) {
      if (size <= c[i].size) {
        const double t = double(size - c[i - 1].size) / double(c[i].size - c[i - 1].size);
        return c[i - 1].miss_ratio + t * (c[i].miss_ratio - c[i - 1].miss_ratio);
      }
    }
    return c.back().miss_ratio;
  }

  /// The candidate with the lowest estimated miss ratio at `size`.
  [[nodiscard]] std::string best_policy(std::uint64_t size) const {
    std::string best;
    double best_ratio = 2.0;
    for (const auto& p : cfg_.policies) {
      const double m = miss_ratio(p, size);
      if (m < best_ratio) {
        best_ratio = m;
        best = p;
      }
    }
    return best;
  }

  /// The smallest configured size at which `policy` reaches `target` miss ratio, if any.
  [[nodiscard]] std::optional<std::uint64_t> smallest_size_for(std::string_view policy, double target) const {
    for (const auto& pt : curve(policy))
      if (pt.miss_ratio <= target) return pt.size;
    return std::nullopt;
  }

  [[nodiscard]] double sample_rate() const noexcept { return rate_; }
  [[nodiscard]] std::uint64_t requests() const noexcept { return requests_; }
  [[nodiscard]] std::uint64_t sampled_requests() const noexcept { return sampled_; }
  [[nodiscard]] std::size_t tracked_keys() const noexcept { return tracked_.size(); }
  [[nodiscard]] const advisor_config& config() const noexcept { return cfg_; }

 private:
  struct weight_of_value {
    std::uint64_t operator()(const std::uint64_t&, const std::uint64_t& w) const noexcept { return w; }
  };
  using mini_cache = cache<std::uint64_t, std::uint64_t, policy::any_policy, prescient::hash<std::uint64_t>,
                           std::equal_to<std::uint64_t>, weight_of_value>;
  struct sim {
    std::string policy;
    std::uint64_t size;
    mini_cache cache;
    double requests;  // sampled requests, each weighted by 1/R at its time
    double misses;
    [[nodiscard]] double miss_ratio() const { return requests > 0 ? misses / requests : 0.0; }
  };

  static mini_cache make_cache(const std::string& spec, std::uint64_t capacity) {
    const auto colon = spec.find(':');
    return mini_cache(capacity, {.name = spec.substr(0, colon),
                                 .params = colon == std::string::npos ? std::string() : spec.substr(colon + 1)});
  }

  static std::uint64_t sample_hash(std::uint64_t key) noexcept { return mix64(key ^ 0x5ca1ab1e0ddba11ULL); }

  [[nodiscard]] std::uint64_t scaled(std::uint64_t size) const {
    return std::max<std::uint64_t>(1, static_cast<std::uint64_t>(std::llround(double(size) * rate_)));
  }

  // Fixed-size SHARDS: drop the tenth of the tracked keys with the largest hashes.
  void lower_threshold() {
    const std::size_t drop = std::max<std::size_t>(1, tracked_.size() / 10);
    for (std::size_t i = 0; i < drop && !by_hash_.empty(); ++i) {
      const auto [h, key] = by_hash_.top();
      by_hash_.pop();
      threshold_ = h;  // keys with hash ≥ h are no longer sampled
      tracked_.erase(key);
      for (sim& s : sims_) s.cache.erase(key);
    }
    rate_ = std::ldexp(static_cast<double>(threshold_), -64);
    for (sim& s : sims_) s.cache.set_capacity(scaled(s.size));
  }

  advisor_config cfg_;
  double rate_;
  std::uint64_t threshold_;
  std::vector<sim> sims_;
  std::uint64_t requests_ = 0;
  std::uint64_t sampled_ = 0;
  std::unordered_set<std::uint64_t> tracked_;
  std::priority_queue<std::pair<std::uint64_t, std::uint64_t>> by_hash_;  // (hash, key), largest first
};

}  // namespace prescient
