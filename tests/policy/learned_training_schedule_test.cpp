// The learned policy's training schedule (policy/learned/training_schedule.hpp), on a
// synthetic clock: the first retrain is tried at `first_model` and retried soon while
// rows are missing; the interval doubles from `first_retrain` up to `retrain_every`;
// with `sample_span` the rows kept are thinned so that the ring spans that many
// intervals at the rate rows were offered; without it, sampling pauses until shortly
// before the next retrain; and emptying the ring restarts the sampling at full rate.
#include "prescient/policy/learned/training_schedule.hpp"

#include <gtest/gtest.h>

#include <cstdint>

namespace {

using prescient::policy::detail::training_schedule;
using prescient::policy::detail::training_schedule_config;

training_schedule_config settings(double span, bool pause) {
  return training_schedule_config{/*first_model=*/2048, /*first_retrain=*/8192, /*retrain_every=*/65536, span, pause,
                                  /*seed=*/1};
}

// Offers `per_request` rows at each request of [from, to); counts those kept.
std::uint64_t offer(training_schedule& s, std::uint64_t from, std::uint64_t to, unsigned per_request) {
  std::uint64_t kept = 0;
  for (std::uint64_t now = from; now < to; ++now)
    for (unsigned i = 0; i < per_request; ++i) kept += s.keep_row(now) ? 1 : 0;
  return kept;
}

TEST(LearnedTrainingSchedule, RetrainsAtFirstModelThenAtDoublingIntervals) {
  training_schedule s(settings(2.0, true));
  EXPECT_FALSE(s.due(2047));
  EXPECT_TRUE(s.due(2048));
  s.retry_soon(2048);  // too few labelled rows
  EXPECT_EQ(s.next_retrain(), 2048u + 8192 / 4 + 1);
  std::uint64_t now = s.next_retrain();
  const std::uint64_t expected[] = {8192, 16384, 32768, 65536, 65536, 65536};
  for (const std::uint64_t interval : expected) {
    ASSERT_TRUE(s.due(now));
    s.start(now, 0, 1000, 1024);
    EXPECT_EQ(s.interval(), interval);
    EXPECT_EQ(s.next_retrain(), now + interval);
    EXPECT_FALSE(s.due(now + interval - 1));
    now += interval;
  }
}

TEST(LearnedTrainingSchedule, ThinsRowsSoTheRingSpansTheSpan) {
  training_schedule s(settings(2.0, true));
  // Before any retrain every row is kept.
  EXPECT_EQ(offer(s, 0, 4096, 1), 4096u);
  s.start(4096, 4096, 32768, 1024);  // the first: interval 8,192, rate 1 a request
  // 2 × 8,192 × 1 = 16,384 rows wanted over the span: the ring of 32,768 holds them all.
  EXPECT_DOUBLE_EQ(s.keep_share(), 1.0);
  EXPECT_EQ(offer(s, 4096, 4096 + 8192, 4), 4u * 8192);
  s.start(4096 + 8192, 4096 + 4 * 8192, 32768, 1024);  // interval 16,384, rate 4
  // 2 × 16,384 × 4 = 131,072 rows over the span: a quarter kept.
  EXPECT_DOUBLE_EQ(s.keep_share(), 0.25);
  const std::uint64_t kept = offer(s, 12288, 12288 + 16384, 4);
  EXPECT_NEAR(static_cast<double>(kept), 0.25 * 4 * 16384, 0.02 * 0.25 * 4 * 16384);
  EXPECT_EQ(s.sampling_from(), 0u) << "thinning never pauses";
}

TEST(LearnedTrainingSchedule, WithoutThinningPausesUntilShortlyBeforeTheNextRetrain) {
  training_schedule s(settings(0.0, true));
  EXPECT_EQ(offer(s, 0, 100'000, 1), 100'000u);
  s.start(100'000, 100'000, 2000, 1024);  // interval 8,192; 1 row a request
  // The ring fills in 2,000 requests: sampling resumes 1.5 × 2,000 + 1,024 requests
  // before the retrain due at 108,192.
  const std::uint64_t resume = 108'192 - (3000 + 1024);
  EXPECT_EQ(s.sampling_from(), resume);
  EXPECT_EQ(offer(s, 100'000, resume, 1), 0u);
  EXPECT_EQ(offer(s, resume, 108'192, 1), 108'192 - resume);
  EXPECT_DOUBLE_EQ(s.keep_share(), 1.0);

  training_schedule all(settings(0.0, false));
  all.start(100'000, 100'000, 2000, 1024);
  EXPECT_EQ(all.sampling_from(), 0u) << "no pause asked for";
  EXPECT_EQ(offer(all, 100'000, 101'000, 1), 1000u);
}

TEST(LearnedTrainingSchedule, AnEmptiedRingSamplesAfreshAtFullRate) {
  training_schedule s(settings(2.0, true));
  offer(s, 0, 8192, 16);
  s.start(8192, 8192 * 16, 4096, 1024);
  ASSERT_LT(s.keep_share(), 1.0);
  s.restart_sampling(9000);
  EXPECT_DOUBLE_EQ(s.keep_share(), 1.0);
  EXPECT_EQ(offer(s, 9000, 9100, 3), 300u);
  EXPECT_EQ(s.next_retrain(), 8192u + 8192) << "the retrain clock runs on";
  // The rate is measured from the restart: 3 rows a request over 100 requests.
  s.start(9100, 300, 4096, 1024);  // interval 16,384: 2 × 16,384 × 3 = 98,304 wanted
  EXPECT_DOUBLE_EQ(s.keep_share(), 4096.0 / 98304.0);
}

}  // namespace
