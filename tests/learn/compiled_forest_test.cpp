// compiled_forest: xgboost's trees flattened. It predicts what xgboost predicts (within
// 1e-5) on held-out rows, NaNs included, through both walks (per row and per batch);
// it follows xgboost's rules exactly at the edges (a value equal to the threshold, NaN
// with either default direction, nodes stored out of order), checked against xgboost
// itself on hand-built models; and it refuses every model it cannot run with a
// model_error that says why.
#include "prescient/learn/compiled_forest.hpp"

#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "prescient/learn/xgboost_predictor.hpp"
#include "test_support.hpp"

namespace {

using namespace prescient::learn;
namespace fs = std::filesystem;

constexpr float nan = std::numeric_limits<float>::quiet_NaN();

struct synthetic {
  feature_matrix x;
  std::vector<float> y;
};

// A nonlinear target with interactions; about 9% of the values are missing (NaN), in
// every column, so trees learn default directions.
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

std::vector<float> predictions(const predictor& model, const feature_matrix& x) {
  std::vector<float> out(static_cast<std::size_t>(x.rows()));
  model.predict(x, out);
  return out;
}

// One directory per test, removed afterwards.
struct temp_dir : prescient::test::temp_dir {
  temp_dir() : prescient::test::temp_dir("prescient_forest") {}
};

bool contains(const std::string& text, const std::string& fragment) { return text.find(fragment) != std::string::npos; }

// Expects from_json(json) to throw a model_error holding `fragment`.
void expect_refused(const std::string& json, const std::string& fragment) {
  try {
    (void)compiled_forest::from_json(json);
    ADD_FAILURE() << "compiled a model that should be refused (" << fragment << ")";
  } catch (const model_error& e) {
    EXPECT_TRUE(contains(e.what(), fragment)) << e.what();
    EXPECT_TRUE(contains(e.what(), "compiled_forest: ")) << e.what();
  }
}

std::string replace_first(std::string text, const std::string& from, const std::string& to) {
  const auto at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

// ---- agreement with xgboost on trained models -----------------------------------------

struct agreement_case {
  const char* objective;
  int max_depth;
};

class AgreesWithXgboost : public ::testing::TestWithParam<agreement_case> {};

TEST_P(AgreesWithXgboost, OnEveryHeldOutRowIncludingMissingValues) {
  const auto [objective, depth] = GetParam();
  const bool binary = std::string(objective) != "reg:squarederror";
  const synthetic train = make_data(3000, 1, binary), test = make_data(2000, 2, binary);
  training_params p;
  p.objective = objective;
  p.rounds = 32;
  p.max_depth = depth;
  const xgboost_predictor model = xgboost_predictor::train(train.x, train.y, p);
  const compiled_forest forest = compiled_forest::from_json(model.to_json());
  EXPECT_EQ(forest.name(), "compiled_forest");
  EXPECT_EQ(forest.num_trees(), 32u);
  EXPECT_EQ(forest.num_features(), 8u);
  EXPECT_GT(forest.num_nodes(), 32u * 3);
  EXPECT_GE(forest.bytes(), forest.num_nodes() * 12);
  EXPECT_TRUE(contains(forest.version(), std::string(objective) + ", 32 trees")) << forest.version();

  const std::vector<float> expected = predictions(model, test.x);
  const std::vector<float> batch = predictions(forest, test.x);  // the batch walk
  std::size_t rows_with_nan = 0;
  float worst = 0;
  for (std::size_t i = 0; i < expected.size(); ++i) {
    const auto r = static_cast<Eigen::Index>(i);
    rows_with_nan += test.x.row(r).array().isNaN().any() ? 1u : 0u;
    const float single = forest.predict_row(test.x.row(r).data());  // the per-request walk
    worst = std::max({worst, std::abs(batch[i] - expected[i]), std::abs(single - expected[i])});
    ASSERT_NEAR(batch[i], expected[i], 1e-5) << "row " << i << " (batch)";
    ASSERT_NEAR(single, expected[i], 1e-5) << "row " << i << " (predict_row)";
    ASSERT_EQ(single, batch[i]) << "row " << i << ": the two walks must agree bit for bit";
    for (const std::size_t split : {std::size_t{8}, std::size_t{13}}) {  // in stages (the policy's screening)
      const float* row = test.x.row(r).data();
      const float first = forest.accumulate(row, forest.base_margin(), 0, split);
      ASSERT_EQ(forest.finish(forest.accumulate(row, first, split, forest.num_trees())), single)
          << "row " << i << ", trees split at " << split;
    }
    if (binary) {
      ASSERT_GT(batch[i], 0.0f);
      ASSERT_LT(batch[i], 1.0f);
    }
  }
  EXPECT_GT(rows_with_nan, 1000u) << "the test must exercise default directions";
  RecordProperty("max_abs_difference", std::to_string(worst));
}

INSTANTIATE_TEST_SUITE_P(Objectives, AgreesWithXgboost,
                         ::testing::Values(agreement_case{"reg:squarederror", 6}, agreement_case{"binary:logistic", 6},
                                           agreement_case{"reg:logistic", 6},
                                           // deeper than the complete layout: the node walk serves batches
                                           agreement_case{"reg:squarederror", 12}),
                         [](const auto& param_info) {
                           std::string name = std::string(param_info.param.objective) + "_depth" +
                                              std::to_string(param_info.param.max_depth);
                           for (char& c : name)
                             if (c == ':') c = '_';
                           return name;
                         });

TEST(CompiledForest, LoadsJsonAndUbjsonFilesAndRefusesOthersByName) {
  const synthetic train = make_data(1000, 3, false), test = make_data(300, 4, false);
  training_params p;
  p.rounds = 11;  // eight trees walked in lockstep, then three one by one
  const xgboost_predictor model = xgboost_predictor::train(train.x, train.y, p);
  const std::vector<float> expected = predictions(model, test.x);
  const temp_dir dir;
  model.save(dir / "model.json", model_format::json);
  const compiled_forest forest = compiled_forest::load(dir / "model.json");
  const std::vector<float> got = predictions(forest, test.x);
  for (std::size_t i = 0; i < got.size(); ++i) ASSERT_NEAR(got[i], expected[i], 1e-5) << i;
  const std::vector<float> via = predictions(from_predictor(model), test.x);
  EXPECT_EQ(via, got);

  // UBJSON reads without xgboost too, to the same forest.
  model.save(dir / "model.ubj", model_format::ubjson);
  EXPECT_EQ(predictions(compiled_forest::load(dir / "model.ubj"), test.x), got);
  const std::vector<char> ubj = model.to_buffer(model_format::ubjson);
  EXPECT_EQ(predictions(compiled_forest::from_ubjson(ubj), test.x), got);

  std::ofstream(dir / "model.bin", std::ios::binary) << "binf" << std::string(100, '\0');
  // The binary format is refused, saying how to convert it (xgboost_predictor refuses it too).
  for (const auto& [name, fragment] : {std::pair{"model.bin", "deprecated binary format; only JSON and UBJSON models are read"},
                                       std::pair{"missing.json", "cannot open"}}) {
    try {
      (void)compiled_forest::load(dir / name);
      ADD_FAILURE() << name << " loaded";
    } catch (const model_error& e) {
      EXPECT_TRUE(contains(e.what(), (dir / name).string())) << e.what();
      EXPECT_TRUE(contains(e.what(), fragment)) << e.what();
    }
  }
  std::ofstream(dir / "truncated.ubj", std::ios::binary).write(ubj.data(), static_cast<std::streamsize>(ubj.size() / 2));
  try {
    (void)compiled_forest::load(dir / "truncated.ubj");
    ADD_FAILURE() << "a truncated UBJSON model loaded";
  } catch (const model_error& e) {
    EXPECT_TRUE(contains(e.what(), "truncated.ubj: compiled_forest: UBJSON at byte")) << e.what();
  }
  std::ofstream(dir / "truncated.json") << model.to_json().substr(0, 1000);
  try {
    (void)compiled_forest::load(dir / "truncated.json");
    ADD_FAILURE() << "a truncated model loaded";
  } catch (const model_error& e) {
    EXPECT_TRUE(contains(e.what(), "truncated.json")) << e.what();
    EXPECT_TRUE(contains(e.what(), "end of the document")) << e.what();
  }
}

TEST(CompiledForest, OneForestServesManyThreads) {
  const synthetic train = make_data(1000, 5, false), test = make_data(512, 6, false);
  const compiled_forest forest = xgboost_predictor::train(train.x, train.y).compile();
  const std::vector<float> expected = predictions(forest, test.x);
  std::vector<int> mismatches(4, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int round = 0; round < 20; ++round)
        for (Eigen::Index r = t; r < test.x.rows(); r += 4)
          mismatches[static_cast<std::size_t>(t)] +=
              forest.predict_row(test.x.row(r).data()) != expected[static_cast<std::size_t>(r)];
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(mismatches, std::vector<int>(4, 0));
}

// ---- hand-built models: xgboost's rules at the edges -----------------------------------

struct hand_tree {
  std::vector<int> left, right, split;
  std::vector<double> value;  // split_conditions: threshold of a split, value of a leaf
  std::vector<int> default_left;
  std::vector<int> split_type = {};  // all 0 unless given
};

// A JSON array as xgboost writes it: integers plainly, floats always with an exponent
// (xgboost's reader takes "100" for an integer and refuses it where it wants a float).
std::string join(const std::vector<int>& values) {
  std::string out = "[";
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i) out.push_back(',');
    out.append(std::to_string(values[i]));
  }
  return out + "]";
}
std::string join(const std::vector<double>& values) {
  std::string out = "[";
  char buf[48];
  for (std::size_t i = 0; i < values.size(); ++i) {
    std::snprintf(buf, sizeof buf, "%.9E", values[i]);
    if (i) out.push_back(',');
    out.append(buf);
  }
  return out + "]";
}

