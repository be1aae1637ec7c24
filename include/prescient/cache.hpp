// prescient/cache.hpp — the cache core: `prescient::cache<Key, Value, Policy, ...>`.
//
// Layout (the design's "slots, not pointers"):
//
//   index  : key hash → slot id          detail::slot_index, open addressing, 8 B/bucket
//   slab   : slot id → {key, value, hash, weight}   a vector; ids are stable while the
//            entry lives; freed ids go on a free list and are reused first
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
// The eviction listener is called exactly once for every entry that leaves because the
// policy evicted it (`removal_cause::capacity`), or because an assignment made it
// heavier than the whole capacity (`removal_cause::too_heavy`). Explicit `erase` and
// `clear` do not call it: the host asked for those. The listener runs after the cache
// is consistent again; it must not call back into this cache. It may throw (see below).
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
//   * erase, clear: nothing changes when the hash or the comparison throws; nothing else
//     in them throws.
//   * set_capacity: if the listener throws, the capacity stays as it was; the entries
//     evicted so far are gone.
// The eviction listener is called after the policy, the index and the weight have let
// the entry go, with references into the slot, which is freed once the listener returns
// or throws. No operation allocates on a hit: the guarantees above cost nothing there.
//
// Not thread-safe: see concurrent_cache.hpp for the sharded, locked version.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "prescient/detail/slot_index.hpp"
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

/// Why an entry left the cache (given to the eviction listener).
enum class removal_cause {
  capacity,   ///< the policy chose it to make room
  too_heavy,  ///< an assignment made it heavier than the whole capacity
};

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
    return *this;
  }
  friend bool operator==(const cache_stats&, const cache_stats&) = default;
};

template <class Key, class Value, class Policy, class Hash, class KeyEqual, class Weigher, class Mutex>
class concurrent_cache;

template <class Key, class Value, policy::eviction_policy Policy = policy::lru,
          class Hash = prescient::hash<Key>, class KeyEqual = std::equal_to<Key>,
          class Weigher = unit_weigher>
class cache {
 public:
  using key_type = Key;
  using mapped_type = Value;
  using policy_type = Policy;
  using policy_config = typename Policy::config;
  using eviction_listener = std::function<void(const Key&, const Value&, removal_cause)>;

  /// `capacity`: total weight (entries, with the default weigher). When it counts
  /// entries the slab, index and policy arrays are sized for it up front (up to 2^20
  /// entries; beyond that they grow geometrically), so steady state never allocates.
  explicit cache(std::uint64_t capacity, policy_config config = {}, Hash hash = {},
                 KeyEqual equal = {}, Weigher weigher = {})
      : capacity_(capacity), policy_(capacity, std::move(config)), hash_(std::move(hash)),
        equal_(std::move(equal)), weigher_(std::move(weigher)) {
    if constexpr (std::is_same_v<Weigher, unit_weigher>) {
      reserve(static_cast<std::size_t>(std::min<std::uint64_t>(capacity, std::uint64_t{1} << 20)));
    }
  }

  cache(const cache&) = delete;
  cache& operator=(const cache&) = delete;
  cache(cache&&) noexcept = default;
  cache& operator=(cache&&) noexcept = default;

  /// The value of `key`, copied out, and a policy update; nullopt on a miss.
  [[nodiscard]] std::optional<Value> get(const Key& key) { return get_hashed(key, hash_key(key)); }

  /// Calls `f(const Value&)` on a hit (with a policy update) and returns true; no copy.
  template <class F>
  bool visit(const Key& key, F&& f) {
    const std::uint64_t h = hash_key(key);
    const slot_id s = lookup(key, h);
    if (s == no_slot) {
      record_miss(h);
      return false;
    }
    record_hit(s);
    std::forward<F>(f)(std::as_const(slab_[s]->value));
    return true;
  }

  /// The value of `key` without touching the policy, the statistics or the clock.
  [[nodiscard]] std::optional<Value> peek(const Key& key) const {
    const slot_id s = lookup(key, hash_key(key));
    if (s == no_slot) return std::nullopt;
    return slab_[s]->value;
  }

