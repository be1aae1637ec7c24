// The learned policy: it is its base heuristic until it has a model, it learns a pattern
// LRU cannot, its admission keeps a scan out, and every failure (a trainer that throws, a
// model that scores NaN, a model of the wrong shape) leaves a correct cache and a counter.
#include "prescient/policy/learned.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <optional>
#include <random>
#include <span>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "prescient/cache.hpp"
#include "prescient/expiry.hpp"
#include "prescient/learn/forest_trainer.hpp"
#include "prescient/policy/arc.hpp"
#include "prescient/policy/lfu.hpp"
#include "prescient/policy/lru.hpp"
#include "prescient/policy/s3fifo.hpp"
#include "prescient/policy/wtinylfu.hpp"
#include "prescient/policy/registry.hpp"
#include "test_support.hpp"
#include "../policy/key_hashes_check.hpp"
#include "policy_harness.hpp"

namespace {

using namespace prescient;
using learned_linear = policy::learned<learn::linear_predictor>;
using learned_forest = policy::learned<learn::compiled_forest>;

using prescient::test::zipf_keys;

template <class Cache>
std::vector<bool> replay(Cache& c, const std::vector<std::uint64_t>& keys) {
  std::vector<bool> hits;
  hits.reserve(keys.size());
  for (auto k : keys) hits.push_back(c.get_or_insert(k, [&] { return k * 3; }));
  return hits;
}

double hit_ratio(const std::vector<bool>& hits, std::size_t from = 0) {
  std::size_t n = 0;
  for (std::size_t i = from; i < hits.size(); ++i) n += hits[i];
  return static_cast<double>(n) / static_cast<double>(hits.size() - from);
}

// Without a model and without a panel, the base heuristic decides every eviction. (With
// the panel, the panel's best decides: at 200 entries its shadows are exact, and any
// member ahead of the base takes over: ThePanelReplacesALosingBaseHeuristic.)
TEST(LearnedPolicy, WithoutAModelItIsItsBaseHeuristic) {
  const auto keys = zipf_keys(50000, 3000, 1);
  learned_linear::config cfg;
  cfg.mode = policy::training_mode::off;
  cfg.panel_entries = 0;
  cache<std::uint64_t, std::uint64_t, learned_linear> learned(200, cfg);
  cache<std::uint64_t, std::uint64_t, policy::s3fifo> base(200);
  EXPECT_EQ(replay(learned, keys), replay(base, keys));
  const auto& st = learned.policy().stats();
  EXPECT_FALSE(st.model_active);
  EXPECT_EQ(st.model_evictions, 0u);
  EXPECT_EQ(st.fallback_evictions, base.stats().evictions);
}

// With a panel and no evidence yet (a run shorter than the referee's first check, 1,024
// requests), the first heuristic decides every eviction: W-TinyLFU by default, the base
// with `wtinylfu_first = false` — decision for decision the heuristic's own cache.
TEST(LearnedPolicy, BeforeAnyEvidenceTheFirstHeuristicDecides) {
  auto keys = zipf_keys(1000, 600, 5);
  for (std::size_t i = 300; i < 420; ++i) keys[i] = 100000 + i;  // a scan: where the two differ
  for (const bool wtinylfu_first : {true, false}) {
    learned_linear::config cfg;
    cfg.mode = policy::training_mode::off;
    cfg.wtinylfu_first = wtinylfu_first;
    cache<std::uint64_t, std::uint64_t, learned_linear> learned(100, cfg);
    const auto hits = replay(learned, keys);
    cache<std::uint64_t, std::uint64_t, policy::wtinylfu> w(100);
    cache<std::uint64_t, std::uint64_t, policy::s3fifo> s(100);
    const auto w_hits = replay(w, keys), s_hits = replay(s, keys);
    ASSERT_NE(w_hits, s_hits) << "the trace must tell the two heuristics apart";
    EXPECT_EQ(hits, wtinylfu_first ? w_hits : s_hits) << "wtinylfu_first " << wtinylfu_first;
    EXPECT_EQ(learned.policy().stats().heuristic, wtinylfu_first ? "wtinylfu" : "s3fifo");
    EXPECT_EQ(learned.policy().stats().heuristic_switches, 0u);
    EXPECT_EQ(learned.check_invariants(), "");
  }
}

// Histories keep 32-bit times (learn::key_history). Driven at 2^26 requests a step (the
// clock wraps 2^32 every 64 requests), every tracked resident key's history reads its
// true age while that is at most 2^31 — and older, at least 2^31 and at most the truth:
// never an idle key that reads as recent.
TEST(LearnedPolicy, HistoriesKeepTheirAgesAcrossThe32BitWrap) {
  learned_linear::config cfg;
  cfg.mode = policy::training_mode::off;
  policy_test::harness<learned_linear> h(64, cfg);
  h.set_time_step(std::uint64_t{1} << 26);
  std::mt19937_64 rng(3);
  std::unordered_map<std::uint64_t, std::uint64_t> last;  // key → time of its last request
  std::size_t exact_old = 0, past_bound = 0;
  for (int i = 0; i < 6000; ++i) {
    // Keys 0..31 often at first (frequent: W-TinyLFU keeps them), then one-off keys and,
    // now and then, one of the first 32 again after a long idle time.
    const std::uint64_t k = i < 1000 ? rng() % 32 : (rng() % 16 == 0 ? rng() % 32 : 1000 + static_cast<std::uint64_t>(i));
    const std::uint64_t now = h.now();
    h.request(k);
    last[k] = now;
    for (std::uint64_t key = 0; key < 32; ++key) {
      if (!h.contains(key)) continue;
      const learn::key_history& kh = h.policy().history(h.slot_of(key));
      ASSERT_TRUE(kh.seen());
      const std::uint64_t true_age = now - last.at(key);
      if (true_age <= learn::key_history::max_age) {
        ASSERT_EQ(kh.age(now), true_age) << "request " << i << ", key " << key;
        exact_old += true_age > learn::key_history::reach_every;
      } else {
        ASSERT_GE(kh.age(now), learn::key_history::max_age) << "request " << i << ", key " << key;
        ASSERT_LE(kh.age(now), true_age) << "request " << i << ", key " << key;
        ++past_bound;
      }
    }
  }
  EXPECT_GT(past_bound, 10000u);  // resident keys idle past the bound, checked many times
  EXPECT_GT(exact_old, 1000u);
}

// A ghost history is forgotten once its key's last request is more than `ghost_age` ×
// entries requests old, however few evictions came since (the count bound alone keeps
// it): the key returns as never seen. Returning sooner, or with no age limit, it returns
// with its history.
TEST(LearnedPolicy, AGhostHistoryIsForgottenByAge) {
  const auto returning_count = [](double ghost_age, int hits_before_return) {
    learned_linear::config cfg;
    cfg.mode = policy::training_mode::off;
    cfg.duel = false;  // no panel: the base decides, and nothing else is counted
    cfg.ghost_per_entry = 8;
    cfg.ghost_age_per_entry = ghost_age;
    cache<std::uint64_t, std::uint64_t, learned_linear> c(4, cfg);
    const auto get = [&](std::uint64_t k) { c.get_or_insert(k, [&] { return k; }); };
    get(7);
    get(7);
    std::uint64_t k = 100;
    for (; c.contains(7) && k < 200; ++k) get(k), get(k);  // keys that recur, until 7 leaves
    EXPECT_FALSE(c.contains(7));
    for (int i = 0; i < hits_before_return; ++i) get(k - 1);  // hits: time passes, nothing leaves
    get(7);
    // 7's slot is the one requested last.
    const auto& p = c.policy();
    std::uint32_t count = 0;
    std::uint64_t last = 0;
    for (const auto s : p.resident_slots())
      if (p.history(s).last >= last) last = p.history(s).last, count = p.history(s).count;  // times < 2^32
    return count;
  };
  // 4 entries × 32 = 128 requests; 7 leaves within a few dozen.
  EXPECT_EQ(returning_count(32, 300), 1u) << "a history 300 requests old is forgotten";
  EXPECT_EQ(returning_count(32, 50), 3u) << "a history a few dozen requests old is kept";
  EXPECT_EQ(returning_count(0, 300), 3u) << "no age limit: the count bound alone";
}

// In an expiring cache, an entry removed at its deadline gives its key's waiting
// training row the far label (on_expire), so a request after the deadline does not
// teach the model the entry was worth keeping; an entry erased by the host does not.
TEST(LearnedPolicy, AnExpiryCensorsTheExpiredKeysTrainingRow) {
  using namespace std::chrono_literals;
  const auto keys = zipf_keys(40000, 3000, 3);
  learned_linear::config cfg;
  cfg.sample_span = 0;
  cfg.pause_sampling = false;  // every sampled row counts
  auto run = [&](bool expire) {
    prescient::fake_ticker clock;
    expiring_cache<std::uint64_t, std::uint64_t, learned_linear, expiring<fake_ticker>> c(
        200, {.after_write = expire ? 300ns : never, .ticker = clock}, cfg);
    for (auto k : keys) {
      clock.advance(1ns);
      c.get_or_insert(k, [&] { return k * 3; });
    }
    EXPECT_EQ(c.check_invariants(), "");
    return std::pair{c.policy().stats(), c.stats()};
  };
  const auto [with, cache_with] = run(true);
  const auto [without, cache_without] = run(false);
  EXPECT_GT(cache_with.expirations, 1000u);
  EXPECT_GT(with.expired_rows, 0u) << "sampled residents expired while their rows waited";
  EXPECT_LE(with.expired_rows, cache_with.expirations);
  EXPECT_LE(with.expired_rows + with.labelled, with.samples);
  EXPECT_EQ(cache_without.expirations, 0u);
  EXPECT_EQ(without.expired_rows, 0u);
}

// A loop of 150 keys through a cache of 100: LRU evicts every key just before it comes
// back and never hits; Belady keeps 99 of them. The model learns "the key whose last gap
// was 150 and whose age is small comes back late" and keeps a stable subset.
class LearnedTarget : public ::testing::TestWithParam<bool> {};

TEST_P(LearnedTarget, LearnsALoopThatDefeatsLru) {
  std::vector<std::uint64_t> keys;
  for (int round = 0; round < 400; ++round)
    for (std::uint64_t k = 0; k < 150; ++k) keys.push_back(k);
  learned_forest::config cfg;
  cfg.classify = GetParam();  // regression on the time to the next request, or classification
  cfg.first_retrain = 2048;
  cfg.min_training_rows = 512;
  cache<std::uint64_t, std::uint64_t, learned_forest> learned(100, cfg);
  cache<std::uint64_t, std::uint64_t, policy::lru> lru(100);
  const auto learned_hits = replay(learned, keys);
  const auto lru_hits = replay(lru, keys);
  EXPECT_EQ(hit_ratio(lru_hits), 0.0);
  const auto& st = learned.policy().stats();
  EXPECT_GE(st.retrains, 3u);
  // The model acts by evicting, or by refusing a key that would come back later than
  // the victim (which is how it keeps a stable subset of a loop).
  EXPECT_GT(st.model_evictions + st.bypasses, 1000u);
  // Belady's optimum is 0.66. Measured: regression 0.63; classification 0.38 (its first
  // trees, which screen the candidates, rank this loop less sharply; above 0.4 unscreened).
  EXPECT_GT(hit_ratio(learned_hits, keys.size() / 2), GetParam() ? 0.35 : 0.55);
}

INSTANTIATE_TEST_SUITE_P(RegressionOrClassification, LearnedTarget, ::testing::Bool());

// Inside a cache the learned policy and the heuristics it hosts read the cache's key
// hashes (use_key_hashes) instead of a column of the policy's own: the same decisions —
// the model's, a heuristic's while it is out, the hand-overs between them — and 8 bytes
// an entry fewer. (Retrains and model evictions are checked, so the model's paths ran.)
TEST(LearnedPolicy, ReadingTheCachesHashesChangesNoDecision) {
  learned_forest::config cfg;
  cfg.first_model = 1024;
  cfg.first_retrain = 2048;
  cfg.min_training_rows = 512;
  for (const std::uint64_t seed : {1u, 2u}) {
    cfg.seed = seed;
    policy_test::expect_bound_decides_as_own<learned_forest>(400, cfg, 60'000, seed);
  }
  cache<std::uint64_t, std::uint64_t, learned_forest> c(400, cfg);
  std::mt19937_64 rng(7);
  for (int i = 0; i < 60'000; ++i) c.get_or_insert(rng() % 4 == 0 ? rng() % 1600 : rng() % 400, [] { return 1u; });
  EXPECT_GT(c.policy().stats().retrains, 0u);
  // The panel's heuristic decides most of this run; the model, some hundreds to a
  // thousand evictions depending on the random draws (1,142 here; 488 under another
  // realisation of the candidates' draws): a bound with room for either.
  EXPECT_GT(c.policy().stats().model_evictions, 100u);
}

// The policy trains on labels in units of W / 64 (`label_unit`), and reads its model's
// scores back in requests: in a loop of 150 keys a key returns 150 − age requests after
// a row of it is written, which the model learns, so the next victim (the youngest
// candidate) is predicted back in a little under 150 requests, and the held-out rows
// back within the horizon of 100 requests are told apart from the rest. Scores read in
// the wrong unit would put the victim 16 times too near or too far (W = 1,024 requests
// here, so the unit is 16) and call every row a reuse (precision a third).
TEST(LearnedPolicy, PredictionsAreInRequestsWhateverTheLabelsUnit) {
  std::vector<std::uint64_t> keys;
  for (int round = 0; round < 200; ++round)
    for (std::uint64_t k = 0; k < 150; ++k) keys.push_back(k);
  for (const double unit : {1.0 / 64, 0.0}) {
    learned_forest::config cfg;
    cfg.label_unit = unit;
    cfg.first_retrain = 2048;
    cfg.min_training_rows = 512;
    cfg.duel = false;  // the model decides to the end, so its victim has a prediction
    cache<std::uint64_t, std::uint64_t, learned_forest> c(100, cfg);
    std::vector<double> gaps;  // the victim's predicted gap, over the second half
    for (std::size_t i = 0; i < keys.size(); ++i) {
      c.get_or_insert(keys[i], [&] { return keys[i]; });
      if (i < keys.size() / 2) continue;
      if (const std::optional<double> gap = c.policy().predicted_victim_gap()) gaps.push_back(*gap);
    }
    const auto& st = c.policy().stats();
    ASSERT_GE(st.retrains, 2u) << "label_unit " << unit;
    ASSERT_GT(gaps.size(), 1000u) << "label_unit " << unit;
    std::nth_element(gaps.begin(), gaps.begin() + static_cast<std::ptrdiff_t>(gaps.size() / 2), gaps.end());
    const double median = gaps[gaps.size() / 2];
    EXPECT_GT(median, 75.0) << "label_unit " << unit;
    EXPECT_LT(median, 200.0) << "label_unit " << unit;
    // Measured: a median of 134 requests, precision 1.00 and recall 0.98 in both units.
    EXPECT_GT(st.precision(), 0.9) << "label_unit " << unit;
    EXPECT_GT(st.recall(), 0.9) << "label_unit " << unit;
  }
}

// An entry put without a request (a prefetch) has a history that says when it was last
// requested. A key of a scan that never returns, requested once a moment ago, is what
// the model scores as the farthest: put back (prefetched), it would be evicted at once,
// before the request it was loaded for. It is spared by the rankings while it is young (the
// young_depth × entries insertions S3-FIFO's small queue would give it) and unrequested;
// after that it is a candidate like any other, and goes.
TEST(LearnedPolicy, APutIsSparedUntilItLeavesTheYoungRing) {
  learned_forest::config cfg;
  cfg.first_retrain = 2048;
  cfg.min_training_rows = 512;
  cfg.duel = false;  // the model decides every eviction
  cache<std::uint64_t, std::uint64_t, learned_forest> c(60, cfg);
  std::mt19937_64 rng(9);
  std::uint64_t next_scan = 1'000'000, evictions = 0;
  const auto request = [&] {
    const std::uint64_t k = rng() % 3 == 0 ? next_scan++ : rng() % 50;  // a hot set, and a scan
    if (!c.get(k)) {
      if (c.size() == c.capacity()) ++evictions;
      c.put(k, k);
    }
  };
  for (int n = 0; n < 30000; ++n) request();
  ASSERT_GE(c.policy().stats().retrains, 2u);
  // What the model does with a new key: evicts it first (checked on one the scan brings).
  const std::uint64_t scanned = next_scan;
  std::uint64_t at = evictions;
  while (c.contains(scanned) || next_scan == scanned) request();
  ASSERT_LE(evictions - at, 4u) << "the model should evict a new key of the scan at once";
  c.put(scanned, 0);  // a put, not a request
  at = ++evictions;
  while (evictions < at + 4) request();
  EXPECT_TRUE(c.contains(scanned)) << "a put was evicted before it was requested";
  // Out of the young ring, never requested: a candidate like any other, scored on a
  // request now long past (measured: evicted 141 evictions after the put).
  while (evictions < at + 2000 && c.contains(scanned)) request();
  EXPECT_FALSE(c.contains(scanned)) << "a put never requested was spared for good";
}

// A put's grace (learned::in_grace) starts with a put of a new key, not with a request's
// insertion, and ends with the key's first request or when the key leaves the young
// ring, whichever comes first.
TEST(LearnedPolicy, APutsGraceEndsWithARequestOrTheYoungRing) {
  learned_linear::config cfg;
  cfg.mode = policy::training_mode::off;
  policy_test::harness<learned_linear> h(200, cfg);  // room for the puts: nothing refuses them
  for (std::uint64_t k = 0; k < 100; ++k) h.request(k);
  for (std::uint64_t k = 0; k < 100; ++k) EXPECT_FALSE(h.policy().in_grace(h.slot_of(k))) << k;  // requested
  h.put(1000);
  h.put(1001);
  ASSERT_TRUE(h.contains(1000) && h.contains(1001));
  EXPECT_TRUE(h.policy().in_grace(h.slot_of(1000)));
  EXPECT_TRUE(h.policy().in_grace(h.slot_of(1001)));
  h.request(1000);  // a hit: the grace ends
  EXPECT_FALSE(h.policy().in_grace(h.slot_of(1000)));
  EXPECT_TRUE(h.policy().in_grace(h.slot_of(1001)));
  // Insertions push 1001 out of the young ring (young_depth × the entries of them at
  // most), or out of the cache: either way its grace is over.
  std::uint64_t k = 2000;
  for (; k < 2300 && h.contains(1001) && h.policy().in_grace(h.slot_of(1001)); ++k) h.request(k);
  EXPECT_TRUE(!h.contains(1001) || !h.policy().in_grace(h.slot_of(1001))) << "still in its grace after " << k - 2000;
  EXPECT_LT(k - 2000, 300u);
}

// A model's predictions are checked when the next model is trained: with one model there
// are no held-out rows, and the zero metrics must be told apart from a model that is
// always wrong (prescient-sim prints "not measured" then).
TEST(LearnedPolicy, HeldOutRowsWaitForTheNextModel) {
  learned_forest::config cfg;
  cfg.first_retrain = 4096;
  cfg.min_training_rows = 512;
  cfg.duel = false;
  cache<std::uint64_t, std::uint64_t, learned_forest> c(100, cfg);
  std::uint64_t i = 0;
  const auto request = [&] {
    const std::uint64_t k = i++ % 150;
    c.get_or_insert(k, [&] { return k; });
  };
  while (c.policy().stats().retrains == 0 && i < 100'000) request();
  ASSERT_EQ(c.policy().stats().retrains, 1u);
  for (int n = 0; n < 1000; ++n) request();  // rows scored by the first model, not yet checked
  ASSERT_EQ(c.policy().stats().retrains, 1u);
  EXPECT_EQ(c.policy().stats().held_out_rows(), 0u);
  while (c.policy().stats().retrains == 1 && i < 100'000) request();
  const auto& st = c.policy().stats();
  ASSERT_EQ(st.retrains, 2u);
  EXPECT_GT(st.held_out_rows(), 100u);
}

// A hot set requested again and again, and a scan of keys seen once: the model learns
// that an unseen key does not come back, and admission keeps the scan out.
TEST(LearnedPolicy, AdmissionKeepsAScanOut) {
  std::mt19937_64 rng(5);
  std::vector<std::uint64_t> keys;
  std::uint64_t next_scan = 1'000'000;
  for (int i = 0; i < 80000; ++i) keys.push_back(rng() % 3 == 0 ? next_scan++ : rng() % 80);
  learned_forest::config cfg;
  cfg.first_retrain = 2048;
  cfg.min_training_rows = 512;
  cfg.admission = true;
  cfg.duel = false;  // the model alone decides
  cfg.horizon_per_entry = 4;   // "requested again within 240 requests": true of hot keys
  cache<std::uint64_t, std::uint64_t, learned_forest> learned(60, cfg);
  cache<std::uint64_t, std::uint64_t, policy::lru> lru(60);
  const auto learned_hits = replay(learned, keys);
  const auto lru_hits = replay(lru, keys);
  const auto& st = learned.policy().stats();
  EXPECT_GT(st.bypasses, 1000u);
  EXPECT_GT(hit_ratio(learned_hits, keys.size() / 2), hit_ratio(lru_hits, keys.size() / 2) + 0.05);
  // Held-out predictions of "requested again within the horizon" are mostly right.
  EXPECT_GT(st.f1(), 0.7) << "precision " << st.precision() << " recall " << st.recall();
}

template <class Cache>
void expect_consistent(Cache& c, const std::vector<std::uint64_t>& keys) {
  std::uint64_t hits = 0;
  for (auto k : keys) {
    if (auto v = c.get(k)) {
      ASSERT_EQ(*v, k * 3);
      ++hits;
    } else {
      c.put(k, k * 3);
    }
    ASSERT_LE(c.size(), c.capacity());
  }
  EXPECT_GT(hits, 0u);
  c.for_each([](const std::uint64_t& k, const std::uint64_t& v) { ASSERT_EQ(v, k * 3); });
}

TEST(LearnedPolicy, ATrainerThatThrowsLeavesTheBaseInCharge) {
  learned_linear::config cfg;
  cfg.first_retrain = 1024;
  cfg.min_training_rows = 64;
  cfg.trainer = [](const learn::feature_matrix&, std::span<const float>) -> std::shared_ptr<const learn::linear_predictor> {
    throw learn::model_error("xgboost: out of memory (simulated)");
  };
  cache<std::uint64_t, std::uint64_t, learned_linear> c(100, cfg);
  expect_consistent(c, zipf_keys(30000, 2000, 2));
  const auto& st = c.policy().stats();
  EXPECT_GT(st.training_failures, 0u);
  EXPECT_EQ(st.retrains, 0u);
  EXPECT_FALSE(st.model_active);
  EXPECT_NE(st.last_error.find("simulated"), std::string::npos);
  EXPECT_EQ(st.model_evictions, 0u);
}

struct nan_predictor {
  [[nodiscard]] float predict_row(const float*) const noexcept { return std::numeric_limits<float>::quiet_NaN(); }
  [[nodiscard]] std::size_t num_features() const noexcept { return learn::feature_count; }
};

TEST(LearnedPolicy, AModelThatScoresNaNIsDropped) {
  using P = policy::learned<nan_predictor>;
  P::config cfg;
  cfg.mode = policy::training_mode::off;
  cfg.model = std::make_shared<const nan_predictor>();
  cache<std::uint64_t, std::uint64_t, P> c(100, cfg);
  EXPECT_TRUE(c.policy().stats().model_active);
  expect_consistent(c, zipf_keys(20000, 2000, 3));
  const auto& st = c.policy().stats();
  EXPECT_GE(st.model_failures, 1u);
  EXPECT_FALSE(st.model_active);
  EXPECT_GT(st.fallback_evictions, 0u);
}

TEST(LearnedPolicy, AModelOfTheWrongShapeIsRefused) {
  learn::feature_matrix x(20, 3);
  x.setRandom();
  std::vector<float> y(20, 1.0f);
  learned_linear::config cfg;
  cfg.mode = policy::training_mode::off;
  cfg.model = std::make_shared<const learn::linear_predictor>(learn::linear_predictor::train(x, y));
  cache<std::uint64_t, std::uint64_t, learned_linear> c(50, cfg);
  const auto& st = c.policy().stats();
  EXPECT_FALSE(st.model_active);
  EXPECT_EQ(st.training_failures, 1u);
  EXPECT_NE(st.last_error.find("3 features"), std::string::npos) << st.last_error;
  expect_consistent(c, zipf_keys(5000, 500, 4));
}

TEST(LearnedPolicy, BackgroundTrainingSwapsTheModelAndStopsCleanly) {
  learned_forest::config cfg;
  cfg.mode = policy::training_mode::background;
  cfg.first_retrain = 1024;
  cfg.min_training_rows = 256;
  const auto keys = zipf_keys(40000, 3000, 6);
  {
    cache<std::uint64_t, std::uint64_t, learned_forest> c(200, cfg);
    expect_consistent(c, keys);
    c.policy().wait_for_training();
    expect_consistent(c, keys);  // serving continues while (and after) a model is trained
    const auto& st = c.policy().stats();
    EXPECT_GE(st.retrains, 1u);
    EXPECT_TRUE(st.model_active);
    EXPECT_GT(st.model_evictions, 0u);
  }  // the worker thread stops here
}

// Pipelined training installs each model a fixed number of requests after its retrain
// began, whatever the trainer's speed: a trainer that takes tens of milliseconds installs
// its models at the same requests as one that returns at once (the requests wait for it
// when it is late), and the hits are the same, request for request.
TEST(LearnedPolicy, PipelinedTrainingIsDeterministicWhateverTheTrainersSpeed) {
  const auto keys = zipf_keys(40000, 3000, 6);
  std::vector<bool> hits[2];
  std::vector<std::size_t> installed_at[2];  // the requests after which a model was installed
  for (const int delay_ms : {0, 60}) {
    const std::size_t run = delay_ms == 0 ? 0 : 1;
    learned_linear::config cfg;  // a trainer of microseconds: early unless delayed
    cfg.mode = policy::training_mode::pipelined;
    cfg.first_retrain = 1024;
    cfg.min_training_rows = 256;
    cfg.lag_per_row = 4;  // the quick trainer is done before its model is due, the slow one late
    cfg.trainer = [delay_ms](const learn::feature_matrix& x, std::span<const float> y) {
      std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
      return learn::default_trainer<learn::linear_predictor>::train(x, y);
    };
    cache<std::uint64_t, std::uint64_t, learned_linear> c(200, cfg);
    const auto& st = c.policy().stats();
    std::uint64_t retrains = 0;
    for (std::size_t i = 0; i < keys.size(); ++i) {
      hits[run].push_back(c.get_or_insert(keys[i], [&] { return keys[i] * 3; }));
      if (st.retrains != retrains) installed_at[run].push_back(i);
      retrains = st.retrains;
    }
    EXPECT_GE(st.retrains, 3u);
    EXPECT_TRUE(st.model_active);
    EXPECT_GT(st.model_evictions, 0u);
    if (delay_ms > 0) {
      EXPECT_GT(st.training_wait_seconds, 0.0) << "late models are waited for";
    }
    expect_consistent(c, keys);
  }
  EXPECT_EQ(installed_at[0], installed_at[1]);
  EXPECT_EQ(hits[0], hits[1]);
}

TEST(LearnedPolicy, ATraceOfOneKeyOnlyIsHarmless) {
  learned_forest::config cfg;
  cfg.first_retrain = 256;
  cfg.min_training_rows = 16;
  cache<std::uint64_t, std::uint64_t, learned_forest> c(10, cfg);
  const std::vector<std::uint64_t> keys(20000, 42);
  const auto hits = replay(c, keys);
  EXPECT_EQ(hit_ratio(hits) * static_cast<double>(keys.size()), static_cast<double>(keys.size() - 1));
}

// A model that is confidently wrong: it predicts that the most recently used entry comes
// back last (so the policy evicts MRU). The duel notices that the shadow LRU misses less
// and hands the decisions to LRU.
struct backwards_predictor {
  [[nodiscard]] float predict_row(const float* row) const noexcept {
    const float age = row[learn::column::age];
    return std::isnan(age) ? 0.0f : 20.0f - age;
  }
  [[nodiscard]] std::size_t num_features() const noexcept { return learn::feature_count; }
};

// The backwards model, fixed (no training): the start of every test that uses it.
policy::learned<backwards_predictor>::config backwards_config() {
  policy::learned<backwards_predictor>::config cfg;
  cfg.mode = policy::training_mode::off;
  cfg.model = std::make_shared<const backwards_predictor>();
  return cfg;
}

// The best hit ratio of the panel's heuristics alone on `keys` at 300 entries.
double best_heuristic_hit_ratio(const std::vector<std::uint64_t>& keys) {
  double best = 0;
  auto run = [&]<class H>() {
    cache<std::uint64_t, std::uint64_t, H> c(300);
    best = std::max(best, hit_ratio(replay(c, keys)));
  };
  run.template operator()<policy::lru>();
  run.template operator()<policy::s3fifo>();
  run.template operator()<policy::wtinylfu>();
  run.template operator()<policy::arc>();
  return best;
}

// Without a panel the duel is against LRU alone, and LRU takes over from a wrong model.
TEST(LearnedPolicy, TheDuelHandsAWrongModelsDecisionsToLru) {
  using P = policy::learned<backwards_predictor>;
  const auto keys = zipf_keys(200000, 5000, 8);
  auto run = [&](bool duel) {
    P::config cfg = backwards_config();
    cfg.duel = duel;
    cfg.guard = 0;  // the duel alone (the guard has its own tests)
    cfg.panel_entries = 0;
    cache<std::uint64_t, std::uint64_t, P> c(300, cfg);
    const double ratio = hit_ratio(replay(c, keys));
    return std::pair{ratio, c.policy().stats()};
  };
  cache<std::uint64_t, std::uint64_t, policy::lru> lru(300);
  const double lru_ratio = hit_ratio(replay(lru, keys));
  const auto [with_duel, duel_stats] = run(true);
  const auto [without_duel, plain_stats] = run(false);
  EXPECT_LT(without_duel, 0.8 * lru_ratio) << "the backwards model must hurt on its own";
  // Probing costs a lost model epoch now and then; a model this wrong loses each probe
  // by far, so it switches after one epoch and the wait between probes doubles (8, 16,
  // 32, 64 LRU epochs): of ~48 epochs, a handful are the model's.
  EXPECT_GT(with_duel, 0.95 * lru_ratio);
  EXPECT_GT(with_duel, without_duel + 0.05);
  EXPECT_GE(duel_stats.model_epochs, 2u) << "the model is probed again";
  EXPECT_GT(duel_stats.lru_epochs, 8 * duel_stats.model_epochs);
  EXPECT_GT(duel_stats.recency_evictions, 0u);
  EXPECT_EQ(plain_stats.lru_epochs, 0u);
}

// With the panel (the default) the duel is against the best heuristic now, and that
// heuristic takes over: the cache ends within a few per cent of the best heuristic
// alone, well above LRU on this Zipf workload.
TEST(LearnedPolicy, TheDuelHandsAWrongModelsDecisionsToTheBestHeuristic) {
  using P = policy::learned<backwards_predictor>;
  const auto keys = zipf_keys(200000, 5000, 8);
  P::config cfg = backwards_config();
  cfg.guard = 0;  // the duel alone
  cache<std::uint64_t, std::uint64_t, P> c(300, cfg);
  const double with_panel = hit_ratio(replay(c, keys));
  cache<std::uint64_t, std::uint64_t, policy::lru> lru(300);
  const double lru_ratio = hit_ratio(replay(lru, keys));
  const double best = best_heuristic_hit_ratio(keys);
  ASSERT_GT(best, 1.05 * lru_ratio) << "the workload must favour a heuristic over LRU";
  EXPECT_GT(with_panel, 0.97 * best) << "LRU " << lru_ratio;
  EXPECT_GT(with_panel, lru_ratio);
  const auto& st = c.policy().stats();
  EXPECT_GT(st.panel_evictions, st.model_evictions) << "a heuristic other than LRU decided most of the run";
  EXPECT_GT(st.lru_epochs, 8 * st.model_epochs);
  EXPECT_NE(st.heuristic, "lru");
}

// Replays `keys` through a cache of 300 entries with `cfg` and the given guard budget:
// its misses and the policy's counters.
template <class P>
std::pair<std::uint64_t, policy::learned_stats> run_with_guard(typename P::config cfg, double guard,
                                                               const std::vector<std::uint64_t>& keys) {
  cfg.guard = guard;
  cache<std::uint64_t, std::uint64_t, P> c(300, cfg);
  replay(c, keys);
  return {c.stats().misses, c.policy().stats()};
}

template <class Policy>
double misses_of(const std::vector<std::uint64_t>& keys) {
  cache<std::uint64_t, std::uint64_t, Policy> c(300);
  replay(c, keys);
  return static_cast<double>(c.stats().misses);
}

// The guard bounds the whole run: the duel pays for every probe of a wrong model (an
// epoch lost before it switches back), the guard stops paying once the run as a whole is
// 1% behind the best member of the panel (plus a turnover of the cache: what a
// hand-over costs).
TEST(LearnedPolicy, TheGuardKeepsAWrongModelWithinItsBudgetOfTheBestHeuristic) {
  using P = policy::learned<backwards_predictor>;
  const auto keys = zipf_keys(400000, 5000, 9);
  const double best = std::min({misses_of<policy::lru>(keys), misses_of<policy::s3fifo>(keys),
                                misses_of<policy::wtinylfu>(keys), misses_of<policy::arc>(keys)});
  const auto [guarded, guard_stats] = run_with_guard<P>(backwards_config(), 0.01, keys);
  const auto [duel_only, duel_stats] = run_with_guard<P>(backwards_config(), 0, keys);
  auto held = backwards_config();
  held.guard_restart = 0;  // the guard holds to the end once tripped
  const auto [guarded_to_end, held_stats] = run_with_guard<P>(held, 0.01, keys);
  // Held to the end: budget 1% and a turnover (300), plus what it costs to notice (one
  // check interval) and for the cache's contents to converge to the heuristic's.
  EXPECT_EQ(held_stats.guard_restarts, 0u);
  EXPECT_LT(static_cast<double>(guarded_to_end), 1.02 * best + 300) << "best heuristic: " << best;
  EXPECT_LE(guarded_to_end, duel_only) << "the duel alone pays for more probes";
  // Re-started after 8, 16 and 32 guarded epochs (64 more do not fit in the run's 98):
  // each re-start probes the wrong model until the guard trips again, at most about two
  // turnovers of misses (its budget's turnover, then the contents' return to the
  // heuristic's) — bounded by the doubling waits, not by the run's length.
  EXPECT_EQ(guard_stats.guard_restarts, 3u);
  EXPECT_LT(static_cast<double>(guarded), static_cast<double>(guarded_to_end) + 600.0 * 3);
  EXPECT_LT(static_cast<double>(guarded), 1.02 * best + 300 + 600.0 * 3) << "best heuristic: " << best;
  EXPECT_EQ(duel_stats.guarded_epochs, 0u);
}

// A first phase requests 300 keys ten times each, a second draws from 2,000 new keys
// (Zipf): LFU keeps the old, frequent keys and evicts each new key before its count can
// grow; LRU forgets the old phase.
std::vector<std::uint64_t> frequent_then_new_keys() {
  std::vector<std::uint64_t> keys;
  for (int round = 0; round < 10; ++round)
    for (std::uint64_t k = 0; k < 300; ++k) keys.push_back(k);
  for (const std::uint64_t k : zipf_keys(300000, 2000, 10)) keys.push_back(1000 + k);
  return keys;
}

// Without a model the base heuristic decides, and the guard covers it too. With LFU as
// the base: a first phase requests 300 keys ten times each, a second draws from 2,000
// new keys (Zipf). LFU keeps the old, frequent keys and evicts each new key before its
// count can grow; LRU forgets the old phase. The guard hands the decisions to LRU once
// the run falls 1% behind it.
TEST(LearnedPolicy, TheGuardAlsoCoversTheBaseHeuristic) {
  using P = policy::learned<learn::linear_predictor, policy::lfu>;
  const std::vector<std::uint64_t> keys = frequent_then_new_keys();
  P::config cfg;
  cfg.mode = policy::training_mode::off;
  cfg.panel_entries = 0;  // LRU's shadow alone: the panel has its own test below
  const double lru_misses = misses_of<policy::lru>(keys), lfu_misses = misses_of<policy::lfu>(keys);
  ASSERT_GT(lfu_misses, 1.2 * lru_misses) << "the workload must defeat LFU";
  const auto [guarded, guard_stats] = run_with_guard<P>(cfg, 0.01, keys);
  const auto [unguarded, plain_stats] = run_with_guard<P>(cfg, 0, keys);
  EXPECT_EQ(static_cast<double>(unguarded), lfu_misses) << "without the guard it is its base heuristic";
  EXPECT_LT(static_cast<double>(guarded), 1.02 * lru_misses) << "LRU: " << lru_misses;
  EXPECT_GE(guard_stats.guard_trips, 1u);
  EXPECT_GT(guard_stats.recency_evictions, 0u);
  EXPECT_EQ(guard_stats.model_evictions, 0u);
}

// With the panel, a base heuristic that loses is replaced by the panel's best even
// without the guard, and the run ends within a few per cent of the best member alone.
TEST(LearnedPolicy, ThePanelReplacesALosingBaseHeuristic) {
  using P = policy::learned<learn::linear_predictor, policy::lfu>;
  const std::vector<std::uint64_t> keys = frequent_then_new_keys();
  P::config cfg;
  cfg.mode = policy::training_mode::off;
  const double lfu_misses = misses_of<policy::lfu>(keys);
  const double best = std::min({misses_of<policy::lru>(keys), misses_of<policy::wtinylfu>(keys), misses_of<policy::arc>(keys)});
  ASSERT_GT(lfu_misses, 1.2 * best) << "the workload must defeat LFU";
  const auto [unguarded, stats] = run_with_guard<P>(cfg, 0, keys);
  EXPECT_LT(static_cast<double>(unguarded), 1.03 * best) << "LFU: " << lfu_misses;
  EXPECT_GE(stats.heuristic_switches, 1u);
  EXPECT_NE(stats.heuristic, "lfu");
  const auto [guarded, guard_stats] = run_with_guard<P>(cfg, 0.01, keys);
  EXPECT_LT(static_cast<double>(guarded), 1.03 * best);
}

// The cache's own consistency check holds with the learned policy through every kind of
// decision: no model, the model, the panel's heuristics taking over, erasures and puts
// that are not requests, and a cleared cache.
TEST(LearnedPolicy, TheCacheStaysConsistent) {
  using P = policy::learned<backwards_predictor>;
  for (const bool with_model : {false, true}) {
    P::config cfg = backwards_config();
    if (!with_model) cfg.model = nullptr;
    cache<std::uint64_t, std::uint64_t, P> c(200, cfg);
    const auto keys = zipf_keys(60000, 3000, 12);
    for (std::size_t i = 0; i < keys.size(); ++i) {
      const std::uint64_t k = keys[i];
      if (i % 97 == 0) {
        c.erase(k);
      } else if (i % 89 == 0) {
        c.put(k + 100000, k);  // an insertion that is not a request
      } else if (!c.get(k)) {
        c.put(k, k);
      }
      if (i % 5000 == 0) {
        ASSERT_EQ(c.check_invariants(), "") << "at " << i;
      }
      if (i == 30000) c.clear();
    }
    EXPECT_EQ(c.check_invariants(), "");
    EXPECT_GT(c.size(), 0u);
  }
}

// While a model decides, the base heuristic is not kept up to date; when the model goes,
// the base wakes with the resident entries and decides as well as it would have: here,
// with the model removed halfway, the second half's hit ratio is S3-FIFO's to within 2%.
TEST(LearnedPolicy, TheBaseHeuristicWakesWhenTheModelGoes) {
  using P = policy::learned<backwards_predictor>;
  const auto keys = zipf_keys(100000, 5000, 11);
  const std::size_t half = keys.size() / 2;
  P::config cfg = backwards_config();
  cfg.duel = false;
  cache<std::uint64_t, std::uint64_t, P> c(300, cfg);
  const std::vector<std::uint64_t> first(keys.begin(), keys.begin() + static_cast<std::ptrdiff_t>(half));
  const std::vector<std::uint64_t> second(keys.begin() + static_cast<std::ptrdiff_t>(half), keys.end());
  expect_consistent(c, first);
  EXPECT_GT(c.policy().stats().model_evictions, 0u);
  EXPECT_EQ(c.policy().stats().fallback_evictions, 0u);
  c.policy().set_model(nullptr);
  const auto fallback_before = c.policy().stats().fallback_evictions;
  std::size_t hits = 0;
  for (auto k : second) hits += c.get_or_insert(k, [&] { return k * 3; });
  EXPECT_GT(c.policy().stats().fallback_evictions, fallback_before);
  cache<std::uint64_t, std::uint64_t, policy::s3fifo> s3fifo(300);
  replay(s3fifo, first);
  const double reference = hit_ratio(replay(s3fifo, second));
  EXPECT_NEAR(static_cast<double>(hits) / static_cast<double>(second.size()), reference, 0.02 * reference);
}

// A woken S3-FIFO is told which residents were requested more than once (the key
// histories know): they start in M, where it would have put them, not in S's FIFO with
// everything else. Here 100 hot keys (five requests each) sit behind 200 one-time keys
// in recency order when the model goes; a run of 250 new keys then evicts the one-time
// keys and the new ones, not the hot keys, which are the least recently used.
TEST(LearnedPolicy, AWokenHeuristicKeepsWhatWasRequestedMoreThanOnce) {
  using P = policy::learned<backwards_predictor>;
  P::config cfg = backwards_config();
  cfg.duel = false;
  cache<std::uint64_t, std::uint64_t, P> c(300, cfg);
  for (int round = 0; round < 5; ++round)
    for (std::uint64_t k = 0; k < 100; ++k) c.get_or_insert(k, [&] { return k; });
  for (std::uint64_t k = 1000; k < 1200; ++k) c.get_or_insert(k, [&] { return k; });
  ASSERT_EQ(c.size(), 300u);
  c.policy().set_model(nullptr);
  for (std::uint64_t k = 5000; k < 5250; ++k) c.get_or_insert(k, [&] { return k; });
  EXPECT_GT(c.policy().stats().fallback_evictions, 0u);
  std::size_t hot = 0;
  for (std::uint64_t k = 0; k < 100; ++k) hot += c.contains(k);
  EXPECT_EQ(hot, 100u);
  std::size_t once = 0;
  for (std::uint64_t k = 1000; k < 1200; ++k) once += c.contains(k);
  EXPECT_EQ(once, 0u);
  EXPECT_EQ(c.check_invariants(), "");
}

// Young candidates: an entry not requested again within 10% of a cache's insertions is
// offered to the next ranking. 900 keys in a loop, each followed by a key never seen
// again, through a cache of 1,000: LRU never hits. A model that knows one-hit wonders
// keeps the loop, but only if it gets to see them: with 2 random candidates per eviction
// it rarely does; with one young candidate per ranking it sees every one.
struct one_hit_predictor {
  [[nodiscard]] float predict_row(const float* row) const noexcept {
    return row[learn::column::count] < 0.7f ? 20.0f : 1.0f;  // log1p(1) = 0.693: requested once
  }
  [[nodiscard]] std::size_t num_features() const noexcept { return learn::feature_count; }
};

// A loop of `loop` keys, each request followed by a key never seen again; `pairs` pairs.
std::vector<std::uint64_t> loop_with_one_hit_wonders(std::uint64_t loop, std::uint64_t pairs) {
  std::vector<std::uint64_t> keys;
  keys.reserve(2 * pairs);
  for (std::uint64_t i = 0; i < pairs; ++i) {
    keys.push_back(i % loop);
    keys.push_back(1'000'000 + i);
  }
  return keys;
}

// The fixed one_hit_predictor decides every eviction: no training, no referee.
policy::learned<one_hit_predictor>::config one_hit_config() {
  policy::learned<one_hit_predictor>::config cfg;
  cfg.mode = policy::training_mode::off;
  cfg.model = std::make_shared<const one_hit_predictor>();
  cfg.duel = false;
  return cfg;
}

TEST(LearnedPolicy, YoungCandidatesFindOneHitWonders) {
  using P = policy::learned<one_hit_predictor>;
  const auto keys = loop_with_one_hit_wonders(900, 90000);
  auto run = [&](std::size_t young) {
    P::config cfg = one_hit_config();
    cfg.candidates = 2;
    cfg.tail_candidates = 0;
    cfg.keep_victims = 1;
    cfg.young_candidates = young;
    cache<std::uint64_t, std::uint64_t, P> c(1000, cfg);
    return hit_ratio(replay(c, keys), keys.size() / 2);
  };
  const double without = run(0), with = run(1);
  EXPECT_GT(with, 0.45) << "nearly every loop request hits";
  EXPECT_GT(with, without + 0.1) << "without young candidates: " << without;
}

// A ghost bound the table cannot hold (or a negative or NaN `ghost_per_entry`) is refused
// at construction, naming the parameter, not converted past the range of size_t.
TEST(LearnedPolicy, AGhostBoundBeyondTheTableIsRefused) {
  using P = policy::learned<one_hit_predictor>;
  for (const double per_entry : {1e7, 1e300, -1.0, std::nan("")}) {
    P::config cfg = one_hit_config();
    cfg.ghost_per_entry = per_entry;
    try {
      P p(1000, cfg);
      ADD_FAILURE() << "ghost_per_entry " << per_entry << " was taken";
    } catch (const std::invalid_argument& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find("ghost_per_entry"), std::string::npos) << what;
      EXPECT_LT(what.size(), 200u) << "numbers in short form (1e+300, not 301 digits): " << what;
    }
  }
  P::config cfg = one_hit_config();
  cfg.ghost_per_entry = 8;
  EXPECT_NO_THROW(P(1000, cfg));
}

// A ranking decides `keep` evictions ahead, and a key inserted meanwhile is no candidate
// until the next ranking. In a cache of 24 entries, a loop of 20 keys each followed by a
// key never seen again: a model that knows one-hit wonders keeps the loop only if each
// new key is weighed before the next eviction. With six victims a ranking (a quarter of
// the cache) it evicts loop keys ranked behind wonders that had not arrived yet; with
// victims at most 1/64 of the entries (one, here) every loop request after the first
// pass hits. A cache of 1,024 still takes six victims a ranking.
TEST(LearnedPolicy, SmallCachesRankBeforeEveryEviction) {
  using P = policy::learned<one_hit_predictor>;
  const auto keys = loop_with_one_hit_wonders(20, 20000);
  auto run = [&](std::size_t capacity, double keep_share, const std::vector<std::uint64_t>& stream) {
    P::config cfg = one_hit_config();
    cfg.keep_share = keep_share;
    cache<std::uint64_t, std::uint64_t, P> c(capacity, cfg);
    const auto hits = replay(c, stream);
    return std::pair{hit_ratio(hits, stream.size() / 2), c.policy().stats()};  // the second half
  };
  const auto [bounded, bounded_stats] = run(24, P::config{}.keep_share, keys);
  const auto [six, six_stats] = run(24, 1.0, keys);
  EXPECT_GT(bounded, 0.499) << "every loop request hits (half of the requests)";
  EXPECT_LT(six, bounded - 0.03) << "six victims a ranking in a cache of 24";
  EXPECT_EQ(bounded_stats.rankings, bounded_stats.model_evictions) << "one ranking per eviction";
  EXPECT_GT(six_stats.model_evictions, 4 * six_stats.rankings);

  const auto large = loop_with_one_hit_wonders(1000, 200000);  // the same, scaled to 1,024 entries
  const auto [large_hits, large_stats] = run(1024, P::config{}.keep_share, large);
  EXPECT_GT(large_stats.model_evictions, 4 * large_stats.rankings) << "six victims a ranking at 1,024 entries";
  EXPECT_GT(large_hits, 0.4) << "most loop requests hit there too";
}

// Screening scores every candidate with the first trees and completes the best: with
// room to complete every candidate it decides exactly as a full scoring; with the
// default room it screens most rows out and still learns the loop of the test above.
TEST(LearnedPolicy, ScreeningCompletesTheBestCandidatesExactly) {
  const auto keys = zipf_keys(60000, 4000, 12);
  auto run = [&](std::size_t screen_trees, std::size_t screen_keep) {
    learned_forest::config cfg;
    cfg.screen_trees = screen_trees;
    cfg.screen_keep = screen_keep;
    cache<std::uint64_t, std::uint64_t, learned_forest> c(300, cfg);
    auto hits = replay(c, keys);
    return std::pair{hits, c.policy().stats()};
  };
  const auto [full, full_stats] = run(0, 16);
  const auto [roomy, roomy_stats] = run(8, 64);  // room for all 64: every row through the staged sum
  const auto [screened, screened_stats] = run(8, 8);
  ASSERT_GT(full_stats.retrains, 0u);
  EXPECT_EQ(roomy, full) << "completing every candidate must not change a decision";
  EXPECT_EQ(roomy_stats.rows_screened_out, 0u);
  EXPECT_GT(screened_stats.rows_screened_out, screened_stats.rows_scored) << "most rows stop at the first trees";
  EXPECT_GT(screened_stats.model_evictions, 0u);
  EXPECT_NEAR(hit_ratio(screened), hit_ratio(full), 0.02);
}

TEST(LearnedPolicy, ParametersReachThePolicyAndItsBase) {
  const auto cfg = policy::parse_config<learned_linear>("candidates=32,keep=4,admission=false,mode=background,small=0.2,guard=0.02");
  EXPECT_EQ(cfg.candidates, 32u);
  EXPECT_EQ(cfg.keep_victims, 4u);
  EXPECT_DOUBLE_EQ(policy::parse_config<learned_linear>("keep_share=0.5").keep_share, 0.5);
  EXPECT_THROW(policy::parse_config<learned_linear>("keep_share=0"), policy::config_error);
  EXPECT_DOUBLE_EQ(policy::parse_config<learned_linear>("label_unit=0").label_unit, 0.0);
  EXPECT_THROW(policy::parse_config<learned_linear>("label_unit=-0.1"), policy::config_error);
  EXPECT_THROW(policy::parse_config<learned_linear>("label_unit=2"), policy::config_error);
  EXPECT_DOUBLE_EQ(cfg.guard, 0.02);
  EXPECT_EQ(policy::parse_config<learned_linear>("young=3").young_candidates, 3u);
  const auto fast = policy::parse_config<learned_linear>("preset=fast");
  EXPECT_DOUBLE_EQ(fast.rescore_age_factor, 2.0);
  EXPECT_EQ(fast.max_training_rows, 1u << 14);
  EXPECT_THROW(policy::parse_config<learned_linear>("preset=slow"), policy::config_error);
  EXPECT_THROW(policy::parse_config<learned_linear>("young_depth=0"), policy::config_error);
  EXPECT_THROW(policy::parse_config<learned_linear>("guard=-1"), policy::config_error);
  EXPECT_FALSE(cfg.admission);
  EXPECT_EQ(cfg.mode, policy::training_mode::background);
  EXPECT_DOUBLE_EQ(cfg.base.small_ratio, 0.2);
  EXPECT_THROW(policy::parse_config<learned_linear>("mode=sometimes"), policy::config_error);
  EXPECT_THROW(policy::parse_config<learned_linear>("candidates=0"), policy::config_error);
  // A candidate's index in a ranking is kept in a byte: at most 256, refused beyond, both
  // parsed and set directly.
  EXPECT_EQ(policy::parse_config<learned_linear>("candidates=256").candidates, 256u);
  EXPECT_THROW(policy::parse_config<learned_linear>("candidates=257"), policy::config_error);
  learned_linear::config many;
  many.candidates = learned_linear::max_candidates + 1;
  EXPECT_THROW(learned_linear(100, many), policy::config_error);
  many.candidates = learned_linear::max_candidates;
  EXPECT_NO_THROW(learned_linear(100, many));
}


// Every key the learned policy takes: a usable value parses; an unusable one — not a
// number, infinite, NaN, out of its range, a flag that is neither on nor off — is a
// config_error naming the key and the value and saying what it takes, never "no
// parameter" (the registry's message for an unknown key) and never accepted (an
// infinite factor would reach a conversion to an integer).
TEST(LearnedPolicy, EveryParameterRefusesAnUnusableValueByName) {
  const struct {
    const char* key;
    const char* good;
    std::vector<const char*> bad;
  } keys[] = {
      {"candidates", "32", {"0", "257", "-1", "1.5", "x"}},
      {"keep", "4", {"0", "-1", "x"}},
      {"keep_share", "0.5", {"0", "1.5", "inf", "nan"}},
      {"rescore", "2", {"-1", "inf", "nan"}},
      {"tail", "0", {"-1", "x"}},
      {"screen", "8", {"-1", "x"}},
      {"screen_keep", "8", {"0", "x"}},
      {"young", "3", {"-1"}},
      {"young_depth", "0.2", {"0", "1.5", "inf", "nan"}},
      {"admission", "true", {"maybe", "2"}},
      {"duel", "off", {"maybe"}},
      {"epoch", "4", {"0", "-1", "inf", "nan"}},
      {"losses", "2", {"0", "x"}},
      {"margin", "0.05", {"-0.1", "inf", "nan"}},
      {"noise", "2", {"-1", "inf", "nan"}},
      {"guard", "0.02", {"-1", "inf", "nan"}},
      {"restart", "0", {"-1"}},
      {"panel", "512", {"-1", "x"}},
      {"reprobe", "yes", {"maybe"}},
      {"switch", "0.1", {"1", "-0.1", "inf", "nan"}},
      {"probe", "4", {"0"}},
      {"pause", "no", {"maybe"}},
      {"span", "1", {"-1", "inf", "nan"}},
      {"sample", "0.5", {"1.5", "-0.1", "inf", "nan"}},
      {"rows", "1024", {"15", "x"}},
      {"min_rows", "256", {"0"}},
      {"max_rows", "4096", {"0"}},
      {"first", "4096", {"0"}},
      {"first_model", "1024", {"0"}},
      {"every", "65536", {"0"}},
      {"classify", "1", {"maybe"}},
      {"boundary", "2", {"0", "inf", "nan"}},
      {"window", "4", {"0", "inf", "nan"}},
      {"horizon", "2", {"0", "inf", "nan"}},
      {"label_unit", "0", {"-0.1", "2", "inf", "nan"}},
      {"ghost", "4", {"-1", "inf", "nan"}},
      {"ghost_age", "0", {"-1", "inf", "nan"}},
      {"wtinylfu_first", "false", {"maybe"}},
      {"seed", "7", {"-1", "x"}},
      {"lag", "1", {"-1", "inf", "nan"}},
      {"preset", "fast", {"slow"}},
      {"mode", "pipelined", {"sometimes"}},
      {"small", "0.2", {"2", "inf"}},  // the base heuristic's (S3-FIFO's)
  };
  for (const auto& k : keys) {
    const std::string key = k.key;
    EXPECT_NO_THROW((void)policy::parse_config<learned_linear>(key + "=" + k.good)) << key << "=" << k.good;
    for (const char* bad : k.bad) {
      const std::string pair = key + "=" + bad;
      std::string what = "(accepted)";
      try {
        (void)policy::parse_config<learned_linear>(pair);
      } catch (const policy::config_error& e) {
        what = e.what();
      }
      SCOPED_TRACE(pair + ": " + what);
      EXPECT_NE(what.find("'" + key + "' = '" + bad + "': expected "), std::string::npos);
      EXPECT_EQ(what.find("no parameter"), std::string::npos);
    }
  }
  EXPECT_EQ(policy::parse_config<learned_linear>("keep=4,keep=5").keep_victims, 5u);  // the last wins
}

}  // namespace

// Every seed draws its own candidates (seeds 2 and 3 once drew the same ones).
TEST(LearnedPolicy, DistinctSeedsSampleDistinctCandidates) {
  using P = policy::learned<backwards_predictor>;
  const auto keys = zipf_keys(50000, 5000, 8);
  auto misses = [&](std::uint64_t seed) {
    P::config cfg = backwards_config();
    cfg.duel = false;
    cfg.tail_candidates = 0;  // every candidate drawn at random
    cfg.seed = seed;
    cache<std::uint64_t, std::uint64_t, P> c(300, cfg);
    replay(c, keys);
    return c.stats().misses;
  };
  EXPECT_NE(misses(2), misses(3));
  EXPECT_EQ(misses(3), misses(3)) << "a seed replays deterministically";
}

// A request looks for its key's waiting training row only when the key's history says
// one may wait (or the history was forgotten). A loop of 8 keys through 4 entries: every
// request misses, every key comes back within 8 requests, so every sampled row but the
// last few must get its label — with ghost histories (the hint travels with them) and
// without (every returning key is "never seen", and looked up).
TEST(LearnedPolicy, EverySampledRowOfAReturningKeyIsLabelled) {
  for (const double ghost : {2.0, 0.0}) {
    learned_linear::config cfg;
    cfg.mode = policy::training_mode::off;  // no sweep: `labelled` counts labels only
    cfg.ghost_per_entry = ghost;
    cfg.miss_sample_rate = 1.0;
    cache<std::uint64_t, std::uint64_t, learned_linear> c(4, cfg);
    std::vector<std::uint64_t> keys;
    for (int i = 0; i < 4000; ++i) keys.push_back(static_cast<std::uint64_t>(i % 8));
    replay(c, keys);
    const auto& st = c.policy().stats();
    EXPECT_GT(st.samples, 3000u) << "ghost " << ghost;
    // At most one row per key is still waiting at the end.
    EXPECT_GE(st.labelled + 8, st.samples) << "ghost " << ghost;
  }
}

// Without thinning (`sample_span` 0), a retrain reads only the newest `training_rows`
// rows, so once retrains are far apart the policy samples only shortly before each one.
// Against the same policy sampling all the time: far fewer rows written, the same
// retrain schedule, a ring as full at each retrain, and about the same hits.
TEST(LearnedPolicy, TrainingRowsAreSampledOnlyBeforeARetrain) {
  const auto keys = zipf_keys(300000, 3000, 12);
  const auto run = [&](bool pause) {
    learned_linear::config cfg;
    cfg.training_rows = cfg.max_training_rows = 4096;
    cfg.min_training_rows = 256;
    cfg.first_retrain = 1024;
    cfg.retrain_every = 1u << 16;
    cfg.duel = false;
    cfg.sample_span = 0;
    cfg.pause_sampling = pause;
    cache<std::uint64_t, std::uint64_t, learned_linear> c(200, cfg);
    const double hits = hit_ratio(replay(c, keys));
    return std::pair{hits, c.policy().stats()};
  };
  const auto [paused_hits, paused] = run(true);
  const auto [always_hits, always] = run(false);
  EXPECT_LT(static_cast<double>(paused.samples), 0.5 * static_cast<double>(always.samples)) << "sampling never paused";
  EXPECT_EQ(paused.retrains, always.retrains);
  EXPECT_GE(paused.retrains, 8u);  // at ~1k, 3k, 7k, ..., 63k requests, then every 64k
  EXPECT_EQ(paused.training_failures, 0u);
  // The last retrain (sampling paused for most of the interval before it) read as many
  // labelled rows as with sampling never paused, within a few rows that differ.
  EXPECT_NEAR(static_cast<double>(paused.last_training_rows), static_cast<double>(always.last_training_rows),
              0.02 * static_cast<double>(always.last_training_rows));
  EXPECT_GT(paused.last_training_rows, 2000u);
  EXPECT_NEAR(paused_hits, always_hits, 0.01);
}

// With `sample_span` (the default, 2), once retrains are further apart than the ring
// takes to fill, rows are thinned so that the ring spans two retrain intervals: the last
// retrain reads a full ring of rows sampled over about 2 × 64k requests, where without
// thinning they come from the few thousand requests just before it. Fewer rows are
// written than when sampling all the time, the schedule is the same, and the ring is as
// full at the last retrain.
TEST(LearnedPolicy, ThinnedTrainingRowsSpanTwoRetrainIntervals) {
  const auto keys = zipf_keys(400000, 3000, 13);
  constexpr std::uint64_t interval = 1u << 16;
  const auto run = [&](double span) {
    learned_linear::config cfg;
    cfg.training_rows = cfg.max_training_rows = 4096;
    cfg.min_training_rows = 256;
    cfg.first_retrain = 1024;
    cfg.retrain_every = interval;
    cfg.duel = false;
    cfg.sample_span = span;
    cfg.pause_sampling = false;
    cache<std::uint64_t, std::uint64_t, learned_linear> c(200, cfg);
    replay(c, keys);
    return c.policy().stats();
  };
  const auto thinned = run(2.0);
  const auto dense = run(0.0);
  EXPECT_EQ(thinned.retrains, dense.retrains);
  EXPECT_GE(thinned.retrains, 9u);  // ~1k, 3k, ..., 127k, then every 64k
  EXPECT_EQ(thinned.training_failures, 0u);
  // The dense ring fills in a few thousand requests; the thinned one spans ~2 intervals.
  EXPECT_LT(dense.last_training_span, interval / 4);
  EXPECT_GT(thinned.last_training_span, 3 * interval / 2);
  EXPECT_LT(thinned.last_training_span, 5 * interval / 2);
  // A full ring all the same (every row but those still waiting is labelled).
  EXPECT_GT(thinned.last_training_rows, 3500u);
  EXPECT_LT(static_cast<double>(thinned.samples), 0.5 * static_cast<double>(dense.samples)) << "rows were not thinned";
}

// `span` is a parameter by name: a negative span is refused, 0 turns thinning off.
TEST(LearnedPolicy, SampleSpanIsSetByName) {
  learned_linear::config cfg;
  EXPECT_DOUBLE_EQ(cfg.sample_span, 2.0);
  EXPECT_TRUE(cfg.set("span", "0"));
  EXPECT_DOUBLE_EQ(cfg.sample_span, 0.0);
  EXPECT_TRUE(cfg.set("span", "3.5"));
  EXPECT_DOUBLE_EQ(cfg.sample_span, 3.5);
  EXPECT_THROW(cfg.set("span", "-1"), policy::config_error);
  EXPECT_THROW(cfg.set("span", "many"), policy::config_error);
  EXPECT_DOUBLE_EQ(cfg.sample_span, 3.5);
}
