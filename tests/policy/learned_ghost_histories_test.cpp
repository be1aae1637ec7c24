// The learned policy's ghost histories (policy/learned/ghost_histories.hpp): a key that
// comes back takes its history out once; a history last requested more than the age
// window (per resident entry) ago comes back as never seen, and is dropped from the
// table's oldest end when new ones arrive; the table's own bound forgets the oldest
// stored; and a bound the table cannot hold is refused with the numbers that made it.
#include "prescient/policy/learned/ghost_histories.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>

namespace {

using prescient::policy::detail::ghost_histories;
namespace learn = prescient::learn;

// A history of `requests` requests, the last at `last`.
learn::key_history requested(std::uint64_t last, int requests = 2) {
  const learn::feature_extractor fx;
  learn::key_history h;
  for (int i = requests - 1; i >= 0; --i) fx.record(h, last - static_cast<std::uint64_t>(i), 1);
  return h;
}

TEST(LearnedGhostHistories, AKeyTakesItsHistoryBackOnce) {
  ghost_histories g(100, 0.0);
  g.remember(7, requested(50, 3), 60, 10);
  EXPECT_EQ(g.size(), 1u);
  const learn::key_history h = g.recall(7, 70, 10);
  EXPECT_EQ(h.count, 3u);
  EXPECT_EQ(h.last_time(70), 50u);
  EXPECT_FALSE(g.recall(7, 71, 10).seen()) << "taken already";
  EXPECT_FALSE(g.recall(8, 71, 10).seen()) << "never filed";
  EXPECT_EQ(g.size(), 0u);
}

TEST(LearnedGhostHistories, AHistoryOlderThanTheAgeWindowComesBackAsNeverSeen) {
  ghost_histories g(100, 8.0);  // window: 8 × the residents
  g.remember(1, requested(1000), 1000, 10);
  g.remember(2, requested(1000), 1000, 10);
  // At 1,080 with 10 residents the window starts at 1,000: still recent.
  EXPECT_TRUE(g.recall(1, 1080, 10).seen());
  // At 1,081 it starts at 1,001: stale; with 20 residents (window 160) it would not be.
  EXPECT_TRUE(g.stale(requested(1000), 1081, 10));
  EXPECT_FALSE(g.stale(requested(1000), 1081, 20));
  EXPECT_FALSE(g.recall(2, 1081, 10).seen());
  // No window: never stale.
  ghost_histories forever(100, 0.0);
  forever.remember(3, requested(5), 5, 10);
  EXPECT_TRUE(forever.recall(3, 1'000'000'000, 10).seen());
}

TEST(LearnedGhostHistories, StaleHistoriesLeaveTheTableAsNewOnesArrive) {
  ghost_histories g(100, 8.0);
  for (std::uint64_t k = 0; k < 10; ++k) g.remember(k, requested(100 + k), 110, 10);
  EXPECT_EQ(g.size(), 10u);
  // At 1,000 with 10 residents every one of them is stale: the next store drops them.
  g.remember(99, requested(995), 1000, 10);
  EXPECT_EQ(g.size(), 1u);
  EXPECT_TRUE(g.recall(99, 1000, 10).seen());
}

TEST(LearnedGhostHistories, TheTablesBoundForgetsTheOldestStored) {
  ghost_histories g(2, 0.0);
  g.remember(1, requested(10), 10, 4);
  g.remember(2, requested(11), 11, 4);
  g.remember(3, requested(12), 12, 4);
  EXPECT_EQ(g.size(), 2u);
  EXPECT_FALSE(g.recall(1, 13, 4).seen());
  EXPECT_TRUE(g.recall(2, 13, 4).seen());
  EXPECT_TRUE(g.recall(3, 13, 4).seen());
}

TEST(LearnedGhostHistories, TheBoundIsPerUnitOfCapacityAndRefusedBeyondTheTable) {
  EXPECT_EQ(ghost_histories::bound(8.0, 1000), 8000u);
  EXPECT_EQ(ghost_histories::bound(8.0, std::uint64_t{1} << 40), std::size_t{8} << 24) << "capacities above 2^24 count as 2^24";
  EXPECT_EQ(ghost_histories::bound(0.0, 1000), 0u);
  for (const double bad : {-1.0, std::nan(""), 1e300}) {
    try {
      (void)ghost_histories::bound(bad, 1000);
      ADD_FAILURE() << "accepted ghost_per_entry " << bad;
    } catch (const std::invalid_argument& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find("ghost_per_entry"), std::string::npos) << what;
      EXPECT_NE(what.find("at capacity 1000"), std::string::npos) << what;
    }
  }
}

}  // namespace
