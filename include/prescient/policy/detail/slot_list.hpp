// prescient/policy/detail/slot_list.hpp — an intrusive doubly-linked list of slot ids.
//
// Layout: one array indexed by slot of {prev, next} pairs (4 bytes each, so a slot's
// two links share a cache line: a move-to-front touches one line per slot involved),
// and a head and a tail. A slot is in at most one list at a time; a slot that is in no list has
// `prev_ == next_ == unlinked`. Several lists may share one pair of arrays (a
// `slot_list_pool`), which is how segmented policies (S3-FIFO, ARC, SLRU) keep all
// their queues in 8 bytes per slot.
//
// Invariants: head's prev and tail's next are `no_slot`; an empty list has
// head == tail == no_slot; every operation is O(1) and never allocates.
#pragma once

#include <algorithm>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "prescient/policy/policy.hpp"

namespace prescient::policy::detail {

/// The link arrays that one or more `slot_list`s thread through.
class slot_links {
 public:
  static constexpr slot_id unlinked = no_slot - 1;

  void reserve_slots(std::size_t n) {
    if (n > links_.size()) links_.resize(n, link{});
  }
  [[nodiscard]] bool linked(slot_id s) const { return s < links_.size() && links_[s].prev != unlinked; }
  [[nodiscard]] slot_id next(slot_id s) const { return links_[s].next; }
  [[nodiscard]] slot_id prev(slot_id s) const { return links_[s].prev; }
  void reset() { std::fill(links_.begin(), links_.end(), link{}); }
  /// Unlinks every slot and gives the memory back (reserve_slots before the next use).
  void release() { std::vector<link>().swap(links_); }
  static constexpr std::size_t bytes_per_slot = 2 * sizeof(slot_id);

 private:
  friend class slot_list;
  struct link {
    slot_id prev = unlinked;
    slot_id next = unlinked;
  };
  slot_id& prev_of(slot_id s) { return links_[s].prev; }
  slot_id& next_of(slot_id s) { return links_[s].next; }
  std::vector<link> links_;
};

/// A list threaded through a `slot_links`. Front is the most recent insertion.
class slot_list {
 public:
  slot_list() = default;

  [[nodiscard]] bool empty() const { return head_ == no_slot; }
  [[nodiscard]] std::size_t size() const { return size_; }
  [[nodiscard]] slot_id front() const { return head_; }
  [[nodiscard]] slot_id back() const { return tail_; }

  void push_front(slot_links& l, slot_id s) {
    assert(!l.linked(s));
    l.prev_of(s) = no_slot;
    l.next_of(s) = head_;
    if (head_ != no_slot) l.prev_of(head_) = s; else tail_ = s;
    head_ = s;
    ++size_;
  }

  void push_back(slot_links& l, slot_id s) {
    assert(!l.linked(s));
    l.next_of(s) = no_slot;
    l.prev_of(s) = tail_;
    if (tail_ != no_slot) l.next_of(tail_) = s; else head_ = s;
    tail_ = s;
    ++size_;
  }

  void remove(slot_links& l, slot_id s) {
    assert(l.linked(s));
    const slot_id p = l.prev_of(s);
    const slot_id n = l.next_of(s);
    if (p != no_slot) l.next_of(p) = n; else head_ = n;
    if (n != no_slot) l.prev_of(n) = p; else tail_ = p;
    l.prev_of(s) = l.next_of(s) = slot_links::unlinked;
    --size_;
  }

  /// Moves `s` (already in this list) to the front.
  void move_to_front(slot_links& l, slot_id s) {
    if (head_ == s) return;
    remove(l, s);
    push_front(l, s);
  }

  slot_id pop_back(slot_links& l) {
    const slot_id s = tail_;
    if (s != no_slot) remove(l, s);
    return s;
  }

  void reset() { head_ = tail_ = no_slot; size_ = 0; }

  /// Appends the slots of the list to `out`, front to back, following the links: at
  /// most size() + 1 of them, so a broken list (a cycle, a wrong size) shows as a wrong
  /// count rather than a walk without end. For consistency checks, never a request path.
  void append_to(const slot_links& l, std::vector<slot_id>& out) const {
    std::size_t steps = 0;
    for (slot_id s = head_; s != no_slot && s < l.links_.size() && steps <= size_; s = l.links_[s].next, ++steps)
      out.push_back(s);
  }

 private:
  slot_id head_ = no_slot;
  slot_id tail_ = no_slot;
  std::size_t size_ = 0;
};

}  // namespace prescient::policy::detail
