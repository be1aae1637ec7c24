// prescient/prefetch/prefetching_cache.hpp — read-through with loads ahead of demand,
// for hosts: a concurrent_cache, a successor model and a bounded executor.
//
//   prefetching_cache<std::uint64_t, Row> rows(100'000, {});
//   std::optional<Row> r = rows.get_or_load(id, [&](std::uint64_t k) { return db.read(k); });
//
// `get_or_load` serves the demand request exactly as concurrent_cache::get_or_load does
// (one load per key however many threads miss on it; a throwing loader leaves the cache
// unchanged and reaches the caller). Then the planner records the request in the
// successor model, scores each successor with the candidate scorer (the predictor's
// probability that it is requested within the horizon, candidate_scorer.hpp), and for
// each that is neither cached nor already on its way and whose probability beats both
// `min_probability` and the measured value of what prefetches displace — at most
// `budget` per request and `max_outstanding` in flight — hands a load to the bounded
// executor. The
// demand request never waits for a prefetch: the planner only *submits*; a full queue
// drops the prefetch and counts it. A demand request for a key whose prefetch is in
// flight joins that load (single flight) instead of starting a second one.
//
// Prefetched entries are marked until their first demand hit (then they count as used).
// Like the simulator's planner (sim/prefetch_replay.hpp), this one watches its accuracy
// and goes quiet below `min_accuracy` (one candidate in `quiet_probe`).
//
// The loader passed to `get_or_load` is copied into prefetch tasks: it must be copyable
// and callable from the executor's threads for the lifetime of the cache. `invalidate`
// makes any load of the key in flight, prefetch included, not cache its older result.
// The executor is shut down (queued prefetches discarded, running ones finished) before
// the cache is destroyed.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "prescient/concurrent_cache.hpp"
#include "prescient/executor.hpp"
#include "prescient/hash.hpp"
#include "prescient/policy/lru.hpp"
#include "prescient/prefetch/candidate_scorer.hpp"
#include "prescient/prefetch/successors.hpp"

namespace prescient::prefetch {

struct prefetching_config {
  std::size_t budget = 2;             ///< prefetches submitted per demand request, at most
  std::size_t max_outstanding = 32;   ///< prefetches queued or running, at most
  float candidate_floor = 0.1f;       ///< successors below this ratio are not considered
  float min_probability = 0.4f;       ///< the scored probability a prefetch needs, at least
  bool weigh_displaced = true;        ///< also require more than the displaced entries' value
  double min_accuracy = 0.5;          ///< below it the planner goes quiet
  unsigned quiet_probe = 16;          ///< while quiet, one candidate in this many is submitted
  std::size_t threads = 1;            ///< executor threads running prefetch loads
  std::size_t queue_capacity = 64;    ///< executor queue; beyond it prefetches are dropped
  successor_config successors{};
  scorer_config scorer{};
};

struct prefetching_stats {
  std::uint64_t issued = 0;   ///< prefetch loads submitted (each an extra backend load)
  std::uint64_t dropped = 0;  ///< refused by a full executor queue
  std::uint64_t capped = 0;   ///< not submitted: `max_outstanding` in flight
  std::uint64_t used = 0;     ///< prefetched entries hit by demand before eviction
  std::uint64_t below_value = 0;  ///< candidates scored below the value of what they would displace
  std::uint64_t displaced = 0;    ///< entries evicted by prefetch loads
  std::uint64_t displaced_reused = 0;  ///< of those, requested again within 4 horizons
  std::uint64_t demand_hits = 0, demand_misses = 0;
  [[nodiscard]] double accuracy() const { return issued ? double(used) / double(issued) : 0.0; }
};

template <class Key, class Value, class Policy = policy::lru, class Hash = prescient::hash<Key>>
class prefetching_cache {
 public:
  using cache_type = concurrent_cache<Key, Value, Policy, Hash>;

  explicit prefetching_cache(std::uint64_t capacity, prefetching_config cfg = {},
                             typename Policy::config policy_config = {}, std::size_t shards = 0)
      : cfg_(cfg),
        cache_(capacity, shards, std::move(policy_config)),
        model_(cfg.successors),
        executor_(std::max<std::size_t>(cfg.threads, 1), std::max<std::size_t>(cfg.queue_capacity, 1)) {
    cache_.set_eviction_listener([this](const Key& k, const Value&, removal_cause) {
      std::lock_guard lock(planner_mutex_);
      const std::uint64_t h = hash_(k);
      marked_.erase(h);
      if (loading_prefetch_) {  // this thread is loading a prefetch: it displaced k
        displaced_at_[h] = clock_;
        ++stats_.displaced;
        recent_displaced_ = recent_displaced_ * 0.999 + 1;
        recent_displaced_reused_ *= 0.999;
      }
    });
  }

  ~prefetching_cache() { executor_.shutdown(bounded_executor::shutdown_mode::discard); }
  prefetching_cache(const prefetching_cache&) = delete;
  prefetching_cache& operator=(const prefetching_cache&) = delete;

  /// The value of `key`, loaded through `load` on a miss; then plans prefetches.
  template <class Loader>
  std::optional<Value> get_or_load(const Key& key, Loader load) {
    const bool was_cached = cache_.contains(key);
    std::optional<Value> value;
    try {
      value = cache_.get_or_load(key, load);
    } catch (...) {
      plan(key, false, load);  // the request happened; its successors may still load
      throw;
    }
    plan(key, was_cached, load);
    return value;
  }

  /// A write to the backing store: drops the cached value and any load in flight.
  bool invalidate(const Key& key) { return cache_.invalidate(key); }

