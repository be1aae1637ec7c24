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
//   * SHARDS_adj: the number of sampled requests deviates from its expectation R · N,
//     mostly because the hottest keys fall in or out of the sample. As in the SHARDS
//     paper, the deficit is counted as hits: the estimate is (misses / R) / N rather
//     than misses / sampled requests. On cache2k-orm-busy at R = 1% this removes most
//     of the upward bias (0.937% of the requests were sampled).
//
// Costs: a request that is not sampled costs one hash and one compare; a sampled one
// costs one cache request per (policy, size) pair, the caches of one policy held in one
// templated group (one virtual call per policy, not per cache): O(1) amortised, and at
// R = 1% a hundredth of that. Memory: the miniature caches hold Σ R · S entries per
// policy.
//
// The hash used for sampling is salted so that it is independent of the hash the
// miniature caches use for their own index and sketches (whose inputs would otherwise
// all have small hashes).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <queue>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "prescient/cache.hpp"
#include "prescient/hash.hpp"
#include "prescient/policy/registry.hpp"

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
    for (const auto& p : cfg_.policies) groups_.push_back(make_group(p));
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
      if (h >= threshold_) return;  // the new key itself was dropped
    }
    const std::uint64_t weight = cfg_.ignore_size ? 1 : std::max<std::uint64_t>(1, size);
    // Each sampled request stands for 1/R requests of the full stream; with fixed-size
    // SHARDS R falls over time, so later requests weigh more (SHARDS' rescaling).
    const double stands_for = 1.0 / rate_;
    for (auto& g : groups_) g->record(key, weight, stands_for);
  }

  /// The estimated miss-ratio curve of `policy` over the configured sizes.
  [[nodiscard]] std::vector<curve_point> curve(std::string_view policy) const {
    for (std::size_t i = 0; i < groups_.size(); ++i) {
      if (cfg_.policies[i] != policy) continue;
      std::vector<curve_point> out;
      const double n = static_cast<double>(std::max<std::uint64_t>(1, requests_));
      for (std::size_t j = 0; j < cfg_.sizes.size(); ++j)
        out.push_back({cfg_.sizes[j], std::min(1.0, groups_[i]->weighted_misses(j) / n)});
      return out;
    }
    throw std::invalid_argument("policy_advisor: policy '" + std::string(policy) + "' not evaluated");
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
  // The miniature caches of one policy, one per size, as concrete cache types.
  struct group_base {
    virtual ~group_base() = default;
    virtual void record(std::uint64_t key, std::uint64_t weight, double stands_for) = 0;
    virtual void erase(std::uint64_t key) = 0;
    virtual void resize(const std::vector<std::uint64_t>& capacities) = 0;
    [[nodiscard]] virtual double weighted_misses(std::size_t size_index) const = 0;
  };

  struct weight_of_value {
    std::uint64_t operator()(const std::uint64_t&, const std::uint64_t& w) const noexcept { return w; }
  };

  template <class P>
  struct group final : group_base {
    using mini_cache = cache<std::uint64_t, std::uint64_t, P, prescient::hash<std::uint64_t>,
                             std::equal_to<std::uint64_t>, weight_of_value>;
    group(const std::vector<std::uint64_t>& capacities, const typename P::config& config) {
      caches.reserve(capacities.size());
      for (std::uint64_t c : capacities) caches.emplace_back(c, config);
      misses.assign(capacities.size(), 0.0);
    }
    void record(std::uint64_t key, std::uint64_t weight, double stands_for) override {
      for (std::size_t i = 0; i < caches.size(); ++i)
        if (!caches[i].get_or_insert(key, [&] { return weight; })) misses[i] += stands_for;
    }
    void erase(std::uint64_t key) override {
      for (auto& c : caches) c.erase(key);
    }
    void resize(const std::vector<std::uint64_t>& capacities) override {
      for (std::size_t i = 0; i < caches.size(); ++i) caches[i].set_capacity(capacities[i]);
    }
    [[nodiscard]] double weighted_misses(std::size_t i) const override { return misses[i]; }
    std::vector<mini_cache> caches;
    std::vector<double> misses;
  };

  [[nodiscard]] std::vector<std::uint64_t> scaled_sizes() const {
    std::vector<std::uint64_t> out;
    for (std::uint64_t s : cfg_.sizes)
      out.push_back(std::max<std::uint64_t>(1, static_cast<std::uint64_t>(std::llround(double(s) * rate_))));
    return out;
  }

  [[nodiscard]] std::unique_ptr<group_base> make_group(const std::string& spec) const {
    const auto colon = spec.find(':');
    const std::string name = spec.substr(0, colon);
    const std::string params = colon == std::string::npos ? std::string() : spec.substr(colon + 1);
    return policy::visit_policy(name, [&]<class P>() -> std::unique_ptr<group_base> {
      return std::make_unique<group<P>>(scaled_sizes(), policy::parse_config<P>(params));
    });
  }

  static std::uint64_t sample_hash(std::uint64_t key) noexcept { return mix64(key ^ 0x5ca1ab1e0ddba11ULL); }

  // Fixed-size SHARDS: drop the tenth of the tracked keys with the largest hashes.
  void lower_threshold() {
    const std::size_t drop = std::max<std::size_t>(1, tracked_.size() / 10);
    for (std::size_t i = 0; i < drop && !by_hash_.empty(); ++i) {
      const auto [h, key] = by_hash_.top();
      by_hash_.pop();
      threshold_ = h;  // keys with hash ≥ h are no longer sampled
      tracked_.erase(key);
      for (auto& g : groups_) g->erase(key);
    }
    rate_ = std::ldexp(static_cast<double>(threshold_), -64);
    const auto capacities = scaled_sizes();
    for (auto& g : groups_) g->resize(capacities);
  }

  advisor_config cfg_;
  double rate_;
  std::uint64_t threshold_;
  std::vector<std::unique_ptr<group_base>> groups_;  // one per policy, as in cfg_.policies
  std::uint64_t requests_ = 0;
  std::uint64_t sampled_ = 0;
  std::unordered_set<std::uint64_t> tracked_;
  std::priority_queue<std::pair<std::uint64_t, std::uint64_t>> by_hash_;  // (hash, key), largest first
};

}  // namespace prescient
