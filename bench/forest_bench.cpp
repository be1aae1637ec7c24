// Scoring cost of the compiled forest against xgboost's C API, per request and per
// batch, on a model of 32 trees of depth 6 over 16 features (trained at startup on
// synthetic data with 5% missing values).
//
//   build/release/bench/forest_bench
//
// items_per_second is rows scored per second; compare rows of one run as ratios.
// BM_PolicyForest_*: the learned policy's default forest (24 trees of depth 3, trained
// the same way), a ranking's 64 rows walked row by row (`accumulate`) against eight rows
// at a time (`accumulate_block`), over all trees and over the first 8 (the screen).
// BM_FeatureRows_*: that ranking's 64 feature rows written one at a time and four at a
// time (feature_extractor::write_rows).
// Per request: one row at a time, a different row each time (4096 rows in rotation, so
// branch predictors cannot learn the walk). xgboost per request is a batch of one
// through xgboost_predictor::predict: one XGBoosterPredictFromDense call behind the
// predictor's mutex.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <random>
#include <vector>

#include "prescient/learn/compiled_forest.hpp"
#include "prescient/learn/features.hpp"
#include "prescient/learn/xgboost_predictor.hpp"

namespace {

using namespace prescient::learn;

constexpr Eigen::Index features = 16;
constexpr Eigen::Index pool = 4096;  // distinct rows scored in rotation

struct fixture {
  feature_matrix rows{20000, features};
  std::vector<float> labels = std::vector<float>(20000);
  std::unique_ptr<xgboost_predictor> model;
  std::unique_ptr<compiled_forest> forest;

  explicit fixture(int rounds = 32, int depth = 6) {
    std::mt19937 rng(1);
    std::normal_distribution<float> normal;
    std::bernoulli_distribution missing(0.05);
    for (Eigen::Index r = 0; r < rows.rows(); ++r) {
      for (Eigen::Index c = 0; c < features; ++c)
        rows(r, c) = missing(rng) ? std::numeric_limits<float>::quiet_NaN() : normal(rng);
      const auto v = [&](Eigen::Index c) { return std::isnan(rows(r, c)) ? 0.0f : rows(r, c); };
      labels[static_cast<std::size_t>(r)] =
          v(0) > 0 ? v(1) * v(2) + v(5) : std::sin(v(3)) + v(4) - 0.5f * v(6) * v(7) + 0.1f * normal(rng);
    }
    training_params p;
    p.rounds = rounds;
    p.max_depth = depth;
    model = std::make_unique<xgboost_predictor>(xgboost_predictor::train(rows, labels, p));
    forest = std::make_unique<compiled_forest>(from_predictor(*model));
  }
};

const fixture& data() {
  static const fixture f;
  return f;
}

const fixture& policy_data() {
  static const fixture f(24, 3);
  return f;
}

void describe(benchmark::State& state) {
  const auto& f = data();
  state.counters["trees"] = static_cast<double>(f.forest->num_trees());
  state.counters["nodes"] = static_cast<double>(f.forest->num_nodes());
  state.counters["forest_KiB"] = static_cast<double>(f.forest->bytes()) / 1024.0;
}

// ---- per request ----------------------------------------------------------------------

void BM_CompiledForest_PerRequest(benchmark::State& state) {
  const auto& f = data();
  Eigen::Index r = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(f.forest->predict_row(f.rows.row(r).data()));
    r = (r + 1) & (pool - 1);
  }
  state.SetItemsProcessed(state.iterations());
  describe(state);
}
BENCHMARK(BM_CompiledForest_PerRequest);

