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
//
// Read-through (`get_or_load`) is single-flight: concurrent misses on one key make ONE
// loader call; the other callers wait for it (without holding any lock) and get its
// value or its exception. Each shard keeps a small table of its loads in flight
// (key → shared state), entered under the shard lock; the loader itself always runs with
// no lock held, so it may read or write this cache (the same shard included) and other
// keys of the shard are served meanwhile. Writes win over loads: a `put`, `erase`,
// `invalidate` or `clear` of a key while it is loading makes that load's result not be
// cached (see get_or_load).
//
// Exceptions: each shard is a `cache` and keeps its guarantees (cache.hpp, "Exceptions")
// whatever user code throws; a lock is always released on the way out. A load in flight
// always ends with every waiter woken: with the value, with the loader's exception, or
// — when caching the value or copying it for the waiters throws — with that exception;
// its flight always leaves the shard's table (`loads_in_flight()` is 0 when no
// get_or_load runs). The leader whose loader succeeded returns its value even when the
// copy for the waiters failed.
#pragma once

#include <algorithm>
#include <bit>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "prescient/cache.hpp"
#include "prescient/loader.hpp"

namespace prescient {

/// concurrent_cache's constructor options, one aggregate (designated initialisers:
/// `{.shards = 8, .policy = cfg}`); every field has its default.
template <class PolicyConfig, class Hash, class KeyEqual, class Weigher>
struct concurrent_cache_options {
  /// 0 picks a power of two near 4 × hardware threads, but never so many that a shard
  /// would hold fewer than 64 units of capacity; any other count is rounded up to a
  /// power of two.
  std::size_t shards = 0;
  PolicyConfig policy{};  ///< every shard's policy parameters
  Hash hash{};
  KeyEqual equal{};
  Weigher weigher{};
};

template <class Key, class Value, class Policy = policy::lru, class Hash = prescient::hash<Key>,
          class KeyEqual = std::equal_to<Key>, class Weigher = unit_weigher, class Mutex = std::mutex>
class concurrent_cache {
 public:
  using shard_cache = cache<Key, Value, Policy, Hash, KeyEqual, Weigher>;
  using policy_config = typename Policy::config;
  using eviction_listener = typename shard_cache::eviction_listener;
  using options = concurrent_cache_options<policy_config, Hash, KeyEqual, Weigher>;

  /// `capacity`: the total weight, split evenly across the shards (the remainder goes to
  /// the first ones). A policy whose shards share state (`Policy::prepare_shards`: the
  /// learned policy's one model and one trainer) has it set up here.
  explicit concurrent_cache(std::uint64_t capacity, options opts = {}) : capacity_(capacity) {
    std::size_t shards = opts.shards;
    if (shards == 0) {
      const std::size_t threads = std::max(1u, std::thread::hardware_concurrency());
      shards = std::bit_ceil(4 * threads);
      while (shards > 1 && capacity / shards < 64) shards /= 2;
    }
    shards = std::bit_ceil(shards);
    shard_bits_ = static_cast<unsigned>(std::countr_zero(shards));
    if constexpr (requires(policy_config& c) { Policy::prepare_shards(c, shards, capacity); })
      Policy::prepare_shards(opts.policy, shards, capacity);
    config_ = opts.policy;
    shards_.reserve(shards);
    for (std::size_t i = 0; i < shards; ++i)
      shards_.push_back(std::make_unique<shard>(share_of(capacity, i), opts.policy, opts.hash, opts.equal, opts.weigher));
  }

  [[nodiscard]] std::optional<Value> get(const Key& key) { return get_impl(key); }

  /// Calls `f(const Value&)` on a hit while the shard is locked: keep `f` short and
  /// never call back into the cache from it.
  template <class F>
  bool visit(const Key& key, F&& f) {
    return visit_impl(key, std::forward<F>(f));
  }

  [[nodiscard]] std::optional<Value> peek(const Key& key) const { return peek_impl(key); }
  [[nodiscard]] bool contains(const Key& key) const { return contains_impl(key); }

