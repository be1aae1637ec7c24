// libFuzzer target: compiled_forest::from_json, xgboost's JSON model format read without
// xgboost. The only exception it may throw is model_error; a model that loads must score
// the fixed rows of model_fuzz.hpp to finite values, the same through every path.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "model_fuzz.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    prescient::fuzz::check_forest(prescient::learn::compiled_forest::from_json(text));
  } catch (const prescient::learn::model_error&) {
  }
  return 0;
}
