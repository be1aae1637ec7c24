// prescient/detail/spin_then_park_mutex.hpp — concurrent_cache's default shard lock: a
// std::mutex that a thread first tries for a short while before it sleeps on it.
//
// A shard's lock is held for a write (an insert, an eviction, the buffered hits told to
// the policy): a few hundred nanoseconds. A std::mutex found held puts the thread to
// sleep in the kernel (a futex wait, then a wake-up and a context switch for both
// threads: microseconds), so under a mix of hits and writes from two threads most of
// the time went to sleeping and waking — 11,000–12,000 context switches per second of
// concurrent_hit_bench's mixed/lru row, where spinning first leaves 1,500
// (docs/benchmarks.md). So `lock` tries `kSpins` times, with a pause between tries,
// before it blocks; uncontended, it is one successful try_lock, as std::mutex is. Like
// glibc's adaptive mutexes and absl::Mutex's spin phase, without their portability cost.
#pragma once

#include <mutex>

namespace prescient::detail {

class spin_then_park_mutex {
 public:
  /// Tries before sleeping: about 1–4 µs of pauses on x86 (a pause is ~40–140 cycles),
  /// several times a shard's longest usual hold.
  static constexpr int kSpins = 64;

  void lock() {
    for (int i = 0; i < kSpins; ++i) {
      if (m_.try_lock()) return;
      pause();
    }
    m_.lock();
  }
  bool try_lock() { return m_.try_lock(); }
  void unlock() { m_.unlock(); }

 private:
  static void pause() noexcept {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    asm volatile("yield");
#endif
  }

  std::mutex m_;
};

}  // namespace prescient::detail