struct hand_model {
  std::vector<hand_tree> trees;
  int num_feature = 2;
  std::string objective = "reg:squarederror";
  std::string base_score = "5E-1";
  std::string booster = "gbtree";
  std::string num_class = "0";

  // A complete xgboost 1.7 JSON model: every field xgboost's own loader requires.
  [[nodiscard]] std::string json() const {
    std::string trees_json;
    for (std::size_t t = 0; t < trees.size(); ++t) {
      const hand_tree& tr = trees[t];
      const std::size_t n = tr.left.size();
      std::vector<int> parents(n, 2147483647), zeros(n, 0);
      for (std::size_t i = 0; i < n; ++i) {
        if (tr.left[i] >= 0 && static_cast<std::size_t>(tr.left[i]) < n) parents[static_cast<std::size_t>(tr.left[i])] = static_cast<int>(i);
        if (tr.right[i] >= 0 && static_cast<std::size_t>(tr.right[i]) < n) parents[static_cast<std::size_t>(tr.right[i])] = static_cast<int>(i);
      }
      const std::vector<double> ones(n, 1.0), none(n, 0.0);
      trees_json += std::string(t ? "," : "") + "{\"base_weights\":" + join(tr.value) +
                    ",\"categories\":[],\"categories_nodes\":[],\"categories_segments\":[],\"categories_sizes\":[]" +
                    ",\"default_left\":" + join(tr.default_left) + ",\"id\":" + std::to_string(t) +
                    ",\"left_children\":" + join(tr.left) + ",\"loss_changes\":" + join(none) +
                    ",\"parents\":" + join(parents) + ",\"right_children\":" + join(tr.right) +
                    ",\"split_conditions\":" + join(tr.value) + ",\"split_indices\":" + join(tr.split) +
                    ",\"split_type\":" + join(tr.split_type.empty() ? zeros : tr.split_type) +
                    ",\"sum_hessian\":" + join(ones) + ",\"tree_param\":{\"num_deleted\":\"0\",\"num_feature\":\"" +
                    std::to_string(num_feature) + "\",\"num_nodes\":\"" + std::to_string(n) +
                    "\",\"size_leaf_vector\":\"0\"}}";
    }
    const std::vector<int> tree_info(trees.size(), 0);
    return "{\"learner\":{\"attributes\":{},\"feature_names\":[],\"feature_types\":[],\"gradient_booster\":{\"model\":{"
           "\"gbtree_model_param\":{\"num_parallel_tree\":\"1\",\"num_trees\":\"" +
           std::to_string(trees.size()) + "\",\"size_leaf_vector\":\"0\"},\"tree_info\":" + join(tree_info) +
           ",\"trees\":[" + trees_json + "]},\"name\":\"" + booster +
           "\"},\"learner_model_param\":{\"base_score\":\"" + base_score +
           "\",\"boost_from_average\":\"1\",\"num_class\":\"" + num_class + "\",\"num_feature\":\"" +
           std::to_string(num_feature) + "\",\"num_target\":\"1\"},\"objective\":{\"name\":\"" + objective +
           "\",\"reg_loss_param\":{\"scale_pos_weight\":\"1\"}}},\"version\":[1,7,4]}";
  }
};

