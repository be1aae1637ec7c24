// prescient-train — builds the learned policy's dataset from a trace, cross-validates
// the gradient-boosted model (and the ridge baseline), and saves the model.
//
//   prescient-train --trace FILE --format NAME --size N [--limit N] [--sample-every K]
//                   [--folds K] [--rounds R] [--depth D] [--model OUT.json|OUT.ubj]
//                   [--export-features FILE.libsvm]
//
// `--trace -` reads the standard input (compressed or not). The options are CLI11's
// (tools/support/cli.hpp): --help is generated from them, with the defaults the code
// uses; a usage error exits 2 with one line on stderr, other errors exit 1.
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
#include "prescient/learn/forest_trainer.hpp"
#include "prescient/learn/libsvm.hpp"
#include "prescient/learn/linear_predictor.hpp"
#include "prescient/learn/xgboost_predictor.hpp"
#include "prescient/trace/next_access.hpp"
#include "prescient/trace/reader.hpp"
#include "support/cli.hpp"

namespace {

using namespace prescient;

constexpr std::string_view tool = "prescient-train";
namespace cli = prescient::tools::cli;

// The dataset's shape and the offline trainer's parameters, as the library defines them:
// the help shows these values, not copies of them.
struct options {
  std::string trace, format, model, export_path;
  std::uint64_t limit = 0, size = 0, sample_every = learn::dataset_options{}.sample_every;
  unsigned folds = 5;
  learn::training_params params = offline_params();

  static learn::training_params offline_params() {
    learn::training_params p;  // xgboost_predictor.hpp's defaults (depth among them), then:
    p.rounds = 24;
    p.min_child_weight = 100;
    p.max_bin = 64;
    return p;
  }
};

// "16N" for 16 × N entries, "N" for 1 × N.
std::string times_n(double per_entry) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%gN", per_entry);
  return per_entry == 1 ? "N" : buf;
}

void define_options(CLI::App& app, options& o) {
  using cli::whole_number;
  const learn::dataset_options data;
  cli::prepare(app, tool, "prescient-train --trace FILE --format NAME --size N [options]");
  app.add_option("--trace", o.trace, "the trace (.xz, .gz, .zst or plain; - is the standard input)")
      ->type_name("FILE");
  app.add_option("--format", o.format, "i32be, u32be, i64be, lines, time-key-size, oracle-general, csv")
      ->type_name("NAME");
  app.add_option("--size", o.size,
                 "cache size in entries the model is for: labels censored at the\nwindow " +
                     times_n(data.window_per_entry) + ", reuse judged within the horizon " +
                     times_n(data.horizon_per_entry) + " (requests)")
      ->type_name("N")->check(whole_number<std::uint64_t>());
  app.add_option("--limit", o.limit, "read only the first N requests (0: all)")
      ->type_name("N")->check(whole_number<std::uint64_t>());
  app.add_option("--sample-every", o.sample_every, "one sampled request in K")
      ->type_name("K")->check(whole_number<std::uint64_t>())->capture_default_str();
  app.add_option("--folds", o.folds, "cross-validation folds, contiguous in time (0: none)")
      ->type_name("K")->check(whole_number<unsigned>())->capture_default_str();
  app.add_option("--rounds", o.params.rounds, "boosting rounds")
      ->type_name("R")->check(whole_number<int>())->capture_default_str();
  app.add_option("--depth", o.params.max_depth,
                 "tree depth (the simulator's learned policy, retraining online,\nuses " +
                     std::to_string(learn::online_training_params().max_depth) + ")")
      ->type_name("D")->check(whole_number<int>())->capture_default_str();
  app.add_option("--model", o.model, "train on everything and save (FILE.ubj: UBJSON, else JSON)")->type_name("FILE");
  app.add_option("--export-features", o.export_path, "write the dataset as LibSVM text")->type_name("F");
  app.footer("Also fixed: min_child_weight " + std::to_string(static_cast<int>(o.params.min_child_weight)) +
             ", max_bin " + std::to_string(o.params.max_bin) +
             ".\nEach sampled request gives two rows: the requested key, and a key drawn\n"
             "from the last 4N requests (an eviction candidate).");
}

void validate(const options& o) {
  if (o.trace.empty() || o.format.empty()) throw cli::usage_error("--trace and --format are required");
  if (o.size == 0) throw cli::usage_error("--size is required (cache entries)");
  if (o.folds == 1) throw cli::usage_error("--folds must be 0 or at least 2");
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
  options o;
  {
    CLI::App app("prescient-train: builds the learned policy's dataset from a trace, cross-validates\n"
                 "the gradient-boosted model (and the ridge baseline), and saves the model",
                 std::string(tool));
    define_options(app, o);
    if (const auto rc = cli::run_parser(app, argc, argv, tool, [&] { validate(o); })) return *rc;
  }
  const std::string shown = cli::shown_path(o.trace);
  auto requests = cli::load_trace(o.trace, o.format, {}, o.limit ? o.limit : trace::unlimited);
  trace::annotate_next_access(requests);
  if (requests.empty()) throw std::runtime_error(shown + ": no requests");
  learn::dataset_options dopt;
  dopt.capacity = o.size;
  dopt.sample_every = o.sample_every;
  const learn::dataset d = learn::build_dataset(requests, dopt);
  const auto rows = static_cast<std::size_t>(d.rows.rows());
  std::printf("%s: %zu requests -> %zu rows x %zu features (window %llu, horizon %llu requests)\n", shown.c_str(),
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
