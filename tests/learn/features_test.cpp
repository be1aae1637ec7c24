// Features, labels, the ghost history table, the normaliser and the linear baseline.
#include "prescient/learn/features.hpp"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "prescient/learn/dataset.hpp"
#include "prescient/learn/libsvm.hpp"
#include "prescient/learn/linear_predictor.hpp"
#include "prescient/trace/next_access.hpp"

namespace {

using namespace prescient::learn;
namespace col = prescient::learn::column;
// Gaps are kept in 16-bit fixed point (key_history::gap_units steps per unit of log1p):
// a gap column may be off by half a step, beside the fast logarithm's own error.
constexpr float gap_tolerance = 0.5f / key_history::gap_units + 1e-4f;

TEST(Features, HistoryRecordsGapsCountsAndAges) {
  feature_extractor fx({.half_lives = {10.0, 100.0, 1000.0}});
  key_history h;
  fx.record(h, 0, 7);
  float row[feature_count];
  fx.write(h, 3, 1, row);
  EXPECT_TRUE(std::isnan(row[col::first_gap]));  // one request: no gap known yet
  EXPECT_TRUE(std::isnan(row[col::mean_gap]));
  fx.record(h, 3, 7);
  fx.write(h, 5, 1, row);
  EXPECT_NEAR(row[col::first_gap], std::log1p(3.0f), gap_tolerance);
  EXPECT_TRUE(std::isnan(row[col::first_gap + 1]));  // only one gap known
  fx.record(h, 10, 7);
  fx.write(h, 15, 1, row);
  EXPECT_NEAR(row[col::age], std::log1p(5.0f), 1e-4);
  EXPECT_NEAR(row[col::first_gap], std::log1p(7.0f), gap_tolerance);      // most recent gap first
  EXPECT_NEAR(row[col::first_gap + 1], std::log1p(3.0f), gap_tolerance);
  EXPECT_NEAR(row[col::count], std::log1p(3.0f), 1e-4);
  EXPECT_NEAR(row[col::lifetime], std::log1p(15.0f), 1e-4);
  EXPECT_NEAR(row[col::size], std::log1p(7.0f), gap_tolerance);  // the size in the same fixed point
  EXPECT_NEAR(row[col::mean_gap], (std::log1p(7.0f) + std::log1p(3.0f)) / 2, gap_tolerance);
  EXPECT_NEAR(row[col::age_over_gap1], std::log1p(5.0f) - std::log1p(7.0f), gap_tolerance);
  // Decayed counters: Σ 2^(−(now − tᵢ)/h) over the requests at 0, 3 and 10.
  const double halves[] = {10.0, 100.0, 1000.0};
  for (std::size_t i = 0; i < decayed_counters; ++i) {
    const double expected = std::exp2(-15 / halves[i]) + std::exp2(-12 / halves[i]) + std::exp2(-5 / halves[i]);
    EXPECT_NEAR(row[col::first_decayed + i], expected, 1e-4 * expected) << "counter " << i;
  }
}

TEST(Features, GapsKeepTheMostRecent) {
  feature_extractor fx;
  key_history h;
  std::uint64_t t = 0;
  for (std::uint64_t gap = 1; gap <= 12; ++gap) fx.record(h, t += gap, 1);  // gaps 2..12 after the first
  float row[feature_count];
  fx.write(h, t, 1, row);
  for (std::size_t k = 0; k < history_gaps; ++k)
    EXPECT_NEAR(row[col::first_gap + k], std::log1p(static_cast<float>(12 - k)), gap_tolerance) << k;
}

// A gap of 2^63 requests, seen by a history kept within reach, is recorded as the
// longest age a history keeps (2^31), and the lifetime stays whole. (The fixed point
// itself holds log1p of any 64-bit gap: 43.7 units, below its 64.)
TEST(Features, HugeGapsReadAsTheLongestAgeKept) {
  feature_extractor fx;
  key_history h;
  history_reach reach;
  const auto at = [&](std::uint64_t now) {
    reach.advance(now, [&](auto&& f) { f(h); });
    fx.record(h, now, 1);
  };
  const std::uint64_t huge = std::uint64_t{1} << 63;
  at(0);
  at(1);
  at(1 + huge);
  float row[feature_count];
  fx.write(h, 1 + huge, 1, row);
  EXPECT_NEAR(row[col::first_gap], std::log1p(static_cast<float>(key_history::max_age)), gap_tolerance + 1e-5f * 22);
  EXPECT_NEAR(row[col::first_gap + 1], std::log1p(1.0f), gap_tolerance);
  EXPECT_EQ(h.span, UINT32_MAX);  // 2^63 + 1 requests since the first: saturated
  const float log_huge = std::log1p(static_cast<float>(huge));
  EXPECT_NEAR(key_history::from_fixed(key_history::to_fixed(log_huge)), log_huge, 0.5f / key_history::gap_units);
}

// history_reach against 64-bit times: histories recorded at random times over many
// wraps of 2^32, with steps of up to 2^29 and jumps of up to 2^36 at once. At every
// request each history reads its true age while that is at most 2^31; older, an age
// between 2^31 and its true age, never below; and always its true lifetime (to the
// span's saturation).
TEST(HistoryReach, KeepsEveryAgeExactOrPastTheBound) {
  feature_extractor fx;
  std::mt19937_64 rng(5);
  constexpr std::size_t keys = 40;
  std::vector<key_history> hs(keys);
  std::vector<std::uint64_t> first(keys), last(keys);
  history_reach reach;
  std::uint64_t now = 0;
  std::size_t clamped = 0, exact_old = 0;
  for (int step = 0; step < 20000; ++step) {
    now += rng() % 64 == 0 ? rng() % (1ull << 36) : rng() % (1ull << 29);
    reach.advance(now, [&](auto&& f) {
      for (auto& h : hs) f(h);
    });
    const std::size_t k = rng() % 8 == 0 ? rng() % keys : rng() % 4;  // four hot keys, the rest rare
    if (!hs[k].seen()) first[k] = now;
    fx.record(hs[k], now, 1);
    last[k] = now;
    for (std::size_t j = 0; j < keys; ++j) {
      const key_history& h = hs[j];
      if (!h.seen()) continue;
      const std::uint64_t true_age = now - last[j], true_lifetime = now - first[j];
      if (true_age <= key_history::max_age) {
        ASSERT_EQ(h.age(now), true_age) << "step " << step << ", key " << j;
        exact_old += true_age > key_history::reach_every;  // exact across a pass
      } else {
        ASSERT_GE(h.age(now), key_history::max_age) << "step " << step << ", key " << j;
        ASSERT_LE(h.age(now), true_age) << "step " << step << ", key " << j;
        ++clamped;
      }
      ASSERT_EQ(h.lifetime(now), std::min(true_lifetime, h.age(now) + UINT32_MAX)) << "step " << step << ", key " << j;
      ASSERT_EQ(h.last_time(now), now - h.age(now));
    }
  }
  EXPECT_GT(clamped, 1000u);  // the rare keys went idle past the bound, many times
  EXPECT_GT(exact_old, 100u);
}

TEST(Features, UnseenKeyHasMissingHistory) {
  feature_extractor fx;
  float row[feature_count];
  fx.write(key_history{}, 100, 3, row);
  EXPECT_TRUE(std::isnan(row[col::age]));
  EXPECT_TRUE(std::isnan(row[col::lifetime]));
  EXPECT_TRUE(std::isnan(row[col::mean_gap]));
  EXPECT_EQ(row[col::count], 0.0f);
  EXPECT_NEAR(row[col::size], std::log1p(3.0f), gap_tolerance);
  // The size column of a key never seen is the one its history will hold once recorded.
  key_history h;
  fx.record(h, 100, 3);
  float seen[feature_count];
  fx.write(h, 100, 3, seen);
  EXPECT_EQ(row[col::size], seen[col::size]);
  for (float v : row) EXPECT_FALSE(std::isinf(v));
}

TEST(Features, FastMathIsAccurate) {
  for (double x = 0; x < 1e9; x = x * 1.37 + 1) {
    const auto xf = static_cast<float>(x);
    EXPECT_NEAR(detail::fast_log1p(xf), std::log1p(xf), 3e-5 + 1e-6 * std::log1p(xf)) << x;
  }
  for (double y = 0; y > -130; y -= 0.173) {
    const auto yf = static_cast<float>(y);
    const float exact = std::exp2(yf);
    if (y > -126) {
      EXPECT_NEAR(detail::fast_exp2_neg(yf), exact, 5e-6 * exact) << y;
    } else {
      EXPECT_EQ(detail::fast_exp2_neg(yf), 0.0f);
    }
  }
}

// Equal bit for bit, or both NaN.
bool same_float(float a, float b) {
  if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
  return std::bit_cast<std::uint32_t>(a) == std::bit_cast<std::uint32_t>(b);
}

TEST(Features, LanesComputeWhatTheScalarFunctionsDoBitForBit) {
  std::vector<float> xs = {0.0f, 1e-30f, 0.5f, 1.0f, 2.0f, 3.0f, 1023.0f, 1024.0f, 65535.0f, 1e9f, 3e38f};
  std::vector<float> ys = {-0.0f, 0.0f, -1e-7f, -0.5f, -1.0f, -1.0000001f, -2.5f, -125.0f, -125.99f,
                           -126.0f, -126.01f, -300.0f, -std::numeric_limits<float>::infinity()};
  std::mt19937_64 rng(7);
  for (int i = 0; i < 4000; ++i) {
    xs.push_back(std::ldexp(std::uniform_real_distribution<float>(0, 1)(rng), static_cast<int>(rng() % 60)));
    ys.push_back(-std::uniform_real_distribution<float>(0, 140)(rng));
  }
  for (std::size_t i = 0; i + 4 <= xs.size(); ++i) {
    const detail::float_lanes x{xs[i], xs[i + 1], xs[i + 2], xs[i + 3]};
    const detail::float_lanes l = detail::fast_log1p(x);
    for (int j = 0; j < 4; ++j) EXPECT_TRUE(same_float(l[j], detail::fast_log1p(xs[i + j]))) << xs[i + j];
  }
  for (std::size_t i = 0; i + 4 <= ys.size(); ++i) {
    const detail::float_lanes y{ys[i], ys[i + 1], ys[i + 2], ys[i + 3]};
    const detail::float_lanes e = detail::fast_exp2_neg(y);
    for (int j = 0; j < 4; ++j) EXPECT_TRUE(same_float(e[j], detail::fast_exp2_neg(ys[i + j]))) << ys[i + j];
  }
}

// A row as the columns' definitions give it, with the scalar fast functions: what
// write_rows must produce for every row of a block.
void reference_row(const key_history& h, std::uint64_t now, std::uint64_t size, const feature_config& cfg, float* row) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const auto log1p_whole = [](std::uint64_t n) { return detail::fast_log1p(static_cast<float>(n)); };
  if (!h.seen()) {
    for (std::size_t c = 0; c < feature_count; ++c) row[c] = nan;
    row[col::count] = 0.0f;
    for (std::size_t i = 0; i < decayed_counters; ++i) row[col::first_decayed + i] = 0.0f;
    row[col::size] = key_history::from_fixed(key_history::to_fixed(log1p_whole(size)));
    return;
  }
  const float age = static_cast<float>(h.age(now));
  row[col::age] = detail::fast_log1p(age);
  float sum = 0;
  for (std::size_t k = 0; k < history_gaps; ++k) {
    row[col::first_gap + k] = k < h.gaps_known ? key_history::from_fixed(h.log_gaps[k]) : nan;
    if (k < h.gaps_known) sum += row[col::first_gap + k];
  }
  row[col::count] = log1p_whole(h.count);
  row[col::lifetime] = detail::fast_log1p(static_cast<float>(h.lifetime(now)));
  for (std::size_t i = 0; i < decayed_counters; ++i)
    row[col::first_decayed + i] = h.decayed[i] * detail::fast_exp2_neg(-age * static_cast<float>(1.0 / cfg.half_lives[i]));
  row[col::size] = key_history::from_fixed(h.log_size);
  row[col::mean_gap] = h.gaps_known ? sum / static_cast<float>(h.gaps_known) : nan;
  row[col::age_over_gap1] = row[col::age] - row[col::first_gap];
  row[col::age_over_mean_gap] = row[col::age] - row[col::mean_gap];
}

