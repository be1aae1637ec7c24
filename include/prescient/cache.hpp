// prescient/cache.hpp — the cache core: `prescient::cache<Key, Value, Policy, ...>`.
//
// Layout (the design's "slots, not pointers"):
//
//   index  : key hash → slot id          detail::slot_index, open addressing, 8 B/bucket
//   slab   : slot id → {key, value, weight}   a vector; ids are stable while the
//            entry lives; freed ids go on a free list and are reused first. With the
//            default unit_weigher the weight is not stored (every entry weighs 1)
//   hashes : slot id → key hash              a vector beside the slab, which a policy
//            that needs a slot's hash reads (key_hash_view) instead of keeping a copy
//   policy : its own arrays indexed by slot id (see policy/policy.hpp)
//
// A request hashes the key once, probes the index, and on a hit tells the policy
// `on_access(slot, access)`: no allocation and no virtual call. On a miss that inserts,
// the policy names victims until the new entry fits (`victim`, optionally `admit`).
//
// Capacity is a total weight. With the default `unit_weigher` every entry weighs 1 and
// capacity counts entries; with a weigher (the value's bytes, say) it is a budget.
// Invariants, after every call returns:
//   * weight() ≤ capacity();                        (capacity 0 is valid: nothing is cached)
//   * every key in the index has exactly one slot and the policy tracks exactly the
//     live slots;
//   * an entry heavier than the whole capacity is never inserted: `put` answers
//     `put_outcome::too_heavy` and counts a rejection.
//
// Values come back by copy (`get` → std::optional<Value>) or through `visit`, never as
// a reference into the slab that a later `put` could invalidate.
//
// Every entry that leaves is reported, once, with its cause (`removal_cause`): to the
// *removal listener* (`set_removal_listener`) for every cause — capacity, too_heavy,
// expired, erased, invalidated, replaced (an assignment: the listener sees the old value,
// in place, just before it is overwritten) and cleared — and to the *eviction listener*
// (`set_eviction_listener`) for the causes the cache itself decided: capacity,
// too_heavy and expired (`was_evicted`). A listener runs after the policy, the index and
// the weight have let the entry go (for `replaced`: before the assignment); it must not
// call back into this cache. It may throw (see below).
//
// Time (expiry.hpp) is the last template parameter: `no_expiry` (the default: no clock,
// no per-entry time, the code paths of a cache without expiry) or `expiring<Ticker,
// EntryExpiry>`: each entry gets a deadline from after_write / after_access / the entry
// expiry function, kept in a timer wheel. Every operation of an expiring cache reads
// the ticker once and first removes every entry whose deadline has passed (reported as
// `expired`), so an expired entry is never returned and never asked of the policy as a
// victim; then it applies the background refreshes that have finished.
//
// Exceptions. The core calls user code in these places, and any of it may throw: the
// hash and the key comparison (every operation that takes a key), the weigher (put,
// get_or_insert, get_or_load), copies and moves of keys and values (building, assigning
// and returning entries, and growing the slab when Value's move may throw), `make`, the
// loader and visit's `f`, and the eviction listener. Whatever throws, the invariants
// above hold afterwards (`check_invariants()` answers nothing) and nothing leaks; the
// exception reaches the caller. What each operation leaves:
//   * get, peek, contains, visit, for_each: the contents are unchanged (strong). A hit
//     has updated the policy and the statistics before its value is copied out or `f`
//     runs, so a throw there still counts the request.
//   * put of a new key, and the insert of get_or_insert / get_or_load on a miss: a throw
//     from the hash, the comparison, the weigher, `make` or the loader changes nothing
//     (the miss is counted). Room is made before the entry is built, so if the listener
//     throws, or moving the key or value into the slab throws, the entries evicted so
//     far are gone (each told to the listener) and the new key is not cached (basic).
//   * put of a cached key (an assignment): a throw from the weigher changes nothing; a
//     throw from Value's assignment leaves the entry with its old weight and whatever the
//     assignment left (the old value, for a Value whose assignment is strong). An entry
//     made too heavy leaves without a copy: the listener sees it in place. If the
//     listener throws while others are evicted to make room, the entry keeps the new
//     value if it fits by then, and is removed (the listener not called) if it does not.
//   * erase, invalidate, clear: nothing changes when the hash or the comparison throws;
//     when the removal listener throws, the entry is gone (clear: every entry is gone,
//     the listener not called for the rest).
//   * an assignment (put, compute, merge, a refresh) tells the removal listener
//     `replaced` before it changes anything: if the listener throws, nothing changed.
//   * compute, merge: a throw from `f` changes nothing; what follows is a put or an erase.
//   * get_all: a throw from the loader changes nothing (the hits and misses are counted);
//     a throw while the loaded values are cached leaves those cached so far (basic).
//   * an expiring cache: a throw from the entry expiry function at insert or update
//     changes nothing; at a read, the hit is counted and the deadline is unchanged. A
//     listener that throws while expired entries are removed at the start of an
//     operation ends that operation there (the entries removed so far are gone).
//   * set_capacity: if the listener throws, the capacity stays as it was; the entries
//     evicted so far are gone.
// The eviction listener is called after the policy, the index and the weight have let
// the entry go, with references into the slot, which is freed once the listener returns
// or throws. No operation allocates on a hit: the guarantees above cost nothing there.
//
// Not thread-safe: see concurrent_cache.hpp for the sharded, locked version.
#pragma once

#include <algorithm>
#include <atomic>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "prescient/detail/slot_index.hpp"
#include "prescient/detail/timer_wheel.hpp"
#include "prescient/executor.hpp"
#include "prescient/expiry.hpp"
#include "prescient/hash.hpp"
#include "prescient/loader.hpp"
#include "prescient/policy/lru.hpp"
#include "prescient/policy/policy.hpp"

namespace prescient {

/// Every entry weighs 1: capacity counts entries.
struct unit_weigher {
  template <class K, class V>
  constexpr std::uint64_t operator()(const K&, const V&) const noexcept { return 1; }
};

/// Why an entry left the cache (given to the listeners).
enum class removal_cause {
  capacity,     ///< the policy chose it to make room
  too_heavy,    ///< an assignment made it heavier than the whole capacity
  expired,      ///< its deadline passed (expiring caches)
  erased,       ///< the host removed it: erase, or compute / merge / a refresh answering nullopt
  invalidated,  ///< the host invalidated it (invalidate)
  replaced,     ///< an assignment replaced its value (the listener sees the old one)
  cleared,      ///< clear()
};

/// The causes the cache decided by itself (Caffeine's `wasEvicted`): what the eviction
/// listener is told.
[[nodiscard]] constexpr bool was_evicted(removal_cause c) noexcept {
  return c == removal_cause::capacity || c == removal_cause::too_heavy || c == removal_cause::expired;
}

/// What `put` did.
enum class put_outcome {
  inserted,   ///< a new entry is cached
  assigned,   ///< an existing entry got the new value (and is still cached)
  too_heavy,  ///< heavier than the whole capacity: not cached (an old entry is removed)
  bypassed,   ///< the policy's admission refused it: not cached, nothing evicted
  evicted,    ///< assigned, but making room evicted the entry itself
};

/// `put`'s answer: what happened, and whether the key is now cached.
struct put_result {
  put_outcome outcome;
  [[nodiscard]] constexpr bool cached() const noexcept {
    return outcome == put_outcome::inserted || outcome == put_outcome::assigned;
  }
  constexpr explicit operator bool() const noexcept { return cached(); }
  friend constexpr bool operator==(put_result, put_result) = default;
};

/// Counters; merged across shards by concurrent_cache.
struct cache_stats {
  std::uint64_t hits = 0;
  std::uint64_t misses = 0;
  std::uint64_t inserts = 0;
  std::uint64_t updates = 0;
  std::uint64_t evictions = 0;
  std::uint64_t rejections = 0;  ///< too heavy or bypassed by admission
  std::uint64_t evicted_weight = 0;    ///< total weight of the capacity evictions
  std::uint64_t expirations = 0;       ///< entries removed because their deadline passed
  std::uint64_t load_successes = 0;    ///< loader calls that returned (a value or "no such key")
  std::uint64_t load_failures = 0;     ///< loader calls that threw
  std::uint64_t total_load_time = 0;   ///< nanoseconds spent in loader calls (the ticker's, if any)
  std::uint64_t refreshes = 0;         ///< background refreshes whose value was installed
  std::uint64_t refresh_failures = 0;  ///< background refreshes whose loader threw (old value kept)

