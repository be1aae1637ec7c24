// prescient/learn/features.hpp — what the learned cache knows about a key, as numbers.
//
// Every request updates the requested key's `key_history` in O(1): the last two
// inter-arrival gaps, three exponentially decayed request counters, the request count,
// when the key was first and last seen, and its size. All times are *logical*: the
// cache's request counter, so traces without timestamps work and a model trained on
// one host's log transfers to another's at a different request rate.
//
// From a history and the current time, `feature_extractor::write` fills one row of the
// feature matrix the predictors read (predictor.hpp), and `write_rows` several at once
// (the learned policy's ranking; the same rows). The columns, in order:
//
//   col  name        value                                               missing (NaN)
//   0    age         log1p(now − last request): recency (at most 2³¹)    never seen
//   1-2  gap1, gap2  log1p(k-th most recent inter-arrival gap)           fewer gaps known
//   3    count       log1p(requests seen, saturating at 2³²−1)           —
//   4    lifetime    log1p(now − first request)                          never seen
//   5    decay_short decayed count, half-life `half_lives[0]` requests   —
//   6    decay_mid   decayed count, half-life `half_lives[1]`            —
//   7    decay_long  decayed count, half-life `half_lives[2]`            —
//   8    size        log1p(size of the last request, in weight units)    —
//   9    mean_gap    mean of the known gaps' log1p (a geometric mean)   no gap known
//   10   age_over_gap1      age − gap1 (logs): how far into its usual     no gap known
//   11   age_over_mean_gap  age − mean_gap    gap the key is              no gap known
//
// Two gaps, not eight: on every shared trace the model did as well or better without
// the older six (docs/experiments.md, "Two gaps per key, not eight"), and a history is
// 16 bytes smaller for it.
//
// Columns 10 and 11 are differences of columns a tree already has, but a tree splits on
// one column at a time: "the key is overdue compared with its last gap" is a diagonal
// boundary in (age, gap1) that would take many splits to approximate, and is the single
// most useful fact for a key in a loop.
//
// A decayed counter is Σ 2^(−(now − tᵢ)/h) over the key's past requests tᵢ: a
// frequency that forgets at the half-life h (LRB's "exponentially decayed counters",
// Song et al., NSDI 2020). It is stored as its value at the last request and decayed
// on read, so a history is updated only when its key is requested.
//
// Logarithms keep the columns in a narrow range (gaps span 1 to 10⁸ requests) without
// clipping; trees do not care, the linear model and the normaliser do.
//
// Labels come from the future of the log (`next_access_label`): the gap until the key's
// next request, as log1p(gap / unit), censored at a window W: a key not requested again
// within W requests gets the fixed "far" label log1p(2W / unit). The unit is one request
// for the offline tools and W / 64 in the learned policy (`label_config::unit`). The
// binary label "requested again within horizon H" (H ≤ W) drives the classification
// metrics (precision, recall, F1).
//
// Memory: `key_history` is 32 bytes (`key_history::bytes`; the gaps and the size in 16-bit
// fixed point, the count's logarithm recomputed when a row is written, the times in 32
// bits kept within reach by `history_reach`). The learned policy keeps one per resident
// entry and one per key in its ghost `history_table` (32 bytes plus the key's 8-byte
// hash, a 4-byte store number and 16 of index at load ½ ≈ 60 bytes per remembered key).
#pragma once

#include <Eigen/Core>

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "prescient/detail/slot_index.hpp"
#include "prescient/learn/predictor.hpp"

