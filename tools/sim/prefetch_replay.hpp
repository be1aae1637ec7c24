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

namespace detail {

template <class Cache, class Make>
void prefetch_loop(Cache& c, std::span<const trace::request> requests, const prefetch_options& opt, Make&& make,
                   prefetch_result& out) {
  prefetch::planner planner(opt.planner);
  std::unordered_set<std::uint64_t> marked;     // prefetched, not yet hit
  std::unordered_set<std::uint64_t> in_flight;  // issued, not yet arrived
  struct arrival {
    std::uint64_t due;
    const trace::request* request;         // the key's last request (what the load returns)
    prefetch::planner::gap_bucket bucket;  // the displaced entry's predicted gap
  };
  std::deque<arrival> arrivals;
  // The last request seen of each key: what an arriving prefetch loads (its size).
  std::unordered_map<std::uint64_t, const trace::request*> last_seen;
  marked.reserve(1024);
  in_flight.reserve(opt.planner.max_outstanding * 2);
  last_seen.reserve(requests.size() / 8 + 16);
  bool prefetch_put = false;
  prefetch::planner::gap_bucket put_bucket = prefetch::planner::unpredicted;
  std::size_t current = 0;  // the request being replayed (for the listener)
  c.set_eviction_listener([&](const std::uint64_t& key, const auto&, removal_cause) {
    marked.erase(key);
    if (prefetch_put) planner.displaced(key, current, put_bucket);
  });

  std::uint64_t misses = 0, bytes = 0, miss_bytes = 0;
  const auto start = std::chrono::steady_clock::now();
  for (std::size_t i = 0; i < requests.size(); ++i) {
    current = i;
    while (!arrivals.empty() && arrivals.front().due <= i) {
      const trace::request& r = *arrivals.front().request;
      put_bucket = arrivals.front().bucket;
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
    misses += hit ? 0 : 1;
    bytes += r.size;
    miss_bytes += hit ? 0 : r.size;
    last_seen[r.key] = &r;
    planner.record(r.key, i, hit && marked.erase(r.key) != 0);
    planner.plan(
        r.key, i, in_flight.size(),
        [&](std::uint64_t k) { return in_flight.count(k) == 0 && !c.contains(k) && last_seen.count(k) != 0; },
        [&](std::uint64_t k, prefetch::planner::gap_bucket bucket) {
          in_flight.insert(k);
          arrivals.push_back({i + std::max<std::uint64_t>(opt.delay, 1), last_seen[k], bucket});
          return true;
        },
        [&](std::uint64_t) { return prefetch::predicted_victim_gap(c.policy()); });
  }
  static_cast<prefetch::planner_counts&>(out) = planner.counts();
  out.scorer_retrains = planner.scorer_retrains();
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
