// xgboost_predictor: the C API wrapper. See include/prescient/learn/xgboost_predictor.hpp.
#include "prescient/learn/xgboost_predictor.hpp"

#include <xgboost/c_api.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <mutex>
#include <sstream>

namespace prescient::learn {
namespace {

std::mutex log_mutex;
std::string log_lines;  // the last few KiB of xgboost's log

void capture_log(const char* message) {
  std::lock_guard lock(log_mutex);
  log_lines.append(message ? message : "");
  log_lines.push_back('\n');
  if (log_lines.size() > 8192) log_lines.erase(0, log_lines.size() - 4096);
}

// Once per process: silence xgboost and route its log into `log_lines`.
void quiet_xgboost() {
  static std::once_flag once;
  std::call_once(once, [] {
    XGBRegisterLogCallback(capture_log);
    XGBSetGlobalConfig("{\"verbosity\":0}");
  });
}

void check(int rc, std::string_view what) {
  if (rc != 0) throw model_error("xgboost: " + std::string(what) + ": " + XGBGetLastError());
}

struct dmatrix {
  DMatrixHandle handle = nullptr;
  ~dmatrix() {
    if (handle) XGDMatrixFree(handle);
  }
};

}  // namespace

struct xgboost_predictor::booster {
  BoosterHandle handle = nullptr;
  ~booster() {
    if (handle) XGBoosterFree(handle);
  }
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
  num_trees_ = static_cast<std::size_t>(rounds);
}

xgboost_predictor::xgboost_predictor(xgboost_predictor&&) noexcept = default;
xgboost_predictor& xgboost_predictor::operator=(xgboost_predictor&&) noexcept = default;
xgboost_predictor::~xgboost_predictor() = default;

xgboost_predictor xgboost_predictor::train(const feature_matrix& rows, std::span<const float> labels,
                                           const training_params& params) {
  quiet_xgboost();
  if (rows.rows() == 0 || rows.cols() == 0) throw model_error("xgboost: cannot train on an empty dataset");
  check_batch(rows, static_cast<std::size_t>(rows.cols()), labels);
  for (std::size_t i = 0; i < labels.size(); ++i)
    if (!std::isfinite(labels[i])) throw model_error("xgboost: label " + std::to_string(i) + " is not finite");
  if (params.rounds <= 0) throw model_error("xgboost: rounds must be positive");

  dmatrix train_set;
  check(XGDMatrixCreateFromMat(rows.data(), static_cast<bst_ulong>(rows.rows()), static_cast<bst_ulong>(rows.cols()),
                               std::numeric_limits<float>::quiet_NaN(), &train_set.handle),
        "building the training matrix");
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
  set("eta", std::to_string(params.eta));
  set("lambda", std::to_string(params.lambda));
  set("min_child_weight", std::to_string(params.min_child_weight));
  set("subsample", std::to_string(params.subsample));
  set("max_bin", std::to_string(params.max_bin));
  set("nthread", std::to_string(params.nthread));
  set("seed", std::to_string(params.seed));
  set("verbosity", "0");
  for (int round = 0; round < params.rounds; ++round)
    check(XGBoosterUpdateOneIter(b->handle, round, train_set.handle), "training round " + std::to_string(round));
  return xgboost_predictor(std::move(b));
}

xgboost_predictor xgboost_predictor::from_buffer(std::span<const char> bytes) {
  quiet_xgboost();
  if (bytes.empty()) throw model_error("xgboost: the model is empty");
  auto b = std::make_unique<booster>();
  check(XGBoosterCreate(nullptr, 0, &b->handle), "creating the booster");
  check(XGBoosterLoadModelFromBuffer(b->handle, bytes.data(), static_cast<bst_ulong>(bytes.size())), "loading the model");
  xgboost_predictor out(std::move(b));
  if (out.num_features_ == 0) throw model_error("xgboost: the model has no features");
  return out;
}

xgboost_predictor xgboost_predictor::load(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw model_error("cannot open model file " + path.string());
  const std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (bytes.empty()) throw model_error(path.string() + ": the model file is empty");
  if (bytes.front() != '{')
    throw model_error(path.string() + ": not an xgboost JSON or UBJSON model (it does not start with '{')");
  try {
    return from_buffer(bytes);
  } catch (const model_error& e) {
    throw model_error(path.string() + ": " + e.what());
  }
}

std::vector<char> xgboost_predictor::to_buffer(model_format format) const {
  bst_ulong length = 0;
  const char* data = nullptr;
  const char* config = format == model_format::json ? "{\"format\":\"json\"}" : "{\"format\":\"ubj\"}";
  std::lock_guard lock(*predict_mutex_);
  check(XGBoosterSaveModelToBuffer(booster_->handle, config, &length, &data), "saving the model");
  return {data, data + length};
}

std::string xgboost_predictor::to_json() const {
  const auto bytes = to_buffer(model_format::json);
  return {bytes.begin(), bytes.end()};
}

void xgboost_predictor::save(const std::filesystem::path& path, model_format format) const {
  const auto bytes = to_buffer(format);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  out.close();
  if (!out) throw model_error("cannot write model file " + path.string());
}

void xgboost_predictor::predict(const feature_matrix& rows, std::span<float> out) const {
  check_batch(rows, num_features_, out);
  if (rows.rows() == 0) return;
  dmatrix batch;
  check(XGDMatrixCreateFromMat(rows.data(), static_cast<bst_ulong>(rows.rows()), static_cast<bst_ulong>(rows.cols()),
                               std::numeric_limits<float>::quiet_NaN(), &batch.handle),
        "building the prediction matrix");
  std::lock_guard lock(*predict_mutex_);
  bst_ulong length = 0;
  const float* result = nullptr;
  check(XGBoosterPredict(booster_->handle, batch.handle, 0, 0, 0, &length, &result), "predicting");
  if (length != out.size()) throw model_error("xgboost: predicted " + std::to_string(length) + " values for " +
                                              std::to_string(out.size()) + " rows");
  std::copy(result, result + length, out.begin());
}

std::string xgboost_predictor::version() const {
  int major = 0, minor = 0, patch = 0;
  XGBoostVersion(&major, &minor, &patch);
  return "xgboost " + std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(patch) + ", " +
         std::to_string(num_trees_) + " rounds, " + std::to_string(num_features_) + " features";
}

}  // namespace prescient::learn
