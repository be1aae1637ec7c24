// prescient/prefetch/prefetching_cache.hpp — read-through with loads ahead of demand,
// for hosts: a concurrent_cache, the prefetch planner and a bounded executor.
//
//   prefetching_cache<std::uint64_t, Row> rows(100'000, {});
//   std::optional<Row> r = rows.get_or_load(id, [&](std::uint64_t k) { return db.read(k); });
//
// `get_or_load` serves the demand request exactly as concurrent_cache::get_or_load does
// (one load per key however many threads miss on it; a throwing loader leaves the cache
// unchanged and reaches the caller). Then the planner (planner.hpp) records the request
// and picks the successors worth loading; each becomes a task on the bounded executor.
//
// Demand never waits for prefetching: the planner only *submits*, a full queue drops the
// prefetch (counted), and a request that finds the planner busy with another thread's
// request skips planning (counted) rather than queue behind it. A demand request for a
// key whose prefetch is in flight joins that load (single flight).
//
// Locks: the planner's mutex may be held while asking the cache whether a key is cached
// or what a shard's policy predicts for its next victim (`with_policy_of`);
// the cache's eviction listener, which runs under a shard lock, only appends to a small
// list behind its own mutex, which the planner drains. No lock is taken in the other
// order, so there is no deadlock.
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
#include "prescient/prefetch/planner.hpp"

namespace prescient::prefetch {

struct prefetching_config {
  planner_config planner{};         ///< what to prefetch (planner.hpp)
  std::size_t threads = 1;          ///< executor threads running prefetch loads
  std::size_t queue_capacity = 64;  ///< executor queue; beyond it prefetches are dropped
};

struct prefetching_stats : planner_counts {
  std::uint64_t dropped = 0;           ///< refused by a full executor queue
  std::uint64_t planning_skipped = 0;  ///< requests not planned: the planner was busy
  std::uint64_t already_cached = 0;    ///< candidates not prefetched: cached already
  std::uint64_t already_loading = 0;   ///< candidates not prefetched: a prefetch of them in flight
  std::uint64_t demand_hits = 0, demand_misses = 0;
};

template <class Key, class Value, class Policy = policy::lru, class Hash = prescient::hash<Key>>
class prefetching_cache {
 public:
  using cache_type = concurrent_cache<Key, Value, Policy, Hash>;

  explicit prefetching_cache(std::uint64_t capacity, prefetching_config cfg = {},
                             typename Policy::config policy_config = {}, std::size_t shards = 0)
      : cfg_(cfg),
        cache_(capacity, {.shards = shards, .policy = std::move(policy_config)}),
        planner_(cfg.planner),
        executor_(std::max<std::size_t>(cfg.threads, 1), std::max<std::size_t>(cfg.queue_capacity, 1)) {
    cache_.set_eviction_listener([this](const Key& k, const Value&, removal_cause) {
      std::lock_guard lock(evicted_mutex_);  // under a shard lock: append only
      evicted_.push_back({hash_(k), loading_prefetch_, prefetch_bucket_});
    });
  }

  ~prefetching_cache() { executor_.shutdown(bounded_executor::shutdown_mode::discard); }
  prefetching_cache(const prefetching_cache&) = delete;
  prefetching_cache& operator=(const prefetching_cache&) = delete;

  /// The value of `key`, loaded through `load` on a miss; then plans prefetches.
  template <class Loader>
  std::optional<Value> get_or_load(const Key& key, Loader load) {
    bool hit = false;
    std::optional<Value> value;
    try {
      value = cache_.get_or_load(key, load, hit);
    } catch (...) {
      demand_misses_.fetch_add(1, std::memory_order_relaxed);
      plan(key, false, load);  // the request happened; its successors may still load
      throw;
    }
    (hit ? demand_hits_ : demand_misses_).fetch_add(1, std::memory_order_relaxed);
    plan(key, hit, load);
    return value;
  }

  /// A write to the backing store: drops the cached value and any load in flight.
  bool invalidate(const Key& key) { return cache_.invalidate(key); }

