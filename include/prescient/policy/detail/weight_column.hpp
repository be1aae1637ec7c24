// prescient/policy/detail/weight_column.hpp — weights by index (slot or ghost node) that
// cost nothing while every weight is 1.
//
// Most caches count entries, so every weight is 1 (as in a trace replayed with
// --ignore-size); a policy that keeps each slot's weight to keep its queues' totals would
// spend 8 bytes a slot storing a 1. The column holds no array until a weight other than 1
// is stored: then it allocates 8 bytes for every index it covers (the earlier ones read 1)
// and keeps the array from then on. A read is one well-predicted branch.
//
// Allocation: `resize` and `materialise` may throw std::bad_alloc and leave the column as
// it was. A policy calls `materialise` from its `reserve_weight` hook (policy.hpp), which
// the cache calls before it changes anything for an entry of weight other than 1, so that
// `set` in a later hook never allocates; `set` materialises by itself only for a caller
// that skipped that step.
#pragma once

#include <cassert>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace prescient::policy::detail {

class weight_column {
 public:
  [[nodiscard]] std::uint64_t operator[](std::size_t i) const noexcept {
    assert(i < size_);
    return materialised_ ? weights_[i] : 1;
  }

  void set(std::size_t i, std::uint64_t w) {
    assert(i < size_);
    if (!materialised_) {
      if (w == 1) return;
      materialise();
    }
    weights_[i] = w;
  }

  /// Covers indices [0, n) from now on (a no-op for n <= size()).
  void resize(std::size_t n) {
    if (n <= size_) return;
    if (materialised_) weights_.resize(n, 1);
    size_ = n;
  }
  /// Appends index size() with weight `w` (a pool that grows one node at a time).
  void push_back(std::uint64_t w) {
    if (!materialised_ && w != 1) materialise();
    if (materialised_) weights_.push_back(w);
    ++size_;
  }

  /// Drops the last index (undoes a push_back).
  void pop_back() noexcept {
    assert(size_ > 0);
    if (materialised_) weights_.pop_back();
    --size_;
  }

  /// Allocates the array (every covered index reads 1), so that no later `set` allocates.
  void materialise() {
    if (materialised_) return;
    weights_.assign(size_, 1);
    materialised_ = true;
  }

  /// Forgets every index; an array stays in use (and keeps its memory) once materialised.
  void clear() noexcept {
    weights_.clear();
    size_ = 0;
  }
  /// Forgets every index and frees the array: every weight is 1 again until one is not.
  void release() noexcept {
    std::vector<std::uint64_t>().swap(weights_);
    materialised_ = false;
    size_ = 0;
  }

  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  [[nodiscard]] bool uniform() const noexcept { return !materialised_; }
  [[nodiscard]] std::size_t bytes_per_index() const noexcept { return materialised_ ? sizeof(std::uint64_t) : 0; }
  [[nodiscard]] std::size_t memory_bytes() const noexcept { return weights_.capacity() * sizeof(std::uint64_t); }

 private:
  std::vector<std::uint64_t> weights_;  // size() == size_ while materialised_, else empty
  std::size_t size_ = 0;
  bool materialised_ = false;
};

}  // namespace prescient::policy::detail