  /// Heterogeneous lookup: with a transparent Hash and KeyEqual (both declare
  /// `is_transparent`, as prescient::hash<std::string> and std::equal_to<> do) get,
  /// visit, peek, contains, erase and invalidate take any key those accept — a
  /// std::string_view for std::string keys — and build no Key.
  template <class K>
    requires detail::transparent_lookup<Hash, KeyEqual, K, Key>
  [[nodiscard]] std::optional<Value> get(const K& key) {
    return get_impl(key);
  }
  template <class K, class F>
    requires detail::transparent_lookup<Hash, KeyEqual, K, Key>
  bool visit(const K& key, F&& f) {
    return visit_impl(key, std::forward<F>(f));
  }
  template <class K>
    requires detail::transparent_lookup<Hash, KeyEqual, K, Key>
  [[nodiscard]] std::optional<Value> peek(const K& key) const {
    return peek_impl(key);
  }
  template <class K>
    requires detail::transparent_lookup<Hash, KeyEqual, K, Key>
  [[nodiscard]] bool contains(const K& key) const {
    return contains_impl(key);
  }
  template <class K>
    requires detail::transparent_lookup<Hash, KeyEqual, K, Key>
  bool erase(const K& key) {
    return erase_impl(key);
  }
  template <class K>
    requires detail::transparent_lookup<Hash, KeyEqual, K, Key>
  bool invalidate(const K& key) {
    return invalidate_impl(key);
  }

  /// Calls `f(const Policy&)` on the policy of the shard that holds (or would hold)
  /// `key`, with that shard locked, and returns what `f` returns: e.g. what the policy
  /// predicts for its next victim. Keep `f` short; never call back into the cache.
  template <class F>
  decltype(auto) with_policy_of(const Key& key, F&& f) const {
    auto [sh, h] = locate(key);
    std::lock_guard lock(sh.mutex);
    return std::forward<F>(f)(std::as_const(sh.cache).policy());
  }

  /// A load of `key` in flight (get_or_load) will not cache its older result.
  put_result put(const Key& key, Value value) {
    auto [sh, h] = locate(key);
    std::lock_guard lock(sh.mutex);
    if (!sh.flights.empty()) detach_flight(sh, key, h);
    return sh.cache.put_hashed(key, std::move(value), h);
  }

  /// A load of `key` in flight (get_or_load) will not cache its result.
  bool erase(const Key& key) { return erase_impl(key); }

  /// Loads in flight (get_or_load) will not cache their results.
  void clear() {
    for (auto& sh : shards_) {
      std::lock_guard lock(sh->mutex);
      for (auto& f : sh->flights) f->attached = false;
      sh->flights.clear();
      sh->cache.clear();
    }
  }
  /// Read-through, single-flight. A hit is a `get`. A miss counts as one and then either
  /// joins the load of `key` already in flight (waits for it, no lock held, and answers
  /// its value or rethrows its exception — the same exception object for every waiter,
  /// so catch it by const reference), or starts one: `load(key)` runs on this thread
  /// with no lock held, then the result goes through the shard's normal insert path
  /// (admission and capacity apply; a bypassed or too-heavy value is still returned).
  /// Answers nullopt only when the loader said "no such key" (nothing is cached).
  ///
  /// Races, decided under the shard lock so every outcome is linearisable:
  ///   * a `put`, `erase`, `invalidate` or `clear` of `key` after the load started wins:
  ///     the load's result is returned to its callers but NOT cached (it may be older
  ///     than the write), and a get_or_load arriving after that write starts a new load
  ///     (or hits the put value) instead of joining the stale one;
  ///   * a loader that throws caches nothing; the leader and all current waiters get the
  ///     exception; the next get_or_load of `key` loads again.
  /// A loader that calls get_or_load for the key it is loading, on the same thread,
  /// would wait for itself: that is refused with std::logic_error.
  /// (ThreadSanitizer with an uninstrumented libstdc++ cannot see exception_ptr's
  /// reference count, so waiters that read members of the shared exception may be
  /// reported as racing with its destruction: a known false positive.)
  template <class Loader>
    requires loader<Loader, Key, Value>
  std::optional<Value> get_or_load(const Key& key, Loader&& load) {
    bool hit = false;
    return get_or_load(key, std::forward<Loader>(load), hit);
  }

