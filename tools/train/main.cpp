// prescient-train — builds the learned policy's dataset from a trace, cross-validates
// the gradient-boosted model (and the ridge baseline), and saves the model.
//
//   prescient-train --trace FILE --format NAME --size N [--limit N] [--sample-every K]
//                   [--folds K] [--rounds R] [--depth D] [--model OUT.json|OUT.ubj]
//                   [--export-features FILE.libsvm]
//
// Rows and labels are learn/dataset.hpp's (the two situations the policy scores, labels
// from the future of the trace). Folds are contiguous in time, so a fold is scored by a
// model that never saw its period. Metrics, per model, over the held-out folds:
//   regression: RMSE of log1p(time to next request), against predicting the mean;
//   classification of "requested again within the horizon H = size requests" from the
//   regression score (score ≤ log1p(H)): accuracy, precision, recall, F1, and AUC (the
//   probability that a reused row scores below a row that is not).
// --model trains on every row and saves the model in xgboost's format (UBJSON when the
// name ends in .ubj, JSON otherwise): prescient-sim --policies learned --model FILE
// starts from it. --export-features writes the dataset as LibSVM text for xgboost's own
// trainers (its command line, Python package or distributed trainers).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <string>
#include <vector>

#include "prescient/learn/dataset.hpp"
#include "prescient/learn/libsvm.hpp"
#include "prescient/learn/linear_predictor.hpp"
#include "prescient/learn/xgboost_predictor.hpp"
#include "prescient/trace/next_access.hpp"
#include "prescient/trace/reader.hpp"

namespace {

using namespace prescient;

struct options {
  std::string trace, format, model, export_path;
  std::uint64_t limit = 0, size = 0, sample_every = 4;
  unsigned folds = 5;
  learn::training_params params;
};

[[noreturn]] void usage(const std::string& error = {}) {
  if (!error.empty()) std::fprintf(stderr, "prescient-train: %s\n\n", error.c_str());
  std::fprintf(stderr,
               "usage: prescient-train --trace FILE --format NAME --size N [options]\n"
               "  --size N              cache size in entries the model is for (window 4N, horizon N)\n"
               "  --limit N             read only the first N requests\n"
               "  --sample-every K      one sampled request in K (default 4)\n"
               "  --folds K             cross-validation folds, contiguous in time (default 5; 0: none)\n"
               "  --rounds R --depth D  boosting rounds (default 24) and tree depth (default 6)\n"
               "  --model FILE          train on everything and save (FILE.ubj: UBJSON, else JSON)\n"
               "  --export-features F   write the dataset as LibSVM text\n");
  std::exit(error.empty() ? 0 : 2);
}

std::uint64_t count(const std::string& flag, const std::string& v) {
  char* end = nullptr;
  const unsigned long long x = std::strtoull(v.c_str(), &end, 10);
  if (v.empty() || end != v.c_str() + v.size()) usage(flag + " needs a whole number, got '" + v + "'");
  return x;
}

options parse(int argc, char** argv) {
  options o;
  o.params.rounds = 24;
  o.params.min_child_weight = 100;
  o.params.max_bin = 64;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage(a + " needs a value");
      return argv[++i];
    };
    if (a == "-h" || a == "--help") usage();
    else if (a == "--trace") o.trace = value();
    else if (a == "--format") o.format = value();
    else if (a == "--size") o.size = count(a, value());
    else if (a == "--limit") o.limit = count(a, value());
    else if (a == "--sample-every") o.sample_every = count(a, value());
    else if (a == "--folds") o.folds = static_cast<unsigned>(count(a, value()));
    else if (a == "--rounds") o.params.rounds = static_cast<int>(count(a, value()));
    else if (a == "--depth") o.params.max_depth = static_cast<int>(count(a, value()));
    else if (a == "--model") o.model = value();
    else if (a == "--export-features") o.export_path = value();
    else usage("unknown argument '" + a + "'");
  }
  if (o.trace.empty() || o.format.empty()) usage("--trace and --format are required");
  if (o.size == 0) usage("--size is required (cache entries)");
  if (o.folds == 1) usage("--folds must be 0 or at least 2");
  return o;
}

struct metrics {
  double rmse = 0, baseline_rmse = 0, accuracy = 0, precision = 0, recall = 0, f1 = 0, auc = 0;
};

// AUC of "reused" from a score where lower means sooner: the Mann-Whitney statistic.
double auc(const std::vector<float>& score, const std::vector<std::uint8_t>& reused) {
  std::vector<std::size_t> order(score.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return score[a] > score[b]; });
  double positives = 0, negatives = 0, rank_sum = 0;
  for (std::size_t i = 0; i < order.size();) {  // ranks with ties averaged
    std::size_t j = i;
    while (j < order.size() && score[order[j]] == score[order[i]]) ++j;
    const double mid = (static_cast<double>(i) + static_cast<double>(j) + 1) / 2;
    for (std::size_t k = i; k < j; ++k)
      if (reused[order[k]]) rank_sum += mid, ++positives;
      else ++negatives;
    i = j;
  }
  if (positives == 0 || negatives == 0) return 0.5;
  return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives);
}

