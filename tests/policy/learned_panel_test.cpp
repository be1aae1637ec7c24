// The learned policy's panel: exact shadows when the cache is small enough, and
// miniature caches calibrated against the cache's own misses when it is not — their
// estimates of each heuristic's misses close to what that heuristic alone misses.
#include "prescient/policy/learned/panel.hpp"
#include "prescient/policy/learned/config.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <optional>
#include <random>
#include <vector>

#include "prescient/cache.hpp"
#include "prescient/hash.hpp"
#include "prescient/policy/arc.hpp"
#include "prescient/policy/lru.hpp"
#include "prescient/policy/s3fifo.hpp"
#include "prescient/policy/wtinylfu.hpp"
#include "test_support.hpp"

namespace {

using namespace prescient;
using policy::detail::member;

std::vector<std::uint64_t> zipf_keys(std::size_t n, std::uint64_t universe, std::uint32_t seed) {
  return prescient::test::zipf_keys(n, universe, seed, 0.8);
}

template <class P>
double misses_alone(const std::vector<std::uint64_t>& keys, std::uint64_t capacity) {
  cache<std::uint64_t, char, P> c(capacity);
  for (auto k : keys)
    if (!c.get(k)) c.put(k, 0);
  return static_cast<double>(c.stats().misses);
}

// The whole stream as one epoch: the panel's estimate for each member, beside a cache
// of the S3-FIFO policy (standing for the learned cache) that tells the panel its misses,
// as the learned policy does. `top_bits`: when set, every key hash gets these top 3
// bits, as the keys of one shard of an 8-shard concurrent_cache have (the shard is
// picked by them).
std::array<double, policy::detail::panel_members> estimates(const std::vector<std::uint64_t>& keys,
                                                            std::uint64_t capacity, std::size_t sampled,
                                                            std::optional<std::uint64_t> top_bits = {}) {
  policy::detail::panel<policy::s3fifo> p(capacity, sampled);
  cache<std::uint64_t, char, policy::s3fifo> host(capacity);
  const prescient::hash<std::uint64_t> h;
  std::uint64_t t = 0;
  for (auto k : keys) {
    std::uint64_t kh = h(k);
    if (top_bits) kh = (kh >> 3) | (*top_bits << 61);
    if (!host.get(k)) {
      host.put(k, 0);
      p.cache_miss(kh);
    }
    p.request(kh, 1, t++);
  }
  std::array<double, policy::detail::panel_members> out{};
  for (std::size_t m = 0; m < out.size(); ++m) out[m] = p.epoch_misses(static_cast<member>(m));
  return out;
}

TEST(LearnedPanel, SmallCachesAreShadowedExactly) {
  const auto keys = zipf_keys(200000, 20000, 3);
  const auto e = estimates(keys, 1000, 2048);
  EXPECT_EQ(e[0], misses_alone<policy::lru>(keys, 1000));
  EXPECT_EQ(e[1], misses_alone<policy::s3fifo>(keys, 1000));
  EXPECT_EQ(e[2], misses_alone<policy::wtinylfu>(keys, 1000));
  EXPECT_EQ(e[3], misses_alone<policy::arc>(keys, 1000));
}

TEST(LearnedPanel, MiniaturesEstimateLargeCaches) {
  const auto keys = zipf_keys(1000000, 200000, 4);
  const std::uint64_t capacity = 20000;
  const auto e = estimates(keys, capacity, 2048);  // a sample of about 10%
  const double lru = misses_alone<policy::lru>(keys, capacity), s3 = misses_alone<policy::s3fifo>(keys, capacity),
               w = misses_alone<policy::wtinylfu>(keys, capacity), arc = misses_alone<policy::arc>(keys, capacity);
  EXPECT_NEAR(e[0] / lru, 1.0, 0.03) << "LRU is a miniature too";
  EXPECT_NEAR(e[1] / s3, 1.0, 0.03);
  EXPECT_NEAR(e[2] / w, 1.0, 0.03);
  EXPECT_NEAR(e[3] / arc, 1.0, 0.03);
  // The referee switches on differences of 5% and more; those the estimates keep in order.
  const std::array<double, 4> exact{lru, s3, w, arc}, est{e[0], e[1], e[2], e[3]};
  for (std::size_t i = 0; i < 4; ++i)
    for (std::size_t j = 0; j < 4; ++j)
      if (exact[i] < 0.95 * exact[j]) {
        EXPECT_LT(est[i], est[j]) << "members " << i << " and " << j;
      }
}

// The default: miniatures of 1,024 entries (a sample of 5% here) — coarser, still within
// a few per cent.
TEST(LearnedPanel, DefaultMiniaturesEstimateLargeCaches) {
  const auto keys = zipf_keys(1000000, 200000, 5);
  const std::uint64_t capacity = 20000;
  using config = policy::learned_config<int, int>;
  ASSERT_EQ(config{}.panel_entries, 1024u);
  const auto e = estimates(keys, capacity, config{}.panel_entries);
  EXPECT_NEAR(e[0] / misses_alone<policy::lru>(keys, capacity), 1.0, 0.05);
  EXPECT_NEAR(e[1] / misses_alone<policy::s3fifo>(keys, capacity), 1.0, 0.05);
  EXPECT_NEAR(e[2] / misses_alone<policy::wtinylfu>(keys, capacity), 1.0, 0.05);
  EXPECT_NEAR(e[3] / misses_alone<policy::arc>(keys, capacity), 1.0, 0.05);
}

// A concurrent_cache picks a key's shard by the top bits of its hash, so a shard's keys
// all share them. The sample must not: every shard's panel sees its share of keys
// (sampling on the hash's own top bits took all of some shards' keys and none of the
// others', whose panels then estimated zero misses for every heuristic).
TEST(LearnedPanel, SamplesEveryShardAlike) {
  policy::detail::panel<policy::s3fifo> p(20000, 1024);  // a sample of about 5%
  ASSERT_NEAR(p.rate(), 1024.0 / 20000.0, 1e-9);
  std::mt19937_64 rng(11);
  for (std::uint64_t shard = 0; shard < 8; ++shard) {
    int sampled = 0;
    const int n = 40000;
    for (int i = 0; i < n; ++i) {
      const std::uint64_t h = (rng() >> 3) | (shard << 61);
      sampled += p.holds(member::base, h).has_value();
    }
    EXPECT_NEAR(static_cast<double>(sampled) / n, p.rate(), 0.2 * p.rate()) << "shard " << shard;
  }
}

// The same in the estimates: a shard's panel (its keys' top bits fixed) estimates its
// heuristics as a whole cache's does.
TEST(LearnedPanel, AShardsMiniaturesEstimateItsHeuristics) {
  const auto keys = zipf_keys(400000, 60000, 6);
  const std::uint64_t capacity = 6000;
  for (const std::uint64_t shard : {0u, 5u, 7u}) {
    const auto e = estimates(keys, capacity, 1024, shard);
    // What each heuristic alone misses on these keys (the hashes are the panel's keys:
    // the heuristics see the same stream whatever the top bits).
    EXPECT_NEAR(e[0] / misses_alone<policy::lru>(keys, capacity), 1.0, 0.05) << "shard " << shard;
    EXPECT_NEAR(e[1] / misses_alone<policy::s3fifo>(keys, capacity), 1.0, 0.05) << "shard " << shard;
    EXPECT_NEAR(e[2] / misses_alone<policy::wtinylfu>(keys, capacity), 1.0, 0.05) << "shard " << shard;
    EXPECT_NEAR(e[3] / misses_alone<policy::arc>(keys, capacity), 1.0, 0.05) << "shard " << shard;
  }
}

// The salt (the learned policy's seed) picks the sample: the same salt the same keys,
// another salt about an independent sample of the same rate.
TEST(LearnedPanel, TheSaltPicksTheSample) {
  policy::detail::panel<policy::s3fifo> a(10000, 1000, {}, 1), b(10000, 1000, {}, 1), c(10000, 1000, {}, 2);
  std::mt19937_64 rng(12);
  int in_a = 0, in_both_ac = 0;
  for (int i = 0; i < 50000; ++i) {
    const std::uint64_t h = rng();
    const bool sa = a.holds(member::arc, h).has_value();
    ASSERT_EQ(sa, b.holds(member::arc, h).has_value());
    const bool sc = c.holds(member::arc, h).has_value();
    in_a += sa;
    in_both_ac += sa && sc;
  }
  EXPECT_NEAR(in_a / 50000.0, 0.1, 0.01);
  EXPECT_NEAR(in_both_ac / 50000.0, 0.01, 0.004) << "another salt, an independent sample";
}

// The sampling error the duel allows for: none where the shadow is exact, about
// √(sampled misses) × the scale where it samples — a few per cent of the estimate.
TEST(LearnedPanel, EstimatesReportTheirSamplingError) {
  const auto keys = zipf_keys(300000, 60000, 8);
  const prescient::hash<std::uint64_t> h;
  policy::detail::panel<policy::s3fifo> exact(800, 1024), sampled(20000, 1024);
  std::uint64_t t = 0;
  for (auto k : keys) {
    exact.request(h(k), 1, t);
    sampled.request(h(k), 1, t++);
  }
  for (const member m : {member::lru, member::base, member::wtinylfu, member::arc}) EXPECT_EQ(exact.epoch_noise(m), 0.0);
  for (const member m : {member::lru, member::base, member::wtinylfu, member::arc}) {
    const double e = sampled.epoch_misses(m), sd = sampled.epoch_noise(m);
    EXPECT_GT(sd, 0.01 * e);
    EXPECT_LT(sd, 0.2 * e);
  }
}

// Early in a run every member and the cache miss the same first requests. Every member
// is counted on the sample, so their estimates are equal; scaled by 1/rate alone they
// would differ from the cache's own count by the sample's luck — often by more than
// the referee's 5% switch margin, enough to lose the model a duel it drew — and
// calibrated by the cache's misses (once 64 of them fall on sampled keys) they equal it.
TEST(LearnedPanel, EstimatesAreCalibratedByTheCachesOwnMisses) {
  const prescient::hash<std::uint64_t> h;
  int luck_beyond_margin = 0;
  for (std::uint64_t salt = 0; salt < 20; ++salt) {
    policy::detail::panel<policy::s3fifo> told(20000, 1024, {}, salt), untold(20000, 1024, {}, salt);  // ~5%
    for (std::uint64_t k = 0; k < 4000; ++k) {  // first requests only: the cache misses each
      told.cache_miss(h(k));
      told.request(h(k), 1, k);
      untold.request(h(k), 1, k);
    }
    for (const member m : {member::lru, member::base, member::wtinylfu, member::arc}) {
      EXPECT_DOUBLE_EQ(told.epoch_misses(m), 4000.0) << "salt " << salt;
      EXPECT_EQ(untold.epoch_misses(m), untold.epoch_misses(member::base)) << "salt " << salt;
    }
    luck_beyond_margin += std::abs(untold.epoch_misses(member::base) / 4000.0 - 1) > 0.05;
  }
  EXPECT_GE(luck_beyond_margin, 3);
}

// The calibration's arithmetic on keys chosen in and out of the sample: 1/rate until 64
// of the cache's misses fell on sampled keys, then the cache's misses over those.
TEST(LearnedPanel, TheScaleIsTheCachesMissesOverItsSampledMisses) {
  policy::detail::panel<policy::s3fifo> p(20000, 1000);  // rate 0.05
  std::vector<std::uint64_t> in, out;
  for (std::uint64_t k = 1; in.size() < 200 || out.size() < 2000; ++k) {
    const std::uint64_t kh = k * 0x9e3779b97f4a7c15ULL;
    auto& v = p.holds(member::base, kh).has_value() ? in : out;
    if (v.size() < (&v == &in ? 200u : 2000u)) v.push_back(kh);
  }
  for (std::size_t i = 0; i < 63; ++i) p.cache_miss(in[i]);
  for (std::size_t i = 0; i < 567; ++i) p.cache_miss(out[i]);
  for (std::size_t i = 0; i < 10; ++i) p.request(in[100 + i], 1, i);  // ten sampled misses each
  for (std::size_t i = 0; i < 10; ++i) p.request(out[1000 + i], 1, 10 + i);  // unseen by the miniatures
  EXPECT_DOUBLE_EQ(p.epoch_misses(member::arc), 10 / 0.05) << "63 sampled misses: not yet evidence";
  p.cache_miss(in[63]);
  p.cache_miss(out[567]);
  EXPECT_DOUBLE_EQ(p.epoch_misses(member::arc), 10.0 * 632 / 64);
  EXPECT_DOUBLE_EQ(p.epoch_misses(member::lru), 10.0 * 632 / 64) << "LRU's miniature, the same scale";
  EXPECT_DOUBLE_EQ(p.epoch_noise(member::lru), std::sqrt(10.0 + 1) * 632 / 64);
  p.start_epoch();
  EXPECT_EQ(p.epoch_misses(member::base), 0.0);
  // No sampled miss yet is no evidence of none: an epoch of sampled hits only estimates 0
  // misses, with the error of one sampled miss, never 0 (or a rout would act on nothing).
  for (std::size_t i = 0; i < 10; ++i) p.request(in[100 + i], 1, 20 + i);  // all held: hits
  for (const member m : {member::lru, member::base, member::wtinylfu, member::arc}) {
    EXPECT_EQ(p.epoch_misses(m), 0.0);
    EXPECT_DOUBLE_EQ(p.epoch_noise(m), 1.0 * 632 / 64);
  }

  p.clear();
  p.request(in[150], 1, 30);
  EXPECT_DOUBLE_EQ(p.epoch_misses(member::base), 1 / 0.05) << "cleared: the calibration starts again";
}

// Where the panel holds every key, LRU is the exact key_lru (puts included) and nothing
// is scaled; the cache's misses change nothing.
TEST(LearnedPanel, ExactShadowsNeedNoCalibration) {
  const auto keys = zipf_keys(50000, 5000, 9);
  const prescient::hash<std::uint64_t> h;
  policy::detail::panel<policy::s3fifo> p(800, 1024);
  std::uint64_t t = 0;
  for (auto k : keys) {
    if (t % 3 == 0) p.cache_miss(h(k));
    p.request(h(k), 1, t++);
  }
  EXPECT_EQ(p.epoch_misses(member::lru), misses_alone<policy::lru>(keys, 800));
  EXPECT_EQ(p.epoch_misses(member::arc), misses_alone<policy::arc>(keys, 800));
  p.put(h(999999), 1);
  EXPECT_EQ(p.holds(member::lru, h(999999)), std::optional<bool>(true));
}

TEST(LearnedPanel, NoPanelMeansLruAlone) {
  policy::detail::panel<policy::s3fifo> p(1000, 0);
  EXPECT_FALSE(p.enabled());
  for (std::uint64_t k = 0; k < 5000; ++k) p.request(k * 0x9e3779b97f4a7c15ULL, 1, k);
  EXPECT_EQ(p.epoch_misses(member::wtinylfu), p.epoch_misses(member::lru));
  EXPECT_FALSE(p.holds(member::arc, 1).has_value());
}

}  // namespace
