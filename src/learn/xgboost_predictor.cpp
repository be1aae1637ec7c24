// xgboost_predictor: the C API wrapper. See include/prescient/learn/xgboost_predictor.hpp.
#include "prescient/learn/xgboost_predictor.hpp"

#include <xgboost/c_api.h>

#include <algorithm>
#include <bit>
#include <charconv>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <limits>
#include <random>
#include <system_error>
#include <variant>

namespace prescient::learn {
namespace {

// ---- xgboost's log: captured, never printed -------------------------------------------

std::mutex log_mutex;
std::string log_lines;  // the most recent messages, oldest first
constexpr std::size_t log_keep = 4096;

// Called by xgboost (C code paths) in place of printing: must not throw.
void capture_log(const char* message) noexcept {
  try {
    std::lock_guard lock(log_mutex);
    log_lines.append(message != nullptr ? message : "");
    if (log_lines.empty() || log_lines.back() != '\n') log_lines.push_back('\n');
    if (log_lines.size() > 2 * log_keep) {
      // Keep the last log_keep bytes, starting at a line.
      std::size_t cut = log_lines.size() - log_keep;
      if (const auto nl = log_lines.find('\n', cut); nl != std::string::npos) cut = nl + 1;
      log_lines.erase(0, cut);
    }
  } catch (...) {
    // Out of memory while logging: drop the message rather than unwind through xgboost.
  }
}

// xgboost's message for the last failure on this thread, without the timestamp prefix
// and the stack trace it appends.
std::string xgboost_message() {
  std::string m = XGBGetLastError();
  if (m.size() > 11 && m.front() == '[') {
    if (const auto close = m.find("] "); close != std::string::npos && close < 12) m.erase(0, close + 2);
  }
  if (const auto trace = m.find("Stack trace:"); trace != std::string::npos) m.resize(trace);
  while (!m.empty() && (m.back() == '\n' || m.back() == ' ' || m.back() == '\r')) m.pop_back();
  return m;
}

void check(int rc, std::string_view what) {
  if (rc != 0) throw model_error("xgboost: " + std::string(what) + ": " + xgboost_message());
}

// ---- thread-local state and process exit -----------------------------------------------
//
// xgboost keeps per-thread state (verbosity, log callback, each booster's output
// buffers) in C++ thread_local objects, and ~LearnerImpl reaches into the destroying
// thread's. At exit the main thread's thread_local objects are destroyed before any
// static object, so freeing a booster held in static storage (a host's global model)
// touches destroyed maps and aborts in free() (xgboost 1.7.4; a plain C program shows
// it). So each thread that uses xgboost through here gets a thread_local sentinel whose
// destructor records that the thread's thread_local objects are being destroyed; a
// booster freed on a thread past that point is abandoned instead — the process or
// thread is ending — and kept reachable so that leak checkers stay quiet.

thread_local bool thread_locals_gone = false;  // trivially destructible: readable to the end

struct thread_end_sentinel {
  thread_end_sentinel() = default;
  thread_end_sentinel(const thread_end_sentinel&) = delete;
  thread_end_sentinel& operator=(const thread_end_sentinel&) = delete;
  ~thread_end_sentinel() { thread_locals_gone = true; }
};
thread_local thread_end_sentinel sentinel;

std::vector<void*>& abandoned_handles() {
  static auto* handles = new std::vector<void*>();  // never freed: reachable at exit
  return *handles;
}

void free_booster(BoosterHandle handle) noexcept {
  if (handle == nullptr) return;
  if (thread_locals_gone) {
    try {
      abandoned_handles().push_back(handle);
    } catch (...) {
    }
    return;
  }
  XGBoosterFree(handle);
}

// xgboost keeps its verbosity and its log callback in thread-local stores: a thread
// that never passed through here logs its warnings to stderr. So: once per thread,
// before anything else xgboost does on it.
void quiet_this_thread() {
  thread_local bool quiet = false;
  if (quiet) return;
  (void)&sentinel;  // constructs it, before xgboost's thread-local state
  // The callback first, so that not even the configuration change can print.
  check(XGBRegisterLogCallback(capture_log), "registering the log callback");
  check(XGBSetGlobalConfig("{\"verbosity\":0}"), "setting verbosity 0");
  quiet = true;
}

// ---- helpers ---------------------------------------------------------------------------

struct dmatrix {
  DMatrixHandle handle = nullptr;
  dmatrix() = default;
  dmatrix(const dmatrix&) = delete;
  dmatrix& operator=(const dmatrix&) = delete;
  ~dmatrix() {
    if (handle != nullptr) XGDMatrixFree(handle);
  }
};

// A training matrix binned on edges taken from a sample of its rows. xgboost's hist
// method sketches the quantiles of every column over every row before its first tree,
// which for the learned policy's tens of thousands of rows is half of a retrain; a
// QuantileDMatrix built with a reference matrix takes the reference's edges instead. The
// data reach xgboost through its iterator interface: one batch, handed to a proxy.
struct single_batch {
  DMatrixHandle proxy = nullptr;
  const feature_matrix* rows = nullptr;
  bool given = false;
  std::string error;  // a failure inside a callback (no exception may cross xgboost)