namespace prescient::learn {

/// Inter-arrival gaps kept per key.
inline constexpr std::size_t history_gaps = 2;
/// Decayed counters kept per key.
inline constexpr std::size_t decayed_counters = 3;
/// Columns of a feature row.
inline constexpr std::size_t feature_count = 10 + history_gaps;

namespace column {
inline constexpr std::size_t age = 0;
inline constexpr std::size_t first_gap = 1;  // gap1 (most recent), gap2 at first_gap + 1
inline constexpr std::size_t count = first_gap + history_gaps;
inline constexpr std::size_t lifetime = count + 1;
inline constexpr std::size_t first_decayed = lifetime + 1;
inline constexpr std::size_t size = first_decayed + decayed_counters;
inline constexpr std::size_t mean_gap = size + 1;
inline constexpr std::size_t age_over_gap1 = mean_gap + 1;
inline constexpr std::size_t age_over_mean_gap = age_over_gap1 + 1;
static_assert(age_over_mean_gap + 1 == feature_count);
}  // namespace column

/// Column names, for exported datasets and reports.
inline constexpr std::array<std::string_view, feature_count> feature_names = {
    "age",        "gap1",      "gap2",       "count",    "lifetime",      "decay_short",
    "decay_mid",  "decay_long", "size",      "mean_gap", "age_over_gap1", "age_over_mean_gap"};

/// Parameters of the features.
struct feature_config {
  /// Half-lives of the decayed counters, in requests.
  std::array<double, decayed_counters> half_lives = {256.0, 4096.0, 65536.0};
};

/// The history of one key. Plain data: copy it into a ghost table and back. Gaps and
/// the count are kept as their logarithms (computed once, at the request) because a row
/// is written far more often than a history is updated: each eviction scores several
/// candidates.
///
/// Times are kept in 32 bits: `last` is the last request's logical time modulo 2^32 and
/// `span` the requests from the first request to the last (saturating at 2^32 − 1), so
/// a history is 32 bytes, not 40. The age read back (`age`) is exact while it is below
/// 2^32; the owner of stored histories keeps it so with a `history_reach`, which every
/// 2^30 requests brings any history older than 2^31 requests back to that age (its
/// lifetime kept, to the span's saturation). A key idle for 2^31 requests or more thus
/// reads as idle for 2^31 — far beyond any window the policy or its labels look at.
struct key_history {
  std::uint32_t last = 0;  ///< logical time of the last request, modulo 2^32 (read through `age`)
  std::uint32_t span = 0;  ///< requests from the first request to the last (saturating)
  std::array<float, decayed_counters> decayed{};  ///< counters as of `last`
  std::uint32_t count = 0;  ///< requests seen (saturating)
  /// log1p(gap) in fixed point (`to_fixed`), newest first. Two bytes instead of a
  /// float's four: the error, 1/2048 of a unit of log1p (a gap off by 0.05%), is far
  /// below what the trees' 64 bins resolve.
  std::array<std::uint16_t, history_gaps> log_gaps{};
  std::uint16_t log_size = 0;   ///< log1p(weight of the last request), in fixed point
  std::uint8_t gaps_known = 0;  ///< how many of `log_gaps` hold a gap
  /// A training row of this key may be waiting for its label (set by the learned
  /// policy when it samples the key). 0 means none is, so a request of a key seen before
  /// need not look for one.
  std::uint8_t row_waiting = 0;

  static constexpr std::size_t bytes = 32;
  /// The oldest age a kept history may read (see `history_reach`).
  static constexpr std::uint64_t max_age = std::uint64_t{1} << 31;
  /// How often, in requests, the owner brings its histories within `max_age`.
  static constexpr std::uint64_t reach_every = std::uint64_t{1} << 30;
  static constexpr float gap_units = 1024.0f;  ///< fixed-point steps per unit of log1p: 2^16 / 1024 = 64 > log1p(2^64)

  /// A logarithm (≥ 0, < 64) in the 16-bit fixed point of `log_gaps` and `log_size`.
  [[nodiscard]] static std::uint16_t to_fixed(float log) noexcept {
    return static_cast<std::uint16_t>(log * gap_units + 0.5f);
  }
  [[nodiscard]] static float from_fixed(std::uint16_t fixed) noexcept {
    return static_cast<float>(fixed) * (1.0f / gap_units);
  }

  [[nodiscard]] bool seen() const noexcept { return count > 0; }

  /// Requests since the last one, at logical time `now` (≥ the last request's): exact
  /// while below 2^32, which `history_reach` guarantees for the histories it keeps.
  [[nodiscard]] std::uint64_t age(std::uint64_t now) const noexcept {
    return static_cast<std::uint32_t>(static_cast<std::uint32_t>(now) - last);
  }
  /// Requests since the first one.
  [[nodiscard]] std::uint64_t lifetime(std::uint64_t now) const noexcept { return age(now) + span; }
  /// The logical time of the last request (`now` − `age(now)`).
  [[nodiscard]] std::uint64_t last_time(std::uint64_t now) const noexcept { return now - age(now); }