  /// The same, and `hit` says whether the value was cached (false: it was loaded, by
  /// this call or by the load it joined).
  template <class Loader>
    requires loader<Loader, Key, Value>
  std::optional<Value> get_or_load(const Key& key, Loader&& load, bool& hit) {
    auto [sh, h] = locate(key);
    std::shared_ptr<flight> f;
    bool leader = false;
    hit = false;
    {
      std::lock_guard lock(sh.mutex);
      if (const slot_id s = sh.cache.lookup(key, h); s != no_slot) {
        sh.cache.record_hit(s);
        hit = true;
        return sh.cache.slab_[s]->value;
      }
      sh.cache.record_miss(h);
      f = find_flight(sh, key, h);
      if (f) {
        if (f->leader == std::this_thread::get_id()) {
          throw std::logic_error("prescient: a loader called get_or_load for the key it is loading");
        }
        ++f->waiters;
        ++sh.loads.coalesced;
      } else {
        f = std::make_shared<flight>(key, h);
        sh.flights.push_back(f);
        ++sh.loads.loads;
        leader = true;
      }
    }
    if (!leader) return f->wait();

    // The leader: load with no lock held.
    std::optional<Value> value;
    try {
      value = invoke_loader<Key, Value>(load, key);
    } catch (...) {
      {
        std::lock_guard lock(sh.mutex);
        drop_flight(sh, *f);
        ++sh.loads.failures;
      }
      f->publish(nullptr, std::current_exception());
      throw;
    }
    bool share = false;
    try {
      std::lock_guard lock(sh.mutex);
      share = f->waiters != 0;  // final: a detached flight takes no new waiters
      if (!drop_flight(sh, *f)) {
        ++sh.loads.stale;
      } else if (!value) {
        ++sh.loads.absent;
      } else if (sh.cache.lookup(key, h) == no_slot) {
        sh.cache.insert_new(Key(key), Value(*value), h, access::unknown);
      }
    } catch (...) {  // copying the key or value, or the eviction listener, threw
      f->publish(nullptr, std::current_exception());
      throw;
    }
    // Never throws: if copying the value for the waiters throws, that is their exception
    // (the leader's own load succeeded and it returns its value).
    f->publish(share ? &value : nullptr, nullptr);
    return value;
  }

  /// Removes `key` (like `erase`) and makes any load of it in flight not cache its
  /// result. True when an entry was removed or a load was marked stale.
  bool invalidate(const Key& key) { return invalidate_impl(key); }

  /// Read-through counters (loads, failures, coalesced waits, absent keys, stale loads),
  /// merged across shards.
  [[nodiscard]] prescient::load_stats load_stats() const {
    prescient::load_stats total;
    for (const auto& sh : shards_) {
      std::lock_guard lock(sh->mutex);
      total += sh->loads;
    }
    return total;
  }

  /// The listener runs under the evicting shard's lock: it must not call back into
  /// this cache.
  void set_eviction_listener(const eviction_listener& listener) {
    for (auto& sh : shards_) {
      std::lock_guard lock(sh->mutex);
      sh->cache.set_eviction_listener(listener);
    }
  }

  /// Every shard's cache::check_invariants, each under its lock, prefixed with the
  /// shard's number; empty when all hold. For tests and debugging.
  [[nodiscard]] std::string check_invariants() const {
    std::string problems;
    std::uint64_t total = 0;
    for (std::size_t i = 0; i < shards_.size(); ++i) {
      std::lock_guard lock(shards_[i]->mutex);
      total += shards_[i]->cache.capacity();
      if (std::string p = shards_[i]->cache.check_invariants(); !p.empty())
        problems += (problems.empty() ? "shard " : "; shard ") + std::to_string(i) + ": " + p;
    }
    if (total != capacity_)
      problems += (problems.empty() ? "" : "; ") + std::string("the shards' capacities add up to ") +
                  std::to_string(total) + ", not " + std::to_string(capacity_);
    return problems;
  }

  /// Loads in flight (get_or_load) still in the shards' tables: 0 whenever no
  /// get_or_load is running. For tests and debugging.
  [[nodiscard]] std::size_t loads_in_flight() const {
    std::size_t n = 0;
    for (const auto& sh : shards_) {
      std::lock_guard lock(sh->mutex);
      n += sh->flights.size();
    }
    return n;
  }

