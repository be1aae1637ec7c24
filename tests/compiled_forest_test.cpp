// xgboost_predictor (the C API) and compiled_forest (the same trees, flattened): they
// agree within 1e-5 on held-out rows, models round-trip through JSON and UBJSON, bad
// models and bad batches give clear errors, and xgboost prints nothing.
#include "prescient/learn/compiled_forest.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "prescient/learn/forest_trainer.hpp"
#include "prescient/learn/xgboost_predictor.hpp"

namespace {

using namespace prescient::learn;
namespace fs = std::filesystem;

constexpr float nan = std::numeric_limits<float>::quiet_NaN();

struct synthetic {
  feature_matrix x;
  std::vector<float> y;
};

// A nonlinear target with interactions and missing values.
synthetic make_data(Eigen::Index rows, std::uint32_t seed, bool binary) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal;
  synthetic d{feature_matrix(rows, 8), std::vector<float>(static_cast<std::size_t>(rows))};
  for (Eigen::Index r = 0; r < rows; ++r) {
    for (Eigen::Index c = 0; c < 8; ++c) d.x(r, c) = (r + c) % 11 == 0 ? nan : normal(rng);
    const float a = std::isnan(d.x(r, 1)) ? 0 : d.x(r, 1), b = std::isnan(d.x(r, 2)) ? 1 : d.x(r, 2);
    const float v = a > 0 ? 3 * b : std::sin(std::isnan(d.x(r, 3)) ? 0 : d.x(r, 3)) + 0.1f * normal(rng);
    d.y[static_cast<std::size_t>(r)] = binary ? (v > 0.2f ? 1.0f : 0.0f) : v;
  }
  return d;
}

