// prescient/sim/prefetch_replay.hpp — the simulator with prefetching: demand requests
// replayed as in replay.hpp, plus loads ahead of demand chosen by the prefetch planner
// (prefetch/planner.hpp: successor model, candidate scorer, predicted displaced value, budget,
// outstanding cap, quiet mode).
//
// A prefetch takes effect `delay` requests after it is issued (the backend's latency,
// in requests): the key is inserted through the cache's ordinary `put`, so the policy
// decides what it displaces, and it stays marked as prefetched until its first demand hit
// (then it counts as used) or its eviction (wasted).
//
// Metrics: issued (each is an extra backend load), used, accuracy = used / issued,
// and, against a replay without prefetching, coverage = the share of demand misses that
// prefetching removed.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <unordered_map>
#include <span>
#include <unordered_set>
#include <vector>

#include "prescient/prefetch/planner.hpp"
#include "sim/replay.hpp"

namespace prescient::sim {

struct prefetch_options {
  std::uint64_t delay = 1;            ///< requests between issuing a prefetch and its arrival
  prefetch::planner_config planner{};  ///< what to prefetch (prefetch/planner.hpp)
};

struct prefetch_result : prefetch::planner_counts {
  replay_result demand;                 ///< the replay's figures (misses are demand misses)
  std::uint64_t already_cached = 0;     ///< arrivals for keys demand had loaded meanwhile
  std::uint64_t scorer_retrains = 0;    ///< models the candidate scorer trained

  /// The share of `baseline_misses` (the same replay without prefetching) removed.
  [[nodiscard]] double coverage(std::uint64_t baseline_misses) const {
    return baseline_misses ? (double(baseline_misses) - double(demand.misses)) / double(baseline_misses) : 0.0;
  }
};

/// One (policy, size) replay with prefetching, fed the trace batch after batch in order
/// (like `replayer`, replay.hpp): the cache, the planner and the prefetches in flight
/// live between batches. What it keeps besides, when sizes count: the size each key was
/// last requested at (what an arriving prefetch loads), one word per key seen.
class prefetch_replayer {
 public:
  virtual ~prefetch_replayer() = default;
  virtual void feed(std::span<const trace::request> batch) = 0;
  [[nodiscard]] virtual prefetch_result result() const = 0;
};

template <class Policy, bool Weighted>
class policy_prefetch_replayer final : public prefetch_replayer {
 public:
  policy_prefetch_replayer(const replay_options& opt, const prefetch_options& popt, typename Policy::config config)
      : opt_(popt), capacity_(opt.capacity), cache_(opt.capacity, std::move(config)), planner_(popt.planner) {
    marked_.reserve(1024);
    in_flight_.reserve(popt.planner.max_outstanding * 2);
    cache_.set_eviction_listener([this](const std::uint64_t& key, const auto&, removal_cause) {
      marked_.erase(key);
      if (prefetch_put_) planner_.displaced(key, current_, put_bucket_);
    });
  }

  void feed(std::span<const trace::request> batch) override {
    std::uint64_t misses = 0, bytes = 0, miss_bytes = 0;
    const auto start = std::chrono::steady_clock::now();
    for (const trace::request& r : batch) {
      const std::uint64_t i = current_;
      while (!arrivals_.empty() && arrivals_.front().due <= i) {
        const arrival a = arrivals_.front();
        put_bucket_ = a.bucket;
        arrivals_.pop_front();
        in_flight_.erase(a.key);
        if (cache_.contains(a.key)) {
          ++already_cached_;
          continue;
        }
        prefetch_put_ = true;
        if (cache_.put(a.key, detail::make_value<Weighted>(trace::request{.key = a.key, .size = a.size})).cached())
          marked_.insert(a.key);
        prefetch_put_ = false;
      }

      const bool hit = cache_.get_or_insert(r.key, [&] { return detail::make_value<Weighted>(r); },
                                            detail::oracle_next(r));
      misses += hit ? 0 : 1;
      bytes += r.size;
      miss_bytes += hit ? 0 : r.size;
      if constexpr (Weighted) last_size_[r.key] = r.size;
      planner_.record(r.key, i, hit && marked_.erase(r.key) != 0);
      planner_.plan(
          r.key, i, in_flight_.size(),
          [&](std::uint64_t k) {
            return in_flight_.count(k) == 0 && !cache_.contains(k) && (!Weighted || last_size_.count(k) != 0);
          },
          [&](std::uint64_t k, prefetch::planner::gap_bucket bucket) {
            in_flight_.insert(k);
            arrivals_.push_back({i + std::max<std::uint64_t>(opt_.delay, 1), k, Weighted ? last_size_[k] : 1, bucket});
            return true;
          },
          [&](std::uint64_t) { return prefetch::predicted_victim_gap(cache_.policy()); });
      ++current_;
    }
    seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    misses_ += misses;
    bytes_ += bytes;
    miss_bytes_ += miss_bytes;
  }

