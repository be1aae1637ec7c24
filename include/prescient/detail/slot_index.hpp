// prescient/detail/slot_index.hpp — the cache's index: key hash → slot id.
//
// Open addressing with linear probing over a power-of-two array of 8-byte buckets:
//
//   bucket = { uint32 slot, uint32 fingerprint }     slot == empty: the bucket is free
//
// The fingerprint is the low 32 bits of the key's (well mixed) 64-bit hash; the home
// bucket is `fingerprint & mask`. A lookup walks from home until it finds an empty
// bucket, comparing fingerprints first and asking the caller to compare keys only on a
// fingerprint match, so a miss rarely touches the slab. Deletion shifts the following
// run back (Knuth's algorithm R), so there are no tombstones and probe lengths never
// degrade over a long run of inserts and evictions.
//
// Invariants: every live slot appears in exactly one bucket; between a key's home and
// its bucket there is no empty bucket; the load factor stays at or below 3/4 (the cache
// reserves for ≤ 1/2 when its capacity counts entries). Lookups never allocate; an
// insert allocates only when the table grows.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "prescient/policy/policy.hpp"

namespace prescient::detail {

class slot_index {
 public:
  static constexpr std::size_t bytes_per_bucket = 8;

  slot_index() { rebuild(16); }

  /// Sizes the table so that `n` entries sit at load ≤ 1/2.
  void reserve(std::size_t n) {
    const std::size_t want = std::bit_ceil(std::max<std::size_t>(16, 2 * n));
    if (want > buckets_.size()) grow_to(want);
  }

  /// The slot whose key matches, or no_slot. `same_key(slot)` compares the stored key.
  template <class SameKey>
  [[nodiscard]] slot_id find(std::uint64_t hash, SameKey&& same_key) const {
    const auto fp = static_cast<std::uint32_t>(hash);
    for (std::size_t i = fp & mask_;; i = (i + 1) & mask_) {
      const bucket& b = buckets_[i];
      if (b.slot == empty) return no_slot;
      if (b.fingerprint == fp && same_key(b.slot)) return b.slot;
    }
  }

  /// Grows the table now if one more insert would: the insert that follows then cannot
  /// allocate (or throw).
  void reserve_one() {
    if ((size_ + 1) * 4 > buckets_.size() * 3) grow_to(buckets_.size() * 2);
  }

  /// Adds a slot whose key is not present.
  void insert(std::uint64_t hash, slot_id slot) {
    reserve_one();
    place(static_cast<std::uint32_t>(hash), slot);
    ++size_;
  }

  /// Removes the bucket that holds `slot` (present, with this hash).
  void erase(std::uint64_t hash, slot_id slot) {
    std::size_t i = static_cast<std::uint32_t>(hash) & mask_;
    while (buckets_[i].slot != slot) i = (i + 1) & mask_;
    // Backward-shift deletion: move later members of the run into the hole when the
    // hole lies on their probe path (between their home and their bucket).
    std::size_t hole = i;
    for (std::size_t j = (i + 1) & mask_; buckets_[j].slot != empty; j = (j + 1) & mask_) {
      const std::size_t home = buckets_[j].fingerprint & mask_;
      if (((j - home) & mask_) >= ((j - hole) & mask_)) {
        buckets_[hole] = buckets_[j];
        hole = j;
      }
    }
    buckets_[hole].slot = empty;
    --size_;
  }

  void clear() {
    for (bucket& b : buckets_) b.slot = empty;
    size_ = 0;
  }

  [[nodiscard]] std::size_t size() const { return size_; }
  [[nodiscard]] std::size_t bucket_count() const { return buckets_.size(); }

 private:
  static constexpr std::uint32_t empty = UINT32_MAX;
  struct bucket {
    std::uint32_t slot = empty;
    std::uint32_t fingerprint = 0;
  };

  void place(std::uint32_t fp, slot_id slot) {
    std::size_t i = fp & mask_;
    while (buckets_[i].slot != empty) i = (i + 1) & mask_;
    buckets_[i] = bucket{slot, fp};
  }

  void rebuild(std::size_t n) {
    buckets_.assign(n, bucket{});
    mask_ = n - 1;
  }

  // Strong guarantee: the new table is filled before it replaces the old one, so a
  // std::bad_alloc leaves the index as it was.
  void grow_to(std::size_t n) {
    std::vector<bucket> fresh(n);
    const std::size_t mask = n - 1;
    for (const bucket& b : buckets_) {
      if (b.slot == empty) continue;
      std::size_t i = b.fingerprint & mask;
      while (fresh[i].slot != empty) i = (i + 1) & mask;
      fresh[i] = b;
    }
    buckets_.swap(fresh);
    mask_ = mask;
  }

  std::vector<bucket> buckets_;
  std::size_t mask_ = 0;
  std::size_t size_ = 0;
};

}  // namespace prescient::detail
