// prescient/policy/learned/model_training.hpp — how a retrain's rows become the learned
// policy's model, in each of its training modes:
//
//   synchronous  the request that starts the retrain trains the model and installs it
//                (deterministic: the simulator's and the tests' mode);
//   background   a worker thread (learned/training_worker.hpp) trains it, and the first
//                request after it is done installs it; a retrain due while one is in
//                flight is skipped;
//   pipelined    the worker trains it, and it is installed at the request `lag_per_row`
//                × its rows after the retrain started — waiting for the worker if it is
//                not done by then — so runs are reproducible while training overlaps
//                the requests; a retrain due while one is in flight installs that one
//                first.
//
// The policy keeps the model and says how one is installed (`install(model, unit)`,
// `unit` the unit of time of its labels); this part counts the time spent training and
// waiting, the retrains and the failures in the policy's stats. A trainer that throws,
// or returns no model, is a failure counted with its message; the policy goes on with
// the model it had.
#pragma once

#include <chrono>
#include <cstdint>
#include <exception>
#include <memory>
#include <span>
#include <thread>
#include <utility>
#include <vector>

#include "prescient/learn/predictor.hpp"
#include "prescient/learn/trainer.hpp"
#include "prescient/policy/learned/config.hpp"
#include "prescient/policy/learned/stats.hpp"
#include "prescient/policy/learned/training_worker.hpp"

namespace prescient::policy::detail {

template <class Predictor>
class model_training {
 public:
  using model_ptr = std::shared_ptr<const Predictor>;

  model_training() = default;
  model_training(training_mode mode, learn::trainer<Predictor> trainer, double lag_per_row)
      : mode_(mode), trainer_(std::move(trainer)), lag_per_row_(lag_per_row) {}

  /// A retrain at request `now` on rows `x`, labels `y` in `unit` (see the header).
  template <class Install>
  void train(learn::feature_matrix x, std::vector<float> y, double unit, std::uint64_t now, learned_stats& stats,
             Install&& install) {
    if (mode_ == training_mode::background) {
      if (!worker_) worker_ = std::make_unique<training_worker<Predictor>>(trainer_);
      if (worker_->submit(std::move(x), std::move(y))) {
        in_flight_ = true;
        unit_ = unit;
      }
      return;
    }
    if (mode_ == training_mode::pipelined) {
      if (!worker_) worker_ = std::make_unique<training_worker<Predictor>>(trainer_);
      if (in_flight_) collect_pipelined(stats, install);  // a lag longer than the interval: install it now
      const auto rows = static_cast<double>(x.rows());
      if (worker_->submit(std::move(x), std::move(y))) {
        in_flight_ = true;
        unit_ = unit;
        install_at_ = now + static_cast<std::uint64_t>(lag_per_row_ * rows);
      }
      return;
    }
    const auto start = std::chrono::steady_clock::now();
    try {
      model_ptr m = trainer_(x, std::span<const float>(y));
      stats.training_seconds += seconds_since(start);
      if (!m) throw learn::model_error("trainer returned no model");
      install(std::move(m), unit);
      ++stats.retrains;
    } catch (const std::exception& e) {
      stats.training_seconds += seconds_since(start);
      ++stats.training_failures;
      stats.last_error = e.what();
    }
  }

  /// After request `now`: installs the model in flight once it is done (background) or
  /// due (pipelined).
  template <class Install>
  void collect(std::uint64_t now, learned_stats& stats, Install&& install) {
    if (!in_flight_) return;
    if (mode_ == training_mode::pipelined) {
      if (now >= install_at_) collect_pipelined(stats, install);
    } else {
      collect_background(stats, install);
    }
  }

  /// Waits for the training in flight, then installs its model (tests; a pipelined
  /// model is then installed before the request it was due at).
  template <class Install>
  void wait(learned_stats& stats, Install&& install) {
    if (!worker_) return;
    if (mode_ == training_mode::pipelined) {
      if (in_flight_) collect_pipelined(stats, install);
      return;
    }
    while (in_flight_ && !collect_background(stats, install)) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }

  /// A training is running on the worker, its model not yet installed.
  [[nodiscard]] bool in_flight() const { return in_flight_; }

 private:
  static double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }

  // The model of the retrain in flight, at the request it was due (the thread is
  // usually done by then; if not, this request waits for it).
  template <class Install>
  void collect_pipelined(learned_stats& stats, Install& install) {
    const auto start = std::chrono::steady_clock::now();
    auto r = worker_->wait();
    stats.training_wait_seconds += seconds_since(start);
    in_flight_ = false;
    if (r) take(*r, stats, install);
  }

  template <class Install>
  bool collect_background(learned_stats& stats, Install& install) {
    auto r = worker_->poll();
    if (!r) return false;
    in_flight_ = false;
    take(*r, stats, install);
    return true;
  }

  // A training the worker finished: its model installed, or its failure counted.
  template <class Install>
  void take(typename training_worker<Predictor>::result& r, learned_stats& stats, Install& install) {
    stats.training_seconds += r.seconds;
    if (r.model) {
      install(std::move(r.model), unit_);
      ++stats.retrains;
    } else {
      ++stats.training_failures;
      stats.last_error = r.error;
    }
  }

  training_mode mode_ = training_mode::synchronous;
  learn::trainer<Predictor> trainer_;
  double lag_per_row_ = 0;
  std::unique_ptr<training_worker<Predictor>> worker_;
  bool in_flight_ = false;
  double unit_ = 1.0;             // the unit of the labels of the training in flight
  std::uint64_t install_at_ = 0;  // pipelined: the request at which the model in flight is installed
};

}  // namespace prescient::policy::detail
