// prescient/policy/learned/shared_model.hpp — the learned policy inside a
// concurrent_cache: one model and one trainer for every shard.
//
// A concurrent_cache is S shards, each a cache with its own learned policy: its own
// per-key histories, candidates, panel and referee, all in the shard's own logical time
// (its request counter). Keys are spread over the shards by hash, so every shard sees
// the same process at 1/S of the rate, and a row written in one shard's time means what
// it means in any other's. What is learned is shared:
//
//   shard i ── train(): its newest labelled rows ──► shared_model::contribute(i, rows)
//                                                         │ (under the model's mutex: a move)
//   trainer thread (one, whatever S) ◄── wakes when half the shards have new rows,
//     trains on every shard's latest rows together, publishes the model:
//     pointer swapped under the mutex, then `version` bumped (an atomic)
//                                                         │
//   shard i ── every request: one atomic load of `version`; when it moved, copies the
//     pointer (the mutex, briefly) and installs it. Scoring reads the shard's own copy:
//     no shard ever waits for a training, and a swap never blocks a score.
//
// So there is one model in memory (the shards hold pointers to the same immutable
// predictor), one training thread, and each training sees rows from all the traffic.
// A shard labels its rows in its own unit of time (a share of its censoring window, so
// of its resident entries: learned_config::label_unit); shards hold about as many
// entries, but not exactly, and not while they fill. The trainer puts every shard's
// labels in one unit — the mean of theirs, each label's gap unchanged — and publishes
// the model with that unit, which is the one every shard reads its scores in.
// concurrent_cache calls `prepare_shards` before building the shards: it defaults the
// trainer (refusing, as the policy itself does, one that could never train), creates the
// shared model, and scales what counts requests or rows per shard by 1/S — the first
// model, the retrain intervals, the training ring and the rows per training — so the
// whole cache trains about when one cache of the same capacity would, on about as many
// rows, and the S rings together hold one ring's rows. `training_mode::off` shares
// nothing (a fixed model, or none). Whole-cache statistics: the shards' learned_stats
// added up (`+=`), plus the trainer's (retrains, failures, time) once.
//
// A learned policy that could never train — no `trainer` given and no default trainer
// for its predictor (compiled_forest's is in learn/forest_trainer.hpp) — is refused at
// construction with config_error, unless its mode is `off`.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "prescient/learn/predictor.hpp"
#include "prescient/learn/trainer.hpp"
#include "prescient/policy/any_policy.hpp"
#include "prescient/policy/learned/config.hpp"
#include "prescient/policy/learned/stats.hpp"

namespace prescient::policy {

/// Adds `b`'s counters to `a`'s (whole-cache statistics from the shards'). What is not a
/// count: `model_active` is true when a model decides in either; `last_training_rows` and
/// `last_training_span` are `b`'s when it has them; `heuristic` and `last_error` stay `a`'s unless empty.
inline learned_stats& operator+=(learned_stats& a, const learned_stats& b) {
  a.model_evictions += b.model_evictions;
  a.fallback_evictions += b.fallback_evictions;
  a.recency_evictions += b.recency_evictions;
  a.panel_evictions += b.panel_evictions;
  a.model_epochs += b.model_epochs;
  a.lru_epochs += b.lru_epochs;
  a.heuristic_switches += b.heuristic_switches;
  a.guarded_epochs += b.guarded_epochs;
  a.guard_trips += b.guard_trips;
  a.guard_restarts += b.guard_restarts;
  a.routs += b.routs;
  a.admissions += b.admissions;
  a.bypasses += b.bypasses;
  a.rankings += b.rankings;
  a.rows_scored += b.rows_scored;
  a.rows_screened_out += b.rows_screened_out;
  a.samples += b.samples;
  a.labelled += b.labelled;
  a.expired_rows += b.expired_rows;
  a.retrains += b.retrains;
  a.last_training_rows = b.last_training_rows != 0 ? b.last_training_rows : a.last_training_rows;
  a.last_training_span = b.last_training_span != 0 ? b.last_training_span : a.last_training_span;
  a.training_failures += b.training_failures;
  a.model_failures += b.model_failures;
  a.training_seconds += b.training_seconds;
  a.training_wait_seconds += b.training_wait_seconds;
  a.inference_seconds += b.inference_seconds;
  a.true_positives += b.true_positives;
  a.false_positives += b.false_positives;
  a.false_negatives += b.false_negatives;
  a.true_negatives += b.true_negatives;
  a.model_active = a.model_active || b.model_active;
  if (a.heuristic.empty()) a.heuristic = b.heuristic;
  if (a.last_error.empty()) a.last_error = b.last_error;
  return a;
}

/// One model for the shards of a concurrent_cache, and the one thread that trains it.
template <class Predictor>
class shared_model {
 public:
  using model_ptr = std::shared_ptr<const Predictor>;