  static void reset(DataIterHandle self) { static_cast<single_batch*>(self)->given = false; }
  static int next(DataIterHandle self) {
    auto& b = *static_cast<single_batch*>(self);
    if (b.given) return 0;
    b.given = true;
    char interface[160];
    std::snprintf(interface, sizeof interface,
                  "{\"data\": [%llu, true], \"shape\": [%lld, %lld], \"typestr\": \"<f4\", \"version\": 3}",
                  static_cast<unsigned long long>(reinterpret_cast<std::uintptr_t>(b.rows->data())),
                  static_cast<long long>(b.rows->rows()), static_cast<long long>(b.rows->cols()));
    if (XGProxyDMatrixSetDataDense(b.proxy, interface) != 0) {
      b.error = XGBGetLastError();
      return 0;
    }
    return 1;
  }
};

// Nine significant digits: every float reads back exactly ("0.3" → 0.300000012).
std::string float_text(float v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", static_cast<double>(v));
  return buf;
}

// What a model buffer holds, judged by its first bytes (the file extension says nothing).
enum class model_kind { json, ubjson, binary, unknown };

model_kind detect(std::span<const char> bytes) {
  if (bytes.size() >= 4 && std::memcmp(bytes.data(), "binf", 4) == 0) return model_kind::binary;
  if (bytes.size() < 2 || bytes[0] != '{') return model_kind::unknown;
  // xgboost dispatches on the second byte: '"' (JSON, as xgboost writes it), or a UBJSON
  // type marker (a letter). JSON from elsewhere may put whitespace first.
  std::size_t at = 1;
  while (at < bytes.size() && (bytes[at] == ' ' || bytes[at] == '\n' || bytes[at] == '\r' || bytes[at] == '\t')) ++at;
  if (at < bytes.size() && (bytes[at] == '"' || bytes[at] == '}')) return model_kind::json;
  const auto second = static_cast<unsigned char>(bytes[1]);
  if ((second >= 'A' && second <= 'Z') || (second >= 'a' && second <= 'z')) return model_kind::ubjson;
  return model_kind::unknown;
}

// What a model in the deprecated binary format is told.
std::string binary_format_refused(std::size_t bytes) {
  return "xgboost: the model (" + std::to_string(bytes) +
         " bytes) is in xgboost's deprecated binary format, which is not read: only JSON and UBJSON models are "
         "(xgboost 1.7 trusts a binary file and crashes on a corrupt one). Save it again as JSON or UBJSON with "
         "xgboost: Booster.save_model(\"model.json\") in Python, or the command line with a model_out ending in "
         "\".json\"";
}

const char* kind_name(model_kind kind) {
  switch (kind) {
    case model_kind::json: return "JSON";
    case model_kind::ubjson: return "UBJSON";
    case model_kind::binary: return "binary";
    case model_kind::unknown: break;
  }
  return "unknown";
}

// ---- checking a model before xgboost reads it ------------------------------------------
//
// xgboost 1.7 trusts a model file. Its loader indexes parents, split_type and tree_info
// without checking their lengths (a corrupt file crashes it inside
// XGBoosterLoadModelFromBuffer), and its predictor walks to `left + 1` for "right"
// without reading right_children (children stored apart crash it), follows a cycle
// forever and indexes the row with any split index. So JSON and UBJSON models are read
// here first (detail/json.hpp) and everything xgboost relies on is checked; only then
// does xgboost see the bytes. Numbers too: a NaN or infinite leaf, a NaN split threshold,
// a base_score that is not finite (or, for a logistic objective, not in (0, 1)), or
// leaves whose largest magnitudes add up beyond float's range (scores would overflow)
// are refused, naming the tree and node (compiled_forest.hpp says which are legal and
// why: a threshold of ±inf is). The deprecated binary format is refused outright: this
// reader cannot check it, and xgboost 1.7's own loader crashes on corrupt binary files
// (a std::string resized by a length read from the file, allocations of any size).

double param_number(const detail::json_value& v, const std::string& what) {
  if (v.is_number()) return v.number(what);
  const std::string& text = v.string(what);
  double out = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  if (ec != std::errc{} || end != text.data() + text.size() || text.empty())
    throw model_error(what + " is not a number: \"" + text + "\"");
  return out;
}

std::vector<double> number_array(const detail::json_value& v, const std::string& what) {
  std::vector<double> out;
  for (const auto& x : v.array(what)) {
    if (const bool* b = std::get_if<bool>(&x.v)) out.push_back(*b ? 1 : 0);
    else out.push_back(x.number(what));
  }
  return out;
}

bool whole_in(double v, double lo, double hi) { return v >= lo && v <= hi && v == std::floor(v); }

bool finite_float(double v) { return std::isfinite(static_cast<float>(v)); }

// The largest |score| a row can get, `reach`, must stay within float's range even after
// float's rounding on each of `terms` additions (each may round up by 2^-24).
void check_reach(double reach, std::size_t terms) {
  const double rounding = std::exp(static_cast<double>(terms + 1) * std::ldexp(1.0, -23));
  if (!(reach * rounding <= static_cast<double>(std::numeric_limits<float>::max())))
    throw model_error("the leaves of the " + std::to_string(terms) + " trees can add up to " +
                      detail::json_number_text(reach) + ", beyond float's range: scores would overflow");
}

std::string num(double v) { return detail::json_number_text(v); }

// Checks tree `t`; answers the largest magnitude among its leaves.
double check_tree(const detail::json_value& tree, std::size_t t, double num_feature) {
  const std::string where = "tree " + std::to_string(t);
  const double declared = param_number(tree.at("tree_param", where + ".tree_param").at("num_nodes", where + ".tree_param.num_nodes"),
                                       where + ".tree_param.num_nodes");
  if (!whole_in(declared, 1, 1e9)) throw model_error(where + ": num_nodes is " + num(declared));
  const auto n = static_cast<std::size_t>(declared);
  const auto field = [&](const char* name) {
    auto values = number_array(tree.at(name, where + "." + name), where + "." + name);
    if (values.size() != n)
      throw model_error(where + ": " + name + " has " + std::to_string(values.size()) + " entries for " +
                        std::to_string(n) + " nodes");
    return values;
  };
  const auto left = field("left_children");
  const auto right = field("right_children");
  const auto parents = field("parents");
  const auto split = field("split_indices");
  const auto condition = field("split_conditions");  // a split's threshold, or a leaf's value
  const auto default_left = field("default_left");
  for (const char* name : {"loss_changes", "sum_hessian", "base_weights"}) (void)field(name);
  std::vector<double> split_type(n, 0.0);
  if (tree.find("split_type") != nullptr) split_type = field("split_type");

  // xgboost links every node but the root to its parent.
  for (std::size_t node = 1; node < n; ++node)
    if (!whole_in(parents[node], 0, static_cast<double>(n) - 1))
      throw model_error(where + " node " + std::to_string(node) + ": parent " + num(parents[node]) + " out of range");

  std::vector<std::uint8_t> reached(n, 0);
  std::vector<std::size_t> pending{0};
  reached[0] = 1;
  const auto last = static_cast<double>(n) - 1;
  double largest_leaf = 0;
  while (!pending.empty()) {
    const std::size_t node = pending.back();
    pending.pop_back();
    if (left[node] == -1) {  // a leaf
      if (!finite_float(condition[node]))
        throw model_error(where + " node " + std::to_string(node) + ": leaf value " + num(condition[node]) +
                          (std::isfinite(condition[node]) ? " (in float)" : "") + " is not finite");
      largest_leaf = std::max(largest_leaf, std::fabs(static_cast<double>(static_cast<float>(condition[node]))));
      continue;
    }
    const std::string at = where + " node " + std::to_string(node);
    if (std::isnan(condition[node])) throw model_error(at + ": split threshold is NaN");
    // xgboost and compiled_forest read other values differently (found by fuzzing).
    if (!whole_in(default_left[node], 0, 1)) throw model_error(at + " default_left is " + num(default_left[node]) + "; expected 0 or 1");
    if (!whole_in(left[node], 1, last)) throw model_error(at + ": left child " + num(left[node]) + " out of range");
    if (right[node] != left[node] + 1)
      throw model_error(at + ": right child " + num(right[node]) + " does not follow the left child " +
                        num(left[node]) + " (xgboost requires it)");
    if (right[node] > last) throw model_error(at + ": right child " + num(right[node]) + " out of range");
    if (!whole_in(split[node], 0, num_feature - 1))
      throw model_error(at + ": split feature " + num(split[node]) + " is not below num_feature " + num(num_feature));
    if (!whole_in(split_type[node], 0, 1)) throw model_error(at + ": split_type " + num(split_type[node]));
    const auto child = static_cast<std::size_t>(left[node]);
    if (reached[child] || reached[child + 1]) throw model_error(at + ": the nodes do not form a tree (a cycle)");
    reached[child] = reached[child + 1] = 1;
    pending.push_back(child);
    pending.push_back(child + 1);
  }

  // Categorical splits: categories_nodes[i] reads categories[segments[i], + sizes[i]).
  const bool categorical = std::any_of(split_type.begin(), split_type.end(), [](double v) { return v != 0; });
  if (const auto* nodes = tree.find("categories_nodes"); nodes != nullptr || categorical) {
    const auto cat_nodes = number_array(tree.at("categories_nodes", where + ".categories_nodes"), where + ".categories_nodes");
    const auto starts = number_array(tree.at("categories_segments", where + ".categories_segments"), where + ".categories_segments");
    const auto sizes = number_array(tree.at("categories_sizes", where + ".categories_sizes"), where + ".categories_sizes");
    const auto total = static_cast<double>(tree.at("categories", where + ".categories").array(where + ".categories").size());
    if (starts.size() != cat_nodes.size() || sizes.size() != cat_nodes.size())
      throw model_error(where + ": categories_nodes, categories_segments and categories_sizes differ in length");
    for (std::size_t i = 0; i < cat_nodes.size(); ++i)
      if (!whole_in(cat_nodes[i], 0, last) || !whole_in(starts[i], 0, total) || !whole_in(sizes[i], 0, total - starts[i]))
        throw model_error(where + ": categorical split " + std::to_string(i) + " lies outside the tree or the categories");
  }
  return largest_leaf;
}

// Checks the trees; answers each tree's largest leaf magnitude.
std::vector<double> check_trees(const detail::json_value& model, double num_feature, double groups,
                                const std::string& where) {
  const auto& trees = model.at("trees", where + ".trees").array(where + ".trees");
  const double declared = param_number(
      model.at("gbtree_model_param", where + ".gbtree_model_param").at("num_trees", "gbtree_model_param.num_trees"),
      "gbtree_model_param.num_trees");
  if (declared != static_cast<double>(trees.size()))
    throw model_error("gbtree_model_param.num_trees is " + num(declared) + " but " + std::to_string(trees.size()) +
                      " trees follow");
  const auto info = number_array(model.at("tree_info", where + ".tree_info"), where + ".tree_info");
  if (info.size() != trees.size())
    throw model_error("tree_info has " + std::to_string(info.size()) + " entries for " + std::to_string(trees.size()) +
                      " trees");
  std::vector<std::uint8_t> seen(trees.size(), 0);
  std::vector<double> largest(trees.size(), 0.0);
  for (std::size_t t = 0; t < trees.size(); ++t) {
    if (!whole_in(info[t], 0, groups - 1))
      throw model_error("tree " + std::to_string(t) + " belongs to output group " + num(info[t]) + " of " + num(groups));
    const double id = trees[t].at("id", "tree " + std::to_string(t) + ".id").number("tree id");
    if (!whole_in(id, 0, static_cast<double>(trees.size()) - 1) || seen[static_cast<std::size_t>(id)])
      throw model_error("tree " + std::to_string(t) + " has id " + num(id) + " (ids must number the trees once each)");
    seen[static_cast<std::size_t>(id)] = 1;
    largest[t] = check_tree(trees[t], t, num_feature);
  }
  return largest;
}

// Throws model_error unless xgboost can load and run the model in `doc` safely. The
// model's kind (objective, booster parameters) is xgboost's business, not checked.
void check_model(const detail::json_value& doc) {
  const auto& learner = doc.at("learner");
  const auto& params = learner.at("learner_model_param", "learner.learner_model_param");
  const double num_feature = param_number(params.at("num_feature", "learner_model_param.num_feature"), "num_feature");
  if (!whole_in(num_feature, 1, 2147483647.0)) throw model_error("num_feature is " + num(num_feature));
  double groups = 1;
  if (const auto* nc = params.find("num_class")) {
    const double classes = param_number(*nc, "num_class");
    if (!whole_in(classes, 0, 1e6)) throw model_error("num_class is " + num(classes));
    groups = std::max(1.0, classes);
  }
  // base_score: the margin every row starts from (a probability for logistic objectives).
  const double base_score = param_number(params.at("base_score", "learner_model_param.base_score"), "base_score");
  if (!finite_float(base_score)) throw model_error("base_score " + num(base_score) + " is not finite");
  double base_margin = base_score;
  if (const auto* objective = learner.find("objective")) {
    if (const auto* name = objective->find("name"); name != nullptr && name->is_string()) {
      const std::string& o = name->string("objective.name");
      if (o == "reg:logistic" || o == "binary:logistic") {
        if (!(base_score > 0 && base_score < 1))
          throw model_error("objective " + o + " with base_score " + num(base_score) + " outside (0, 1)");
        base_margin = -std::log(1.0 / base_score - 1.0);
        if (!finite_float(base_margin))
          throw model_error("objective " + o + " with base_score " + num(base_score) +
                            ": the margin it gives is not finite in float");
      }
    }
  }
  const auto& booster = learner.at("gradient_booster", "learner.gradient_booster");
  const std::string& kind = booster.at("name", "gradient_booster.name").string("gradient_booster.name");
  if (kind == "gbtree") {
    const auto largest =
        check_trees(booster.at("model", "gradient_booster.model"), num_feature, groups, "gradient_booster.model");
    double reach = std::fabs(base_margin);
    for (const double l : largest) reach += l;
    check_reach(reach, largest.size());
  } else if (kind == "dart") {
    const auto& model = booster.at("gbtree", "gradient_booster.gbtree").at("model", "gbtree.model");
    const auto largest = check_trees(model, num_feature, groups, "gbtree.model");
    const auto drops = number_array(booster.at("weight_drop", "gradient_booster.weight_drop"), "weight_drop");
    if (drops.size() != largest.size())
      throw model_error("dart: " + std::to_string(drops.size()) + " tree weights for " +
                        std::to_string(largest.size()) + " trees");
    double reach = std::fabs(base_margin);
    for (std::size_t t = 0; t < drops.size(); ++t) {
      if (!finite_float(drops[t])) throw model_error("dart: tree " + std::to_string(t) + "'s weight " + num(drops[t]) + " is not finite");
      reach += std::fabs(drops[t]) * largest[t];
    }
    check_reach(reach, largest.size());
  } else if (kind == "gblinear") {
    const auto weights = number_array(booster.at("model", "gradient_booster.model").at("weights", "model.weights"), "weights");
    if (static_cast<double>(weights.size()) != (num_feature + 1) * groups)
      throw model_error("gblinear: " + std::to_string(weights.size()) + " weights for " + num(num_feature) +
                        " features and " + num(groups) + " outputs");
    for (std::size_t i = 0; i < weights.size(); ++i)
      if (!finite_float(weights[i])) throw model_error("gblinear: weight " + std::to_string(i) + " is " + num(weights[i]));
  } else {
    throw model_error("unknown booster '" + kind + "'");
  }
}

// Reads the model in `bytes` (JSON or UBJSON) and checks it; json_error and model_error
// both come out as model_error.
void check_model_bytes(std::span<const char> bytes, model_kind kind) {
  try {
    if (kind == model_kind::json) check_model(detail::json_parser::parse(std::string_view(bytes.data(), bytes.size())));
    else check_model(detail::ubjson_parser::parse(bytes));
  } catch (const detail::json_error& e) {
    throw model_error(e.what());
  }
}

}  // namespace

struct xgboost_predictor::booster {
  BoosterHandle handle = nullptr;
  booster() = default;
  booster(const booster&) = delete;
  booster& operator=(const booster&) = delete;
  ~booster() { free_booster(handle); }
};

std::string last_xgboost_log() {
  std::lock_guard lock(log_mutex);
  return log_lines;
}

xgboost_predictor::xgboost_predictor(std::unique_ptr<booster> b) : booster_(std::move(b)) {
  bst_ulong features = 0;
  check(XGBoosterGetNumFeature(booster_->handle, &features), "reading the number of features");
  num_features_ = static_cast<std::size_t>(features);
  int rounds = 0;
  check(XGBoosterBoostedRounds(booster_->handle, &rounds), "reading the number of rounds");
  num_trees_ = static_cast<std::size_t>(std::max(rounds, 0));
}

xgboost_predictor::xgboost_predictor(xgboost_predictor&&) noexcept = default;
xgboost_predictor& xgboost_predictor::operator=(xgboost_predictor&&) noexcept = default;
xgboost_predictor::~xgboost_predictor() = default;

xgboost_predictor::booster& xgboost_predictor::live() const {
  if (!booster_ || !mutex_) throw model_error("xgboost: this predictor was moved from");
  return *booster_;
}

xgboost_predictor xgboost_predictor::train(const feature_matrix& rows, std::span<const float> labels,
                                           const training_params& params) {
  if (rows.rows() == 0) throw model_error("xgboost: cannot train on an empty dataset (0 rows)");
  if (rows.cols() == 0) throw model_error("xgboost: cannot train on rows without features (0 columns)");
  if (labels.size() != static_cast<std::size_t>(rows.rows()))
    throw feature_error("xgboost: " + std::to_string(labels.size()) + " labels for " + std::to_string(rows.rows()) +
                        " training rows");
  check_batch(rows, static_cast<std::size_t>(rows.cols()), labels);  // infinite features
  for (std::size_t i = 0; i < labels.size(); ++i)
    if (!std::isfinite(labels[i]))
      throw model_error("xgboost: label " + std::to_string(i) + " is " + float_text(labels[i]) +
                        "; labels must be finite");
  if (params.rounds < 1) throw model_error("xgboost: rounds is " + std::to_string(params.rounds) + "; it must be >= 1");
  quiet_this_thread();

  dmatrix train_set;
  const auto n = static_cast<std::size_t>(rows.rows());
  if (params.sketch_rows > 0 && n > 2 * params.sketch_rows) {
    // Bin edges from rows drawn at random (a fixed stride could fall in step with a
    // pattern in the rows and miss a column's values); the whole matrix binned on them.
    feature_matrix sample(static_cast<Eigen::Index>(params.sketch_rows), rows.cols());
    std::mt19937_64 rng(params.seed);
    for (std::size_t i = 0; i < params.sketch_rows; ++i)
      sample.row(static_cast<Eigen::Index>(i)) = rows.row(static_cast<Eigen::Index>(rng() % n));
    dmatrix reference, proxy;
    check(XGDMatrixCreateFromMat_omp(sample.data(), static_cast<bst_ulong>(sample.rows()),
                                     static_cast<bst_ulong>(sample.cols()), std::numeric_limits<float>::quiet_NaN(),
                                     &reference.handle, std::max(params.nthread, 1)),
          "building the sketch sample");
    check(XGProxyDMatrixCreate(&proxy.handle), "creating the data proxy");
    single_batch batch{proxy.handle, &rows, false, {}};
    const std::string config = "{\"missing\": NaN, \"nthread\": " + std::to_string(std::max(params.nthread, 1)) +
                               ", \"max_bin\": " + std::to_string(params.max_bin) + "}";
    const int rc = XGQuantileDMatrixCreateFromCallback(&batch, proxy.handle, reference.handle, single_batch::reset,
                                                        single_batch::next, config.c_str(), &train_set.handle);
    if (!batch.error.empty()) throw model_error("xgboost: handing over the training rows: " + batch.error);
    check(rc, "building the training matrix on the sample's bin edges");
  } else {
    check(XGDMatrixCreateFromMat_omp(rows.data(), static_cast<bst_ulong>(rows.rows()),
                                     static_cast<bst_ulong>(rows.cols()), std::numeric_limits<float>::quiet_NaN(),
                                     &train_set.handle, std::max(params.nthread, 1)),
          "building the training matrix");
  }
  check(XGDMatrixSetFloatInfo(train_set.handle, "label", labels.data(), static_cast<bst_ulong>(labels.size())),
        "setting the labels");
  auto b = std::make_unique<booster>();
  check(XGBoosterCreate(&train_set.handle, 1, &b->handle), "creating the booster");
  const auto set = [&](const char* key, const std::string& value) {
    check(XGBoosterSetParam(b->handle, key, value.c_str()), std::string("setting ") + key + "=" + value);
  };
  set("tree_method", "hist");
  set("objective", params.objective);
  set("max_depth", std::to_string(params.max_depth));
  set("eta", float_text(params.eta));
  set("lambda", float_text(params.lambda));
  set("min_child_weight", float_text(params.min_child_weight));
  set("subsample", float_text(params.subsample));
  set("max_bin", std::to_string(params.max_bin));
  set("nthread", std::to_string(params.nthread));
  set("seed", std::to_string(params.seed));
  for (int round = 0; round < params.rounds; ++round)
    check(XGBoosterUpdateOneIter(b->handle, round, train_set.handle), "training round " + std::to_string(round));
  return xgboost_predictor(std::move(b));
}

xgboost_predictor xgboost_predictor::from_buffer(std::span<const char> bytes) {
  if (bytes.empty()) throw model_error("xgboost: the model is empty (0 bytes)");
  const model_kind kind = detect(bytes);
  if (kind == model_kind::unknown)
    throw model_error("xgboost: not an xgboost model (neither JSON, UBJSON nor xgboost's binary format; " +
                      std::to_string(bytes.size()) + " bytes)");
  if (kind == model_kind::binary) throw model_error(binary_format_refused(bytes.size()));
  try {
    check_model_bytes(bytes, kind);
  } catch (const model_error& e) {
    throw model_error(std::string("xgboost: a corrupt ") + kind_name(kind) + " model (" +
                      std::to_string(bytes.size()) + " bytes): " + e.what());
  }
  quiet_this_thread();
  auto b = std::make_unique<booster>();
  check(XGBoosterCreate(nullptr, 0, &b->handle), "creating the booster");
  check(XGBoosterLoadModelFromBuffer(b->handle, bytes.data(), static_cast<bst_ulong>(bytes.size())),
        std::string("loading a ") + kind_name(kind) + " model of " + std::to_string(bytes.size()) + " bytes");
  // Scoring stays on the calling thread: a loaded booster would otherwise use every core.
  check(XGBoosterSetParam(b->handle, "nthread", "1"), "setting nthread=1");
  xgboost_predictor out(std::move(b));
  if (out.num_features_ == 0) throw model_error("xgboost: the model has no features (num_feature 0)");
  return out;
}

xgboost_predictor xgboost_predictor::load(const std::filesystem::path& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) throw model_error(path.string() + ": is a directory, not a model file");
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const int err = errno;
    throw model_error(path.string() + ": cannot open the model file: " + (err != 0 ? std::strerror(err) : "unknown error"));
  }
  const std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw model_error(path.string() + ": cannot read the model file");
  try {
    return from_buffer(bytes);
  } catch (const model_error& e) {
    throw model_error(path.string() + ": " + e.what());
  }
}

