// prescient/detail/timer_wheel.hpp — deadlines of slots, expired in order, O(1) amortised.
//
// A hierarchical timer wheel (Varghese and Lauck, SOSP 1987; Caffeine's
// TimerWheel) made exact: `expire(now, f)` hands over every slot whose deadline is
// ≤ now, and no other.
//
//   11 levels of 64 circular buckets; a bucket of level i covers 64^i ns of deadlines
//   (level 3, the lowest used: 0.26 ms each; level 5: 1.07 s; level 6: 68.7 s)
//   cursor c: the time the wheel has been advanced to
//   a slot with deadline D ≥ c lives at the lowest level i where D's window is fewer than
//   64 windows ahead of c's, (D >> 6i) − (c >> 6i) ≤ 63, in bucket (D >> 6i) mod 64;
//   each bucket is a doubly linked list of slot ids
//
// So a bucket holds deadlines within 1/64 to 1 of the slot's time to live of each
// other (a minute's time to live: buckets of about a second), never a whole cache. The
// earliest bucket of a level is the first occupied one from c's digit on (one rotate and
// one count of trailing zeros of the level's occupancy word); the earliest of all is
// the earliest of the 11. Advancing: take the earliest bucket; move c to its start and
// re-place its slots, which land on lower levels (a cascade: they now share c's window
// at level i); a bucket of the lowest level used (level 3: 0.26 ms) goes to the near
// heap below, which orders deadlines exactly. Each slot is re-placed at most 7 times
// (2 or 3 for times to live of seconds to hours) and expired once: O(1) amortised per
// scheduled deadline, no scan of the cache.
//
// No pauses: cascading a bucket of 1/64 of the cache at once would still stall one
// request (15,000 moves for a million entries), so the wheel works ahead:
// `lookahead(budget)` (called by the cache once per operation) moves up to `budget`
// slots of the earliest buckets even before they are due, letting the cursor run ahead
// of the clock. Slots taken out of level 3 go to the *near heap*, a binary min-heap by
// deadline of what is due soon (with any slot scheduled before the cursor); the
// lookahead keeps it to about 1/1024 of the slots (at least `near_min`, 256), enough
// for a budget of 32 moves per request to finish a bucket of 1/64 of the slots before
// the clock reaches it, and small enough that the heap's O(log n) stays a few steps. A bucket half cascaded when the budget runs out stays
// *pending* and is finished first. `expire(now)` then has only to finish what the
// lookahead has not reached (nothing, in a steady state) and pop the heap while its top
// is ≤ now.
//
// Memory: a 64-bit occupancy word and 64 list heads per level (2.9 KB), and per slot
// its deadline, two links, its bucket and its heap position (22 bytes), and the heap's
// reserved room (16 bytes: it never allocates).
// The wheel never calls user code except the `on_due` callback of `expire`, and it
// unschedules a slot before calling it, so a throwing callback leaves the wheel
// consistent (the remaining due slots stay in it).
#pragma once

#include <algorithm>
#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "prescient/policy/policy.hpp"

namespace prescient::detail {

class timer_wheel {
 public:
  static constexpr unsigned digit_bits = 6;
  static constexpr unsigned fanout = 1u << digit_bits;
  static constexpr unsigned levels = (64 + digit_bits - 1) / digit_bits;  // 11
  static constexpr std::uint16_t no_bucket = std::numeric_limits<std::uint16_t>::max();
  /// The lowest level used: its buckets (2^18 ns, 0.26 ms) go to the near heap, which
  /// orders them exactly; finer levels would only add cascades.
  static constexpr unsigned floor_level = 3;
  static constexpr std::uint16_t in_near = no_bucket - 1;  ///< in the near heap
  static constexpr std::size_t no_pending = std::numeric_limits<std::size_t>::max();

  /// `near_min`: the near heap's size bound is max(near_min, slots / 64).
  explicit timer_wheel(std::size_t near_min = 256) : near_min_(near_min) { head_.fill(no_slot); }