  /// `shards`: how many policies will `join`; a training starts once half of them (at
  /// least one) have handed over rows since the last.
  shared_model(learn::trainer<Predictor> trainer, std::size_t shards, std::size_t feature_count)
      : trainer_(std::move(trainer)), shards_(std::max<std::size_t>(shards, 1)), features_(feature_count),
        rows_(shards_), labels_(shards_), units_(shards_, 1.0), fresh_(shards_, 0) {
    thread_ = std::thread([this] { run(); });
  }
  ~shared_model() {
    {
      std::lock_guard lock(mutex_);
      stop_ = true;
    }
    wake_.notify_one();
    idle_.notify_all();
    thread_.join();
  }
  shared_model(const shared_model&) = delete;
  shared_model& operator=(const shared_model&) = delete;

  /// A shard's number (the order the shards' policies are built in).
  std::size_t join() noexcept { return joined_.fetch_add(1, std::memory_order_relaxed) % shards_; }

  /// Shard `shard`'s newest labelled rows (they replace its previous ones), labelled
  /// log1p(gap / unit) (learn::label_config::unit); `unit` 0: labels of another kind
  /// (classification), trained on as they are. Never waits for a training: a move under
  /// the mutex.
  void contribute(std::size_t shard, learn::feature_matrix&& x, std::vector<float>&& y, double unit = 1.0) {
    {
      std::lock_guard lock(mutex_);
      rows_[shard] = std::move(x);
      labels_[shard] = std::move(y);
      units_[shard] = unit;
      fresh_[shard] = 1;
    }
    wake_.notify_one();
  }

  /// Bumped after every model published: a shard polls it on every request.
  [[nodiscard]] std::uint64_t version() const noexcept { return version_.load(std::memory_order_acquire); }
  /// The newest model (null before the first).
  [[nodiscard]] model_ptr model() const {
    std::lock_guard lock(mutex_);
    return model_;
  }
  /// The newest model and the unit of the labels it was trained on (read together).
  [[nodiscard]] std::pair<model_ptr, double> model_and_unit() const {
    std::lock_guard lock(mutex_);
    return {model_, model_unit_};
  }

  /// Retrains, failures, training time and the last training's rows and error.
  void add_stats(learned_stats& total) const {
    std::lock_guard lock(mutex_);
    total.retrains += stats_.retrains;
    total.training_failures += stats_.training_failures;
    total.training_seconds += stats_.training_seconds;
    total.last_training_rows = stats_.last_training_rows;
    if (!stats_.last_error.empty()) total.last_error = stats_.last_error;
  }
  /// Trainings started so far (tests).
  [[nodiscard]] std::uint64_t trainings() const {
    std::lock_guard lock(mutex_);
    return trainings_;
  }

  /// Waits until no training is running or due, so that the next request installs
  /// every model the rows handed over so far asked for. For a harness that replays a
  /// trace as fast as it can and wants training to take no time in requests, as in the
  /// synchronous simulator (bench/host_replay_bench's settled replay); a host serving
  /// requests never needs it.
  void wait_idle() const {
    std::unique_lock lock(mutex_);
    idle_.wait(lock, [&] { return stop_ || (!running_ && !due()); });
  }

 private:
  // The unit the labels are trained in: the mean of the shards' (those with rows and a
  // unit); 0 when none has one (classification labels).
  [[nodiscard]] double common_unit() const {
    double sum = 0;
    std::size_t n = 0;
    for (std::size_t s = 0; s < shards_; ++s)
      if (rows_[s].rows() > 0 && units_[s] > 0) {
        sum += units_[s];
        ++n;
      }
    return n > 0 ? sum / static_cast<double>(n) : 0.0;
  }

  [[nodiscard]] bool due() const {
    std::size_t n = 0;
    for (const auto f : fresh_) n += f;
    return n > 0 && 2 * n >= shards_;
  }

