// prescient/concurrent_cache.hpp — a thread-safe cache: N shards, hits without a lock.
//
// A key's shard is chosen by the high bits of its hash (the index inside a shard uses
// the low bits, so the two choices are independent). Each shard is a plain
// `prescient::cache` with its own lock and its own policy instance; the total capacity
// is split evenly across the shards (the remainder goes to the first ones).
//
// Hits write nothing that other hits read (after Caffeine's design: Manes, "Design of a
// modern cache"; the reader side is a per-thread reader indicator, as Linux's
// percpu-rwsem and folly's SharedMutex "deferred readers" are):
//
//   * A lookup takes no lock. It announces itself on its thread's *stripe* of the shard
//     (a store on a cache line that only its own thread writes, see below), then
//     checks the shard's `writing` flag: clear, it probes the index and copies the value
//     out; set, it withdraws and takes the lock instead. A writer (put, erase, an insert
//     or eviction) takes the lock, sets `writing`, and waits until no stripe announces a
//     reader; so a value is never read while it is replaced or destroyed, whatever the
//     Value type (no seqlock read of a torn std::string). Readers never wait for readers.
//     A lookup that finds `writing` set first waits a little for it to clear (a write
//     keeps readers out only while it changes the index) and takes the lock only if it
//     does not: queueing on the lock behind the writer, then draining and updating the
//     policy there, cost more (docs/benchmarks.md).
//   * The policy update of a hit is not made on the hit: the hit's slot goes into its
//     stripe's ring of `hit_buffer` slots (a plain atomic store). Every `drain_every`
//     hits, the shard's *drainer* — the thread that drained it last — tries the shard's
//     lock and, if it is free, hands every stripe's ring to the policy (oldest first);
//     if not, it goes on. Another thread leaves its ring to the drainer, unless the
//     drainer has let `takeover_lag` of its hits wait: then it drains and becomes the
//     drainer. One core thus makes a shard's policy updates and keeps their lines (an
//     LRU's links of the hot entries) in its cache; when every thread drained its own
//     ring, both cores moved the same hot entries and each move fetched their lines
//     from the other core. (A policy whose hit update is costly, the learned one, has
//     every thread drain its own ring instead: `policy::has_costly_hit`.) A full ring
//     overwrites its oldest entries: the buffer is lossy, a policy may miss some hits
//     under contention (as in Caffeine), and a drain may miss the hit of a lookup
//     still under way. Every writer first drains every stripe, so a policy choosing a
//     victim has seen the hits buffered until then; it does so before it keeps lookups
//     out (the drain changes the policy only, which lookups do not read). With one
//     thread no hit is ever lost and the policy sees the requests in their order (the
//     exactness tests hold). A buffered hit whose slot has since been freed or reused
//     is dropped.
//   * A policy whose hit only marks the entry (SIEVE's visited bit, S3-FIFO's 2-bit
//     counter: `policy::has_lockfree_hit`) takes the hit at once instead: the lookup
//     sets the entry's own byte with a relaxed atomic store, and only when the mark
//     changes — a hot entry's mark is already set, so its cache line is only read and
//     hits on it share nothing written. No buffer, no drain, nothing lost; a writer
//     never runs beside it (the readers are out while a victim is chosen).
//   * Statistics: hits and the misses found without the lock are counted per stripe
//     (the announcement counts the lookup) and summed on `stats()`; exact.
//   * Misses take the lock only when the policy must see them (a miss hook: S3-FIFO's
//     ghost, W-TinyLFU's sketch, the learned policy); otherwise they are counted on the
//     stripe. The logical clock the policy sees counts the requests it is told about.
//
// Time (the last template parameter, `Expiry`; expiry.hpp). `no_expiry`, the default:
// every time hook below is an empty `if constexpr`, the code above unchanged. With
// `expiring<Ticker, EntryExpiry>` each shard's `cache` keeps its deadlines in its own
// timer wheel, on a copy of one ticker (copies of a fake_ticker share one time):
//   * Every write of a shard's time — removing expired entries, the wheel's work-ahead,
//     setting a deadline, a write time or a refresh ticket — is made under `exclusive`
//     (so every locked operation of an expiring cache is exclusive, a locked read too:
//     its start may remove entries). A lookup without the lock may therefore read them,
//     under the same protocol that lets it read values.
//   * A lookup is served without the lock only while the ticker reads less than the
//     shard's `next_due`, a lower bound of every deadline in the shard: nothing there is
//     expired, the entry found included — an expired entry is never returned. Otherwise
//     (and when a finished refresh waits to be installed) it takes the lock, and the
//     operation starts as the shard's `cache` starts each of its own: the expired
//     entries removed (reported `expired`; every policy's metadata let go) before
//     anything else, then the refreshes installed. So one thread sees exactly what a
//     `cache` would; the cost of a hit is a ticker read and a load, plus one locked
//     lookup each time the clock passes `next_due` (at most one per expiry, which needs
//     the lock anyway). peek and contains check the entry's own deadline.
//   * after_access with no entry expiry: a hit moves the entry's deadline later only,
//     so a lock-free hit stores its time in the entry's access stamp (a relaxed atomic
//     that only moves forward) and leaves the wheel alone; the wheel's deadline is a
//     lower bound, re-checked against the stamps when it comes due (cache.hpp, "Access
//     stamps"): the same entries expire at the same operations, and `next_due` stays a
//     lower bound. An entry expiry with `after_read` (which may shorten a deadline), or
//     after_access beside an entry expiry: a hit moves the deadline in the wheel, which
//     only a writer may do, so every such hit takes the lock (exclusive).
//   * Refresh after write (set_refresher): a read that finds the entry due takes the
//     lock and puts a *refresh* in the shard's table of loads in flight (at most one per
//     key; the entry's ticket tells lock-free hits one is running), run on the
//     executor. A get_or_load or get_all of the key meanwhile waits for it; a write of
//     the key detaches it (writes win). Its answer is installed at the start of the
//     shard's next locked operation.
//
// A thread's stripe is the one its number owns: the lowest number no running thread
// holds (detail::thread_number), so threads that run together land on different
// stripes. There are 2 × hardware threads owned stripes, between 4 and 64, and a quarter
// as many shared ones for the threads numbered beyond. An owned stripe has one writer,
// so a lookup announces itself with a sequentially consistent store and withdraws with a
// plain one: one full barrier per hit, where a lock takes two locked instructions
// (locking and unlocking); a shared stripe's lookups use locked additions. Memory: each
// shard has (1.25 × owned) × 1,088 bytes of stripes (128 hit slots of 8 bytes and a
// counting line), 64 bytes each (the counting line) for a policy whose hits are marks.
// The single-threaded `cache` has none of this.
//
// A policy whose shards share state says so with `Policy::prepare_shards(config&,
// shards, capacity)`, called once before the shards are built (the learned policy: one
// model and one trainer thread for every shard, policy/learned/shared_model.hpp), and
// `Policy::add_shared_stats` for `policy_stats()`.
//
// Like parallel-hashmap, the lock is a template parameter (`Mutex`): any type with
// lock(), try_lock() and unlock(). The default tries a held lock a few dozen times
// before it sleeps on it (detail/spin_then_park_mutex.hpp): a shard's lock is held for
// a write, far shorter than a sleep and a wake-up. With weights, an entry heavier than
// its shard's capacity is refused (`too_heavy`) even if it would fit the total; choose
// fewer shards for very large entries.
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
// Bulk read-through (`get_all`) is single-flight per key across the shards: the keys
// loading already are waited for, the rest loaded in ONE `load_all` call (see get_all).
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
#include <array>
#include <atomic>
#include <bit>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <limits>
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
#include "prescient/detail/spin_then_park_mutex.hpp"
#include "prescient/executor.hpp"
#include "prescient/expiry.hpp"
#include "prescient/loader.hpp"

