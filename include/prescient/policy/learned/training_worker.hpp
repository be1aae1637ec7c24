// prescient/policy/learned/training_worker.hpp — the background trainer: one thread, one
// training at a time.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "prescient/learn/predictor.hpp"
#include "prescient/learn/trainer.hpp"

namespace prescient::policy::detail {

/// A thread that trains one model at a time. `submit` hands over a dataset if the
/// thread is idle; `poll` collects a finished model (or error) without blocking, `wait`
/// blocking until it is done.
template <class Predictor>
class training_worker {
 public:
  using model_ptr = std::shared_ptr<const Predictor>;
  struct result {
    model_ptr model;
    std::string error;
    double seconds = 0;
  };

  explicit training_worker(learn::trainer<Predictor> train) : train_(std::move(train)) {
    thread_ = std::thread([this] { run(); });
  }
  ~training_worker() {
    {
      std::lock_guard lock(mutex_);
      stop_ = true;
    }
    wake_.notify_one();
    thread_.join();
  }
  training_worker(const training_worker&) = delete;
  training_worker& operator=(const training_worker&) = delete;

  /// False when a training is still running (the dataset is then dropped).
  bool submit(learn::feature_matrix&& x, std::vector<float>&& y) {
    std::lock_guard lock(mutex_);
    if (busy_) return false;
    x_ = std::move(x);
    y_ = std::move(y);
    busy_ = true;
    wake_.notify_one();
    return true;
  }

  /// Blocks until the training in flight is done and returns it (nullopt if none is).
  std::optional<result> wait() {
    std::unique_lock lock(mutex_);
    done_.wait(lock, [&] { return !busy_; });
    ready_.store(false, std::memory_order_relaxed);
    return std::exchange(result_, std::nullopt);
  }

  std::optional<result> poll() {
    if (!ready_.load(std::memory_order_acquire)) return std::nullopt;
    std::lock_guard lock(mutex_);
    ready_.store(false, std::memory_order_relaxed);
    return std::exchange(result_, std::nullopt);
  }

 private:
  void run() {
    std::unique_lock lock(mutex_);
    for (;;) {
      wake_.wait(lock, [&] { return stop_ || (busy_ && !result_); });
      if (stop_) return;
      learn::feature_matrix x = std::move(x_);
      std::vector<float> y = std::move(y_);
      lock.unlock();
      result r;
      const auto start = std::chrono::steady_clock::now();
      try {
        r.model = train_(x, y);
        if (!r.model) r.error = "trainer returned no model";
      } catch (const std::exception& e) {
        r.error = e.what();
      }
      r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      lock.lock();
      result_ = std::move(r);
      busy_ = false;
      ready_.store(true, std::memory_order_release);
      done_.notify_all();
    }
  }

  learn::trainer<Predictor> train_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable done_;
  learn::feature_matrix x_;
  std::vector<float> y_;
  std::optional<result> result_;
  std::atomic<bool> ready_{false};
  bool busy_ = false;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace prescient::policy::detail
