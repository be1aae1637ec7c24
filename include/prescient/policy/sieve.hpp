// prescient/policy/sieve.hpp — SIEVE: a FIFO queue, a visited bit and a moving hand.
//
// Yazhuo Zhang, Juncheng Yang, Yao Yue, Ymir Vigfusson, K. V. Rashmi, "SIEVE is simpler
// than LRU: an efficient turn-key eviction algorithm for web caches", NSDI 2024.
//
// New entries enter at the head of one queue and are never moved: a hit only sets the
// entry's visited bit (no list write, so hits are cheap and lock-friendly). To evict, a
// hand walks from its position towards the head; a visited entry is kept *in place* and
// its bit cleared; the first unvisited entry is the victim, and the hand stays just past
// it (at its neighbour towards the head). When the hand falls off the head it wraps to
// the tail. Unlike CLOCK, survivors are not moved to the head, so the queue keeps new
// entries (between the hand and the head) apart from old survivors (behind the hand):
// one-hit wonders near the head are swept out quickly ("quick demotion") while popular
// objects stay ("lazy promotion").
//
//   head (newest) ── … ── [hand] ── … ── tail (oldest)
//                  ◄──── the hand moves this way, then wraps to the tail
//
// Details as in libCacheSim's Sieve.c: the hand starts at the tail; after an eviction it
// points to the victim's neighbour towards the head (none: restart from the tail next
// time); erasing the entry under the hand moves the hand the same way.
//
// Reproduces libCacheSim's cloudphysics figures exactly: 0.8288 / 0.8169 / 0.7886 at
// 500 / 2500 / 5000 objects.
//
// Cost: O(1) amortised per eviction (each step of the hand clears a bit set by a hit),
// nothing on a hit but a byte store. Per slot: 8 bytes of links + 1 visited byte = 9
// bytes. No parameters. With weights the cache simply asks for victims until the new
// entry fits.
#pragma once

#include <atomic>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "prescient/policy/detail/slot_list.hpp"
#include "prescient/policy/policy.hpp"

namespace prescient::policy {

class sieve {
 public:
  struct config {};  ///< SIEVE has no parameters.
  static constexpr std::string_view name = "sieve";

  explicit sieve(std::uint64_t /*capacity*/ = 0, config = {}) {}

  void reserve_slots(std::size_t n) {
    links_.reserve_slots(n);
    if (n > visited_.size()) visited_.resize(n, 0);
  }
  void on_insert(slot_id s, const access&) {
    queue_.push_front(links_, s);
    set_visited(s, 0);
  }
  void on_access(slot_id s, const access&) { on_access_lockfree(s); }
  /// A hit without the cache's lock (policy.hpp, has_lockfree_hit): the bit is stored
  /// only when it was clear.
  void on_access_lockfree(slot_id s) noexcept {
    if (visited_byte(s) == 0) set_visited(s, 1);
  }

  [[nodiscard]] slot_id victim(const access&) {
    slot_id s = hand_ == no_slot ? queue_.back() : hand_;
    assert(s != no_slot);
    while (visited_byte(s) != 0) {
      set_visited(s, 0);
      s = links_.prev(s);
      if (s == no_slot) s = queue_.back();
    }
    hand_ = s;  // on_evict moves it one step on
    return s;
  }

  void on_evict(slot_id s) { remove(s); }
  void on_erase(slot_id s) { remove(s); }

  void clear() {
    links_.reset();
    queue_.reset();
    hand_ = no_slot;
  }
  [[nodiscard]] std::size_t metadata_bytes_per_entry() const { return detail::slot_links::bytes_per_slot + 1; }

  /// The slots the policy holds (for cache::check_invariants; O(n), allocates).
  [[nodiscard]] std::vector<slot_id> resident_slots() const {
    std::vector<slot_id> out;
    queue_.append_to(links_, out);
    return out;
  }

  // Introspection for tests.
  [[nodiscard]] bool visited(slot_id s) const { return visited_byte(s) != 0; }
  [[nodiscard]] slot_id hand() const { return hand_; }

 private:
  // Every access to a visited byte is atomic (relaxed): concurrent_cache's lock-free
  // hits set it while a lookup under the lock may read or set it (a plain byte move on
  // x86 and ARM; `cache` pays nothing).
  [[nodiscard]] std::uint8_t visited_byte(slot_id s) const noexcept {
    return std::atomic_ref<std::uint8_t>(const_cast<std::uint8_t&>(visited_[s])).load(std::memory_order_relaxed);
  }
  void set_visited(slot_id s, std::uint8_t v) noexcept {
    std::atomic_ref<std::uint8_t>(visited_[s]).store(v, std::memory_order_relaxed);
  }

  void remove(slot_id s) {
    if (hand_ == s) hand_ = links_.prev(s);
    queue_.remove(links_, s);
  }

  detail::slot_links links_;
  detail::slot_list queue_;  // front: newest
  std::vector<std::uint8_t> visited_;
  slot_id hand_ = no_slot;   // no_slot: start from the tail
};

static_assert(eviction_policy<sieve>);

}  // namespace prescient::policy
