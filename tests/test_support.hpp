// tests/test_support.hpp — small helpers shared by the tests.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <string>
#include <system_error>
#include <random>
#include <thread>
#include <vector>

#include "support/trace_path.hpp"

/// Declares `var`, the path of the trace `file` found on the trace search path
/// (tools/support/trace_path.hpp), or skips the test naming the file and its origin.
#define PRESCIENT_TRACE_OR_SKIP(var, file)                                          \
  std::filesystem::path var;                                                        \
  if (auto found_##var = ::prescient::tools::find_trace(file)) var = *found_##var;  \
  else GTEST_SKIP() << ::prescient::tools::missing_trace_message(file)

namespace prescient::test {

/// `n` keys drawn from [0, universe) with Zipf's law of the given exponent (key k with
/// weight 1/(k+1)^exponent), reproducibly from `seed`.
inline std::vector<std::uint64_t> zipf_keys(std::size_t n, std::uint64_t universe, std::uint32_t seed,
                                            double exponent = 0.9) {
  std::mt19937_64 rng(seed);
  std::vector<double> cdf(universe);
  double sum = 0;
  for (std::uint64_t k = 0; k < universe; ++k) cdf[k] = sum += 1.0 / std::pow(static_cast<double>(k + 1), exponent);
  std::uniform_real_distribution<double> u(0, sum);
  std::vector<std::uint64_t> out(n);
  for (auto& k : out) k = static_cast<std::uint64_t>(std::lower_bound(cdf.begin(), cdf.end(), u(rng)) - cdf.begin());
  return out;
}

/// Waits (bounded) until `pred` holds; false if it never did within `limit`.
template <class P>
bool eventually(P pred, std::chrono::milliseconds limit = std::chrono::seconds(10)) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > end) return false;
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  return true;
}

/// A fresh directory for one test (named after the process and the test), removed
/// with everything in it when the test ends.
class temp_dir {
 public:
  explicit temp_dir(const std::string& prefix = "prescient")
      : path_(std::filesystem::temp_directory_path() /
              (prefix + "_" + std::to_string(::getpid()) + "_" +
               ::testing::UnitTest::GetInstance()->current_test_info()->name())) {
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~temp_dir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  [[nodiscard]] std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

}  // namespace prescient::test
