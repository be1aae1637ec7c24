// prescient/policy/policy.hpp — the contract between the cache core and an eviction policy.
//
// The cache keeps its entries in a slab of stable slot ids (see cache.hpp). A policy
// never sees a key or a value: it is told about slots, and each notification carries an
// `access` record (the key's 64-bit hash, the logical time of the request, the entry's
// weight and, when an oracle knows it, the logical time of the key's next request).
// A policy keeps its own metadata in arrays indexed by slot id, sized through
// `reserve_slots`, so that a request costs no allocation and no virtual call.
//
// Every policy has the same member set (the `eviction_policy` concept below):
//
//   explicit P(std::uint64_t capacity, config cfg = {});  // capacity in weight units
//   void reserve_slots(std::size_t n);      // slot ids [0, n) may be used from now on
//   void on_insert(slot_id, const access&); // a new entry now lives in the slot
//   void on_access(slot_id, const access&); // a hit, or an assignment to a live entry
//   void on_evict(slot_id);                 // the slot leaves because the policy chose it
//   void on_erase(slot_id);                 // the slot leaves because the host removed it
//   slot_id victim(const access& incoming); // which resident slot to evict next (the
//                                           // cache then calls on_evict); never called
//                                           // while the policy holds no slot
//   void clear();                           // forget every slot (ghost state too)
//   static constexpr std::string_view name;
//   std::size_t metadata_bytes_per_entry() const; // the policy's bytes per resident entry
//
// and, optionally (detected with `requires`, so a policy without them pays nothing):
//
//   void on_miss(const access&);            // every lookup that missed (admission sketches
//                                           // count these)
//   bool admit(const access& incoming, slot_id victim);
//                                           // the cache is full: should `incoming` replace
//                                           // `victim`? false bypasses the new entry.
//   void on_expire(slot_id);                // the slot leaves because its deadline passed
//                                           // (expiring caches); without it the cache
//                                           // calls on_erase. A learned policy can tell
//                                           // an expiry from a host's erase here: the key's
//                                           // next request may come after the deadline, so
//                                           // a label waiting for it was cut short.
//   void reserve_weight(std::uint64_t w);   // an entry of weight `w` (never 1) is about to be
//                                           // inserted, or an entry is about to take that
//                                           // weight: grow what storing it needs (a policy
//                                           // that stores no weight while all are 1 —
//                                           // detail/weight_column.hpp — allocates here)
//   void use_key_hashes(key_hash_view);     // the cache's column of key hashes by slot (below):
//                                           // the policy reads a slot's hash there instead of
//                                           // keeping its own copy. Called right after
//                                           // construction, before any other hook.
//   std::vector<slot_id> resident_slots() const;
//                                           // the slots the policy holds, walked through its
//                                           // own structures (any order; O(n), allocates): for
//                                           // cache::check_invariants, never on a request path.
//
// Hooks must not throw, except std::bad_alloc from `reserve_slots` and `reserve_weight`
// (the core calls them before it changes anything for the insertion or assignment that
// needs the room). The core calls no
// hook while a user callback (hash, key comparison, weigher, copy or move of a key or
// value, loader, eviction listener) could leave the policy's view and its own apart:
// see "Exceptions" in cache.hpp.
//
// `victim` may reorganise the policy's internal queues (S3-FIFO moves entries from its
// small to its main queue, CLOCK-like policies clear bits as the hand moves) but must
// return a slot that is resident; the cache evicts it and calls `on_evict` at once.
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string_view>
#include <vector>

namespace prescient {

/// Index of an entry in the cache's slab. Stable for the entry's lifetime.
using slot_id = std::uint32_t;
inline constexpr slot_id no_slot = std::numeric_limits<slot_id>::max();

/// What a policy learns about one request.
struct access {
  /// Returned in `next_access` when nothing knows when the key comes again.
  static constexpr std::uint64_t unknown = std::numeric_limits<std::uint64_t>::max() - 1;
  /// The key is never requested again (an oracle's answer).
  static constexpr std::uint64_t never = std::numeric_limits<std::uint64_t>::max();