// Tree 0:
//   node 0: x0 < 0.5 (missing: left) ? node 1 : node 2
//   node 1: leaf -1
//   node 2: x1 < -2  (missing: right) ? node 3 : node 4
//   node 3: leaf 10    node 4: leaf 100
// Tree 1: a single leaf, 0.25.
hand_model edge_model() {
  hand_model m;
  m.trees.push_back(hand_tree{{1, -1, 3, -1, -1}, {2, -1, 4, -1, -1}, {0, 0, 1, 0, 0}, {0.5, -1, -2, 10, 100}, {1, 0, 0, 0, 0}});
  m.trees.push_back(hand_tree{{-1}, {-1}, {0}, {0.25}, {0}});
  return m;
}

// The same trees with tree 0's nodes stored in another order (children not adjacent):
//   node 0: x0 < 0.5 ? node 4 : node 1     node 1: x1 < -2 ? node 3 : node 2
//   node 2: leaf 100    node 3: leaf 10    node 4: leaf -1
hand_model scrambled_edge_model() {
  hand_model m = edge_model();
  m.trees[0] = hand_tree{{4, 3, -1, -1, -1}, {1, 2, -1, -1, -1}, {0, 1, 0, 0, 0}, {0.5, -2, 100, 10, -1}, {1, 0, 0, 0, 0}};
  return m;
}

