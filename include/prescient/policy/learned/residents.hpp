// prescient/policy/learned/residents.hpp — the learned policy's resident slots: which
// are resident, in recency order, in a dense list to draw from uniformly, and each with
// a stamp that moves on every request.
//
// The stamp is what makes a slot filed earlier (a ranking's victim, a young candidate,
// a hand-over's disowned resident) safe to act on later: `live` holds while the slot is
// resident and has not been requested — nor emptied and refilled — since it was filed.
// The recency order gives the least recently used (LRU as a panel member, the ranking's
// tail candidates, the order in which a woken heuristic is handed the residents); the
// dense list gives random candidates and training samples in O(1), a removal moving its
// last element into the gap.
//
// Per slot: the stamp and the place in the dense list (4 bytes each), the dense list's
// entry (4) and two recency links (8): 20 bytes.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

#include "prescient/policy/detail/slot_list.hpp"
#include "prescient/policy/learned/young_entries.hpp"
#include "prescient/policy/policy.hpp"

namespace prescient::policy::detail {

class residents {
 public:
  /// Bytes per slot: stamp, place in the dense list, the dense list's entry, links.
  static constexpr std::size_t bytes_per_slot = 2 * sizeof(std::uint32_t) + sizeof(slot_id) + slot_links::bytes_per_slot;

  void reserve_slots(std::size_t n) {
    links_.reserve_slots(n);
    if (n > stamp_.size()) {
      stamp_.resize(n, 0);
      place_.resize(n, not_resident);
      dense_.reserve(n);
    }
  }

  [[nodiscard]] std::size_t size() const noexcept { return dense_.size(); }
  [[nodiscard]] bool empty() const noexcept { return dense_.empty(); }

  /// Slot `s` becomes resident, the most recently used, with a new stamp.
  void enter(slot_id s) {
    ++stamp_[s];
    place_[s] = static_cast<std::uint32_t>(dense_.size());
    dense_.push_back(s);
    recency_.push_front(links_, s);
  }
  /// Resident slot `s` was requested: the most recently used, with a new stamp.
  void touch(slot_id s) {
    ++stamp_[s];
    recency_.move_to_front(links_, s);
  }
  /// Resident slot `s` leaves (its stamp stays: a refill moves it).
  void leave(slot_id s) {
    const std::uint32_t at = place_[s];
    const slot_id last = dense_.back();
    dense_[at] = last;
    place_[last] = at;
    dense_.pop_back();
    place_[s] = not_resident;
    recency_.remove(links_, s);
  }
  /// No slot is resident (stamps are kept).
  void clear() {
    dense_.clear();
    std::fill(place_.begin(), place_.end(), not_resident);
    links_.reset();
    recency_.reset();
  }

  [[nodiscard]] std::uint32_t stamp(slot_id s) const noexcept { return stamp_[s]; }
  [[nodiscard]] bool resident(slot_id s) const noexcept { return s < place_.size() && place_[s] != not_resident; }
  /// Still the entry filed: resident, and not requested (nor replaced) since.
  [[nodiscard]] bool live(stamped_slot y) const noexcept {
    return place_[y.slot] != not_resident && stamp_[y.slot] == y.stamp;
  }

  /// The least recently used (no_slot when none is resident).
  [[nodiscard]] slot_id lru() const noexcept { return recency_.back(); }
  /// The next more recently used after resident `s` (no_slot after the most recent).
  [[nodiscard]] slot_id newer(slot_id s) const noexcept { return links_.prev(s); }
  /// Calls f(s) on every resident slot, least recently used first.
  template <class F>
  void for_each_lru_first(F&& f) const {
    for (slot_id s = recency_.back(); s != no_slot; s = links_.prev(s)) f(s);
  }
  /// The resident slots, most recently used first (O(n), allocates).
  [[nodiscard]] std::vector<slot_id> by_recency() const {
    std::vector<slot_id> out;
    out.reserve(dense_.size());
    recency_.append_to(links_, out);
    return out;
  }

  /// The i-th of the dense list (i < size()): every resident once, in no useful order.
  [[nodiscard]] slot_id at(std::size_t i) const noexcept { return dense_[i]; }
  /// A resident drawn by `random` (uniform over the residents for a uniform draw).
  [[nodiscard]] slot_id drawn(std::uint64_t random) const noexcept {
    return dense_[static_cast<std::size_t>(random % dense_.size())];
  }

 private:
  static constexpr std::uint32_t not_resident = std::numeric_limits<std::uint32_t>::max();

  std::vector<std::uint32_t> stamp_;  // per slot: bumped on every request and every fill
  std::vector<std::uint32_t> place_;  // per slot: index in dense_, or not_resident
  std::vector<slot_id> dense_;        // the resident slots
  slot_links links_;                  // recency order
  slot_list recency_;                 // front: most recently used
};

}  // namespace prescient::policy::detail