fs::path temp_dir() {
  const fs::path dir = fs::temp_directory_path() / ("prescient_forest_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  return dir;
}

void write_file(const fs::path& p, const std::string& text) {
  std::ofstream(p, std::ios::binary) << text;
}

class Forest : public ::testing::TestWithParam<const char*> {};

TEST_P(Forest, CompiledEqualsXgboostOnHeldOutRows) {
  const bool binary = std::string(GetParam()) == "binary:logistic";
  const synthetic train = make_data(3000, 1, binary), test = make_data(1000, 2, binary);
  training_params p;
  p.objective = GetParam();
  p.rounds = 32;
  p.max_depth = 6;
  testing::internal::CaptureStderr();
  const xgboost_predictor model = xgboost_predictor::train(train.x, train.y, p);
  EXPECT_EQ(testing::internal::GetCapturedStderr(), "") << "xgboost must not print on the host's stderr";
  const compiled_forest forest = model.compile();
  EXPECT_EQ(forest.num_trees(), 32u);
  EXPECT_EQ(forest.num_features(), 8u);

  std::vector<float> expected(1000), got(1000);
  model.predict(test.x, expected);
  forest.predict(test.x, got);
  for (std::size_t i = 0; i < got.size(); ++i) {
    ASSERT_NEAR(got[i], expected[i], 1e-5) << "row " << i;  // the batch walk (complete trees)
    ASSERT_NEAR(forest.predict_row(test.x.row(static_cast<Eigen::Index>(i)).data()), expected[i], 1e-5) << "row " << i;
  }
  if (binary) {
    for (float v : got) EXPECT_TRUE(v > 0 && v < 1);
  } else {
    // The model learned something: held-out error well below the target's variance.
    double sse = 0, mean = 0, sst = 0;
    for (float v : test.y) mean += v / 1000.0;
    for (std::size_t i = 0; i < got.size(); ++i) {
      sse += std::pow(got[i] - test.y[i], 2);
      sst += std::pow(test.y[i] - mean, 2);
    }
    EXPECT_LT(sse, 0.3 * sst);
  }
}

TEST_P(Forest, ModelsRoundTripThroughJsonAndUbjson) {
  const bool binary = std::string(GetParam()) == "binary:logistic";
  const synthetic train = make_data(1000, 3, binary), test = make_data(200, 4, binary);
  training_params p;
  p.objective = GetParam();
  p.rounds = 8;
  const xgboost_predictor model = xgboost_predictor::train(train.x, train.y, p);
  std::vector<float> expected(200), got(200);
  model.predict(test.x, expected);
  const fs::path dir = temp_dir();
  // The extensions lie on purpose: the format is read from the content.
  for (auto [format, file] : {std::pair{model_format::json, "m.bin"}, std::pair{model_format::ubjson, "m.json"}}) {
    model.save(dir / file, format);
    const xgboost_predictor back = xgboost_predictor::load(dir / file);
    back.predict(test.x, got);
    EXPECT_EQ(got, expected);
    load_forest(dir / file)->predict(test.x, got);
    for (std::size_t i = 0; i < got.size(); ++i) ASSERT_NEAR(got[i], expected[i], 1e-5);
  }
  compiled_forest::load(dir / "m.bin").predict(test.x, got);  // JSON read without xgboost
  for (std::size_t i = 0; i < got.size(); ++i) ASSERT_NEAR(got[i], expected[i], 1e-5);
  fs::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(Objectives, Forest, ::testing::Values("reg:squarederror", "binary:logistic"));

TEST(ForestErrors, BadModelFilesAreRefusedWithTheirName) {
  const synthetic train = make_data(500, 5, false);
  training_params p;
  p.rounds = 4;
  const std::string json = xgboost_predictor::train(train.x, train.y, p).to_json();
  const fs::path dir = temp_dir();

  auto expect_refused = [&](const std::string& name, const std::string& text, const std::string& fragment) {
    write_file(dir / name, text);
    try {
      (void)load_forest(dir / name);
      ADD_FAILURE() << name << " loaded";
    } catch (const model_error& e) {
      EXPECT_NE(std::string(e.what()).find(name), std::string::npos) << e.what();
      if (!fragment.empty()) {
        EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
      }
    }
  };
  expect_refused("empty.json", "", "empty");
  expect_refused("garbage.json", "this is not a model", "");
  expect_refused("truncated.json", json.substr(0, json.size() / 2), "");
  EXPECT_THROW((void)load_forest(dir / "missing.json"), model_error);

  // Well-formed JSON the compiled forest must not accept.
  auto replace = [&](std::string text, const std::string& from, const std::string& to) {
    const auto at = text.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    return text.replace(at, from.size(), to);
  };
  EXPECT_THROW(compiled_forest::from_json(json.substr(0, json.size() - 3)), model_error);
  EXPECT_THROW(compiled_forest::from_json(replace(json, "\"reg:squarederror\"", "\"multi:softmax\"")), model_error);
  EXPECT_THROW(compiled_forest::from_json(replace(json, "\"name\":\"gbtree\"", "\"name\":\"gblinear\"")), model_error);
  EXPECT_THROW(compiled_forest::from_json(replace(json, "\"left_children\":[1", "\"left_children\":[999")), model_error);
  EXPECT_THROW(compiled_forest::from_json(replace(json, "\"split_indices\":[", "\"split_indices\":[4000,")), model_error);
  std::string narrow = json;  // every split beyond feature 1 is now out of range
  for (std::size_t at; (at = narrow.find("\"num_feature\":\"8\"")) != std::string::npos;)
    narrow.replace(at, 17, "\"num_feature\":\"1\"");
  EXPECT_THROW(compiled_forest::from_json(narrow), model_error);
  fs::remove_all(dir);
}

TEST(ForestErrors, BadBatchesAndDatasetsAreRefused) {
  const synthetic train = make_data(500, 6, false);
  training_params p;
  p.rounds = 4;
  const xgboost_predictor model = xgboost_predictor::train(train.x, train.y, p);
  const compiled_forest forest = model.compile();
  std::vector<float> out(2);
  feature_matrix rows = train.x.topRows(2);
  rows(1, 1) = std::numeric_limits<float>::infinity();
  EXPECT_THROW(model.predict(rows, out), feature_error);
  EXPECT_THROW(forest.predict(rows, out), feature_error);
  EXPECT_THROW(forest.predict(feature_matrix(2, 7), out), feature_error);
  std::vector<float> short_out(1);
  EXPECT_THROW(forest.predict(train.x.topRows(2), short_out), feature_error);
  EXPECT_THROW(xgboost_predictor::train(feature_matrix(0, 8), {}, p), model_error);
  std::vector<float> labels(train.y);
  labels[3] = nan;
  EXPECT_THROW(xgboost_predictor::train(train.x, labels, p), model_error);
  p.objective = "no:such-objective";
  try {
    (void)xgboost_predictor::train(train.x, train.y, p);
    ADD_FAILURE() << "an unknown objective trained";
  } catch (const model_error& e) {
    EXPECT_NE(std::string(e.what()).find("xgboost"), std::string::npos) << e.what();
  }
}

}  // namespace