struct edge_rows {
  feature_matrix rows = feature_matrix(19, 2);  // 19: the batch walk runs its 8-row lanes and a remainder
  std::vector<float> expected = std::vector<float>(19);
  edge_rows() {
    feature_matrix six(6, 2);
    six << 0.4f, 0.0f,  // left: -1
        0.5f, 0.0f,     // equal to the threshold goes right; x1 >= -2: 100
        nan, 0.0f,      // missing x0: default left: -1
        0.6f, -2.0f,    // equal again: right: 100
        0.6f, -3.0f,    // x1 < -2: 10
        0.6f, nan;      // missing x1: default right: 100
    // base 0.5 + tree 0 + 0.25
    const std::vector<float> six_expected = {-0.25f, 100.75f, -0.25f, 100.75f, 10.75f, 100.75f};
    for (Eigen::Index r = 0; r < rows.rows(); ++r) {
      rows.row(r) = six.row(r % 6);
      expected[static_cast<std::size_t>(r)] = six_expected[static_cast<std::size_t>(r % 6)];
    }
  }
};

TEST(CompiledForest, FollowsXgboostAtTheEdgesOnAHandBuiltModel) {
  const std::string json = edge_model().json();
  const compiled_forest forest = compiled_forest::from_json(json);
  EXPECT_EQ(forest.num_trees(), 2u);
  EXPECT_EQ(forest.num_nodes(), 6u);
  const edge_rows edge;
  for (Eigen::Index r = 0; r < edge.rows.rows(); ++r)
    EXPECT_EQ(forest.predict_row(edge.rows.row(r).data()), edge.expected[static_cast<std::size_t>(r)]) << "row " << r;
  EXPECT_EQ(predictions(forest, edge.rows), edge.expected);
  // xgboost reads the same hand-built model and agrees: the rules above are its rules.
  const xgboost_predictor reference = xgboost_predictor::from_buffer(json);
  EXPECT_EQ(predictions(reference, edge.rows), edge.expected);
}

// The complete-tree walk reads missing values as +inf or -inf (whichever the split's
// default direction needs); real infinities must still compare as themselves.
TEST(CompiledForest, InfiniteValuesAreNotMissing) {
  const compiled_forest forest = compiled_forest::from_json(edge_model().json());
  constexpr float inf = std::numeric_limits<float>::infinity();
  const float rows[][2] = {{inf, 0.0f}, {-inf, 0.0f}, {0.6f, inf}, {0.6f, -inf}, {-inf, nan}, {nan, -inf}};
  const float expected[] = {100.75f, -0.25f, 100.75f, 10.75f, -0.25f, -0.25f};
  for (std::size_t r = 0; r < std::size(rows); ++r) EXPECT_EQ(forest.predict_row(rows[r]), expected[r]) << "row " << r;
  // The block walk widens the same way: all six rows in one block.
  ASSERT_TRUE(forest.scores_blocks());
  const float* block[std::size(rows)];
  float margins[std::size(rows)];
  for (std::size_t r = 0; r < std::size(rows); ++r) {
    block[r] = rows[r];
    margins[r] = forest.base_margin();
  }
  forest.accumulate_block(block, std::size(rows), margins, 0, forest.num_trees());
  for (std::size_t r = 0; r < std::size(rows); ++r) EXPECT_EQ(forest.finish(margins[r]), expected[r]) << "row " << r;
}