  [[nodiscard]] double hit_ratio() const noexcept {
    const auto n = hits + misses;
    return n == 0 ? 0.0 : static_cast<double>(hits) / static_cast<double>(n);
  }
  [[nodiscard]] double miss_ratio() const noexcept {
    const auto n = hits + misses;
    return n == 0 ? 0.0 : static_cast<double>(misses) / static_cast<double>(n);
  }
  cache_stats& operator+=(const cache_stats& o) noexcept {
    hits += o.hits; misses += o.misses; inserts += o.inserts;
    updates += o.updates; evictions += o.evictions; rejections += o.rejections;
    evicted_weight += o.evicted_weight; expirations += o.expirations;
    load_successes += o.load_successes; load_failures += o.load_failures;
    total_load_time += o.total_load_time; refreshes += o.refreshes;
    refresh_failures += o.refresh_failures;
    return *this;
  }
  friend bool operator==(const cache_stats&, const cache_stats&) = default;
};

template <class Key, class Value, class Policy, class Hash, class KeyEqual, class Weigher, class Mutex, class Expiry>
class concurrent_cache;

template <class Key, class Value, policy::eviction_policy Policy = policy::lru,
          class Hash = prescient::hash<Key>, class KeyEqual = std::equal_to<Key>,
          class Weigher = unit_weigher, class Expiry = no_expiry>
class cache {
 public:
  using key_type = Key;
  using mapped_type = Value;
  using policy_type = Policy;
  using policy_config = typename Policy::config;
  using eviction_listener = std::function<void(const Key&, const Value&, removal_cause)>;
  using removal_listener = eviction_listener;
  /// expiring<…>::options (after_write, after_access, refresh_after_write, ticker,
  /// entry expiry); an empty struct for a cache without time.
  using expiry_options = typename Expiry::options;
  /// Whether entries have deadlines (Expiry is `expiring<…>`): decided at compile time.
  static constexpr bool expires = is_expiring_v<Expiry>;

  /// `capacity`: total weight (entries, with the default weigher). When it counts
  /// entries the slab, index and policy arrays are sized for it up front (up to 2^20
  /// entries; beyond that they grow geometrically), so steady state never allocates.
  explicit cache(std::uint64_t capacity, policy_config config = {}, Hash hash = {},
                 KeyEqual equal = {}, Weigher weigher = {})
      : hash_(std::move(hash)), equal_(std::move(equal)), weigher_(std::move(weigher)), capacity_(capacity),
        policy_(capacity, std::move(config)) {
    if constexpr (policy::has_key_hashes<Policy>) policy_.use_key_hashes(key_hash_view(*hashes_));
    if constexpr (std::is_same_v<Weigher, unit_weigher>) {
      reserve(static_cast<std::size_t>(std::min<std::uint64_t>(capacity, std::uint64_t{1} << 20)));
    }
  }

  /// An expiring cache with its time settings: `{.after_write = 5min}`, say.
  cache(std::uint64_t capacity, expiry_options time, policy_config config = {}, Hash hash = {},
        KeyEqual equal = {}, Weigher weigher = {})
    requires expires
      : cache(capacity, std::move(config), std::move(hash), std::move(equal), std::move(weigher)) {
    time_.options = std::move(time);
    using E = typename Expiry::entry_expiry_type;
    time_.stamps = time_.options.after_access != never && !has_after_create<E, Key, Value> &&
                   !has_after_update<E, Key, Value> && !has_after_read<E, Key, Value>;
    if (time_.stamps) time_.accessed.resize(time_.written.size(), 0);
  }

  cache(const cache&) = delete;
  cache& operator=(const cache&) = delete;
  /// Movable: the policy's view of the key hashes (key_hash_view) moves with it. A
  /// moved-from cache may only be assigned to or destroyed.
  cache(cache&&) noexcept = default;
  cache& operator=(cache&&) noexcept = default;

  /// The value of `key`, copied out, and a policy update; nullopt on a miss.
  [[nodiscard]] std::optional<Value> get(const Key& key) { return get_hashed(key, hash_key(key)); }

  /// Calls `f(const Value&)` on a hit (with a policy update) and returns true; no copy.
  template <class F>
  bool visit(const Key& key, F&& f) { return visit_by(key, std::forward<F>(f)); }

  /// The value of `key` without touching the policy, the statistics or the clock (an
  /// expired entry not yet removed is not returned).
  [[nodiscard]] std::optional<Value> peek(const Key& key) const { return peek_by(key); }

  [[nodiscard]] bool contains(const Key& key) const { return contains_by(key); }

  /// Inserts or assigns. See put_outcome for the answers, and "Exceptions" above for what
  /// a throw leaves (basic guarantee; nothing changes when the weigher throws).
  put_result put(const Key& key, Value value) { return put_hashed(key, std::move(value), hash_key(key)); }
  put_result put(Key&& key, Value value) {
    const std::uint64_t h = hash_key(key);
    return put_hashed(std::move(key), std::move(value), h);
  }

  /// One request of a replay: a hit updates the policy; a miss inserts `make()`
  /// (subject to admission). `next_access` is an oracle's answer (Belady) or
  /// access::unknown. Returns whether it was a hit. One index probe on a hit.
  template <class Make>
  bool get_or_insert(const Key& key, Make&& make, std::uint64_t next_access = access::unknown) {
    const std::uint64_t h = hash_key(key);
    begin_op();
    const slot_id s = lookup(key, h);
    if (s != no_slot) {
      record_hit(s, h, next_access);
      after_hit(s);
      return true;
    }
    record_miss(h, next_access);
    insert_new(Key(key), std::forward<Make>(make)(), h, next_access);
    return false;
  }