namespace prescient {

namespace detail {
/// The numbers held by running threads (thread_number), one bit each.
inline std::atomic<std::uint64_t>& thread_numbers_taken() noexcept {
  static std::atomic<std::uint64_t> bits{0};
  return bits;
}

/// Gives a thread's number back when the thread ends.
struct thread_number_giver {
  std::size_t held = 64;
  ~thread_number_giver() {
    // Release: the next holder of the number (it claims with acquire) sees every write
    // this thread made to the stripes that number owns.
    if (held < 64) thread_numbers_taken().fetch_and(~(std::uint64_t{1} << held), std::memory_order_release);
  }
};

/// The calling thread's number, for concurrent_cache's stripes: the lowest number no
/// running thread holds (a thread gives its number back when it ends), so threads that
/// run at the same time hold different numbers below 64 — up to 64 threads;
/// beyond, a thread gets a shared number, 64 or above. The first call of a thread
/// claims; later calls read a thread_local.
class thread_number {
 public:
  static std::size_t get() noexcept {
    if (mine_ != 0) return mine_ - 1;
    return claim();
  }

 private:
  static std::size_t claim() noexcept {
    std::uint64_t used = thread_numbers_taken().load(std::memory_order_relaxed);
    for (;;) {
      if (~used == 0) {  // 64 threads hold a number: share one of 64 more
        static std::atomic<std::size_t> spill{0};
        mine_ = 1 + 64 + spill.fetch_add(1, std::memory_order_relaxed) % 64;
        return mine_ - 1;
      }
      const auto n = static_cast<std::size_t>(std::countr_one(used));
      if (thread_numbers_taken().compare_exchange_weak(used, used | std::uint64_t{1} << n, std::memory_order_acquire,
                                                       std::memory_order_relaxed)) {
        mine_ = n + 1;
        giver_.held = n;  // constructs the thread_local whose destructor gives it back
        return n;
      }
    }
  }
  static inline thread_local std::size_t mine_ = 0;  // number + 1; 0: none yet
  static inline thread_local thread_number_giver giver_{};
};
}  // namespace detail

/// concurrent_cache's constructor options, one aggregate (designated initialisers:
/// `{.shards = 8, .policy = cfg}`); every field has its default.
template <class PolicyConfig, class Hash, class KeyEqual, class Weigher, class Expiry = no_expiry>
struct concurrent_cache_options {
  /// 0 picks a power of two near 4 × hardware threads, but never so many that a shard
  /// would hold fewer than 64 units of capacity; then up to 16 × hardware threads while
  /// a shard holds 256 units or more — for a policy whose hits are buffered (LRU, ARC,
  /// W-TinyLFU…: a ring of 1,088 bytes in each of a shard's stripes) only while the
  /// stripes cost at most 4 bytes a unit of capacity (on 2 hardware threads, 32 shards
  /// from 43,520 units), and not for a policy whose hits are costly (the learned
  /// policy: each shard a policy of its own). A lookup that meets a writer on its shard waits or
  /// takes the lock, and with a tenth of the requests writing that costs a shared cache
  /// more than anything else: 32 shards instead of 8 gave two threads 1.2–1.4× the mixed
  /// stream's throughput (docs/benchmarks.md, "The mixed stream against a private
  /// calibration"). Any other count is rounded up to a power of two.
  std::size_t shards = 0;
  PolicyConfig policy{};  ///< every shard's policy parameters
  Hash hash{};
  KeyEqual equal{};
  Weigher weigher{};
};

/// An expiring concurrent_cache's options: the same, and expiring<…>::options' fields
/// (expiry.hpp): `{.shards = 8, .after_write = 5min}`. Every shard gets a copy of the
/// ticker (copies of a fake_ticker share one time).
template <class PolicyConfig, class Hash, class KeyEqual, class Weigher, class Ticker, class EntryExpiry>
struct concurrent_cache_options<PolicyConfig, Hash, KeyEqual, Weigher, expiring<Ticker, EntryExpiry>> {
  std::size_t shards = 0;
  PolicyConfig policy{};
  Hash hash{};
  KeyEqual equal{};
  Weigher weigher{};
  duration after_write = never;          ///< deadline = last write + this
  duration after_access = never;         ///< deadline = last read or write + this (hits stay lock-free: cache.hpp's access stamps)
  duration refresh_after_write = never;  ///< a read this long after the write reloads in the background (set_refresher)
  Ticker ticker{};
  EntryExpiry entry{};
};

template <class Key, class Value, class Policy = policy::lru, class Hash = prescient::hash<Key>,
          class KeyEqual = std::equal_to<Key>, class Weigher = unit_weigher, class Mutex = detail::spin_then_park_mutex,
          class Expiry = no_expiry>
class concurrent_cache {
 public:
  using shard_cache = cache<Key, Value, Policy, Hash, KeyEqual, Weigher, Expiry>;
  using policy_config = typename Policy::config;
  using eviction_listener = typename shard_cache::eviction_listener;
  using options = concurrent_cache_options<policy_config, Hash, KeyEqual, Weigher, Expiry>;
  using mutex_type = Mutex;  ///< each shard's lock
  /// Whether entries have deadlines (Expiry is `expiring<…>`): decided at compile time.
  static constexpr bool expires = shard_cache::expires;

  /// `capacity`: the total weight, split evenly across the shards (the remainder goes to
  /// the first ones). A policy whose shards share state (`Policy::prepare_shards`: the
  /// learned policy's one model and one trainer) has it set up here.
  explicit concurrent_cache(std::uint64_t capacity, options opts = {}) : capacity_(capacity) {
    std::size_t shards = opts.shards;
    if (shards == 0) {
      const std::size_t threads = std::max(1u, std::thread::hardware_concurrency());
      shards = std::bit_ceil(4 * threads);
      while (shards > 1 && capacity / shards < 64) shards /= 2;
      if constexpr (!policy::has_costly_hit<Policy>) {
        // More shards, each of 256 units at least: the miss ratio then stays within
        // about half a per cent of one cache's (docs/benchmarks.md). A policy whose hits
        // are buffered has a ring in every stripe (1,088 bytes): its extra shards also
        // keep the stripes under `ring_bytes_per_unit` bytes a unit of capacity. (The
        // learned policy keeps the rule above: each shard is a policy with its own
        // referee and panel.)
        const std::size_t stripe_bytes = sizeof(stripe) * stripes_per_shard();
        std::size_t more = std::bit_ceil(16 * threads);
        while (more > shards && (capacity / more < 256 || (!policy::has_lockfree_hit<Policy> &&
                                                           more * stripe_bytes > ring_bytes_per_unit * capacity)))
          more /= 2;
        shards = std::max(shards, more);
      }
    }
    shards = std::bit_ceil(shards);
    shard_bits_ = static_cast<unsigned>(std::countr_zero(shards));
    if constexpr (requires(policy_config& c) { Policy::prepare_shards(c, shards, capacity); })
      Policy::prepare_shards(opts.policy, shards, capacity);
    config_ = opts.policy;
    const std::size_t stripes = owned_stripes();
    shards_.reserve(shards);
    for (std::size_t i = 0; i < shards; ++i) shards_.push_back(std::make_unique<shard>(share_of(capacity, i), opts, stripes));
    if constexpr (expires) {
      // A hit that moves its deadline takes the lock, unless the shards keep access
      // stamps (after_access with no entry expiry: the hit stores its time, cache.hpp).
      using E = typename Expiry::entry_expiry_type;
      locked_hits_ = has_after_read<E, Key, Value> ||
                     (opts.after_access != never && !shards_.front()->cache.time_.stamps);
    }
  }

  [[nodiscard]] std::optional<Value> get(const Key& key) { return get_impl(key); }