  /// Slot ids [0, n) may be scheduled from now on.
  void reserve_slots(std::size_t n) {
    if (n <= node_.size()) return;
    node_.reserve(n);
    near_.reserve(n);  // both reserved before either grows: a throw changes nothing
    node_.resize(n);
  }

  /// Bytes per slot: its record and its reserved room in the near heap.
  static constexpr std::size_t bytes_per_slot = 24 + 16;

  [[nodiscard]] bool scheduled(slot_id s) const noexcept { return s < node_.size() && node_[s].bucket != no_bucket; }
  [[nodiscard]] std::uint64_t deadline(slot_id s) const noexcept { return node_[s].deadline; }
  [[nodiscard]] std::uint64_t cursor() const noexcept { return cursor_; }
  [[nodiscard]] std::size_t size() const noexcept { return size_; }

  /// Schedules `s` (not scheduled) to expire at `deadline`.
  void schedule(slot_id s, std::uint64_t deadline) noexcept {
    node_[s].deadline = deadline;
    if (deadline < cursor_) near_push(s);  // the cursor ran ahead: it is due soon
    else place(s);
    ++size_;
  }

  /// Moves a scheduled or unscheduled slot to `deadline`.
  void reschedule(slot_id s, std::uint64_t deadline) noexcept {
    cancel(s);
    schedule(s, deadline);
  }

  /// Forgets `s` (nothing when it is not scheduled).
  void cancel(slot_id s) noexcept {
    if (!scheduled(s)) return;
    if (node_[s].bucket == in_near) near_remove(s);
    else unlink(s);
    --size_;
  }

  /// Calls `on_due(slot)` for every scheduled slot whose deadline is ≤ now, each already
  /// unscheduled when it is called. If `on_due` throws, the slots not yet handed over
  /// stay scheduled and the exception propagates.
  template <class F>
  void expire(std::uint64_t now, F&& on_due) {
    while (step(now)) {
    }
    // Every slot due by now is in the near heap; the wheel holds only later ones.
    while (!near_.empty() && near_[0].deadline <= now) {
      const slot_id s = near_[0].slot;
      near_remove(s);
      --size_;
      on_due(s);
    }
    if (pending_ == no_pending && cursor_ < now) cursor_ = now;  // every wheel slot is > now
  }

  /// Work ahead (see the header comment): moves up to `budget` slots of the earliest
  /// buckets towards the near heap while the heap is small. O(budget); never due slots'
  /// business: it changes no deadline.
  void lookahead(unsigned budget) noexcept {
    for (unsigned i = 0; i < budget && wants_lookahead(); ++i)
      if (!step(std::numeric_limits<std::uint64_t>::max())) return;
  }

  /// Whether lookahead has something to do (two loads: cheap to ask on every request).
  [[nodiscard]] bool wants_lookahead() const noexcept {
    return near_.size() < size_ && near_.size() < std::max<std::size_t>(near_min_, size_ / 1024);
  }

  /// The earliest time at which a slot may be due (a lower bound: the start of the
  /// lowest occupied bucket), or the maximum when nothing is scheduled.
  [[nodiscard]] std::uint64_t next_due() const noexcept {
    const std::uint64_t due = near_.empty() ? std::numeric_limits<std::uint64_t>::max() : near_[0].deadline;
    if (pending_ != no_pending) return std::min(due, cursor_);
    std::size_t b = no_pending;
    return std::min(due, earliest_bucket(b));
  }

  /// Forgets every slot; the cursor stays (time does not go back).
  void clear() noexcept {
    head_.fill(no_slot);
    occupied_.fill(0);
    for (node& x : node_) x.bucket = no_bucket;
    near_.clear();
    pending_ = no_pending;
    size_ = 0;
  }

