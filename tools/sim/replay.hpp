// prescient/sim/replay.hpp — replays a trace through one policy at one size.
//
// The simulator's engine, header-only so that tests, benchmarks and prescient-sim use
// the same loop. A `replayer` is fed the trace in batches, in order (prescient-sim
// streams the trace to every replay, stream.hpp); `replay` feeds it a span at once.
// It is the library's own `cache` that is replayed (not a model of it), with the policy
// as a template parameter: one instantiation of the hot loop per policy, one virtual
// call per batch, none per request. A request is one `get_or_insert`: a hit updates
// the policy, a miss inserts the object (subject to admission) with its size as weight,
// or with weight 1 when sizes are ignored. The next-access position of each request is
// passed on as the oracle's answer, which only Belady's optimum reads.
//
// The learned policy (policy/learned.hpp with a compiled_forest trained online through
// xgboost) is replayed the same way under the name "learned"; its decision counters come
// back in `replay_result::learned`. `replay_options::model` starts it from a trained
// model instead of from nothing.
//
// With `replay_options::ttl` the cache is an expiring one (expire after write, on a fake
// clock moved to each request's position in the trace or to its timestamp), so the
// misses a time to live adds are measured.
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
#include <utility>

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
  /// When set, incremented by the number of requests of each batch fed (for a progress
  /// bar; prescient-sim's counts the requests read instead).
  std::atomic<std::uint64_t>* progress = nullptr;
  /// The learned policy's starting model (null: it learns online from nothing).
  std::shared_ptr<const learn::compiled_forest> model = {};
  /// Expire after write (prescient-sim --ttl): 0 = no expiry. In requests (the clock
  /// moves one per request), or in the trace's own time unit with ttl_trace_time.
  std::uint64_t ttl = 0;
  bool ttl_trace_time = false;
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

inline std::uint64_t oracle_next(const trace::request& r) noexcept {
  return r.next_access < 0 ? access::never : static_cast<std::uint64_t>(r.next_access);
}

/// The cache a replay drives: values are nothing (sizes ignored) or the object's size,
/// which is also its weight.
template <class Policy, bool Weighted, class Time = no_expiry>
using replay_cache =
    std::conditional_t<Weighted,
                       cache<std::uint64_t, std::uint64_t, Policy, prescient::hash<std::uint64_t>,
                             std::equal_to<std::uint64_t>, size_weigher, Time>,
                       cache<std::uint64_t, no_value, Policy, prescient::hash<std::uint64_t>,
                             std::equal_to<std::uint64_t>, unit_weigher, Time>>;

template <bool Weighted>
auto make_value(const trace::request& r) {
  if constexpr (Weighted) return r.size;
  else return no_value{};
}
}  // namespace detail

/// One (policy, size) replay fed the trace batch after batch, in order: the cache and the
/// counters live between batches, so no batch needs the ones before it in memory. One
/// virtual call per batch; the loop inside is compiled per policy.
class replayer {
 public:
  virtual ~replayer() = default;
  /// Replays the next requests of the trace.
  virtual void feed(std::span<const trace::request> batch) = 0;
  /// The figures of the requests fed so far.
  [[nodiscard]] virtual replay_result result() const = 0;
};

/// With Timed, the cache expires entries `opt.ttl` after their write, on a fake clock
/// moved to each request's time (its position in the trace, or its timestamp): what a
/// time to live costs in misses (`--ttl`).
template <class Policy, bool Weighted, bool Timed = false>
class policy_replayer final : public replayer {
  using time_type = std::conditional_t<Timed, expiring<fake_ticker>, no_expiry>;

 public:
  policy_replayer(const replay_options& opt, typename Policy::config config)
      : opt_(opt), cache_(make_cache(opt, std::move(config), clock_)) {}

  void feed(std::span<const trace::request> batch) override {
    std::uint64_t misses = 0, bytes = 0, miss_bytes = 0;
    const auto start = std::chrono::steady_clock::now();
    for (const trace::request& r : batch) {
      if constexpr (Timed) clock_.set(opt_.ttl_trace_time ? r.time : ++now_);
      const bool hit = cache_.get_or_insert(r.key, [&] { return detail::make_value<Weighted>(r); },
                                            detail::oracle_next(r));
      misses += hit ? 0 : 1;
      bytes += r.size;
      miss_bytes += hit ? 0 : r.size;
    }
    seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    requests_ += batch.size();
    misses_ += misses;
    bytes_ += bytes;
    miss_bytes_ += miss_bytes;
    if (opt_.progress) opt_.progress->fetch_add(batch.size(), std::memory_order_relaxed);
  }

