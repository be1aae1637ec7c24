// prescient/concurrent_cache.hpp — a thread-safe cache: N independently locked shards.
//
// A key's shard is chosen by the high bits of its hash (the index inside a shard uses
// the low bits, so the two choices are independent). Each shard is a plain
// `prescient::cache` with its own lock and its own policy instance; the total capacity
// is split evenly across the shards (the remainder goes to the first ones). A request
// locks one shard only, so requests for keys in different shards never wait on each
// other. Hits take the lock too — every policy update is a write — but a shard lock is
// held only for the probe and the policy's O(1) update.
//
// Like parallel-hashmap, the lock is a template parameter (`Mutex`): any type with
// lock()/unlock(). With weights, an entry heavier than its shard's capacity is refused
// (`too_heavy`) even if it would fit the total; choose fewer shards for very large
// entries.
//
// Statistics are per shard and merged on `stats()`; `size()` and `weight()` sum the
// shards, each read under its lock (not one atomic snapshot of the whole cache).
#pragma once

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "prescient/cache.hpp"

namespace prescient {

template <class Key, class Value, class Policy = policy::lru, class Hash = prescient::hash<Key>,
          class KeyEqual = std::equal_to<Key>, class Weigher = unit_weigher, class Mutex = std::mutex>
class concurrent_cache {
 public:
  using shard_cache = cache<Key, Value, Policy, Hash, KeyEqual, Weigher>;
  using policy_config = typename Policy::config;
  using eviction_listener = typename shard_cache::eviction_listener;

  /// `shards` = 0 picks a power of two near 4 × hardware threads, but never so many
  /// that a shard would hold fewer than 64 units of capacity.
  explicit concurrent_cache(std::uint64_t capacity, std::size_t shards = 0, policy_config config = {},
                            Hash hash = {}, KeyEqual equal = {}, Weigher weigher = {})
      : capacity_(capacity) {
    if (shards == 0) {
      const std::size_t threads = std::max(1u, std::thread::hardware_concurrency());
      shards = std::bit_ceil(4 * threads);
      while (shards > 1 && capacity / shards < 64) shards /= 2;
    }
    shards = std::bit_ceil(shards);
    shard_bits_ = static_cast<unsigned>(std::countr_zero(shards));
    shards_.reserve(shards);
    for (std::size_t i = 0; i < shards; ++i) {
      const std::uint64_t share = capacity / shards + (i < capacity % shards ? 1 : 0);
      shards_.push_back(std::make_unique<shard>(share, config, hash, equal, weigher));
    }
  }

  [[nodiscard]] std::optional<Value> get(const Key& key) {
    auto [sh, h] = locate(key);
    std::lock_guard lock(sh.mutex);
    return sh.cache.get_hashed(key, h);
  }

  /// Calls `f(const Value&)` on a hit while the shard is locked: keep `f` short and
  /// never call back into the cache from it.
  template <class F>
  bool visit(const Key& key, F&& f) {
    auto [sh, h] = locate(key);
    std::lock_guard lock(sh.mutex);
    const slot_id s = sh.cache.lookup(key, h);
    if (s == no_slot) {
      sh.cache.record_miss(h);
      return false;
    }
    sh.cache.record_hit(s);
    std::forward<F>(f)(std::as_const(sh.cache.slab_[s]->value));
    return true;
  }

  [[nodiscard]] std::optional<Value> peek(const Key& key) const {
    auto [sh, h] = locate(key);
    std::lock_guard lock(sh.mutex);
    return sh.cache.peek(key);
  }

  [[nodiscard]] bool contains(const Key& key) const {
    auto [sh, h] = locate(key);
    std::lock_guard lock(sh.mutex);
    return sh.cache.lookup(key, h) != no_slot;
  }

  put_result put(const Key& key, Value value) {
    auto [sh, h] = locate(key);
    std::lock_guard lock(sh.mutex);
    return sh.cache.put_hashed(key, std::move(value), h);
  }

  bool erase(const Key& key) {
    auto [sh, h] = locate(key);
    std::lock_guard lock(sh.mutex);
    return sh.cache.erase(key);
  }

  void clear() {
    for (auto& sh : shards_) {
      std::lock_guard lock(sh->mutex);
      sh->cache.clear();
    }
  }

  /// The listener runs under the evicting shard's lock: it must not call back into
  /// this cache.
  void set_eviction_listener(const eviction_listener& listener) {
    for (auto& sh : shards_) {
      std::lock_guard lock(sh->mutex);
      sh->cache.set_eviction_listener(listener);
    }
  }

  [[nodiscard]] cache_stats stats() const {
    cache_stats total;
    for (const auto& sh : shards_) {
      std::lock_guard lock(sh->mutex);
      total += sh->cache.stats();
    }
    return total;
  }

  [[nodiscard]] std::size_t size() const { return sum([](const shard_cache& c) { return c.size(); }); }
  [[nodiscard]] std::uint64_t weight() const { return sum([](const shard_cache& c) { return c.weight(); }); }
  [[nodiscard]] std::uint64_t capacity() const noexcept { return capacity_; }
  [[nodiscard]] std::size_t shard_count() const noexcept { return shards_.size(); }

 private:
  struct alignas(64) shard {
    shard(std::uint64_t capacity, const policy_config& config, const Hash& hash, const KeyEqual& equal,
          const Weigher& weigher)
        : cache(capacity, config, hash, equal, weigher) {}
    mutable Mutex mutex;
    shard_cache cache;
  };

  struct located {
    shard& sh;
    std::uint64_t h;
  };

  [[nodiscard]] located locate(const Key& key) const {
    const std::uint64_t h = shards_.front()->cache.hash_key(key);
    const std::size_t i = shard_bits_ == 0 ? 0 : static_cast<std::size_t>(h >> (64 - shard_bits_));
    return {*shards_[i], h};
  }

  template <class F>
  [[nodiscard]] std::uint64_t sum(F&& f) const {
    std::uint64_t total = 0;
    for (const auto& sh : shards_) {
      std::lock_guard lock(sh->mutex);
      total += f(sh->cache);
    }
    return total;
  }

  std::uint64_t capacity_;
  unsigned shard_bits_ = 0;
  std::vector<std::unique_ptr<shard>> shards_;
};

}  // namespace prescient
