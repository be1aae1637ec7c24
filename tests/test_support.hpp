// tests/test_support.hpp — small helpers shared by the concurrency tests.
#pragma once

#include <chrono>
#include <thread>

namespace prescient::test {

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

}  // namespace prescient::test