TEST(Features, RowsWrittenTogetherAreTheRowsOfTheDefinition) {
  const feature_config cfg{.half_lives = {10.0, 300.0, 70000.0}};
  const feature_extractor fx(cfg);
  std::mt19937_64 rng(11);
  for (int round = 0; round < 300; ++round) {
    const std::size_t n = 1 + rng() % 13;  // several blocks of four, and a part-filled one
    std::vector<key_history> hs(n);
    std::uint64_t now = 0;
    for (auto& h : hs) {
      const int requests = static_cast<int>(rng() % 5);  // 0: never seen; 1: no gap known
      std::uint64_t t = rng() % 1000;
      for (int r = 0; r < requests; ++r) {
        fx.record(h, t, 1 + rng() % 3000);
        t += 1 + (rng() % 4 == 0 ? rng() % (1ull << 40) : rng() % 500);
      }
      now = std::max(now, t);
    }
    now += rng() % 2 ? 0 : rng() % 100000;
    std::vector<std::vector<float>> got(n, std::vector<float>(feature_count)), want = got;
    std::vector<const key_history*> in(n);
    std::vector<float*> out(n);
    for (std::size_t j = 0; j < n; ++j) {
      in[j] = &hs[j];
      out[j] = got[j].data();
      reference_row(hs[j], now, 5, cfg, want[j].data());
    }
    fx.write_rows(in.data(), n, now, 5, out.data());
    for (std::size_t j = 0; j < n; ++j)
      for (std::size_t c = 0; c < feature_count; ++c)
        ASSERT_TRUE(same_float(got[j][c], want[j][c]))
            << "round " << round << ", row " << j << " of " << n << ", column " << feature_names[c] << ": " << got[j][c]
            << " against " << want[j][c];
  }
}

