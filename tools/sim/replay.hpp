// prescient/sim/replay.hpp — replays a decoded trace through one policy at one size.
//
// The simulator's engine, header-only so that tests, benchmarks and prescient-sim use
// the same loop. It is the library's own `cache` that is replayed (not a model of it),
// with the policy as a template parameter: one instantiation of the hot loop per
// policy, no virtual call per request. A request is one `get_or_insert`: a hit updates
// the policy, a miss inserts the object (subject to admission) with its size as weight,
// or with weight 1 when sizes are ignored. The next-access position of each request is
// passed on as the oracle's answer, which only Belady's optimum reads.
//
// The learned policy (policy/learned.hpp with a compiled_forest trained online through
// xgboost) is replayed the same way under the name "learned"; its decision counters come
// back in `replay_result::learned`. `replay_options::model` starts it from a trained
// model instead of from nothing.
//
// Miss ratio = missed requests / requests; byte miss ratio = bytes of the missed
// requests / bytes requested (with sizes ignored, both count objects).
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <type_traits>
#include <vector>
#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <unordered_set>

#include "prescient/cache.hpp"
#include "prescient/learn/compiled_forest.hpp"
#include "prescient/learn/forest_trainer.hpp"
#include "prescient/policy/learned.hpp"
#include "prescient/policy/registry.hpp"
#include "prescient/trace/request.hpp"

namespace prescient::sim {

struct replay_options {
  std::uint64_t capacity = 0;  ///< objects with ignore_size, bytes otherwise
  bool ignore_size = false;    ///< every object weighs 1
  std::string params = {};     ///< the policy's parameter string (see policy/registry.hpp)
  /// When set, incremented by the number of requests done every `progress_every`
  /// requests (for a progress bar).
  std::atomic<std::uint64_t>* progress = nullptr;
  /// The learned policy's starting model (null: it learns online from nothing).
  std::shared_ptr<const learn::compiled_forest> model = {};
};

/// The learned policy as the simulator runs it: gradient-boosted trees, compiled.
using learned_forest = policy::learned<learn::compiled_forest>;

struct replay_result {
  std::string policy;
  std::uint64_t capacity = 0;
  std::uint64_t requests = 0;
  std::uint64_t misses = 0;
  std::uint64_t bytes = 0;
  std::uint64_t miss_bytes = 0;
  double seconds = 0;  ///< wall time of the replay loop alone
  cache_stats stats;
  std::size_t metadata_bytes_per_entry = 0;
  std::optional<policy::learned_stats> learned;  ///< the learned policy's counters

  [[nodiscard]] double miss_ratio() const { return requests ? double(misses) / double(requests) : 0.0; }
  [[nodiscard]] double byte_miss_ratio() const { return bytes ? double(miss_bytes) / double(bytes) : 0.0; }
  [[nodiscard]] double mreq_per_s() const { return seconds > 0 ? double(requests) / seconds / 1e6 : 0.0; }
};

namespace detail {
struct no_value {};
struct size_weigher {
  std::uint64_t operator()(const std::uint64_t&, const std::uint64_t& size) const noexcept { return size; }
};
inline constexpr std::uint64_t progress_every = 1 << 16;

inline std::uint64_t oracle_next(const trace::request& r) noexcept {
  return r.next_access < 0 ? access::never : static_cast<std::uint64_t>(r.next_access);
}

template <class Cache, class Make>
void replay_loop(Cache& c, std::span<const trace::request> requests, const replay_options& opt, Make&& make,
                 replay_result& out) {
  std::uint64_t misses = 0, bytes = 0, miss_bytes = 0;
  const auto start = std::chrono::steady_clock::now();
  for (std::size_t i = 0; i < requests.size(); ++i) {
    const trace::request& r = requests[i];
    const bool hit = c.get_or_insert(r.key, [&] { return make(r); }, oracle_next(r));
    misses += hit ? 0 : 1;
    bytes += r.size;
    miss_bytes += hit ? 0 : r.size;
    if (opt.progress && (i + 1) % progress_every == 0) opt.progress->fetch_add(progress_every, std::memory_order_relaxed);
  }
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (opt.progress) opt.progress->fetch_add(requests.size() % progress_every, std::memory_order_relaxed);
  out.requests = requests.size();
  out.misses = misses;
  if (opt.ignore_size) {
    out.bytes = requests.size();
    out.miss_bytes = misses;
  } else {
    out.bytes = bytes;
    out.miss_bytes = miss_bytes;
  }
  out.stats = c.stats();
  out.metadata_bytes_per_entry = c.metadata_bytes_per_entry();
  if constexpr (requires { c.policy().stats(); }) out.learned = c.policy().stats();
}
}  // namespace detail

/// Replays `requests` through a cache with policy `Policy`.
template <class Policy>
replay_result replay(std::span<const trace::request> requests, const replay_options& opt,
                     typename Policy::config config) {
  replay_result out;
  out.policy = std::string(Policy::name);
  out.capacity = opt.capacity;
  if (opt.ignore_size) {
    cache<std::uint64_t, detail::no_value, Policy> c(opt.capacity, std::move(config));
    detail::replay_loop(c, requests, opt, [](const trace::request&) { return detail::no_value{}; }, out);
  } else {
    cache<std::uint64_t, std::uint64_t, Policy, prescient::hash<std::uint64_t>, std::equal_to<std::uint64_t>,
          detail::size_weigher>
        c(opt.capacity, std::move(config));
    detail::replay_loop(c, requests, opt, [](const trace::request& r) { return r.size; }, out);
  }
  return out;
}

template <class Policy>
replay_result replay(std::span<const trace::request> requests, const replay_options& opt) {
  auto config = policy::parse_config<Policy>(opt.params);
  if constexpr (std::is_same_v<Policy, learned_forest>) config.model = opt.model;
  return replay<Policy>(requests, opt, std::move(config));
}

/// Every policy name `replay` accepts: the registry's, then "learned".
[[nodiscard]] inline std::vector<std::string_view> replayable_policies() {
  auto names = policy::policy_names();
  names.push_back(learned_forest::name);
  return names;
}

/// Replays through the policy named `policy` (see policy/registry.hpp). Throws
/// policy::config_error for an unknown name or parameter.
inline replay_result replay(std::string_view policy, std::span<const trace::request> requests,
                            const replay_options& opt) {
  if (policy == learned_forest::name) return replay<learned_forest>(requests, opt);
  return policy::visit_policy(policy, [&]<class P>() { return replay<P>(requests, opt); });
}

/// The number of distinct keys, and their bytes (each key counted at its first size).
struct footprint {
  std::uint64_t unique_keys = 0;
  std::uint64_t unique_bytes = 0;
};

inline footprint measure_footprint(std::span<const trace::request> requests) {
  std::unordered_set<std::uint64_t> seen;
  seen.reserve(requests.size() / 4 + 16);
  footprint f;
  for (const auto& r : requests)
    if (seen.insert(r.key).second) f.unique_bytes += r.size;
  f.unique_keys = seen.size();
  return f;
}

}  // namespace prescient::sim
