// prescient/sim/prefetch_replay.hpp — the simulator with prefetching: demand requests
// replayed as in replay.hpp, plus loads ahead of demand planned from a successor model.
//
// After each demand request of key A, the planner asks the successor model
// (prefetch/successors.hpp) which keys follow A (ratio ≥ `candidate_floor`), and the
// candidate scorer (prefetch/candidate_scorer.hpp: a predictor trained online on what
// followed earlier predictions) for the probability p that each is requested within the
// horizon. It schedules a load of each candidate B that is not cached and not already on
// its way when p beats both `min_probability` and the value of what a prefetch displaces
// — the decayed share of entries evicted by prefetches that were requested again within
// four horizons — at most `budget` per request and `max_outstanding` in flight. A
// scheduled load takes effect `delay` requests later (the backend's latency, in
// requests): B is inserted through the cache's ordinary `put`, so the policy decides
// what it displaces, and B is marked as prefetched until its first demand hit (then it
// counts as used) or its eviction (wasted).
//
// The planner watches its own accuracy (used / issued, decayed): below
// `min_accuracy` it goes quiet and issues only one candidate in `quiet_probe`, enough to
// notice when the stream becomes predictable again. Where the stream is not
// predictable it thus costs little: a few wasted loads, few displaced entries.
//
// Metrics: issued (each is an extra backend load), used, accuracy = used / issued,
// and, against a replay without prefetching, coverage = the share of demand misses that
// prefetching removed.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <deque>
#include <unordered_map>
#include <span>
#include <unordered_set>
#include <vector>

#include "prescient/prefetch/candidate_scorer.hpp"
#include "prescient/prefetch/successors.hpp"
#include "prescient/sim/replay.hpp"

namespace prescient::sim {

struct prefetch_options {
  std::uint64_t delay = 1;           ///< requests between issuing a prefetch and its arrival
  std::size_t budget = 2;            ///< prefetches issued per demand request, at most
  std::size_t max_outstanding = 32;  ///< prefetches in flight, at most
  float candidate_floor = 0.1f;      ///< successors below this ratio are not considered
  float min_probability = 0.4f;      ///< the scored probability a prefetch needs, at least
  bool weigh_displaced = true;       ///< also require more than the displaced entries' value
  double min_accuracy = 0.5;         ///< below it the planner goes quiet
  unsigned quiet_probe = 16;         ///< while quiet, one candidate in this many is issued
  prefetch::successor_config successors{};
  prefetch::scorer_config scorer{};
};

struct prefetch_result {
  replay_result demand;           ///< the replay's figures (misses are demand misses)
  std::uint64_t issued = 0;       ///< loads ahead of demand (extra backend loads)
  std::uint64_t used = 0;         ///< prefetched entries hit by demand before eviction
  std::uint64_t already_cached = 0;  ///< arrivals for keys demand had loaded meanwhile
  std::uint64_t capped = 0;       ///< candidates dropped at the outstanding cap
  std::uint64_t quiet_skips = 0;  ///< candidates not issued because the planner was quiet
  std::uint64_t below_value = 0;  ///< candidates scored below the value of what they would displace
  std::uint64_t displaced = 0;    ///< entries evicted to make room for prefetches
  std::uint64_t displaced_reused = 0;  ///< of those, requested again within 4 horizons
  std::uint64_t scorer_retrains = 0;   ///< models the candidate scorer trained

