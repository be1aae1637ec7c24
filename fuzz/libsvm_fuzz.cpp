// libFuzzer target: read_libsvm (learn/libsvm.hpp). Byte 0 picks the row width (0..16
// features); the rest is the text. The only exception it may throw is feature_error;
// what parses must round-trip: write_libsvm then read_libsvm gives the same labels and
// values bit for bit, and missing values (NaN) in the same places.
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>

#include "prescient/learn/libsvm.hpp"

namespace learn = prescient::learn;

namespace {
bool same(float a, float b) {
  if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
  return std::bit_cast<std::uint32_t>(a) == std::bit_cast<std::uint32_t>(b);
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::size_t width = data[0] % 17;
  std::istringstream in(std::string(reinterpret_cast<const char*>(data) + 1, size - 1));
  learn::libsvm_data first;
  try {
    first = learn::read_libsvm(in, width);
  } catch (const learn::feature_error&) {
    return 0;
  }
  if (first.rows.cols() != static_cast<Eigen::Index>(width)) __builtin_trap();
  if (first.rows.rows() != static_cast<Eigen::Index>(first.labels.size())) __builtin_trap();
  std::stringstream text;
  learn::write_libsvm(text, first.rows, first.labels);  // must not throw on what was read
  const learn::libsvm_data second = learn::read_libsvm(text, width);
  if (second.labels.size() != first.labels.size() || second.rows.rows() != first.rows.rows()) __builtin_trap();
  for (std::size_t i = 0; i < first.labels.size(); ++i)
    if (!same(first.labels[i], second.labels[i])) __builtin_trap();
  for (Eigen::Index r = 0; r < first.rows.rows(); ++r)
    for (Eigen::Index c = 0; c < first.rows.cols(); ++c)
      if (!same(first.rows(r, c), second.rows(r, c))) __builtin_trap();
  return 0;
}
