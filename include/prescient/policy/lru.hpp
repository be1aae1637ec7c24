// prescient/policy/lru.hpp — least recently used.
//
// Every hit and every assignment moves the entry to the front of one list; the victim
// is the back. This is true LRU: `get` promotes (several popular "LRU" libraries only
// order by insertion, which is FIFO).
//
// Cost: O(1) per request, no allocation; 8 bytes of metadata per slot (prev and next
// slot ids).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "prescient/policy/detail/slot_list.hpp"
#include "prescient/policy/policy.hpp"

namespace prescient::policy {

class lru {
 public:
  struct config {};  ///< LRU has no parameters.
  static constexpr std::string_view name = "lru";

  explicit lru(std::uint64_t /*capacity*/ = 0, config = {}) {}

  void reserve_slots(std::size_t n) { links_.reserve_slots(n); }
  void on_insert(slot_id s, const access&) { order_.push_front(links_, s); }
  void on_access(slot_id s, const access&) { order_.move_to_front(links_, s); }
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
  detail::slot_list order_;  // front: most recently used
};

static_assert(eviction_policy<lru>);

}  // namespace prescient::policy