  /// The wheel's own consistency (lists, links, occupancy, placement), for
  /// cache::check_invariants; appends what is broken to `report`.
  template <class Report>
  void check(Report&& report) const {
    std::size_t n = 0;
    for (unsigned level = 0; level < levels; ++level) {
      for (unsigned digit = 0; digit < fanout; ++digit) {
        const std::size_t b = level * fanout + digit;
        const bool bit = (occupied_[level] >> digit) & 1u;
        if (bit != (head_[b] != no_slot)) report("timer wheel bucket " + std::to_string(b) + " occupancy is wrong");
        slot_id prev = no_slot;
        for (slot_id s = head_[b]; s != no_slot; s = node_[s].next) {
          if (s >= node_.size() || node_[s].bucket != b || node_[s].prev != prev) {
            report("timer wheel bucket " + std::to_string(b) + " has a broken list");
            break;
          }
          const unsigned shift = level * digit_bits;
          if (node_[s].deadline < cursor_) report("timer wheel slot " + std::to_string(s) + " is due before the cursor");
          else if (((node_[s].deadline >> shift) & (fanout - 1)) != digit || (node_[s].deadline >> shift) - (cursor_ >> shift) >= fanout)
            report("timer wheel slot " + std::to_string(s) + " is on the wrong level or bucket");
          if (++n > node_.size()) {
            report("timer wheel lists loop");
            return;
          }
          prev = s;
        }
      }
    }
    for (std::size_t i = 0; i < near_.size(); ++i) {
      const slot_id s = near_[i].slot;
      if (s >= node_.size() || node_[s].bucket != in_near || node_[s].pos != i || near_[i].deadline != node_[s].deadline) {
        report("timer wheel near heap entry " + std::to_string(i) + " is broken");
        continue;
      }
      if (i > 0 && near_[(i - 1) / 2].deadline > near_[i].deadline)
        report("timer wheel near heap is out of order at " + std::to_string(i));
    }
    n += near_.size();
    if (pending_ != no_pending && (pending_ < (floor_level + 1) * fanout || head_[pending_] == no_slot))
      report("timer wheel pending bucket " + std::to_string(pending_) + " is not a cascade in progress");
    if (n != size_) report("timer wheel holds " + std::to_string(n) + " slots but counts " + std::to_string(size_));
  }

 private:
  /// The start of the earliest occupied bucket (≤ c for a bucket whose window holds c),
  /// and in `b` its index; the maximum when the wheel is empty.
  [[nodiscard]] std::uint64_t earliest_bucket(std::size_t& b) const noexcept {
    std::uint64_t best = std::numeric_limits<std::uint64_t>::max();
    for (unsigned level = floor_level; level < levels; ++level) {
      const std::uint64_t occupied = occupied_[level];
      if (occupied == 0) continue;
      const unsigned shift = level * digit_bits;
      const auto digit = static_cast<unsigned>(cursor_ >> shift) & (fanout - 1);
      const auto ahead = static_cast<unsigned>(std::countr_zero(std::rotr(occupied, static_cast<int>(digit))));
      const std::uint64_t start = ((cursor_ >> shift) + ahead) << shift;
      if (start < best) {
        best = start;
        b = level * fanout + ((digit + ahead) & (fanout - 1));
      }
    }
    return best;
  }

  /// One slot of the earliest bucket whose start is ≤ limit (the pending cascade first):
  /// out of the lowest level into the near heap, or down a level. False when there is none.
  bool step(std::uint64_t limit) noexcept {
    std::size_t b = pending_;
    if (b != no_pending) {
      if (cursor_ > limit) return false;  // its slots are ≥ c > limit
    } else {
      const std::uint64_t start = earliest_bucket(b);
      if (b == no_pending || start > limit) return false;
      cursor_ = std::max(cursor_, start);
      if (b >= (floor_level + 1) * fanout) pending_ = b;
    }
    const slot_id s = head_[b];
    unlink(s);
    if (b < (floor_level + 1) * fanout) near_push(s);  // the floor: into the exact heap
    else place(s);                                       // lands on a lower level: never this bucket again
    return true;
  }

