// prescient/policy/arc.hpp — ARC: Adaptive Replacement Cache.
//
// Nimrod Megiddo, Dharmendra S. Modha, "ARC: A Self-Tuning, Low Overhead Replacement
// Cache", FAST 2003.
//
// ARC keeps two LRU lists of resident entries and two "ghost" lists of recently evicted
// keys:
//
//   T1  resident, seen once recently          B1  ghosts of entries evicted from T1
//   T2  resident, seen at least twice         B2  ghosts of entries evicted from T2
//
// and a target p for the size of T1 (0 ≤ p ≤ c). A hit in T1 or T2 moves the entry to
// the MRU end of T2. A miss whose key is in B1 means "T1 was too small": p grows by
// max(|B2|/|B1|, 1); a key in B2 means "T2 was too small": p shrinks by max(|B1|/|B2|, 1).
// Either way the key comes back into T2. Other misses enter T1. To make room, REPLACE
// evicts the LRU of T1 into B1 if |T1| > p (or |T1| = p and the incoming key was found in
// B2), else the LRU of T2 into B2 — so the split between recency and frequency tunes
// itself to the workload, with no parameter.
//
// The paper's pseudo-code, case by case, and where it lives here (the core calls
// `on_miss` → [`victim` → `on_evict`]* → `on_insert`):
//
//   Case I   (x in T1 ∪ T2): move x to MRU of T2.                         on_access
//   Case II  (x in B1): adapt p upwards, remove x from B1.                on_miss
//   Case III (x in B2): adapt p downwards, remove x from B2.              on_miss
//            then, if the cache is full, REPLACE(x, p).                   victim
//            x enters T2.                                                 on_insert
//   Case IV  (x nowhere), when the cache is full:                         victim
//     A: |T1| + |B1| = c: if B1 is not empty, drop B1's LRU and REPLACE;
//        else evict T1's LRU without remembering it.
//     B: |T1| + |B1| < c: if |T1|+|T2|+|B1|+|B2| = 2c drop B2's LRU; REPLACE.
//            x enters T1.                                                 on_insert
//
// This is also libCacheSim's ARC.c (which we follow for the reproducible figures): p and
// delta are floating point (as in the reference Python implementation it cross-checks),
// the ghost hit adapts p at lookup time, "T1 < c" in case IV-A is tested as "B1 not
// empty", and REPLACE evicts from T1 when T2 is empty.
//
// Weights: every size above (|T1|, |B1|, c, p, delta) is a weight, as in libCacheSim with
// variable object sizes: |X| is the summed weight of X, case IV-A tests
// |T1| + |B1| + w(x) > c, case IV-B tests |T1|+|T2|+|B1|+|B2| ≥ 2c, and delta is the ratio
// of the ghost lists' weights. With weights the core may call `victim` several times for
// one insertion; each call is one full eviction step of the pseudo-code (including the
// ghost trimming), again as libCacheSim does.
//
// Reproduces libCacheSim's cloudphysics figures (unit sizes) exactly: 0.8274 / 0.8107 /
// 0.7708 at 500 / 2500 / 5000 objects.
//
// Ghosts are key hashes (`ghost_lists`), bounded by the invariants above to about c in
// weight each, so ≤ 2c keys with unit weights.
//
// Cost: O(1) per request. Per slot: 8 bytes of links and 1 of list id = 9 bytes, 8 of
// weight once any weight is not 1 (weight_column.hpp), and 8 of key hash (to become a
// ghost) only outside a cache — inside one it reads the cache's (hash_column.hpp); the
// ghosts hold up to one key per resident entry at ~28 bytes each (~36 with weights).
// `metadata_bytes_per_entry` reports 9 + 28 = 37 in a cache with unit weights, 17 + 36 =
// 53 without.
#pragma once

#include <algorithm>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "prescient/policy/detail/ghost_lists.hpp"
#include "prescient/policy/detail/hash_column.hpp"
#include "prescient/policy/detail/slot_list.hpp"
#include "prescient/policy/detail/weight_column.hpp"
#include "prescient/policy/policy.hpp"

namespace prescient::policy {

class arc {
 public:
  struct config {};  ///< ARC tunes itself; it has no parameters.
  static constexpr std::string_view name = "arc";