  /// Brings the age at `now` within `max_age`, given that the age at `then` (≤ now) is
  /// still exact: an older history reads as `max_age` old, its first request as many
  /// requests earlier as before (to the span's saturation).
  void keep_within_reach(std::uint64_t then, std::uint64_t now) noexcept {
    if (!seen()) return;
    const std::uint64_t a = age(then) + (now - then);
    if (a <= max_age) return;
    const std::uint64_t s = std::uint64_t{span} + (a - max_age);
    span = s > UINT32_MAX ? UINT32_MAX : static_cast<std::uint32_t>(s);
    last = static_cast<std::uint32_t>(now - max_age);
  }
};
static_assert(sizeof(key_history) == key_history::bytes, "update key_history::bytes and the header comment");

/// What keeps an owner's stored histories' ages exact (key_history::age): told every
/// request's time, in order, before any history is read or written at it, it has the
/// owner bring every history it holds within key_history::max_age once every
/// key_history::reach_every requests. Between two such passes no kept history grows
/// older than max_age + reach_every < 2^32, so its 32-bit time still says how old it is.
class history_reach {
 public:
  /// `for_each_history(f)` calls f(key_history&) on every history the owner holds; it
  /// runs only when a pass is due (once per key_history::reach_every requests), so the
  /// request's cost is one comparison. A time earlier than the last counts as the last.
  template <class ForEachHistory>
  void advance(std::uint64_t now, ForEachHistory&& for_each_history) {
    if (now < previous_) return;  // a time that went back: as if it were the last one
    if (now - checked_ >= key_history::reach_every) [[unlikely]] {
      const std::uint64_t then = previous_;  // every age was exact then
      for_each_history([then, now](key_history& h) { h.keep_within_reach(then, now); });
      checked_ = now;
    }
    previous_ = now;
  }

 private:
  std::uint64_t checked_ = 0;   // the time of the last pass
  std::uint64_t previous_ = 0;  // the time of the last request
};

namespace detail {

// Fast, deterministic replacements for log1p and exp2 on the feature path. A row is
// written for every scored candidate, and libm's log1pf alone took a third of a replay;
// these are 5-10× cheaper. Rows are only ever compared with rows written by the same
// functions (training and inference both call them), so an error of 3e-5 is harmless.

/// ln(1 + x) for x ≥ 0, absolute error < 3e-5 (a degree-5 least-squares polynomial for
/// log2 of the mantissa).
[[nodiscard]] inline float fast_log1p(float x) noexcept {
  const float y = 1.0f + x;
  const auto bits = std::bit_cast<std::uint32_t>(y);
  const float exponent = static_cast<float>(static_cast<int>(bits >> 23) - 127);
  const float t = std::bit_cast<float>((bits & 0x007fffffu) | 0x3f800000u) - 1.0f;  // mantissa − 1, in [0, 1)
  const float log2_mantissa =
      t * (1.4418259f + t * (-0.70868292f + t * (0.41542472f + t * (-0.19442637f + t * 0.045887220f))));
  return (exponent + log2_mantissa) * 0.69314718f;
}

/// 2^y for y ≤ 0 (0 below −126), relative error < 5e-6.
[[nodiscard]] inline float fast_exp2_neg(float y) noexcept {
  if (!(y > -126.0f)) return 0.0f;
  const float floor_y = std::floor(y);
  const float f = y - floor_y;  // [0, 1)
  const float two_f = 1.0f + f * (0.69301870f + f * (0.24140428f + f * (0.052074907f + f * 0.013492893f)));
  const auto scale = std::bit_cast<float>(static_cast<std::uint32_t>(static_cast<int>(floor_y) + 127) << 23);
  return two_f * scale;
}

// The same two functions on four floats at once (GCC's and Clang's vector extension;
// 16 bytes, an SSE2 register on every x86-64 target, as compiled_forest's lanes). Each
// lane is computed by the scalar version's operations in the same order, so a lane's
// value equals the scalar function's bit for bit (features_test checks it); rows are
// written four at a time with these (feature_extractor::write_rows).
using float_lanes = float __attribute__((vector_size(4 * sizeof(float))));
using int_lanes = std::int32_t __attribute__((vector_size(4 * sizeof(float))));
using uint_lanes = std::uint32_t __attribute__((vector_size(4 * sizeof(float))));
inline constexpr std::size_t lane_count = 4;

[[nodiscard]] inline float_lanes fast_log1p(float_lanes x) noexcept {
  const float_lanes y = 1.0f + x;
  const auto bits = reinterpret_cast<uint_lanes>(y);
  const float_lanes exponent = __builtin_convertvector(reinterpret_cast<int_lanes>(bits >> 23) - 127, float_lanes);
  const float_lanes t = reinterpret_cast<float_lanes>((bits & 0x007fffffu) | 0x3f800000u) - 1.0f;
  const float_lanes log2_mantissa =
      t * (1.4418259f + t * (-0.70868292f + t * (0.41542472f + t * (-0.19442637f + t * 0.045887220f))));
  return (exponent + log2_mantissa) * 0.69314718f;
}

[[nodiscard]] inline float_lanes fast_exp2_neg(float_lanes y) noexcept {
  const int_lanes in_range = y > -126.0f;  // all bits set where true
  const float_lanes safe = reinterpret_cast<float_lanes>(in_range & reinterpret_cast<int_lanes>(y));
  // floor for safe ∈ (−126, 0]: truncation toward zero, one less where that rounded up.
  const int_lanes truncated = __builtin_convertvector(safe, int_lanes);
  const int_lanes floor_i = truncated + (__builtin_convertvector(truncated, float_lanes) > safe);
  const float_lanes floor_y = __builtin_convertvector(floor_i, float_lanes);
  const float_lanes f = safe - floor_y;  // [0, 1)
  const float_lanes two_f = 1.0f + f * (0.69301870f + f * (0.24140428f + f * (0.052074907f + f * 0.013492893f)));
  const auto scale = reinterpret_cast<float_lanes>((floor_i + 127) << 23);
  return reinterpret_cast<float_lanes>(in_range & reinterpret_cast<int_lanes>(two_f * scale));
}

}  // namespace detail

static_assert(decayed_counters <= detail::lane_count, "record decays the counters in one set of lanes");

/// Precomputed per-half-life constants, shared by every history update and row.
class feature_extractor {
 public:
  explicit feature_extractor(const feature_config& cfg = {}) {
    for (std::size_t i = 0; i < decayed_counters; ++i) {
      const double h = cfg.half_lives[i] > 0 && std::isfinite(cfg.half_lives[i]) ? cfg.half_lives[i] : 1.0;
      inv_half_life_[i] = static_cast<float>(1.0 / h);
      inv_half_life_lanes_[i] = inv_half_life_[i];
    }
    for (std::size_t n = 0; n < small_whole; ++n) log1p_small_[n] = log1p(static_cast<float>(n));
  }

