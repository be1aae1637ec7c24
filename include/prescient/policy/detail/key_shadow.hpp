// prescient/policy/detail/key_shadow.hpp — any eviction policy over 64-bit keys alone,
// with weights: the learned policy's panel of heuristics (policy/learned/panel.hpp).
//
// Like key_lru, it answers one question per request — would this policy alone have hit?
// — and stores no values: a key index (slot_index), the key and weight per slot, and the
// policy's own per-slot metadata. It drives the policy through the core's protocol
// (on_miss → [victim → admit → on_evict]* → on_insert; on_access on a hit), so it decides
// exactly as `cache<std::uint64_t, …, P>` with the same weights would: a weight of 0
// counts as 1, a key heavier than the capacity is never cached, and a victim the policy's
// admission prefers keeps its place.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "prescient/detail/slot_index.hpp"
#include "prescient/policy/policy.hpp"

namespace prescient::policy::detail {

template <eviction_policy P>
class key_shadow {
 public:
  /// Bytes per key held beside the policy's own: key and weight, and the index at load ≤ ½.
  static constexpr std::size_t own_bytes_per_entry =
      2 * sizeof(std::uint64_t) + 2 * prescient::detail::slot_index::bytes_per_bucket;

  explicit key_shadow(std::uint64_t capacity, typename P::config cfg = {})
      : capacity_(capacity), policy_(capacity, std::move(cfg)) {
    reserve(static_cast<std::size_t>(std::min<std::uint64_t>(capacity, std::uint64_t{1} << 20)));
  }

  void reserve(std::size_t n) {
    index_.reserve(n);
    key_.reserve(n);
    weight_.reserve(n);
    free_.reserve(n);
    policy_.reserve_slots(n);
  }

  /// A request of `key` at logical time `time`: true on a hit; on a miss the key is
  /// inserted with `weight` when it fits and the policy admits it.
  bool request(std::uint64_t key, std::uint64_t weight, std::uint64_t time) {
    weight = std::max<std::uint64_t>(weight, 1);
    const access a{key, time, weight, access::unknown};
    const slot_id s = find(key);
    if (s != no_slot) {
      policy_.on_access(s, a);
      return true;
    }
    if constexpr (has_miss_hook<P>) policy_.on_miss(a);
    if (weight > capacity_) return false;
    while (total_ + weight > capacity_) {
      const slot_id v = policy_.victim(a);
      if constexpr (has_admission<P>) {
        if (!policy_.admit(a, v)) return false;
      }
      policy_.on_evict(v);
      remove(v);
    }
    slot_id n;
    if (!free_.empty()) {
      n = free_.back();
      free_.pop_back();
    } else {
      n = static_cast<slot_id>(key_.size());
      key_.push_back(0);
      weight_.push_back(0);
      if (key_.capacity() > reserved_) {
        reserved_ = key_.capacity();
        policy_.reserve_slots(reserved_);
        if (free_.capacity() < reserved_) free_.reserve(reserved_);  // remove never allocates
      }
    }
    key_[n] = key;
    weight_[n] = weight;
    total_ += weight;
    index_.insert(key, n);
    policy_.on_insert(n, a);
    return false;
  }

  [[nodiscard]] bool contains(std::uint64_t key) const { return find(key) != no_slot; }
  [[nodiscard]] std::size_t size() const { return key_.size() - free_.size(); }
  [[nodiscard]] std::uint64_t weight() const { return total_; }
  [[nodiscard]] std::uint64_t capacity() const { return capacity_; }
  [[nodiscard]] std::size_t bytes_per_entry() const { return own_bytes_per_entry + policy_.metadata_bytes_per_entry(); }

  void clear() {
    index_.clear();
    policy_.clear();
    free_.clear();
    for (std::size_t s = key_.size(); s-- > 0;) free_.push_back(static_cast<slot_id>(s));
    total_ = 0;
  }

 private:
  [[nodiscard]] slot_id find(std::uint64_t key) const {
    return index_.find(key, [&](slot_id s) { return key_[s] == key; });
  }

  void remove(slot_id s) {
    index_.erase(key_[s], s);
    total_ -= weight_[s];
    free_.push_back(s);
  }

  std::uint64_t capacity_;
  std::uint64_t total_ = 0;
  std::size_t reserved_ = 0;
  P policy_;
  prescient::detail::slot_index index_;
  std::vector<std::uint64_t> key_;     // per slot
  std::vector<std::uint64_t> weight_;  // per slot
  std::vector<slot_id> free_;          // slots not holding a key
};

}  // namespace prescient::policy::detail