  explicit arc(std::uint64_t capacity = 0, config = {}) : c_(capacity) {}

  void reserve_slots(std::size_t n) {
    links_.reserve_slots(n);
    if (n > list_.size()) {
      hash_.resize(n);
      weight_.resize(n);
      list_.resize(n, none);
    }
  }
  /// Reads the cache's key hashes instead of keeping its own (policy.hpp).
  void use_key_hashes(key_hash_view v) noexcept { hash_.bind(v); }

  /// Cases II and III: a ghost hit adapts p and forgets the ghost.
  void on_miss(const access& a) { note_miss(a); }

  /// Case I.
  void on_access(slot_id s, const access& a) {
    if (list_[s] == t1) {
      t1_.remove(links_, s);
      t1w_ -= weight_[s];
      weight_.set(s, a.weight);
      t2_.push_front(links_, s);
      t2w_ += weight_[s];
      list_[s] = t2;
    } else {
      t2_.move_to_front(links_, s);
      t2w_ += a.weight - weight_[s];  // modular arithmetic: also right for a decrease
      weight_.set(s, a.weight);
    }
  }

  [[nodiscard]] slot_id victim(const access& incoming) {
    if (!(pending_valid_ && pending_hash_ == incoming.key_hash)) note_miss(incoming);
    ghost_evict_ = true;
    if (pending_ghost_ != none) return replace();  // cases II / III
    // Case IV.
    const std::uint64_t l1 = t1w_ + ghosts_.weight(b1);
    if (l1 + incoming.weight > c_) {
      if (!ghosts_.empty(b1)) {  // A, |T1| < c
        ghosts_.pop_back(b1);
        return replace();
      }
      ghost_evict_ = false;  // A, |T1| = c: evict T1's LRU for good
      return t1_.back() != no_slot ? t1_.back() : t2_.back();
    }
    // B
    if (l1 + t2w_ + ghosts_.weight(b2) >= 2 * c_ && !ghosts_.empty(b2)) ghosts_.pop_back(b2);
    return replace();
  }

  void on_evict(slot_id s) {
    const std::uint8_t l = list_[s];
    unlink(s);
    if (ghost_evict_) ghosts_.push_front(l == t1 ? b1 : b2, hash_[s], weight_[s]);
    ghost_evict_ = true;
  }

  void on_erase(slot_id s) { unlink(s); }

  void on_insert(slot_id s, const access& a) {
    if (!(pending_valid_ && pending_hash_ == a.key_hash)) note_miss(a);
    place(s, a, pending_ghost_ != none);  // a ghost hit goes to T2
    pending_valid_ = false;
    pending_ghost_ = none;
  }

  /// A resident handed over by another policy (the learned policy's wake), not a
  /// request: p does not adapt (a ghost of the key is dropped: it is resident now).
  /// `frequent` (requested more than once, as far as the caller knows) puts it in T2, as
  /// ARC would have after its second request; otherwise it joins T1. Called from least
  /// to most recently used.
  void adopt(slot_id s, const access& a, bool frequent) {
    ghosts_.erase(a.key_hash);
    place(s, a, frequent);
  }

  void clear() {
    links_.reset();
    t1_.reset();
    t2_.reset();
    t1w_ = t2w_ = 0;
    ghosts_.clear();
    p_ = 0;
    pending_valid_ = false;
    pending_ghost_ = none;
    ghost_evict_ = true;
    std::fill(list_.begin(), list_.end(), none);
  }

  /// Room for weights other than 1, in the slots' column and the ghosts' (policy.hpp).
  void reserve_weight(std::uint64_t) {
    weight_.materialise();
    ghosts_.reserve_weight();
  }

  [[nodiscard]] std::size_t metadata_bytes_per_entry() const {
    return detail::slot_links::bytes_per_slot + hash_.bytes_per_slot() + weight_.bytes_per_index() + 1 +
           ghosts_.bytes_per_entry();
  }

  /// The slots the policy holds, T1 then T2 (for cache::check_invariants; O(n), allocates).
  [[nodiscard]] std::vector<slot_id> resident_slots() const {
    std::vector<slot_id> out;
    t1_.append_to(links_, out);
    t2_.append_to(links_, out);
    return out;
  }