  void run() {
    std::unique_lock lock(mutex_);
    for (;;) {
      wake_.wait(lock, [&] { return stop_ || due(); });
      if (stop_) return;
      // Every shard's latest rows, fresh or not, in one dataset.
      Eigen::Index n = 0;
      for (const auto& r : rows_) n += r.rows();
      learn::feature_matrix x(n, static_cast<Eigen::Index>(features_));
      std::vector<float> y;
      y.reserve(static_cast<std::size_t>(n));
      const double unit = common_unit();
      struct span_unit {
        std::size_t from, to;
        double ratio;  // the shard's unit / the common unit
      };
      std::vector<span_unit> rescale;  // the shards' labels to put in the common unit
      Eigen::Index at = 0;
      for (std::size_t s = 0; s < shards_; ++s) {
        if (rows_[s].rows() == 0) continue;
        x.middleRows(at, rows_[s].rows()) = rows_[s];
        at += rows_[s].rows();
        const std::size_t from = y.size();
        y.insert(y.end(), labels_[s].begin(), labels_[s].end());
        if (units_[s] > 0 && unit > 0 && units_[s] != unit) rescale.push_back({from, y.size(), units_[s] / unit});
      }
      std::fill(fresh_.begin(), fresh_.end(), 0);
      ++trainings_;
      running_ = true;
      lock.unlock();
      for (const span_unit& r : rescale)  // the same gap in the common unit, off the mutex
        for (std::size_t i = r.from; i < r.to; ++i)
          y[i] = static_cast<float>(std::log1p(std::expm1(static_cast<double>(y[i])) * r.ratio));
      model_ptr m;
      std::string error;
      const auto start = std::chrono::steady_clock::now();
      try {
        m = trainer_(x, std::span<const float>(y));
        if (!m) error = "trainer returned no model";
        else if (m->num_features() != features_) error = "model expects " + std::to_string(m->num_features()) + " features";
      } catch (const std::exception& e) {
        error = e.what();
      }
      const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      lock.lock();
      stats_.training_seconds += seconds;
      stats_.last_training_rows = static_cast<std::uint64_t>(n);
      if (error.empty()) {
        model_ = std::move(m);
        model_unit_ = unit > 0 ? unit : 1.0;
        ++stats_.retrains;
        version_.fetch_add(1, std::memory_order_release);
      } else {
        ++stats_.training_failures;
        stats_.last_error = std::move(error);
      }
      running_ = false;
      idle_.notify_all();
    }
  }

  learn::trainer<Predictor> trainer_;
  const std::size_t shards_;
  const std::size_t features_;
  std::atomic<std::size_t> joined_{0};
  std::atomic<std::uint64_t> version_{0};
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  mutable std::condition_variable idle_;  // a training finished (wait_idle)
  // Under mutex_:
  std::vector<learn::feature_matrix> rows_;  // per shard: its latest rows
  std::vector<std::vector<float>> labels_;
  std::vector<double> units_;        // per shard: its labels' unit (0: not rescaled)
  std::vector<std::uint8_t> fresh_;  // per shard: rows handed over since the last training
  model_ptr model_;
  double model_unit_ = 1.0;  // the unit of the labels model_ was trained on
  learned_stats stats_;
  std::uint64_t trainings_ = 0;
  bool running_ = false;  // a training is under way (off the mutex)
  bool stop_ = false;
  std::thread thread_;  // last: started once everything above is built
};

namespace detail {

inline constexpr std::string_view no_trainer_message =
    "prescient: the learned policy has no trainer, so it would never learn: include "
    "prescient/learn/forest_trainer.hpp (compiled_forest's trainer), set config.trainer, or set "
    "config.mode = training_mode::off to run a fixed config.model";

/// The trainer a learned policy uses when its config names none (empty when its
/// predictor has no default trainer).
template <class Predictor>
learn::trainer<Predictor> default_trainer_for(bool classify) {
  if constexpr (requires { learn::default_trainer<Predictor>::train(learn::feature_matrix{}, std::span<const float>{}); }) {
    if (classify)
      return [](const learn::feature_matrix& x, std::span<const float> y) {
        return learn::default_trainer<Predictor>::train_classifier(x, y);
      };
    return [](const learn::feature_matrix& x, std::span<const float> y) { return learn::default_trainer<Predictor>::train(x, y); };
  } else {
    return {};
  }
}

/// concurrent_cache's set-up of its shards' configuration (before any shard is built):
/// one shared model and trainer, and the per-shard scaling described above.
template <class Predictor, class BaseConfig>
void prepare_shards(learned_config<Predictor, BaseConfig>& c, std::size_t shards, std::uint64_t /*capacity*/) {
  c.shards = std::max<std::size_t>(shards, 1);
  if (c.mode == training_mode::off || c.shared) return;
  if (!c.trainer) c.trainer = default_trainer_for<Predictor>(c.classify);
  if (!c.trainer) throw config_error(std::string(no_trainer_message));
  const auto per_shard = [&](auto v, decltype(v) least) { return std::max<decltype(v)>(least, v / shards); };
  c.first_model = per_shard(c.first_model, std::uint64_t{1});
  c.first_retrain = per_shard(c.first_retrain, std::uint64_t{1});
  c.retrain_every = per_shard(c.retrain_every, std::uint64_t{1});
  c.training_rows = per_shard(c.training_rows, std::size_t{16});
  c.min_training_rows = per_shard(c.min_training_rows, std::size_t{1});
  c.max_training_rows = per_shard(c.max_training_rows, std::size_t{1});
  c.mode = training_mode::background;  // never on a request thread; the shards hand rows to the trainer
  c.shared = std::make_shared<shared_model<Predictor>>(c.trainer, shards, learn::feature_count);
}

/// What the shards share, added once to the sum of their statistics.
template <class Predictor, class BaseConfig>
void add_shared_stats(const learned_config<Predictor, BaseConfig>& c, learned_stats& total) {
  if (c.shared) c.shared->add_stats(total);
}

}  // namespace detail

}  // namespace prescient::policy
