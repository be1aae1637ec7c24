// prescient/policy/learned/training_ring.hpp — the learned policy's training rows, each
// waiting for its key's next request (its label).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <vector>

#include "prescient/detail/slot_index.hpp"
#include "prescient/learn/features.hpp"
#include "prescient/policy/policy.hpp"

namespace prescient::policy::detail {

/// Training rows in arrival order, each waiting for its key's next request. The rows
/// still waiting are indexed by key hash (one per key), so a request labels its key's
/// row whether the key is resident, in the ghost table or forgotten by both.
class training_ring {
 public:
  static constexpr std::uint64_t pending = std::numeric_limits<std::uint64_t>::max();
  static constexpr std::uint64_t censored = pending - 1;

  explicit training_ring(std::size_t capacity = 0) { resize(capacity); }

  void resize(std::size_t capacity) {
    rows_.resize(static_cast<Eigen::Index>(capacity), static_cast<Eigen::Index>(learn::feature_count));
    time_.assign(capacity, 0);
    gap_.assign(capacity, censored);
    hash_.assign(capacity, 0);
    waiting_.clear();
    // Sized for the rows waiting at once (those sampled within one censoring window, far
    // fewer than the ring holds), not for the ring: a small index stays in the cache
    // that every request probes. It grows, to its peak once, if more wait.
    waiting_.reserve(std::min<std::size_t>(capacity, 4096));
    next_id_ = cursor_ = 0;
    next_pos_ = 0;
  }

  [[nodiscard]] std::size_t capacity() const { return time_.size(); }
  [[nodiscard]] std::uint64_t next_id() const { return next_id_; }
  /// When the oldest row still in the ring was sampled (0 while it is empty).
  [[nodiscard]] std::uint64_t oldest_time() const {
    if (next_id_ == 0 || capacity() == 0) return 0;
    const std::uint64_t oldest = next_id_ > capacity() ? next_id_ - capacity() : 0;
    return time_[static_cast<std::size_t>(oldest % capacity())];
  }
  [[nodiscard]] bool waiting(std::uint64_t key_hash) const { return find(key_hash) != no_slot; }

  /// A row to fill for a sample of `key_hash` taken at `now`, or nullptr when the key
  /// already has a row waiting for its label. `may_be_waiting` false: the caller knows
  /// that none is (the index is not probed).
  float* add(std::uint64_t key_hash, std::uint64_t now, bool may_be_waiting = true) {
    if (capacity() == 0 || (may_be_waiting && waiting(key_hash))) return nullptr;
    const std::size_t pos = next_pos_;  // next_id_ % capacity(), kept without a division
    if (++next_pos_ == capacity()) next_pos_ = 0;
    if (gap_[pos] == pending) waiting_.erase(hash_[pos], static_cast<slot_id>(pos));  // unlabelled: lost
    time_[pos] = now;
    gap_[pos] = pending;
    hash_[pos] = key_hash;
    waiting_.insert(key_hash, static_cast<slot_id>(pos));
    ++next_id_;
    if (cursor_ + capacity() < next_id_) cursor_ = next_id_ - capacity();
    return rows_.row(static_cast<Eigen::Index>(pos)).data();
  }

  /// The key was requested at `now`: labels its waiting row. True when there was one.
  bool label(std::uint64_t key_hash, std::uint64_t now) {
    const slot_id pos = find(key_hash);
    if (pos == no_slot) return false;
    gap_[pos] = now - time_[pos];
    waiting_.erase(key_hash, pos);
    return true;
  }

  /// The key's entry expired (a deadline, not an eviction): its waiting row, if any, is
  /// censored now — whenever the key comes again, the entry could not have served it,
  /// so for choosing victims it was "not requested again". True when there was one.
  bool censor(std::uint64_t key_hash) {
    const slot_id pos = find(key_hash);
    if (pos == no_slot) return false;
    gap_[pos] = censored;
    waiting_.erase(key_hash, pos);
    return true;
  }

  /// Censors every waiting row older than `window` ("not requested again within W").
  std::uint64_t sweep(std::uint64_t now, std::uint64_t window) {
    std::uint64_t n = 0;
    for (; cursor_ < next_id_; ++cursor_) {
      const std::size_t pos = static_cast<std::size_t>(cursor_ % capacity());
      if (gap_[pos] != pending) continue;
      if (time_[pos] + window >= now) break;
      gap_[pos] = censored;
      waiting_.erase(hash_[pos], static_cast<slot_id>(pos));
      ++n;
    }
    return n;
  }

  /// Copies the labelled rows with ids in [from, next_id) into `x`/`y` (labels for the
  /// window); `reused` gets the binary label for the horizon.
  void collect(std::uint64_t from, const learn::label_config& labels, learn::feature_matrix& x,
               std::vector<float>& y, std::vector<std::uint8_t>* reused = nullptr) const {
    const std::uint64_t lo = std::max<std::uint64_t>(from, next_id_ > capacity() ? next_id_ - capacity() : 0);
    std::size_t n = 0;
    for (std::uint64_t id = lo; id < next_id_; ++id) n += gap_[id % capacity()] != pending;
    x.resize(static_cast<Eigen::Index>(n), static_cast<Eigen::Index>(learn::feature_count));
    y.resize(n);
    if (reused) reused->resize(n);
    std::size_t r = 0;
    for (std::uint64_t id = lo; id < next_id_; ++id) {
      const std::size_t pos = static_cast<std::size_t>(id % capacity());
      const std::uint64_t g = gap_[pos];
      if (g == pending) continue;
      const std::optional<std::uint64_t> gap = g == censored ? std::nullopt : std::optional<std::uint64_t>(g);
      x.row(static_cast<Eigen::Index>(r)) = rows_.row(static_cast<Eigen::Index>(pos));
      y[r] = learn::next_access_label(gap, labels);
      if (reused) (*reused)[r] = learn::reused_within_horizon(gap, labels) ? 1 : 0;
      ++r;
    }
  }

  void clear() { resize(capacity()); }

 private:
  [[nodiscard]] slot_id find(std::uint64_t key_hash) const {
    return waiting_.find(key_hash, [&](slot_id p) { return hash_[p] == key_hash && gap_[p] == pending; });
  }

  learn::feature_matrix rows_;
  std::vector<std::uint64_t> time_;
  std::vector<std::uint64_t> gap_;   // pending, censored, or the gap to the next request
  std::vector<std::uint64_t> hash_;  // the sampled key
  prescient::detail::slot_index waiting_;  // key hash → position, for pending rows
  std::uint64_t next_id_ = 0;
  std::size_t next_pos_ = 0;  // next_id_ % capacity()
  std::uint64_t cursor_ = 0;  // every row before it is labelled, censored or overwritten
};

}  // namespace prescient::policy::detail
