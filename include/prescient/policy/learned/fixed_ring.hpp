// prescient/policy/learned/fixed_ring.hpp — a FIFO ring of fixed capacity.
#pragma once

#include <algorithm>
#include <cstddef>
#include <utility>
#include <vector>

namespace prescient::policy::detail {

/// A first-in, first-out ring of fixed capacity: never allocates once sized.
template <class T>
class fixed_ring {
 public:
  /// Sets the capacity, keeping the newest entries that fit, oldest first.
  void resize(std::size_t capacity) {
    std::vector<T> slots(capacity);
    const std::size_t keep = std::min(size_, capacity);
    for (std::size_t i = 0; i < keep; ++i) slots[i] = slots_[wrap(head_ + size_ - keep + i)];
    slots_ = std::move(slots);
    head_ = 0;
    size_ = keep;
  }
  void clear() { head_ = size_ = 0; }
  [[nodiscard]] std::size_t size() const { return size_; }
  [[nodiscard]] std::size_t capacity() const { return slots_.size(); }
  [[nodiscard]] bool empty() const { return size_ == 0; }
  [[nodiscard]] bool full() const { return size_ == slots_.size(); }
  /// Appends `v`; when the ring is full, its oldest entry is dropped first.
  void push_back(const T& v) {
    if (slots_.empty()) return;
    if (full()) pop_front();
    slots_[wrap(head_ + size_++)] = v;
  }
  T pop_front() {
    const T v = slots_[head_];
    if (++head_ == slots_.size()) head_ = 0;
    --size_;
    return v;
  }
  T pop_back() { return slots_[wrap(head_ + --size_)]; }

 private:
  [[nodiscard]] std::size_t wrap(std::size_t i) const { return i >= slots_.size() ? i - slots_.size() : i; }
  std::vector<T> slots_;
  std::size_t head_ = 0, size_ = 0;
};

}  // namespace prescient::policy::detail
