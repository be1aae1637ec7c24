// prescient/executor.hpp — a small fixed pool of worker threads behind a bounded queue.
//
// The prefetcher hands it speculative work (load a predicted key) that must never slow
// the caller down: `try_submit` never waits for room — when the queue is full the task
// is dropped, counted, and `false` comes back. Speculative work is worth less than the
// caller's latency, so dropping is the right answer under load.
//
//   bounded_executor ex(/*threads=*/2, /*queue_capacity=*/256);
//   if (!ex.try_submit([&] { cache.get_or_load(k, loader); })) { /* dropped */ }
//
// * Tasks run on the workers in submission order (FIFO), several at once (one per
//   worker), so tasks that share state must synchronise.
// * A task that throws is caught and counted as `failed`; it never terminates the
//   program or stops its worker.
// * `shutdown(mode)` stops taking tasks, then either DRAINS (runs every queued task
//   before the workers exit) or DISCARDS (queued tasks are destroyed unrun and counted
//   as `discarded`); either way tasks already running finish, and the workers are
//   joined before it returns. The destructor does `shutdown(discard)` — queued
//   prefetches are only guesses. A `try_submit` after shutdown returns false and counts
//   as dropped. `shutdown` is idempotent and may be called from any thread except a
//   worker (it would wait for itself: std::logic_error).
//
// Counters (`stats()`, one consistent snapshot): submitted = accepted tasks;
//   submitted == completed + failed + discarded + queued + running.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <utility>
#include <vector>

namespace prescient {

struct executor_stats {
  std::uint64_t submitted = 0;  ///< tasks accepted by try_submit
  std::uint64_t dropped = 0;    ///< try_submit refused: queue full, or after shutdown
  std::uint64_t completed = 0;  ///< tasks that returned normally
  std::uint64_t failed = 0;     ///< tasks that threw (caught and counted)
  std::uint64_t discarded = 0;  ///< queued tasks destroyed unrun by shutdown(discard)
  std::size_t queued = 0;       ///< waiting in the queue now
  std::size_t running = 0;      ///< being run by a worker now
  friend bool operator==(const executor_stats&, const executor_stats&) = default;
};

class bounded_executor {
 public:
  enum class shutdown_mode {
    drain,    ///< run every queued task, then stop
    discard,  ///< destroy queued tasks unrun (counted as discarded), then stop
  };

  /// `threads` workers (at least 1) and room for `queue_capacity` waiting tasks (at
  /// least 1). The queue's storage is allocated here, once.
  explicit bounded_executor(std::size_t threads = 2, std::size_t queue_capacity = 1024)
      : ring_(queue_capacity == 0 ? 1 : queue_capacity) {
    const std::size_t n = threads == 0 ? 1 : threads;
    workers_.reserve(n);
    try {
      for (std::size_t i = 0; i < n; ++i) workers_.emplace_back([this] { work(); });
    } catch (...) {
      shutdown(shutdown_mode::discard);
      throw;
    }
  }

  bounded_executor(const bounded_executor&) = delete;
  bounded_executor& operator=(const bounded_executor&) = delete;

  ~bounded_executor() { shutdown(shutdown_mode::discard); }

  /// Queues `task` unless the queue is full or the executor is shut down (then false,
  /// counted as dropped). Never waits for room. An empty `task` is refused (false, not
  /// counted).
  bool try_submit(std::function<void()> task) {
    if (!task) return false;
    {
      std::lock_guard lock(mutex_);
      if (stopping_ || count_ == ring_.size()) {
        ++stats_.dropped;
        return false;
      }
      ring_[(head_ + count_) % ring_.size()] = std::move(task);
      ++count_;
      ++stats_.submitted;
    }
    work_ready_.notify_one();
    return true;
  }

  /// Stops and joins the workers; see the header comment for the two modes. Idempotent;
  /// a second call (or the destructor) after a drain discards nothing more.
  void shutdown(shutdown_mode mode = shutdown_mode::drain) {
    if (current_ == this) {
      throw std::logic_error("prescient: bounded_executor::shutdown called from one of its own tasks");
    }
    std::vector<std::function<void()>> doomed;  // destroyed outside the lock
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
      if (mode == shutdown_mode::discard) {
        doomed.reserve(count_);
        for (; count_ > 0; --count_, head_ = (head_ + 1) % ring_.size()) doomed.push_back(std::move(ring_[head_]));
        stats_.discarded += doomed.size();
      }
    }
    work_ready_.notify_all();
    std::lock_guard join_lock(join_mutex_);
    for (auto& w : workers_)
      if (w.joinable()) w.join();
  }

  /// Blocks until the queue is empty and no task is running (tasks submitted meanwhile
  /// are waited for too). For tests and orderly hand-overs.
  void wait_idle() {
    std::unique_lock lock(mutex_);
    idle_.wait(lock, [this] { return count_ == 0 && stats_.running == 0; });
  }

  [[nodiscard]] executor_stats stats() const {
    std::lock_guard lock(mutex_);
    executor_stats s = stats_;
    s.queued = count_;
    return s;
  }

  [[nodiscard]] std::size_t thread_count() const noexcept { return workers_.size(); }
  [[nodiscard]] std::size_t queue_capacity() const noexcept { return ring_.size(); }

 private:
  void work() {
    current_ = this;
    std::unique_lock lock(mutex_);
    for (;;) {
      work_ready_.wait(lock, [this] { return count_ > 0 || stopping_; });
      if (count_ == 0) return;  // stopping, and nothing left to drain
      std::function<void()> task = std::move(ring_[head_]);
      ring_[head_] = nullptr;
      head_ = (head_ + 1) % ring_.size();
      --count_;
      ++stats_.running;
      lock.unlock();
      bool ok = true;
      try {
        task();
      } catch (...) {
        ok = false;
      }
      task = nullptr;  // the task's captures are destroyed before it counts as done
      lock.lock();
      --stats_.running;
      ++(ok ? stats_.completed : stats_.failed);
      if (count_ == 0 && stats_.running == 0) idle_.notify_all();
    }
  }

  mutable std::mutex mutex_;
  std::condition_variable work_ready_;
  std::condition_variable idle_;
  std::vector<std::function<void()>> ring_;  ///< fixed-size circular queue
  std::size_t head_ = 0;
  std::size_t count_ = 0;
  bool stopping_ = false;
  executor_stats stats_;  ///< queued is filled in by stats()
  std::mutex join_mutex_;  ///< serialises concurrent shutdowns' joins
  static inline thread_local const bounded_executor* current_ = nullptr;  ///< a worker's own pool
  std::vector<std::thread> workers_;
};

}  // namespace prescient
