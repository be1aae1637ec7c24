// libFuzzer target: xgboost_predictor::from_buffer, the xgboost-backed loader (JSON and
// UBJSON, told apart by content; the binary format is refused). Its checks run before
// xgboost reads a byte, so whatever passes them must not crash xgboost (xgboost itself is
// not instrumented: ASan still sees its memory errors, and a crash is a crash).
// Properties: the only exception is model_error; a model that loads scores the fixed rows
// of model_fuzz.hpp to finite values; and when compiled_forest also reads the bytes, the
// two agree on every row (to 1e-4, relative above 1: the same trees, summed in float in
// the same order).
#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "model_fuzz.hpp"
#include "prescient/learn/xgboost_predictor.hpp"

namespace learn = prescient::learn;
namespace fuzz = prescient::fuzz;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const char> bytes(reinterpret_cast<const char*>(data), size);
  try {
    const learn::xgboost_predictor model = learn::xgboost_predictor::from_buffer(bytes);
    const std::size_t n = model.num_features();
    if (n == 0) __builtin_trap();
    if (n > fuzz::max_features) return 0;
    const learn::feature_matrix batch = fuzz::fixed_batch(n);
    std::vector<float> ours(fuzz::fixed_rows);
    model.predict(batch, ours);
    for (const float s : ours)
      if (!std::isfinite(s)) __builtin_trap();
    try {
      // The rule of compiled_forest::load: UBJSON opens with '{' and a type marker.
      const bool ubjson = size >= 2 && data[0] == '{' && std::isalpha(data[1]) != 0;
      const learn::compiled_forest forest = ubjson ? learn::compiled_forest::from_ubjson(bytes)
                                                   : learn::compiled_forest::from_json(std::string_view(bytes.data(), size));
      if (forest.num_features() != n) __builtin_trap();
      std::vector<float> compiled(fuzz::fixed_rows);
      forest.predict(batch, compiled);
      for (std::size_t r = 0; r < compiled.size(); ++r)
        if (!(std::fabs(compiled[r] - ours[r]) <= 1e-4f * std::max(1.0f, std::fabs(ours[r])))) __builtin_trap();
    } catch (const learn::model_error&) {
      // A kind of model the compiled forest does not run (dart, gblinear, multi-class…).
    }
  } catch (const learn::model_error&) {
  }
  return 0;
}