  [[nodiscard]] replay_result result() const override {
    replay_result out;
    out.policy = std::string(Policy::name);
    out.capacity = opt_.capacity;
    out.seconds = seconds_;
    out.requests = requests_;
    out.misses = misses_;
    // With sizes ignored both byte figures count objects.
    out.bytes = Weighted ? bytes_ : requests_;
    out.miss_bytes = Weighted ? miss_bytes_ : misses_;
    out.stats = cache_.stats();
    out.metadata_bytes_per_entry = cache_.metadata_bytes_per_entry();
    if constexpr (requires { cache_.policy().stats(); }) out.learned = cache_.policy().stats();
    return out;
  }

 private:
  using cache_type = detail::replay_cache<Policy, Weighted, time_type>;
  static cache_type make_cache(const replay_options& opt, typename Policy::config config, const fake_ticker& clock) {
    if constexpr (Timed) {
      return cache_type(opt.capacity, {.after_write = duration(static_cast<duration::rep>(opt.ttl)), .ticker = clock},
                        std::move(config));
    } else {
      return cache_type(opt.capacity, std::move(config));
    }
  }

  replay_options opt_;
  fake_ticker clock_;
  std::uint64_t now_ = 0;
  cache_type cache_;
  double seconds_ = 0;
  std::uint64_t requests_ = 0, misses_ = 0, bytes_ = 0, miss_bytes_ = 0;
};

/// The configuration `opt` gives `Policy`: its parameter string, and for the learned
/// policy the starting model.
template <class Policy>
typename Policy::config replay_config(const replay_options& opt) {
  auto config = policy::parse_config<Policy>(opt.params);
  if constexpr (std::is_same_v<Policy, learned_forest>) config.model = opt.model;
  return config;
}

/// A replay of `Policy` with this configuration, to be fed batches.
template <class Policy>
std::unique_ptr<replayer> make_replayer(const replay_options& opt, typename Policy::config config) {
  if (opt.ttl != 0) {
    if (opt.ignore_size) return std::make_unique<policy_replayer<Policy, false, true>>(opt, std::move(config));
    return std::make_unique<policy_replayer<Policy, true, true>>(opt, std::move(config));
  }
  if (opt.ignore_size) return std::make_unique<policy_replayer<Policy, false>>(opt, std::move(config));
  return std::make_unique<policy_replayer<Policy, true>>(opt, std::move(config));
}

/// Replays `requests` through a cache with policy `Policy`.
template <class Policy>
replay_result replay(std::span<const trace::request> requests, const replay_options& opt,
                     typename Policy::config config) {
  const auto r = make_replayer<Policy>(opt, std::move(config));
  r->feed(requests);
  return r->result();
}

template <class Policy>
replay_result replay(std::span<const trace::request> requests, const replay_options& opt) {
  return replay<Policy>(requests, opt, replay_config<Policy>(opt));
}

/// Every policy name `replay` accepts: the registry's, then "learned".
[[nodiscard]] inline std::vector<std::string_view> replayable_policies() {
  auto names = policy::policy_names();
  names.push_back(learned_forest::name);
  return names;
}

/// Calls `f.template operator()<P>()` with the policy named `policy`: the registry's
/// (policy/registry.hpp), or the learned policy. Throws policy::config_error for an
/// unknown name.
template <class F>
decltype(auto) visit_replayable(std::string_view policy, F&& f) {
  if (policy == learned_forest::name) return f.template operator()<learned_forest>();
  return policy::visit_policy(policy, std::forward<F>(f));
}

/// Replays through the policy named `policy`. Throws policy::config_error for an unknown
/// name or parameter.
inline replay_result replay(std::string_view policy, std::span<const trace::request> requests,
                            const replay_options& opt) {
  return visit_replayable(policy, [&]<class P>() { return replay<P>(requests, opt); });
}

/// Parses `params` as the named policy's parameters and drops them: what a replay would
/// refuse, refused before the trace is read. Throws policy::config_error.
inline void check_params(std::string_view policy, std::string_view params) {
  visit_replayable(policy, [&]<class P>() { (void)policy::parse_config<P>(params); });
}

/// A replay of the policy named `policy`, to be fed batches. Throws as `replay` does.
inline std::unique_ptr<replayer> make_replayer(std::string_view policy, const replay_options& opt) {
  return visit_replayable(policy, [&]<class P>() { return make_replayer<P>(opt, replay_config<P>(opt)); });
}

}  // namespace prescient::sim
