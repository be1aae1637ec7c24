// The path to big logs: features exported as LibSVM are trained by xgboost's own command
// line (Debian's `xgboost` package), and the model it writes loads in prescient and
// predicts what the command line predicts.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "prescient/learn/compiled_forest.hpp"
#include "prescient/learn/dataset.hpp"
#include "prescient/learn/libsvm.hpp"
#include "prescient/learn/xgboost_predictor.hpp"
#include "prescient/trace/next_access.hpp"
#include "prescient/trace/reader.hpp"

namespace {

namespace fs = std::filesystem;
using namespace prescient;

constexpr const char* xgboost_cli = "/usr/bin/xgboost";

TEST(XgboostCommandLine, TrainsOnExportedFeaturesAndItsModelPredictsIdenticallyHere) {
  if (!fs::exists(xgboost_cli)) GTEST_SKIP() << xgboost_cli << " is not installed (Debian package xgboost)";
  auto requests = trace::load(PRESCIENT_TRACE_DIR "/cache2k-web07.trace.xz", "i32be", {}, 20000);
  trace::annotate_next_access(requests);
  const learn::dataset d = learn::build_dataset(requests, {.capacity = 400, .sample_every = 2});
  const Eigen::Index n = d.rows.rows(), n_train = n * 4 / 5;

  const fs::path dir = fs::temp_directory_path() / ("prescient_cli_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  {
    std::ofstream train(dir / "train.libsvm"), test(dir / "test.libsvm");
    learn::write_libsvm(train, d.rows.topRows(n_train), std::span(d.labels).first(static_cast<std::size_t>(n_train)));
    learn::write_libsvm(test, d.rows.bottomRows(n - n_train), std::span(d.labels).subspan(static_cast<std::size_t>(n_train)));
  }
  std::ofstream(dir / "train.conf") << "booster = gbtree\nobjective = reg:squarederror\ntree_method = hist\n"
                                       "max_depth = 6\neta = 0.3\nnum_round = 20\nnthread = 1\n"
                                       "data = \"" << (dir / "train.libsvm").string() << "?format=libsvm\"\n"
                                    << "model_out = \"" << (dir / "model.json").string() << "\"\n";
  std::ofstream(dir / "pred.conf") << "task = pred\nnthread = 1\nmodel_in = \"" << (dir / "model.json").string() << "\"\n"
                                   << "test:data = \"" << (dir / "test.libsvm").string() << "?format=libsvm\"\n"
                                   << "name_pred = \"" << (dir / "pred.txt").string() << "\"\n";
  const std::string quiet = " > " + (dir / "log.txt").string() + " 2>&1";
  ASSERT_EQ(std::system((std::string(xgboost_cli) + " " + (dir / "train.conf").string() + quiet).c_str()), 0);
  ASSERT_EQ(std::system((std::string(xgboost_cli) + " " + (dir / "pred.conf").string() + quiet).c_str()), 0);

  std::vector<float> expected;
  {
    std::ifstream pred(dir / "pred.txt");
    for (float v; pred >> v;) expected.push_back(v);
  }
  ASSERT_EQ(expected.size(), static_cast<std::size_t>(n - n_train));

  // Read the test rows back from the exported text, as xgboost did.
  const auto model = learn::xgboost_predictor::load(dir / "model.json");
  EXPECT_EQ(model.num_features(), learn::feature_count);
  learn::feature_matrix rows;
  std::vector<float> labels;
  std::ifstream test(dir / "test.libsvm");
  learn::read_libsvm(test, model.num_features(), rows, labels);
  std::vector<float> got(expected.size());
  model.predict(rows, got);
  for (std::size_t i = 0; i < got.size(); ++i) ASSERT_NEAR(got[i], expected[i], 1e-5) << "xgboost_predictor, row " << i;
  const auto forest = learn::compiled_forest::load(dir / "model.json");
  forest.predict(rows, got);
  for (std::size_t i = 0; i < got.size(); ++i) ASSERT_NEAR(got[i], expected[i], 1e-5) << "compiled_forest, row " << i;
  fs::remove_all(dir);
}

}  // namespace
