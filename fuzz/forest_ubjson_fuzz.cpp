// libFuzzer target: compiled_forest::from_ubjson, xgboost's UBJSON model format read
// without xgboost. The only exception it may throw is model_error (memory stays within a
// small multiple of the input: -rss_limit_mb catches a blow-up); a model that loads must
// score the fixed rows of model_fuzz.hpp to finite values, the same through every path.
#include <cstddef>
#include <cstdint>
#include <span>

#include "model_fuzz.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const char> bytes(reinterpret_cast<const char*>(data), size);
  try {
    prescient::fuzz::check_forest(prescient::learn::compiled_forest::from_ubjson(bytes));
  } catch (const prescient::learn::model_error&) {
  }
  return 0;
}
