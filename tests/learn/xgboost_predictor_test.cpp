// xgboost_predictor: training learns, models round-trip through JSON and UBJSON files
// (told apart by content), bad model files and bad batches give precise errors, NaN is
// a missing value, logistic objectives score probabilities, one booster serves several
// threads, and xgboost never writes to stderr — on any thread.
#include "prescient/learn/xgboost_predictor.hpp"
#include "test_support.hpp"

#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <string>
#include <tuple>
#include <thread>
#include <vector>

#if __has_include(<xgboost/c_api.h>)
#include <xgboost/c_api.h>
#define PRESCIENT_TEST_HAS_XGBOOST_C_API 1
#endif

namespace {

using namespace prescient::learn;
namespace fs = std::filesystem;

constexpr float nan = std::numeric_limits<float>::quiet_NaN();
constexpr float inf = std::numeric_limits<float>::infinity();

struct synthetic {
  feature_matrix x;
  std::vector<float> y;
};

// y = 2 sin(x0) + x1 x2 + sign(x3) + noise over 8 uniform features (4 are noise).
synthetic regression_data(Eigen::Index rows, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> uniform(-2, 2);
  std::normal_distribution<float> noise(0, 0.1f);
  synthetic d{feature_matrix(rows, 8), std::vector<float>(static_cast<std::size_t>(rows))};
  for (Eigen::Index r = 0; r < rows; ++r) {
    for (Eigen::Index c = 0; c < 8; ++c) d.x(r, c) = uniform(rng);
    d.y[static_cast<std::size_t>(r)] =
        2 * std::sin(d.x(r, 0)) + d.x(r, 1) * d.x(r, 2) + (d.x(r, 3) > 0 ? 1.0f : -1.0f) + noise(rng);
  }
  return d;
}

// 1 when x0 + x1 > 0 (with 10% of labels flipped), else 0.
synthetic binary_data(Eigen::Index rows, std::uint32_t seed) {
  synthetic d = regression_data(rows, seed);
  std::mt19937 rng(seed + 100);
  std::bernoulli_distribution flip(0.1);
  for (Eigen::Index r = 0; r < rows; ++r) {
    const bool positive = d.x(r, 0) + d.x(r, 1) > 0;
    d.y[static_cast<std::size_t>(r)] = (positive != flip(rng)) ? 1.0f : 0.0f;
  }
  return d;
}

std::vector<float> predictions(const predictor& model, const feature_matrix& x) {
  std::vector<float> out(static_cast<std::size_t>(x.rows()));
  model.predict(x, out);
  return out;
}

// One model for the tests that only read it (training takes ~50 ms).
const xgboost_predictor& regression_model() {
  static const xgboost_predictor model = [] {
    const synthetic train = regression_data(2000, 1);
    return xgboost_predictor::train(train.x, train.y);
  }();
  return model;
}

// One directory per test, removed afterwards.
struct temp_dir : prescient::test::temp_dir {
  temp_dir() : prescient::test::temp_dir("prescient_xgb") {}
};

void write_bytes(const fs::path& p, std::string_view bytes) {
  std::ofstream(p, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

bool contains(const std::string& text, const std::string& fragment) { return text.find(fragment) != std::string::npos; }

TEST(XgboostPredictor, LearnsANonlinearRegressionFarBetterThanAConstant) {
  const xgboost_predictor& model = regression_model();
  EXPECT_EQ(model.name(), "xgboost");
  EXPECT_EQ(model.num_features(), 8u);
  EXPECT_EQ(model.num_trees(), 32u);
  int major = 0, minor = 0, patch = 0;
#ifdef PRESCIENT_TEST_HAS_XGBOOST_C_API
  XGBoostVersion(&major, &minor, &patch);
#endif
  EXPECT_EQ(model.version(), "xgboost " + std::to_string(major) + "." + std::to_string(minor) + "." +
                                 std::to_string(patch) + ", 32 rounds, 8 features");

  const synthetic test = regression_data(1000, 2);
  const std::vector<float> got = predictions(model, test.x);
  double mean = 0;
  for (const float v : test.y) mean += static_cast<double>(v) / static_cast<double>(test.y.size());
  double sse = 0, sst = 0;  // the constant predictor (the mean) has sse == sst: R² = 0
  for (std::size_t i = 0; i < got.size(); ++i) {
    sse += std::pow(static_cast<double>(got[i] - test.y[i]), 2);
    sst += std::pow(static_cast<double>(test.y[i]) - mean, 2);
  }
  const double r2 = 1 - sse / sst;
  EXPECT_GT(r2, 0.9) << "held-out R² " << r2;
}

TEST(XgboostPredictor, SaveAndLoadRoundTripGivesIdenticalPredictions) {
  const xgboost_predictor& model = regression_model();
  const synthetic test = regression_data(300, 3);
  const std::vector<float> expected = predictions(model, test.x);
  const temp_dir dir;
  // The extensions lie on purpose: the format is read from the content.
  for (const auto& [format, file] : {std::pair{model_format::json, "model.ubj"}, std::pair{model_format::ubjson, "model.json"}}) {
    SCOPED_TRACE(file);
    model.save(dir / file, format);
    const xgboost_predictor back = xgboost_predictor::load(dir / file);
    EXPECT_EQ(back.num_features(), 8u);
    EXPECT_EQ(back.num_trees(), 32u);
    EXPECT_EQ(predictions(back, test.x), expected);
    const std::vector<char> bytes = model.to_buffer(format);
    EXPECT_EQ(predictions(xgboost_predictor::from_buffer(bytes), test.x), expected);
  }
  EXPECT_FALSE(fs::exists(dir / "model.json.partial"));
  const std::string json = model.to_json();
  EXPECT_TRUE(json.starts_with("{\"learner\"")) << json.substr(0, 40);
  const std::vector<char> ubj = model.to_buffer(model_format::ubjson);
  ASSERT_GE(ubj.size(), 2u);
  EXPECT_EQ(ubj[0], '{');
  EXPECT_NE(ubj[1], '"') << "UBJSON, not JSON";
  // JSON from another writer may put whitespace after the brace.
  const std::string spaced = "{\n  " + json.substr(1);
  EXPECT_EQ(predictions(xgboost_predictor::from_buffer(spaced), test.x), expected);
}

TEST(XgboostPredictor, MovesAndCompiles) {
  const synthetic train = regression_data(500, 4);
  training_params p;
  p.rounds = 4;
  xgboost_predictor a = xgboost_predictor::train(train.x, train.y, p);
  const std::vector<float> expected = predictions(a, train.x);
  xgboost_predictor b = std::move(a);
  EXPECT_EQ(predictions(b, train.x), expected);
  std::vector<float> out(expected.size());
  EXPECT_THROW(a.predict(train.x, out), model_error);  // NOLINT(bugprone-use-after-move): defined as an error
  const compiled_forest forest = from_predictor(b);
  EXPECT_EQ(forest.num_trees(), 4u);
  const std::vector<float> compiled = predictions(forest, train.x);
  for (std::size_t i = 0; i < expected.size(); ++i) ASSERT_NEAR(compiled[i], expected[i], 1e-5) << i;
}

TEST(XgboostPredictor, BadModelFilesAreModelErrorsNamingTheFile) {
  const xgboost_predictor& model = regression_model();
  const std::string json = model.to_json();
  const std::vector<char> ubj_bytes = model.to_buffer(model_format::ubjson);
  const std::string ubj(ubj_bytes.begin(), ubj_bytes.end());
  const temp_dir dir;

  std::string unknown_objective = json;
  unknown_objective.replace(unknown_objective.find("\"reg:squarederror\""), 18, "\"reg:nonsense\"");

  // name → (content, a fragment the message must hold besides the name). Corrupt JSON
  // and UBJSON are refused before xgboost reads them (xgboost 1.7 crashes on some);
  // what passes those checks and xgboost still refuses carries xgboost's own message.
  const std::vector<std::tuple<std::string, std::string, std::string>> cases = {
      {"empty.json", "", "empty"},
      {"garbage.json", "this is not a model\n", "not an xgboost model"},
      {"random.bin", std::string("\x13\x37\x00\xff\x10garbage", 12), "not an xgboost model"},
      {"brace.json", "{", "not an xgboost model"},
      {"array.json", "[1, 2, 3]", "not an xgboost model"},
      {"truncated-half.json", json.substr(0, json.size() / 2), "a corrupt JSON model"},
      {"truncated-end.json", json.substr(0, json.size() - 1), "unexpected end of the document"},
      {"truncated-head.json", json.substr(0, 12), "unexpected end of the document"},
      {"truncated-half.ubj", ubj.substr(0, ubj.size() / 2), "a corrupt UBJSON model"},
      {"truncated-end.ubj", ubj.substr(0, ubj.size() - 1), "a corrupt UBJSON model"},
      {"truncated-head.ubj", ubj.substr(0, 10), "string length 7 exceeds the 0 bytes left"},
      {"not-a-model.json", "{\"hello\": [1, 2, 3]}", "missing field 'learner'"},
      {"empty-object.json", "{}", "missing field 'learner'"},
      {"no-learner-params.json", "{\"learner\":{\"gradient_booster\":{}}}", "missing field 'learner.learner_model_param'"},
      {"unknown-objective.json", unknown_objective, "Unknown objective function: `reg:nonsense`"},
  };
  for (const auto& [name, content, fragment] : cases) {
    SCOPED_TRACE(name);
    write_bytes(dir / name, content);
    try {
      (void)xgboost_predictor::load(dir / name);
      ADD_FAILURE() << name << " loaded";
    } catch (const model_error& e) {
      const std::string what = e.what();
      EXPECT_TRUE(contains(what, (dir / name).string())) << what;
      EXPECT_TRUE(contains(what, fragment)) << what;
      EXPECT_FALSE(contains(what, "Stack trace")) << what;
    }
  }
  try {
    (void)xgboost_predictor::load(dir / "missing.json");
    ADD_FAILURE() << "a missing file loaded";
  } catch (const model_error& e) {
    EXPECT_TRUE(contains(e.what(), "missing.json")) << e.what();
    EXPECT_TRUE(contains(e.what(), "No such file")) << e.what();
  }
  EXPECT_THROW((void)xgboost_predictor::load(dir / ""), model_error);  // the directory itself
  EXPECT_THROW((void)xgboost_predictor::from_buffer({}), model_error);
}

// `json` with element `index` of the first array named `field` replaced by `value`.
std::string set_element(std::string json, const std::string& field, std::size_t index, const std::string& value) {
  std::size_t at = json.find("\"" + field + "\":[");
  EXPECT_NE(at, std::string::npos) << field;
  at += field.size() + 4;
  for (std::size_t i = 0; i < index; ++i) at = json.find(',', at) + 1;
  const std::size_t end = json.find_first_of(",]", at);
  return json.replace(at, end - at, value);
}

// xgboost 1.7 loads such trees without a complaint and then crashes (children stored
// apart: it walks to left + 1), hangs (a cycle) or reads beyond the row (a split
// feature out of range) when it predicts. The loader checks the trees first.
TEST(XgboostPredictor, CorruptTreesAreRefusedBeforeXgboostWalksThem) {
  const std::string json = regression_model().to_json();
  ASSERT_TRUE(contains(json, "\"left_children\":[1,")) << "xgboost stores the root's children at 1 and 2";
  const temp_dir dir;
  const std::vector<std::tuple<std::string, std::string, std::string>> cases = {
      {"apart.json", set_element(set_element(json, "left_children", 0, "2"), "right_children", 0, "1"),
       "tree 0 node 0: right child 1 does not follow the left child 2"},
      {"cycle.json", set_element(set_element(json, "left_children", 1, "1"), "right_children", 1, "2"),
       "tree 0 node 1: the nodes do not form a tree"},
      {"beyond.json", set_element(json, "left_children", 0, "100000"), "tree 0 node 0: left child 100000 out of range"},
      {"feature.json", set_element(json, "split_indices", 0, "8"), "split feature 8 is not below num_feature 8"},
      {"group.json", set_element(json, "tree_info", 0, "1"), "tree 0 belongs to output group 1 of 1"},
  };
  for (const auto& [name, content, fragment] : cases) {
    SCOPED_TRACE(name);
    write_bytes(dir / name, content);
    try {
      const xgboost_predictor loaded = xgboost_predictor::load(dir / name);
      ADD_FAILURE() << name << " loaded";
    } catch (const model_error& e) {
      EXPECT_TRUE(contains(e.what(), (dir / name).string())) << e.what();
      EXPECT_TRUE(contains(e.what(), "a corrupt JSON model")) << e.what();
      EXPECT_TRUE(contains(e.what(), fragment)) << e.what();
    }
  }
}

// Random damage to real models, in both formats: each variant loads (and then predicts)
// or is refused with a model_error. Without the checks before xgboost reads a model,
// some of these crash xgboost 1.7 inside XGBoosterLoadModelFromBuffer.
TEST(XgboostPredictor, RandomlyCorruptedModelsAreRefusedOrLoadSafely) {
  const synthetic d = regression_data(300, 14);
  training_params p;
  p.rounds = 3;
  p.max_depth = 3;
  const xgboost_predictor model = xgboost_predictor::train(d.x, d.y, p);
  const std::string alphabet = "0123456789-.,:[]{}\"eE ntrufalsNILiU";
  for (const model_format format : {model_format::json, model_format::ubjson}) {
    SCOPED_TRACE(format == model_format::json ? "JSON" : "UBJSON");
    const std::vector<char> original = model.to_buffer(format);
    std::mt19937 rng(format == model_format::json ? 1 : 2);
    std::size_t loaded = 0, refused = 0;
    for (int i = 0; i < 3000; ++i) {
      std::vector<char> bad = original;
      const int edits = 1 + static_cast<int>(rng() % 3);
      for (int e = 0; e < edits; ++e) {
        const std::size_t at = rng() % bad.size();
        const char c = format == model_format::json ? alphabet[rng() % alphabet.size()] : static_cast<char>(rng() % 256);
        switch (rng() % 3) {
          case 0: bad[at] = c; break;
          case 1: bad.erase(bad.begin() + static_cast<std::ptrdiff_t>(at),
                            bad.begin() + static_cast<std::ptrdiff_t>(std::min(bad.size(), at + 1 + rng() % 4))); break;
          default: bad.insert(bad.begin() + static_cast<std::ptrdiff_t>(at), c); break;
        }
      }
      try {
        const xgboost_predictor back = xgboost_predictor::from_buffer(bad);
        feature_matrix rows = d.x.topRows(4);
        rows.conservativeResize(4, static_cast<Eigen::Index>(back.num_features()));
        rows.rightCols(std::max<Eigen::Index>(0, rows.cols() - 8)).setZero();
        std::vector<float> out(4);
        back.predict(rows, out);
        ++loaded;
      } catch (const model_error&) {
        ++refused;
      }
    }
    EXPECT_GT(refused, 1000u);
    EXPECT_GT(loaded, 50u) << "damage to a number leaves a valid model";
  }
}

TEST(XgboostPredictor, MalformedBatchesAreFeatureErrorsAndWriteNothing) {
  const xgboost_predictor& model = regression_model();
  const synthetic test = regression_data(4, 5);
  std::vector<float> out(4, -42.0f);
  const auto expect_refused = [&](const feature_matrix& rows, std::span<float> o, const std::string& fragment) {
    try {
      model.predict(rows, o);
      ADD_FAILURE() << "scored a malformed batch (" << fragment << ")";
    } catch (const feature_error& e) {
      EXPECT_TRUE(contains(e.what(), fragment)) << e.what();
    }
    EXPECT_EQ(out, std::vector<float>(4, -42.0f)) << "wrote scores for a refused batch";
  };
  expect_refused(feature_matrix::Zero(4, 7), out, "7 columns");
  expect_refused(feature_matrix::Zero(4, 9), out, "9 columns");
  feature_matrix rows = test.x;
  rows(1, 2) = inf;
  expect_refused(rows, out, "row 1 column 2 is infinite");
  rows(1, 2) = -inf;
  expect_refused(rows, out, "row 1 column 2 is infinite");
  expect_refused(test.x, std::span(out).first(3), "3 scores for 4 rows");
  std::vector<float> none;
  model.predict(feature_matrix(0, 8), none);  // an empty batch is fine
}

TEST(XgboostPredictor, MalformedTrainingDataIsRefusedPrecisely) {
  const synthetic d = regression_data(200, 6);
  training_params p;
  p.rounds = 2;
  const auto expect_model_error = [&](const feature_matrix& x, std::span<const float> y, const training_params& q,
                                      const std::string& fragment) {
    try {
      (void)xgboost_predictor::train(x, y, q);
      ADD_FAILURE() << "trained (" << fragment << ")";
    } catch (const model_error& e) {
      EXPECT_TRUE(contains(e.what(), fragment)) << e.what();
      EXPECT_FALSE(contains(e.what(), "Stack trace")) << e.what();
    }
  };
  expect_model_error(feature_matrix(0, 8), {}, p, "0 rows");
  std::vector<float> labels = d.y;
  labels[3] = nan;
  expect_model_error(d.x, labels, p, "label 3 is nan");
  labels[3] = inf;
  expect_model_error(d.x, labels, p, "label 3 is inf");
  training_params no_rounds = p;
  no_rounds.rounds = 0;
  expect_model_error(d.x, d.y, no_rounds, "rounds is 0");
  training_params unknown = p;
  unknown.objective = "no:such-objective";
  expect_model_error(d.x, d.y, unknown, "xgboost: training round 0: ");
  training_params logistic = p;
  logistic.objective = "binary:logistic";  // labels are not in [0, 1]
  expect_model_error(d.x, d.y, logistic, "label must be in [0,1]");

  EXPECT_THROW((void)xgboost_predictor::train(d.x, std::span(d.y).first(199), p), feature_error);
  feature_matrix x = d.x;
  x(7, 5) = -inf;
  try {
    (void)xgboost_predictor::train(x, d.y, p);
    ADD_FAILURE() << "trained on an infinite feature";
  } catch (const feature_error& e) {
    EXPECT_TRUE(contains(e.what(), "row 7 column 5")) << e.what();
  }
}

TEST(XgboostPredictor, NanFeaturesAreMissingValues) {
  // Label 10 where x0 is missing, x0 itself elsewhere: only a model that reads NaN as
  // "missing" (and 0 as a value) predicts 10 for NaN and ~0 for 0.
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> uniform(-1, 1);
  feature_matrix x(2000, 2);
  std::vector<float> y(2000);
  for (Eigen::Index r = 0; r < x.rows(); ++r) {
    const bool missing = r % 4 == 0;
    x(r, 0) = missing ? nan : uniform(rng);
    x(r, 1) = uniform(rng);
    y[static_cast<std::size_t>(r)] = missing ? 10.0f : x(r, 0);
  }
  const xgboost_predictor model = xgboost_predictor::train(x, y);
  feature_matrix probe(3, 2);
  probe << nan, 0.5f,  //
      0.0f, 0.5f,      //
      nan, nan;
  const std::vector<float> got = predictions(model, probe);
  EXPECT_NEAR(got[0], 10.0f, 0.1f);
  EXPECT_NEAR(got[1], 0.0f, 0.1f);
  EXPECT_NEAR(got[2], 10.0f, 0.1f);
}

// Bin edges from a sample of the rows (the learned policy's retrains): the model is as
// good on held-out rows as one sketched on every row, missing values keep their meaning,
// and the compiled forest still equals xgboost.
TEST(XgboostPredictor, BinEdgesFromASampleOfTheRowsTrainAsWell) {
  synthetic train = regression_data(20000, 11);
  for (Eigen::Index r = 0; r < train.x.rows(); r += 5) train.x(r, 5) = nan;  // a noise column, often missing
  const synthetic test = regression_data(2000, 12);
  training_params whole, sampled;
  whole.max_bin = sampled.max_bin = 64;
  sampled.sketch_rows = 4096;  // as the learned policy's retrains
  const xgboost_predictor a = xgboost_predictor::train(train.x, train.y, whole);
  const xgboost_predictor b = xgboost_predictor::train(train.x, train.y, sampled);
  auto rmse = [&](const xgboost_predictor& m) {
    const std::vector<float> got = predictions(m, test.x);
    double sse = 0;
    for (std::size_t i = 0; i < got.size(); ++i) sse += std::pow(static_cast<double>(got[i] - test.y[i]), 2);
    return std::sqrt(sse / static_cast<double>(got.size()));
  };
  EXPECT_LT(rmse(b), 1.05 * rmse(a)) << "whole-data sketch: " << rmse(a);
  const std::vector<float> differ = predictions(b, test.x), same = predictions(a, test.x);
  EXPECT_NE(differ, same) << "the sampled edges must have been used";
  const compiled_forest forest = b.compile();
  const std::vector<float> compiled = predictions(forest, test.x);
  for (std::size_t i = 0; i < compiled.size(); ++i) ASSERT_NEAR(compiled[i], differ[i], 1e-5) << i;
  // NaN still means missing on this path: the NaN test's data, with the edges sampled.
  feature_matrix x(8000, 2);
  std::vector<float> y(8000);
  std::mt19937 rng(8);
  std::uniform_real_distribution<float> uniform(-1, 1);
  for (Eigen::Index r = 0; r < x.rows(); ++r) {
    const bool missing = r % 4 == 0;
    x(r, 0) = missing ? nan : uniform(rng);
    x(r, 1) = uniform(rng);
    y[static_cast<std::size_t>(r)] = missing ? 10.0f : x(r, 0);
  }
  training_params p;
  p.sketch_rows = 1000;
  feature_matrix probe(2, 2);
  probe << nan, 0.5f,  //
      0.0f, 0.5f;
  const std::vector<float> got = predictions(xgboost_predictor::train(x, y, p), probe);
  EXPECT_NEAR(got[0], 10.0f, 0.1f);
  EXPECT_NEAR(got[1], 0.0f, 0.1f);
}

TEST(XgboostPredictor, LogisticObjectivesScoreProbabilities) {
  const synthetic train = binary_data(2000, 8), test = binary_data(1000, 9);
  for (const char* objective : {"binary:logistic", "reg:logistic"}) {
    SCOPED_TRACE(objective);
    training_params p;
    p.objective = objective;
    const xgboost_predictor model = xgboost_predictor::train(train.x, train.y, p);
    const std::vector<float> got = predictions(model, test.x);
    std::size_t correct = 0;
    for (std::size_t i = 0; i < got.size(); ++i) {
      ASSERT_GT(got[i], 0.0f) << i;
      ASSERT_LT(got[i], 1.0f) << i;
      correct += (got[i] > 0.5f) == (test.y[i] > 0.5f) ? 1u : 0u;
    }
    EXPECT_GT(correct, 800u) << "accuracy " << static_cast<double>(correct) / 10.0 << "% (10% of the labels are flipped)";
  }
}

TEST(XgboostPredictor, OneBoosterServesManyThreads) {
  const xgboost_predictor& model = regression_model();
  const synthetic test = regression_data(256, 10);
  const std::vector<float> expected = predictions(model, test.x);
  std::vector<std::thread> threads;
  std::vector<int> mismatches(4, 0);
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        const Eigen::Index begin = (t * 50 + i) % 200;
        const feature_matrix batch = test.x.middleRows(begin, 1 + i % 40);
        const std::vector<float> got = predictions(model, batch);
        for (std::size_t j = 0; j < got.size(); ++j)
          mismatches[static_cast<std::size_t>(t)] += got[j] != expected[static_cast<std::size_t>(begin) + j];
      }
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(mismatches, std::vector<int>(4, 0));
}

TEST(XgboostPredictor, XgboostNeverWritesToStderrOnAnyThread) {
  const synthetic d = regression_data(500, 11);
  training_params p;
  p.rounds = 3;
  // reg:linear is deprecated: at xgboost's default verbosity it warns on stderr. The
  // verbosity and the log callback are per thread in xgboost, so each fresh thread must
  // be silenced on its own.
  training_params deprecated = p;
  deprecated.objective = "reg:linear";
  const std::vector<char> ubj = regression_model().to_buffer(model_format::ubjson);
  testing::internal::CaptureStderr();
  (void)xgboost_predictor::train(d.x, d.y, p);
  (void)xgboost_predictor::train(d.x, d.y, deprecated);
  std::thread([&] { (void)xgboost_predictor::train(d.x, d.y, deprecated); }).join();
  std::thread([&] {
    const xgboost_predictor loaded = xgboost_predictor::from_buffer(ubj);
    std::vector<float> out(static_cast<std::size_t>(d.x.rows()));
    loaded.predict(d.x, out);
  }).join();
  EXPECT_EQ(testing::internal::GetCapturedStderr(), "");
}

// xgboost 1.7 frees a booster through the freeing thread's thread_local state, which the
// main thread destroys at exit before any static object: a model in static storage used
// to abort the process in free() after main returned.
TEST(XgboostPredictorDeathTest, AModelInStaticStorageDoesNotCrashTheProcessAtExit) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        static const xgboost_predictor model = [] {
          const synthetic d = regression_data(300, 13);
          training_params p;
          p.rounds = 3;
          return xgboost_predictor::train(d.x, d.y, p);
        }();
        (void)model.to_buffer(model_format::ubjson);
        std::vector<float> out(1);
        model.predict(feature_matrix::Zero(1, 8), out);
        std::exit(0);
      },
      ::testing::ExitedWithCode(0), "");
}

#ifdef PRESCIENT_TEST_HAS_XGBOOST_C_API
TEST(XgboostPredictor, AHostThatRaisesVerbosityFindsTheMessagesInTheLogNotOnStderr) {
  const synthetic d = regression_data(300, 12);
  training_params p;
  p.rounds = 2;
  p.objective = "reg:linear";
  testing::internal::CaptureStderr();
  std::thread([&] {
    (void)xgboost_predictor::train(d.x, d.y, p);  // first use on this thread: silenced
    ASSERT_EQ(XGBSetGlobalConfig("{\"verbosity\":1}"), 0) << XGBGetLastError();
    (void)xgboost_predictor::train(d.x, d.y, p);  // now it warns, into the callback
  }).join();
  EXPECT_EQ(testing::internal::GetCapturedStderr(), "");
  EXPECT_TRUE(contains(last_xgboost_log(), "reg:linear")) << last_xgboost_log();
}
#endif

}  // namespace
