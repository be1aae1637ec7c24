// prescient/policy/learned/young_entries.hpp — the entries a ranking examines because
// they are young, and the puts it must not evict before their request.
//
// A ranking draws most of its candidates at random among the residents, and a one-hit
// wonder is then examined only when a draw finds it or it reaches the recency tail. So
// every inserted entry joins a ring of insertions (a FIFO, as S3-FIFO's small queue);
// one that leaves it `depth` × entries insertions later without a request since is
// *ready*, and each ranking takes up to `candidates` ready entries first, the newest
// first. An entry inserted by a put (a write, a prefetch) rather than a request is in
// its *grace* until it is requested or leaves the ring: its history says when it was
// last requested — long ago, or never — so a model would score it as the farthest and
// evict it before the request it was loaded for.
//
// The ring has places for `depth` × the slots the policy may hold, and two to spare, so
// it never allocates once sized and is never full when an entry joins (it held a place
// per slot before 2026-12-06: the same decisions, 8 bytes a slot more). The ready
// entries wait in a ring of a few rankings' worth (4 × `candidates`), the oldest dropped
// when it is full. Whether an entry is still the one filed (resident, not requested
// since) is the owner's to say, through `live(stamped_slot)`: the learned policy bumps a
// slot's stamp on every request and insertion.
//
// Cost: O(1) amortised per insertion; a ranking's take is O(candidates) amortised.
// Memory: the ring's places (8 bytes each) and a grace byte per slot.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "prescient/policy/learned/fixed_ring.hpp"
#include "prescient/policy/policy.hpp"

namespace prescient::policy::detail {

/// A slot and its owner's stamp when it was filed: another stamp now means the entry was
/// requested, or replaced, since.
struct stamped_slot {
  slot_id slot;
  std::uint32_t stamp;
};

class young_entries {
 public:
  /// `candidates`: ready entries a ranking takes at most (0: none are tracked, and no
  /// entry is ever in grace); `depth`: the share of the resident entries an insertion
  /// waits, in insertions, before it is ready.
  young_entries(std::size_t candidates = 0, double depth = 0.1) : candidates_(candidates), depth_(depth) {
    ready_.resize(std::max<std::size_t>(1, 4 * candidates_));
  }

  [[nodiscard]] bool enabled() const { return candidates_ > 0; }

  /// Room for slots [0, n): the ring's places and the grace flags.
  void reserve_slots(std::size_t n) {
    if (!enabled()) return;
    ring_.resize(std::min(n, static_cast<std::size_t>(depth_ * static_cast<double>(n)) + 2));
    if (n > grace_.size()) grace_.resize(n, 0);
  }

  /// Slot `s` (stamp `stamp` now) was inserted, by a request (`requested`) or a put;
  /// `residents` entries are resident with it. Entries pushed out of the ring that are
  /// still `live` become ready.
  template <class Live>
  void inserted(slot_id s, std::uint32_t stamp, bool requested, std::size_t residents, Live&& live) {
    if (!enabled()) return;
    grace_[s] = requested ? 0 : 1;
    const std::size_t capacity = ring_.capacity();
    if (capacity == 0) return;
    const std::size_t depth =
        std::clamp<std::size_t>(static_cast<std::size_t>(depth_ * static_cast<double>(residents)), 1, capacity);
    if (ring_.full()) leave_ring(live);
    ring_.push_back(stamped_slot{s, stamp});
    while (ring_.size() > depth) leave_ring(live);
  }

  /// Slot `s` was requested: a put's grace ends.
  void requested(slot_id s) {
    if (!grace_.empty()) grace_[s] = 0;
  }

  /// Whether the entry in slot `s` is a put in its grace (see the header comment).
  [[nodiscard]] bool in_grace(slot_id s) const { return !grace_.empty() && grace_[s] != 0; }

  /// Appends to `out` up to `most` ready entries that are still `live`, newest first;
  /// those taken, and the dead ones met on the way, are ready no more.
  template <class Live>
  void take(std::size_t most, std::vector<slot_id>& out, Live&& live) {
    for (std::size_t taken = 0; taken < most && !ready_.empty();) {
      const stamped_slot y = ready_.pop_back();
      if (live(y)) {
        out.push_back(y.slot);
        ++taken;
      }
    }
  }

  /// Forgets every entry (the cache was cleared); the sizes stay.
  void clear() {
    ring_.clear();
    ready_.clear();
    std::fill(grace_.begin(), grace_.end(), std::uint8_t{0});
  }

  /// Bytes per slot, for `slots` slots: the ring's share and the grace flag.
  [[nodiscard]] std::size_t bytes_per_slot(std::size_t slots) const {
    if (!enabled()) return 0;
    slots = std::max<std::size_t>(slots, 1);
    return (ring_.capacity() * sizeof(stamped_slot) + slots - 1) / slots + sizeof(std::uint8_t);
  }

 private:
  template <class Live>
  void leave_ring(Live& live) {
    const stamped_slot y = ring_.pop_front();
    if (!live(y)) return;  // gone, or requested
    grace_[y.slot] = 0;    // a put's grace ends here
    ready_.push_back(y);   // when full, the oldest waiting is dropped
  }

  std::size_t candidates_;
  double depth_;
  fixed_ring<stamped_slot> ring_;   // insertions, oldest first
  fixed_ring<stamped_slot> ready_;  // left the ring unrequested: candidates, newest taken first
  std::vector<std::uint8_t> grace_;  // per slot: a put neither requested nor out of the ring since
};

}  // namespace prescient::policy::detail
