// prescient/learn/compiled_forest.hpp — xgboost's trees, flattened for the hot path.
//
// A gradient-boosted model is a sum of regression trees. xgboost's own predictor is
// built for large batches: every call through its C API parses a JSON configuration,
// dispatches on the booster type, locks, and writes into a buffer it owns, which costs
// microseconds — far more than a cache request may. A compiled forest reads the same
// model from xgboost's JSON format and keeps only what prediction needs, in one
// contiguous array:
//
//   nodes_ [ {feature | default_left<<31, threshold, left} ... ]   12 bytes per node
//            tree t starts at roots_[t]; nodes are renumbered breadth-first so the
//            children of a split are adjacent (right = left + 1)
//            leaf: feature == leaf_marker, threshold holds the leaf value
//
// A row walks each tree from its root: a NaN feature takes the branch training chose
// for missing values, otherwise `value < threshold` goes left (xgboost's rule; a value
// equal to the threshold goes right).
//
// Shallow forests (depth ≤ 10, which is what online training produces) are also laid
// out as *complete* trees, 8 bytes per split, heap order: a leaf above the full depth is
// padded with splits whose two children carry copies of its value, so every walk takes
// exactly `depth` branch-free steps of `i = 2i + 1 + right` with no leaf test. A step
// reads a *widened* row — the row with missing values as +inf, then again with them as
// −inf — so that a split whose missing values go right reads the first copy and one
// whose missing values go left the second, and every step is one comparison, with no
// test for missing. `predict_row` walks eight trees in lockstep, eight independent
// chains of loads that overlap in the pipeline: a row of 32 trees of depth 6 costs
// ~130 ns on one core (bench/forest_bench.cpp; 215 ns when each step tested for a
// missing value; the node walk, a branch per level, one tree at a time, took ~650 ns;
// interleaving eight *rows* per tree instead was no faster), against ~20 µs for a
// one-row call into xgboost. The cost is memory: 2^depth leaves per tree (32 trees
// of depth 6: 24 KB beside 42 KB of nodes). Deeper forests, and rows of more than 256
// features (the widened row lives on the stack), use the node walk.
//
// The leaves are summed in float in tree order on top of the base margin, exactly as
// xgboost's CPU predictor does, and a logistic objective's base_score is turned into a
// margin and the margin into a probability in float as xgboost does, so predictions
// agree to float rounding (the tests check 1e-5 against xgboost).
//
// Non-finite numbers: a leaf must be finite (a NaN or infinite leaf makes every score
// that reaches it NaN or infinite), and so must base_score and the margin it gives; the
// leaves' largest magnitudes, added over the trees, must stay within float's range, so
// that no row's score can overflow. A split threshold must not be NaN (`v < NaN` is false
// for every v: the split would send every present value right, which no training
// writes), but may be ±inf: the comparison is well defined (every finite value is below
// +inf, none below −inf), xgboost reads such a model and compares the same way, and a
// threshold written as a double beyond float's range (xgboost compares in float) reads
// as one. Thresholds of ±inf are not what xgboost's own training writes from finite
// data — its cut points lie within the data's range plus a margin — but they keep a
// meaning, so they are taken rather than refused. Every refusal names the tree and node.
//
// Supported: gbtree boosters with numerical splits and one output (reg:squarederror,
// reg:squaredlogerror, reg:pseudohubererror, reg:absoluteerror and binary:logitraw as
// the margin; reg:logistic and binary:logistic as its sigmoid). Anything else —
// gblinear, dart, multi-class or multi-target, categorical splits, other objectives, a
// split on a feature beyond num_feature, a child index out of range, a cycle, a missing
// field, bad JSON or UBJSON — is refused with a model_error saying which and where.
//
// A compiled forest is immutable after construction: share it across threads freely.
#pragma once