  // Introspection for tests and explanations.
  [[nodiscard]] double target() const { return p_; }
  [[nodiscard]] bool in_t1(slot_id s) const { return list_[s] == t1; }
  [[nodiscard]] bool in_t2(slot_id s) const { return list_[s] == t2; }
  [[nodiscard]] bool in_b1(std::uint64_t key_hash) const { return ghosts_.find(key_hash) == b1; }
  [[nodiscard]] bool in_b2(std::uint64_t key_hash) const { return ghosts_.find(key_hash) == b2; }
  [[nodiscard]] std::uint64_t t1_weight() const { return t1w_; }
  [[nodiscard]] std::uint64_t t2_weight() const { return t2w_; }
  [[nodiscard]] std::uint64_t b1_weight() const { return ghosts_.weight(b1); }
  [[nodiscard]] std::uint64_t b2_weight() const { return ghosts_.weight(b2); }

 private:
  using ghost_t = detail::ghost_lists<2>;
  static constexpr std::uint8_t t1 = 0, t2 = 1, none = 0xff;
  static constexpr std::size_t b1 = 0, b2 = 1;  // ghost list ids

  void note_miss(const access& a) {
    pending_valid_ = true;
    pending_hash_ = a.key_hash;
    pending_ghost_ = none;
    const int g = ghosts_.find(a.key_hash);
    if (g == ghost_t::absent) return;
    const double w1 = static_cast<double>(ghosts_.weight(b1));
    const double w2 = static_cast<double>(ghosts_.weight(b2));
    // (w1 > 0 when x is in B1 and w2 > 0 when x is in B2, unless weights are zero.)
    if (g == static_cast<int>(b1)) {
      p_ = std::min(p_ + (w1 > 0 ? std::max(w2 / w1, 1.0) : 1.0), static_cast<double>(c_));
    } else {
      p_ = std::max(p_ - (w2 > 0 ? std::max(w1 / w2, 1.0) : 1.0), 0.0);
    }
    ghosts_.erase(a.key_hash);
    pending_ghost_ = static_cast<std::uint8_t>(g);
  }

  // REPLACE(x, p): which of T1's and T2's LRU entries to evict.
  [[nodiscard]] slot_id replace() const {
    const double t1w = static_cast<double>(t1w_);
    const bool from_t1 = (t1w_ > 0 && (t1w > p_ || (t1w == p_ && pending_ghost_ == b2))) || t2w_ == 0;
    const slot_id s = from_t1 ? t1_.back() : t2_.back();
    // Zero-weight entries aside, the chosen list is never empty here; be safe anyway.
    return s != no_slot ? s : (from_t1 ? t2_.back() : t1_.back());
  }

  // Puts slot s, holding a's key, at the MRU end of T2 or T1.
  void place(slot_id s, const access& a, bool in_t2) {
    hash_.set(s, a.key_hash);
    weight_.set(s, a.weight);
    (in_t2 ? t2_ : t1_).push_front(links_, s);
    (in_t2 ? t2w_ : t1w_) += a.weight;
    list_[s] = in_t2 ? t2 : t1;
  }

  void unlink(slot_id s) {
    if (list_[s] == t1) {
      t1_.remove(links_, s);
      t1w_ -= weight_[s];
    } else {
      t2_.remove(links_, s);
      t2w_ -= weight_[s];
    }
    list_[s] = none;
  }

  std::uint64_t c_;
  double p_ = 0;
  detail::slot_links links_;
  detail::slot_list t1_, t2_;  // front: MRU
  std::uint64_t t1w_ = 0, t2w_ = 0;
  ghost_t ghosts_;             // list b1 = B1, list b2 = B2; front: MRU
  detail::hash_column hash_;
  detail::weight_column weight_;
  std::vector<std::uint8_t> list_;
  bool pending_valid_ = false;  // note_miss ran for pending_hash_
  std::uint8_t pending_ghost_ = none;  // where that key was found: b1, b2 or none
  std::uint64_t pending_hash_ = 0;
  bool ghost_evict_ = true;  // the next on_evict remembers the victim as a ghost
};

static_assert(eviction_policy<arc>);
static_assert(has_miss_hook<arc>);

}  // namespace prescient::policy
