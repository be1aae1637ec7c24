// prescient/policy/learned/panel.hpp — what the heuristics would have missed: key-only
// shadows of LRU, the base heuristic (S3-FIFO by default), W-TinyLFU and ARC over the
// learned cache's own requests, so that its referee can hand the decisions to whichever
// is best now, and bound the run by the best of them (learned/referee.hpp).
//
// The members run as miniature caches (Waldspurger et al., "Cache Modeling and
// Optimization using Miniature Simulations", ATC 2017): only the keys whose hash falls
// in a fixed sample of rate R reach them, each with R × the capacity, so a request costs
// a hash comparison unless its key is sampled. R = min(1, `sampled_entries` / capacity):
// a cache of up to `sampled_entries` entries is shadowed exactly (LRU by detail::key_lru,
// the others by miniatures of the whole capacity). A miniature's misses estimate the
// full cache's once divided by R; the error of that estimate is mostly a bias of the
// sample — its keys hotter or colder than the rest — shared by every miniature, so it is
// calibrated away against the cache itself: the learned cache tells the panel each of
// its misses (`cache_miss`), and every estimate is scaled by (the cache's misses / its
// misses on sampled keys) over the run so far. A member then beats the cache's own
// record exactly when its miniature missed fewer of the sampled keys than the cache did:
// the duel compares them on the same keys.
//
// The panel's memory is thus bounded by `sampled_entries` whatever the cache's size (an
// exact LRU at every size, the calibration's reference before, cost 40 bytes per entry
// and a probe per request: docs/experiments.md, "The panel without an exact LRU").
//
// Cost per request: a hash comparison, and for a sampled key one probe of the
// miniatures' shared index (detail::shadow_group) and each miniature's O(1) update (where
// the shadows are exact, the exact LRU's probe). Memory: R × the miniatures' bytes (per
// slot a weight, a record number and the policy's metadata; per key any of them holds,
// a record and its index buckets); where the shadows are exact, the exact LRU's 40 bytes
// per entry as well.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "prescient/hash.hpp"
#include "prescient/policy/arc.hpp"
#include "prescient/policy/detail/key_lru.hpp"
#include "prescient/policy/detail/shadow_group.hpp"
#include "prescient/policy/lru.hpp"
#include "prescient/policy/wtinylfu.hpp"

namespace prescient::policy::detail {

/// The panel's members, in the order the referee indexes them.
enum class member : std::uint8_t { lru, base, wtinylfu, arc };
inline constexpr std::size_t panel_members = 4;

template <class Base>
class panel {
 public:
  /// `capacity`: the cache's; `sampled_entries`: the miniatures' capacity at most (0: no
  /// panel but an exact LRU); `base_config`: the base heuristic's parameters; `salt`:
  /// picks which keys are sampled (the learned policy's seed: another seed, another
  /// sample, so that runs over several seeds also measure the sample's luck).
  panel(std::uint64_t capacity, std::size_t sampled_entries, const typename Base::config& base_config = {},
        std::uint64_t salt = 0)
      : salt_(mix_salt(salt)),
        rate_(capacity == 0 || sampled_entries == 0
                  ? 0.0
                  : std::min(1.0, static_cast<double>(sampled_entries) / static_cast<double>(capacity))),
        threshold_(static_cast<std::uint64_t>(rate_ * static_cast<double>(std::uint64_t{1} << 32))),
        mini_capacity_(std::max<std::uint64_t>(1, static_cast<std::uint64_t>(rate_ * static_cast<double>(capacity)))),
        minis_(mini_capacity_, base_config, wtinylfu::config{}, arc::config{}, lru::config{}),
        active_(rate_ < 1 ? minis::all : minis::all & ~(typename minis::member_bits{1} << mini_lru)),
        exact_lru_(rate_ <= 0 || rate_ >= 1),
        lru_(exact_lru_ ? capacity : 0) {
    if (exact_lru_) lru_.reserve(static_cast<std::size_t>(std::min<std::uint64_t>(capacity, std::uint64_t{1} << 20)));
  }

  /// Whether the miniatures run (the cache has a capacity and a panel was asked for).
  [[nodiscard]] bool enabled() const { return rate_ > 0; }
  [[nodiscard]] double rate() const { return rate_; }

  /// A request; updates every shadow that sees `key_hash`.
  void request(std::uint64_t key_hash, std::uint64_t weight, std::uint64_t time) {
    if (exact_lru_ && !lru_.request(key_hash, weight)) ++epoch_[0];
    if (rate_ > 0 && sampled(key_hash)) {
      const typename minis::member_bits hits = minis_.request(key_hash, weight, time, active_);
      epoch_[1] += (hits >> mini_base & 1u) == 0;
      epoch_[2] += (hits >> mini_wtinylfu & 1u) == 0;
      epoch_[3] += (hits >> mini_arc & 1u) == 0;
      if (!exact_lru_) epoch_[0] += (hits >> mini_lru & 1u) == 0;
    }
  }

  /// The cache the panel shadows missed `key_hash` (a request it could not answer): the
  /// calibration's evidence (see scale).
  void cache_miss(std::uint64_t key_hash) {
    ++cache_misses_;
    if (!exact_lru_ && sampled(key_hash)) ++cache_sampled_misses_;
  }

