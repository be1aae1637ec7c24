// prescient/detail/spin_then_park_mutex.hpp — concurrent_cache's default shard lock: a
// std::mutex that a thread first tries for a short while before it sleeps on it.
//
// A shard's lock is held for a write (an insert, an eviction, the buffered hits told to
// the policy): a few hundred nanoseconds. A std::mutex found held puts the thread to
// sleep in the kernel (a futex wait, then a wake-up and a context switch: microseconds),
// far longer than the hold, and under a mix of hits and writes from several threads
// that is where the time went (docs/benchmarks.md, "A shard lock that spins before it
// sleeps"). So `lock` tries `kSpins` times, with a pause between tries, before it
// blocks; uncontended, it is one successful try_lock, as std::mutex is. The idea of
// glibc's adaptive mutexes and of absl::Mutex's spin phase, on a portable std::mutex.
#pragma once

#include <mutex>

namespace prescient::detail {

/// A spin-wait hint to the core: a pause on x86, a yield on ARM, nothing elsewhere.
inline void cpu_pause() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

class spin_then_park_mutex {
 public:
  /// Tries before sleeping: about 1–4 µs of pauses on x86 (a pause is ~40–140 cycles),
  /// several times a shard's longest usual hold.
  static constexpr int kSpins = 64;

  void lock() {
    for (int i = 0; i < kSpins; ++i) {
      if (m_.try_lock()) return;
      cpu_pause();
    }
    m_.lock();
  }
  bool try_lock() { return m_.try_lock(); }
  void unlock() { m_.unlock(); }

 private:
  std::mutex m_;
};

}  // namespace prescient::detail