metrics evaluate(const std::vector<float>& score, const std::vector<float>& label,
                 const std::vector<std::uint8_t>& reused, float threshold, double train_mean) {
  metrics m;
  double tp = 0, fp = 0, fn = 0, tn = 0;
  for (std::size_t i = 0; i < score.size(); ++i) {
    m.rmse += std::pow(score[i] - label[i], 2);
    m.baseline_rmse += std::pow(train_mean - label[i], 2);
    const bool predicted = score[i] <= threshold;
    (predicted ? (reused[i] ? tp : fp) : (reused[i] ? fn : tn)) += 1;
  }
  const double n = static_cast<double>(std::max<std::size_t>(score.size(), 1));
  m.rmse = std::sqrt(m.rmse / n);
  m.baseline_rmse = std::sqrt(m.baseline_rmse / n);
  m.accuracy = (tp + tn) / n;
  m.precision = tp + fp > 0 ? tp / (tp + fp) : 0;
  m.recall = tp + fn > 0 ? tp / (tp + fn) : 0;
  m.f1 = m.precision + m.recall > 0 ? 2 * m.precision * m.recall / (m.precision + m.recall) : 0;
  m.auc = auc(score, reused);
  return m;
}

}  // namespace

int main(int argc, char** argv) try {
  const options o = parse(argc, argv);
  auto requests = trace::load(o.trace, o.format, {}, o.limit ? o.limit : trace::unlimited);
  trace::annotate_next_access(requests);
  if (requests.empty()) throw std::runtime_error(o.trace + ": no requests");
  learn::dataset_options dopt;
  dopt.capacity = o.size;
  dopt.sample_every = o.sample_every;
  const learn::dataset d = learn::build_dataset(requests, dopt);
  const auto rows = static_cast<std::size_t>(d.rows.rows());
  std::printf("%s: %zu requests -> %zu rows x %zu features (window %llu, horizon %llu requests)\n", o.trace.c_str(),
              requests.size(), rows, learn::feature_count, static_cast<unsigned long long>(d.label_cfg.window),
              static_cast<unsigned long long>(d.label_cfg.horizon));
  std::size_t positives = 0;
  for (auto r : d.reused) positives += r;
  std::printf("rows requested again within the horizon: %.1f%%\n", 100.0 * static_cast<double>(positives) / static_cast<double>(rows));

  if (!o.export_path.empty()) {
    std::ofstream out(o.export_path);
    learn::write_libsvm(out, d.rows, d.labels);
    out.close();
    if (!out) throw std::runtime_error("cannot write " + o.export_path);
    std::printf("wrote %s (LibSVM: label = log1p(requests to the next request), 0-based feature indices)\n",
                o.export_path.c_str());
  }

  if (o.folds >= 2) {
    const float threshold = learn::horizon_score(d.label_cfg);
    std::printf("\n%u-fold cross-validation, folds contiguous in time:\n", o.folds);
    std::printf("%-8s %8s %9s %9s %9s %9s %9s %9s\n", "model", "RMSE", "(mean)", "accuracy", "precision", "recall", "F1",
                "AUC");
    for (const char* which : {"xgboost", "ridge"}) {
      std::vector<float> score(rows);
      double seconds = 0;
      for (unsigned f = 0; f < o.folds; ++f) {
        const std::size_t lo = rows * f / o.folds, hi = rows * (f + 1) / o.folds;
        learn::feature_matrix train(static_cast<Eigen::Index>(rows - (hi - lo)), static_cast<Eigen::Index>(learn::feature_count));
        train << d.rows.topRows(static_cast<Eigen::Index>(lo)), d.rows.bottomRows(static_cast<Eigen::Index>(rows - hi));
        std::vector<float> labels(d.labels.begin(), d.labels.begin() + static_cast<std::ptrdiff_t>(lo));
        labels.insert(labels.end(), d.labels.begin() + static_cast<std::ptrdiff_t>(hi), d.labels.end());
        const learn::feature_matrix test = d.rows.middleRows(static_cast<Eigen::Index>(lo), static_cast<Eigen::Index>(hi - lo));
        const auto start = std::chrono::steady_clock::now();
        std::span<float> out(score.data() + lo, hi - lo);
        if (std::string(which) == "xgboost") learn::xgboost_predictor::train(train, labels, o.params).compile().predict(test, out);
        else learn::linear_predictor::train(train, labels).predict(test, out);
        seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      }
      const double mean = std::accumulate(d.labels.begin(), d.labels.end(), 0.0) / static_cast<double>(rows);
      const metrics m = evaluate(score, d.labels, d.reused, threshold, mean);
      std::printf("%-8s %8.4f %9.4f %9.4f %9.4f %9.4f %9.4f %9.4f   (%.2f s)\n", which, m.rmse, m.baseline_rmse,
                  m.accuracy, m.precision, m.recall, m.f1, m.auc, seconds);
    }
  }

  if (!o.model.empty()) {
    const auto model = learn::xgboost_predictor::train(d.rows, d.labels, o.params);
    const bool ubj = std::filesystem::path(o.model).extension() == ".ubj";
    model.save(o.model, ubj ? learn::model_format::ubjson : learn::model_format::json);
    std::printf("\nsaved %s (%s, %s)\n", o.model.c_str(), ubj ? "UBJSON" : "JSON", model.version().c_str());
  }
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "prescient-train: %s\n", e.what());
  return 1;
}
