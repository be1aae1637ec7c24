// prescient/prefetch/successors.hpp — which keys tend to follow a key: a bounded,
// decaying co-occurrence model of the access stream.
//
// In the spirit of Mithril (Yang et al., "Mithril: mining sporadic associations for
// cache prefetching", SoCC 2017): when key B is requested, every key A requested in the
// `lookahead` requests before it gains an association A → B. Each association keeps a
// decayed count (half-life `half_life` requests, decayed on read), so the model follows
// a workload that changes; each key keeps its own decayed request count, so the ratio
//
//     p(A → B) = decayed co-occurrences(A → B) / decayed requests(A)
//
// estimates the probability that B follows A within the lookahead — a calibrated score
// the planner weighs against the cost of a prefetch.
//
// Keys are any 64-bit identifiers (a cache's key hash, a trace's key); the table mixes
// them itself. Memory is bounded: at most `max_keys` keys are tracked (the least recently inserted is
// forgotten, FIFO), each with `successors_per_key` association slots (the weakest is
// replaced when a new successor appears). Per key: 8 (hash) + 16 (count, time) + 4 ×
// 16 (successor hash, score, time) + 16 (index at load ½) ≈ 104 bytes. Each request
// costs O(lookahead × successors_per_key).
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "prescient/detail/slot_index.hpp"
#include "prescient/hash.hpp"

namespace prescient::prefetch {

struct successor_config {
  std::size_t max_keys = 1u << 16;   ///< keys tracked at once
  std::size_t lookahead = 4;         ///< requests after A in which B counts as following A
  double half_life = 1u << 16;       ///< requests for a count to halve
};

/// One predicted successor.
struct successor {
  std::uint64_t key_hash = 0;
  float probability = 0;      ///< co-occurrences / requests of the key: P(follows within the lookahead)
  float co_count = 0;         ///< decayed co-occurrences
  float key_count = 0;        ///< decayed requests of the key itself
  float link_age = 0;         ///< requests since the association last occurred
  float successor_count = 0;  ///< decayed requests of the successor (0: not tracked)
  float successor_age = -1;   ///< requests since the successor's last request (−1: not tracked)
};

class successor_model {
 public:
  static constexpr std::size_t successors_per_key = 4;

  explicit successor_model(successor_config cfg = {})
      : cfg_(cfg), inv_half_life_(1.0 / std::max(1.0, cfg.half_life)), recent_(std::max<std::size_t>(cfg.lookahead, 1)) {
    entries_.reserve(std::min<std::size_t>(cfg_.max_keys, 1u << 16));
  }

  /// Records a request of `key_hash` at logical time `now` (non-decreasing).
  void record(std::uint64_t key_hash, std::uint64_t now) {
    // Associations from the keys requested just before.
    for (std::size_t i = 0; i < recent_count_; ++i) {
      const std::uint64_t a = recent_[i];
      if (a == key_hash) continue;
      if (entry* e = find(a)) associate(*e, key_hash, now);
    }
    entry& self = find_or_insert(key_hash, now);
    self.count = decayed(self.count, self.last, now) + 1.0f;
    self.last = now;
    // The lookahead window of distinct recent keys.
    if (std::find(recent_.begin(), recent_.begin() + static_cast<std::ptrdiff_t>(recent_count_), key_hash) ==
        recent_.begin() + static_cast<std::ptrdiff_t>(recent_count_)) {
      if (recent_count_ < recent_.size()) ++recent_count_;
      std::rotate(recent_.begin(), recent_.begin() + static_cast<std::ptrdiff_t>(recent_.size() - 1), recent_.end());
      recent_[0] = key_hash;
    }
  }

  /// The successors of `key_hash` with probability ≥ `min_probability`, most likely
  /// first, into `out` (cleared). No allocation once `out` has capacity.
  void predict(std::uint64_t key_hash, std::uint64_t now, float min_probability, std::vector<successor>& out) const {
    out.clear();
    const entry* e = find(key_hash);
    if (e == nullptr) return;
    const float count = decayed(e->count, e->last, now);
    if (count <= 0) return;
    for (const auto& s : e->next) {
      if (s.score <= 0) continue;
      const float co = decayed(s.score, s.last, now);
      const float p = std::min(1.0f, co / count);
      if (p < min_probability) continue;
      successor out_s{s.key_hash, p, co, count, static_cast<float>(now - s.last), 0.0f, -1.0f};
      if (const entry* b = find(s.key_hash)) {
        out_s.successor_count = decayed(b->count, b->last, now);
        out_s.successor_age = static_cast<float>(now - b->last);
      }
      out.push_back(out_s);
    }
    std::sort(out.begin(), out.end(), [](const successor& a, const successor& b) { return a.probability > b.probability; });
  }

  [[nodiscard]] std::size_t size() const { return size_; }
  static constexpr std::size_t bytes_per_key = 8 + 16 + successors_per_key * 16 + 16;

 private:
  struct link {
    std::uint64_t key_hash = 0;
    std::uint64_t last = 0;
    float score = 0;
  };
  struct entry {
    std::uint64_t key_hash = 0;
    std::uint64_t last = 0;
    float count = 0;
    bool live = false;
    std::array<link, successors_per_key> next{};
  };

  [[nodiscard]] float decayed(float value, std::uint64_t then, std::uint64_t now) const {
    return value * static_cast<float>(std::exp2(-static_cast<double>(now - then) * inv_half_life_));
  }

  void associate(entry& e, std::uint64_t b, std::uint64_t now) {
    link* weakest = &e.next[0];
    float weakest_score = 0;
    for (auto& s : e.next) {
      if (s.score > 0 && s.key_hash == b) {
        s.score = decayed(s.score, s.last, now) + 1.0f;
        s.last = now;
        return;
      }
      const float v = s.score > 0 ? decayed(s.score, s.last, now) : 0.0f;
      if (v < weakest_score || &s == &e.next[0]) {
        weakest = &s;
        weakest_score = v;
      }
    }
    // A new successor takes the weakest slot (an empty one first).
    *weakest = link{b, now, 1.0f};
  }

  [[nodiscard]] const entry* find(std::uint64_t h) const {
    const slot_id pos = index_.find(mix64(h), [&](slot_id p) { return entries_[p].key_hash == h; });
    return pos == no_slot ? nullptr : &entries_[pos];
  }
  entry* find(std::uint64_t h) { return const_cast<entry*>(static_cast<const successor_model*>(this)->find(h)); }

  entry& find_or_insert(std::uint64_t h, std::uint64_t now) {
    if (entry* e = find(h)) return *e;
    slot_id pos;
    if (entries_.size() < std::max<std::size_t>(cfg_.max_keys, 1)) {
      pos = static_cast<slot_id>(entries_.size());
      entries_.emplace_back();
    } else {
      pos = static_cast<slot_id>(next_);
      next_ = (next_ + 1) % entries_.size();
      if (entries_[pos].live) {
        index_.erase(mix64(entries_[pos].key_hash), pos);
        --size_;
      }
    }
    entries_[pos] = entry{h, now, 0.0f, true, {}};
    index_.insert(mix64(h), pos);
    ++size_;
    return entries_[pos];
  }

  successor_config cfg_;
  double inv_half_life_;
  std::vector<entry> entries_;
  prescient::detail::slot_index index_;
  std::size_t next_ = 0;
  std::size_t size_ = 0;
  std::vector<std::uint64_t> recent_;  // the lookahead window, newest first
  std::size_t recent_count_ = 0;
};

}  // namespace prescient::prefetch
