// prescient/learn/compiled_forest.hpp — xgboost's trees, flattened for the hot path.
//
// A gradient-boosted model is a sum of regression trees. xgboost's own predictor is
// built for large batches: every call through its C API builds a DMatrix, dispatches
// on the booster type and allocates an output buffer, which costs microseconds — far
// more than a cache request may. A compiled forest reads the same model from xgboost's
// JSON format and keeps only what prediction needs, in one contiguous array:
//
//   nodes_ [ {feature | default_left<<31, threshold, left} ... ]   12 bytes per node
//            tree t starts at roots_[t]; children of a split are adjacent
//            (right = left + 1), so a walk touches one cache line per level or two
//            leaf: feature == leaf_marker, threshold holds the leaf value
//
// A row walks each tree from its root: a NaN feature takes the branch training chose
// for missing values, otherwise `value < threshold` goes left (xgboost's rule).
//
// Shallow forests (depth ≤ 10, which is what online training produces) are also laid
// out as *complete* trees: a leaf above the full depth is padded with splits that always
// go left and copies of its value, so every walk takes exactly `depth` steps of
// `i = 2i + 1 + right` with no leaf test. `predict_rows` walks a batch tree by tree with
// the rows interleaved, so the independent walks overlap in the pipeline; it is several
// times faster per row than walking one row through every tree. The
// leaves are summed in float in tree order on top of the base margin, exactly as
// xgboost's CPU predictor does, so predictions agree to float rounding (the tests
// check 1e-5). Logistic objectives return the sigmoid of the margin.
//
// Supported: gbtree boosters with numerical splits and one output (reg:squarederror,
// reg:squaredlogerror, reg:pseudohubererror, reg:absoluteerror, reg:logistic,
// binary:logistic, binary:logitraw). Anything else — gblinear, dart, multi-class,
// categorical splits, a split on a feature beyond num_feature, a child index out of
// range or a cycle — is refused with a model_error naming it.
//
// A compiled forest is immutable after construction: share it across threads freely.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <span>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "prescient/learn/detail/json.hpp"
#include "prescient/learn/predictor.hpp"

namespace prescient::learn {

class compiled_forest final : public predictor {
 public:
  enum class output : std::uint8_t { identity, logistic };

  /// Compiles xgboost's JSON model text. Throws model_error on anything it cannot use.
  static compiled_forest from_json(std::string_view model_json) {
    try {
      return compile(detail::json_parser::parse(model_json));
    } catch (const detail::json_error& e) {
      throw model_error(std::string("compiled_forest: ") + e.what());
    }
  }

  /// Reads and compiles an xgboost JSON model file (UBJSON: load it with
  /// xgboost_predictor and compile that).
  static compiled_forest load(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw model_error("compiled_forest: cannot open model file " + path.string());
    std::ostringstream text;
    text << in.rdbuf();
    try {
      return from_json(text.str());
    } catch (const model_error& e) {
      throw model_error(path.string() + ": " + e.what());
    }
  }

  /// The score of one row of num_features() values. No allocation, no virtual call.
  [[nodiscard]] float predict_row(const float* row) const noexcept {
    float sum = base_margin_;
    const node* nodes = nodes_.data();
    for (const std::uint32_t root : roots_) {
      const node* n = nodes + root;
      while (n->feature != leaf_marker) {
        const std::uint32_t f = n->feature & feature_mask;
        const float v = row[f];
        const bool left = std::isnan(v) ? (n->feature & default_left_bit) != 0 : v < n->threshold;
        n = nodes + n->left + (left ? 0 : 1);
      }
      sum += n->threshold;
    }
    return output_ == output::logistic ? 1.0f / (1.0f + std::exp(-sum)) : sum;
  }

