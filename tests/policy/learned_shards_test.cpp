// The learned policy inside a concurrent_cache: a policy that could never train is
// refused at construction; training runs off the request threads by default; the
// statistics add up to the whole cache's.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <mutex>
#include <set>
#include <span>
#include <thread>
#include <vector>

#include "prescient/cache.hpp"
#include "prescient/concurrent_cache.hpp"
#include "prescient/learn/compiled_forest.hpp"  // and NOT forest_trainer.hpp: no default trainer for the forest
#include "prescient/learn/linear_predictor.hpp"
#include "prescient/policy/learned.hpp"
#include "test_support.hpp"

namespace {

using namespace prescient;
using u64 = std::uint64_t;
using learned_linear = policy::learned<learn::linear_predictor>;
using learned_forest = policy::learned<learn::compiled_forest>;

TEST(LearnedShards, AForestWithoutItsTrainerIsRefusedLoudly) {
  EXPECT_THROW((cache<u64, u64, learned_forest>(100)), policy::config_error);
  EXPECT_THROW((concurrent_cache<u64, u64, learned_forest>(1000, {.shards = 2})), policy::config_error);
  try {
    cache<u64, u64, learned_forest> c(100);
  } catch (const policy::config_error& e) {
    EXPECT_NE(std::string(e.what()).find("forest_trainer.hpp"), std::string::npos) << e.what();
  }
  learned_forest::config fixed;
  fixed.mode = policy::training_mode::off;  // a fixed model (or none): nothing to train
  EXPECT_NO_THROW((cache<u64, u64, learned_forest>(100, fixed)));
  learned_forest::config own;
  own.trainer = [](const learn::feature_matrix&, std::span<const float>) -> std::shared_ptr<const learn::compiled_forest> {
    return nullptr;
  };
  EXPECT_NO_THROW((cache<u64, u64, learned_forest>(100, own)));
}

// The default mode is synchronous (the simulator's), yet a concurrent cache trains on
// another thread: the request thread never runs the trainer.
TEST(LearnedShards, AConcurrentCacheTrainsOffTheRequestThread) {
  std::mutex m;
  std::set<std::thread::id> trainers;
  learned_linear::config cfg;
  cfg.trainer = [&](const learn::feature_matrix& x, std::span<const float> y) {
    {
      std::lock_guard lock(m);
      trainers.insert(std::this_thread::get_id());
    }
    return std::make_shared<const learn::linear_predictor>(learn::linear_predictor::train(x, y));
  };
  concurrent_cache<u64, u64, learned_linear> c(2000, {.shards = 4, .policy = cfg});
  const auto keys = test::zipf_keys(200'000, 20'000, 3);
  std::size_t i = 0;
  const auto request = [&] {
    const u64 k = keys[i++ % keys.size()];
    if (!c.get(k)) c.put(k, k);
  };
  for (int n = 0; n < 200'000; ++n) request();
  // Requests collect finished trainings; keep requesting until one is installed.
  EXPECT_TRUE(test::eventually([&] {
    for (int n = 0; n < 1000; ++n) request();
    return c.policy_stats().retrains > 0;
  })) << "no model was trained";
  std::lock_guard lock(m);
  EXPECT_FALSE(trainers.empty());
  EXPECT_EQ(trainers.count(std::this_thread::get_id()), 0u) << "a request thread ran the trainer";
  EXPECT_EQ(c.check_invariants(), "");
}

// One model and one training thread for the whole cache, whatever the shard count: every
// shard ends up scoring with the same model object (one model in memory), trained on one
// thread, and the whole cache's statistics count each training once.
void one_model_for(std::size_t shards) {
  SCOPED_TRACE(testing::Message() << shards << " shards");
  std::mutex m;
  std::set<std::thread::id> trainers;
  std::uint64_t calls = 0;
  learned_linear::config cfg;
  cfg.trainer = [&](const learn::feature_matrix& x, std::span<const float> y) {
    {
      std::lock_guard lock(m);
      trainers.insert(std::this_thread::get_id());
      ++calls;
    }
    return std::make_shared<const learn::linear_predictor>(learn::linear_predictor::train(x, y));
  };
  concurrent_cache<u64, u64, learned_linear> c(64 * shards, {.shards = shards, .policy = cfg});
  const auto keys = test::zipf_keys(100'000, 640 * shards, 11);
  std::size_t i = 0;
  const auto request = [&] {
    const u64 k = keys[i++ % keys.size()];
    if (!c.get(k)) c.put(k, k);
  };
  const auto models = [&] {  // the model each shard scores with, by asking keys of every shard
    std::set<const learn::linear_predictor*> seen;
    for (u64 k = 0; k < 64 * shards; ++k) seen.insert(c.with_policy_of(k, [](const learned_linear& p) { return p.model().get(); }));
    return seen;
  };
  // Memory: one training ring's worth of rows over all shards, not one per shard.
  std::set<const learned_linear*> policies;
  std::size_t ring_rows = 0;
  for (u64 k = 0; policies.size() < shards && k < 1000 * shards; ++k)
    c.with_policy_of(k, [&](const learned_linear& p) {
      if (policies.insert(&p).second) ring_rows += p.training_ring_rows();
    });
  ASSERT_EQ(policies.size(), shards);
  EXPECT_LE(ring_rows, cfg.training_rows) << "the shards' rings add up to more than one cache's";
  EXPECT_GE(ring_rows, cfg.training_rows - shards) << "the shards' rings were cut by more than rounding";
  EXPECT_TRUE(test::eventually([&] {
    for (int n = 0; n < 5000; ++n) request();
    const auto seen = models();
    return c.policy_stats().retrains > 0 && seen.size() == 1 && *seen.begin() != nullptr;
  })) << "the shards did not all install the shared model";
  std::lock_guard lock(m);
  EXPECT_EQ(trainers.size(), 1u) << "one training thread, not one per shard";
  EXPECT_EQ(trainers.count(std::this_thread::get_id()), 0u);
  const policy::learned_stats s = c.policy_stats();
  EXPECT_GE(calls, s.retrains) << "each training counted once, not once per shard";
  EXPECT_GE(s.retrains + s.training_failures + 1, calls);  // at most one training still in flight
  EXPECT_GT(s.last_training_rows, 0u);
  EXPECT_EQ(c.check_invariants(), "");
}

// Each shard's policy knows it sees 1/S of the keys (its referee keeps the switch margin
// for its exact panel: learned_referee_test, AShardsExactShadowsKeepTheSwitchMargin),
// whether or not the shards train.
TEST(LearnedShards, EveryShardKnowsItsShareOfTheKeys) {
  for (const auto mode : {policy::training_mode::synchronous, policy::training_mode::off}) {
    learned_linear::config cfg;
    cfg.mode = mode;
    EXPECT_EQ(cfg.shards, 1u);
    learned_linear::prepare_shards(cfg, 8, 2000);
    EXPECT_EQ(cfg.shards, 8u);
    EXPECT_EQ(cfg.shared != nullptr, mode != policy::training_mode::off);
  }
}

// And the policy acts on it: the same shard-sized cache with exactly shadowed keys,
// told it is one of 8 shards, keeps the switch margin and switches heuristic less often
// than when it is a cache of its own, which switches on any lead.
TEST(LearnedShards, AShardSwitchesHeuristicOnlyBeyondTheMargin) {
  const auto keys = test::zipf_keys(300'000, 20'000, 5);
  auto switches = [&](std::size_t shards) {
    learned_linear::config cfg;
    cfg.mode = policy::training_mode::off;  // no model: the panel's heuristics decide
    cfg.shards = shards;
    cache<u64, u64, learned_linear> c(300, cfg);
    for (const u64 k : keys)
      if (!c.get(k)) c.put(k, k);
    return c.policy().stats().heuristic_switches;
  };
  const std::uint64_t own = switches(1), shard = switches(8);
  std::printf("heuristic switches: a cache of its own %llu, a shard of 8 %llu\n", static_cast<unsigned long long>(own),
              static_cast<unsigned long long>(shard));
  EXPECT_GT(own, 0u);
  EXPECT_LT(shard, own);
}

TEST(LearnedShards, OneModelAndOneTrainerFor8Shards) { one_model_for(8); }
TEST(LearnedShards, OneModelAndOneTrainerFor64Shards) { one_model_for(64); }

// A harness can wait for the trainer (shared_model::wait_idle): afterwards nothing is
// training or due, and the next request of every shard installs the newest model.
TEST(LearnedShards, WaitIdleLeavesNoTrainingRunningOrDue) {
  std::atomic<int> running{0};
  learned_linear::config cfg;
  cfg.trainer = [&](const learn::feature_matrix& x, std::span<const float> y) {
    ++running;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // slower than the requests
    auto m = std::make_shared<const learn::linear_predictor>(learn::linear_predictor::train(x, y));
    --running;
    return m;
  };
  concurrent_cache<u64, u64, learned_linear> c(2000, {.shards = 4, .policy = cfg});
  const auto keys = test::zipf_keys(100'000, 20'000, 17);
  const auto shared = c.with_policy_of(u64{0}, [](const learned_linear& p) { return p.shared(); });
  ASSERT_NE(shared, nullptr);
  std::uint64_t waits = 0;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    if (!c.get(keys[i])) c.put(keys[i], keys[i]);
    if (i % 16384 == 16383) {
      shared->wait_idle();
      EXPECT_EQ(running.load(), 0) << "a training still running after wait_idle";
      const std::uint64_t started = shared->trainings();
      std::this_thread::sleep_for(std::chrono::milliseconds(40));  // no requests meanwhile
      EXPECT_EQ(shared->trainings(), started) << "wait_idle returned with a training due";
      ++waits;
    }
  }
  EXPECT_GT(waits, 0u);
  EXPECT_GT(c.policy_stats().retrains, 0u);
  // Every shard installs the newest model at its next request (unless those requests
  // asked for another training that published meanwhile: then there is nothing to check).
  shared->wait_idle();
  const auto newest = shared->model();
  const std::uint64_t version = shared->version();
  std::set<const learned_linear*> policies;
  for (u64 k = 0; policies.size() < 4 && k < 4000; ++k) {
    if (!c.get(k)) c.put(k, k);
    c.with_policy_of(k, [&](const learned_linear& p) { policies.insert(&p); });
  }
  ASSERT_EQ(policies.size(), 4u);
  if (shared->version() == version) {
    for (const learned_linear* p : policies) EXPECT_EQ(p->model(), newest) << "a shard kept an older model";
  }
}

// Shards label their rows in their own unit of time (a share of their windows, so of
// their entries). The trainer trains on every shard's labels in one unit — the mean of
// theirs, each gap unchanged — and publishes the model with it; classification labels
// (unit 0) go through as they are.
TEST(LearnedShards, TheTrainerPutsEveryShardsLabelsInOneUnit) {
  std::mutex m;
  std::vector<float> seen;
  learn::trainer<learn::linear_predictor> trainer = [&](const learn::feature_matrix& x, std::span<const float> y) {
    {
      std::lock_guard lock(m);
      seen.assign(y.begin(), y.end());
    }
    return std::make_shared<const learn::linear_predictor>(learn::linear_predictor::train(x, y));
  };
  const std::vector<double> gaps = {0, 1, 7.5, 64, 1000, 1e6};
  const auto rows = [&] {
    learn::feature_matrix x(static_cast<Eigen::Index>(gaps.size()), static_cast<Eigen::Index>(learn::feature_count));
    x.setOnes();
    return x;
  };
  const auto labelled = [&](double unit) {
    std::vector<float> y;
    for (const double g : gaps) y.push_back(static_cast<float>(std::log1p(g / unit)));
    return y;
  };
  // Two shards hand over their labels; the unit the model is published with.
  const auto publish = [&](std::vector<float> y0, double unit0, std::vector<float> y1, double unit1) {
    policy::shared_model<learn::linear_predictor> shared(trainer, 2, learn::feature_count);
    shared.contribute(0, rows(), std::move(y0), unit0);
    shared.contribute(1, rows(), std::move(y1), unit1);
    shared.wait_idle();
    const auto [model, unit] = shared.model_and_unit();
    EXPECT_NE(model, nullptr);
    return unit;
  };
  {
    EXPECT_DOUBLE_EQ(publish(labelled(16.0), 16.0, labelled(48.0), 48.0), 32.0);
    std::lock_guard lock(m);
    ASSERT_EQ(seen.size(), 2 * gaps.size());
    for (std::size_t i = 0; i < seen.size(); ++i) {
      const double gap = gaps[i % gaps.size()];
      EXPECT_NEAR(seen[i], std::log1p(gap / 32.0), 1e-5 * (1 + std::log1p(gap / 32.0))) << "row " << i << ", gap " << gap;
    }
  }
  {
    const std::vector<float> classes = {0, 1, 1, 0, 1, 0};
    EXPECT_EQ(publish(classes, 0.0, classes, 0.0), 1.0);
    std::lock_guard lock(m);
    ASSERT_EQ(seen.size(), 2 * classes.size());
    for (std::size_t i = 0; i < seen.size(); ++i) EXPECT_EQ(seen[i], classes[i % classes.size()]) << "row " << i;
  }
}

// Every eviction is counted once by who made it, in one shard or another.
TEST(LearnedShards, WholeCacheStatisticsAddUpTheShards) {
  learned_linear::config cfg;
  cfg.mode = policy::training_mode::off;
  concurrent_cache<u64, u64, learned_linear> c(1000, {.shards = 4, .policy = cfg});
  for (const u64 k : test::zipf_keys(50'000, 10'000, 5))
    if (!c.get(k)) c.put(k, k);
  const policy::learned_stats s = c.policy_stats();
  EXPECT_GT(c.stats().evictions, 0u);
  EXPECT_EQ(s.model_evictions + s.fallback_evictions + s.recency_evictions + s.panel_evictions, c.stats().evictions);
  EXPECT_GT(s.samples, 0u);
}

}  // namespace