  [[nodiscard]] bool contains(const Key& key) const { return lookup(key, hash_key(key)) != no_slot; }

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
    const slot_id s = lookup(key, h);
    if (s != no_slot) {
      record_hit(s, next_access);
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
  template <class Loader>
    requires loader<Loader, Key, Value>
  std::optional<Value> get_or_load(const Key& key, Loader&& load) {
    const std::uint64_t h = hash_key(key);
    if (const slot_id s = lookup(key, h); s != no_slot) {
      record_hit(s);
      return slab_[s]->value;
    }
    record_miss(h);
    std::optional<Value> value = invoke_loader<Key, Value>(load, key);
    if (value && lookup(key, h) == no_slot) insert_new(Key(key), Value(*value), h, access::unknown);
    return value;
  }

  /// Removes `key`; false when it was not cached. The listener is not called. Throws only
  /// what the hash or the comparison throws, before anything changes.
  bool erase(const Key& key) {
    const std::uint64_t h = hash_key(key);
    const slot_id s = lookup(key, h);
    if (s == no_slot) return false;
    policy_.on_erase(s);
    release(s);
    return true;
  }

  /// Removes every entry (the listener is not called) and resets the policy's state,
  /// ghosts included. Statistics are kept; see reset_stats.
  void clear() {
    policy_.clear();
    index_.clear();
    free_.clear();
    for (std::size_t s = slab_.size(); s-- > 0;) {
      slab_[s].reset();
      free_.push_back(static_cast<slot_id>(s));
    }
    weight_ = 0;
  }

  [[nodiscard]] std::size_t size() const noexcept { return index_.size(); }
  [[nodiscard]] bool empty() const noexcept { return size() == 0; }
  [[nodiscard]] std::uint64_t weight() const noexcept { return weight_; }
  [[nodiscard]] std::uint64_t capacity() const noexcept { return capacity_; }
  [[nodiscard]] const cache_stats& stats() const noexcept { return stats_; }
  void reset_stats() noexcept { stats_ = {}; }
  [[nodiscard]] const Policy& policy() const noexcept { return policy_; }
  [[nodiscard]] Policy& policy() noexcept { return policy_; }

  void set_eviction_listener(eviction_listener listener) { listener_ = std::move(listener); }

  /// Changes the capacity; a smaller one evicts (through the policy and the listener)
  /// until the weight fits. The policy keeps the capacity it was built with for its
  /// internal proportions (queue shares, sketch width).
  /// If the eviction listener throws, the capacity stays as it was (the entries evicted
  /// so far are gone) and the exception propagates.
  void set_capacity(std::uint64_t capacity) {
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
  /// bookkeeping and index buckets at the current load), plus the policy's own.
  [[nodiscard]] std::size_t metadata_bytes_per_entry() const {
    const std::size_t n = std::max<std::size_t>(1, size());
    return 2 * sizeof(std::uint64_t) /* hash, weight */ +
           index_.bucket_count() * detail::slot_index::bytes_per_bucket / n +
           policy_.metadata_bytes_per_entry();
  }

  /// Calls `f(const Key&, const Value&)` for every entry, in slot order.
  template <class F>
  void for_each(F&& f) const {
    for (const auto& e : slab_)
      if (e) f(std::as_const(e->key), std::as_const(e->value));
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
      if (e.weight == 0) report("slot " + std::to_string(s) + " weighs 0");
      if (e.weight > std::numeric_limits<std::uint64_t>::max() - sum) overflow = true;
      sum += e.weight;
      const auto id = static_cast<slot_id>(s);
      if (index_.find(e.hash, [&](slot_id t) { return t == id; }) != id)
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
    return problems;
  }

  /// Makes room for `n` entries in the slab, index and policy without reallocation.
  void reserve(std::size_t n) {
    if (n > slab_.capacity()) {
      policy_.reserve_slots(n);  // the policy's arrays always cover the slab's capacity
      free_.reserve(n);
      slab_.reserve(n);
    }
    index_.reserve(n);
  }

 private:
  template <class, class, class, class, class, class, class>
  friend class concurrent_cache;

  struct entry {
    Key key;
    Value value;
    std::uint64_t hash;
    std::uint64_t weight;
  };

  [[nodiscard]] std::uint64_t hash_key(const Key& key) const {
    // prescient::hash is mixed already; any other hash is mixed here (policies and the
    // index rely on every bit being good).
    if constexpr (std::is_same_v<Hash, prescient::hash<Key>>) {
      return hash_(key);
    } else {
      return mix64(static_cast<std::uint64_t>(hash_(key)));
    }
  }

  [[nodiscard]] slot_id lookup(const Key& key, std::uint64_t h) const {
    return index_.find(h, [&](slot_id s) { return equal_(slab_[s]->key, key); });
  }

  [[nodiscard]] std::optional<Value> get_hashed(const Key& key, std::uint64_t h) {
    const slot_id s = lookup(key, h);
    if (s == no_slot) {
      record_miss(h);
      return std::nullopt;
    }
    record_hit(s);
    return slab_[s]->value;
  }

  void record_hit(slot_id s, std::uint64_t next_access = access::unknown) {
    ++stats_.hits;
    policy_.on_access(s, access{slab_[s]->hash, ++clock_, slab_[s]->weight, next_access});
  }

  void record_miss(std::uint64_t h, std::uint64_t next_access = access::unknown) {
    ++stats_.misses;
    ++clock_;
    if constexpr (policy::has_miss_hook<Policy>) policy_.on_miss(access{h, clock_, 0, next_access});
  }

  [[nodiscard]] std::uint64_t weigh(const Key& key, const Value& value) const {
    // A weight of 0 would let entries escape the budget forever; count it as 1.
    return std::max<std::uint64_t>(1, static_cast<std::uint64_t>(weigher_(key, value)));
  }

  // Takes the key by forwarding reference so that an assignment never copies it.
  template <class K>
  put_result put_hashed(K&& key, Value&& value, std::uint64_t h) {
    const slot_id s = lookup(key, h);
    if (s == no_slot) return insert_new(Key(std::forward<K>(key)), std::move(value), h, access::unknown);
    return assign(s, std::move(value));
  }

  // Room for `w` more on top of what is cached, without overflow (weight_ ≤ capacity_).
  [[nodiscard]] bool fits(std::uint64_t w) const noexcept { return w <= capacity_ - weight_; }

  put_result assign(slot_id s, Value&& value) {
    entry& e = *slab_[s];
    const std::uint64_t w = weigh(e.key, value);  // may throw: nothing changed yet
    if (w > capacity_) {
      // The entry leaves: the policy, the index and the weight forget it first, then the
      // listener sees it in place (no copy that could throw), then its slot is freed.
      ++stats_.rejections;
      policy_.on_erase(s);
      unlink(s);
      notify_and_free(s, removal_cause::too_heavy);
      return {put_outcome::too_heavy};
    }
    e.value = std::move(value);  // may throw: the entry keeps its weight, the value is Value's business
    ++stats_.updates;
    policy_.on_access(s, access{e.hash, ++clock_, w, access::unknown});
    // The others weigh weight_ − old; with the new weight the total may not fit: evict
    // others (or, if the policy says so, this entry itself) until it does. The entry keeps
    // its old weight in weight_ until then, so that no sum ever passes 2^64 − 1.
    const std::uint64_t old = e.weight;
    try {
      while (w > capacity_ - (weight_ - old)) {
        const slot_id v = policy_.victim(access{e.hash, clock_, w, access::unknown});
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
      slab_[s].emplace(entry{std::move(key), std::move(value), h, w});  // moves may throw
    } catch (...) {
      free_.push_back(s);  // back where it came from: never allocates
      throw;
    }
    index_.insert(h, s);
    weight_ += w;
    ++stats_.inserts;
    policy_.on_insert(s, incoming);
    return {put_outcome::inserted};
  }

  void evict(slot_id s) {
    policy_.on_evict(s);
    ++stats_.evictions;
    if (listener_) {
      unlink(s);
      notify_and_free(s, removal_cause::capacity);
    } else {
      release(s);
    }
  }

  /// Takes a live slot out of the index and the weight; the entry stays in the slab.
  void unlink(slot_id s) noexcept {
    index_.erase(slab_[s]->hash, s);
    weight_ -= slab_[s]->weight;
  }

  /// Destroys the entry of an unlinked slot and puts the slot on the free list.
  void free_slot(slot_id s) noexcept {
    slab_[s].reset();
    free_.push_back(s);  // capacity ≥ slab size: never allocates
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
    if (!listener_) {
      free_slot(s);
      return;
    }
    try {
      listener_(std::as_const(slab_[s]->key), std::as_const(slab_[s]->value), cause);
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
      policy_.reserve_slots(want);
      if (free_.capacity() < want) free_.reserve(want);
      slab_.reserve(want);
    }
    slab_.emplace_back();  // within capacity: does not throw
    return s;
  }

  std::uint64_t capacity_;
  std::uint64_t weight_ = 0;
  std::uint64_t clock_ = 0;
  Policy policy_;
  [[no_unique_address]] Hash hash_;
  [[no_unique_address]] KeyEqual equal_;
  [[no_unique_address]] Weigher weigher_;
  detail::slot_index index_;
  std::vector<std::optional<entry>> slab_;
  std::vector<slot_id> free_;
  cache_stats stats_;
  eviction_listener listener_;
};

}  // namespace prescient