// The block walk (eight rows at once, every split of a tree compared for all of them)
// scores each row exactly as the row walk does — bit for bit, in stages as the learned
// policy screens, for every count of rows a block can hold — on trained forests of every
// depth it serves (1 to 4); deeper forests do not claim it and walk row by row.
TEST(CompiledForest, BlocksOfRowsScoreAsEachRowAlone) {
  const synthetic train = make_data(3000, 5, false), test = make_data(400, 6, false);
  feature_matrix rows = test.x;
  constexpr float inf = std::numeric_limits<float>::infinity();
  for (Eigen::Index r = 0; r < rows.rows(); r += 7) rows(r, r % 8) = (r % 2 != 0) ? inf : -inf;  // not missing
  for (const int depth : {1, 2, 3, 4, 6}) {
    training_params p;
    p.rounds = 24;
    p.max_depth = depth;
    const compiled_forest forest = compiled_forest::from_json(xgboost_predictor::train(train.x, train.y, p).to_json());
    ASSERT_EQ(forest.num_trees(), 24u);
    if (depth > 4) {
      EXPECT_FALSE(forest.scores_blocks()) << "depth " << depth;
      continue;
    }
    ASSERT_TRUE(forest.scores_blocks()) << "depth " << depth;
    std::size_t differing = 0;  // rows whose partial and full margins differ: the stages are not trivial
    for (Eigen::Index start = 0; start + 8 <= rows.rows(); start += 8) {
      const std::size_t count = 1 + static_cast<std::size_t>(start / 8) % compiled_forest::block_rows;
      const float* block[compiled_forest::block_rows];
      float screened[compiled_forest::block_rows], full[compiled_forest::block_rows];
      for (std::size_t j = 0; j < count; ++j) {
        block[j] = rows.row(start + static_cast<Eigen::Index>(j)).data();
        screened[j] = full[j] = forest.base_margin();
      }
      forest.accumulate_block(block, count, screened, 0, 8);
      for (std::size_t j = 0; j < count; ++j)
        ASSERT_EQ(screened[j], forest.accumulate(block[j], forest.base_margin(), 0, 8))
            << "depth " << depth << ", row " << start + static_cast<Eigen::Index>(j) << " of a block of " << count;
      forest.accumulate_block(block, count, screened, 8, forest.num_trees());
      forest.accumulate_block(block, count, full, 0, forest.num_trees());
      for (std::size_t j = 0; j < count; ++j) {
        const float alone = forest.predict_row(block[j]);
        ASSERT_EQ(forest.finish(screened[j]), alone) << "depth " << depth << ", in stages";
        ASSERT_EQ(forest.finish(full[j]), alone) << "depth " << depth;
        differing += forest.accumulate(block[j], forest.base_margin(), 0, 8) != full[j] ? 1u : 0u;
      }
    }
    EXPECT_GT(differing, 100u) << "depth " << depth;
    // predict() runs the same blocks over a whole batch, and a remainder row by row (a
    // batch may hold no infinity: predict() refuses one).
    const feature_matrix finite = test.x.topRows(397);
    const std::vector<float> batch = predictions(forest, finite);
    for (Eigen::Index r = 0; r < finite.rows(); ++r)
      ASSERT_EQ(batch[static_cast<std::size_t>(r)], forest.predict_row(finite.row(r).data())) << "depth " << depth << ", row " << r;
  }
}

TEST(CompiledForest, RenumbersNodesStoredInAnyOrder) {
  const std::string json = scrambled_edge_model().json();
  const compiled_forest forest = compiled_forest::from_json(json);
  const edge_rows edge;
  for (Eigen::Index r = 0; r < edge.rows.rows(); ++r)
    EXPECT_EQ(forest.predict_row(edge.rows.row(r).data()), edge.expected[static_cast<std::size_t>(r)]) << "row " << r;
  EXPECT_EQ(predictions(forest, edge.rows), edge.expected);
  // xgboost itself would walk to `left + 1` for "right" here and read past the tree, so
  // xgboost_predictor refuses the file rather than hand it over.
  try {
    (void)xgboost_predictor::from_buffer(json);
    ADD_FAILURE() << "xgboost_predictor accepted children xgboost cannot walk";
  } catch (const model_error& e) {
    EXPECT_TRUE(contains(e.what(), "tree 0 node 0: right child 1 does not follow the left child 4")) << e.what();
  }
}