  [[nodiscard]] double accuracy() const { return issued ? double(used) / double(issued) : 0.0; }
  /// The share of `baseline_misses` (the same replay without prefetching) removed.
  [[nodiscard]] double coverage(std::uint64_t baseline_misses) const {
    return baseline_misses ? (double(baseline_misses) - double(demand.misses)) / double(baseline_misses) : 0.0;
  }
};

namespace detail {

template <class Cache, class Make>
void prefetch_loop(Cache& c, std::span<const trace::request> requests, const prefetch_options& opt, Make&& make,
                   prefetch_result& out) {
  prefetch::successor_model model(opt.successors);
  prefetch::candidate_scorer scorer(opt.scorer);
  // Entries a prefetch displaced, by key → when: a request within 4 horizons is what the
  // displaced entry was worth. Their decayed share is the bar a candidate must clear.
  std::unordered_map<std::uint64_t, std::uint64_t> displaced_at;
  const std::uint64_t displaced_horizon = 4 * std::max<std::uint64_t>(opt.scorer.horizon, 1);
  double recent_displaced = 0, recent_displaced_reused = 0;
  bool prefetch_put = false;
  std::unordered_set<std::uint64_t> marked;       // prefetched, not yet hit
  std::unordered_set<std::uint64_t> in_flight;    // scheduled, not yet arrived
  std::deque<std::pair<std::uint64_t, const trace::request*>> arrivals;  // (due, key's request)
  std::vector<prefetch::successor> candidates;
  marked.reserve(1024);
  in_flight.reserve(opt.max_outstanding * 2);
  std::size_t displaced_sweep = 0;
  std::size_t current = 0;  // the request being replayed (for the listener)
  c.set_eviction_listener([&](const std::uint64_t& key, const auto&, removal_cause) {
    marked.erase(key);
    if (prefetch_put) {
      displaced_at[key] = current;
      ++out.displaced;
      recent_displaced = recent_displaced * 0.999 + 1;
      recent_displaced_reused *= 0.999;
    }
  });
  // The last request seen of each key: what an arriving prefetch loads (its size).
  std::unordered_map<std::uint64_t, const trace::request*> last_seen;
  last_seen.reserve(requests.size() / 8 + 16);
  double recent_issued = 0, recent_used = 0;
  std::uint64_t probe = 0;

  std::uint64_t misses = 0, bytes = 0, miss_bytes = 0;
  const auto start = std::chrono::steady_clock::now();
  for (std::size_t i = 0; i < requests.size(); ++i) {
    current = i;
    while (!arrivals.empty() && arrivals.front().first <= i) {
      const trace::request& r = *arrivals.front().second;
      arrivals.pop_front();
      in_flight.erase(r.key);
      if (c.contains(r.key)) {
        ++out.already_cached;
        continue;
      }
      prefetch_put = true;
      if (c.put(r.key, make(r)).cached()) marked.insert(r.key);
      prefetch_put = false;
    }

    const trace::request& r = requests[i];
    const bool hit = c.get_or_insert(r.key, [&] { return make(r); }, oracle_next(r));
    if (hit && marked.erase(r.key) != 0) {
      ++out.used;
      recent_used += 1;
    }
    misses += hit ? 0 : 1;
    bytes += r.size;
    miss_bytes += hit ? 0 : r.size;
    last_seen[r.key] = &r;
    if (const auto d = displaced_at.find(r.key); d != displaced_at.end()) {
      if (i - d->second <= displaced_horizon) {
        ++out.displaced_reused;
        recent_displaced_reused += 1;
      }
      displaced_at.erase(d);
    }
    if (++displaced_sweep % 4096 == 0)  // forget displaced keys past the horizon
      std::erase_if(displaced_at, [&](const auto& e) { return i - e.second > displaced_horizon; });
    model.record(r.key, i);
    scorer.observe(r.key, i);

    model.predict(r.key, i, opt.candidate_floor, candidates);
    // What a prefetch displaces was worth this much (smoothed; 0 when nothing was
    // displaced yet): a candidate must be more likely than that to be requested.
    const double displaced_value =
        opt.weigh_displaced ? (recent_displaced_reused + 1) / (recent_displaced + 2) : 0.0;
    std::size_t issued_now = 0;
    for (const auto& cand : candidates) {
      if (issued_now >= opt.budget) break;
      if (in_flight.count(cand.key_hash) != 0 || c.contains(cand.key_hash)) continue;
      const auto seen = last_seen.find(cand.key_hash);
      if (seen == last_seen.end()) continue;
      scorer.sample(cand, i);
      const float p = scorer.score(cand);
      if (p < opt.min_probability) continue;
      if (p < displaced_value) {
        ++out.below_value;
        continue;
      }
      const bool quiet = recent_issued >= 32 && recent_used < opt.min_accuracy * recent_issued;
      if (quiet && (++probe % opt.quiet_probe) != 0) {
        ++out.quiet_skips;
        continue;
      }
      if (in_flight.size() >= opt.max_outstanding) {
        ++out.capped;
        break;
      }
      in_flight.insert(cand.key_hash);
      arrivals.emplace_back(i + std::max<std::uint64_t>(opt.delay, 1), seen->second);
      ++out.issued;
      ++issued_now;
      // Accuracy over roughly the last thousand prefetches.
      recent_issued = recent_issued * 0.999 + 1;
      recent_used *= 0.999;
    }
  }
  out.scorer_retrains = scorer.retrains();
  out.demand.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  out.demand.requests = requests.size();
  out.demand.misses = misses;
  out.demand.bytes = bytes;
  out.demand.miss_bytes = miss_bytes;
  out.demand.stats = c.stats();
}

}  // namespace detail

/// Replays `requests` through a cache with policy `Policy`, prefetching as planned.
/// The successor model keys on the trace's keys (the simulator's cache is keyed by them).
template <class Policy>
prefetch_result replay_with_prefetch(std::span<const trace::request> requests, const replay_options& opt,
                                     const prefetch_options& popt) {
  prefetch_result out;
  out.demand.policy = std::string(Policy::name);
  out.demand.capacity = opt.capacity;
  auto config = policy::parse_config<Policy>(opt.params);
  if constexpr (std::is_same_v<Policy, learned_forest>) config.model = opt.model;
  if (opt.ignore_size) {
    cache<std::uint64_t, detail::no_value, Policy> c(opt.capacity, std::move(config));
    detail::prefetch_loop(c, requests, popt, [](const trace::request&) { return detail::no_value{}; }, out);
    out.demand.bytes = out.demand.requests;
    out.demand.miss_bytes = out.demand.misses;
  } else {
    cache<std::uint64_t, std::uint64_t, Policy, prescient::hash<std::uint64_t>, std::equal_to<std::uint64_t>,
          detail::size_weigher>
        c(opt.capacity, std::move(config));
    detail::prefetch_loop(c, requests, popt, [](const trace::request& r) { return r.size; }, out);
  }
  return out;
}

/// The same, for the policy named `policy` ("learned" included).
inline prefetch_result replay_with_prefetch(std::string_view policy, std::span<const trace::request> requests,
                                            const replay_options& opt, const prefetch_options& popt) {
  if (policy == learned_forest::name) return replay_with_prefetch<learned_forest>(requests, opt, popt);
  return policy::visit_policy(policy, [&]<class P>() { return replay_with_prefetch<P>(requests, opt, popt); });
}

}  // namespace prescient::sim
