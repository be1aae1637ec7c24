// prescient/policy/detail/ghost_lists.hpp — bounded "ghost" queues of key hashes.
//
// A ghost remembers that a key was recently evicted without keeping its value: S3-FIFO's
// ghost FIFO and ARC's B1 and B2 are ghosts. A policy never sees keys, so a ghost is
// keyed by the 64-bit `access::key_hash` (already well mixed; two keys that share all 64
// bits are treated as one, an event of probability ~n²/2⁶⁵).
//
// Layout:
//
//   nodes_  [ {hash, prev + list, next} ... ]        a pool with a free list; each live
//                                                     node is in exactly one of the
//                                                     `Lists` doubly-linked lists (its
//                                                     number in the top bits of `prev`)
//   weights_ [ weight ... ] (weight_column.hpp)      by node; no array while all are 1
//   index_  [ node id | empty ] (power of two)       open addressing, linear probing on
//                                                     the low bits of the hash, deletion
//                                                     by backward shift (no tombstones)
//   lists_  [ {head, tail, weight, count} × Lists ]  front = most recently added
//
// Invariants: every live node is in `index_` exactly once and in exactly one list; the
// index is at most half full; a list's weight is the sum of its nodes' weights.
//
// Cost: every operation is O(1) expected. Memory is 16 bytes per node (24 once a weight
// other than 1 was remembered) plus 8 to 16 bytes of index per node (4-byte ids at
// load ≤ 1/2), so ~28 bytes per remembered key (~36 with weights). The
// list number shares `prev`'s 32 bits (none with one list, one bit with ARC's two), so
// up to 2^(32 − bits) − 1 keys are remembered at once; beyond, `push_front` throws
// std::length_error (ARC: 2^31 − 1 ghosts, a cache of two billion entries). Both
// arrays only grow (doubling, amortised) up to the largest number of keys the policy
// ever remembered at once — which the policy bounds by weight — and are reused after:
// no allocation per request in steady state. The weights' array is allocated by the
// first weight other than 1, or ahead of it by `reserve_weight`.
#pragma once

#include <algorithm>
#include <array>
#include <bit>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "prescient/policy/detail/weight_column.hpp"

namespace prescient::policy::detail {

template <std::size_t Lists>
class ghost_lists {
  static_assert(Lists >= 1 && Lists <= 255);

 public:
  /// `find` / `erase` answer when the hash is in no list.
  static constexpr int absent = -1;
  /// Bytes per remembered key: node (and weight, once one is not 1) + index at mean load.
  [[nodiscard]] std::size_t bytes_per_entry() const noexcept {
    return sizeof(node) + weights_.bytes_per_index() + 12;
  }

  ghost_lists() { rebuild_index(16); }

  /// Which list holds `hash`, or `absent`.
  [[nodiscard]] int find(std::uint64_t hash) const {
    const std::uint32_t n = lookup(hash);
    return n == npos ? absent : static_cast<int>(nodes_[n].list());
  }

  /// Forgets `hash`; returns the list it was in, or `absent`.
  int erase(std::uint64_t hash) {
    const std::size_t pos = position(hash);
    if (index_[pos] == npos) return absent;
    const std::uint32_t n = index_[pos];
    const int list = static_cast<int>(nodes_[n].list());
    unlink(n);
    erase_position(pos);
    release(n);
    return list;
  }

  /// Remembers `hash` at the front (most recent end) of `list`. A hash already
  /// remembered anywhere is moved.
  void push_front(std::size_t list, std::uint64_t hash, std::uint64_t weight) {
    assert(list < Lists);
    erase(hash);
    if ((live_ + 1) * 2 > index_.size()) rebuild_index(index_.size() * 2);
    const std::uint32_t n = acquire();
    weights_.set(n, weight);
    nodes_[n] = node{hash, npos | list_tag(list), lists_[list].head};
    if (lists_[list].head != npos) nodes_[lists_[list].head].set_prev(n); else lists_[list].tail = n;
    lists_[list].head = n;
    lists_[list].weight += weight;
    ++lists_[list].count;
    std::size_t pos = position(hash);
    assert(index_[pos] == npos);
    index_[pos] = n;
  }

  /// Forgets the oldest hash of `list` (no-op on an empty list).
  void pop_back(std::size_t list) {
    const std::uint32_t n = lists_[list].tail;
    if (n == npos) return;
    erase(nodes_[n].hash);
  }

  [[nodiscard]] std::uint64_t weight(std::size_t list) const { return lists_[list].weight; }
  [[nodiscard]] std::size_t size(std::size_t list) const { return lists_[list].count; }
  [[nodiscard]] bool empty(std::size_t list) const { return lists_[list].count == 0; }
  [[nodiscard]] std::size_t size() const { return live_; }
  /// Oldest hash of `list` (the list must not be empty); for tests and debugging.
  [[nodiscard]] std::uint64_t back(std::size_t list) const { return nodes_[lists_[list].tail].hash; }

  /// Allocates the weights' array now, so that a weight other than 1 allocates nothing
  /// later but the nodes' own growth.
  void reserve_weight() { weights_.materialise(); }