  /// Read-through: the value of `key`, loading it from the host's store on a miss.
  /// A hit is a `get` (copy out, policy update). A miss counts as one, calls
  /// `load(key)` (see loader.hpp) and offers the result to the normal insert path —
  /// capacity, eviction and admission apply, so a too-heavy or bypassed value is still
  /// returned, just not cached. Returns nullopt only when the loader answered nullopt
  /// ("no such key"; nothing is cached); with a loader that returns a Value the answer
  /// is always engaged. If the loader throws, the exception propagates and the contents
  /// are unchanged: nothing inserted or evicted (the miss is counted in the statistics
  /// and seen by a policy's miss hook, as for a `get`). The loader may use this cache; if it
  /// caches `key` itself, that value is kept and the loaded one is only returned.
  /// Statistics: load_successes or load_failures, and total_load_time.
  template <class Loader>
    requires loader<Loader, Key, Value>
  std::optional<Value> get_or_load(const Key& key, Loader&& load) {
    const std::uint64_t h = hash_key(key);
    begin_op();
    if (const slot_id s = lookup(key, h); s != no_slot) {
      record_hit(s, h);
      after_hit(s);
      return slab_[s]->value;
    }
    record_miss(h);
    std::optional<Value> value = timed_load([&] { return invoke_loader<Key, Value>(load, key); });
    resume_op();  // time went on while loading
    if (value && lookup(key, h) == no_slot) insert_new(Key(key), Value(*value), h, access::unknown);
    return value;
  }

  /// Bulk read-through: one answer per key of `keys`, in order. Hits are served (and
  /// counted) as by `get`; the keys that missed are loaded in ONE `load_all` call — the
  /// loader's `load_many` when it has one (loader.hpp), else one call per key — each
  /// distinct key once however often it appears, then cached through the normal insert
  /// path (capacity, eviction, admission; a value not cached is still returned), unless
  /// the loader itself cached the key meanwhile. nullopt = a miss the loader answered
  /// "no such key". If the loader throws, nothing is cached and the exception
  /// propagates (hits and misses are counted); statistics as for get_or_load, one load
  /// per batch.
  template <class Loader>
    requires loader<Loader, Key, Value>
  std::vector<std::optional<Value>> get_all(std::span<const Key> keys, Loader&& load) {
    std::vector<std::optional<Value>> out(keys.size());
    std::vector<Key> missing;  // distinct keys that missed
    std::vector<std::uint64_t> missing_hash;
    std::vector<std::size_t> which(keys.size(), no_index);  // position in missing, for a miss
    std::unordered_multimap<std::uint64_t, std::size_t> seen;  // hash → position in missing
    begin_op();
    for (std::size_t i = 0; i < keys.size(); ++i) {
      const std::uint64_t h = hash_key(keys[i]);
      if (const slot_id s = lookup(keys[i], h); s != no_slot) {
        record_hit(s, h);
        after_hit(s);
        out[i] = slab_[s]->value;
        continue;
      }
      record_miss(h);
      std::size_t m = no_index;
      for (auto [it, end] = seen.equal_range(h); it != end; ++it)
        if (equal_(missing[it->second], keys[i])) m = it->second;
      if (m == no_index) {
        m = missing.size();
        missing.push_back(keys[i]);
        missing_hash.push_back(h);
        seen.emplace(h, m);
      }
      which[i] = m;
    }
    if (missing.empty()) return out;
    std::vector<std::optional<Value>> loaded =
        timed_load([&] { return load_all<Key, Value>(load, std::span<const Key>(missing)); });
    resume_op();
    for (std::size_t i = 0; i < keys.size(); ++i)
      if (which[i] != no_index) out[i] = loaded[which[i]];
    for (std::size_t m = 0; m < missing.size(); ++m)
      if (loaded[m] && lookup(missing[m], missing_hash[m]) == no_slot)
        insert_new(std::move(missing[m]), std::move(*loaded[m]), missing_hash[m], access::unknown);
    return out;
  }
  template <class Loader>
    requires loader<Loader, Key, Value>
  std::vector<std::optional<Value>> get_all(const std::vector<Key>& keys, Loader&& load) {
    return get_all(std::span<const Key>(keys), std::forward<Loader>(load));
  }

  /// Atomic read-modify-write of one key: `f(const Key&, const Value* current)` (nullptr
  /// when the key is not cached) answers the new value, or nullopt to remove the entry
  /// (reported `erased`). A new value is then put (the old one reported `replaced`;
  /// capacity, eviction and admission apply) and returned, as cached or not. `f` sees
  /// the value in place: it must not call into this cache (its pointer would dangle);
  /// if `f` throws, nothing changes. Counts no hit or miss (the put or erase it leads to
  /// is counted as such); in concurrent_cache it runs under the key's shard lock.
  template <class F>
    requires std::convertible_to<std::invoke_result_t<F&, const Key&, const Value*>, std::optional<Value>>
  std::optional<Value> compute(const Key& key, F&& f) {
    const std::uint64_t h = hash_key(key);
    begin_op();
    return compute_hashed(key, h, f);
  }

  /// put(key, value) when `key` is not cached, else put(key, f(old, value)), or erase
  /// when `f` answers nullopt: Caffeine's (and Java's Map) merge. Returns the value now
  /// associated (nullopt after a removal). `f` as in compute.
  template <class F>
    requires std::convertible_to<std::invoke_result_t<F&, const Value&, const Value&>, std::optional<Value>>
  std::optional<Value> merge(const Key& key, Value value, F&& f) {
    return compute(key, [&](const Key&, const Value* old) -> std::optional<Value> {
      if (old == nullptr) return std::optional<Value>(std::move(value));
      return f(*old, std::as_const(value));
    });
  }

  /// Removes `key`; false when it was not cached. The removal listener is told `erased`.
  /// Throws what the hash or the comparison throws (before anything changes), or what
  /// the removal listener throws (the entry is gone).
  bool erase(const Key& key) { return remove_by(key, removal_cause::erased); }

  /// erase, reported `invalidated` (the host says the stored value changed).
  bool invalidate(const Key& key) { return remove_by(key, removal_cause::invalidated); }

  /// Removes every entry (the removal listener is told `cleared` for each; the eviction
  /// listener is not called) and resets the policy's state, ghosts included. Statistics
  /// are kept; see reset_stats. If the removal listener throws, every entry is gone all
  /// the same and the exception propagates.
  void clear() {
    policy_.clear();
    index_.clear();
    weight_ = 0;
    if constexpr (expires) time_.wheel.clear();
    std::exception_ptr error;
    if (removal_listener_) {
      for (std::size_t s = 0; s < slab_.size() && !error; ++s) {
        if (!slab_[s]) continue;
        try {
          removal_listener_(std::as_const(slab_[s]->key), std::as_const(slab_[s]->value), removal_cause::cleared);
        } catch (...) {
          error = std::current_exception();
        }
      }
    }
    free_.clear();
    for (std::size_t s = slab_.size(); s-- > 0;) {
      slab_[s].reset();
      free_.push_back(static_cast<slot_id>(s));
    }
    if (error) std::rethrow_exception(error);
  }

  /// An expiring cache: removes the expired entries and installs the finished
  /// refreshes now (every operation does this first anyway). Nothing otherwise.
  void cleanup() { begin_op(); }

  /// An expiring cache with `refresh_after_write` set: a read (get, visit, get_or_load,
  /// get_all, get_or_insert) of an entry written at least that long ago returns the
  /// cached value at once and submits `load(key)` to `executor` (try_submit: never
  /// waits; a refused submission is tried again at the next read). One refresh per entry
  /// at a time. The loader runs on the executor's thread and must not touch this cache
  /// (it is not thread-safe); its answer is installed at the start of the next
  /// operation on this cache: a value is assigned (counted in `refreshes`; the old one
  /// reported `replaced`; the deadline restarts as for a write), "no such key" erases the
  /// entry, a loader that threw keeps the old value (counted in `refresh_failures`; the
  /// next read tries again). An answer is dropped when the entry was written, removed or
  /// replaced since the refresh started (writes win). `executor` must outlive the
  /// refreshes submitted (tasks own what they use; the cache may die first).
  template <class Loader>
    requires expires && loader<Loader, Key, Value>
  void set_refresher(Loader load, bounded_executor& executor) {
    auto box = std::make_shared<refresh_box>();
    box->load = [l = std::move(load)](const Key& k) mutable { return invoke_loader<Key, Value>(l, k); };
    box->executor = &executor;
    time_.refresh = std::move(box);
  }