std::vector<char> xgboost_predictor::to_buffer(model_format format) const {
  booster& b = live();
  quiet_this_thread();
  bst_ulong length = 0;
  const char* data = nullptr;
  const char* config = format == model_format::json ? "{\"format\":\"json\"}" : "{\"format\":\"ubj\"}";
  std::lock_guard lock(*mutex_);
  check(XGBoosterSaveModelToBuffer(b.handle, config, &length, &data), "saving the model");
  return {data, data + length};
}

std::string xgboost_predictor::to_json() const {
  const auto bytes = to_buffer(model_format::json);
  return {bytes.begin(), bytes.end()};
}

void xgboost_predictor::save(const std::filesystem::path& path, model_format format) const {
  const auto bytes = to_buffer(format);
  // Write beside the target and rename over it: a reader never sees half a model.
  std::filesystem::path partial = path;
  partial += ".partial";
  {
    std::ofstream out(partial, std::ios::binary | std::ios::trunc);
    if (!out) throw model_error(path.string() + ": cannot write the model file: " + std::strerror(errno));
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.close();
    if (!out) {
      std::error_code ignored;
      std::filesystem::remove(partial, ignored);
      throw model_error(path.string() + ": writing the model file failed");
    }
  }
  std::error_code ec;
  std::filesystem::rename(partial, path, ec);
  if (ec) {
    std::error_code ignored;
    std::filesystem::remove(partial, ignored);
    throw model_error(path.string() + ": cannot write the model file: " + ec.message());
  }
}