  /// Calls `f(const Value&)` on a hit, no copy. Writers to the shard wait while `f`
  /// runs: keep `f` short and never call back into the cache from it.
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
    const policy_lock lock(sh);
    return std::forward<F>(f)(std::as_const(sh.cache).policy());
  }

  /// A load of `key` in flight (get_or_load) will not cache its older result.
  put_result put(const Key& key, Value value) {
    auto [sh, h] = locate(key);
    const exclusive lock(sh);
    begin(sh);
    if (!sh.flights.empty()) detach_flight(sh, key, h);
    return sh.cache.put_hashed(key, std::move(value), h);
  }

  /// A load of `key` in flight (get_or_load) will not cache its result.
  bool erase(const Key& key) { return erase_impl(key); }

  /// cache::compute under the key's shard lock: `f(const Key&, const Value* current)`
  /// answers the new value, or nullopt to remove the entry; atomic for the key against
  /// every other call. A load of `key` in flight will not cache its result (the write
  /// wins). `f` runs with the shard locked: it must not call into this cache, and should
  /// be short (lookups of the shard wait for it). If `f` throws, nothing changes.
  template <class F>
    requires std::convertible_to<std::invoke_result_t<F&, const Key&, const Value*>, std::optional<Value>>
  std::optional<Value> compute(const Key& key, F&& f) {
    auto [sh, h] = locate(key);
    const exclusive lock(sh);
    begin(sh);
    if (!sh.flights.empty()) detach_flight(sh, key, h);
    return sh.cache.compute(key, std::forward<F>(f));
  }

  /// cache::merge under the key's shard lock (see compute).
  template <class F>
    requires std::convertible_to<std::invoke_result_t<F&, const Value&, const Value&>, std::optional<Value>>
  std::optional<Value> merge(const Key& key, Value value, F&& f) {
    auto [sh, h] = locate(key);
    const exclusive lock(sh);
    begin(sh);
    if (!sh.flights.empty()) detach_flight(sh, key, h);
    return sh.cache.merge(key, std::move(value), std::forward<F>(f));
  }