  [[nodiscard]] std::size_t size() const noexcept { return index_.size(); }
  [[nodiscard]] bool empty() const noexcept { return size() == 0; }
  [[nodiscard]] std::uint64_t weight() const noexcept { return weight_; }
  [[nodiscard]] std::uint64_t capacity() const noexcept { return capacity_; }
  [[nodiscard]] const cache_stats& stats() const noexcept { return stats_; }
  void reset_stats() noexcept { stats_ = {}; }
  [[nodiscard]] const Policy& policy() const noexcept { return policy_; }
  [[nodiscard]] Policy& policy() noexcept { return policy_; }

  /// Told the removals the cache decided: capacity, too_heavy, expired.
  void set_eviction_listener(eviction_listener listener) { listener_ = std::move(listener); }
  /// Told every removal with its cause (called before the eviction listener).
  void set_removal_listener(removal_listener listener) { removal_listener_ = std::move(listener); }

  /// Changes the capacity; a smaller one evicts (through the policy and the listener)
  /// until the weight fits. The policy keeps the capacity it was built with for its
  /// internal proportions (queue shares, sketch width).
  /// If the eviction listener throws, the capacity stays as it was (the entries evicted
  /// so far are gone) and the exception propagates.
  void set_capacity(std::uint64_t capacity) {
    begin_op();
    const std::uint64_t before = capacity_;
    capacity_ = capacity;
    try {
      while (weight_ > capacity_) evict(policy_.victim(access{0, clock_, 0, access::unknown}));
    } catch (...) {
      capacity_ = std::max(before, weight_);  // weight_ ≤ before: a shrink only evicts
      throw;
    }
  }

  /// Bytes the core spends per entry beside the key and value themselves (slab
  /// bookkeeping and index buckets at the current load, and with expiry the wheel's 56),
  /// plus the policy's own.
  [[nodiscard]] std::size_t metadata_bytes_per_entry() const {
    const std::size_t n = std::max<std::size_t>(1, size());
    std::size_t time = 0;  // an expiring cache: the wheel's record, write time, refresh ticket
    if constexpr (expires) {
      time = detail::timer_wheel::bytes_per_slot + 2 * sizeof(std::uint64_t);
      if (time_.stamps) time += sizeof(std::uint64_t);  // the access stamp
    }
    return sizeof(std::uint64_t) /* hash */ + (unit_weights ? 0 : sizeof(std::uint64_t)) /* weight */ +
           index_.bucket_count() * detail::slot_index::bytes_per_bucket / n +
           policy_.metadata_bytes_per_entry() + time;
  }

  /// Heterogeneous lookup: with a transparent Hash and KeyEqual (both declare
  /// `is_transparent`: prescient::hash<std::string> and std::equal_to<>, say) `get`,
  /// `visit`, `peek`, `contains` and `erase` take any key they accept — a
  /// std::string_view for std::string keys — and build no Key.
  template <class K>
    requires detail::transparent_lookup<Hash, KeyEqual, K, Key>
  [[nodiscard]] std::optional<Value> get(const K& key) { return get_hashed(key, hash_key(key)); }
  template <class K, class F>
    requires detail::transparent_lookup<Hash, KeyEqual, K, Key>
  bool visit(const K& key, F&& f) { return visit_by(key, std::forward<F>(f)); }
  template <class K>
    requires detail::transparent_lookup<Hash, KeyEqual, K, Key>
  [[nodiscard]] std::optional<Value> peek(const K& key) const { return peek_by(key); }
  template <class K>
    requires detail::transparent_lookup<Hash, KeyEqual, K, Key>
  [[nodiscard]] bool contains(const K& key) const { return contains_by(key); }
  template <class K>
    requires detail::transparent_lookup<Hash, KeyEqual, K, Key>
  bool erase(const K& key) { return remove_by(key, removal_cause::erased); }
  template <class K>
    requires detail::transparent_lookup<Hash, KeyEqual, K, Key>
  bool invalidate(const K& key) { return remove_by(key, removal_cause::invalidated); }

  /// Calls `f(const Key&, const Value&)` for every entry, in slot order.
  template <class F>
  void for_each(F&& f) const {
    for (std::size_t s = 0; s < slab_.size(); ++s)
      if (slab_[s] && !expired_now(static_cast<slot_id>(s))) f(std::as_const(slab_[s]->key), std::as_const(slab_[s]->value));
  }

  /// Checks the core's invariants and answers what is broken, or an empty string when
  /// nothing is: weight() is the sum of the entries' weights and at most capacity(); the
  /// index holds exactly the live slots, each reachable from its key's home bucket; the
  /// free list holds exactly the other slots of the slab; and, for a policy that can
  /// list them (`resident_slots`, policy.hpp), the policy holds exactly the live slots.
  /// O(n) and allocates: for tests and debugging, never called by the cache itself. It
  /// calls no user code (hash, key comparison, weigher, listener), so it may be called
  /// after any exception.
  [[nodiscard]] std::string check_invariants() const {
    std::string problems;
    const auto report = [&](const std::string& what) {
      if (!problems.empty()) problems += "; ";
      problems += what;
    };
    std::uint64_t sum = 0;
    bool overflow = false;
    std::size_t live = 0;
    for (std::size_t s = 0; s < slab_.size(); ++s) {
      if (!slab_[s]) continue;
      ++live;
      const entry& e = *slab_[s];
      const std::uint64_t h = hash_of_slot_[s];
      if (e.weight == 0) report("slot " + std::to_string(s) + " weighs 0");
      if (e.weight > std::numeric_limits<std::uint64_t>::max() - sum) overflow = true;
      sum += e.weight;
      const auto id = static_cast<slot_id>(s);
      if (index_.find(h, [&](slot_id t) { return t == id; }) != id)
        report("live slot " + std::to_string(s) + " is not in the index");
    }
    if (overflow) report("the entries' weights overflow 64 bits");
    else if (sum != weight_)
      report("weight() is " + std::to_string(weight_) + " but the entries weigh " + std::to_string(sum));
    if (weight_ > capacity_)
      report("weight() " + std::to_string(weight_) + " exceeds capacity() " + std::to_string(capacity_));
    if (index_.size() != live)
      report("the index holds " + std::to_string(index_.size()) + " slots for " + std::to_string(live) + " entries");
    std::vector<std::uint8_t> seen(slab_.size(), 0);
    for (const slot_id f : free_) {
      if (f >= slab_.size()) report("free slot " + std::to_string(f) + " is beyond the slab");
      else if (slab_[f]) report("free slot " + std::to_string(f) + " holds an entry");
      else if (seen[f]++) report("slot " + std::to_string(f) + " is free twice");
    }
    if (free_.size() + live != slab_.size())
      report(std::to_string(free_.size()) + " free slots and " + std::to_string(live) + " entries in a slab of " +
             std::to_string(slab_.size()));
    if constexpr (policy::has_resident_slots<Policy>) {
      std::vector<slot_id> held = policy_.resident_slots();
      std::sort(held.begin(), held.end());
      for (std::size_t i = 0; i < held.size(); ++i) {
        if (held[i] >= slab_.size() || !slab_[held[i]])
          report("the policy holds slot " + std::to_string(held[i]) + ", which holds no entry");
        else if (i > 0 && held[i] == held[i - 1])
          report("the policy holds slot " + std::to_string(held[i]) + " twice");
      }
      for (std::size_t s = 0; s < slab_.size(); ++s)
        if (slab_[s] && !std::binary_search(held.begin(), held.end(), static_cast<slot_id>(s)))
          report("the policy does not hold live slot " + std::to_string(s));
    }
    if constexpr (expires) {
      time_.wheel.check(report);
      for (std::size_t s = 0; s < slab_.size(); ++s)
        if (!slab_[s] && time_.wheel.scheduled(static_cast<slot_id>(s)))
          report("the timer wheel holds slot " + std::to_string(s) + ", which holds no entry");
    }
    return problems;
  }

