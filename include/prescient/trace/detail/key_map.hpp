// prescient/trace/detail/key_map.hpp — a flat hash map from a trace's 64-bit keys to a
// small value, for the passes over a trace that remember something per key (the
// next-access index, the footprint).
//
// Open addressing with linear probing over one array of {key, value} slots, no node per
// key (std::unordered_map allocates one per insertion, which on a trace of millions of
// requests is most of a pass's cost). The table doubles at a load of 3/4, so it holds
// 1.3-2.7 slots per key: (8 + sizeof(V)) x 1.3-2.7 bytes per unique key (8 x 1.3-2.7
// for a set, whose V is an empty struct), and half as much again while it doubles. Keys are mixed with
// splitmix64's finaliser (prescient/hash.hpp) before indexing. Every 64-bit value is a
// valid key: the one value used to mark an empty slot is kept beside the array.
// No erase: a pass only adds keys.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "prescient/hash.hpp"

namespace prescient::trace::detail {

template <class V>
class key_map {
 public:
  /// The value of `key`, default-constructed if the key is new; `.second` is true then.
  std::pair<V*, bool> try_emplace(std::uint64_t key) {
    if (key == empty) {
      const bool fresh = !has_empty_key_;
      has_empty_key_ = true;
      return {&empty_key_value_, fresh};
    }
    if ((size_ + 1) * 4 > slots_.size() * 3) grow();
    std::size_t i = mix64(key) & mask_;
    while (true) {
      slot& s = slots_[i];
      if (s.key == key) return {&s.value, false};
      if (s.key == empty) {
        s.key = key;
        ++size_;
        return {&s.value, true};
      }
      i = (i + 1) & mask_;
    }
  }

  /// Starts loading the slot where `key` would be looked up (a hint: a pass over a batch
  /// prefetches a few keys ahead, so that probes of a table larger than the caches do
  /// not wait for memory one after the other).
  void prefetch(std::uint64_t key) const noexcept {
    if (!slots_.empty()) __builtin_prefetch(&slots_[mix64(key) & mask_]);
  }

  /// Keys held.
  [[nodiscard]] std::size_t size() const noexcept { return size_ + (has_empty_key_ ? 1 : 0); }
  /// Bytes of the table (what a pass spends per unique key).
  [[nodiscard]] std::size_t bytes() const noexcept { return slots_.capacity() * sizeof(slot); }

 private:
  static constexpr std::uint64_t empty = ~std::uint64_t{0};
  struct slot {
    std::uint64_t key = empty;
    [[no_unique_address]] V value{};
  };

  void grow() {
    std::vector<slot> old = std::move(slots_);
    slots_.assign(old.empty() ? 1024 : old.size() * 2, slot{});
    mask_ = slots_.size() - 1;
    for (const slot& s : old) {
      if (s.key == empty) continue;
      std::size_t i = mix64(s.key) & mask_;
      while (slots_[i].key != empty) i = (i + 1) & mask_;
      slots_[i] = s;
    }
  }

  std::vector<slot> slots_;
  std::size_t mask_ = 0;
  std::size_t size_ = 0;  // keys in slots_
  bool has_empty_key_ = false;
  V empty_key_value_{};
};

}  // namespace prescient::trace::detail
