// Scoring cost of the compiled forest against xgboost's C API, per request and per
// batch, on the model shape online training produces (24 trees, depth 6, 18 features).
//
//   build/release/bench/forest_bench
//
// items_per_second is rows scored per second; compare the rows of one run as ratios.
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "prescient/learn/compiled_forest.hpp"
#include "prescient/learn/forest_trainer.hpp"
#include "prescient/learn/xgboost_predictor.hpp"

namespace {

using namespace prescient::learn;

struct fixture {
  feature_matrix rows;
  std::vector<float> labels;
  std::unique_ptr<xgboost_predictor> model;
  std::unique_ptr<compiled_forest> forest;

  fixture() : rows(20000, 18), labels(20000) {
    std::mt19937 rng(1);
    std::normal_distribution<float> normal;
    for (Eigen::Index r = 0; r < rows.rows(); ++r) {
      for (Eigen::Index c = 0; c < rows.cols(); ++c) rows(r, c) = normal(rng);
      labels[static_cast<std::size_t>(r)] = rows(r, 0) > 0 ? rows(r, 1) * rows(r, 2) : std::sin(rows(r, 3)) + rows(r, 4);
    }
    model = std::make_unique<xgboost_predictor>(xgboost_predictor::train(rows, labels, online_training_params()));
    forest = std::make_unique<compiled_forest>(model->compile());
  }
};

const fixture& data() {
  static const fixture f;
  return f;
}

void BM_CompiledForest_PerRow(benchmark::State& state) {
  const auto& f = data();
  Eigen::Index r = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(f.forest->predict_row(f.rows.row(r).data()));
    r = (r + 1) % f.rows.rows();
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_CompiledForest_PerRow);

void BM_CompiledForest_Batch(benchmark::State& state) {
  const auto& f = data();
  const auto n = static_cast<std::size_t>(state.range(0));
  std::vector<float> out(n);
  for (auto _ : state) {
    f.forest->predict_rows(f.rows.data(), n, 18, out.data());
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_CompiledForest_Batch)->Arg(64)->Arg(1024);

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
BENCHMARK(BM_XgboostCApi_Batch)->Arg(1)->Arg(64)->Arg(1024);

}  // namespace

BENCHMARK_MAIN();