  /// Makes room for `n` entries in the slab, index and policy without reallocation.
  void reserve(std::size_t n) {
    if (n > slab_.capacity()) {
      grow_hashes(n);
      policy_.reserve_slots(n);  // the policy's arrays always cover the slab's capacity
      reserve_time(n);
      free_.reserve(n);
      slab_.reserve(n);
    }
    index_.reserve(n);
  }

 private:
  template <class, class, class, class, class, class, class, class>
  friend class concurrent_cache;

  // With the unit weigher every entry weighs 1, so the slab stores no weight (8 bytes
  // an entry less): unit_weight reads 1 and takes only 1.
  struct unit_weight {
    constexpr unit_weight(std::uint64_t w) noexcept { assert(w == 1); (void)w; }  // NOLINT: implicit
    constexpr unit_weight& operator=(std::uint64_t w) noexcept {
      assert(w == 1);
      (void)w;
      return *this;
    }
    constexpr operator std::uint64_t() const noexcept { return 1; }  // NOLINT: implicit
  };
  static constexpr bool unit_weights = std::is_same_v<Weigher, unit_weigher>;
  using stored_weight = std::conditional_t<unit_weights, unit_weight, std::uint64_t>;

  struct entry {
    Key key;
    Value value;
    [[no_unique_address]] stored_weight weight;
  };

  static constexpr std::size_t no_index = std::numeric_limits<std::size_t>::max();
  static constexpr std::uint64_t no_deadline = std::numeric_limits<std::uint64_t>::max();

  /// A background refresh's answer, handed from the executor's thread to the cache's.
  struct refresh_result {
    Key key;
    std::uint64_t ticket;
    std::optional<Value> value;
    bool failed;
  };
  /// Shared by the cache and its refresh tasks (which may outlive it).
  struct refresh_box {
    std::function<std::optional<Value>(const Key&)> load;
    bounded_executor* executor = nullptr;
    std::mutex mutex;
    std::vector<refresh_result> done;  ///< guarded by mutex
    std::atomic<bool> ready{false};    ///< done is not empty
  };
  /// An expiring cache's time: settings, the operation's time, the wheel of deadlines,
  /// and per slot the time of the last write and the ticket of its refresh in flight.
  struct time_state {
    expiry_options options{};
    std::uint64_t now = 0;                ///< the ticker, read at the start of the operation
    std::uint64_t next_due = no_deadline;  ///< no deadline is earlier (a lower bound)
    detail::timer_wheel wheel;
    std::vector<std::uint64_t> written;   ///< per slot: time of the last write
    std::vector<std::uint64_t> ticket;    ///< per slot: refresh in flight (0: none)
    /// after_access without an entry expiry: a hit stores its time here (`accessed`, per
    /// slot, the last read or write) instead of moving the entry in the wheel, whose
    /// deadline is then a lower bound re-checked when it comes due ("Access stamps" below).
    bool stamps = false;
    std::vector<std::uint64_t> accessed;  ///< per slot, with stamps: the last read or write
    std::uint64_t tickets = 0;
    std::shared_ptr<refresh_box> refresh;
  };
  struct no_time {};

  template <class K = Key>
  [[nodiscard]] std::uint64_t hash_key(const K& key) const {
    // prescient::hash is mixed already; any other hash is mixed here (policies and the
    // index rely on every bit being good).
    if constexpr (std::is_same_v<Hash, prescient::hash<Key>>) {
      return hash_(key);
    } else {
      return mix64(static_cast<std::uint64_t>(hash_(key)));
    }
  }

  template <class K = Key>
  [[nodiscard]] slot_id lookup(const K& key, std::uint64_t h) const {
    return index_.find(h, [&](slot_id s) { return equal_(slab_[s]->key, key); });
  }

  template <class K = Key>
  [[nodiscard]] std::optional<Value> get_hashed(const K& key, std::uint64_t h) {
    begin_op();
    const slot_id s = lookup(key, h);
    if (s == no_slot) {
      record_miss(h);
      return std::nullopt;
    }
    record_hit(s, h);
    after_hit(s);
    return slab_[s]->value;
  }

  // ---- time (expiring caches; every member below is empty without expiry) ----

  /// The start of every operation of an expiring cache: read the ticker, remove what
  /// expired, install finished refreshes. Nothing at all without expiry.
  void begin_op() {
    if constexpr (expires) {
      time_.now = static_cast<std::uint64_t>(time_.options.ticker());
      if (time_.now >= time_.next_due) expire_due();
      if (time_.wheel.wants_lookahead()) time_.wheel.lookahead(lookahead_budget);
      if (time_.refresh && time_.refresh->ready.load(std::memory_order_acquire)) apply_refreshes();
    }
  }

  /// Slots the timer wheel moves ahead of time per operation (see timer_wheel.hpp): a
  /// few times the amortised need (each deadline is moved at most 8 times), so that the
  /// wheel stays ahead of the clock and no operation cascades a large bucket at once.
  static constexpr unsigned lookahead_budget = 32;

  /// After a loader call inside an operation: the ticker again, and what expired
  /// meanwhile (refreshes wait for the next operation, so an operation installs them at
  /// one point only).
  void resume_op() {
    if constexpr (expires) {
      time_.now = static_cast<std::uint64_t>(time_.options.ticker());
      if (time_.now >= time_.next_due) expire_due();
    }
  }

  /// Removes every entry whose deadline is ≤ now (reported `expired`).
  void expire_due() {
    if constexpr (expires) {
      time_.wheel.expire(time_.now, [this](slot_id s) {
        if (time_.stamps) {  // a lower bound came due: the hits since may have moved it on
          const std::uint64_t d = stamped_deadline(s);
          if (d > time_.now) {
            if (d != no_deadline) time_.wheel.schedule(s, d);
            return;
          }
        }
        if constexpr (policy::has_expire_hook<Policy>) policy_.on_expire(s);
        else policy_.on_erase(s);
        ++stats_.expirations;
        unlink(s);
        notify_and_free(s, removal_cause::expired);
      });
      time_.next_due = time_.wheel.next_due();
    }
  }

