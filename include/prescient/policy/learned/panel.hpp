// prescient/policy/learned/panel.hpp — what the heuristics would have missed: key-only
// shadows of LRU, the base heuristic (S3-FIFO by default), W-TinyLFU and ARC over the
// learned cache's own requests, so that its referee can hand the decisions to whichever
// is best now, and bound the run by the best of them (learned/referee.hpp).
//
// LRU is shadowed exactly (detail::key_lru over every request). The others run as
// miniature caches (Waldspurger et al., "Cache Modeling and Optimization using Miniature
// Simulations", ATC 2017): only the keys whose hash falls in a fixed sample of rate R
// reach them, each with R × the capacity, so a request costs a hash comparison unless
// its key is sampled. R = min(1, `sampled_entries` / capacity): a cache of up to
// `sampled_entries` entries is shadowed exactly. A miniature's misses estimate the
// full cache's once divided by R; the error of that estimate is mostly a bias of the
// sample, shared by every miniature, so it is calibrated away against LRU: a miniature
// LRU runs on the same sample, and every estimate is scaled by (exact LRU misses /
// miniature LRU misses) over the run so far.
//
// Cost per request: the exact LRU's probe, a hash comparison, and for a sampled key
// one probe of the miniatures' shared index (detail::shadow_group) and each miniature's
// O(1) update. Memory: the exact LRU's 40 bytes per entry, and R × the miniatures'
// bytes (per slot a weight, a record number and the policy's metadata; per key any of
// them holds, a record and its index buckets).
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
  /// panel but the exact LRU); `base_config`: the base heuristic's parameters; `salt`:
  /// picks which keys are sampled (the learned policy's seed: another seed, another
  /// sample, so that runs over several seeds also measure the sample's luck).
  panel(std::uint64_t capacity, std::size_t sampled_entries, const typename Base::config& base_config = {},
        std::uint64_t salt = 0)
      : lru_(capacity),
        salt_(mix_salt(salt)),
        rate_(capacity == 0 || sampled_entries == 0
                  ? 0.0
                  : std::min(1.0, static_cast<double>(sampled_entries) / static_cast<double>(capacity))),
        threshold_(static_cast<std::uint64_t>(rate_ * static_cast<double>(std::uint64_t{1} << 32))),
        mini_capacity_(std::max<std::uint64_t>(1, static_cast<std::uint64_t>(rate_ * static_cast<double>(capacity)))),
        minis_(mini_capacity_, base_config, wtinylfu::config{}, arc::config{}, lru::config{}),
        active_(rate_ < 1 ? minis::all : minis::all & ~(typename minis::member_bits{1} << mini_lru)) {
    lru_.reserve(static_cast<std::size_t>(std::min<std::uint64_t>(capacity, std::uint64_t{1} << 20)));
  }

  /// Whether the miniatures run (the cache has a capacity and a panel was asked for).
  [[nodiscard]] bool enabled() const { return rate_ > 0; }
  [[nodiscard]] double rate() const { return rate_; }

  /// A request; updates every shadow that sees `key_hash`. True when LRU alone hit.
  bool request(std::uint64_t key_hash, std::uint64_t weight, std::uint64_t time) {
    const bool lru_hit = lru_.request(key_hash, weight);
    if (!lru_hit) ++epoch_[0];
    if (rate_ > 0 && sampled(key_hash)) {
      const typename minis::member_bits hits = minis_.request(key_hash, weight, time, active_);
      epoch_[1] += (hits >> mini_base & 1u) == 0;
      epoch_[2] += (hits >> mini_wtinylfu & 1u) == 0;
      epoch_[3] += (hits >> mini_arc & 1u) == 0;
      if (rate_ < 1 && (hits >> mini_lru & 1u) == 0) {
        ++mini_lru_misses_;
        ++mini_lru_epoch_;
      }
    }
    return lru_hit;
  }

  /// An insertion that is not a request (a put, a prefetch): LRU's shadow takes it; the
  /// miniatures, which count only requests, do not.
  void put(std::uint64_t key_hash, std::uint64_t weight) { lru_.put(key_hash, weight); }

  /// Whether member `m`'s shadow holds `key_hash`: nothing when the key is not in the
  /// sample (the answer would be a guess).
  [[nodiscard]] std::optional<bool> holds(member m, std::uint64_t key_hash) const {
    if (m == member::lru) return lru_.contains(key_hash);
    if (rate_ <= 0 || !sampled(key_hash)) return std::nullopt;
    if (m == member::base) return minis_.contains(mini_base, key_hash);
    if (m == member::wtinylfu) return minis_.contains(mini_wtinylfu, key_hash);
    return minis_.contains(mini_arc, key_hash);
  }

  /// Estimated misses of member `m` since the epoch began, scaled to the whole stream.
  [[nodiscard]] double epoch_misses(member m) const {
    const auto i = static_cast<std::size_t>(m);
    if (i == 0) return static_cast<double>(epoch_[0]);
    if (rate_ <= 0) return static_cast<double>(epoch_[0]);  // no panel: LRU stands for all
    return static_cast<double>(epoch_[i]) * scale();
  }

  /// The same estimate with every member counted on the miniatures' sample — LRU's
  /// miniature rather than its exact shadow where the panel samples — so that the
  /// members are compared on the same keys. What the referee chooses the heuristic by:
  /// early in a run every member misses the same first requests, but the exact LRU
  /// counts them all and the miniatures a sample of them scaled up, so a sample that
  /// happened to hold more of them made LRU look better by more than the switch margin
  /// and took the decisions from the first heuristic within the first 1,024 requests.
  [[nodiscard]] double choice_misses(member m) const {
    if (m == member::lru && rate_ > 0 && rate_ < 1) return static_cast<double>(mini_lru_epoch_) * scale();
    return epoch_misses(m);
  }

  /// The standard error of `epoch_misses(m)` from the sampling: a miniature's misses are
  /// counted on a sample of the keys, so about √(its misses) × the scale (0 where the
  /// shadow is exact: LRU, or a cache of up to `sampled_entries`).
  [[nodiscard]] double epoch_noise(member m) const {
    const auto i = static_cast<std::size_t>(m);
    if (i == 0 || rate_ <= 0 || rate_ >= 1) return 0.0;
    return std::sqrt(static_cast<double>(epoch_[i])) * scale();
  }

  /// Starts a new epoch; the calibration keeps what it learned.
  void start_epoch() {
    lru_misses_ += epoch_[0];
    epoch_.fill(0);
    mini_lru_epoch_ = 0;
  }

  void clear() {
    lru_.clear();
    minis_.clear();
    epoch_.fill(0);
    lru_misses_ = mini_lru_misses_ = mini_lru_epoch_ = 0;
  }

  /// Bytes per entry of the cache: the exact LRU's, and the miniatures' share.
  [[nodiscard]] std::size_t bytes_per_entry() const {
    const auto per_mini_entry = static_cast<double>(minis_.bytes_per_entry(active_));
    return key_lru::bytes_per_entry + static_cast<std::size_t>(rate_ * per_mini_entry);
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

  // Miniature misses → whole-stream misses: 1/R, calibrated by exact over miniature LRU
  // (over the run so far, once it has seen enough misses to mean something).
  [[nodiscard]] double scale() const {
    if (rate_ >= 1) return 1.0;
    const double exact = static_cast<double>(lru_misses_ + epoch_[0]);
    const double mini = static_cast<double>(mini_lru_misses_);
    if (mini < 64 || exact <= 0) return 1.0 / rate_;
    return exact / mini;
  }

  key_lru lru_;
  std::uint64_t salt_;
  double rate_;
  std::uint64_t threshold_;
  std::uint64_t mini_capacity_;
  // The miniatures, one index between them; the LRU among them (for the calibration)
  // sees requests only where the panel samples.
  using minis = shadow_group<Base, wtinylfu, arc, lru>;
  static constexpr std::size_t mini_base = 0, mini_wtinylfu = 1, mini_arc = 2, mini_lru = 3;
  minis minis_;
  typename minis::member_bits active_;
  std::array<std::uint64_t, panel_members> epoch_{};
  std::uint64_t lru_misses_ = 0;       // exact LRU, over the run before this epoch
  std::uint64_t mini_lru_misses_ = 0;  // miniature LRU, over the run
  std::uint64_t mini_lru_epoch_ = 0;   // miniature LRU, this epoch
};

}  // namespace prescient::policy::detail
