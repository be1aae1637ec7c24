// prescient/policy/detail/hash_column.hpp — a policy's key hashes by slot: the cache's
// column when the policy is bound to it (policy.hpp, `use_key_hashes`), its own otherwise.
//
// S3-FIFO and ARC need an evicted slot's hash to remember it as a ghost, W-TinyLFU
// compares two resident slots' frequencies by their hashes, and the learned policy keys
// its ghost histories, training rows and panel by them. Inside a `cache` they read the
// hashes the cache already keeps (no bytes of their own); driven directly (tests, a host
// of its own) they store them as before, 8 bytes a slot. Either way `set` is called
// where the policy used to store the hash: bound, it is a no-op (the cache wrote it).
//
// An own column lives on the heap, so that the view handed to hosted policies (the
// learned policy's heuristics, on the same slots) stays valid when the owner moves. It
// is created by the first `resize` (reserve_slots) or `view`, never by a hook: a
// heuristic the learned policy rebuilds and binds inside a hook allocates nothing.
#pragma once

#include <cassert>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "prescient/policy/policy.hpp"

namespace prescient::policy::detail {

class hash_column {
 public:
  /// Reads the cache's column from now on; the own column is given back.
  void bind(key_hash_view v) noexcept {
    assert(v);
    view_ = v;
    own_.reset();
  }

  /// Covers slots [0, n) (an own column grows; a bound one has nothing to grow).
  void resize(std::size_t n) {
    if (view_) return;
    if (!own_) own_ = std::make_unique<std::vector<std::uint64_t>>();
    if (n > own_->size()) own_->resize(n, 0);
  }
  void set(slot_id s, std::uint64_t h) noexcept {
    if (!view_) (*own_)[s] = h;
  }
  [[nodiscard]] std::uint64_t operator[](slot_id s) const noexcept { return view_ ? view_[s] : (*own_)[s]; }

  /// What a policy hosted on the same slots reads. Unbound and never resized, this
  /// creates the own column (may throw std::bad_alloc): a host asks first from its
  /// constructor, and later calls allocate nothing.
  [[nodiscard]] key_hash_view view() {
    if (view_) return view_;
    if (!own_) own_ = std::make_unique<std::vector<std::uint64_t>>();
    return key_hash_view(*own_);
  }

  /// Gives an own column's memory back (the slots are then resized again before use).
  void release() noexcept {
    if (!view_ && own_) std::vector<std::uint64_t>().swap(*own_);
  }
  /// Bytes a slot costs this policy: 0 when bound.
  [[nodiscard]] std::size_t bytes_per_slot() const noexcept { return view_ ? 0 : sizeof(std::uint64_t); }

 private:
  key_hash_view view_;
  std::unique_ptr<std::vector<std::uint64_t>> own_;
};

}  // namespace prescient::policy::detail