  /// Whether a live entry is past its deadline by the ticker now (const readers).
  [[nodiscard]] bool expired_now(slot_id s) const {
    if constexpr (expires) {
      if (!time_.wheel.scheduled(s)) return false;
      const std::uint64_t d = time_.stamps ? stamped_deadline(s) : time_.wheel.deadline(s);
      return d <= static_cast<std::uint64_t>(time_.options.ticker());
    } else {
      return false;
    }
  }

  [[nodiscard]] std::uint64_t deadline_of(slot_id s) const noexcept {
    if constexpr (expires) {
      if (!time_.wheel.scheduled(s)) return no_deadline;
      return time_.stamps ? stamped_deadline(s) : time_.wheel.deadline(s);
    } else {
      return no_deadline;
    }
  }

  // Access stamps (`time_state::stamps`: after_access and no entry expiry). Then a
  // deadline only ever moves later — a read at t ≥ the last write or read w makes it
  // min(t + after_access, written + after_write), never less than before — so a hit need
  // not move its entry in the wheel: it stores t in `accessed` (a relaxed atomic, so that
  // concurrent_cache's lock-free hits may store it, racing each other), and the wheel
  // keeps the deadline of the last write or re-check, a lower bound. When that comes due,
  // expire_due computes the true deadline from the stamps and puts the entry back if it
  // is later. The same entries expire at the same operations as when every hit moved its
  // deadline; a hit costs a compare and a store, and the wheel one move per re-check.

  /// The deadline by the stamps: the last read or write + after_access, capped by the
  /// last write + after_write.
  [[nodiscard]] std::uint64_t stamped_deadline(slot_id s) const noexcept {
    const std::uint64_t a =
        std::atomic_ref<std::uint64_t>(const_cast<std::uint64_t&>(time_.accessed[s])).load(std::memory_order_relaxed);
    std::uint64_t d = detail::deadline_after(a, time_.options.after_access);
    if (time_.options.after_write != never)
      d = std::min(d, detail::deadline_after(time_.written[s], time_.options.after_write));
    return d;
  }

  /// A read of slot `s` at `now` by the cache's one writer (no reader races it).
  void stamp_access(slot_id s, std::uint64_t now) noexcept {
    std::atomic_ref<std::uint64_t> a(time_.accessed[s]);
    if (a.load(std::memory_order_relaxed) < now) a.store(now, std::memory_order_relaxed);
  }

  /// A read of slot `s` at `now` by one of several lock-free readers (concurrent_cache):
  /// the stamp moves forward only, so that of racing readers the latest time stays.
  void stamp_access_racing(slot_id s, std::uint64_t now) noexcept {
    std::atomic_ref<std::uint64_t> a(time_.accessed[s]);
    std::uint64_t seen = a.load(std::memory_order_relaxed);
    while (seen < now && !a.compare_exchange_weak(seen, now, std::memory_order_relaxed)) {
    }
  }

  [[nodiscard]] duration write_ttl() const noexcept {
    if constexpr (expires) return std::min(time_.options.after_write, time_.options.after_access);
    else return never;
  }

  /// The deadline of a new entry (user code: may throw before anything changes).
  [[nodiscard]] std::uint64_t deadline_on_create(const Key& key, const Value& value) {
    if constexpr (expires) {
      using E = typename Expiry::entry_expiry_type;
      if constexpr (has_after_create<E, Key, Value>)
        return detail::deadline_after(time_.now, duration(time_.options.entry.after_create(key, value, time_.now)));
      else return detail::deadline_after(time_.now, write_ttl());
    } else {
      return no_deadline;
    }
  }

  /// The deadline of a live entry given `value` (user code: may throw before anything changes).
  [[nodiscard]] std::uint64_t deadline_on_update(slot_id s, const Value& value) {
    if constexpr (expires) {
      using E = typename Expiry::entry_expiry_type;
      if constexpr (has_after_update<E, Key, Value>)
        return detail::deadline_after(
            time_.now, duration(time_.options.entry.after_update(slab_[s]->key, value, time_.now,
                                                                 detail::remaining(deadline_of(s), time_.now))));
      else return detail::deadline_after(time_.now, write_ttl());
    } else {
      return no_deadline;
    }
  }

  /// A write of slot `s` at now: its deadline, its write time, no refresh in flight.
  void arm(slot_id s, std::uint64_t deadline) noexcept {
    if constexpr (expires) {
      // The write time is read only by refresh and by after_access capped by after_write;
      // tickets only with a refresher: otherwise neither array is touched (a cache miss each).
      if (time_.options.refresh_after_write != never ||
          (time_.options.after_access != never && time_.options.after_write != never))
        time_.written[s] = time_.now;
      // (concurrent_cache keeps its shards' refresh tickets here without a refresh_box)
      if (time_.refresh || time_.options.refresh_after_write != never) time_.ticket[s] = 0;
      if (time_.stamps) std::atomic_ref<std::uint64_t>(time_.accessed[s]).store(time_.now, std::memory_order_relaxed);
      if (deadline == no_deadline) {
        time_.wheel.cancel(s);
      } else {
        time_.wheel.reschedule(s, deadline);
        time_.next_due = std::min(time_.next_due, deadline);
      }
    }
  }

  /// A hit on slot `s` (after record_hit): after_access / after_read, and refresh.
  void after_hit(slot_id s) {
    if constexpr (expires) {
      using E = typename Expiry::entry_expiry_type;
      const time_state& t = time_;
      if (t.stamps) {
        stamp_access(s, t.now);
      } else if constexpr (has_after_read<E, Key, Value>) {
        const std::uint64_t d = detail::deadline_after(
            t.now, duration(time_.options.entry.after_read(slab_[s]->key, std::as_const(slab_[s]->value), t.now,
                                                           detail::remaining(deadline_of(s), t.now))));
        arm_read(s, d);
      } else if (t.options.after_access != never) {
        std::uint64_t d = detail::deadline_after(t.now, t.options.after_access);
        if (t.options.after_write != never)
          d = std::min(d, detail::deadline_after(t.written[s], t.options.after_write));
        arm_read(s, d);
      }
      if (t.options.refresh_after_write != never && t.refresh && t.ticket[s] == 0 &&
          t.now - t.written[s] >= static_cast<std::uint64_t>(std::max<duration::rep>(0, t.options.refresh_after_write.count())))
        start_refresh(s);
    }
  }

  void arm_read(slot_id s, std::uint64_t deadline) noexcept {
    if constexpr (expires) {
      if (deadline == no_deadline) {
        time_.wheel.cancel(s);
      } else {
        time_.wheel.reschedule(s, deadline);
        time_.next_due = std::min(time_.next_due, deadline);
      }
    }
  }

  void start_refresh(slot_id s) {
    if constexpr (expires) {
      std::shared_ptr<refresh_box> box = time_.refresh;
      const std::uint64_t ticket = ++time_.tickets;
      const bool submitted = box->executor->try_submit([box, key = slab_[s]->key, ticket] {
        refresh_result r{key, ticket, std::nullopt, false};
        try {
          r.value = box->load(r.key);
        } catch (...) {
          r.failed = true;
        }
        std::lock_guard lock(box->mutex);
        box->done.push_back(std::move(r));
        box->ready.store(true, std::memory_order_release);
      });
      if (submitted) time_.ticket[s] = ticket;
    }
  }

