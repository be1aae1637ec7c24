// The path to big logs: features exported as LibSVM (write_libsvm) are trained by
// xgboost's own command line (Debian's `xgboost` package, /usr/bin/xgboost), and the
// JSON model it writes (model_out ending in ".json") loads in prescient and predicts what
// the command line predicts; the deprecated binary format it writes otherwise is refused
// with an error naming the file and saying how to convert it. And back: models prescient
// saves (JSON and UBJSON) predict the same in the command line.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "prescient/learn/compiled_forest.hpp"
#include "prescient/learn/dataset.hpp"
#include "prescient/learn/libsvm.hpp"
#include "prescient/learn/xgboost_predictor.hpp"
#include "prescient/trace/next_access.hpp"
#include "prescient/trace/reader.hpp"
#include "test_support.hpp"

namespace {

namespace fs = std::filesystem;
using namespace prescient;
using learn::feature_matrix;

constexpr const char* xgboost_cli = "/usr/bin/xgboost";
constexpr float nan = std::numeric_limits<float>::quiet_NaN();

bool cli_available() { return ::access(xgboost_cli, X_OK) == 0; }

// One directory per test, removed afterwards.
struct temp_dir : prescient::test::temp_dir {
  temp_dir() : prescient::test::temp_dir("prescient_cli") {}
};

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Runs the command line on a configuration file; its chatter goes to <conf>.log.
::testing::AssertionResult run_cli(const fs::path& conf) {
  const fs::path log = fs::path(conf).concat(".log");
  const std::string command = std::string(xgboost_cli) + " '" + conf.string() + "' > '" + log.string() + "' 2>&1";
  const int status = std::system(command.c_str());
  if (status == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << command << " exited with status " << status << ":\n" << slurp(log);
}

std::vector<float> read_predictions(const fs::path& p) {
  std::vector<float> out;
  std::ifstream in(p);
  for (float v; in >> v;) out.push_back(v);
  return out;
}

std::vector<float> predictions(const learn::predictor& model, const feature_matrix& x) {
  std::vector<float> out(static_cast<std::size_t>(x.rows()));
  model.predict(x, out);
  return out;
}

void expect_near_all(const std::vector<float>& got, const std::vector<float>& expected, const char* who) {
  ASSERT_EQ(got.size(), expected.size()) << who;
  for (std::size_t i = 0; i < got.size(); ++i) ASSERT_NEAR(got[i], expected[i], 1e-5) << who << ", row " << i;
}

struct split_data {
  feature_matrix train_x, test_x;
  std::vector<float> train_y, test_y;
};

// The whole round trip on one dataset: export, train and predict with the command line,
// load its models here, compare; then the other way round.
void round_trip(const split_data& d, const std::string& objective) {
  const temp_dir dir;
  {
    std::ofstream train(dir / "train.libsvm"), test(dir / "test.libsvm");
    learn::write_libsvm(train, d.train_x, d.train_y);
    learn::write_libsvm(test, d.test_x, d.test_y);
  }
  // The text reads back bit for bit, missing values included.
  {
    std::ifstream test(dir / "test.libsvm");
    const learn::libsvm_data back = learn::read_libsvm(test, static_cast<std::size_t>(d.test_x.cols()));
    ASSERT_EQ(back.rows.rows(), d.test_x.rows());
    EXPECT_EQ(back.labels, d.test_y);
    for (Eigen::Index r = 0; r < back.rows.rows(); ++r)
      for (Eigen::Index c = 0; c < back.rows.cols(); ++c)
        if (std::isnan(d.test_x(r, c))) {
          ASSERT_TRUE(std::isnan(back.rows(r, c))) << r << "," << c;
        } else {
          ASSERT_EQ(back.rows(r, c), d.test_x(r, c)) << r << "," << c;
        }
  }

  const auto train_conf = [&](const std::string& name, const fs::path& model_out) {
    std::ofstream(dir / name) << "task = train\nbooster = gbtree\nobjective = " << objective
                              << "\ntree_method = hist\nmax_depth = 6\neta = 0.3\nnum_round = 20\nnthread = 1\n"
                              << "data = \"" << (dir / "train.libsvm").string() << "?format=libsvm\"\n"
                              << "model_out = \"" << model_out.string() << "\"\n";
    return dir / name;
  };
  const auto pred_conf = [&](const std::string& name, const fs::path& model_in, const fs::path& out) {
    std::ofstream(dir / name) << "task = pred\nnthread = 1\nmodel_in = \"" << model_in.string() << "\"\n"
                              << "test:data = \"" << (dir / "test.libsvm").string() << "?format=libsvm\"\n"
                              << "name_pred = \"" << out.string() << "\"\n";
    return dir / name;
  };

  // 1.7's command line writes JSON only when model_out ends in ".json"; anything else
  // (".ubj" included) gets its deprecated binary format.
  ASSERT_TRUE(run_cli(train_conf("train-json.conf", dir / "cli.json")));
  ASSERT_TRUE(run_cli(train_conf("train-bin.conf", dir / "cli.model")));
  EXPECT_TRUE(slurp(dir / "cli.json").starts_with("{\"learner\""));
  EXPECT_TRUE(slurp(dir / "cli.model").starts_with("binf"));
  ASSERT_TRUE(run_cli(pred_conf("pred.conf", dir / "cli.json", dir / "cli-pred.txt")));
  const std::vector<float> cli = read_predictions(dir / "cli-pred.txt");
  ASSERT_EQ(cli.size(), static_cast<std::size_t>(d.test_x.rows()));

  const learn::xgboost_predictor from_json = learn::xgboost_predictor::load(dir / "cli.json");
  try {
    (void)learn::xgboost_predictor::load(dir / "cli.model");
    ADD_FAILURE() << "the CLI's binary model loaded";
  } catch (const learn::model_error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find((dir / "cli.model").string()), std::string::npos) << what;
    EXPECT_NE(what.find("deprecated binary format"), std::string::npos) << what;
    EXPECT_NE(what.find("JSON or UBJSON"), std::string::npos) << what;
  }
  // The full width, even when the last column is missing everywhere (write_libsvm names it).
  EXPECT_EQ(from_json.num_features(), static_cast<std::size_t>(d.train_x.cols()));
  EXPECT_EQ(from_json.num_trees(), 20u);
  const std::vector<float> ours = predictions(from_json, d.test_x);
  expect_near_all(ours, cli, "xgboost_predictor, CLI JSON model");
  expect_near_all(predictions(learn::compiled_forest::load(dir / "cli.json"), d.test_x), cli,
                  "compiled_forest, CLI JSON model");

  // The other way: prescient trains and saves, the command line predicts.
  const learn::xgboost_predictor trained = learn::xgboost_predictor::train(
      d.train_x, d.train_y, learn::training_params{.rounds = 20, .objective = objective});
  const std::vector<float> expected = predictions(trained, d.test_x);
  trained.save(dir / "ours.json", learn::model_format::json);
  trained.save(dir / "ours.ubj", learn::model_format::ubjson);
  for (const char* name : {"ours.json", "ours.ubj"}) {
    SCOPED_TRACE(name);
    const fs::path out = dir / (std::string(name) + ".pred.txt");
    ASSERT_TRUE(run_cli(pred_conf(std::string(name) + ".conf", dir / name, out)));
    expect_near_all(read_predictions(out), expected, "the CLI on a prescient model");
  }
}

// Five informative features with ~10% missing values, and a sixth that is missing in
// every row (xgboost would infer five features from the text if nothing named it).
split_data synthetic(bool binary) {
  std::mt19937 rng(42);
  std::normal_distribution<float> normal;
  std::bernoulli_distribution missing(0.1);
  const auto make = [&](Eigen::Index rows, feature_matrix& x, std::vector<float>& y) {
    x.resize(rows, 6);
    y.resize(static_cast<std::size_t>(rows));
    for (Eigen::Index r = 0; r < rows; ++r) {
      for (Eigen::Index c = 0; c < 5; ++c) x(r, c) = missing(rng) ? nan : normal(rng);
      x(r, 5) = nan;
      const auto v = [&](Eigen::Index c) { return std::isnan(x(r, c)) ? 0.0f : x(r, c); };
      const float target = std::sin(v(0)) * 2 + v(1) * v(2) + (v(3) > 0.5f ? 1.0f : 0.0f) + 0.1f * normal(rng);
      y[static_cast<std::size_t>(r)] = binary ? (target > 0.3f ? 1.0f : 0.0f) : target;
    }
  };
  split_data d;
  make(1500, d.train_x, d.train_y);
  make(500, d.test_x, d.test_y);
  return d;
}

TEST(XgboostCommandLine, RegressionModelsRoundTripBetweenTheCliAndPrescient) {
  if (!cli_available()) GTEST_SKIP() << xgboost_cli << " is not installed (Debian package xgboost)";
  round_trip(synthetic(false), "reg:squarederror");
}

TEST(XgboostCommandLine, LogisticModelsRoundTripBetweenTheCliAndPrescient) {
  if (!cli_available()) GTEST_SKIP() << xgboost_cli << " is not installed (Debian package xgboost)";
  round_trip(synthetic(true), "binary:logistic");
}

TEST(XgboostCommandLine, FeaturesOfARealTraceRoundTrip) {
  if (!cli_available()) GTEST_SKIP() << xgboost_cli << " is not installed (Debian package xgboost)";
  PRESCIENT_TRACE_OR_SKIP(trace_file, "cache2k-web07.trace.xz");
  auto requests = trace::load(trace_file.string(), "i32be", {}, 20000);
  trace::annotate_next_access(requests);
  const learn::dataset d = learn::build_dataset(requests, {.capacity = 400, .sample_every = 2});
  const Eigen::Index n = d.rows.rows(), n_train = n * 4 / 5;
  ASSERT_GT(n - n_train, 100);
  const auto labels = std::span<const float>(d.labels);
  const auto train_labels = labels.first(static_cast<std::size_t>(n_train));
  const auto test_labels = labels.subspan(static_cast<std::size_t>(n_train));
  round_trip(split_data{d.rows.topRows(n_train), d.rows.bottomRows(n - n_train),
                        {train_labels.begin(), train_labels.end()},
                        {test_labels.begin(), test_labels.end()}},
             "reg:squarederror");
}

TEST(LibSVM, ReadingIsStrictAndNamesTheLine) {
  const auto refused = [](const std::string& text, const std::string& fragment) {
    std::istringstream in(text);
    try {
      (void)learn::read_libsvm(in, 3);
      ADD_FAILURE() << "read: " << text;
    } catch (const learn::feature_error& e) {
      EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
    }
  };
  refused("1 0:1\n2 0:1 3:2\n", "libsvm line 2: feature index 3 is not below 3");
  refused("1 0:1\n\n2 1:x\n", "libsvm line 3: malformed pair '1:x'");
  refused("1 0:1.5x\n", "line 1: malformed pair '0:1.5x'");
  refused("1 :1\n", "malformed pair ':1'");
  refused("1 -1:1\n", "malformed pair '-1:1'");
  refused("1 qid:3 0:1\n", "malformed pair 'qid:3'");
  refused("abc 0:1\n", "line 1: malformed label 'abc'");
  refused("nan 0:1\n", "label 'nan' is not finite");
  refused("1 0:1 0:2\n", "feature index 0 appears twice");
  refused("1 2:inf\n", "feature 2 is infinite");

  std::istringstream ok("1.5 0:1 2:nan\r\n\n  \n-2 1:0.25\n");  // CRLF, blank lines, nan = missing
  const learn::libsvm_data d = learn::read_libsvm(ok, 3);
  ASSERT_EQ(d.rows.rows(), 2);
  EXPECT_EQ(d.labels, (std::vector<float>{1.5f, -2.0f}));
  EXPECT_EQ(d.rows(0, 0), 1.0f);
  EXPECT_TRUE(std::isnan(d.rows(0, 1)));
  EXPECT_TRUE(std::isnan(d.rows(0, 2)));
  EXPECT_EQ(d.rows(1, 1), 0.25f);

  std::ostringstream out;
  feature_matrix x(2, 2);
  x << 1, nan, 2, nan;
  EXPECT_THROW(learn::write_libsvm(out, x, std::vector<float>{1}), learn::feature_error);
  EXPECT_THROW(learn::write_libsvm(out, x, std::vector<float>{1, nan}), learn::feature_error);
  std::ostringstream written;
  learn::write_libsvm(written, x, std::vector<float>{1, 0.1f});
  EXPECT_EQ(written.str(), "1 0:1 1:nan\n0.100000001 0:2\n");  // the last column named once
}

}  // namespace