void xgboost_predictor::predict(const feature_matrix& rows, std::span<float> out) const {
  booster& b = live();
  check_batch(rows, num_features_, out);
  if (rows.rows() == 0) return;
  quiet_this_thread();
  // The batch in place, as a numpy-style __array_interface__: xgboost reads the
  // row-major buffer directly (no DMatrix, no copy). NaN marks a missing value.
  char array[192];
  std::snprintf(array, sizeof array,
                "{\"data\":[%ju,true],\"shape\":[%td,%td],\"typestr\":\"%cf4\",\"version\":3}",
                static_cast<std::uintmax_t>(reinterpret_cast<std::uintptr_t>(rows.data())), rows.rows(), rows.cols(),
                std::endian::native == std::endian::little ? '<' : '>');
  // type 0: transformed predictions (probabilities for logistic objectives).
  static constexpr char config[] =
      "{\"type\":0,\"training\":false,\"iteration_begin\":0,\"iteration_end\":0,\"strict_shape\":false,"
      "\"missing\":NaN,\"cache_id\":0}";
  const bst_ulong* shape = nullptr;
  bst_ulong dims = 0;
  const float* result = nullptr;
  std::lock_guard lock(*mutex_);
  check(XGBoosterPredictFromDense(b.handle, array, config, nullptr, &shape, &dims, &result),
        "predicting " + std::to_string(rows.rows()) + " rows");
  bst_ulong values = 1;
  for (bst_ulong d = 0; d < dims; ++d) values *= shape[d];
  if (values != out.size())
    throw model_error("xgboost: predicted " + std::to_string(values) + " values for " + std::to_string(out.size()) +
                      " rows (a multi-output model?)");
  std::copy(result, result + values, out.begin());
}

std::string xgboost_predictor::version() const {
  int major = 0, minor = 0, patch = 0;
  XGBoostVersion(&major, &minor, &patch);
  return "xgboost " + std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(patch) + ", " +
         std::to_string(num_trees_) + " rounds, " + std::to_string(num_features_) + " features";
}

}  // namespace prescient::learn