  /// Changes the total capacity, split across the shards as at construction; a shard
  /// that shrinks evicts (through its policy and the listener) until it fits. If the
  /// listener throws, the shards resized so far keep their new share, the throwing shard
  /// its old one (cache::set_capacity), and `capacity()` is then their sum.
  void set_capacity(std::uint64_t capacity) {
    try {
      for (std::size_t i = 0; i < shards_.size(); ++i) {
        std::lock_guard lock(shards_[i]->mutex);
        shards_[i]->cache.set_capacity(share_of(capacity, i));
      }
    } catch (...) {
      capacity_ = sum([](const shard_cache& c) { return c.capacity(); });
      throw;
    }
    capacity_ = capacity;
  }

  /// Calls `f(const Key&, const Value&)` for every entry, shard by shard, each shard
  /// locked while it is walked (writes to it wait): keep `f` short and never call back
  /// into the cache from it. Not one atomic snapshot of the whole cache; no policy
  /// update, no statistics.
  template <class F>
  void for_each(F&& f) const {
    for (const auto& sh : shards_) {
      std::lock_guard lock(sh->mutex);
      sh->cache.for_each(f);
    }
  }

  /// Copies of every entry, taken as for_each walks them.
  [[nodiscard]] std::vector<std::pair<Key, Value>> snapshot() const {
    std::vector<std::pair<Key, Value>> out;
    for (const auto& sh : shards_) {
      std::lock_guard lock(sh->mutex);
      out.reserve(out.size() + sh->cache.size());
      sh->cache.for_each([&](const Key& k, const Value& v) { out.emplace_back(k, v); });
    }
    return out;
  }

  /// Zeroes every shard's counters: hits, misses, inserts, updates, evictions,
  /// rejections (`stats()`) and the read-through counters (`load_stats()`).
  void reset_stats() {
    for (auto& sh : shards_) {
      std::lock_guard lock(sh->mutex);
      sh->cache.reset_stats();
      sh->loads = {};
    }
  }

