// prescient/policy/lfu.hpp — least frequently used, in O(1).
//
// The constant-time LFU of Shah, Mitra and Matani ("An O(1) algorithm for implementing
// the LFU cache eviction scheme", 2010): entries are grouped in buckets of equal access
// count; the buckets form a list in increasing count order, and each bucket holds its
// entries in a list ordered by recency. A hit moves the entry from bucket f to bucket
// f+1 (created next to f when missing); the victim is the least recently used entry of
// the lowest-count bucket. So ties in frequency are broken by LRU.
//
// Frequency counts start at 1 on insertion and are forgotten on eviction (no history
// outside the cache: that is what W-TinyLFU's sketch adds).
//
// Layout: per slot, prev/next links within its bucket (8 bytes) and the bucket's id
// (4 bytes) = 12 bytes. Buckets live in a pool indexed like slots (a bucket per distinct
// count, so never more buckets than entries); a bucket is {count, first, last, prev, next}.
// No allocation per request once `reserve_slots` has sized the arrays.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "prescient/policy/detail/slot_list.hpp"
#include "prescient/policy/policy.hpp"

namespace prescient::policy {

class lfu {
 public:
  struct config {};  ///< LFU has no parameters.
  static constexpr std::string_view name = "lfu";

  explicit lfu(std::uint64_t /*capacity*/ = 0, config = {}) {}

  void reserve_slots(std::size_t n) {
    links_.reserve_slots(n);
    if (n > bucket_of_.size()) {
      bucket_of_.resize(n, no_bucket);
      // One more bucket than slots: a hit creates bucket f+1 before f may empty.
      buckets_.resize(n + 1);
      free_buckets_.reserve(n + 1);
    }
  }

  void on_insert(slot_id s, const access&) {
    std::uint32_t first = lowest_;
    if (first == no_bucket || buckets_[first].count != 1) first = new_bucket(1, no_bucket, first);
    attach(s, first);
  }

  void on_access(slot_id s, const access&) {
    const std::uint32_t from = bucket_of_[s];
    const std::uint64_t count = buckets_[from].count + 1;
    std::uint32_t to = buckets_[from].next;
    if (to == no_bucket || buckets_[to].count != count) to = new_bucket(count, from, to);
    detach(s);
    attach(s, to);
  }

  void on_evict(slot_id s) { detach(s); }
  void on_erase(slot_id s) { detach(s); }

  /// The least recently used entry among those with the lowest count.
  [[nodiscard]] slot_id victim(const access&) const { return buckets_[lowest_].entries.back(); }

  void clear() {
    links_.reset();
    std::fill(bucket_of_.begin(), bucket_of_.end(), no_bucket);
    free_buckets_.clear();
    next_unused_bucket_ = 0;
    lowest_ = no_bucket;
  }

  [[nodiscard]] std::size_t metadata_bytes_per_entry() const {
    return detail::slot_links::bytes_per_slot + sizeof(std::uint32_t);
  }

  /// The slots the policy holds, lowest count first (for cache::check_invariants; O(n),
  /// allocates). The walk over the buckets is bounded by their number.
  [[nodiscard]] std::vector<slot_id> resident_slots() const {
    std::vector<slot_id> out;
    std::size_t steps = 0;
    for (std::uint32_t b = lowest_; b != no_bucket && b < buckets_.size() && steps <= buckets_.size();
         b = buckets_[b].next, ++steps)
      buckets_[b].entries.append_to(links_, out);
    return out;
  }

  /// The access count of a resident slot (for tests and the simulator's reports).
  [[nodiscard]] std::uint64_t count(slot_id s) const { return buckets_[bucket_of_[s]].count; }

 private:
  static constexpr std::uint32_t no_bucket = UINT32_MAX;

  struct bucket {
    std::uint64_t count = 0;
    detail::slot_list entries;  // front: most recently used
    std::uint32_t prev = no_bucket;
    std::uint32_t next = no_bucket;
  };

  std::uint32_t new_bucket(std::uint64_t count, std::uint32_t prev, std::uint32_t next) {
    std::uint32_t b;
    if (!free_buckets_.empty()) {
      b = free_buckets_.back();
      free_buckets_.pop_back();
    } else {
      b = next_unused_bucket_++;
    }
    buckets_[b].count = count;
    buckets_[b].entries.reset();
    buckets_[b].prev = prev;
    buckets_[b].next = next;
    if (prev != no_bucket) buckets_[prev].next = b; else lowest_ = b;
    if (next != no_bucket) buckets_[next].prev = b;
    return b;
  }

  void attach(slot_id s, std::uint32_t b) {
    buckets_[b].entries.push_front(links_, s);
    bucket_of_[s] = b;
  }

  void detach(slot_id s) {
    const std::uint32_t b = bucket_of_[s];
    buckets_[b].entries.remove(links_, s);
    bucket_of_[s] = no_bucket;
    if (buckets_[b].entries.empty()) {
      const std::uint32_t p = buckets_[b].prev;
      const std::uint32_t n = buckets_[b].next;
      if (p != no_bucket) buckets_[p].next = n; else lowest_ = n;
      if (n != no_bucket) buckets_[n].prev = p;
      free_buckets_.push_back(b);  // capacity reserved: never allocates
    }
  }

  detail::slot_links links_;
  std::vector<std::uint32_t> bucket_of_;
  std::vector<bucket> buckets_;
  std::vector<std::uint32_t> free_buckets_;
  std::uint32_t next_unused_bucket_ = 0;
  std::uint32_t lowest_ = no_bucket;  // the bucket with the smallest count
};

static_assert(eviction_policy<lfu>);

}  // namespace prescient::policy
