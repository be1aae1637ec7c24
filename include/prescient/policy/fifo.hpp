// prescient/policy/fifo.hpp — first in, first out.
//
// Entries leave in the order they arrived; a hit changes nothing. FIFO is the baseline
// that S3-FIFO and SIEVE improve on, and the cheapest policy there is: a hit touches no
// metadata at all, so hits never write to shared cache lines.
//
// Cost: O(1) per request, no allocation; 8 bytes of metadata per slot (one list).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "prescient/policy/detail/slot_list.hpp"
#include "prescient/policy/policy.hpp"

namespace prescient::policy {

class fifo {
 public:
  struct config {};  ///< FIFO has no parameters.
  static constexpr std::string_view name = "fifo";

  explicit fifo(std::uint64_t /*capacity*/ = 0, config = {}) {}

  void reserve_slots(std::size_t n) { links_.reserve_slots(n); }
  void on_insert(slot_id s, const access&) { order_.push_front(links_, s); }
  void on_access(slot_id, const access&) {}
  void on_evict(slot_id s) { order_.remove(links_, s); }
  void on_erase(slot_id s) { order_.remove(links_, s); }
  [[nodiscard]] slot_id victim(const access&) const { return order_.back(); }
  void clear() { links_.reset(); order_.reset(); }
  [[nodiscard]] std::size_t metadata_bytes_per_entry() const { return detail::slot_links::bytes_per_slot; }

  /// The slots the policy holds (for cache::check_invariants; O(n), allocates).
  [[nodiscard]] std::vector<slot_id> resident_slots() const {
    std::vector<slot_id> out;
    order_.append_to(links_, out);
    return out;
  }

 private:
  detail::slot_links links_;
  detail::slot_list order_;  // front: newest
};

static_assert(eviction_policy<fifo>);

}  // namespace prescient::policy