  /// The policy's own statistics for the whole cache: every shard's `stats()` added up
  /// (`+=`), then what the shards share added once (`Policy::add_shared_stats`: the
  /// learned policy's one model and its trainer). For a policy that has `stats()`.
  [[nodiscard]] auto policy_stats() const
    requires requires(const Policy& p) { p.stats(); }
  {
    std::remove_cvref_t<decltype(std::declval<const Policy&>().stats())> total = [&] {
      std::lock_guard lock(shards_.front()->mutex);
      return shards_.front()->cache.policy().stats();
    }();
    for (std::size_t i = 1; i < shards_.size(); ++i) {
      std::lock_guard lock(shards_[i]->mutex);
      total += shards_[i]->cache.policy().stats();
    }
    if constexpr (requires { Policy::add_shared_stats(config_, total); }) Policy::add_shared_stats(config_, total);
    return total;
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
  /// One load in flight (get_or_load). `attached` and `waiters` are guarded by the
  /// shard's mutex; the outcome by the flight's own mutex (the shard lock is never held
  /// while waiting).
  struct flight {
    flight(const Key& k, std::uint64_t hash) : key(k), h(hash), leader(std::this_thread::get_id()) {}
    const Key key;
    const std::uint64_t h;
    const std::thread::id leader;  ///< the thread running the loader
    bool attached = true;          ///< still in the shard's table: its result may be cached
    std::size_t waiters = 0;

    std::mutex m;
    std::condition_variable cv;
    bool done = false;
    std::optional<Value> value;
    std::exception_ptr error;

    /// Wakes the waiters with a copy of `*v` (none for nullptr or nullopt) or with `e`.
    /// Never throws (a mutex that cannot lock ends the program): a copy of the value
    /// that throws becomes the waiters' exception, so every waiter wakes.
    void publish(const std::optional<Value>* v, std::exception_ptr e) noexcept {
      {
        std::lock_guard lock(m);
        if (!e && v != nullptr && v->has_value()) {
          try {
            value.emplace(**v);
          } catch (...) {
            e = std::current_exception();
          }
        }
        error = std::move(e);
        done = true;
      }
      cv.notify_all();
    }
    std::optional<Value> wait() {
      std::unique_lock lock(m);
      cv.wait(lock, [this] { return done; });
      if (error) std::rethrow_exception(error);
      return value;
    }
  };

  struct alignas(64) shard {
    shard(std::uint64_t capacity, const policy_config& config, const Hash& hash, const KeyEqual& equal,
          const Weigher& weigher)
        : cache(capacity, config, hash, equal, weigher) {}
    mutable Mutex mutex;
    shard_cache cache;
    std::vector<std::shared_ptr<flight>> flights;  ///< loads in flight; few, so a vector
    prescient::load_stats loads;
  };

  template <class K>
  [[nodiscard]] std::optional<Value> get_impl(const K& key) {
    auto [sh, h] = locate(key);
    std::lock_guard lock(sh.mutex);
    return sh.cache.get_hashed(key, h);
  }

  template <class K, class F>
  bool visit_impl(const K& key, F&& f) {
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

  template <class K>
  [[nodiscard]] std::optional<Value> peek_impl(const K& key) const {
    auto [sh, h] = locate(key);
    std::lock_guard lock(sh.mutex);
    const slot_id s = sh.cache.lookup(key, h);
    if (s == no_slot) return std::nullopt;
    return sh.cache.slab_[s]->value;
  }

  template <class K>
  [[nodiscard]] bool contains_impl(const K& key) const {
    auto [sh, h] = locate(key);
    std::lock_guard lock(sh.mutex);
    return sh.cache.lookup(key, h) != no_slot;
  }

  template <class K>
  bool erase_impl(const K& key) {
    auto [sh, h] = locate(key);
    std::lock_guard lock(sh.mutex);
    if (!sh.flights.empty()) detach_flight(sh, key, h);
    return remove(sh, key, h);
  }

  template <class K>
  bool invalidate_impl(const K& key) {
    auto [sh, h] = locate(key);
    std::lock_guard lock(sh.mutex);
    const bool was_loading = !sh.flights.empty() && detach_flight(sh, key, h);
    const bool erased = remove(sh, key, h);
    return erased || was_loading;
  }

  /// cache::erase, under the shard's lock (the key is hashed again: cache::erase decides
  /// what an erasure tells the policy and the listener).
  template <class K>
  static bool remove(shard& sh, const K& key, std::uint64_t /*h*/) {
    return sh.cache.erase(key);
  }

  // The helpers below run under sh.mutex.
  /// The position of the load of `key` in the shard's table, or flights.size().
  template <class K>
  [[nodiscard]] static std::size_t flight_index(const shard& sh, const K& key, std::uint64_t h) {
    std::size_t i = 0;
    while (i < sh.flights.size() && !(sh.flights[i]->h == h && sh.cache.equal_(sh.flights[i]->key, key))) ++i;
    return i;
  }

  [[nodiscard]] static std::shared_ptr<flight> find_flight(shard& sh, const Key& key, std::uint64_t h) {
    const std::size_t i = flight_index(sh, key, h);
    return i < sh.flights.size() ? sh.flights[i] : nullptr;
  }

  /// Marks the load of `key` in flight (if any) stale and takes it out of the table.
  template <class K>
  static bool detach_flight(shard& sh, const K& key, std::uint64_t h) {
    const std::size_t i = flight_index(sh, key, h);
    if (i == sh.flights.size()) return false;
    sh.flights[i]->attached = false;
    sh.flights[i] = std::move(sh.flights.back());
    sh.flights.pop_back();
    return true;
  }

  /// Takes `f` out of the table; false when a write had detached it already (stale).
  static bool drop_flight(shard& sh, flight& f) {
    if (!f.attached) return false;
    f.attached = false;
    for (std::size_t i = 0; i < sh.flights.size(); ++i) {
      if (sh.flights[i].get() == &f) {
        sh.flights[i] = std::move(sh.flights.back());
        sh.flights.pop_back();
        break;
      }
    }
    return true;
  }

  struct located {
    shard& sh;
    std::uint64_t h;
  };

  template <class K>
  [[nodiscard]] located locate(const K& key) const {
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

  /// Shard i's part of `total`: an even split, the remainder to the first shards.
  [[nodiscard]] std::uint64_t share_of(std::uint64_t total, std::size_t i) const {
    const std::uint64_t n = std::uint64_t{1} << shard_bits_;
    return total / n + (i < total % n ? 1 : 0);
  }

  std::uint64_t capacity_;
  policy_config config_{};  ///< the policy parameters the shards got (with any state they share)
  unsigned shard_bits_ = 0;
  std::vector<std::unique_ptr<shard>> shards_;
};

}  // namespace prescient