  /// Preallocates room for `n` remembered keys.
  void reserve(std::size_t n) {
    if (n > nodes_.capacity()) nodes_.reserve(n);
    std::size_t cap = index_.size();
    while (n * 2 > cap) cap *= 2;
    if (cap != index_.size()) rebuild_index(cap);
  }

  /// Forgets everything; keeps the memory.
  void clear() {
    nodes_.clear();
    weights_.clear();
    free_ = npos;
    live_ = 0;
    for (auto& l : lists_) l = list_head{};
    std::fill(index_.begin(), index_.end(), npos);
  }

  /// Bytes currently held (capacity of both arrays).
  [[nodiscard]] std::size_t memory_bytes() const {
    return nodes_.capacity() * sizeof(node) + weights_.memory_bytes() + index_.size() * sizeof(std::uint32_t);
  }

 private:
  // A node number takes the low `id_bits` of a 32-bit word; `prev` keeps the node's list
  // in the bits above.
  static constexpr unsigned list_bits = Lists == 1 ? 0 : static_cast<unsigned>(std::bit_width(Lists - 1));
  static constexpr unsigned id_bits = 32 - list_bits;
  static constexpr std::uint32_t npos = static_cast<std::uint32_t>((std::uint64_t{1} << id_bits) - 1);

  struct node {
    std::uint64_t hash;
    std::uint32_t prev_list;  // towards the front (more recent), and the list above id_bits
    std::uint32_t next;       // towards the back (older); also the free-list link
    [[nodiscard]] std::uint32_t prev() const noexcept { return prev_list & npos; }
    [[nodiscard]] std::size_t list() const noexcept {
      if constexpr (list_bits == 0) return 0; else return prev_list >> id_bits;
    }
    void set_prev(std::uint32_t p) noexcept { prev_list = (prev_list & ~npos) | p; }
  };
  [[nodiscard]] static std::uint32_t list_tag(std::size_t list) noexcept {
    if constexpr (list_bits == 0) return 0; else return static_cast<std::uint32_t>(list) << id_bits;
  }
  static_assert(sizeof(node) == 16, "update the header comment");
  struct list_head {
    std::uint32_t head = npos;
    std::uint32_t tail = npos;
    std::uint64_t weight = 0;
    std::size_t count = 0;
  };

  [[nodiscard]] std::size_t home(std::uint64_t hash) const {
    // The hash is well mixed; fold the high half in anyway so that a table that is
    // keyed by the same low bits elsewhere (the cache's own index) does not correlate.
    return static_cast<std::size_t>(hash ^ (hash >> 32)) & (index_.size() - 1);
  }

  // The index position holding `hash`, or the empty position where it would go.
  [[nodiscard]] std::size_t position(std::uint64_t hash) const {
    const std::size_t mask = index_.size() - 1;
    std::size_t pos = home(hash);
    while (index_[pos] != npos && nodes_[index_[pos]].hash != hash) pos = (pos + 1) & mask;
    return pos;
  }
  [[nodiscard]] std::uint32_t lookup(std::uint64_t hash) const { return index_[position(hash)]; }

  // Backward-shift deletion: pull later members of the probe run into the hole.
  void erase_position(std::size_t hole) {
    const std::size_t mask = index_.size() - 1;
    std::size_t pos = (hole + 1) & mask;
    while (index_[pos] != npos) {
      const std::size_t h = home(nodes_[index_[pos]].hash);
      // Move the entry at `pos` into the hole if its home is not in (hole, pos].
      if (((pos - h) & mask) >= ((pos - hole) & mask)) {
        index_[hole] = index_[pos];
        hole = pos;
      }
      pos = (pos + 1) & mask;
    }
    index_[hole] = npos;
  }

  void unlink(std::uint32_t n) {
    node& x = nodes_[n];
    list_head& l = lists_[x.list()];
    const std::uint32_t prev = x.prev();
    if (prev != npos) nodes_[prev].next = x.next; else l.head = x.next;
    if (x.next != npos) nodes_[x.next].set_prev(prev); else l.tail = prev;
    l.weight -= weights_[n];
    --l.count;
  }

  std::uint32_t acquire() {
    ++live_;
    if (free_ != npos) {
      const std::uint32_t n = free_;
      free_ = nodes_[n].next;
      return n;
    }
    if (nodes_.size() >= npos) {
      --live_;
      throw std::length_error("ghost_lists: more than " + std::to_string(npos) + " keys remembered at once");
    }
    weights_.push_back(1);  // first: if it throws, nothing changed
    try {
      nodes_.push_back(node{});
    } catch (...) {
      weights_.pop_back();
      throw;
    }
    return static_cast<std::uint32_t>(nodes_.size() - 1);
  }
  void release(std::uint32_t n) {
    --live_;
    nodes_[n].next = free_;
    free_ = n;
  }

  void rebuild_index(std::size_t cap) {
    index_.assign(cap, npos);
    for (const auto& l : lists_) {
      for (std::uint32_t n = l.head; n != npos; n = nodes_[n].next) index_[position(nodes_[n].hash)] = n;
    }
  }

  std::vector<node> nodes_;
  weight_column weights_;  // by node, nodes_.size() of them
  std::vector<std::uint32_t> index_;
  std::array<list_head, Lists> lists_{};
  std::uint32_t free_ = npos;
  std::size_t live_ = 0;
};

}  // namespace prescient::policy::detail