  /// Scores `n` rows stored `stride` floats apart into out[0, n): the same values as
  /// predict_row, faster for a batch. No allocation.
  void predict_rows(const float* rows, std::size_t n, std::size_t stride, float* out) const noexcept {
    if (complete_depth_ == 0) {
      for (std::size_t r = 0; r < n; ++r) out[r] = predict_row(rows + r * stride);
      return;
    }
    for (std::size_t r = 0; r < n; ++r) out[r] = base_margin_;
    const std::size_t inner = (std::size_t{1} << complete_depth_) - 1;
    for (std::size_t t = 0; t < roots_.size(); ++t) {
      const complete_split* splits = complete_splits_.data() + t * inner;
      const float* leaves = complete_leaves_.data() + t * (inner + 1);
      // Eight rows walk in lockstep: eight independent chains of loads per level.
      constexpr std::size_t lanes = 8;
      std::size_t r = 0;
      for (; r + lanes <= n; r += lanes) {
        std::size_t at[lanes] = {};
        for (unsigned level = 0; level < complete_depth_; ++level)
          for (std::size_t j = 0; j < lanes; ++j) at[j] = step(splits, at[j], rows + (r + j) * stride);
        for (std::size_t j = 0; j < lanes; ++j) out[r + j] += leaves[at[j] - inner];
      }
      for (; r < n; ++r) {
        std::size_t at = 0;
        for (unsigned level = 0; level < complete_depth_; ++level) at = step(splits, at, rows + r * stride);
        out[r] += leaves[at - inner];
      }
    }
    if (output_ == output::logistic)
      for (std::size_t r = 0; r < n; ++r) out[r] = 1.0f / (1.0f + std::exp(-out[r]));
  }

  void predict(const feature_matrix& rows, std::span<float> out) const override {
    check_batch(rows, num_features_, out);
    predict_rows(rows.data(), static_cast<std::size_t>(rows.rows()), num_features_, out.data());
  }

  [[nodiscard]] std::string_view name() const noexcept override { return "compiled_forest"; }
  [[nodiscard]] std::string version() const override {
    return "xgboost " + xgboost_version_ + " " + objective_ + ", " + std::to_string(roots_.size()) + " trees, " +
           std::to_string(nodes_.size()) + " nodes, " + std::to_string(num_features_) + " features";
  }
  [[nodiscard]] std::size_t num_features() const noexcept override { return num_features_; }
  [[nodiscard]] std::size_t num_trees() const noexcept { return roots_.size(); }
  [[nodiscard]] std::size_t num_nodes() const noexcept { return nodes_.size(); }
  [[nodiscard]] std::size_t bytes() const noexcept {
    return nodes_.size() * sizeof(node) + roots_.size() * sizeof(std::uint32_t) +
           complete_splits_.size() * sizeof(complete_split) + complete_leaves_.size() * sizeof(float);
  }
  [[nodiscard]] output output_kind() const noexcept { return output_; }
  [[nodiscard]] const std::string& objective() const noexcept { return objective_; }

 private:
  static constexpr std::uint32_t leaf_marker = 0xffffffffu;
  static constexpr std::uint32_t default_left_bit = 0x80000000u;
  static constexpr std::uint32_t feature_mask = 0x7fffffffu;

  struct complete_split {
    std::uint32_t feature;
    float threshold;
    bool default_left;
  };

  // One level of a complete-tree walk, without a branch: NaN compares false, so it goes
  // right unless the split sends missing values left.
  static std::size_t step(const complete_split* splits, std::size_t i, const float* row) noexcept {
    const complete_split& sp = splits[i];
    const float v = row[sp.feature];
    const bool right = !(v < sp.threshold) & !((v != v) & sp.default_left);
    return 2 * i + 1 + static_cast<std::size_t>(right);
  }

  struct node {
    std::uint32_t feature;  // split feature | default_left_bit, or leaf_marker
    float threshold;        // split threshold, or the leaf value
    std::uint32_t left;     // index of the left child; the right child follows it
  };

  compiled_forest() = default;

  static double number_field(const detail::json_value& v, std::string_view what) {
    // xgboost writes model parameters as strings ("5E-1") and arrays as numbers.
    if (v.is_number()) return v.number(what);
    const std::string& s = v.string(what);
    double out = 0;
    const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    if (ec != std::errc{} || p != s.data() + s.size()) throw model_error("field '" + std::string(what) + "' is not a number: " + s);
    return out;
  }

  static std::vector<double> numbers(const detail::json_value& v, std::string_view what) {
    std::vector<double> out;
    for (const auto& x : v.array(what)) {
      if (const bool* b = std::get_if<bool>(&x.v)) out.push_back(*b ? 1 : 0);
      else out.push_back(x.number(what));
    }
    return out;
  }

