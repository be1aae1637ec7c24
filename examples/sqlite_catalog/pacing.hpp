// examples/sqlite_catalog/pacing.hpp — requests on a fixed schedule (open loop).
//
// A service receives requests at some rate, with idle time between them; a replay that
// issues them back to back (closed loop) leaves a prefetch no time to land before the
// next request. `open_loop_schedule` makes request i due at start + i × interval and
// waits for it: it sleeps only while more than `spin_below` remains, until that much
// before the due time (sleep_until overshoots by the timer slack and the wake-up, 80 µs
// at the median and 130 µs at p99 on the 2-core VM this was measured on), then yields
// until due. The schedule does not slip: a request whose slot has passed when it comes
// up (the previous ones overran) or that the sleep overshot starts at once and is
// counted late; the next one is still due on its own slot. Interval 0 is back to back:
// no waits, nothing late.
#pragma once

#include <chrono>
#include <cstdint>
#include <thread>

namespace catalog_example {

class open_loop_schedule {
 public:
  using clock = std::chrono::steady_clock;
  static constexpr std::chrono::microseconds spin_below{150};

  explicit open_loop_schedule(std::chrono::microseconds interval, clock::time_point start = clock::now())
      : interval_(interval), start_(start) {}

  /// Waits until request `i` is due; answers whether it starts late.
  bool wait_for(std::uint64_t i) {
    if (interval_.count() == 0) return false;
    const clock::time_point due = start_ + interval_ * static_cast<std::int64_t>(i);
    if (due - clock::now() > spin_below) std::this_thread::sleep_until(due - spin_below);
    if (clock::now() > due) {
      ++late_;
      return true;
    }
    while (clock::now() < due) std::this_thread::yield();
    return false;
  }

  /// The requests that started after their due time.
  [[nodiscard]] std::uint64_t late() const { return late_; }

 private:
  std::chrono::microseconds interval_;
  clock::time_point start_;
  std::uint64_t late_ = 0;
};

}  // namespace catalog_example