  /// Loads in flight (get_or_load) will not cache their results.
  void clear() {
    for (auto& sh : shards_) {
      const exclusive lock(*sh);
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
    if constexpr (small_value) {  // see get_impl
      Value found{};
      if (lookup_fast(sh, key, h, false, [&](const Value& v) { found = v; }) == fast::hit) {
        hit = true;
        return found;
      }
    } else {
      std::optional<Value> out;
      if (lookup_fast(sh, key, h, false, [&](const Value& v) { out.emplace(v); }) == fast::hit) {
        hit = true;
        return out;
      }
    }
    {
      const read_lock lock(sh);
      begin(sh);
      if (const slot_id s = sh.cache.lookup(key, h); s != no_slot) {
        locked_hit(sh, s, h);
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
    const std::uint64_t start = load_clock(sh);
    try {
      value = invoke_loader<Key, Value>(load, key);
    } catch (...) {
      {
        std::lock_guard lock(sh.mutex);
        drop_flight(sh, *f);
        count_load(sh, false, load_clock(sh) - start);
      }
      f->publish(nullptr, std::current_exception());
      throw;
    }
    const std::uint64_t took = load_clock(sh) - start;
    bool share = false;
    try {
      const exclusive lock(sh);
      count_load(sh, true, took);
      if constexpr (expires) sh.cache.resume_op();  // time went on while loading
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

  /// Bulk read-through, single-flight per key across the shards: one answer per key of
  /// `keys`, in order (nullopt: the loader said "no such key"). Hits are served as by
  /// `get`. A missing key whose load is in flight (get_or_load, another get_all, a
  /// background refresh) is waited for; the other missing keys — each distinct key once
  /// — are loaded in ONE `load_all` call (the loader's `load_many` when it has one,
  /// loader.hpp) with no lock held, after which each goes through its shard's insert path
  /// as get_or_load's result does (writes meanwhile win: such a key is returned, not
  /// cached). This call's own loads are published to their waiters before it waits for
  /// anyone else's, so two get_alls with crossing keys never wait for each other. If the
  /// loader throws, nothing is cached, every caller waiting for those keys gets the
  /// exception, and it propagates; if a load this call waited for failed, its exception
  /// propagates (after this call's own loads are done). Statistics: a hit or a miss per
  /// key, one load success or failure (and its time) per `load_all` call; in
  /// load_stats, one load per key loaded here and one coalesced wait per key waited for.
  template <class Loader>
    requires loader<Loader, Key, Value>
  std::vector<std::optional<Value>> get_all(std::span<const Key> keys, Loader&& load) {
    constexpr std::size_t none = std::numeric_limits<std::size_t>::max();
    std::vector<std::optional<Value>> out(keys.size());
    std::vector<std::shared_ptr<flight>> mine;       // the loads this call leads, one per distinct key
    std::vector<std::size_t> mine_of(keys.size(), none);  // per key: its load in `mine`
    std::vector<std::pair<std::size_t, std::shared_ptr<flight>>> joined;  // per key: another's load
    // An expiring cache: like cache::get_all, one operation — each shard's start (expiry,
    // refreshes) once, at its first key, and once more (expiry only) before the inserts.
    std::vector<const shard*> begun, resumed;
    try {
      for (std::size_t i = 0; i < keys.size(); ++i) {
        const Key& key = keys[i];
        auto [sh, h] = locate(key);
        if (lookup_fast(sh, key, h, false, [&](const Value& v) { out[i].emplace(v); }) == fast::hit) continue;
        const read_lock lock(sh);
        if constexpr (expires) {
          if (std::find(begun.begin(), begun.end(), &sh) == begun.end()) {
            begun.push_back(&sh);
            begin(sh);
          }
        }
        if (const slot_id s = sh.cache.lookup(key, h); s != no_slot) {
          locked_hit(sh, s, h);
          out[i] = sh.cache.slab_[s]->value;
          continue;
        }
        sh.cache.record_miss(h);
        std::shared_ptr<flight> f = find_flight(sh, key, h);
        if (f) {
          if (const auto m = std::find(mine.begin(), mine.end(), f); m != mine.end()) {
            mine_of[i] = static_cast<std::size_t>(m - mine.begin());  // a repeated key: loaded once
            continue;
          }
          if (f->leader == std::this_thread::get_id())
            throw std::logic_error("prescient: a loader called get_all for a key it is loading");
          joined.emplace_back(i, f);
          ++f->waiters;
          ++sh.loads.coalesced;
        } else {
          mine.reserve(mine.size() + 1);  // so that nothing below throws once the flight is in the table
          f = std::make_shared<flight>(key, h);
          sh.flights.push_back(f);
          ++sh.loads.loads;
          mine_of[i] = mine.size();
          mine.push_back(std::move(f));
        }
      }
    } catch (...) {  // the hash, a comparison, a copy or an allocation threw: end this call's loads
      fail_flights(mine, std::current_exception());
      throw;
    }
    std::exception_ptr error;
    if (!mine.empty()) {
      shard& first = shard_of(mine.front()->h);
      std::vector<std::optional<Value>> loaded;
      const std::uint64_t start = load_clock(first);
      try {
        std::vector<Key> ks;
        ks.reserve(mine.size());
        for (const auto& f : mine) ks.push_back(f->key);
        loaded = load_all<Key, Value>(load, std::span<const Key>(ks));
      } catch (...) {
        {
          std::lock_guard lock(first.mutex);
          count_load(first, false, load_clock(first) - start);
        }
        fail_flights(mine, std::current_exception());
        throw;
      }
      {
        std::lock_guard lock(first.mutex);
        count_load(first, true, load_clock(first) - start);
      }
      for (std::size_t m = 0; m < mine.size(); ++m) {
        flight& f = *mine[m];
        shard& sh = shard_of(f.h);
        bool share = false;
        try {
          const exclusive lock(sh);
          if constexpr (expires) {
            if (std::find(resumed.begin(), resumed.end(), &sh) == resumed.end()) {
              resumed.push_back(&sh);
              sh.cache.resume_op();  // time went on while loading
            }
          }
          share = f.waiters != 0;
          if (!drop_flight(sh, f)) {
            ++sh.loads.stale;
          } else if (!loaded[m]) {
            ++sh.loads.absent;
          } else if (sh.cache.lookup(f.key, f.h) == no_slot) {
            sh.cache.insert_new(Key(f.key), Value(*loaded[m]), f.h, access::unknown);
          }
        } catch (...) {  // copying the key or value, or a listener, threw: this key's waiters get it
          {
            std::lock_guard lock(sh.mutex);
            drop_flight(sh, f);
          }
          f.publish(nullptr, std::current_exception());
          if (!error) error = std::current_exception();
          continue;
        }
        f.publish(share ? &loaded[m] : nullptr, nullptr);
      }
      for (std::size_t i = 0; i < keys.size(); ++i)
        if (mine_of[i] != none) out[i] = loaded[mine_of[i]];
    }
    for (auto& [i, f] : joined) {
      try {
        out[i] = f->wait();
      } catch (...) {
        if (!error) error = std::current_exception();
      }
    }
    if (error) std::rethrow_exception(error);
    return out;
  }
  template <class Loader>
    requires loader<Loader, Key, Value>
  std::vector<std::optional<Value>> get_all(const std::vector<Key>& keys, Loader&& load) {
    return get_all(std::span<const Key>(keys), std::forward<Loader>(load));
  }

  /// An expiring cache with `refresh_after_write` set: a read (get, visit, get_or_load,
  /// get_all) of an entry written at least that long ago returns the cached value at
  /// once and starts a background reload, `load(key)` on `executor` (try_submit: never
  /// waits; a refused submission is tried again at the next read), at most one per key:
  /// the reload is a load in the shard's table of loads in flight, so a get_or_load or
  /// get_all of the key (the entry expired meanwhile, say) waits for it rather than
  /// loading again, and a write of the key (put, erase, invalidate, compute, merge,
  /// clear) makes its answer be dropped. The answer is installed at the start of the next
  /// operation on the key's shard that takes the lock (a lock-free hit sees that one is
  /// waiting and takes the lock): a value is assigned (counted in `refreshes`; the old
  /// one reported `replaced`; the deadline restarts), "no such key" erases the entry, a
  /// loader that threw keeps the old value (counted in `refresh_failures`; the next read
  /// tries again). Call it before the cache is shared between threads (it takes each
  /// shard's lock, but a refresh started before it uses the previous loader). `load`
  /// runs on the executor's threads, without any lock: it may use this cache, and must
  /// be thread-safe if the executor has several threads. `executor` must outlive the
  /// refreshes submitted (tasks own what they use; the cache may die first).
  template <class Loader>
    requires expires && loader<Loader, Key, Value>
  void set_refresher(Loader load, bounded_executor& executor) {
    auto fn = std::make_shared<std::function<std::optional<Value>(const Key&)>>(
        [l = std::move(load)](const Key& k) mutable { return invoke_loader<Key, Value>(l, k); });
    for (auto& sh : shards_) {
      auto box = std::make_shared<refresh_box>();
      box->load = fn;
      box->executor = &executor;
      const exclusive lock(*sh);  // read by lock-free hits
      sh->time.box = std::move(box);
    }
  }

  /// An expiring cache: removes the expired entries and installs the finished refreshes
  /// of every shard now (an operation that takes a shard's lock does this first anyway).
  /// Nothing otherwise.
  void cleanup() {
    if constexpr (expires) {
      for (auto& sh : shards_) {
        const exclusive lock(*sh);
        begin(*sh);
      }
    }
  }

  /// Read-through counters (loads, successes, failures, total load time, coalesced waits,
  /// absent keys, stale loads), merged across shards.
  [[nodiscard]] prescient::load_stats load_stats() const {
    prescient::load_stats total;
    for (const auto& sh : shards_) {
      std::lock_guard lock(sh->mutex);
      total += sh->loads;
    }
    return total;
  }

  /// Every removal with its cause (cache::set_removal_listener), from every shard. The
  /// listener runs under the removing shard's lock: it must not call back into this
  /// cache.
  void set_removal_listener(const eviction_listener& listener) {
    for (auto& sh : shards_) {
      std::lock_guard lock(sh->mutex);  // read by writers only
      sh->cache.set_removal_listener(listener);
    }
  }

  /// The listener runs under the evicting shard's lock: it must not call back into
  /// this cache.
  void set_eviction_listener(const eviction_listener& listener) {
    for (auto& sh : shards_) {
      std::lock_guard lock(sh->mutex);  // read by writers only
      sh->cache.set_eviction_listener(listener);
    }
  }

  /// Every shard's cache::check_invariants, each under its lock, prefixed with the
  /// shard's number; empty when all hold. For tests and debugging.
  [[nodiscard]] std::string check_invariants() const {
    std::string problems;
    std::uint64_t total = 0;
    for (std::size_t i = 0; i < shards_.size(); ++i) {
      const policy_lock lock(*shards_[i]);
      total += shards_[i]->cache.capacity();
      if (std::string p = shards_[i]->cache.check_invariants(); !p.empty())
        problems += (problems.empty() ? "shard " : "; shard ") + std::to_string(i) + ": " + p;
    }
    if (total != capacity_)
      problems += (problems.empty() ? "" : "; ") + std::string("the shards' capacities add up to ") +
                  std::to_string(total) + ", not " + std::to_string(capacity_);
    return problems;
  }

  /// Loads in flight (get_or_load, get_all, background refreshes) still in the shards'
  /// tables: 0 whenever no get_or_load or get_all is running and every refresh started
  /// has been installed (cleanup). For tests and debugging.
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
        const exclusive lock(*shards_[i]);
        begin(*shards_[i]);
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
      for (std::size_t i = 0; i < sh->stripe_count; ++i) {
        sh->base_misses[i] = sh->stripes[i].misses.load(std::memory_order_acquire);
        sh->base_lookups[i] = sh->stripes[i].state.load(std::memory_order_acquire) / lookup_one;
      }
    }
  }

  /// The policy's own statistics for the whole cache: every shard's `stats()` added up
  /// (`+=`), then what the shards share added once (`Policy::add_shared_stats`: the
  /// learned policy's one model and its trainer). For a policy that has `stats()`.
  [[nodiscard]] auto policy_stats() const
    requires requires(const Policy& p) { p.stats(); }
  {
    std::remove_cvref_t<decltype(std::declval<const Policy&>().stats())> total = [&] {
      const policy_lock lock(*shards_.front());
      return shards_.front()->cache.policy().stats();
    }();
    for (std::size_t i = 1; i < shards_.size(); ++i) {
      const policy_lock lock(*shards_[i]);
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
      for (std::size_t i = 0; i < sh->stripe_count; ++i) {  // the lookups served without the lock
        // Misses first: a miss is counted after its lookup, so the lookups read next
        // include it. While lookups run, a difference may be briefly off; never below 0.
        const auto misses = static_cast<std::int64_t>(sh->stripes[i].misses.load(std::memory_order_acquire) - sh->base_misses[i]);
        const auto lookups =
            static_cast<std::int64_t>(sh->stripes[i].state.load(std::memory_order_acquire) / lookup_one - sh->base_lookups[i]);
        total.hits += static_cast<std::uint64_t>(std::max<std::int64_t>(0, lookups - misses));
        total.misses += static_cast<std::uint64_t>(std::max<std::int64_t>(0, misses));
      }
    }
    return total;
  }

  [[nodiscard]] std::size_t size() const { return sum([](const shard_cache& c) { return c.size(); }); }
  [[nodiscard]] std::uint64_t weight() const { return sum([](const shard_cache& c) { return c.weight(); }); }
  [[nodiscard]] std::uint64_t capacity() const noexcept { return capacity_; }
  [[nodiscard]] std::size_t shard_count() const noexcept { return shards_.size(); }
  /// The shard `key` lives in, in [0, shard_count()): its capacity is
  /// capacity() / shard_count() (the first capacity() % shard_count() shards one more).
  [[nodiscard]] std::size_t shard_index(const Key& key) const {
    return shard_bits_ == 0 ? 0 : static_cast<std::size_t>(locate(key).h >> (64 - shard_bits_));
  }

 private:
  /// One load in flight (get_or_load). `attached` and `waiters` are guarded by the
  /// shard's mutex; the outcome by the flight's own mutex (the shard lock is never held
  /// while waiting).
  struct flight {
    flight(const Key& k, std::uint64_t hash, std::thread::id by = std::this_thread::get_id())
        : key(k), h(hash), leader(by) {}
    const Key key;
    const std::uint64_t h;
    const std::thread::id leader;  ///< the thread running the loader (none for a refresh)
    bool attached = true;          ///< still in the shard's table: its result may be cached
    std::size_t waiters = 0;
    std::uint64_t ticket = 0;      ///< a background refresh: the entry's ticket (else 0)

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

  /// A value that a hit returns through a plain local (get_impl).
  static constexpr bool small_value = std::is_trivially_copyable_v<Value> && std::is_default_constructible_v<Value> &&
                                      std::is_copy_assignable_v<Value> && sizeof(std::optional<Value>) <= 16;

  /// A stripe's ring of buffered hits (a power of two). Its thread offers a drain every
  /// `drain_every` hits; the shard's drainer (below) drains every ring, so a ring holds
  /// up to twice that before its oldest hits are overwritten.
  static constexpr std::size_t hit_buffer = 128;
  /// The stripes of a buffered policy's extra shards (see the constructor) cost at most
  /// this many bytes a unit of capacity: with 32 hardware threads (80 stripes of 1,088
  /// bytes a shard), 256 shards instead of 128 from 5.6M units of capacity on.
  static constexpr std::uint64_t ring_bytes_per_unit = 4;
  /// Stripes owned by one thread each: 2 × hardware threads, a power of two in [4, 64].
  static std::size_t owned_stripes() {
    return std::clamp<std::size_t>(std::bit_ceil(2 * std::size_t{std::max(1u, std::thread::hardware_concurrency())}), 4, 64);
  }
  /// A shard's stripes: the `owned` ones and a quarter as many shared (at least one).
  static std::size_t stripes_per_shard(std::size_t owned = owned_stripes()) {
    return owned + std::max<std::size_t>(1, owned / 4);
  }
  static constexpr std::size_t drain_every = 64;
  /// A thread that is not its shard's drainer drains (and becomes the drainer) only once
  /// this many of its hits wait: the drainer has not come round in time.
  static constexpr std::uint64_t takeover_lag = 96;
  /// A stripe's `state`: readers inside now in the low bits, lookups counted above.
  static constexpr std::uint64_t reader_one = 1;
  static constexpr std::uint64_t lookup_one = std::uint64_t{1} << 20;
  static constexpr std::uint64_t reader_mask = lookup_one - 1;
  /// A lookup that finds a writer at work waits for it up to `reader_rounds` times, each
  /// up to `reader_spins` pauses (`detail::cpu_pause`), before it takes the lock
  /// instead.
  static constexpr unsigned reader_rounds = 2;
  static constexpr unsigned reader_spins = 32;

  /// One thread stripe of one shard: written by the lookups of the threads of that
  /// stripe; read by writers (the readers) and drains (the hits), which also clear
  /// `hits` entries. An *owned* stripe has one thread (the holder of its number), which
  /// changes its counters with plain stores; a shared one, locked additions.
  struct alignas(64) stripe_counts {
    /// Low 20 bits: lookups inside the index now. Above: lookups counted without the
    /// lock (hits and misses), which is also the position in `hits` of the next one.
    std::atomic<std::uint64_t> state{0};
    std::atomic<std::uint64_t> misses{0};  ///< of those lookups, the misses
  };
  struct stripe_with_ring : stripe_counts {
    /// The hits not yet told to the policy: (slot + 1) << 32 | the key hash's low 32
    /// bits; 0 for none.
    alignas(64) std::array<std::atomic<std::uint64_t>, hit_buffer> hits{};
  };
  /// A policy whose hits are marks buffers none: its stripe is the counting line alone.
  using stripe = std::conditional_t<policy::has_lockfree_hit<Policy>, stripe_counts, stripe_with_ring>;
  static_assert(sizeof(stripe_counts) == 64);

  /// Adds `v` (modulo 2^64) to a counter of a stripe and returns the value before: a load
  /// and a store when the calling thread owns the stripe (no other thread writes it, so
  /// nothing is lost and a hit makes no locked instruction but its announcement's
  /// sequentially consistent store), a locked addition otherwise.
  static std::uint64_t bump(std::atomic<std::uint64_t>& counter, std::uint64_t v, bool owned,
                            std::memory_order order) noexcept {
    if (owned) {
      const std::uint64_t before = counter.load(std::memory_order_relaxed);
      counter.store(before + v, order);
      return before;
    }
    return counter.fetch_add(v, order);
  }

  /// A shard's background refreshes (expiring caches): shared with the refresh tasks,
  /// which may outlive the cache.
  struct refresh_box {
    std::shared_ptr<std::function<std::optional<Value>(const Key&)>> load;
    bounded_executor* executor = nullptr;
    std::mutex m;
    std::vector<std::shared_ptr<flight>> done;  ///< finished refreshes to install; guarded by m
    std::atomic<bool> ready{false};             ///< done is not empty
  };
  struct shard_time {
    std::shared_ptr<refresh_box> box;  ///< set under exclusive (read by lock-free hits)
    std::uint64_t tickets = 0;         ///< under the lock
  };
  struct no_shard_time {};

  static shard_cache make_cache(std::uint64_t capacity, const options& o) {
    if constexpr (expires) {
      typename shard_cache::expiry_options t{};
      t.after_write = o.after_write;
      t.after_access = o.after_access;
      t.refresh_after_write = o.refresh_after_write;
      t.ticker = o.ticker;
      t.entry = o.entry;
      return shard_cache(capacity, std::move(t), o.policy, o.hash, o.equal, o.weigher);
    } else {
      return shard_cache(capacity, o.policy, o.hash, o.equal, o.weigher);
    }
  }

  struct shard {
    /// `owned`: the stripes owned by one thread each (a power of two, at most 64); a
    /// quarter as many more (at least one) are shared by the threads numbered beyond.
    shard(std::uint64_t capacity, const options& o, std::size_t owned)
        : owned_stripes(owned),
          stripe_count(stripes_per_shard(owned)),
          stripes(std::make_unique<stripe[]>(stripe_count)),
          cache(make_cache(capacity, o)),
          drained(std::make_unique<std::atomic<std::uint64_t>[]>(stripe_count)),
          base_lookups(stripe_count, 0),
          base_misses(stripe_count, 0) {}
    /// Set while a writer changes the index or the slab: lookups take the lock then.
    alignas(64) std::atomic<bool> writing{false};
    /// The stripe whose thread drains every stripe's hits (the last to drain): one core
    /// keeps the policy's lines (an LRU's links) in its cache, instead of every core's
    /// drains moving the same hot entries between caches. Written under `mutex`.
    std::atomic<std::uint32_t> drainer{0};
    std::size_t owned_stripes;  ///< stripes [0, owned_stripes) are owned, the rest shared
    std::size_t stripe_count;
    std::unique_ptr<stripe[]> stripes;
    shard_cache cache;  ///< its index and slab are read without the lock; its policy only under it
    alignas(64) mutable Mutex mutex;
    // Under `mutex`:
    /// Per stripe: the position its hits are drained up to. Written under `mutex`; read
    /// without it by a thread deciding whether to take over the drains.
    std::unique_ptr<std::atomic<std::uint64_t>[]> drained;
    std::vector<std::uint64_t> base_lookups;  ///< per stripe: the counts at the last reset_stats
    std::vector<std::uint64_t> base_misses;
    std::vector<std::shared_ptr<flight>> flights;  ///< loads in flight; few, so a vector
    prescient::load_stats loads;
    [[no_unique_address]] std::conditional_t<expires, shard_time, no_shard_time> time;

    /// The calling thread's stripe: the one its number owns, or a shared one.
    [[nodiscard]] std::size_t my_stripe() const noexcept {
      const std::size_t n = detail::thread_number::get();  // below owned_stripes (≤ 64): one running thread's
      return n < owned_stripes ? n : owned_stripes + (n & (stripe_count - owned_stripes - 1));
    }
    [[nodiscard]] bool owned(std::size_t stripe_index) const noexcept { return stripe_index < owned_stripes; }
  };

  /// A lookup without the lock: announces itself on the thread's stripe (and counts the
  /// lookup, when `counted`) and enters unless a writer is at work; then it withdraws,
  /// and the caller takes the lock instead (`entered()` false).
  class reader {
   public:
    reader(shard& sh, bool counted) noexcept : reader(sh, sh.my_stripe(), counted) {}
    ~reader() {
      if (in_) bump(st_.state, -reader_one, owned_, std::memory_order_release);
    }
    reader(const reader&) = delete;
    reader& operator=(const reader&) = delete;

    [[nodiscard]] bool entered() const noexcept { return in_; }
    /// Takes back the count of a lookup that will be counted under the lock instead.
    void uncount() noexcept { bump(st_.state, -lookup_one, owned_, std::memory_order_relaxed); }
    /// Counts the lookup as a miss (after it was counted as a lookup).
    void count_miss() noexcept { bump(st_.misses, 1, owned_, std::memory_order_release); }
    /// Buffers a hit on `s` for the policy; true when the ring has come round (time to
    /// try a drain).
    bool buffer_hit(slot_id s, std::uint64_t key_hash) noexcept {
      st_.hits[position_ & (hit_buffer - 1)].store((std::uint64_t{s} + 1) << 32 | (key_hash & 0xffffffffu),
                                                   std::memory_order_relaxed);
      return (position_ & (drain_every - 1)) == drain_every - 1;
    }
    [[nodiscard]] std::size_t stripe_index() const noexcept { return index_; }
    /// This lookup's position in its stripe's ring.
    [[nodiscard]] std::uint64_t position() const noexcept { return position_; }

   private:
    reader(shard& sh, std::size_t stripe_index, bool counted) noexcept
        : st_(sh.stripes[stripe_index]),
          index_(stripe_index),
          owned_(sh.owned(stripe_index)),
          add_(reader_one + (counted ? lookup_one : 0)) {
      for (unsigned round = 0;; ++round) {
        // Store, then load (both sequentially consistent): with the writer's store of
        // `writing`, then load of the readers, one of the two sees the other.
        position_ = bump(st_.state, add_, owned_, std::memory_order_seq_cst) / lookup_one;
        if (!sh.writing.load(std::memory_order_seq_cst)) return;
        bump(st_.state, -add_, owned_, std::memory_order_release);
        if (round == reader_rounds) break;
        // A write keeps lookups out only while it changes the index: wait it out rather
        // than queue on the lock behind it (and then drain and update the policy there).
        for (unsigned spin = 0; spin < reader_spins && sh.writing.load(std::memory_order_relaxed); ++spin)
          detail::cpu_pause();
      }
      in_ = false;
    }

    stripe& st_;
    const std::size_t index_;
    const bool owned_;
    const std::uint64_t add_;
    std::uint64_t position_ = 0;
    bool in_ = true;
  };

  /// The shard's lock, with the buffered hits told to the policy: for what reads or
  /// changes the policy but not the index or the slab.
  class policy_lock {
   public:
    explicit policy_lock(shard& sh) : lock_(sh.mutex) { drain_all(sh); }

   private:
    std::unique_lock<Mutex> lock_;
  };

  /// The shard to oneself: its lock, lookups kept out of the index and the slab (they
  /// take the lock meanwhile), and the buffered hits told to the policy. For every
  /// change to the index or the slab.
  class exclusive {
   public:
    explicit exclusive(shard& sh) : sh_(sh), lock_(sh.mutex) {
      // The drain changes only the policy, which lookups do not read: done before the
      // lookups are kept out, so that they wait for the index's change alone.
      drain_all(sh_);
      sh_.writing.store(true, std::memory_order_seq_cst);
      for (std::size_t i = 0; i < sh_.stripe_count; ++i)
        for (unsigned spin = 0; (sh_.stripes[i].state.load(std::memory_order_seq_cst) & reader_mask) != 0; ++spin) {
          if (spin < 64)
            detail::cpu_pause();
          else
            std::this_thread::yield();  // a reader copying a large value, or descheduled
        }
    }
    ~exclusive() { sh_.writing.store(false, std::memory_order_release); }  // then lock_ unlocks
    exclusive(const exclusive&) = delete;
    exclusive& operator=(const exclusive&) = delete;

   private:
    shard& sh_;
    std::unique_lock<Mutex> lock_;
  };

  /// The lock a read that missed the lock-free path takes: without expiry only the
  /// policy's (lookups go on); with expiry the shard to oneself, since the start of the
  /// operation may remove expired entries, a hit may move a deadline, and both change
  /// what lock-free lookups read.
  using read_lock = std::conditional_t<expires, exclusive, policy_lock>;

  /// Tells the policy the hits buffered on stripe `i`, oldest first (under sh.mutex).
  static void drain(shard& sh, std::size_t i) noexcept {
    stripe& st = sh.stripes[i];
    const std::uint64_t end = st.state.load(std::memory_order_acquire) / lookup_one;
    std::uint64_t from = sh.drained[i].load(std::memory_order_relaxed);
    if (end == from) return;
    // More than a ring's worth since the last drain (the oldest were overwritten), or
    // the count went back (a lookup was taken back): the whole ring.
    if (end < from || end - from > hit_buffer) from = end > hit_buffer ? end - hit_buffer : 0;
    for (std::uint64_t p = from; p < end; ++p) {
      std::atomic<std::uint64_t>& e = st.hits[p & (hit_buffer - 1)];
      const std::uint64_t v = e.load(std::memory_order_relaxed);
      if (v == 0) continue;
      e.store(0, std::memory_order_relaxed);  // a hit written meanwhile is lost: lossy, and no locked instruction per entry
      apply_hit(sh.cache, v);
    }
    sh.drained[i].store(end, std::memory_order_relaxed);
  }

  static void drain_all(shard& sh) noexcept {
    // A policy that takes its hits as marks buffers none: nothing to drain, and reading
    // the stripes' counters would only fetch lines the other threads' lookups write.
    if constexpr (!policy::has_lockfree_hit<Policy>)
      for (std::size_t i = 0; i < sh.stripe_count; ++i) drain(sh, i);
  }

  /// A buffered hit, told to the policy if its slot still holds the key it was for.
  static void apply_hit(shard_cache& c, std::uint64_t v) noexcept {
    const auto s = static_cast<slot_id>((v >> 32) - 1);
    if (s >= c.slab_.size() || !c.slab_[s]) return;
    const std::uint64_t h = c.hash_of_slot_[s];
    if ((h & 0xffffffffu) != (v & 0xffffffffu)) return;
    c.policy_.on_access(s, access{h, ++c.clock_, c.slab_[s]->weight, access::unknown});
  }

  /// What the lookup without the lock did.
  enum class fast {
    hit,         ///< found: counted, buffered for the policy, and `on_hit` called
    miss,        ///< not found, and counted (the policy has no miss hook, and `count_miss`)
    not_served,  ///< a writer was at work, or a miss the caller counts under the lock
  };

  /// The lookup without the lock. On a hit, `on_hit(const Value&)` runs while the
  /// lookup is still inside the shard (writers wait): if it throws, the hit is counted
  /// and the exception propagates.
  template <class K, class OnHit>
  fast lookup_fast(shard& sh, const K& key, std::uint64_t h, bool count_miss, OnHit&& on_hit) const {
    if constexpr (expires)
      if (locked_hits_) return fast::not_served;  // a read rule, or after_access beside an entry expiry
    bool drain_due = false;
    std::size_t stripe_index = 0;
    std::uint64_t position = 0;
    [[maybe_unused]] std::uint64_t now = 0;  // the ticker, read once the lookup is inside
    {
      reader r(sh, true);
      if (!r.entered()) return fast::not_served;
      if constexpr (expires) {
        now = static_cast<std::uint64_t>(sh.cache.time_.options.ticker());
        // Served without the lock only while nothing in the shard is due (next_due is a
        // lower bound of every deadline) and no finished refresh waits: otherwise the
        // locked path first removes what expired and installs the refreshes, as the
        // shard's cache does at the start of every operation.
        const auto& t = sh.cache.time_;
        if (now >= t.next_due ||
            (sh.time.box && sh.time.box->ready.load(std::memory_order_relaxed))) {
          r.uncount();
          return fast::not_served;
        }
      }
      slot_id s = no_slot;
      try {
        s = sh.cache.lookup(key, h);
      } catch (...) {  // the key comparison threw: nothing is counted
        r.uncount();
        throw;
      }
      if (s == no_slot) {
        if constexpr (!policy::has_miss_hook<Policy>) {
          if (count_miss) {
            r.count_miss();
            return fast::miss;
          }
        }
        r.uncount();
        return fast::not_served;
      }
      if constexpr (expires) {
        if (refresh_due(sh, s, now)) {  // the locked path starts the refresh
          r.uncount();
          return fast::not_served;
        }
        if (sh.cache.time_.stamps) sh.cache.stamp_access_racing(s, now);  // after_access: its deadline moves on
      }
      if constexpr (policy::has_lockfree_hit<Policy>)
        sh.cache.policy_.on_access_lockfree(s);  // a mark on the entry itself: no buffer, no drain
      else {
        drain_due = r.buffer_hit(s, h);
        stripe_index = r.stripe_index();
        position = r.position();
      }
      std::forward<OnHit>(on_hit)(std::as_const(sh.cache.slab_[s]->value));
    }
    if (drain_due) try_drain(sh, stripe_index, position);
    return fast::hit;
  }

  /// Every `drain_every` hits on stripe `mine` (the last at `position`): the shard's
  /// drainer drains every stripe if the lock is free; another thread leaves its hits to
  /// the drainer unless `takeover_lag` of them wait, and then drains and becomes the
  /// drainer (so a thread whose drains fall behind hands the shard to a faster one).
  /// With one thread, that thread is the drainer from its first drain on. A held lock:
  /// the ring goes on and may wrap (lossy). A policy with a costly hit
  /// (policy::has_costly_hit) has every thread drain its own ring instead, so that no
  /// thread makes the others' updates.
  static void try_drain(shard& sh, std::size_t mine, std::uint64_t position) noexcept {
    if constexpr (policy::has_costly_hit<Policy>) {
      std::unique_lock<Mutex> lock(sh.mutex, std::try_to_lock);
      if (lock.owns_lock()) drain(sh, mine);
    } else {
      if (sh.drainer.load(std::memory_order_relaxed) != mine &&
          position + 1 - sh.drained[mine].load(std::memory_order_relaxed) < takeover_lag)
        return;
      std::unique_lock<Mutex> lock(sh.mutex, std::try_to_lock);
      if (!lock.owns_lock()) return;
      sh.drainer.store(static_cast<std::uint32_t>(mine), std::memory_order_relaxed);
      drain_all(sh);
    }
  }

  template <class K>
  [[nodiscard]] std::optional<Value> get_impl(const K& key) {
    auto [sh, h] = locate(key);
    if constexpr (small_value) {
      // A small value is copied into a plain local and the optional built on return; the
      // locked path is a call of its own. Emplaced into an optional that every path
      // returned, the value and its flag were stored apart and then loaded back as whole
      // words (a stalled store forwarding, a third of an inlined hit). GCC 12 still does
      // so at the return of a `get` it does not inline.
      Value found{};
      switch (lookup_fast(sh, key, h, true, [&](const Value& v) { found = v; })) {
        case fast::hit: return found;
        case fast::miss: return std::nullopt;
        case fast::not_served: break;
      }
    } else {
      std::optional<Value> out;  // built in the caller's result
      switch (lookup_fast(sh, key, h, true, [&](const Value& v) { out.emplace(v); })) {
        case fast::hit:
        case fast::miss: return out;
        case fast::not_served: break;
      }
    }
    return get_locked(sh, key, h);
  }

  /// get's locked path: a writer was at work, the miss must be told to the policy, or a
  /// hit must move a deadline.
  template <class K>
  [[gnu::noinline]] std::optional<Value> get_locked(shard& sh, const K& key, std::uint64_t h) {
    if constexpr (expires) {
      const exclusive lock(sh);
      begin(sh);
      const slot_id s = sh.cache.lookup(key, h);
      if (s == no_slot) {
        sh.cache.record_miss(h);
        return std::nullopt;
      }
      locked_hit(sh, s, h);
      return sh.cache.slab_[s]->value;
    } else {
      const policy_lock lock(sh);
      return sh.cache.get_hashed(key, h);
    }
  }

  template <class K, class F>
  bool visit_impl(const K& key, F&& f) {
    auto [sh, h] = locate(key);
    switch (lookup_fast(sh, key, h, true, f)) {
      case fast::hit: return true;
      case fast::miss: return false;
      case fast::not_served: break;
    }
    const read_lock lock(sh);
    begin(sh);
    const slot_id s = sh.cache.lookup(key, h);
    if (s == no_slot) {
      sh.cache.record_miss(h);
      return false;
    }
    locked_hit(sh, s, h);
    std::forward<F>(f)(std::as_const(sh.cache.slab_[s]->value));
    return true;
  }

  template <class K>
  [[nodiscard]] std::optional<Value> peek_impl(const K& key) const {
    auto [sh, h] = locate(key);
    {
      const reader r(sh, false);
      if (r.entered()) {
        const slot_id s = sh.cache.lookup(key, h);
        if (s == no_slot || sh.cache.expired_now(s)) return std::nullopt;  // deadlines change under exclusive only
        return sh.cache.slab_[s]->value;
      }
    }
    std::lock_guard lock(sh.mutex);
    const slot_id s = sh.cache.lookup(key, h);
    if (s == no_slot || sh.cache.expired_now(s)) return std::nullopt;
    return sh.cache.slab_[s]->value;
  }

  template <class K>
  [[nodiscard]] bool contains_impl(const K& key) const {
    auto [sh, h] = locate(key);
    {
      const reader r(sh, false);
      if (r.entered()) {
        const slot_id s = sh.cache.lookup(key, h);
        return s != no_slot && !sh.cache.expired_now(s);
      }
    }
    std::lock_guard lock(sh.mutex);
    const slot_id s = sh.cache.lookup(key, h);
    return s != no_slot && !sh.cache.expired_now(s);
  }

  template <class K>
  bool erase_impl(const K& key) {
    auto [sh, h] = locate(key);
    const exclusive lock(sh);
    begin(sh);
    if (!sh.flights.empty()) detach_flight(sh, key, h);
    return remove(sh, key, h);
  }

  template <class K>
  bool invalidate_impl(const K& key) {
    auto [sh, h] = locate(key);
    const exclusive lock(sh);
    begin(sh);
    const bool was_loading = !sh.flights.empty() && detach_flight(sh, key, h);
    const bool erased = sh.cache.invalidate(key);  // reported `invalidated`
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

  // ---- time (expiring caches; nothing at all without expiry) ----

  /// The start of an operation under the shard's exclusive lock: the shard's cache reads
  /// the ticker and removes what expired (reported `expired`, before anything else the
  /// operation does), then the finished background refreshes are installed.
  void begin(shard& sh) {
    if constexpr (expires) {
      sh.cache.begin_op();
      if (refresh_box* box = sh.time.box.get(); box != nullptr && box->ready.load(std::memory_order_acquire))
        install_refreshes(sh, *box);
    }
  }

  /// A hit under the lock (after begin): the policy, the statistics, the deadline
  /// (after_access / after_read) and, when due, a background refresh.
  void locked_hit(shard& sh, slot_id s, std::uint64_t h) {
    sh.cache.record_hit(s, h);
    if constexpr (expires) {
      sh.cache.after_hit(s);
      if (refresh_due(sh, s, sh.cache.time_.now)) start_refresh(sh, s);
    }
  }

  /// Whether a read of slot `s` at `now` should start a refresh (read under exclusive or
  /// by a lock-free reader: `written` and `ticket` change under exclusive only).
  [[nodiscard]] static bool refresh_due(const shard& sh, slot_id s, std::uint64_t now) noexcept {
    if constexpr (expires) {
      const auto& t = sh.cache.time_;
      if (!sh.time.box || t.options.refresh_after_write == never || t.ticket[s] != 0) return false;
      return now - t.written[s] >= static_cast<std::uint64_t>(std::max<duration::rep>(0, t.options.refresh_after_write.count()));
    } else {
      return false;
    }
  }

  /// Starts the background refresh of slot `s` (under exclusive): a load in the shard's
  /// table of loads in flight, run on the executor. Nothing when the key is loading
  /// already or the executor refuses (the next read tries again).
  void start_refresh(shard& sh, slot_id s) {
    if constexpr (expires) {
      const auto& e = *sh.cache.slab_[s];
      const std::uint64_t h = sh.cache.hash_of_slot_[s];
      if (!sh.flights.empty() && flight_index(sh, e.key, h) != sh.flights.size()) return;
      auto f = std::make_shared<flight>(e.key, h, std::thread::id{});
      f->ticket = ++sh.time.tickets;
      sh.flights.push_back(f);
      std::shared_ptr<refresh_box> box = sh.time.box;
      bool submitted = false;
      try {
        submitted = box->executor->try_submit([box, f] {
          std::optional<Value> value;
          std::exception_ptr error;
          try {
            value = (*box->load)(f->key);
          } catch (...) {
            error = std::current_exception();
          }
          f->publish(&value, error);  // waiters (a get_or_load of the key) wake now
          try {
            std::lock_guard lock(box->m);
            box->done.push_back(f);
            box->ready.store(true, std::memory_order_release);
          } catch (...) {  // out of memory: the refresh is lost (the entry keeps its value)
          }
        });
      } catch (...) {
        sh.flights.pop_back();
        throw;
      }
      if (!submitted) {
        sh.flights.pop_back();
        return;
      }
      sh.cache.time_.ticket[s] = f->ticket;
    }
  }

  /// Installs the finished refreshes (under exclusive, at the start of an operation), as
  /// the shard's cache would its own: an answer is dropped when the key was written
  /// since (its flight detached) or its entry left (a caller that joined the reload got
  /// the value, which is then cached as a load's). What installing throws propagates;
  /// the answers not yet looked at are kept for the next operation.
  void install_refreshes(shard& sh, refresh_box& box) {
    if constexpr (expires) {
      std::vector<std::shared_ptr<flight>> done;
      {
        std::lock_guard lock(box.m);
        done.swap(box.done);
        box.ready.store(false, std::memory_order_relaxed);
      }
      std::size_t i = 0;
      try {
        for (; i < done.size(); ++i) {
          flight& f = *done[i];
          if (!drop_flight(sh, f)) continue;  // written since: the write wins
          const slot_id s = sh.cache.lookup(f.key, f.h);
          if (s == no_slot || sh.cache.time_.ticket[s] != f.ticket) {
            if (s == no_slot && f.waiters != 0 && !f.error && f.value)
              sh.cache.insert_new(Key(f.key), Value(*f.value), f.h, access::unknown);
            continue;
          }
          sh.cache.time_.ticket[s] = 0;
          if (f.error) {
            ++sh.cache.stats_.refresh_failures;
          } else if (!f.value) {
            sh.cache.remove_slot(s, removal_cause::erased);
          } else {
            ++sh.cache.stats_.refreshes;
            sh.cache.assign(s, Value(*f.value));
          }
        }
      } catch (...) {
        std::lock_guard lock(box.m);
        for (++i; i < done.size(); ++i) box.done.push_back(std::move(done[i]));
        if (!box.done.empty()) box.ready.store(true, std::memory_order_relaxed);
        throw;
      }
    }
  }

  // ---- loads ----

  /// The clock of load times: the cache's ticker if it expires, else steady_clock.
  [[nodiscard]] static std::uint64_t load_clock(const shard& sh) {
    if constexpr (expires) return static_cast<std::uint64_t>(sh.cache.time_.options.ticker());
    else return steady_ticker{}();
  }

  /// Counts one loader call (under the shard's lock), in load_stats and in stats().
  static void count_load(shard& sh, bool succeeded, std::uint64_t took) noexcept {
    if (succeeded) {
      ++sh.loads.successes;
      ++sh.cache.stats_.load_successes;
    } else {
      ++sh.loads.failures;
      ++sh.cache.stats_.load_failures;
    }
    sh.loads.total_load_time += took;
    sh.cache.stats_.total_load_time += took;
  }

  /// Ends loads this thread leads with `error`: out of their shards' tables, every
  /// waiter woken with it.
  void fail_flights(const std::vector<std::shared_ptr<flight>>& flights, const std::exception_ptr& error) {
    for (const auto& f : flights) {
      shard& sh = shard_of(f->h);
      {
        std::lock_guard lock(sh.mutex);
        drop_flight(sh, *f);
      }
      f->publish(nullptr, error);
    }
  }

  [[nodiscard]] shard& shard_of(std::uint64_t h) const {
    return *shards_[shard_bits_ == 0 ? 0 : static_cast<std::size_t>(h >> (64 - shard_bits_))];
  }

  struct located {
    shard& sh;
    std::uint64_t h;
  };

  template <class K>
  [[nodiscard]] located locate(const K& key) const {
    const std::uint64_t h = shards_.front()->cache.hash_key(key);
    return {shard_of(h), h};
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
  bool locked_hits_ = false;  ///< an expiring cache whose hits move deadlines: every hit takes the lock
  std::vector<std::unique_ptr<shard>> shards_;
};

/// A concurrent_cache with time (expiry.hpp): `expiring_concurrent_cache<std::string,
/// Row> rows(10'000, {.after_write = std::chrono::minutes(5)});`
template <class Key, class Value, class Policy = policy::lru, class Expiry = expiring<>,
          class Hash = prescient::hash<Key>, class KeyEqual = std::equal_to<Key>, class Weigher = unit_weigher,
          class Mutex = detail::spin_then_park_mutex>
using expiring_concurrent_cache = concurrent_cache<Key, Value, Policy, Hash, KeyEqual, Weigher, Mutex, Expiry>;

}  // namespace prescient