  static compiled_forest compile(const detail::json_value& doc) {
    compiled_forest f;
    const auto& learner = doc.at("learner");
    if (const auto* version = doc.find("version"); version && version->is_array()) {
      const auto& parts = version->array("version");
      f.xgboost_version_.clear();
      for (std::size_t i = 0; i < parts.size(); ++i) {
        if (i) f.xgboost_version_.push_back('.');
        f.xgboost_version_.append(std::to_string(static_cast<long long>(parts[i].number("version"))));
      }
    }
    const auto& params = learner.at("learner_model_param", "learner.learner_model_param");
    const double num_feature = number_field(params.at("num_feature"), "num_feature");
    if (!(num_feature >= 1 && num_feature < 1e7)) throw model_error("model has no features (num_feature)");
    f.num_features_ = static_cast<std::size_t>(num_feature);
    if (const auto* nc = params.find("num_class"); nc && number_field(*nc, "num_class") > 1)
      throw model_error("multi-class models are not supported (num_class > 1)");
    if (const auto* nt = params.find("num_target"); nt && number_field(*nt, "num_target") > 1)
      throw model_error("multi-output models are not supported (num_target > 1)");
    const double base_score = number_field(params.at("base_score"), "base_score");

    f.objective_ = learner.at("objective").at("name", "objective.name").string("objective.name");
    if (f.objective_ == "reg:logistic" || f.objective_ == "binary:logistic") {
      f.output_ = output::logistic;
      if (!(base_score > 0 && base_score < 1)) throw model_error("logistic model with base_score outside (0, 1)");
      f.base_margin_ = static_cast<float>(std::log(base_score / (1 - base_score)));
    } else if (f.objective_ == "reg:squarederror" || f.objective_ == "reg:squaredlogerror" ||
               f.objective_ == "reg:pseudohubererror" || f.objective_ == "reg:absoluteerror" ||
               f.objective_ == "binary:logitraw") {
      f.output_ = output::identity;
      f.base_margin_ = static_cast<float>(base_score);
    } else {
      throw model_error("objective '" + f.objective_ + "' is not supported");
    }

    const auto& booster = learner.at("gradient_booster", "learner.gradient_booster");
    const std::string& booster_name = booster.at("name", "gradient_booster.name").string("gradient_booster.name");
    if (booster_name != "gbtree") throw model_error("booster '" + booster_name + "' is not supported (only gbtree)");
    const auto& trees = booster.at("model", "gradient_booster.model").at("trees", "model.trees").array("trees");
    for (std::size_t t = 0; t < trees.size(); ++t) f.add_tree(trees[t], t);
    f.build_complete_layout();
    return f;
  }

  [[nodiscard]] unsigned depth_of(std::uint32_t n) const {
    if (nodes_[n].feature == leaf_marker) return 0;
    return 1 + std::max(depth_of(nodes_[n].left), depth_of(nodes_[n].left + 1));
  }

  // Fills the complete layout of the subtree at `n` into heap position `i` of a tree
  // of depth `depth`, `level` levels down.
  void fill_complete(std::uint32_t n, std::size_t i, unsigned level, unsigned depth, complete_split* splits,
                     float* leaves) const {
    const std::size_t inner = (std::size_t{1} << depth) - 1;
    if (level == depth) {
      leaves[i - inner] = nodes_[n].threshold;
      return;
    }
    const node& nd = nodes_[n];
    if (nd.feature == leaf_marker) {
      // Pad: always left (every finite value is < +inf; NaN takes the default, left),
      // both children carry the same leaf.
      splits[i] = complete_split{0, std::numeric_limits<float>::infinity(), true};
      fill_complete(n, 2 * i + 1, level + 1, depth, splits, leaves);
      fill_complete(n, 2 * i + 2, level + 1, depth, splits, leaves);
      return;
    }
    splits[i] = complete_split{nd.feature & feature_mask, nd.threshold, (nd.feature & default_left_bit) != 0};
    fill_complete(nd.left, 2 * i + 1, level + 1, depth, splits, leaves);
    fill_complete(nd.left + 1, 2 * i + 2, level + 1, depth, splits, leaves);
  }