#include <algorithm>
#include <bit>
#include <charconv>
#include <cctype>
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
#include <system_error>
#include <variant>
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
    } catch (const model_error& e) {
      throw model_error(std::string("compiled_forest: ") + e.what());
    }
  }

  /// Compiles xgboost's UBJSON model bytes (model_format::ubjson), as from_json does.
  static compiled_forest from_ubjson(std::span<const char> model_ubjson) {
    try {
      return compile(detail::ubjson_parser::parse(model_ubjson));
    } catch (const detail::json_error& e) {
      throw model_error(std::string("compiled_forest: ") + e.what());
    } catch (const model_error& e) {
      throw model_error(std::string("compiled_forest: ") + e.what());
    }
  }

  /// Reads and compiles an xgboost model file in JSON or UBJSON, told apart by content.
  /// xgboost's deprecated binary format is refused with a model_error saying so and how
  /// to convert it (xgboost_predictor refuses it too).
  static compiled_forest load(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw model_error(path.string() + ": compiled_forest: cannot open the model file");
    std::ostringstream text;
    text << in.rdbuf();
    const std::string bytes = std::move(text).str();
    if (bytes.starts_with("binf"))
      throw model_error(path.string() + ": compiled_forest: the model is in xgboost's deprecated binary format; "
                        "only JSON and UBJSON models are read. Save it again as JSON or UBJSON with xgboost: "
                        "Booster.save_model(\"model.json\") in Python, or the command line with a model_out ending "
                        "in \".json\"");
    try {
      // UBJSON opens an object with '{' and a length marker (a letter); JSON with '{' and
      // a quote or whitespace.
      if (bytes.size() >= 2 && bytes[0] == '{' && std::isalpha(static_cast<unsigned char>(bytes[1])))
        return from_ubjson(bytes);
      return from_json(bytes);
    } catch (const model_error& e) {
      throw model_error(path.string() + ": " + e.what());
    }
  }

  /// The score of one row of num_features() values. No allocation, no virtual call.
  [[nodiscard]] float predict_row(const float* row) const noexcept {
    return finish(accumulate(row, base_margin_, 0, roots_.size()));
  }

  /// `margin` plus the leaves of trees [first, last) for one row, added in tree order —
  /// so a score can be built in stages: finish(accumulate(row, accumulate(row,
  /// base_margin(), 0, t), t, num_trees())) equals predict_row(row) bit for bit. The
  /// learned policy screens candidates on the first trees and completes the best.
  [[nodiscard]] float accumulate(const float* row, float margin, std::size_t first, std::size_t last) const noexcept {
    float sum = margin;
    last = std::min(last, roots_.size());
    if (first >= last) return sum;
    if (complete_depth_ != 0) {
      // The row twice: missing values as +inf, then as −inf. A split reads the copy that
      // sends a missing value its default way, so a step is one comparison (see
      // `build_complete_layout`).
      float wide[2 * max_complete_features];
      const std::size_t n = num_features_;
      for (std::size_t f = 0; f < n; ++f) {
        const float v = row[f];
        const bool gone = missing(v);
        wide[f] = gone ? std::numeric_limits<float>::infinity() : v;
        wide[n + f] = gone ? -std::numeric_limits<float>::infinity() : v;
      }
      // Every walk takes `depth` branch-free steps, so the walks of successive trees do
      // not wait on each other: the processor overlaps them.
      const std::size_t inner = (std::size_t{1} << complete_depth_) - 1;
      const complete_split* splits = complete_splits_.data() + first * inner;
      const float* leaves = complete_leaves_.data() + first * (inner + 1);
      std::size_t t = first;
      // Eight trees in lockstep: eight independent chains of loads per level.
      constexpr std::size_t lanes = 8;
      for (; t + lanes <= last; t += lanes, splits += lanes * inner, leaves += lanes * (inner + 1)) {
        std::size_t at[lanes] = {};
        for (unsigned level = 0; level < complete_depth_; ++level)
          for (std::size_t j = 0; j < lanes; ++j) at[j] = step(splits + j * inner, at[j], wide);
        for (std::size_t j = 0; j < lanes; ++j) sum += leaves[j * (inner + 1) + at[j] - inner];  // tree order
      }
      for (; t < last; ++t, splits += inner, leaves += inner + 1) {
        std::size_t at = 0;
        for (unsigned level = 0; level < complete_depth_; ++level) at = step(splits, at, wide);
        sum += leaves[at - inner];
      }
    } else {
      const node* nodes = nodes_.data();
      for (std::size_t t = first; t < last; ++t) {
        const node* n = nodes + roots_[t];
        while (n->feature != leaf_marker) {
          const float v = row[n->feature & feature_mask];
          const bool left = missing(v) ? (n->feature & default_left_bit) != 0 : v < n->threshold;
          n = nodes + n->left + (left ? 0 : 1);
        }
        sum += n->threshold;
      }
    }
    return sum;
  }

  /// Rows that accumulate_block scores together (its lanes).
  static constexpr std::size_t block_rows = 8;

  /// Whether accumulate_block serves this forest: complete trees of depth ≤ 4 (a block
  /// evaluates every split of a tree, 2^depth − 1 of them, so deeper trees walk row by
  /// row) and at most `max_block_features` features (the widened block is on the stack).
  [[nodiscard]] bool scores_blocks() const noexcept {
    return complete_depth_ != 0 && complete_depth_ <= max_block_depth && num_features_ <= max_block_features;
  }

  /// accumulate for up to block_rows rows at once: margins[j] becomes margins[j] plus
  /// the leaves of trees [first, last) for rows[j], j < count, added in tree order — bit
  /// for bit what accumulate(rows[j], margins[j], first, last) answers. Every split of a
  /// tree is compared for all rows at once and the leaf is chosen by selections from the
  /// bottom of the tree up, so there is no dependent load per level and the comparisons
  /// are vector operations. Needs scores_blocks(); count ≤ block_rows.
  void accumulate_block(const float* const* rows, std::size_t count, float* margins, std::size_t first,
                        std::size_t last) const noexcept {
    last = std::min(last, roots_.size());
    if (first >= last || count == 0) return;
    // The rows widened as accumulate widens one (missing as +inf, then as −inf), a
    // column a vector: wide[c][j] is column c of row j. Unused lanes repeat row 0.
    const std::size_t n = num_features_;
    lanes wide[2 * max_block_features][halves];
    for (std::size_t j = 0; j < block_rows; ++j) {
      const float* row = rows[j < count ? j : 0];
      for (std::size_t f = 0; f < n; ++f) {
        const float v = row[f];
        const bool gone = missing(v);
        wide[f][j / lane_count][j % lane_count] = gone ? std::numeric_limits<float>::infinity() : v;
        wide[n + f][j / lane_count][j % lane_count] = gone ? -std::numeric_limits<float>::infinity() : v;
      }
    }
    lanes sum[halves] = {};
    for (std::size_t j = 0; j < count; ++j) sum[j / lane_count][j % lane_count] = margins[j];
    switch (complete_depth_) {
      case 1: block_trees<1>(wide, sum, first, last); break;
      case 2: block_trees<2>(wide, sum, first, last); break;
      case 3: block_trees<3>(wide, sum, first, last); break;
      default: block_trees<4>(wide, sum, first, last); break;
    }
    for (std::size_t j = 0; j < count; ++j) margins[j] = sum[j / lane_count][j % lane_count];
  }

  /// The margin every row starts from (xgboost's base_score, as a margin).
  [[nodiscard]] float base_margin() const noexcept { return base_margin_; }
  /// A margin as the model's output: itself, or its sigmoid for a logistic objective
  /// (monotone either way, so margins rank rows as scores do).
  [[nodiscard]] float finish(float margin) const noexcept {
    return output_ == output::logistic ? 1.0f / (1.0f + std::exp(-margin)) : margin;
  }

  /// Scores `n` rows stored `stride` floats apart into out[0, n): predict_row on each.
  /// No allocation, no checks (predict checks).
  void predict_rows(const float* rows, std::size_t n, std::size_t stride, float* out) const noexcept {
    std::size_t r = 0;
    if (scores_blocks())
      for (; r + block_rows <= n; r += block_rows) {
        const float* block[block_rows];
        for (std::size_t j = 0; j < block_rows; ++j) {
          block[j] = rows + (r + j) * stride;
          out[r + j] = base_margin_;
        }
        accumulate_block(block, block_rows, out + r, 0, roots_.size());
        for (std::size_t j = 0; j < block_rows; ++j) out[r + j] = finish(out[r + j]);
      }
    for (; r < n; ++r) out[r] = predict_row(rows + r * stride);
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
    std::uint32_t feature;  // column of the widened row: f (missing → +inf) or num_features + f (→ −inf)
    float threshold;
  };

  // NaN (missing) from its bits, not a comparison: correct even where the host compiles
  // this header with -ffast-math, which lets the compiler assume no value is NaN.
  static bool missing(float v) noexcept { return (std::bit_cast<std::uint32_t>(v) & 0x7fffffffu) > 0x7f800000u; }
  // Neither NaN nor ±inf, from the bits too.
  static bool finite(float v) noexcept { return (std::bit_cast<std::uint32_t>(v) & 0x7fffffffu) < 0x7f800000u; }

  // One level of a complete-tree walk, without a branch, over the widened row: a value
  // not below the threshold goes right — a missing one reads +inf or −inf, whichever
  // its split's default direction needs.
  static std::size_t step(const complete_split* splits, std::size_t i, const float* wide) noexcept {
    const complete_split sp = splits[i];
    const bool right = !(wide[sp.feature] < sp.threshold);
    return 2 * i + 1 + static_cast<std::size_t>(right);
  }

  // accumulate_block's lanes: four floats, one per row (GCC's and Clang's vector
  // extension; 16 bytes, an SSE2 register, so that passing one by value means the same
  // on every x86-64 target); a block of eight rows is two of them.
  static constexpr std::size_t lane_count = 4, halves = block_rows / lane_count;
  using lanes = float __attribute__((vector_size(lane_count * sizeof(float))));
  using lane_masks = std::int32_t __attribute__((vector_size(lane_count * sizeof(float))));
  static lanes splat(float x) noexcept { return lanes{x, x, x, x}; }
  // a where the mask is set, b elsewhere (the casts reinterpret the bits).
  static lanes select(lane_masks m, lanes a, lanes b) noexcept {
    return reinterpret_cast<lanes>((m & reinterpret_cast<lane_masks>(a)) | (~m & reinterpret_cast<lane_masks>(b)));
  }

  // Trees [first, last) of depth D for a widened block: each split compared for every
  // lane (right where the value is not below the threshold, as `step`), then each
  // node's value chosen between its children's from the last level up to the root.
  template <unsigned D>
  void block_trees(const lanes (*wide)[halves], lanes* sum, std::size_t first, std::size_t last) const noexcept {
    constexpr std::size_t inner = (std::size_t{1} << D) - 1;
    const complete_split* splits = complete_splits_.data() + first * inner;
    const float* leaves = complete_leaves_.data() + first * (inner + 1);
    for (std::size_t t = first; t < last; ++t, splits += inner, leaves += inner + 1) {
      lanes value[inner + 1][halves];  // the values of one level's nodes, left to right
      for (std::size_t k = 0; k <= inner; ++k)
        for (std::size_t h = 0; h < halves; ++h) value[k][h] = splat(leaves[k]);
      for (std::size_t width = (inner + 1) / 2; width >= 1; width /= 2) {  // the level above
        for (std::size_t k = 0; k < width; ++k) {
          const complete_split sp = splits[width - 1 + k];
          const lanes threshold = splat(sp.threshold);
          for (std::size_t h = 0; h < halves; ++h) {
            const lane_masks right = ~(wide[sp.feature][h] < threshold);
            value[k][h] = select(right, value[2 * k + 1][h], value[2 * k][h]);
          }
        }
      }
      for (std::size_t h = 0; h < halves; ++h) sum[h] += value[0][h];
    }
  }

  struct node {
    std::uint32_t feature;  // split feature | default_left_bit, or leaf_marker
    float threshold;        // split threshold, or the leaf value
    std::uint32_t left;     // index of the left child; the right child follows it
  };

  compiled_forest() = default;

  // A whole number in [lo, hi], or model_error naming `what` (and `note`, if any).
  static std::int64_t whole(double v, double lo, double hi, const std::string& what, const std::string& note = {}) {
    if (!(v >= lo && v <= hi) || v != std::floor(v))
      throw model_error(what + " is " + detail::json_number_text(v) + "; expected a whole number in [" +
                        detail::json_number_text(lo) + ", " + detail::json_number_text(hi) + "]" +
                        (note.empty() ? "" : " (" + note + ")"));
    return static_cast<std::int64_t>(v);
  }

  static double number_field(const detail::json_value& v, std::string_view what) {
    // xgboost writes model parameters as strings ("5E-1") and arrays as numbers.
    if (v.is_number()) return v.number(what);
    const std::string& s = v.string(what);
    double out = 0;
    const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    if (ec != std::errc{} || p != s.data() + s.size() || s.empty())
      throw model_error("field '" + std::string(what) + "' is not a number: \"" + s + "\"");
    return out;
  }

  static std::vector<double> numbers(const detail::json_value& v, const std::string& what) {
    const auto& items = v.array(what);
    std::vector<double> out;
    out.reserve(items.size());
    for (const auto& x : items) {
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
        f.xgboost_version_.append(std::to_string(whole(parts[i].number("version"), 0, 1e6, "version")));
      }
    }
    const auto& params = learner.at("learner_model_param", "learner.learner_model_param");
    f.num_features_ = static_cast<std::size_t>(
        whole(number_field(params.at("num_feature", "learner_model_param.num_feature"), "num_feature"), 1,
              static_cast<double>(feature_mask), "learner_model_param.num_feature"));
    if (const auto* nc = params.find("num_class"); nc && number_field(*nc, "num_class") > 1)
      throw model_error("multi-class models are not supported (num_class " +
                        detail::json_number_text(number_field(*nc, "num_class")) + ")");
    if (const auto* nt = params.find("num_target"); nt && number_field(*nt, "num_target") > 1)
      throw model_error("multi-output models are not supported (num_target " +
                        detail::json_number_text(number_field(*nt, "num_target")) + ")");
    const double base_score =
        number_field(params.at("base_score", "learner_model_param.base_score"), "learner_model_param.base_score");
    if (!std::isfinite(base_score)) throw model_error("base_score is not finite");

    f.objective_ = learner.at("objective", "learner.objective").at("name", "learner.objective.name")
                       .string("learner.objective.name");
    if (f.objective_ == "reg:logistic" || f.objective_ == "binary:logistic") {
      f.output_ = output::logistic;
      // base_score is a probability; xgboost turns it into a margin in float.
      const auto p = static_cast<float>(base_score);
      if (!(p > 0.0f && p < 1.0f))
        throw model_error("objective " + f.objective_ + " with base_score " + detail::json_number_text(base_score) +
                          " outside (0, 1)");
      f.base_margin_ = -std::log(1.0f / p - 1.0f);
      if (!finite(f.base_margin_))
        throw model_error("objective " + f.objective_ + " with base_score " + detail::json_number_text(base_score) +
                          ": the margin it gives is not finite in float");
    } else if (f.objective_ == "reg:squarederror" || f.objective_ == "reg:squaredlogerror" ||
               f.objective_ == "reg:pseudohubererror" || f.objective_ == "reg:absoluteerror" ||
               f.objective_ == "binary:logitraw") {
      f.output_ = output::identity;
      f.base_margin_ = static_cast<float>(base_score);
      if (!finite(f.base_margin_))
        throw model_error("base_score " + detail::json_number_text(base_score) + " is beyond float's range");
    } else {
      throw model_error("objective '" + f.objective_ +
                        "' is not supported (supported: reg:squarederror, reg:squaredlogerror, "
                        "reg:pseudohubererror, reg:absoluteerror, reg:logistic, binary:logistic, "
                        "binary:logitraw)");
    }

    const auto& booster = learner.at("gradient_booster", "learner.gradient_booster");
    const std::string& booster_name =
        booster.at("name", "gradient_booster.name").string("gradient_booster.name");
    if (booster_name != "gbtree")
      throw model_error("booster '" + booster_name + "' is not supported (only gbtree)");
    const auto& model = booster.at("model", "gradient_booster.model");
    const auto& trees = model.at("trees", "gradient_booster.model.trees").array("gradient_booster.model.trees");
    if (const auto* info = model.find("tree_info"))
      for (const double group : numbers(*info, "gradient_booster.model.tree_info"))
        if (group != 0) throw model_error("tree_info names output group " + detail::json_number_text(group) +
                                          "; only single-output models are supported");
    if (const auto* gp = model.find("gbtree_model_param")) {
      if (const auto* nt = gp->find("num_trees")) {
        const double declared = number_field(*nt, "gbtree_model_param.num_trees");
        if (declared != static_cast<double>(trees.size()))
          throw model_error("gbtree_model_param.num_trees is " + detail::json_number_text(declared) + " but " +
                            std::to_string(trees.size()) + " trees follow");
      }
    }
    double reach = std::fabs(static_cast<double>(f.base_margin_));  // the largest |margin| a row can get
    for (std::size_t t = 0; t < trees.size(); ++t) reach += f.add_tree(trees[t], t);
    // Summed in float, each addition may round up by 2^-24 of its result: allow for that.
    const double rounding = std::exp(static_cast<double>(trees.size() + 1) * std::ldexp(1.0, -23));
    if (!(reach * rounding <= static_cast<double>(std::numeric_limits<float>::max())))
      throw model_error("the leaves of the " + std::to_string(trees.size()) + " trees can add up to " +
                        detail::json_number_text(reach) + ", beyond float's range: scores would overflow");
    f.build_complete_layout();
    return f;
  }

  // Fills the complete layout of the subtree at `n` into heap position `i` of a tree
  // of depth `depth`, `level` levels down. Recursion depth ≤ max_complete_depth.
  void fill_complete(std::uint32_t n, std::size_t i, unsigned level, unsigned depth, complete_split* splits,
                     float* leaves) const {
    const std::size_t inner = (std::size_t{1} << depth) - 1;
    if (level == depth) {
      leaves[i - inner] = nodes_[n].threshold;
      return;
    }
    const node& nd = nodes_[n];
    if (nd.feature == leaf_marker) {
      // Pad: both children carry the same leaf, so the direction does not matter.
      splits[i] = complete_split{0, std::numeric_limits<float>::infinity()};
      fill_complete(n, 2 * i + 1, level + 1, depth, splits, leaves);
      fill_complete(n, 2 * i + 2, level + 1, depth, splits, leaves);
      return;
    }
    const std::uint32_t column = nd.feature & feature_mask;
    const bool default_left = (nd.feature & default_left_bit) != 0;
    splits[i] = complete_split{default_left ? static_cast<std::uint32_t>(num_features_) + column : column, nd.threshold};
    fill_complete(nd.left, 2 * i + 1, level + 1, depth, splits, leaves);
    fill_complete(nd.left + 1, 2 * i + 2, level + 1, depth, splits, leaves);
  }

  // The complete layout reads a widened row: [0, n) the row with missing values as +inf,
  // [n, 2n) as −inf. A split defaulting right reads the first copy, one defaulting left
  // the second, and sends a value right when it is not below the threshold: +inf is
  // never below a threshold, −inf is below every threshold above −inf, and any other
  // value compares as itself — xgboost's rule, with no test for missing in the walk.
  // A default-left split on a threshold of −inf or NaN (xgboost writes neither) would
  // break that, so such a forest, or one too wide for the row on the stack, walks nodes_.
  void build_complete_layout() {
    if (max_depth_ == 0 || max_depth_ > max_complete_depth) return;  // walk nodes_ instead
    if (num_features_ > max_complete_features) return;
    for (const node& nd : nodes_)
      if (nd.feature != leaf_marker && (nd.feature & default_left_bit) != 0 &&
          !(nd.threshold > -std::numeric_limits<float>::infinity()))
        return;
    complete_depth_ = max_depth_;
    const std::size_t inner = (std::size_t{1} << complete_depth_) - 1;
    complete_splits_.assign(roots_.size() * inner, complete_split{});
    complete_leaves_.assign(roots_.size() * (inner + 1), 0.0f);
    for (std::size_t t = 0; t < roots_.size(); ++t)
      fill_complete(roots_[t], 0, 0, complete_depth_, complete_splits_.data() + t * inner,
                    complete_leaves_.data() + t * (inner + 1));
  }

  // Adds tree `t`; answers the largest magnitude among its leaves.
  double add_tree(const detail::json_value& tree, std::size_t t) {
    const std::string where = "tree " + std::to_string(t);
    const auto left = numbers(tree.at("left_children", where + ".left_children"), where + ".left_children");
    const auto right = numbers(tree.at("right_children", where + ".right_children"), where + ".right_children");
    const auto feature = numbers(tree.at("split_indices", where + ".split_indices"), where + ".split_indices");
    const auto threshold =
        numbers(tree.at("split_conditions", where + ".split_conditions"), where + ".split_conditions");
    const auto default_left = numbers(tree.at("default_left", where + ".default_left"), where + ".default_left");
    const std::size_t n = left.size();
    if (n == 0) throw model_error(where + " has no nodes");
    if (right.size() != n || feature.size() != n || threshold.size() != n || default_left.size() != n)
      throw model_error(where + ": node arrays have different lengths (left_children " + std::to_string(n) +
                        ", right_children " + std::to_string(right.size()) + ", split_indices " +
                        std::to_string(feature.size()) + ", split_conditions " + std::to_string(threshold.size()) +
                        ", default_left " + std::to_string(default_left.size()) + ")");
    if (const auto* types = tree.find("split_type"))
      for (const double type : numbers(*types, where + ".split_type"))
        if (type != 0) throw model_error(where + ": categorical splits are not supported");
    if (const auto* tp = tree.find("tree_param"))
      if (const auto* lv = tp->find("size_leaf_vector"); lv && number_field(*lv, "size_leaf_vector") != 0)
        throw model_error(where + ": vector leaves are not supported");
    if (nodes_.size() + n >= leaf_marker) throw model_error("the model has too many nodes");

    // Renumber breadth-first so that the two children of a split are adjacent. Each
    // source node is reached at most once (a second visit is a cycle or a shared child),
    // so the walk ends and the result is a tree.
    const auto base = static_cast<std::uint32_t>(nodes_.size());
    std::vector<std::uint32_t> order{0};   // source node ids in output order
    std::vector<unsigned> depth{0};        // depth of each output node
    std::vector<std::uint8_t> visited(n, 0);
    visited[0] = 1;
    nodes_.push_back(node{});
    double largest_leaf = 0;
    for (std::size_t i = 0; i < order.size(); ++i) {
      const std::size_t src = order[i];
      const std::string at = where + " node " + std::to_string(src);
      const auto value = static_cast<float>(threshold[src]);  // xgboost keeps them as floats
      if (left[src] == -1) {  // xgboost's test for a leaf
        if (!finite(value))
          throw model_error(at + ": leaf value " + detail::json_number_text(threshold[src]) +
                            (std::isfinite(threshold[src]) ? " (in float)" : "") + " is not finite");
        nodes_[base + i] = node{leaf_marker, value, 0};
        largest_leaf = std::max(largest_leaf, std::fabs(static_cast<double>(value)));
        max_depth_ = std::max(max_depth_, depth[i]);
        continue;
      }
      if (missing(value)) throw model_error(at + ": split threshold is NaN");
      const auto last = static_cast<double>(n - 1);
      const auto li = static_cast<std::size_t>(whole(left[src], 0, last, at + " left child"));
      const auto ri = static_cast<std::size_t>(whole(right[src], 0, last, at + " right child"));
      if (visited[li] || visited[ri] || li == ri)
        throw model_error(at + ": the nodes do not form a tree (a cycle or a shared child)");
      visited[li] = visited[ri] = 1;
      const auto split = static_cast<std::uint32_t>(whole(feature[src], 0, static_cast<double>(num_features_) - 1,
                                                           at + " split feature",
                                                           "num_feature " + std::to_string(num_features_)));
      const bool missing_left = whole(default_left[src], 0, 1, at + " default_left") != 0;  // xgboost reads 0 or 1
      const auto first_child = static_cast<std::uint32_t>(base + order.size());
      nodes_[base + i] = node{split | (missing_left ? default_left_bit : 0u), value, first_child};
      order.push_back(static_cast<std::uint32_t>(li));
      order.push_back(static_cast<std::uint32_t>(ri));
      depth.push_back(depth[i] + 1);
      depth.push_back(depth[i] + 1);
      nodes_.push_back(node{});
      nodes_.push_back(node{});
    }
    roots_.push_back(base);
    return largest_leaf;
  }

  static constexpr unsigned max_complete_depth = 10;
  static constexpr std::size_t max_complete_features = 256;  // the widened row: 2 KB of stack
  static constexpr unsigned max_block_depth = 4;
  static constexpr std::size_t max_block_features = 32;      // the widened block: 2 KB of stack

  std::vector<node> nodes_;
  std::vector<std::uint32_t> roots_;
  unsigned max_depth_ = 0;       // of the deepest tree
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