  /// Sets the size the key was stored with (an insertion that is not a request), as
  /// `record` would.
  void set_size(key_history& h, std::uint64_t size) const noexcept { h.log_size = key_history::to_fixed(log1p_whole(size)); }

  /// Records a request of the key at logical time `now` (not before its last) with weight
  /// `size`.
  void record(key_history& h, std::uint64_t now, std::uint64_t size) const noexcept {
    if (h.count == 0) {
      h.span = 0;
      for (float& d : h.decayed) d = 1.0f;
    } else {
      const std::uint64_t whole_gap = h.age(now);
      const std::uint64_t span = h.span + whole_gap;
      h.span = span > UINT32_MAX ? UINT32_MAX : static_cast<std::uint32_t>(span);
      const float gap = static_cast<float>(whole_gap);
      for (std::size_t k = history_gaps - 1; k > 0; --k) h.log_gaps[k] = h.log_gaps[k - 1];
      h.log_gaps[0] = key_history::to_fixed(log1p(gap));
      if (h.gaps_known < history_gaps) ++h.gaps_known;
      const detail::float_lanes decays = detail::fast_exp2_neg(-gap * inv_half_life_lanes_);
      for (std::size_t i = 0; i < decayed_counters; ++i) h.decayed[i] = h.decayed[i] * decays[i] + 1.0f;
    }
    h.last = static_cast<std::uint32_t>(now);
    if (h.count < UINT32_MAX) ++h.count;
    h.log_size = key_history::to_fixed(log1p_whole(size));
  }

  /// Fills `row[0, feature_count)` for a key with history `h` (possibly never seen) at
  /// logical time `now` (not before its last request), requested with weight `size` when h knows none.
  /// Costs two log1p and three exp2.
  /// (Sizes are weights: with unit weights the size column is constant.)
  void write(const key_history& h, std::uint64_t now, std::uint64_t size, float* row) const noexcept {
    const key_history* one = &h;
    write_rows(&one, 1, now, size, &row);
  }