TEST(CompiledForest, LogisticMarginsAndBaseScoreMatchXgboost) {
  hand_model m = edge_model();
  m.objective = "binary:logistic";
  m.base_score = "2.5E-1";  // a probability: margin logit(0.25)
  m.trees[0].value = {0.5, -0.7, -2, 0.1, 1.5};
  const std::string json = m.json();
  const compiled_forest forest = compiled_forest::from_json(json);
  EXPECT_EQ(forest.output_kind(), compiled_forest::output::logistic);
  feature_matrix rows(4, 2);
  rows << 0.4f, 0.0f, 0.6f, 0.0f, 0.6f, -3.0f, nan, nan;
  const std::vector<float> reference = predictions(xgboost_predictor::from_buffer(json), rows);
  const std::vector<float> got = predictions(forest, rows);
  const double base_margin = std::log(0.25 / 0.75);
  for (std::size_t i = 0; i < got.size(); ++i) {
    ASSERT_NEAR(got[i], reference[i], 1e-6) << i;
    const double margin = base_margin + std::vector<double>{-0.7, 1.5, 0.1, -0.7}[i] + 0.25;
    ASSERT_NEAR(got[i], 1 / (1 + std::exp(-margin)), 1e-6) << i;
  }
}

// ---- refusals -------------------------------------------------------------------------

TEST(CompiledForest, RefusesCorruptOrUnsupportedXgboostModels) {
  const synthetic train = make_data(500, 7, false);
  training_params p;
  p.rounds = 4;
  const std::string json = xgboost_predictor::train(train.x, train.y, p).to_json();
  ASSERT_NO_THROW((void)compiled_forest::from_json(json));

  expect_refused(json.substr(0, json.size() / 2), "JSON at byte");
  expect_refused(json.substr(0, json.size() - 1), "unexpected end of the document");
  expect_refused("", "unexpected end of the document");
  expect_refused("not json", "JSON at byte 0");
  expect_refused(json + "}", "trailing characters");
  // The root's left child is node 1 in every tree xgboost writes.
  expect_refused(replace_first(json, "\"left_children\":[1,", "\"left_children\":[999,"), "left child is 999");
  // The root's split feature becomes 8, one beyond the last of 8 features.
  {
    const std::string key = "\"split_indices\":[";
    const auto at = json.find(key) + key.size();
    const auto end = json.find(',', at);
    std::string bad = json;
    bad.replace(at, end - at, "8");
    expect_refused(bad, "split feature is 8");
  }
  expect_refused(replace_first(json, "\"name\":\"reg:squarederror\"", "\"name\":\"multi:softmax\""),
                 "objective 'multi:softmax' is not supported");
  expect_refused(replace_first(json, "\"name\":\"reg:squarederror\"", "\"name\":\"count:poisson\""),
                 "objective 'count:poisson' is not supported");
  expect_refused(replace_first(json, "\"name\":\"gbtree\"", "\"name\":\"gblinear\""), "booster 'gblinear' is not supported");
  expect_refused(replace_first(json, "\"name\":\"gbtree\"", "\"name\":\"dart\""), "booster 'dart' is not supported");
  expect_refused(replace_first(json, "\"num_class\":\"0\"", "\"num_class\":\"3\""), "multi-class");
  expect_refused(replace_first(json, "\"split_conditions\":", "\"split_conditionz\":"), "missing field 'tree 0.split_conditions'");
  expect_refused(replace_first(json, "\"learner_model_param\":", "\"learner_model_paramz\":"),
                 "missing field 'learner.learner_model_param'");
  expect_refused(replace_first(json, "\"num_trees\":\"4\"", "\"num_trees\":\"5\""), "num_trees is 5 but 4 trees follow");
}