  /// An insertion that is not a request (a put, a prefetch): an exact LRU takes it; the
  /// miniatures, which count only requests, do not.
  void put(std::uint64_t key_hash, std::uint64_t weight) {
    if (exact_lru_) lru_.put(key_hash, weight);
  }

  /// Whether member `m`'s shadow holds `key_hash`: nothing when the key is not in the
  /// sample (the answer would be a guess).
  [[nodiscard]] std::optional<bool> holds(member m, std::uint64_t key_hash) const {
    if (m == member::lru && exact_lru_) return lru_.contains(key_hash);
    if (rate_ <= 0 || !sampled(key_hash)) return std::nullopt;
    if (m == member::lru) return minis_.contains(mini_lru, key_hash);
    if (m == member::base) return minis_.contains(mini_base, key_hash);
    if (m == member::wtinylfu) return minis_.contains(mini_wtinylfu, key_hash);
    return minis_.contains(mini_arc, key_hash);
  }

  /// Estimated misses of member `m` since the epoch began, scaled to the whole stream;
  /// every member counted on the same keys (the sample, or all of them).
  [[nodiscard]] double epoch_misses(member m) const {
    if (rate_ <= 0) return static_cast<double>(epoch_[0]);  // no miniatures: LRU stands for all
    return static_cast<double>(epoch_[static_cast<std::size_t>(m)]) * scale();
  }

  /// The standard error of `epoch_misses(m)` from the sampling: a miniature's misses are
  /// counted on a sample of the keys, so about √(its misses + 1) × the scale (0 where the
  /// shadows are exact: a cache of up to `sampled_entries`, or LRU alone). The + 1 (one
  /// pseudo-count) because no sampled miss yet is no evidence of none: early in an epoch a
  /// large cache's miniatures may have seen only a handful of requests, and √0 made their
  /// estimate of 0 exact — the mid-epoch rout then handed over a model that missed a few
  /// dozen times in 1,024 requests (scan mix 2 at 128,872 entries, docs/experiments.md).
  [[nodiscard]] double epoch_noise(member m) const {
    if (rate_ <= 0 || rate_ >= 1) return 0.0;
    return std::sqrt(static_cast<double>(epoch_[static_cast<std::size_t>(m)]) + 1.0) * scale();
  }

  /// Starts a new epoch; the calibration keeps what it learned.
  void start_epoch() { epoch_.fill(0); }

  void clear() {
    lru_.clear();
    minis_.clear();
    epoch_.fill(0);
    cache_misses_ = cache_sampled_misses_ = 0;
  }

  /// Bytes per entry of the cache: the miniatures' share, and an exact LRU's where
  /// there is one.
  [[nodiscard]] std::size_t bytes_per_entry() const {
    const auto per_mini_entry = static_cast<double>(minis_.bytes_per_entry(active_));
    return (exact_lru_ ? key_lru::bytes_per_entry : 0) + static_cast<std::size_t>(rate_ * per_mini_entry);
  }

 private:
  // The sample is drawn on the top 32 bits of a remix of the key hash (salted, folded
  // and multiplied: every bit of the hash moves them). Not on the hash's own top
  // bits: a concurrent_cache picks a key's shard by those, so within a shard they are
  // fixed, and a sample on them took every key of some shards and none of others' —
  // whose panels then saw nothing, estimated that every heuristic missed nothing, and
  // handed the decisions to them (docs/benchmarks.md, "Host replay against the
  // simulator"). The shadows' indexes hash the low bits, which the sample leaves uniform.
  [[nodiscard]] bool sampled(std::uint64_t key_hash) const {
    if (rate_ >= 1) return true;
    std::uint64_t x = key_hash ^ salt_;
    x ^= x >> 33;
    return ((x * 0xff51afd7ed558ccdULL) >> 32) < threshold_;
  }
  // Seeds are small numbers: spread one over 64 bits (SplitMix64's finalizer), so that
  // two seeds draw unrelated samples.
  static std::uint64_t mix_salt(std::uint64_t z) { return mix64(z + 0x9e3779b97f4a7c15ULL); }

  // Miniature misses → whole-stream misses: 1/R, calibrated by the cache's own misses
  // over its misses on sampled keys (over the run so far, once it has seen enough of
  // them to mean something).
  [[nodiscard]] double scale() const {
    if (rate_ >= 1) return 1.0;
    if (cache_sampled_misses_ < 64 || cache_misses_ == 0) return 1.0 / rate_;
    return static_cast<double>(cache_misses_) / static_cast<double>(cache_sampled_misses_);
  }

  std::uint64_t salt_;
  double rate_;
  std::uint64_t threshold_;
  std::uint64_t mini_capacity_;
  // The miniatures, one index between them; the LRU among them runs where the panel
  // samples (where it does not, the exact LRU stands for it).
  using minis = shadow_group<Base, wtinylfu, arc, lru>;
  static constexpr std::size_t mini_base = 0, mini_wtinylfu = 1, mini_arc = 2, mini_lru = 3;
  minis minis_;
  typename minis::member_bits active_;
  bool exact_lru_;  // the panel holds every key (or has no miniatures): LRU by key_lru
  key_lru lru_;     // empty unless exact_lru_
  std::array<std::uint64_t, panel_members> epoch_{};  // each member's misses this epoch (on the sample)
  std::uint64_t cache_misses_ = 0;          // the cache's, over the run
  std::uint64_t cache_sampled_misses_ = 0;  // of those, on sampled keys
};

}  // namespace prescient::policy::detail