  void build_complete_layout() {
    unsigned depth = 0;
    for (const std::uint32_t root : roots_) depth = std::max(depth, depth_of(root));
    if (depth == 0 || depth > max_complete_depth) return;  // walk nodes_ instead
    complete_depth_ = depth;
    const std::size_t inner = (std::size_t{1} << depth) - 1;
    complete_splits_.assign(roots_.size() * inner, complete_split{});
    complete_leaves_.assign(roots_.size() * (inner + 1), 0.0f);
    for (std::size_t t = 0; t < roots_.size(); ++t)
      fill_complete(roots_[t], 0, 0, depth, complete_splits_.data() + t * inner, complete_leaves_.data() + t * (inner + 1));
  }

  void add_tree(const detail::json_value& tree, std::size_t t) {
    const std::string where = "tree " + std::to_string(t);
    const auto left = numbers(tree.at("left_children", where + ".left_children"), where + ".left_children");
    const auto right = numbers(tree.at("right_children", where + ".right_children"), where + ".right_children");
    const auto feature = numbers(tree.at("split_indices", where + ".split_indices"), where + ".split_indices");
    const auto threshold = numbers(tree.at("split_conditions", where + ".split_conditions"), where + ".split_conditions");
    const auto default_left = numbers(tree.at("default_left", where + ".default_left"), where + ".default_left");
    const std::size_t n = left.size();
    if (n == 0) throw model_error(where + " has no nodes");
    if (right.size() != n || feature.size() != n || threshold.size() != n || default_left.size() != n)
      throw model_error(where + ": node arrays have different lengths");
    if (const auto* types = tree.find("split_type"))
      for (double ty : numbers(*types, where + ".split_type"))
        if (ty != 0) throw model_error(where + ": categorical splits are not supported");

    // Renumber breadth-first so that the two children of a split are adjacent.
    const auto base = static_cast<std::uint32_t>(nodes_.size());
    std::vector<std::int64_t> order{0};   // source node ids in output order
    std::vector<std::uint8_t> visited(n, 0);
    visited[0] = 1;
    nodes_.push_back(node{});
    for (std::size_t i = 0; i < order.size(); ++i) {
      const auto src = static_cast<std::size_t>(order[i]);
      node& out = nodes_[base + i];
      const double l = left[src], r = right[src];
      if (l == -1) {
        out = node{leaf_marker, static_cast<float>(threshold[src]), 0};
        continue;
      }
      if (!(l >= 0 && l < static_cast<double>(n) && r >= 0 && r < static_cast<double>(n)))
        throw model_error(where + ": node " + std::to_string(src) + " has a child index out of range");
      const auto li = static_cast<std::size_t>(l), ri = static_cast<std::size_t>(r);
      if (visited[li] || visited[ri] || li == ri) throw model_error(where + ": the nodes do not form a tree (a cycle or a shared child)");
      visited[li] = visited[ri] = 1;
      if (!(feature[src] >= 0 && feature[src] < static_cast<double>(num_features_)))
        throw model_error(where + ": node " + std::to_string(src) + " splits on feature " +
                          std::to_string(static_cast<long long>(feature[src])) + " of " + std::to_string(num_features_));
      const auto first_child = static_cast<std::uint32_t>(base + order.size());
      out = node{static_cast<std::uint32_t>(feature[src]) | (default_left[src] != 0 ? default_left_bit : 0u),
                 static_cast<float>(threshold[src]), first_child};
      order.push_back(static_cast<std::int64_t>(li));
      order.push_back(static_cast<std::int64_t>(ri));
      nodes_.push_back(node{});
      nodes_.push_back(node{});
    }
    roots_.push_back(base);
  }

  static constexpr unsigned max_complete_depth = 10;

  std::vector<node> nodes_;
  std::vector<std::uint32_t> roots_;
  unsigned complete_depth_ = 0;  // 0: no complete layout
  std::vector<complete_split> complete_splits_;  // per tree: 2^depth − 1 splits, heap order
  std::vector<float> complete_leaves_;           // per tree: 2^depth leaves
  std::size_t num_features_ = 0;
  float base_margin_ = 0;
  output output_ = output::identity;
  std::string objective_;
  std::string xgboost_version_ = "?";
};

}  // namespace prescient::learn