TEST(CompiledForest, RefusesMalformedTreesPrecisely) {
  const auto refused = [](const std::function<void(hand_model&)>& corrupt, const std::string& fragment) {
    hand_model m = edge_model();
    corrupt(m);
    expect_refused(m.json(), fragment);
  };
  refused([](hand_model& m) { m.trees[0].right[2] = 5; }, "tree 0 node 2 right child is 5");
  refused([](hand_model& m) { m.trees[0].left[0] = -7; }, "tree 0 node 0 left child is -7");
  refused([](hand_model& m) { m.trees[0].left[2] = 0; }, "do not form a tree");   // back to the root
  refused([](hand_model& m) { m.trees[0].right[2] = 1; }, "do not form a tree");  // a shared child
  refused([](hand_model& m) { m.trees[0].left[0] = 2; }, "do not form a tree");   // both children the same
  refused([](hand_model& m) { m.trees[0].split[2] = 2; }, "tree 0 node 2 split feature is 2");
  refused([](hand_model& m) { m.trees[0].split[2] = -1; }, "split feature is -1");
  refused([](hand_model& m) { m.trees[0].split_type = {0, 0, 1, 0, 0}; }, "categorical splits");
  refused([](hand_model& m) { m.trees[1].value.clear(); }, "tree 1: node arrays have different lengths");
  refused([](hand_model& m) { m.trees[1] = hand_tree{{}, {}, {}, {}, {}}; }, "tree 1 has no nodes");
  refused([](hand_model& m) { m.num_feature = 0; }, "num_feature is 0");
  refused([](hand_model& m) { m.base_score.replace(0, std::string::npos, "nonsense"); }, "base_score' is not a number");
  refused(
      [](hand_model& m) {
        m.objective = "binary:logistic";
        m.base_score.replace(0, std::string::npos, "1.5");
      },
      "outside (0, 1)");
  // A child index that is not a whole number.
  hand_model m = edge_model();
  expect_refused(replace_first(m.json(), "\"left_children\":[1,", "\"left_children\":[1.5,"), "left child is 1.5");
}

// Random damage to a real model: every variant compiles (and then predicts safely) or is
// refused with a model_error; nothing else escapes and nothing reads out of bounds (the
// sanitizer build checks the latter).
TEST(CompiledForest, RandomlyCorruptedModelsAreRefusedOrSafe) {
  const synthetic train = make_data(300, 8, false);
  training_params p;
  p.rounds = 3;
  p.max_depth = 3;
  const std::string json = xgboost_predictor::train(train.x, train.y, p).to_json();
  std::mt19937 rng(99);
  const std::string alphabet = "0123456789-.,:[]{}\"eE ntrufalsNI";
  std::size_t compiled = 0, refused = 0;
  for (int i = 0; i < 3000; ++i) {
    std::string bad = json;
    const int edits = 1 + static_cast<int>(rng() % 3);
    for (int e = 0; e < edits; ++e) {
      const std::size_t at = rng() % bad.size();
      switch (rng() % 3) {
        case 0: bad[at] = alphabet[rng() % alphabet.size()]; break;
        case 1: bad.erase(at, 1 + rng() % 4); break;
        default: bad.insert(at, 1, alphabet[rng() % alphabet.size()]); break;
      }
    }
    try {
      const compiled_forest forest = compiled_forest::from_json(bad);
      for (Eigen::Index r = 0; r < 8; ++r) (void)forest.predict_row(train.x.row(r).data());
      ++compiled;
    } catch (const model_error&) {
      ++refused;
    }
  }
  EXPECT_GT(refused, 1000u);
  EXPECT_GT(compiled, 100u) << "most damage to numbers leaves a valid model";

  // The same for UBJSON, with arbitrary bytes.
  const std::vector<char> ubj = xgboost_predictor::train(train.x, train.y, p).to_buffer(model_format::ubjson);
  compiled = refused = 0;
  for (int i = 0; i < 3000; ++i) {
    std::vector<char> bad = ubj;
    const int edits = 1 + static_cast<int>(rng() % 3);
    for (int e = 0; e < edits; ++e) {
      const std::size_t at = rng() % bad.size();
      switch (rng() % 3) {
        case 0: bad[at] = static_cast<char>(rng() % 256); break;
        case 1: bad.erase(bad.begin() + static_cast<std::ptrdiff_t>(at),
                          bad.begin() + static_cast<std::ptrdiff_t>(std::min(bad.size(), at + 1 + rng() % 4))); break;
        default: bad.insert(bad.begin() + static_cast<std::ptrdiff_t>(at), static_cast<char>(rng() % 256)); break;
      }
    }
    try {
      const compiled_forest forest = compiled_forest::from_ubjson(bad);
      for (Eigen::Index r = 0; r < 8; ++r) (void)forest.predict_row(train.x.row(r).data());
      ++compiled;
    } catch (const model_error&) {
      ++refused;
    }
  }
  EXPECT_GT(refused, 1000u);
  EXPECT_GT(compiled, 50u);
}