  /// `write` for `n` histories at once: rows[j] from *histories[j]. The logarithms and
  /// the decays of four rows are computed together (detail::float_lanes), each row equal
  /// bit for bit to what `write` gives it alone — `write` is this with n = 1.
  void write_rows(const key_history* const* histories, std::size_t n, std::uint64_t now, std::uint64_t size,
                  float* const* rows) const noexcept {
    using detail::float_lanes;
    for (std::size_t b = 0; b < n; b += detail::lane_count) {
      const std::size_t c = std::min(detail::lane_count, n - b);
      float_lanes age{}, lifetime{};
      for (std::size_t j = 0; j < c; ++j) {
        const key_history& h = *histories[b + j];
        if (!h.seen()) continue;
        age[j] = static_cast<float>(h.age(now));
        lifetime[j] = static_cast<float>(h.lifetime(now));
      }
      const float_lanes log_age = detail::fast_log1p(age), log_lifetime = detail::fast_log1p(lifetime);
      std::array<float_lanes, decayed_counters> decays;
      for (std::size_t i = 0; i < decayed_counters; ++i) decays[i] = detail::fast_exp2_neg(-age * inv_half_life_[i]);
      for (std::size_t j = 0; j < c; ++j) {
        std::array<float, decayed_counters> d;
        for (std::size_t i = 0; i < decayed_counters; ++i) d[i] = decays[i][j];
        finish_row(*histories[b + j], log_age[j], log_lifetime[j], d, size, rows[b + j]);
      }
    }
  }

 private:
  // One row from its logarithms and decay factors (computed by write_rows, four at a time).
  void finish_row(const key_history& h, float log_age, float log_lifetime, const std::array<float, decayed_counters>& decay_of_age,
                  std::uint64_t size, float* row) const noexcept {
    constexpr float missing = std::numeric_limits<float>::quiet_NaN();
    if (!h.seen()) {
      row[column::age] = missing;
      for (std::size_t k = 0; k < history_gaps; ++k) row[column::first_gap + k] = missing;
      row[column::count] = 0.0f;
      row[column::lifetime] = missing;
      for (std::size_t i = 0; i < decayed_counters; ++i) row[column::first_decayed + i] = 0.0f;
      row[column::size] = key_history::from_fixed(key_history::to_fixed(log1p_whole(size)));  // as a history keeps it
      row[column::mean_gap] = missing;
      row[column::age_over_gap1] = missing;
      row[column::age_over_mean_gap] = missing;
      return;
    }
    row[column::age] = log_age;
    float log_gap_sum = 0;
    for (std::size_t k = 0; k < history_gaps; ++k) {
      if (k < h.gaps_known) {
        const float g = key_history::from_fixed(h.log_gaps[k]);
        log_gap_sum += g;
        row[column::first_gap + k] = g;
      } else {
        row[column::first_gap + k] = missing;
      }
    }
    row[column::count] = log1p_whole(h.count);
    row[column::lifetime] = log_lifetime;
    for (std::size_t i = 0; i < decayed_counters; ++i) row[column::first_decayed + i] = h.decayed[i] * decay_of_age[i];
    row[column::size] = key_history::from_fixed(h.log_size);
    row[column::mean_gap] = h.gaps_known ? log_gap_sum / static_cast<float>(h.gaps_known) : missing;
    row[column::age_over_gap1] = row[column::age] - row[column::first_gap];  // NaN when no gap
    row[column::age_over_mean_gap] = row[column::age] - row[column::mean_gap];
  }

  static float log1p(float x) noexcept { return detail::fast_log1p(x); }
  // log1p of a count or a size: small ones (most counts, unit sizes) from a table of the
  // same function's values, so a request costs one logarithm instead of three.
  [[nodiscard]] float log1p_whole(std::uint64_t n) const noexcept {
    return n < small_whole ? log1p_small_[n] : log1p(static_cast<float>(n));
  }
  static constexpr std::size_t small_whole = 256;
  std::array<float, small_whole> log1p_small_{};