  void place(slot_id s) noexcept {
    const std::uint64_t d = node_[s].deadline;
    unsigned level = floor_level;
    while ((d >> (level * digit_bits)) - (cursor_ >> (level * digit_bits)) >= fanout) ++level;
    const unsigned digit = static_cast<unsigned>(d >> (level * digit_bits)) & (fanout - 1);
    const std::size_t b = level * fanout + digit;
    node_[s].bucket = static_cast<std::uint16_t>(b);
    node_[s].prev = no_slot;
    node_[s].next = head_[b];
    if (head_[b] != no_slot) node_[head_[b]].prev = s;
    head_[b] = s;
    occupied_[level] |= std::uint64_t{1} << digit;
  }

  void unlink(slot_id s) noexcept {
    const std::size_t b = node_[s].bucket;
    if (node_[s].prev != no_slot) node_[node_[s].prev].next = node_[s].next;
    else head_[b] = node_[s].next;
    if (node_[s].next != no_slot) node_[node_[s].next].prev = node_[s].prev;
    if (head_[b] == no_slot) {
      occupied_[b / fanout] &= ~(std::uint64_t{1} << (b % fanout));
      if (b == pending_) pending_ = no_pending;
    }
    node_[s].bucket = no_bucket;
  }

  // The near heap: a binary min-heap of slots by deadline, pos_ = each slot's index.
  void near_push(slot_id s) noexcept {
    node_[s].bucket = in_near;
    near_.push_back({node_[s].deadline, s});  // reserved for every slot: never allocates
    sift_up(near_.size() - 1);
  }
  void near_remove(slot_id s) noexcept {
    const std::size_t i = node_[s].pos;
    const near_entry last = near_.back();
    near_.pop_back();
    node_[s].bucket = no_bucket;
    if (i == near_.size()) return;
    near_[i] = last;
    node_[last.slot].pos = static_cast<std::uint32_t>(i);
    sift_up(i);
    sift_down(node_[last.slot].pos);
  }
  void sift_up(std::size_t i) noexcept {
    const near_entry e = near_[i];
    while (i > 0) {
      const std::size_t parent = (i - 1) / 2;
      if (near_[parent].deadline <= e.deadline) break;
      near_[i] = near_[parent];
      node_[near_[i].slot].pos = static_cast<std::uint32_t>(i);
      i = parent;
    }
    near_[i] = e;
    node_[e.slot].pos = static_cast<std::uint32_t>(i);
  }
  void sift_down(std::size_t i) noexcept {
    const near_entry e = near_[i];
    const std::size_t n = near_.size();
    for (;;) {
      std::size_t child = 2 * i + 1;
      if (child >= n) break;
      if (child + 1 < n && near_[child + 1].deadline < near_[child].deadline) ++child;
      if (near_[child].deadline >= e.deadline) break;
      near_[i] = near_[child];
      node_[near_[i].slot].pos = static_cast<std::uint32_t>(i);
      i = child;
    }
    near_[i] = e;
    node_[e.slot].pos = static_cast<std::uint32_t>(i);
  }

  std::uint64_t cursor_ = 0;
  std::size_t size_ = 0;
  std::array<std::uint64_t, levels> occupied_{};
  std::array<slot_id, levels * fanout> head_{};
  /// A slot's wheel state, in one 24-byte record (one cache miss, not five).
  struct node {
    std::uint64_t deadline = 0;
    slot_id next = no_slot;
    slot_id prev = no_slot;
    std::uint32_t pos = 0;                ///< index in near_, when bucket is in_near
    std::uint16_t bucket = no_bucket;
  };
  std::vector<node> node_;
  struct near_entry {
    std::uint64_t deadline;
    slot_id slot;
  };
  static_assert(sizeof(node) + sizeof(near_entry) == bytes_per_slot);
  std::vector<near_entry> near_;     ///< the near heap (deadlines inline: sifting reads only the heap)
  std::size_t pending_ = no_pending;  ///< a bucket being cascaded (its digit is the cursor's)
  std::size_t near_min_;
};

}  // namespace prescient::detail
