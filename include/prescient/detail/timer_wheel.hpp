// prescient/detail/timer_wheel.hpp — deadlines of slots, expired in order, O(1) amortised.
//
// A hierarchical timer wheel whose buckets are chosen by the digits of the deadline
// itself (a radix wheel, as in Varghese and Lauck's hierarchical wheels, SOSP 1987, with
// the placement of a radix heap), so that it is exact: `expire(now, f)` hands over every
// slot whose deadline is ≤ now, and no other, in order of deadline bucket.
//
//   deadline D (64 bits) = 11 digits of 6 bits: d10 d9 … d1 d0
//   cursor c             = the time the wheel was last advanced to (c ≤ now)
//   a slot lives at level i = the highest digit where D and c differ (0 when D == c),
//   in bucket d_i(D) of that level; each bucket is a doubly linked list of slot ids.
//
// Invariants: every scheduled D ≥ c; a slot at level i shares c's digits above i and
// its digit i is larger than c's (at level 0: at least c's). So the earliest deadlines
// are in the lowest non-empty level, in its lowest bucket. Advancing: take that bucket;
// at level 0 every slot in it has D == bucket start, all due; at a higher level, if the
// bucket's start is ≤ now, move the cursor to that start and re-place its slots, which
// land on strictly lower levels (a cascade). Stop when the lowest bucket starts after
// now, then move the cursor to now (every slot left is > now and shares the digits that
// c and now share, so the invariants hold). Each slot is re-placed at most 10 times in
// its life and expired once: O(1) amortised per scheduled deadline, no scan of the
// cache. Finding the lowest non-empty bucket reads at most 11 occupancy words.
//
// Memory: a 64-bit occupancy word and 64 list heads per level (2.9 KB), and per slot
// its deadline, two links and its bucket (20 bytes). The wheel never calls user code
// except the `on_due` callback of `expire`, and it unlinks a slot before calling it, so a
// throwing callback leaves the wheel consistent (the remaining due slots stay in it).
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

  timer_wheel() { head_.fill(no_slot); }

  /// Slot ids [0, n) may be scheduled from now on.
  void reserve_slots(std::size_t n) {
    if (n <= deadline_.size()) return;
    deadline_.reserve(n);
    next_.reserve(n);
    prev_.reserve(n);
    bucket_.reserve(n);  // all four reserved before any grows: a throw changes nothing
    deadline_.resize(n, 0);
    next_.resize(n, no_slot);
    prev_.resize(n, no_slot);
    bucket_.resize(n, no_bucket);
  }

  [[nodiscard]] bool scheduled(slot_id s) const noexcept { return s < bucket_.size() && bucket_[s] != no_bucket; }
  [[nodiscard]] std::uint64_t deadline(slot_id s) const noexcept { return deadline_[s]; }
  [[nodiscard]] std::uint64_t cursor() const noexcept { return cursor_; }
  [[nodiscard]] std::size_t size() const noexcept { return size_; }

  /// Schedules `s` (not scheduled) to expire at `deadline`. A deadline before the cursor
  /// counts as the cursor (due at the next expire).
  void schedule(slot_id s, std::uint64_t deadline) noexcept {
    deadline_[s] = std::max(deadline, cursor_);
    place(s);
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
    unlink(s);
    --size_;
  }

  /// Calls `on_due(slot)` for every scheduled slot whose deadline is ≤ now, each already
  /// unscheduled when it is called. If `on_due` throws, the slots not yet handed over
  /// stay scheduled and the exception propagates.
  template <class F>
  void expire(std::uint64_t now, F&& on_due) {
    if (now < cursor_) return;  // a clock that went back: nothing is due before the cursor
    for (;;) {
      unsigned level = 0;
      while (level < levels && occupied_[level] == 0) ++level;
      if (level == levels) break;
      const auto digit = static_cast<unsigned>(std::countr_zero(occupied_[level]));
      const std::uint64_t start = bucket_start(level, digit);
      if (start > now) break;
      const std::size_t b = level * fanout + digit;
      if (level == 0) {
        cursor_ = start;
        while (head_[b] != no_slot) {
          const slot_id s = head_[b];
          unlink(s);
          --size_;
          on_due(s);
        }
      } else {
        cursor_ = start;
        while (head_[b] != no_slot) {
          const slot_id s = head_[b];
          unlink(s);
          place(s);  // lands on a lower level: never this bucket again
        }
      }
    }
    cursor_ = now;
  }

  /// The earliest time at which a slot may be due (a lower bound: the start of the
  /// lowest occupied bucket), or the maximum when nothing is scheduled.
  [[nodiscard]] std::uint64_t next_due() const noexcept {
    for (unsigned level = 0; level < levels; ++level)
      if (occupied_[level] != 0)
        return bucket_start(level, static_cast<unsigned>(std::countr_zero(occupied_[level])));
    return std::numeric_limits<std::uint64_t>::max();
  }

  /// Forgets every slot; the cursor stays (time does not go back).
  void clear() noexcept {
    head_.fill(no_slot);
    occupied_.fill(0);
    std::fill(bucket_.begin(), bucket_.end(), no_bucket);
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
        for (slot_id s = head_[b]; s != no_slot; s = next_[s]) {
          if (s >= bucket_.size() || bucket_[s] != b || prev_[s] != prev) {
            report("timer wheel bucket " + std::to_string(b) + " has a broken list");
            break;
          }
          if (deadline_[s] < cursor_) report("timer wheel slot " + std::to_string(s) + " is due before the cursor");
          if (++n > bucket_.size()) {
            report("timer wheel lists loop");
            return;
          }
          prev = s;
        }
      }
    }
    if (n != size_) report("timer wheel holds " + std::to_string(n) + " slots but counts " + std::to_string(size_));
  }

 private:
  [[nodiscard]] std::uint64_t bucket_start(unsigned level, unsigned digit) const noexcept {
    const unsigned shift = level * digit_bits;
    const unsigned above = shift + digit_bits;
    const std::uint64_t high = above >= 64 ? 0 : (cursor_ >> above) << above;
    return high | (std::uint64_t{digit} << shift);
  }

  void place(slot_id s) noexcept {
    const std::uint64_t d = deadline_[s];
    const std::uint64_t x = d ^ cursor_;
    const unsigned level = x == 0 ? 0 : static_cast<unsigned>(63 - std::countl_zero(x)) / digit_bits;
    const unsigned digit = static_cast<unsigned>(d >> (level * digit_bits)) & (fanout - 1);
    const std::size_t b = level * fanout + digit;
    bucket_[s] = static_cast<std::uint16_t>(b);
    prev_[s] = no_slot;
    next_[s] = head_[b];
    if (head_[b] != no_slot) prev_[head_[b]] = s;
    head_[b] = s;
    occupied_[level] |= std::uint64_t{1} << digit;
  }

  void unlink(slot_id s) noexcept {
    const std::size_t b = bucket_[s];
    if (prev_[s] != no_slot) next_[prev_[s]] = next_[s];
    else head_[b] = next_[s];
    if (next_[s] != no_slot) prev_[next_[s]] = prev_[s];
    if (head_[b] == no_slot) occupied_[b / fanout] &= ~(std::uint64_t{1} << (b % fanout));
    bucket_[s] = no_bucket;
  }

  std::uint64_t cursor_ = 0;
  std::size_t size_ = 0;
  std::array<std::uint64_t, levels> occupied_{};
  std::array<slot_id, levels * fanout> head_{};
  std::vector<std::uint64_t> deadline_;
  std::vector<slot_id> next_;
  std::vector<slot_id> prev_;
  std::vector<std::uint16_t> bucket_;
};

}  // namespace prescient::detail