  std::array<float, decayed_counters> inv_half_life_{};
  detail::float_lanes inv_half_life_lanes_{};  // the same, one per lane (the fourth 0: unused)
};

// ---------------------------------------------------------------------------------------
// Labels

/// How labels are cut from the future of the log.
struct label_config {
  /// Censoring window W, in requests: a key not requested again within W gets the far
  /// label log1p(2W / unit).
  std::uint64_t window = 1u << 20;
  /// Horizon H of the binary label "requested again within H requests".
  std::uint64_t horizon = 1u << 14;
  /// The labels' unit of time, in requests: a gap g is labelled log1p(g / unit). 1 (the
  /// offline tools', and what a model loaded from a file is read as): the logarithm of
  /// the gap itself. The learned policy labels in units of a 64th of its window
  /// (`learned_config::label_unit`): gaps far shorter than the window all come back
  /// before an eviction could matter, and a logarithm over single requests spends most
  /// of the labels' range telling them apart.
  double unit = 1.0;
};

/// The regression label for a key next requested `gap` requests from now (nullopt:
/// never again).
[[nodiscard]] inline float next_access_label(std::optional<std::uint64_t> gap, const label_config& cfg) noexcept {
  if (!gap || *gap > cfg.window) return std::log1p(static_cast<float>(2.0 * static_cast<double>(cfg.window) / cfg.unit));
  return std::log1p(static_cast<float>(static_cast<double>(*gap) / cfg.unit));
}

/// The gap, in requests, that a regression score stands for under labels of this unit
/// (the inverse of next_access_label below the window).
[[nodiscard]] inline double label_gap(float score, double unit) noexcept {
  return std::expm1(static_cast<double>(score)) * unit;
}

/// The binary label: requested again within the horizon.
[[nodiscard]] inline bool reused_within_horizon(std::optional<std::uint64_t> gap, const label_config& cfg) noexcept {
  return gap && *gap <= cfg.horizon;
}

/// The score threshold equivalent to the horizon: a regression score (log1p of the gap
/// in `unit`s) at or below it predicts "requested again within H".
[[nodiscard]] inline float horizon_score(const label_config& cfg) noexcept {
  return std::log1p(static_cast<float>(static_cast<double>(cfg.horizon) / cfg.unit));
}

// ---------------------------------------------------------------------------------------
// Ghost histories

/// Histories of keys that are not resident. A history is forgotten `capacity` stores
/// after its own (FIFO: the key stored longest ago goes first, whether or not others were
/// taken back meanwhile), or earlier when it is stale: the caller names a time before
/// which a history's last request makes it so (`put`'s `stale_before`,
/// `forget_older_than`). The entries held live in a ring that grows as they arrive and
/// is compacted when full, so memory (`bytes()`) follows what is held, at most
/// `capacity` entries, not the bound. Lookups and stores are O(1), amortised over the
/// ring's compactions.
class history_table {
 public:
  explicit history_table(std::size_t capacity = 0) { set_capacity(capacity); }

  /// The most histories a table may be asked to hold: positions in the ring are slot
  /// ids, and store numbers are kept modulo 2^32 (exact while no held entry is more than
  /// 2^32 − 1 stores old, which a capacity below 2^32 guarantees).
  static constexpr std::size_t max_capacity = std::numeric_limits<slot_id>::max() - 1;

  /// Throws std::length_error beyond `max_capacity`.
  void set_capacity(std::size_t capacity) {
    if (capacity > max_capacity)
      throw std::length_error("history_table: capacity " + std::to_string(capacity) + " exceeds the most it can hold, " +
                              std::to_string(max_capacity));
    clear();
    capacity_ = capacity;
    entries_.clear();
    entries_.shrink_to_fit();
  }

  /// The stored history of `hash`, or nullptr.
  [[nodiscard]] const key_history* find(std::uint64_t hash) const {
    const slot_id pos = position(hash);
    return pos == no_slot ? nullptr : &entries_[pos].history;
  }

  /// Removes the history of `hash` into `out`; false when it is not stored.
  bool take(std::uint64_t hash, key_history& out) {
    const slot_id pos = position(hash);
    if (pos == no_slot) return false;
    out = entries_[pos].history;
    index_.erase(hash, pos);  // out of the index: the entry is dead, its place reclaimed later
    --size_;
    return true;
  }

  /// Stores `h` for `hash` (not stored yet). The history stored `capacity` stores ago,
  /// if still held, is forgotten and returned, so the caller can settle what it referred
  /// to; histories last requested before `stale_before` (as of logical time `now`, which
  /// their ages are read at) may be dropped on the way.
  std::optional<key_history> put(std::uint64_t hash, const key_history& h, std::uint64_t stale_before,
                                 std::uint64_t now) {
    if (capacity_ == 0) return h;
    std::optional<key_history> forgotten;
    while (used_ > 0 && turn_came(entries_[head_].stored, stores_, capacity_)) {
      if (live(head_)) {
        forgotten = entries_[head_].history;
        index_.erase(entries_[head_].hash(), static_cast<slot_id>(head_));
        --size_;
      }
      advance_head();
    }
    if (used_ == entries_.size()) rebuild(stale_before, now);
    const std::size_t pos = (head_ + used_) % entries_.size();
    entries_[pos] = entry{static_cast<std::uint32_t>(hash), static_cast<std::uint32_t>(hash >> 32),
                          static_cast<std::uint32_t>(stores_), h};
    index_.insert(hash, static_cast<slot_id>(pos));
    ++stores_;
    ++used_;
    ++size_;
    return forgotten;
  }
  /// Stores `h` for `hash` with no history counted stale (the FIFO bound alone).
  std::optional<key_history> put(std::uint64_t hash, const key_history& h) { return put(hash, h, 0, 0); }

