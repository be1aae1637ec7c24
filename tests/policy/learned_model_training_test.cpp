// The learned policy's training modes (policy/learned/model_training.hpp), with a fake
// model and trainer: synchronous training installs at once, counts the retrain and its
// time, and counts a trainer that throws or returns nothing as a failure with its
// message; pipelined training installs at the request `lag_per_row` × rows after it
// started, not before, and a retrain while one is in flight installs that one first;
// background training installs when the worker is done, and a retrain while one runs is
// skipped.
#include "prescient/policy/learned/model_training.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <memory>
#include <stdexcept>
#include <vector>

namespace {

using prescient::policy::learned_stats;
using prescient::policy::training_mode;
using prescient::policy::detail::model_training;
namespace learn = prescient::learn;

struct fake_model {
  long rows;  // the rows it was trained on: which training made it
};
using model_ptr = std::shared_ptr<const fake_model>;

learn::feature_matrix rows(long n) { return learn::feature_matrix::Zero(n, learn::feature_count); }
std::vector<float> labels(long n) { return std::vector<float>(static_cast<std::size_t>(n), 1.0f); }

// Records what was installed, and with which unit.
struct installs {
  std::vector<long> models;
  std::vector<double> units;
  auto installer() {
    return [this](model_ptr m, double unit) {
      models.push_back(m->rows);
      units.push_back(unit);
    };
  }
};

learn::trainer<fake_model> counting_trainer() {
  return [](const learn::feature_matrix& x, std::span<const float>) {
    return std::make_shared<const fake_model>(fake_model{static_cast<long>(x.rows())});
  };
}

TEST(LearnedModelTraining, SynchronousInstallsAtOnceAndCountsFailures) {
  learned_stats stats;
  installs in;
  model_training<fake_model> sync(training_mode::synchronous, counting_trainer(), 0.0);
  sync.train(rows(7), labels(7), 2.5, 100, stats, in.installer());
  EXPECT_EQ(in.models, (std::vector<long>{7}));
  EXPECT_EQ(in.units, (std::vector<double>{2.5}));
  EXPECT_EQ(stats.retrains, 1u);
  EXPECT_EQ(stats.training_failures, 0u);
  EXPECT_FALSE(sync.in_flight());

  model_training<fake_model> throws(training_mode::synchronous,
                                    [](const learn::feature_matrix&, std::span<const float>) -> model_ptr {
                                      throw std::runtime_error("out of trees");
                                    },
                                    0.0);
  throws.train(rows(3), labels(3), 1.0, 200, stats, in.installer());
  EXPECT_EQ(stats.training_failures, 1u);
  EXPECT_EQ(stats.last_error, "out of trees");
  model_training<fake_model> empty(training_mode::synchronous,
                                   [](const learn::feature_matrix&, std::span<const float>) { return model_ptr{}; }, 0.0);
  empty.train(rows(3), labels(3), 1.0, 300, stats, in.installer());
  EXPECT_EQ(stats.training_failures, 2u);
  EXPECT_EQ(stats.last_error, "trainer returned no model");
  EXPECT_EQ(in.models.size(), 1u) << "a failed training installs nothing";
  EXPECT_EQ(stats.retrains, 1u);
}

TEST(LearnedModelTraining, PipelinedInstallsAtItsLagNotBefore) {
  learned_stats stats;
  installs in;
  model_training<fake_model> piped(training_mode::pipelined, counting_trainer(), 2.0);
  piped.train(rows(10), labels(10), 3.0, 100, stats, in.installer());  // due at 100 + 2 × 10
  EXPECT_TRUE(piped.in_flight());
  piped.collect(119, stats, in.installer());
  EXPECT_TRUE(in.models.empty()) << "not before the lag, even if the worker is done";
  piped.collect(120, stats, in.installer());
  EXPECT_EQ(in.models, (std::vector<long>{10}));
  EXPECT_EQ(in.units, (std::vector<double>{3.0}));
  EXPECT_FALSE(piped.in_flight());
  EXPECT_EQ(stats.retrains, 1u);

  // A retrain while one is in flight installs that one first, then starts its own.
  piped.train(rows(4), labels(4), 1.0, 200, stats, in.installer());
  piped.train(rows(5), labels(5), 1.0, 201, stats, in.installer());
  EXPECT_EQ(in.models, (std::vector<long>{10, 4}));
  piped.wait(stats, in.installer());
  EXPECT_EQ(in.models, (std::vector<long>{10, 4, 5}));
  EXPECT_EQ(stats.retrains, 3u);
}

TEST(LearnedModelTraining, BackgroundInstallsWhenDoneAndSkipsARetrainWhileBusy) {
  learned_stats stats;
  installs in;
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<int> trainings{0};
  model_training<fake_model> background(
      training_mode::background,
      [released, &trainings](const learn::feature_matrix& x, std::span<const float>) {
        ++trainings;
        released.wait();
        return std::make_shared<const fake_model>(fake_model{static_cast<long>(x.rows())});
      },
      0.0);
  background.train(rows(6), labels(6), 1.5, 10, stats, in.installer());
  background.train(rows(9), labels(9), 1.5, 11, stats, in.installer());  // busy: skipped
  background.collect(12, stats, in.installer());
  EXPECT_TRUE(in.models.empty()) << "still training";
  EXPECT_TRUE(background.in_flight());
  release.set_value();
  background.wait(stats, in.installer());
  EXPECT_EQ(in.models, (std::vector<long>{6}));
  EXPECT_EQ(in.units, (std::vector<double>{1.5}));
  EXPECT_EQ(trainings.load(), 1);
  EXPECT_EQ(stats.retrains, 1u);
  EXPECT_FALSE(background.in_flight());
}

}  // namespace