  [[nodiscard]] prefetching_stats stats() const {
    prefetching_stats s;
    {
      std::lock_guard lock(planner_mutex_);
      static_cast<planner_counts&>(s) = planner_.counts();
      s.already_cached = already_cached_;
      s.already_loading = already_loading_;
    }
    s.dropped = executor_.stats().dropped;
    s.planning_skipped = planning_skipped_.load(std::memory_order_relaxed);
    s.demand_hits = demand_hits_.load(std::memory_order_relaxed);
    s.demand_misses = demand_misses_.load(std::memory_order_relaxed);
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
  struct eviction {
    std::uint64_t hash;
    bool by_prefetch;
    planner::gap_bucket bucket;  // the predicted gap of what the prefetch displaced
  };

  template <class Loader>
  void plan(const Key& key, bool hit, const Loader& load) {
    std::unique_lock lock(planner_mutex_, std::try_to_lock);
    if (!lock.owns_lock()) {
      planning_skipped_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    const std::uint64_t h = hash_(key);
    drain_evictions();
    remember_key(h, key);
    planner_.record(h, clock_, hit && marked_.erase(h) != 0);
    planner_.plan(
        h, clock_++, in_flight_.size(),
        [&](std::uint64_t k) {
          if (in_flight_.count(k) != 0) {
            ++already_loading_;
            return false;
          }
          const auto known = keys_.find(k);
          if (known == keys_.end()) return false;
          if (cache_.contains(known->second)) {
            ++already_cached_;
            return false;
          }
          return true;
        },
        [&](std::uint64_t k, planner::gap_bucket bucket) { return submit(keys_.find(k)->second, k, load, bucket); },
        [&](std::uint64_t k) {
          return cache_.with_policy_of(keys_.find(k)->second,
                                       [](const Policy& p) { return predicted_victim_gap(p); });
        });
  }

  // Under planner_mutex_.
  template <class Loader>
  bool submit(const Key& k, std::uint64_t h, const Loader& load, planner::gap_bucket bucket) {
    in_flight_.insert(h);
    const bool submitted = executor_.try_submit([this, k, h, load, bucket]() mutable {
      struct settle {  // whatever happens to the load, it is no longer in flight
        prefetching_cache* self;
        std::uint64_t h;
        ~settle() {
          std::lock_guard lock(self->planner_mutex_);
          self->in_flight_.erase(h);
        }
      } done{this, h};
      loading_prefetch_ = true;  // evictions caused by this load are the prefetch's doing
      prefetch_bucket_ = bucket;
      struct reset_flag {
        ~reset_flag() { loading_prefetch_ = false; }
      } reset;
      cache_.get_or_load(k, load);
      if (cache_.contains(k)) {
        std::lock_guard lock(planner_mutex_);
        marked_.insert(h);
      }
    });
    if (!submitted) in_flight_.erase(h);
    return submitted;
  }

  // Under planner_mutex_: what the eviction listener saw since the last request.
  void drain_evictions() {
    {
      std::lock_guard lock(evicted_mutex_);
      drained_.swap(evicted_);
    }
    for (const eviction& e : drained_) {
      marked_.erase(e.hash);
      if (e.by_prefetch) planner_.displaced(e.hash, clock_, e.bucket);
    }
    drained_.clear();
  }

  // Keys by hash, so that a predicted successor can be loaded; bounded like the model.
  void remember_key(std::uint64_t h, const Key& key) {
    if (keys_.emplace(h, key).second) {
      key_order_.push_back(h);
      if (key_order_.size() > std::max<std::size_t>(cfg_.planner.successors.max_keys, 1)) {
        keys_.erase(key_order_.front());
        key_order_.pop_front();
      }
    }
  }

  prefetching_config cfg_;
  Hash hash_{};
  cache_type cache_;
  mutable std::mutex planner_mutex_;  // guards the planner and the sets below (not the cache)
  planner planner_;
  std::unordered_map<std::uint64_t, Key> keys_;
  std::deque<std::uint64_t> key_order_;
  std::unordered_set<std::uint64_t> in_flight_;
  std::unordered_set<std::uint64_t> marked_;  // loaded by a prefetch, not yet hit
  std::uint64_t clock_ = 0;
  std::uint64_t already_cached_ = 0, already_loading_ = 0;
  std::mutex evicted_mutex_;  // a leaf lock: taken under a shard lock or the planner's
  std::vector<eviction> evicted_, drained_;
  std::atomic<std::uint64_t> planning_skipped_{0}, demand_hits_{0}, demand_misses_{0};
  static inline thread_local bool loading_prefetch_ = false;
  static inline thread_local planner::gap_bucket prefetch_bucket_ = planner::unpredicted;
  // Last member: destroyed first, so no prefetch task outlives what it touches.
  mutable bounded_executor executor_;
};

}  // namespace prescient::prefetch
