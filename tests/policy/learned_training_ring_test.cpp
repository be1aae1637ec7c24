// The learned policy's training ring, on synthetic samples and labels: a sampled key's
// row waits for its next request (one row per key at a time), the request labels it
// with the gap, the sweep censors rows older than the window, a full ring overwrites its
// oldest rows (a waiting one is lost, and no longer labelled), and collect() hands out
// exactly the labelled rows, in arrival order, with the regression and binary labels.
#include "prescient/policy/learned/training_ring.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

namespace {

using prescient::policy::detail::training_ring;
namespace learn = prescient::learn;

// Writes `value` in every column of a new row for `key` at `now`; false if refused.
bool sample(training_ring& r, std::uint64_t key, std::uint64_t now, float value) {
  float* row = r.add(key, now);
  if (row == nullptr) return false;
  for (std::size_t c = 0; c < learn::feature_count; ++c) row[c] = value;
  return true;
}

TEST(LearnedTrainingRing, ARequestLabelsItsKeysWaitingRow) {
  training_ring r(16);
  ASSERT_TRUE(sample(r, 1, 100, 1.0f));
  ASSERT_TRUE(sample(r, 2, 110, 2.0f));
  EXPECT_FALSE(sample(r, 1, 120, 9.0f)) << "one waiting row per key";
  EXPECT_TRUE(r.waiting(1));
  EXPECT_TRUE(r.label(1, 150));
  EXPECT_FALSE(r.waiting(1));
  EXPECT_FALSE(r.label(1, 160)) << "labelled once";
  EXPECT_FALSE(r.label(3, 160)) << "never sampled";

  learn::feature_matrix x;
  std::vector<float> y;
  std::vector<std::uint8_t> reused;
  const learn::label_config labels{1000, 40};
  r.collect(0, labels, x, y, &reused);
  ASSERT_EQ(x.rows(), 1) << "key 2 still waits: not handed out";
  EXPECT_EQ(x(0, 0), 1.0f);
  EXPECT_FLOAT_EQ(y[0], std::log1p(50.0f));
  EXPECT_EQ(reused[0], 0) << "a gap of 50 is beyond the horizon of 40";
}

TEST(LearnedTrainingRing, TheSweepCensorsRowsOlderThanTheWindow) {
  training_ring r(16);
  sample(r, 1, 0, 1.0f);
  sample(r, 2, 50, 2.0f);
  sample(r, 3, 90, 3.0f);
  EXPECT_EQ(r.sweep(120, 60), 2u) << "the rows of 0 and 50 are older than 120 - 60";
  EXPECT_FALSE(r.waiting(1));
  EXPECT_FALSE(r.waiting(2));
  EXPECT_TRUE(r.waiting(3));
  EXPECT_FALSE(r.label(1, 130)) << "a censored row is not labelled later";
  learn::feature_matrix x;
  std::vector<float> y;
  std::vector<std::uint8_t> reused;
  const learn::label_config labels{60, 10};
  r.collect(0, labels, x, y, &reused);
  ASSERT_EQ(x.rows(), 2);
  for (int i = 0; i < 2; ++i) {
    EXPECT_FLOAT_EQ(y[static_cast<std::size_t>(i)], std::log1p(120.0f)) << "the far label log1p(2W)";
    EXPECT_EQ(reused[static_cast<std::size_t>(i)], 0);
  }
}

TEST(LearnedTrainingRing, AnExpiryCensorsItsKeysWaitingRow) {
  training_ring r(16);
  sample(r, 1, 0, 1.0f);
  sample(r, 2, 10, 2.0f);
  EXPECT_TRUE(r.censor(1));
  EXPECT_FALSE(r.waiting(1));
  EXPECT_FALSE(r.censor(1)) << "censored once";
  EXPECT_FALSE(r.censor(3)) << "never sampled";
  EXPECT_FALSE(r.label(1, 15)) << "a request after the expiry does not label it";
  EXPECT_TRUE(r.label(2, 20));
  learn::feature_matrix x;
  std::vector<float> y;
  std::vector<std::uint8_t> reused;
  r.collect(0, learn::label_config{60, 20}, x, y, &reused);
  ASSERT_EQ(x.rows(), 2);
  EXPECT_EQ(x(0, 0), 1.0f);
  EXPECT_FLOAT_EQ(y[0], std::log1p(120.0f)) << "the far label log1p(2W), not the gap of 15";
  EXPECT_EQ(reused[0], 0);
  EXPECT_FLOAT_EQ(y[1], std::log1p(10.0f));
  EXPECT_EQ(reused[1], 1);
  r.sweep(1000, 60);  // nothing left waiting: the sweep has nothing to censor
  EXPECT_FALSE(r.waiting(2));
}

TEST(LearnedTrainingRing, AFullRingOverwritesItsOldestRows) {
  training_ring r(4);
  for (std::uint64_t k = 0; k < 6; ++k) ASSERT_TRUE(sample(r, k, k, static_cast<float>(k)));
  EXPECT_EQ(r.next_id(), 6u);
  EXPECT_FALSE(r.waiting(0)) << "overwritten: lost";
  EXPECT_FALSE(r.waiting(1));
  EXPECT_FALSE(r.label(0, 10));
  for (std::uint64_t k = 2; k < 6; ++k) EXPECT_TRUE(r.label(k, 10 + k));
  learn::feature_matrix x;
  std::vector<float> y;
  r.collect(0, learn::label_config{1000, 1000}, x, y);
  ASSERT_EQ(x.rows(), 4);
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(x(i, 0), static_cast<float>(i + 2)) << "arrival order";
    EXPECT_FLOAT_EQ(y[static_cast<std::size_t>(i)], std::log1p(10.0f));
  }
  // From a later id: the held-out rows only.
  r.collect(4, learn::label_config{1000, 1000}, x, y);
  EXPECT_EQ(x.rows(), 2);
}

TEST(LearnedTrainingRing, ManyKeysStayConsistent) {
  // Random samples and requests against a plain model of the waiting rows.
  training_ring r(64);
  std::vector<std::int64_t> waiting_since(200, -1);  // per key: time of its waiting row
  std::vector<std::uint64_t> order;                   // keys of the last 64 rows (ring)
  std::uint64_t labelled = 0;
  std::uint64_t seed = 1;
  auto next = [&] { return seed = seed * 6364136223846793005ULL + 1442695040888963407ULL; };
  for (std::uint64_t now = 1; now < 20000; ++now) {
    const std::uint64_t key = (next() >> 33) % 200;
    if ((next() >> 60) < 8) {  // half the time: a sample
      const bool accepted = sample(r, key, now, 0.0f);
      EXPECT_EQ(accepted, waiting_since[key] < 0) << "at " << now;
      if (accepted) {
        order.push_back(key);
        if (order.size() > 64) {  // the oldest row is overwritten
          const std::uint64_t gone = order.front();
          order.erase(order.begin());
          if (std::find(order.begin(), order.end(), gone) == order.end()) waiting_since[gone] = -1;
        }
        waiting_since[key] = static_cast<std::int64_t>(now);
      }
    } else {  // a request
      const bool had = r.label(key, now);
      EXPECT_EQ(had, waiting_since[key] >= 0) << "at " << now;
      labelled += had;
      waiting_since[key] = -1;
    }
  }
  EXPECT_GT(labelled, 1000u);
}

}  // namespace