void BM_XgboostCApi_PerRequest(benchmark::State& state) {
  const auto& f = data();
  feature_matrix one(1, features);
  float score = 0;
  Eigen::Index r = 0;
  for (auto _ : state) {
    one.row(0) = f.rows.row(r);
    f.model->predict(one, std::span(&score, 1));
    benchmark::DoNotOptimize(score);
    r = (r + 1) & (pool - 1);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_XgboostCApi_PerRequest);

// ---- per batch ------------------------------------------------------------------------

// Through the predictor interface: check_batch, then predict_row on each row.
void BM_CompiledForest_Batch(benchmark::State& state) {
  const auto& f = data();
  const auto n = static_cast<Eigen::Index>(state.range(0));
  const feature_matrix batch = f.rows.topRows(n);
  std::vector<float> out(static_cast<std::size_t>(n));
  for (auto _ : state) {
    f.forest->predict(batch, out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_CompiledForest_Batch)->Arg(64)->Arg(1024);

// The walk alone (predict_rows), without check_batch's scan for infinities.
void BM_CompiledForest_PredictRows(benchmark::State& state) {
  const auto& f = data();
  const auto n = static_cast<std::size_t>(state.range(0));
  std::vector<float> out(n);
  for (auto _ : state) {
    f.forest->predict_rows(f.rows.data(), n, static_cast<std::size_t>(features), out.data());
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_CompiledForest_PredictRows)->Arg(64)->Arg(1024);

void BM_XgboostCApi_Batch(benchmark::State& state) {
  const auto& f = data();
  const auto n = static_cast<Eigen::Index>(state.range(0));
  const feature_matrix batch = f.rows.topRows(n);
  std::vector<float> out(static_cast<std::size_t>(n));
  for (auto _ : state) {
    f.model->predict(batch, out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_XgboostCApi_Batch)->Arg(64)->Arg(1024);

// ---- the learned policy's forest, a ranking's rows ----------------------------------------

// Arg: the trees walked (all 24, or the screen's first 8); 64 rows per iteration.
void BM_PolicyForest_RowWalk(benchmark::State& state) {
  const auto& f = policy_data();
  const auto trees = static_cast<std::size_t>(state.range(0));
  float out[64];
  Eigen::Index start = 0;
  for (auto _ : state) {
    for (Eigen::Index j = 0; j < 64; ++j)
      out[j] = f.forest->accumulate(f.rows.row(start + j).data(), f.forest->base_margin(), 0, trees);
    benchmark::DoNotOptimize(out);
    start = (start + 64) & (pool - 1);
  }
  state.SetItemsProcessed(state.iterations() * 64);
}
BENCHMARK(BM_PolicyForest_RowWalk)->Arg(24)->Arg(8);

void BM_PolicyForest_BlockWalk(benchmark::State& state) {
  const auto& f = policy_data();
  if (!f.forest->scores_blocks()) {
    state.SkipWithError("the forest does not score blocks");
    return;
  }
  const auto trees = static_cast<std::size_t>(state.range(0));
  constexpr std::size_t lanes = compiled_forest::block_rows;
  float out[64];
  const float* block[lanes];
  Eigen::Index start = 0;
  for (auto _ : state) {
    for (std::size_t b = 0; b < 64; b += lanes) {
      for (std::size_t j = 0; j < lanes; ++j) {
        block[j] = f.rows.row(start + static_cast<Eigen::Index>(b + j)).data();
        out[b + j] = f.forest->base_margin();
      }
      f.forest->accumulate_block(block, lanes, out + b, 0, trees);
    }
    benchmark::DoNotOptimize(out);
    start = (start + 64) & (pool - 1);
  }
  state.SetItemsProcessed(state.iterations() * 64);
}
BENCHMARK(BM_PolicyForest_BlockWalk)->Arg(24)->Arg(8);

// A ranking's 64 feature rows from 64 histories of the pool (keys requested 1–40 times,
// gaps up to 2^20 requests): `write` row by row against `write_rows` (four rows' logarithms
// and decays at once, the learned policy's ranking), the same rows bit for bit.
struct history_pool {
  feature_extractor fx;
  std::vector<key_history> histories = std::vector<key_history>(pool);
  std::uint64_t now = 0;
  history_pool() {
    std::mt19937_64 rng(3);
    for (auto& h : histories) {
      std::uint64_t t = rng() % 1000;
      for (std::uint64_t r = 0, n = 1 + rng() % 40; r < n; ++r, t += 1 + rng() % (1u << (rng() % 21))) fx.record(h, t, 1);
      now = std::max(now, t);
    }
  }
};
const history_pool& histories() {
  static const history_pool p;
  return p;
}

void BM_FeatureRows_OneAtATime(benchmark::State& state) {
  const auto& p = histories();
  feature_matrix rows(64, feature_count);
  std::size_t start = 0;
  for (auto _ : state) {
    for (Eigen::Index j = 0; j < 64; ++j)
      p.fx.write(p.histories[(start + static_cast<std::size_t>(j) * 61) & (pool - 1)], p.now, 1, rows.row(j).data());
    benchmark::DoNotOptimize(rows.data());
    start = (start + 64) & (pool - 1);
  }
  state.SetItemsProcessed(state.iterations() * 64);
}
BENCHMARK(BM_FeatureRows_OneAtATime);

void BM_FeatureRows_Together(benchmark::State& state) {
  const auto& p = histories();
  feature_matrix rows(64, feature_count);
  const key_history* in[64];
  float* out[64];
  std::size_t start = 0;
  for (auto _ : state) {
    for (Eigen::Index j = 0; j < 64; ++j) {
      in[j] = &p.histories[(start + static_cast<std::size_t>(j) * 61) & (pool - 1)];
      out[j] = rows.row(j).data();
    }
    p.fx.write_rows(in, 64, p.now, 1, out);
    benchmark::DoNotOptimize(rows.data());
    start = (start + 64) & (pool - 1);
  }
  state.SetItemsProcessed(state.iterations() * 64);
}
BENCHMARK(BM_FeatureRows_Together);

}  // namespace

BENCHMARK_MAIN();
