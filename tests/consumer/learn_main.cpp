// A host program that uses the learning part (prescient::learn) alone: trains a tiny
// forest through xgboost and scores a row with its compiled copy.
#include <prescient/learn/xgboost_predictor.hpp>

#include <cmath>
#include <vector>

int main() {
  prescient::learn::feature_matrix rows(64, 2);
  std::vector<float> labels(64);
  for (int i = 0; i < 64; ++i) {
    rows(i, 0) = static_cast<float>(i);
    rows(i, 1) = static_cast<float>(i % 3);
    labels[static_cast<std::size_t>(i)] = i < 32 ? 0.0f : 1.0f;
  }
  prescient::learn::training_params p;
  p.rounds = 2;
  const auto model = prescient::learn::xgboost_predictor::train(rows, labels, p);
  const auto forest = model.compile();
  const float row[2] = {50.0f, 1.0f};
  return std::isfinite(forest.predict_row(row)) && forest.num_features() == 2 ? 0 : 1;
}
