// Writes the model fuzzers' and the LibSVM fuzzer's seed inputs (fuzz/corpus/*): small
// models trained here with xgboost_predictor::train and saved by xgboost in JSON and
// UBJSON (a regression, a classifier with a logistic objective and missing values, a
// stump), and a LibSVM file with missing values and the `<last>:nan` column marker.
// Deterministic (fixed seeds, one thread). Built with the fuzzers, never run by them:
//   build/fuzz/fuzz/make_seed_corpus fuzz/corpus
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "prescient/learn/libsvm.hpp"
#include "prescient/learn/xgboost_predictor.hpp"

namespace learn = prescient::learn;
namespace fs = std::filesystem;

namespace {

void write(const fs::path& p, const std::vector<char>& bytes) {
  std::ofstream(p, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

struct data {
  learn::feature_matrix x;
  std::vector<float> y;
};

data make(Eigen::Index rows, Eigen::Index cols, bool classify, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal;
  data d{learn::feature_matrix(rows, cols), std::vector<float>(static_cast<std::size_t>(rows))};
  for (Eigen::Index r = 0; r < rows; ++r) {
    for (Eigen::Index c = 0; c < cols; ++c)
      d.x(r, c) = (r + 2 * c) % 9 == 0 ? std::numeric_limits<float>::quiet_NaN() : normal(rng);
    const float a = std::isnan(d.x(r, 0)) ? 0 : d.x(r, 0);
    const float b = std::isnan(d.x(r, cols - 1)) ? 0 : d.x(r, cols - 1);
    const float v = a > 0 ? 2 * b : a - b;
    d.y[static_cast<std::size_t>(r)] = classify ? (v > 0.3f ? 1.0f : 0.0f) : v;
  }
  return d;
}

void save(const learn::xgboost_predictor& m, const fs::path& dir, const std::string& name) {
  write(dir / "forest_json" / (name + ".json"), m.to_buffer(learn::model_format::json));
  write(dir / "forest_ubjson" / (name + ".ubj"), m.to_buffer(learn::model_format::ubjson));
  write(dir / "xgboost_model" / (name + ".json"), m.to_buffer(learn::model_format::json));
  write(dir / "xgboost_model" / (name + ".ubj"), m.to_buffer(learn::model_format::ubjson));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_seed_corpus <fuzz/corpus>\n");
    return 2;
  }
  const fs::path dir = argv[1];
  for (const char* sub : {"forest_json", "forest_ubjson", "xgboost_model", "libsvm"}) fs::create_directories(dir / sub);

  learn::training_params p;
  p.rounds = 3;
  p.max_depth = 3;
  const data reg = make(300, 3, false, 1);
  save(learn::xgboost_predictor::train(reg.x, reg.y, p), dir, "regression");

  p.objective = "binary:logistic";
  p.rounds = 2;
  p.max_depth = 2;
  const data cls = make(300, 2, true, 2);
  save(learn::xgboost_predictor::train(cls.x, cls.y, p), dir, "logistic");

  learn::training_params stump;
  stump.rounds = 1;
  stump.max_depth = 1;
  save(learn::xgboost_predictor::train(reg.x, reg.y, stump), dir, "stump");

  // LibSVM: byte 0 is the row width (4); the last column is missing in every row.
  data svm = make(12, 4, false, 3);
  for (Eigen::Index r = 0; r < svm.x.rows(); ++r) svm.x(r, 3) = std::numeric_limits<float>::quiet_NaN();
  std::ofstream out(dir / "libsvm" / "rows", std::ios::binary);
  out << '\x04';
  learn::write_libsvm(out, svm.x, svm.y);
  std::ofstream(dir / "libsvm" / "edges", std::ios::binary) << '\x03' << "1 0:1e-3 2:-0\n\n-2.5 1:nan\t2:3.4028235e38\n0\n";
  return 0;
}