  /// Installs the refreshes that finished (see set_refresher). What installing one
  /// throws propagates; the answers not yet looked at are kept for the next operation.
  void apply_refreshes() {
    if constexpr (expires) {
      refresh_box& box = *time_.refresh;
      std::vector<refresh_result> done;
      {
        std::lock_guard lock(box.mutex);
        done.swap(box.done);
        box.ready.store(false, std::memory_order_relaxed);
      }
      std::size_t i = 0;
      try {
        for (; i < done.size(); ++i) {
          refresh_result& r = done[i];
          const std::uint64_t h = hash_key(r.key);
          const slot_id s = lookup(r.key, h);
          if (s == no_slot || time_.ticket[s] != r.ticket) continue;  // written or removed since: stale
          time_.ticket[s] = 0;
          if (r.failed) {
            ++stats_.refresh_failures;
          } else if (!r.value) {
            remove_slot(s, removal_cause::erased);
          } else {
            ++stats_.refreshes;
            assign(s, std::move(*r.value));
          }
        }
      } catch (...) {
        std::lock_guard lock(box.mutex);
        for (++i; i < done.size(); ++i) box.done.push_back(std::move(done[i]));
        if (!box.done.empty()) box.ready.store(true, std::memory_order_relaxed);
        throw;
      }
    }
  }

  void reserve_time(std::size_t n) {
    if constexpr (expires) {
      time_.wheel.reserve_slots(n);
      if (time_.written.size() < n) {
        time_.written.reserve(n);
        time_.ticket.reserve(n);
        time_.written.resize(n, 0);
        time_.ticket.resize(n, 0);
      }
      if (time_.stamps && time_.accessed.size() < n) time_.accessed.resize(n, 0);
    }
  }

  /// Runs a loader call, counting it (success or failure) and its time.
  template <class F>
  auto timed_load(F&& f) {
    const std::uint64_t start = load_clock();
    try {
      auto result = f();
      stats_.total_load_time += load_clock() - start;
      ++stats_.load_successes;
      return result;
    } catch (...) {
      stats_.total_load_time += load_clock() - start;
      ++stats_.load_failures;
      throw;
    }
  }

  [[nodiscard]] std::uint64_t load_clock() const {
    if constexpr (expires) return static_cast<std::uint64_t>(time_.options.ticker());
    else return steady_ticker{}();
  }

  template <class F>
  std::optional<Value> compute_hashed(const Key& key, std::uint64_t h, F& f) {
    const slot_id s = lookup(key, h);
    std::optional<Value> next = f(key, s == no_slot ? static_cast<const Value*>(nullptr) : &std::as_const(slab_[s]->value));
    if (!next) {
      if (s != no_slot) remove_slot(s, removal_cause::erased);
      return next;
    }
    if (s == no_slot) insert_new(Key(key), Value(*next), h, access::unknown);
    else assign(s, Value(*next));
    return next;
  }

  // The bodies of the lookups and removals, for a Key or a heterogeneous key alike.
  template <class K, class F>
  bool visit_by(const K& key, F&& f) {
    const std::uint64_t h = hash_key(key);
    begin_op();
    const slot_id s = lookup(key, h);
    if (s == no_slot) {
      record_miss(h);
      return false;
    }
    record_hit(s, h);
    after_hit(s);
    std::forward<F>(f)(std::as_const(slab_[s]->value));
    return true;
  }
  template <class K>
  [[nodiscard]] std::optional<Value> peek_by(const K& key) const {
    const slot_id s = lookup(key, hash_key(key));
    if (s == no_slot || expired_now(s)) return std::nullopt;
    return slab_[s]->value;
  }
  template <class K>
  [[nodiscard]] bool contains_by(const K& key) const {
    const slot_id s = lookup(key, hash_key(key));
    return s != no_slot && !expired_now(s);
  }
  template <class K>
  bool remove_by(const K& key, removal_cause cause) {
    const std::uint64_t h = hash_key(key);
    begin_op();
    return remove_key(key, h, cause);
  }

  template <class K = Key>
  bool remove_key(const K& key, std::uint64_t h, removal_cause cause) {
    const slot_id s = lookup(key, h);
    if (s == no_slot) return false;
    remove_slot(s, cause);
    return true;
  }

  /// The host removes a live slot: the policy forgets it, then the listeners are told.
  void remove_slot(slot_id s, removal_cause cause) {
    policy_.on_erase(s);
    unlink(s);
    notify_and_free(s, cause);
  }

  /// `h`: the key's hash (the caller hashed the key to find the slot).
  void record_hit(slot_id s, std::uint64_t h, std::uint64_t next_access = access::unknown) {
    ++stats_.hits;
    policy_.on_access(s, access{h, ++clock_, slab_[s]->weight, next_access});
  }

  void record_miss(std::uint64_t h, std::uint64_t next_access = access::unknown) {
    ++stats_.misses;
    ++clock_;
    if constexpr (policy::has_miss_hook<Policy>) policy_.on_miss(access{h, clock_, 0, next_access});
  }

  // A policy that stores no weights while all are 1 grows its columns here for one
  // that is not (policy.hpp, reserve_weight), before anything changes.
  void reserve_policy_weight(std::uint64_t w) {
    if constexpr (policy::has_weight_reserve<Policy>)
      if (w != 1) policy_.reserve_weight(w);
  }

  [[nodiscard]] std::uint64_t weigh(const Key& key, const Value& value) const {
    // A weight of 0 would let entries escape the budget forever; count it as 1.
    return std::max<std::uint64_t>(1, static_cast<std::uint64_t>(weigher_(key, value)));
  }

  // Takes the key by forwarding reference so that an assignment never copies it.
  template <class K>
  put_result put_hashed(K&& key, Value&& value, std::uint64_t h) {
    begin_op();
    const slot_id s = lookup(key, h);
    if (s == no_slot) return insert_new(Key(std::forward<K>(key)), std::move(value), h, access::unknown);
    return assign(s, std::move(value));
  }

  // Room for `w` more on top of what is cached, without overflow (weight_ ≤ capacity_).
  [[nodiscard]] bool fits(std::uint64_t w) const noexcept { return w <= capacity_ - weight_; }

  put_result assign(slot_id s, Value&& value) {
    entry& e = *slab_[s];
    const std::uint64_t w = weigh(e.key, value);  // may throw: nothing changed yet
    const std::uint64_t deadline = w > capacity_ ? no_deadline : deadline_on_update(s, value);  // may throw
    if (w <= capacity_) reserve_policy_weight(w);  // may throw std::bad_alloc: nothing changed yet
    if (w > capacity_) {
      // The entry leaves: the policy, the index and the weight forget it first, then the
      // listener sees it in place (no copy that could throw), then its slot is freed.
      ++stats_.rejections;
      policy_.on_erase(s);
      unlink(s);
      notify_and_free(s, removal_cause::too_heavy);
      return {put_outcome::too_heavy};
    }
    if (removal_listener_) removal_listener_(std::as_const(e.key), std::as_const(e.value), removal_cause::replaced);
    e.value = std::move(value);  // may throw: the entry keeps its weight, the value is Value's business
    arm(s, deadline);
    ++stats_.updates;
    const std::uint64_t h = hash_of_slot_[s];
    policy_.on_access(s, access{h, ++clock_, w, access::unknown});
    // The others weigh weight_ − old; with the new weight the total may not fit: evict
    // others (or, if the policy says so, this entry itself) until it does. The entry keeps
    // its old weight in weight_ until then, so that no sum ever passes 2^64 − 1.
    const std::uint64_t old = e.weight;
    try {
      while (w > capacity_ - (weight_ - old)) {
        const slot_id v = policy_.victim(access{h, clock_, w, access::unknown});
        if (v == s) {
          evict(s);  // weight_ loses the old weight it still counts
          return {put_outcome::evicted};
        }
        evict(v);
      }
    } catch (...) {
      // The eviction listener threw. The victims so far are gone; the entry takes its new
      // weight if that fits now, and leaves (without a listener call) if it does not.
      if (slab_[s]) {
        if (w <= capacity_ - (weight_ - old)) {
          weight_ = weight_ - old + w;
          e.weight = w;
        } else {
          policy_.on_erase(s);
          release(s);
        }
      }
      throw;
    }
    weight_ = weight_ - old + w;
    e.weight = w;
    return {put_outcome::assigned};
  }