// The UBJSON reader on hand-written documents: every marker, typed and counted
// containers, and refusals that stay inside the buffer.
TEST(UbjsonReader, ReadsTheSpecAndRefusesDamage) {
  using prescient::learn::detail::json_error;
  using prescient::learn::detail::ubjson_parser;
  const auto parse = [](std::string_view bytes) { return ubjson_parser::parse(std::span(bytes.data(), bytes.size())); };
  using namespace std::string_view_literals;
  // Hex escapes written as octal (a hex escape would swallow a following letter).
  // {"a": [i -3, U 200, I 0x0102, l -1, L 2^40, d 1.5, D -0.25, T, F, Z, S "xy", C 'q', H "1e3"], "b": typed [1.5, 2]}
  const auto doc = parse(
      "{U\001a[i\375U\310I\001\002l\377\377\377\377L\000\000\001\000\000\000\000\000"
      "d\077\300\000\000D\277\320\000\000\000\000\000\000TFZSU\002xyCqHU\0031e3]"
      "U\001b[$d#U\002\077\300\000\000\100\000\000\000N}"sv);
  const auto& a = doc.at("a").array("a");
  ASSERT_EQ(a.size(), 13u);
  EXPECT_EQ(a[0].number("i"), -3);
  EXPECT_EQ(a[1].number("U"), 200);
  EXPECT_EQ(a[2].number("I"), 258);
  EXPECT_EQ(a[3].number("l"), -1);
  EXPECT_EQ(a[4].number("L"), 1099511627776.0);
  EXPECT_EQ(a[5].number("d"), 1.5);
  EXPECT_EQ(a[6].number("D"), -0.25);
  EXPECT_EQ(std::get<bool>(a[7].v), true);
  EXPECT_EQ(std::get<bool>(a[8].v), false);
  EXPECT_TRUE(std::holds_alternative<std::nullptr_t>(a[9].v));
  EXPECT_EQ(a[10].string("S"), "xy");
  EXPECT_EQ(a[11].string("C"), "q");
  EXPECT_EQ(a[12].number("H"), 1000);
  const auto& b = doc.at("b").array("b");
  ASSERT_EQ(b.size(), 2u);
  EXPECT_EQ(b[1].number("b"), 2.0);

  const auto refused = [&](std::string_view bytes, const std::string& fragment) {
    try {
      (void)parse(bytes);
      ADD_FAILURE() << "parsed damaged UBJSON (" << fragment << ")";
    } catch (const json_error& e) {
      EXPECT_TRUE(contains(e.what(), fragment)) << e.what();
    }
  };
  refused("", "unexpected end of the document");
  refused("{U\005ab"sv, "string length 5 exceeds the 2 bytes left");
  refused("[$d#U\002\000\000\000\000"sv, "container count exceeds the document");  // 2 floats, 4 bytes
  refused("[#L\177\377\377\377\377\377\377\377"sv, "container count");
  refused("[#i\377"sv, "container count -1");
  refused("[$d]"sv, "a typed container without a count");
  refused("[i\001"sv, "unexpected end of the document");
  refused("{U\001aX}"sv, "unknown marker 'X'");
  refused("SU\001x SU\001y"sv, "trailing bytes");
  refused(std::string(100, '['), "nested too deeply");
}

TEST(CompiledForest, MalformedBatchesAreFeatureErrors) {
  const compiled_forest forest = compiled_forest::from_json(edge_model().json());
  std::vector<float> out(2, -42.0f);
  feature_matrix rows = feature_matrix::Zero(2, 2);
  rows(1, 1) = std::numeric_limits<float>::infinity();
  EXPECT_THROW(forest.predict(rows, out), feature_error);
  EXPECT_THROW(forest.predict(feature_matrix::Zero(2, 3), out), feature_error);
  std::vector<float> short_out(1);
  EXPECT_THROW(forest.predict(feature_matrix::Zero(2, 2), short_out), feature_error);
  EXPECT_EQ(out, std::vector<float>(2, -42.0f));
}

}  // namespace
