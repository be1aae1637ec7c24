// prescient/policy/detail/key_lru.hpp — LRU over 64-bit keys alone, with weights: the
// learned policy's shadow in its duel against LRU (policy/learned.hpp).
//
// It answers one question per request — would LRU alone have hit? — so it stores no
// values, only each key, its weight and its place in the recency order: a key index
// (slot_index, the cache's own), 16 bytes of key and weight and 8 of links per entry.
// Keys are already well-mixed hashes, so they index the table as they are.
//
// It decides exactly as `cache<std::uint64_t, …, lru>` with the same weights would: a
// weight of 0 counts as 1, a key heavier than the capacity is never cached, and least
// recently used keys leave until a newcomer fits. A general cache cost the learned
// policy a quarter of its bookkeeping per request; this one does the same work with
// one probe and no slab of optional entries.
//
// Memory grows with the entries held (amortised; `reserve` sizes it up front) and is
// never given back; no operation allocates once the arrays have reached their size.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "prescient/detail/slot_index.hpp"
#include "prescient/policy/detail/slot_list.hpp"
#include "prescient/policy/policy.hpp"

namespace prescient::policy::detail {

class key_lru {
 public:
  /// Bytes per key held: key and weight, links, and the index at load ≤ ½.
  static constexpr std::size_t bytes_per_entry =
      2 * sizeof(std::uint64_t) + slot_links::bytes_per_slot + 2 * prescient::detail::slot_index::bytes_per_bucket;

  /// `capacity`: the total weight held.
  explicit key_lru(std::uint64_t capacity) : capacity_(capacity) {}

  /// Sizes the arrays for `n` keys.
  void reserve(std::size_t n) {
    index_.reserve(n);
    key_.reserve(n);
    weight_.reserve(n);
    free_.reserve(n);
    links_.reserve_slots(n);
  }

  /// A request of `key`: true on a hit (the key becomes most recently used); on a miss
  /// the key is inserted with `weight` (if it fits at all) and false returned.
  bool request(std::uint64_t key, std::uint64_t weight) {
    const slot_id s = find(key);
    if (s != no_slot) {
      order_.move_to_front(links_, s);
      return true;
    }
    insert(key, weight);
    return false;
  }

  /// An insertion that is not a request (a put of new data, a prefetch): the key is
  /// inserted, or takes the new weight, and becomes most recently used; a key that no
  /// longer fits at all leaves.
  void put(std::uint64_t key, std::uint64_t weight) {
    weight = std::max<std::uint64_t>(weight, 1);
    const slot_id s = find(key);
    if (s == no_slot) {
      insert(key, weight);
      return;
    }
    if (weight > capacity_) {
      remove(s);
      return;
    }
    total_ = total_ - weight_[s] + weight;
    weight_[s] = weight;
    order_.move_to_front(links_, s);
    while (total_ > capacity_) remove(order_.back());  // never `s`: it fits alone
  }

  [[nodiscard]] bool contains(std::uint64_t key) const { return find(key) != no_slot; }
  [[nodiscard]] std::size_t size() const { return order_.size(); }
  [[nodiscard]] std::uint64_t weight() const { return total_; }
  [[nodiscard]] std::uint64_t capacity() const { return capacity_; }

  void clear() {
    index_.clear();
    links_.reset();
    order_.reset();
    free_.clear();
    for (std::size_t s = key_.size(); s-- > 0;) free_.push_back(static_cast<slot_id>(s));
    total_ = 0;
  }

 private:
  [[nodiscard]] slot_id find(std::uint64_t key) const {
    return index_.find(key, [&](slot_id s) { return key_[s] == key; });
  }

  void insert(std::uint64_t key, std::uint64_t weight) {
    weight = std::max<std::uint64_t>(weight, 1);
    if (weight > capacity_) return;  // too heavy for the cache: LRU alone would not keep it
    while (total_ + weight > capacity_) remove(order_.back());
    slot_id s;
    if (!free_.empty()) {
      s = free_.back();
      free_.pop_back();
    } else {
      s = static_cast<slot_id>(key_.size());
      key_.push_back(0);
      weight_.push_back(0);
      links_.reserve_slots(key_.capacity());
      if (free_.capacity() < key_.capacity()) free_.reserve(key_.capacity());  // remove never allocates
    }
    key_[s] = key;
    weight_[s] = weight;
    total_ += weight;
    index_.insert(key, s);
    order_.push_front(links_, s);
  }

  void remove(slot_id s) {
    order_.remove(links_, s);
    index_.erase(key_[s], s);
    total_ -= weight_[s];
    free_.push_back(s);
  }

  std::uint64_t capacity_;
  std::uint64_t total_ = 0;
  prescient::detail::slot_index index_;
  std::vector<std::uint64_t> key_;     // per slot
  std::vector<std::uint64_t> weight_;  // per slot
  std::vector<slot_id> free_;          // slots not holding a key
  slot_links links_;
  slot_list order_;  // front: most recently used
};

}  // namespace prescient::policy::detail