  std::uint64_t key_hash = 0;  ///< the cache's 64-bit hash of the key (well mixed)
  std::uint64_t time = 0;      ///< logical time: the cache's request counter
  std::uint64_t weight = 1;    ///< the entry's weight (1 when capacity counts entries)
  std::uint64_t next_access = unknown;  ///< logical time of the key's next request, if known
};

/// The key hashes a cache keeps, by slot: a policy bound to it (`use_key_hashes`) reads
/// a slot's hash here rather than storing its own 8 bytes a slot. Valid for every slot the
/// policy holds, from before `on_insert` until after `on_evict` / `on_erase` returns (the
/// cache writes a slot's hash when an entry moves in, and nothing else). The column lives
/// on the heap, so moving the cache (and its policy) keeps the view valid.
class key_hash_view {
 public:
  key_hash_view() = default;
  explicit key_hash_view(const std::vector<std::uint64_t>& column) noexcept : column_(&column) {}
  [[nodiscard]] std::uint64_t operator[](slot_id s) const noexcept { return (*column_)[s]; }
  /// Whether the view refers to a column.
  [[nodiscard]] explicit operator bool() const noexcept { return column_ != nullptr; }

 private:
  const std::vector<std::uint64_t>* column_ = nullptr;
};

namespace policy {

template <class P>
concept eviction_policy = requires(P p, const P cp, slot_id s, const access& a, std::size_t n) {
  p.reserve_slots(n);
  p.on_insert(s, a);
  p.on_access(s, a);
  p.on_evict(s);
  p.on_erase(s);
  { p.victim(a) } -> std::same_as<slot_id>;
  p.clear();
  { P::name } -> std::convertible_to<std::string_view>;
  { cp.metadata_bytes_per_entry() } -> std::convertible_to<std::size_t>;
};

template <class P>
concept has_miss_hook = requires(P p, const access& a) { p.on_miss(a); };

template <class P>
concept has_expire_hook = requires(P p, slot_id s) { p.on_expire(s); };

template <class P>
concept has_weight_reserve = requires(P p, std::uint64_t w) { p.reserve_weight(w); };

template <class P>
concept has_key_hashes = requires(P p, key_hash_view v) { p.use_key_hashes(v); };

template <class P>
concept has_resident_slots = requires(const P cp) {
  { cp.resident_slots() } -> std::convertible_to<std::vector<slot_id>>;
};

/// A policy whose hit only marks the entry — a visited bit, a saturating counter — can
/// take a hit without the cache's lock: `on_access_lockfree(s)` has the effect of
/// `on_access(s, a)` for an unchanged weight and touches nothing but slot `s`'s own
/// byte, with relaxed atomic accesses (std::atomic_ref), and writes it only when the
/// mark changes, so a hot entry's cache line is only read. Every access the policy
/// makes to that byte is atomic as well, so a hit may race with anything done under
/// concurrent_cache's policy lock; it never runs while a victim is chosen or an entry
/// inserted or removed (those exclude readers). concurrent_cache uses it instead of
/// buffering the hit (concurrent_cache.hpp); `cache` never calls it.
template <class P>
concept has_lockfree_hit = requires(P& p, slot_id s) {
  { p.on_access_lockfree(s) } noexcept;
};

/// A policy whose hit update costs far more than the cache lines it moves (the learned
/// policy's hit updates the key's history, features, panel and sketch: 0.5–1 µs) says
/// so with `static constexpr bool costly_hit = true`. concurrent_cache then has every
/// thread drain its own ring of buffered hits, spreading that work over the threads,
/// rather than one drainer per shard making every thread's updates (concurrent_cache.hpp).
template <class P>
concept has_costly_hit = requires { requires P::costly_hit; };

template <class P>
concept has_admission = requires(P p, const access& a, slot_id s) {
  { p.admit(a, s) } -> std::convertible_to<bool>;
};

}  // namespace policy
}  // namespace prescient