  [[nodiscard]] prefetch_result result() const override {
    prefetch_result out;
    static_cast<prefetch::planner_counts&>(out) = planner_.counts();
    out.scorer_retrains = planner_.scorer_retrains();
    out.already_cached = already_cached_;
    out.demand.policy = std::string(Policy::name);
    out.demand.capacity = capacity_;
    out.demand.seconds = seconds_;
    out.demand.requests = current_;
    out.demand.misses = misses_;
    // With sizes ignored both byte figures count objects.
    out.demand.bytes = Weighted ? bytes_ : current_;
    out.demand.miss_bytes = Weighted ? miss_bytes_ : misses_;
    out.demand.stats = cache_.stats();
    return out;
  }

 private:
  struct arrival {
    std::uint64_t due;
    std::uint64_t key;
    std::uint64_t size;                    // the key's size at its last request before the issue
    prefetch::planner::gap_bucket bucket;  // the displaced entry's predicted gap
  };

  prefetch_options opt_;
  std::uint64_t capacity_;
  detail::replay_cache<Policy, Weighted> cache_;
  prefetch::planner planner_;
  std::unordered_set<std::uint64_t> marked_;     // prefetched, not yet hit
  std::unordered_set<std::uint64_t> in_flight_;  // issued, not yet arrived
  std::deque<arrival> arrivals_;
  // Each key's size at its last request, which an arriving prefetch loads. Weighted
  // replays only: with sizes ignored every key weighs 1 and the successor model names
  // only keys already requested, so nothing per key is kept here.
  std::unordered_map<std::uint64_t, std::uint64_t> last_size_;
  bool prefetch_put_ = false;
  prefetch::planner::gap_bucket put_bucket_ = prefetch::planner::unpredicted;
  std::uint64_t current_ = 0;  // the request being replayed (0-based position in the trace)
  std::uint64_t already_cached_ = 0;
  double seconds_ = 0;
  std::uint64_t misses_ = 0, bytes_ = 0, miss_bytes_ = 0;
};

/// A prefetching replay of `Policy`, to be fed batches.
template <class Policy>
std::unique_ptr<prefetch_replayer> make_prefetch_replayer(const replay_options& opt, const prefetch_options& popt) {
  auto config = replay_config<Policy>(opt);
  if (opt.ignore_size) return std::make_unique<policy_prefetch_replayer<Policy, false>>(opt, popt, std::move(config));
  return std::make_unique<policy_prefetch_replayer<Policy, true>>(opt, popt, std::move(config));
}

/// The same for the policy named `policy` ("learned" included).
inline std::unique_ptr<prefetch_replayer> make_prefetch_replayer(std::string_view policy, const replay_options& opt,
                                                                 const prefetch_options& popt) {
  if (policy == learned_forest::name) return make_prefetch_replayer<learned_forest>(opt, popt);
  return policy::visit_policy(policy, [&]<class P>() { return make_prefetch_replayer<P>(opt, popt); });
}

/// Replays `requests` through a cache with policy `Policy`, prefetching as planned.
/// The successor model keys on the trace's keys (the simulator's cache is keyed by them).
template <class Policy>
prefetch_result replay_with_prefetch(std::span<const trace::request> requests, const replay_options& opt,
                                     const prefetch_options& popt) {
  const auto r = make_prefetch_replayer<Policy>(opt, popt);
  r->feed(requests);
  return r->result();
}

/// The same, for the policy named `policy` ("learned" included).
inline prefetch_result replay_with_prefetch(std::string_view policy, std::span<const trace::request> requests,
                                            const replay_options& opt, const prefetch_options& popt) {
  const auto r = make_prefetch_replayer(policy, opt, popt);
  r->feed(requests);
  return r->result();
}

}  // namespace prescient::sim