  put_result insert_new(Key&& key, Value&& value, std::uint64_t h, std::uint64_t next_access) {
    const std::uint64_t w = weigh(key, value);  // may throw: nothing changed
    if (w > capacity_) {
      ++stats_.rejections;
      return {put_outcome::too_heavy};
    }
    const std::uint64_t deadline = deadline_on_create(key, value);  // may throw: nothing changed
    reserve_policy_weight(w);  // may throw std::bad_alloc: nothing changed
    const access incoming{h, clock_, w, next_access};
    if (!fits(w)) {
      slot_id v = policy_.victim(incoming);
      if constexpr (policy::has_admission<Policy>) {
        if (!policy_.admit(incoming, v)) {
          ++stats_.rejections;
          return {put_outcome::bypassed};
        }
      }
      for (;;) {
        evict(v);  // the listener may throw: the victims so far are gone, nothing is inserted
        if (fits(w)) break;
        v = policy_.victim(incoming);
      }
    }
    // Room in the slab, the policy's arrays and the index first (these may allocate, and
    // keep everything as it was when they throw); from the entry's construction on,
    // nothing allocates.
    index_.reserve_one();
    const slot_id s = allocate_slot();
    try {
      slab_[s].emplace(entry{std::move(key), std::move(value), w});  // moves may throw
    } catch (...) {
      free_.push_back(s);  // back where it came from: never allocates
      throw;
    }
    hash_of_slot_[s] = h;
    index_.insert(h, s);
    weight_ += w;
    ++stats_.inserts;
    arm(s, deadline);
    policy_.on_insert(s, incoming);
    return {put_outcome::inserted};
  }

  void evict(slot_id s) {
    policy_.on_evict(s);
    ++stats_.evictions;
    stats_.evicted_weight += slab_[s]->weight;
    if (listener_ || removal_listener_) {
      unlink(s);
      notify_and_free(s, removal_cause::capacity);
    } else {
      release(s);
    }
  }

  /// Takes a live slot out of the index and the weight; the entry stays in the slab.
  void unlink(slot_id s) noexcept {
    index_.erase(hash_of_slot_[s], s);
    weight_ -= slab_[s]->weight;
    if constexpr (expires) time_.wheel.cancel(s);
  }

  /// Destroys the entry of an unlinked slot and puts the slot on the free list.
  void free_slot(slot_id s) noexcept {
    slab_[s].reset();
    free_.push_back(s);  // capacity ≥ slab size: never allocates
  }

  /// The hash column covers slots [0, n) (may throw std::bad_alloc: nothing changed).
  void grow_hashes(std::size_t n) {
    if (hashes_->size() >= n) return;
    hashes_->resize(n);
    hash_of_slot_ = hashes_->data();
  }

  /// Frees a slot the policy has already forgotten.
  void release(slot_id s) noexcept {
    unlink(s);
    free_slot(s);
  }

  /// Shows the listener an entry that the policy, the index and the weight have already
  /// forgotten — in place, so nothing is copied — then frees its slot, whether the
  /// listener returns or throws.
  void notify_and_free(slot_id s, removal_cause cause) {
    const bool tell_eviction = listener_ && was_evicted(cause);
    if (!tell_eviction && !removal_listener_) {
      free_slot(s);
      return;
    }
    try {
      if (removal_listener_) removal_listener_(std::as_const(slab_[s]->key), std::as_const(slab_[s]->value), cause);
      if (tell_eviction) listener_(std::as_const(slab_[s]->key), std::as_const(slab_[s]->value), cause);
    } catch (...) {
      free_slot(s);
      throw;
    }
    free_slot(s);
  }

  /// A free slot, the slab, the free list and the policy's arrays grown first if needed
  /// (all of it before the slab changes, so a throw — std::bad_alloc, or a copy of an
  /// entry whose move may throw while the slab reallocates — leaves everything as it was).
  slot_id allocate_slot() {
    if (!free_.empty()) {
      const slot_id s = free_.back();
      free_.pop_back();
      return s;
    }
    const auto s = static_cast<slot_id>(slab_.size());
    if (slab_.size() == slab_.capacity()) {
      const std::size_t want = std::max<std::size_t>(1, 2 * slab_.capacity());
      grow_hashes(want);
      policy_.reserve_slots(want);
      reserve_time(want);
      if (free_.capacity() < want) free_.reserve(want);
      slab_.reserve(want);
    }
    slab_.emplace_back();  // within capacity: does not throw
    return s;
  }

  // What concurrent_cache's lookups read without a lock — the index, the slab and the
  // time, changed only by writers, which keep those lookups out — comes first, and what
  // every policy update writes (a drained hit's too: the clock and the policy) comes
  // last, with over 64 bytes of fields that only writers touch between: no cache line
  // holds both. When the clock shared a line with a concurrent shard's `writing` flag
  // (and an LRU's list head with the index), each hit a drain told the policy took that
  // line from the cores whose lookups read it. (An alignas(64) would do it too, but
  // over-aligning the type made a `cache` on the stack slower to hit, in cache_bench.)
  [[no_unique_address]] Hash hash_;
  [[no_unique_address]] KeyEqual equal_;
  [[no_unique_address]] Weigher weigher_;
  detail::slot_index index_;
  std::vector<std::optional<entry>> slab_;
  /// The key hash of every slot (written when an entry moves in; covers the slab's
  /// capacity), apart from the slab so that a policy can read it (key_hash_view) instead
  /// of storing its own copy. On the heap: the policy's view survives moving the cache.
  std::unique_ptr<std::vector<std::uint64_t>> hashes_ = std::make_unique<std::vector<std::uint64_t>>();
  std::uint64_t* hash_of_slot_ = nullptr;  ///< hashes_->data(), read without going through the vector
  [[no_unique_address]] std::conditional_t<expires, time_state, no_time> time_;
  std::vector<slot_id> free_;
  cache_stats stats_;
  eviction_listener listener_;
  removal_listener removal_listener_;
  std::uint64_t capacity_;
  std::uint64_t weight_ = 0;
  std::uint64_t clock_ = 0;
  Policy policy_;
};

/// A cache with time (expiry.hpp): `expiring_cache<std::string, Row> rows(10'000,
/// {.after_write = std::chrono::minutes(5)});`
template <class Key, class Value, policy::eviction_policy Policy = policy::lru, class Expiry = expiring<>,
          class Hash = prescient::hash<Key>, class KeyEqual = std::equal_to<Key>, class Weigher = unit_weigher>
using expiring_cache = cache<Key, Value, Policy, Hash, KeyEqual, Weigher, Expiry>;

}  // namespace prescient