  /// Forgets, from the oldest end, every history last requested before `time` (as of
  /// logical time `now` ≥ time), and the places of taken ones, up to the first live
  /// entry that is recent. (The ring is in the order of stores, not of last requests: a
  /// stale entry behind a recent one waits for a compaction, and the caller checks the
  /// age of what it takes.)
  void forget_older_than(std::uint64_t time, std::uint64_t now) {
    while (used_ > 0) {
      const entry& oldest = entries_[head_];
      if (live(head_)) {
        if (recent(oldest.history, time, now)) return;
        index_.erase(oldest.hash(), static_cast<slot_id>(head_));
        --size_;
      }
      advance_head();
    }
  }

  /// Calls f(key_history&) on every held history (for a history_reach pass).
  template <class F>
  void for_each_history(F&& f) {
    for (std::size_t i = 0; i < used_; ++i) f(entries_[(head_ + i) % entries_.size()].history);
  }

  void clear() {
    index_.clear();  // every entry is dead once out of the index
    size_ = 0;
    head_ = used_ = 0;
  }

  [[nodiscard]] std::size_t size() const { return size_; }
  [[nodiscard]] std::size_t capacity() const { return capacity_; }
  /// Bytes per remembered key when the table holds `capacity` of them: the entry (the
  /// hash, when it was stored, the history) plus the index at load ≤ ½.
  static constexpr std::size_t bytes_per_key = 3 * sizeof(std::uint32_t) + key_history::bytes + 16;

  /// Whether the history stored as store number `stored` (modulo 2^32) has had its turn
  /// to go, `capacity` stores later, once `stores` stores were made. Exact for every
  /// held entry: each `put` first lets go of every entry whose turn came, so none held
  /// is more than `capacity` < 2^32 stores old when this is asked.
  [[nodiscard]] static constexpr bool turn_came(std::uint32_t stored, std::uint64_t stores, std::size_t capacity) noexcept {
    return static_cast<std::uint32_t>(static_cast<std::uint32_t>(stores) - stored) >= capacity;
  }
  /// Bytes held now: the ring as grown so far, and its index.
  [[nodiscard]] std::size_t bytes() const {
    return entries_.capacity() * sizeof(entry) + index_.bucket_count() * prescient::detail::slot_index::bytes_per_bucket;
  }

 private:
  // An entry is live while the index maps its hash to its position (a hash is stored
  // at most once while live), so it needs no flag of its own.
  // The hash in two halves, so that the entry has the history's 4-byte alignment: 44
  // bytes, not 48 (a ghost table holds up to `ghost_per_entry` of them per cache entry).
  struct entry {
    std::uint32_t hash_low = 0;
    std::uint32_t hash_high = 0;
    std::uint32_t stored = 0;  // the store's number (`stores_` then) mod 2^32: its turn to go comes `capacity` later
    key_history history{};
    [[nodiscard]] std::uint64_t hash() const noexcept { return std::uint64_t{hash_high} << 32 | hash_low; }
  };
  static_assert(sizeof(entry) == 3 * sizeof(std::uint32_t) + key_history::bytes);

  [[nodiscard]] slot_id position(std::uint64_t hash) const {
    return index_.find(hash, [&](slot_id p) { return entries_[p].hash() == hash; });
  }
  [[nodiscard]] bool live(std::size_t pos) const { return position(entries_[pos].hash()) == pos; }
  // Last requested at `time` or later (a history that knows no request is as old as time
  // 0). Any history is recent from time 0, so `now` need not be given then.
  [[nodiscard]] static bool recent(const key_history& h, std::uint64_t time, std::uint64_t now) {
    return h.seen() ? h.last_time(now) >= time : time == 0;
  }
  void advance_head() {
    head_ = (head_ + 1) % entries_.size();
    --used_;
  }

