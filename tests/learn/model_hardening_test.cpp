// Model files a user may not control (issue 15, D7 and D8): numbers that are not finite
// are refused where they would make scores NaN or infinite — a NaN or infinite leaf, a
// NaN split threshold, a base_score that is not finite, leaves that add up beyond
// float's range — by the compiled forest (JSON and UBJSON) and by the xgboost-backed
// loader alike, naming the tree and node; a threshold of ±inf stays legal (a comparison
// with a meaning, which both readers make the same way). xgboost's deprecated binary
// format is refused with an error naming the file and saying how to convert it.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "prescient/learn/compiled_forest.hpp"
#include "prescient/learn/xgboost_predictor.hpp"
#include "test_support.hpp"

namespace {

using namespace prescient::learn;

bool contains(const std::string& text, const std::string& fragment) { return text.find(fragment) != std::string::npos; }

// A small regression model: 3 features, 4 trees of depth 3.
const std::string& model_json() {
  static const std::string json = [] {
    std::mt19937 rng(7);
    std::normal_distribution<float> normal;
    feature_matrix x(400, 3);
    std::vector<float> y(400);
    for (Eigen::Index r = 0; r < x.rows(); ++r) {
      for (Eigen::Index c = 0; c < 3; ++c) x(r, c) = normal(rng);
      y[static_cast<std::size_t>(r)] = x(r, 0) > 0 ? 2 * x(r, 1) : x(r, 2);
    }
    training_params p;
    p.rounds = 4;
    p.max_depth = 3;
    return xgboost_predictor::train(x, y, p).to_json();
  }();
  return json;
}

// The position of element `index` of the `occurrence`-th array named `field`.
std::pair<std::size_t, std::size_t> element(const std::string& json, const std::string& field, std::size_t occurrence,
                                            std::size_t index) {
  std::size_t at = 0;
  for (std::size_t i = 0; i <= occurrence; ++i) {
    at = json.find("\"" + field + "\":[", at);
    EXPECT_NE(at, std::string::npos) << field << " #" << occurrence;
    at += field.size() + 4;
  }
  for (std::size_t i = 0; i < index; ++i) at = json.find(',', at) + 1;
  return {at, json.find_first_of(",]", at)};
}

std::string set_element(std::string json, const std::string& field, std::size_t occurrence, std::size_t index,
                        const std::string& value) {
  const auto [begin, end] = element(json, field, occurrence, index);
  return json.replace(begin, end - begin, value);
}

// The first leaf of tree `tree` (left_children -1).
std::size_t first_leaf(const std::string& json, std::size_t tree) {
  for (std::size_t i = 0;; ++i) {
    const auto [begin, end] = element(json, "left_children", tree, i);
    if (json.substr(begin, end - begin) == "-1") return i;
  }
}

std::string with_base_score(std::string json, const std::string& value) {
  const std::string field = "\"base_score\":\"";
  const std::size_t at = json.find(field) + field.size();
  return json.replace(at, json.find('"', at) - at, value);
}

// Both readers refuse `json`, each naming `fragment`.
void expect_refused(const std::string& json, const std::string& fragment) {
  try {
    (void)compiled_forest::from_json(json);
    ADD_FAILURE() << "compiled_forest compiled a model that should be refused (" << fragment << ")";
  } catch (const model_error& e) {
    EXPECT_TRUE(contains(e.what(), fragment)) << e.what();
  }
  try {
    (void)xgboost_predictor::from_buffer(json);
    ADD_FAILURE() << "xgboost_predictor loaded a model that should be refused (" << fragment << ")";
  } catch (const model_error& e) {
    EXPECT_TRUE(contains(e.what(), "a corrupt JSON model")) << e.what();
    EXPECT_TRUE(contains(e.what(), fragment)) << e.what();
  }
}

std::vector<float> scores(const predictor& model, const feature_matrix& x) {
  std::vector<float> out(static_cast<std::size_t>(x.rows()));
  model.predict(x, out);
  return out;
}

// D7: NaN and infinite leaves, NaN thresholds, a NaN base_score were loaded without a
// word; NaN leaves then made scores NaN (and the learned policy fall back in silence).
TEST(ModelHardening, D7_NonFiniteModelsAreRefusedNamingTheTreeAndNode) {
  const std::string& json = model_json();
  const std::size_t leaf0 = first_leaf(json, 0);
  const std::size_t leaf2 = first_leaf(json, 2);
  const std::string node = "tree 0 node " + std::to_string(leaf0);
  expect_refused(set_element(json, "split_conditions", 0, 0, "NaN"), "tree 0 node 0: split threshold is NaN");
  expect_refused(set_element(json, "split_conditions", 0, leaf0, "NaN"), node + ": leaf value nan is not finite");
  expect_refused(set_element(json, "split_conditions", 0, leaf0, "Infinity"), node + ": leaf value inf is not finite");
  expect_refused(set_element(json, "split_conditions", 0, leaf0, "-Infinity"), node + ": leaf value -inf is not finite");
  expect_refused(set_element(json, "split_conditions", 2, leaf2, "1e39"),
                 "tree 2 node " + std::to_string(leaf2) + ": leaf value 1e+39 (in float) is not finite");
  expect_refused(with_base_score(json, "NaN"), "base_score");
  expect_refused(with_base_score(json, "Infinity"), "base_score");
  // Finite leaves whose sum is not: 3e38 twice overflows float.
  expect_refused(set_element(set_element(json, "split_conditions", 0, leaf0, "3e38"), "split_conditions", 2, leaf2,
                             "3e38"),
                 "beyond float's range: scores would overflow");
}

// default_left other than 0 or 1: xgboost and compiled_forest read it differently (the
// xgboost-backed loader's fuzzer found a model where they disagreed), so both refuse it.
TEST(ModelHardening, DefaultLeftIsZeroOrOne) {
  for (const char* value : {"2", "0.5", "-1"}) {
    SCOPED_TRACE(value);
    expect_refused(set_element(model_json(), "default_left", 0, 0, value), "tree 0 node 0 default_left is");
  }
}

// A threshold of ±inf keeps its meaning (every finite value is below +inf, none below
// −inf; a missing value takes the default branch): both readers take it and agree.
TEST(ModelHardening, InfiniteThresholdsAreLegalAndBothReadersAgree) {
  const std::string& json = model_json();
  feature_matrix rows(4, 3);
  rows << 0.5f, -1.0f, 2.0f, -3.0f, 0.25f, std::numeric_limits<float>::quiet_NaN(), 1e30f, -1e30f, 0.0f,
      std::numeric_limits<float>::quiet_NaN(), 0.0f, 1.0f;
  for (const char* threshold : {"Infinity", "-Infinity", "1e39", "-1e39"}) {
    SCOPED_TRACE(threshold);
    const std::string edited = set_element(json, "split_conditions", 1, 0, threshold);
    const compiled_forest forest = compiled_forest::from_json(edited);
    const xgboost_predictor reference = xgboost_predictor::from_buffer(edited);
    const std::vector<float> ours = scores(forest, rows), theirs = scores(reference, rows);
    for (std::size_t r = 0; r < ours.size(); ++r) {
      EXPECT_TRUE(std::isfinite(ours[r])) << r;
      EXPECT_NEAR(ours[r], theirs[r], 1e-5) << r;
    }
  }
}

// The same checks through UBJSON (the compiled forest reads it without xgboost).
TEST(ModelHardening, NonFiniteUbjsonModelsAreRefusedToo) {
  // A UBJSON model with a NaN leaf: write the float's bits into xgboost's own UBJSON.
  std::vector<char> ubj = xgboost_predictor::from_buffer(model_json()).to_buffer(model_format::ubjson);
  const std::string marker = "split_conditions";
  const std::string bytes(ubj.begin(), ubj.end());
  const std::size_t at = bytes.find(marker);
  ASSERT_NE(at, std::string::npos);
  // After the key: '[' '$' 'd' '#' <count marker and count>, then big-endian floats.
  std::size_t data = at + marker.size();
  ASSERT_EQ(bytes.substr(data, 3), "[$d");
  data += 4;  // '[' '$' 'd' '#'
  const char count_marker = bytes[data];
  data += 1 + (count_marker == 'i' || count_marker == 'U' ? 1 : count_marker == 'I' ? 2 : count_marker == 'l' ? 4 : 8);
  const std::size_t leaf = first_leaf(model_json(), 0);
  const unsigned char quiet_nan[4] = {0x7f, 0xc0, 0x00, 0x00};
  for (std::size_t b = 0; b < 4; ++b) ubj[data + 4 * leaf + b] = static_cast<char>(quiet_nan[b]);
  try {
    (void)compiled_forest::from_ubjson(ubj);
    ADD_FAILURE() << "a UBJSON model with a NaN leaf compiled";
  } catch (const model_error& e) {
    EXPECT_TRUE(contains(e.what(), "tree 0 node " + std::to_string(leaf) + ": leaf value nan is not finite")) << e.what();
  }
  EXPECT_THROW((void)xgboost_predictor::from_buffer(ubj), model_error);
}

// D8: xgboost's legacy binary format reached xgboost's loader, which crashes on corrupt
// files; it is refused before xgboost sees it, with the file named and a way out.
TEST(ModelHardening, D8_TheBinaryFormatIsRefusedNamingTheFile) {
  const prescient::test::temp_dir dir("prescient_binary");
  // The header xgboost 1.7 reads (its 136-byte parameter block), then the objective's
  // name with a length of 2^40: xgboost would resize a std::string to that.
  std::string corrupt = "binf";
  corrupt += std::string(136, '\0');
  corrupt += std::string("\x00\x00\x00\x00\x00\x01\x00\x00", 8);  // little-endian 2^40
  corrupt += std::string(16, 'x');
  std::ofstream(dir / "model.bin", std::ios::binary).write(corrupt.data(), static_cast<std::streamsize>(corrupt.size()));
  for (const auto& load : {+[](const std::filesystem::path& p) { (void)xgboost_predictor::load(p); },
                           +[](const std::filesystem::path& p) { (void)compiled_forest::load(p); }}) {
    try {
      load(dir / "model.bin");
      ADD_FAILURE() << "a binary model loaded";
    } catch (const model_error& e) {
      const std::string what = e.what();
      EXPECT_TRUE(contains(what, (dir / "model.bin").string())) << what;
      EXPECT_TRUE(contains(what, "deprecated binary format")) << what;
      EXPECT_TRUE(contains(what, "JSON or UBJSON")) << what;
      EXPECT_TRUE(contains(what, "save_model")) << what;
    }
  }
  EXPECT_THROW((void)xgboost_predictor::from_buffer(corrupt), model_error);
}

}  // namespace