// Times are kept in 32 bits: a history read at times beyond 2^32 gives the rows of the
// same requests shifted to time 0, bit for bit.
TEST(Features, RowsDependOnTimeDifferencesAcrossThe32BitWrap) {
  const feature_extractor fx({.half_lives = {10.0, 100.0, 1000.0}});
  const auto row_at = [&](std::uint64_t offset, std::uint64_t now) {
    key_history h;
    for (const std::uint64_t t : {0ull, 3ull, 10ull, 4000ull}) fx.record(h, offset + t, 7);
    std::array<float, feature_count> row{};
    fx.write(h, offset + now, 1, row.data());
    return row;
  };
  for (const std::uint64_t now : {4000ull, 4001ull, 90000ull, 3'000'000'000ull}) {
    const auto base = row_at(0, now);
    for (const std::uint64_t offset : {(1ull << 32) - 7, (1ull << 32) - 4000, 5 * (1ull << 32) + 3, (1ull << 40) - 1})
      for (std::size_t c = 0; c < feature_count; ++c)
        EXPECT_TRUE(same_float(row_at(offset, now)[c], base[c]))
            << "offset " << offset << ", now " << now << ", column " << feature_names[c];
  }
}

TEST(Features, LabelsAreCensoredAtTheWindow) {
  const label_config lc{.window = 100, .horizon = 10};
  EXPECT_NEAR(next_access_label(std::uint64_t{5}, lc), std::log1p(5.0f), 1e-6);
  EXPECT_NEAR(next_access_label(std::uint64_t{101}, lc), std::log1p(200.0f), 1e-6);
  EXPECT_NEAR(next_access_label(std::nullopt, lc), std::log1p(200.0f), 1e-6);
  EXPECT_TRUE(reused_within_horizon(std::uint64_t{10}, lc));
  EXPECT_FALSE(reused_within_horizon(std::uint64_t{11}, lc));
  EXPECT_FALSE(reused_within_horizon(std::nullopt, lc));
}

// Labels in a unit of time other than one request: log1p(gap / unit), the far label and
// the horizon's score in the same unit, and label_gap reads a score back in requests.
TEST(Features, LabelsInUnitsReadBackAsRequests) {
  const label_config lc{.window = 1024, .horizon = 100, .unit = 16};
  EXPECT_NEAR(next_access_label(std::uint64_t{40}, lc), std::log1p(2.5f), 1e-6);
  EXPECT_NEAR(next_access_label(std::uint64_t{1025}, lc), std::log1p(128.0f), 1e-6);
  EXPECT_NEAR(next_access_label(std::nullopt, lc), std::log1p(128.0f), 1e-6);
  EXPECT_NEAR(horizon_score(lc), std::log1p(6.25f), 1e-6);
  for (const std::uint64_t gap : {0u, 1u, 7u, 100u, 1000u})
    EXPECT_NEAR(label_gap(next_access_label(gap, lc), lc.unit), static_cast<double>(gap), 1e-3 * static_cast<double>(gap + 1));
  // A unit of one request is the plain logarithm, bit for bit.
  const label_config plain{.window = 1000, .horizon = 10};
  for (const std::uint64_t gap : {1u, 3u, 999u, 123456u})
    EXPECT_EQ(next_access_label(gap, plain), gap > 1000 ? std::log1p(2000.0f) : std::log1p(static_cast<float>(gap)));
}

TEST(HistoryTable, ForgetsTheOldestWhenFull) {
  history_table ghost(3);
  key_history h;
  h.count = 1;
  for (std::uint64_t k = 1; k <= 3; ++k) {
    h.last = k;
    EXPECT_FALSE(ghost.put(k, h).has_value());
  }
  h.last = 4;
  const auto forgotten = ghost.put(4, h);
  ASSERT_TRUE(forgotten.has_value());
  EXPECT_EQ(forgotten->last, 1u);
  EXPECT_EQ(ghost.find(1), nullptr);
  ASSERT_NE(ghost.find(2), nullptr);
  EXPECT_EQ(ghost.find(2)->last, 2u);
  key_history out;
  EXPECT_TRUE(ghost.take(3, out));
  EXPECT_EQ(out.last, 3u);
  EXPECT_FALSE(ghost.take(3, out));
  EXPECT_EQ(ghost.size(), 2u);
  // A hole left by `take` is reused in ring order without losing live entries.
  for (std::uint64_t k = 10; k < 100; ++k) ghost.put(k, h);
  EXPECT_EQ(ghost.size(), 3u);
  EXPECT_NE(ghost.find(99), nullptr);
}

// Store numbers are kept modulo 2^32: an entry's turn to go comes exactly `capacity`
// stores after its own, across the wrap as near 0, for every age a held entry can have
// (at most `capacity`: each put first lets go of those whose turn came).
TEST(HistoryTable, TurnsComeExactlyAcrossTheStoreNumbersWrap) {
  for (const std::size_t capacity : {std::size_t{1}, std::size_t{3}, std::size_t{1000}, history_table::max_capacity})
    for (const std::uint64_t stored : {0ull, 5ull, (1ull << 32) - 2, (1ull << 32) - 1, 1ull << 32, 9 * (1ull << 32) + 7})
      for (const std::uint64_t age : {std::uint64_t{0}, std::uint64_t{1}, std::uint64_t{capacity} - 1, std::uint64_t{capacity}}) {
        const std::uint64_t stores = stored + age;
        EXPECT_EQ(history_table::turn_came(static_cast<std::uint32_t>(stored), stores, capacity), age >= capacity)
            << capacity << " " << stored << " " << age;
      }
  // And through the table: 40 keys through 3 places forget each key 3 stores on.
  history_table ghost(3);
  key_history h;
  h.count = 1;
  for (std::uint64_t k = 1; k <= 40; ++k) {
    h.last = static_cast<std::uint32_t>(k);
    const auto forgotten = ghost.put(k, h);
    ASSERT_EQ(forgotten.has_value(), k > 3) << k;
    if (forgotten) {
      EXPECT_EQ(forgotten->last, k - 3);
    }
  }
}

TEST(HistoryTable, RefusesACapacityItCannotHold) {
  EXPECT_NO_THROW(history_table(1000));
  history_table ghost(10);
  try {
    ghost.set_capacity(history_table::max_capacity + 1);
    FAIL() << "a capacity beyond max_capacity was taken";
  } catch (const std::length_error& e) {
    EXPECT_NE(std::string(e.what()).find(std::to_string(history_table::max_capacity + 1)), std::string::npos) << e.what();
  }
  EXPECT_GE(history_table::max_capacity, std::size_t{1} << 31);
  // 4-byte store numbers and a split hash: 44 bytes an entry, 60 with the index's share.
  EXPECT_EQ(history_table::bytes_per_key, 60u);
}

// Staleness is read from the histories' ages: the same beyond 2^32 as near 0.
TEST(HistoryTable, ForgetsByAgeAcrossThe32BitWrap) {
  feature_extractor fx;
  for (const std::uint64_t base : {0ull, (1ull << 32) - 50, 7 * (1ull << 32) + 11}) {
    history_table ghost(1000);
    for (std::uint64_t k = 1; k <= 100; ++k) {
      key_history h;
      fx.record(h, base + k, 1);
      ghost.put(k, h, base + 1, base + k);
    }
    ghost.forget_older_than(base + 41, base + 100);
    EXPECT_EQ(ghost.size(), 60u) << base;
    EXPECT_EQ(ghost.find(40), nullptr) << base;
    ASSERT_NE(ghost.find(41), nullptr) << base;
    EXPECT_EQ(ghost.find(41)->last_time(base + 100), base + 41);
    std::size_t held = 0;
    ghost.for_each_history([&](key_history&) { ++held; });
    EXPECT_GE(held, 60u);  // the live ones, and places of forgotten ones not reclaimed yet
  }
}

// Stale entries leave from the oldest end as far as the first recent one; the ring
// grows only as far as what it holds needs, and keeps its FIFO order while it grows.
TEST(HistoryTable, ForgetsStaleEntriesFromTheOldestEnd) {
  history_table ghost(10000);
  key_history h;
  h.count = 1;
  for (std::uint64_t k = 1; k <= 100; ++k) {
    h.last = k;
    ghost.put(k, h);
  }
  EXPECT_EQ(ghost.size(), 100u);
  ghost.forget_older_than(41, 100);  // keys 1..40 were last requested before time 41
  EXPECT_EQ(ghost.size(), 60u);
  EXPECT_EQ(ghost.find(40), nullptr);
  ASSERT_NE(ghost.find(41), nullptr);
  // A recent entry stops the walk: a stale one stored after it stays (its taker checks).
  h.last = 1000;
  ghost.put(500, h);
  h.last = 2;
  ghost.put(501, h);
  ghost.forget_older_than(999, 1000);
  EXPECT_EQ(ghost.size(), 2u);
  EXPECT_NE(ghost.find(500), nullptr);
  EXPECT_NE(ghost.find(501), nullptr);
  // A table whose entries go stale as fast as they come holds few, and its memory stays
  // far below its bound.
  history_table window(100000);
  for (std::uint64_t t = 1; t <= 50000; ++t) {
    h.last = t;
    window.forget_older_than(t > 200 ? t - 200 : 0, t);
    window.put(t, h);
  }
  EXPECT_EQ(window.size(), 201u);
  EXPECT_LT(window.bytes(), 1000 * history_table::bytes_per_key);
  // Growing keeps the order: the oldest is still forgotten first once full.
  history_table fifo(300);
  for (std::uint64_t k = 1; k <= 301; ++k) {
    h.last = k;
    const auto forgotten = fifo.put(k, h);
    if (k <= 300) {
      EXPECT_FALSE(forgotten.has_value()) << k;
    } else {
      ASSERT_TRUE(forgotten.has_value());
      EXPECT_EQ(forgotten->last, 1u);
    }
  }
  EXPECT_EQ(fifo.size(), 300u);
  EXPECT_EQ(fifo.find(1), nullptr);
  EXPECT_NE(fifo.find(2), nullptr);
}

TEST(Normaliser, BatchesMergeToTheWholeAndSkipNaN) {
  std::mt19937 rng(3);
  std::normal_distribution<float> normal(5, 2);
  feature_matrix all(1000, 2);
  for (Eigen::Index r = 0; r < all.rows(); ++r) {
    all(r, 0) = normal(rng);
    all(r, 1) = r % 4 == 0 ? std::numeric_limits<float>::quiet_NaN() : normal(rng) * 3;
  }
  running_normaliser whole(2), parts(2);
  whole.update(all);
  parts.update(all.topRows(317));
  parts.update(all.bottomRows(683));
  EXPECT_NEAR(parts.mean()(0), whole.mean()(0), 1e-9);
  EXPECT_NEAR(parts.stddev()(1), whole.stddev()(1), 1e-9);
  EXPECT_EQ(whole.count()(1), 750);  // NaNs skipped
  feature_matrix z = all;
  whole.apply(z);
  EXPECT_NEAR(z.col(0).cast<double>().mean(), 0.0, 1e-4);
  EXPECT_EQ(z(0, 1), 0.0f);  // a NaN becomes the mean
  EXPECT_THROW(whole.update(feature_matrix(3, 5)), feature_error);
}

TEST(LinearPredictor, RecoversALinearFunctionOnHeldOutRows) {
  std::mt19937 rng(7);
  std::normal_distribution<float> normal;
  const Eigen::Index n = 4000;
  feature_matrix x(n, 4);
  std::vector<float> y(n);
  for (Eigen::Index r = 0; r < n; ++r) {
    for (Eigen::Index c = 0; c < 4; ++c) x(r, c) = normal(rng) * static_cast<float>(c + 1) + 10;
    y[static_cast<std::size_t>(r)] = 2 * x(r, 0) - 0.5f * x(r, 1) + 3 + 0.1f * normal(rng);
  }
  const auto train_rows = x.topRows(3000);
  const linear_predictor model =
      linear_predictor::train(train_rows, std::span<const float>(y.data(), 3000));
  double sse = 0, sst = 0, mean = 0;
  for (Eigen::Index r = 3000; r < n; ++r) mean += y[static_cast<std::size_t>(r)] / 1000.0;
  for (Eigen::Index r = 3000; r < n; ++r) {
    const float p = model.predict_row(x.row(r).data());
    sse += std::pow(p - y[static_cast<std::size_t>(r)], 2);
    sst += std::pow(y[static_cast<std::size_t>(r)] - mean, 2);
  }
  EXPECT_GT(1 - sse / sst, 0.99);
  EXPECT_NEAR(model.weights()[0], 2.0f, 0.02f);
  // NaN is the training mean; infinity and wrong shapes are refused.
  feature_matrix odd = x.topRows(2);
  odd(0, 2) = std::numeric_limits<float>::quiet_NaN();
  std::vector<float> out(2);
  EXPECT_NO_THROW(model.predict(odd, out));
  EXPECT_TRUE(std::isfinite(out[0]));
  odd(1, 3) = std::numeric_limits<float>::infinity();
  EXPECT_THROW(model.predict(odd, out), feature_error);
  EXPECT_THROW(model.predict(feature_matrix(2, 3), out), feature_error);
  EXPECT_THROW(linear_predictor::train(feature_matrix(0, 4), {}), model_error);
  std::vector<float> bad(3000, 1.0f);
  bad[5] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_THROW(linear_predictor::train(train_rows, bad), model_error);
}

TEST(Dataset, RowsAndLabelsComeFromTheFuture) {
  // Key k is requested every k+1 positions: its label is log1p(k+1) right after a
  // request.
  std::vector<prescient::trace::request> reqs;
  for (std::uint64_t i = 0; i < 3000; ++i) {
    for (std::uint64_t k = 0; k < 3; ++k)
      if (i % (k + 1) == 0) reqs.push_back({.key = k, .size = 1});
  }
  prescient::trace::annotate_next_access(reqs);
  const dataset d = build_dataset(reqs, {.capacity = 10, .sample_every = 1});
  ASSERT_EQ(d.rows.rows(), static_cast<Eigen::Index>(2 * reqs.size()));
  ASSERT_EQ(d.labels.size(), 2 * reqs.size());
  for (std::size_t i = 0; i + 1 < reqs.size(); ++i) {
    const float expected = reqs[i].next_access < 0 ? next_access_label(std::nullopt, d.label_cfg)
                                                   : std::log1p(static_cast<float>(reqs[i].next_access - static_cast<std::int64_t>(i)));
    ASSERT_NEAR(d.labels[2 * i], expected, 1e-5) << i;
    ASSERT_FLOAT_EQ(d.rows(static_cast<Eigen::Index>(2 * i), col::age), 0.0f);
  }
}

TEST(LibSVM, RoundTripsBitForBitWithMissingValues) {
  feature_matrix x(3, 4);
  x << 1.5f, std::numeric_limits<float>::quiet_NaN(), 1e-7f, -3.25f,  //
      0.1f, 0.2f, 0.3f, 0.4f,                                         //
      std::numeric_limits<float>::quiet_NaN(), 7, 8, 123456.789f;
  const std::vector<float> y = {1, 2.5f, -0.125f};
  std::stringstream text;
  write_libsvm(text, x, y);
  feature_matrix back;
  std::vector<float> labels;
  read_libsvm(text, 4, back, labels);
  ASSERT_EQ(back.rows(), 3);
  EXPECT_EQ(labels, y);
  for (Eigen::Index r = 0; r < 3; ++r)
    for (Eigen::Index c = 0; c < 4; ++c) {
      if (std::isnan(x(r, c))) {
        EXPECT_TRUE(std::isnan(back(r, c)));
      } else {
        EXPECT_EQ(back(r, c), x(r, c));
      }
    }
  std::stringstream bad("1 0:1 9:2\n");
  EXPECT_THROW(read_libsvm(bad, 4, back, labels), feature_error);
}

}  // namespace