  // A full ring: the live, recent entries move to the front in store order, and the
  // index is rebuilt; the ring doubles (at most to the capacity) if they fill more than
  // half of it. It either doubles the ring or frees half of it, so it is O(1) amortised
  // over the stores that filled it. (A ring of `capacity` places cannot be full here:
  // the entry `capacity` stores old has just gone.)
  void rebuild(std::uint64_t stale_before, std::uint64_t now) {
    const auto keep = [&](std::size_t pos) {
      return live(pos) && recent(entries_[pos].history, stale_before, now);
    };
    std::size_t n = 0;  // counted first, so the new ring is allocated at its exact size
    for (std::size_t i = 0; i < used_; ++i) n += keep((head_ + i) % entries_.size());
    const std::size_t ring = entries_.empty() || 2 * n > entries_.size()
                                 ? std::min(capacity_, std::max<std::size_t>(64, 2 * entries_.size()))
                                 : entries_.size();
    std::vector<entry> kept;
    kept.reserve(ring);
    for (std::size_t i = 0; i < used_; ++i)
      if (const std::size_t pos = (head_ + i) % entries_.size(); keep(pos)) kept.push_back(entries_[pos]);
    kept.resize(ring);
    index_.reserve(n + 1);  // may throw: the table is unchanged until here
    index_.clear();
    for (std::size_t i = 0; i < n; ++i) index_.insert(kept[i].hash(), static_cast<slot_id>(i));
    entries_ = std::move(kept);
    head_ = 0;
    used_ = size_ = n;
  }

  std::vector<entry> entries_;  // the ring: positions head_ .. head_ + used_ (mod size) in use
  prescient::detail::slot_index index_;
  std::size_t capacity_ = 0;
  std::uint64_t stores_ = 0;  // histories stored so far
  std::size_t size_ = 0;      // live entries
  std::size_t head_ = 0;      // the oldest position in use
  std::size_t used_ = 0;      // positions in use, live or dead
};

// ---------------------------------------------------------------------------------------
// Normalisation

/// Running z-score normalisation per column (Chan et al.'s parallel update of mean and
/// variance, merged batch by batch). NaN values are skipped when learning and become 0
/// (the mean) when applied, so a missing value carries no signal for a linear model.
class running_normaliser {
 public:
  explicit running_normaliser(std::size_t columns = feature_count)
      : count_(Eigen::ArrayXd::Zero(static_cast<Eigen::Index>(columns))),
        mean_(Eigen::ArrayXd::Zero(static_cast<Eigen::Index>(columns))),
        m2_(Eigen::ArrayXd::Zero(static_cast<Eigen::Index>(columns))) {}

  /// Folds a batch into the running statistics.
  void update(const feature_matrix& rows) {
    if (rows.cols() != count_.size())
      throw feature_error("normaliser expects " + std::to_string(count_.size()) + " columns, got " +
                          std::to_string(rows.cols()));
    const Eigen::ArrayXXd x = rows.cast<double>().array();
    const Eigen::ArrayXXd present = (x == x).cast<double>();  // NaN != NaN
    const Eigen::ArrayXXd values = present * x.isNaN().select(0.0, x);
    const Eigen::ArrayXd n_b = present.colwise().sum().transpose();
    const Eigen::ArrayXd mean_b = (values.colwise().sum().transpose() / n_b.max(1.0));
    const Eigen::ArrayXXd centred = present * (values.rowwise() - mean_b.transpose());
    const Eigen::ArrayXd m2_b = centred.square().colwise().sum().transpose();
    const Eigen::ArrayXd n = count_ + n_b;
    const Eigen::ArrayXd delta = mean_b - mean_;
    const Eigen::ArrayXd safe_n = n.max(1.0);
    mean_ += delta * n_b / safe_n;
    m2_ += m2_b + delta.square() * count_ * n_b / safe_n;
    count_ = n;
  }

  /// Normalises `rows` in place: (x − mean) / stddev; NaN → 0; constant columns → 0.
  void apply(feature_matrix& rows) const {
    if (rows.cols() != count_.size())
      throw feature_error("normaliser expects " + std::to_string(count_.size()) + " columns, got " +
                          std::to_string(rows.cols()));
    const Eigen::ArrayXd sd = stddev();
    const Eigen::ArrayXd inv = (sd > 1e-12).select(sd.inverse(), 0.0);
    for (Eigen::Index r = 0; r < rows.rows(); ++r)
      for (Eigen::Index c = 0; c < rows.cols(); ++c) {
        const float v = rows(r, c);
        rows(r, c) = std::isnan(v) ? 0.0f : static_cast<float>((v - mean_(c)) * inv(c));
      }
  }

  [[nodiscard]] const Eigen::ArrayXd& mean() const { return mean_; }
  [[nodiscard]] Eigen::ArrayXd stddev() const { return (m2_ / count_.max(1.0)).sqrt(); }
  [[nodiscard]] const Eigen::ArrayXd& count() const { return count_; }

 private:
  Eigen::ArrayXd count_;
  Eigen::ArrayXd mean_;
  Eigen::ArrayXd m2_;
};

}  // namespace prescient::learn