  [[nodiscard]] prefetching_stats stats() const {
    std::lock_guard lock(planner_mutex_);
    prefetching_stats s = stats_;
    s.dropped = executor_.stats().dropped;
    return s;
  }
  [[nodiscard]] executor_stats executor_statistics() const { return executor_.stats(); }
  [[nodiscard]] cache_type& cache() { return cache_; }

  /// Blocks until no prefetch is queued or running (tests, orderly shutdown).
  void wait_for_prefetches() const {
    for (;;) {
      const executor_stats e = executor_.stats();
      if (e.queued == 0 && e.running == 0) {
        std::lock_guard lock(planner_mutex_);
        if (in_flight_.empty()) return;
      }
      std::this_thread::sleep_for(std::chrono::microseconds(100));
    }
  }

 private:
  template <class Loader>
  void plan(const Key& key, bool was_cached, const Loader& load) {
    const std::uint64_t h = hash_(key);
    std::vector<Key> to_load;
    {
      std::lock_guard lock(planner_mutex_);
      ++(was_cached ? stats_.demand_hits : stats_.demand_misses);
      if (was_cached && marked_.erase(h) != 0) {
        ++stats_.used;
        recent_used_ += 1;
      }
      remember_key(h, key);
      if (const auto d = displaced_at_.find(h); d != displaced_at_.end()) {
        if (clock_ - d->second <= 4 * cfg_.scorer.horizon) {
          ++stats_.displaced_reused;
          recent_displaced_reused_ += 1;
        }
        displaced_at_.erase(d);
      }
      if (clock_ % 4096 == 0)
        std::erase_if(displaced_at_, [&](const auto& e) { return clock_ - e.second > 4 * cfg_.scorer.horizon; });
      model_.record(h, clock_);
      scorer_.observe(h, clock_);
      ++clock_;
      model_.predict(h, clock_, cfg_.candidate_floor, candidates_);
      const double displaced_value =
          cfg_.weigh_displaced ? (recent_displaced_reused_ + 1) / (recent_displaced_ + 2) : 0.0;
      for (const auto& c : candidates_) {
        if (to_load.size() >= cfg_.budget) break;
        if (in_flight_.count(c.key_hash) != 0) continue;
        const auto known = keys_.find(c.key_hash);
        if (known == keys_.end()) continue;
        scorer_.sample(c, clock_);
        const float p = scorer_.score(c);
        if (p < cfg_.min_probability) continue;
        if (p < displaced_value) {
          ++stats_.below_value;
          continue;
        }
        const bool quiet = recent_issued_ >= 32 && recent_used_ < cfg_.min_accuracy * recent_issued_;
        if (quiet && (++probe_ % cfg_.quiet_probe) != 0) continue;
        if (in_flight_.size() >= cfg_.max_outstanding) {
          ++stats_.capped;
          break;
        }
        in_flight_.insert(c.key_hash);
        to_load.push_back(known->second);
      }
    }
    for (Key& k : to_load) {
      if (cache_.contains(k)) {  // demand loaded it meanwhile
        std::lock_guard lock(planner_mutex_);
        in_flight_.erase(hash_(k));
        continue;
      }
      const bool submitted = executor_.try_submit([this, k, load]() mutable {
        struct settle {  // whatever happens to the load, it is no longer in flight
          prefetching_cache* self;
          std::uint64_t h;
          ~settle() {
            std::lock_guard lock(self->planner_mutex_);
            self->in_flight_.erase(h);
          }
        } done{this, hash_(k)};
        loading_prefetch_ = true;  // evictions caused by this load are the prefetch's doing
        struct reset_flag {
          ~reset_flag() { loading_prefetch_ = false; }
        } reset;
        cache_.get_or_load(k, load);
        if (cache_.contains(k)) {
          std::lock_guard lock(planner_mutex_);
          marked_.insert(done.h);
        }
      });
      std::lock_guard lock(planner_mutex_);
      if (submitted) {
        ++stats_.issued;
        recent_issued_ = recent_issued_ * 0.999 + 1;  // accuracy over ~the last thousand
        recent_used_ *= 0.999;
      } else {
        in_flight_.erase(hash_(k));
      }
    }
  }

  // Keys by hash, so that a predicted successor can be loaded; bounded like the model.
  void remember_key(std::uint64_t h, const Key& key) {
    if (keys_.emplace(h, key).second) {
      key_order_.push_back(h);
      if (key_order_.size() > std::max<std::size_t>(cfg_.successors.max_keys, 1)) {
        keys_.erase(key_order_.front());
        key_order_.pop_front();
      }
    }
  }

  prefetching_config cfg_;
  Hash hash_{};
  cache_type cache_;
  mutable std::mutex planner_mutex_;  // guards everything below (not the cache)
  successor_model model_;
  candidate_scorer scorer_{cfg_.scorer};
  std::vector<successor> candidates_;
  std::unordered_map<std::uint64_t, std::uint64_t> displaced_at_;  // evicted by a prefetch → when
  double recent_displaced_ = 0, recent_displaced_reused_ = 0;
  static inline thread_local bool loading_prefetch_ = false;
  std::unordered_map<std::uint64_t, Key> keys_;
  std::deque<std::uint64_t> key_order_;
  std::unordered_set<std::uint64_t> in_flight_;
  std::unordered_set<std::uint64_t> marked_;
  std::uint64_t clock_ = 0;
  std::uint64_t probe_ = 0;
  double recent_issued_ = 0, recent_used_ = 0;
  prefetching_stats stats_;
  // Last member: destroyed first, so no prefetch task outlives what it touches.
  mutable bounded_executor executor_;
};

}  // namespace prescient::prefetch
