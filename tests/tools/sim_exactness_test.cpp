// The simulator reproduces libCacheSim's published miss ratios on the CloudPhysics
// trace (objects of equal size) for the deterministic policies: LRU, FIFO and Belady's
// optimum, to the fourth decimal (the published figures are in docs/traces.md).
#include <gtest/gtest.h>

#include <cmath>
#include <ostream>
#include <string>
#include <vector>

#include "sim/replay.hpp"
#include "prescient/trace/next_access.hpp"
#include "prescient/trace/reader.hpp"
#include "test_support.hpp"

namespace {

constexpr const char* cloudphysics_file = "cloudphysics-io.oracleGeneral.bin.xz";

// Empty when the trace is not on the search path (the tests then skip).
const std::vector<prescient::trace::request>& cloudphysics() {
  static const auto requests = [] {
    const auto path = prescient::tools::find_trace(cloudphysics_file);
    return path ? prescient::trace::load(*path, "oracle-general") : std::vector<prescient::trace::request>{};
  }();
  return requests;
}

struct reference_point {
  const char* policy;
  std::uint64_t size;
  double miss_ratio;
  friend std::ostream& operator<<(std::ostream& os, const reference_point& p) {
    return os << p.policy << " at " << p.size << ": " << p.miss_ratio;
  }
};

class SimExactness : public testing::TestWithParam<reference_point> {};

TEST_P(SimExactness, MatchesLibCacheSim) {
  const auto& p = GetParam();
  PRESCIENT_TRACE_OR_SKIP(path, cloudphysics_file);
  prescient::sim::replay_options opt;
  opt.capacity = p.size;
  opt.ignore_size = true;
  const auto r = prescient::sim::replay(p.policy, cloudphysics(), opt);
  EXPECT_EQ(r.requests, 113'872u);
  EXPECT_NEAR(r.miss_ratio(), p.miss_ratio, 0.00005) << p.policy << " at " << p.size;
}

INSTANTIATE_TEST_SUITE_P(CloudPhysics, SimExactness,
                         testing::Values(reference_point{"lru", 500, 0.8378}, reference_point{"lru", 2500, 0.8244},
                                         reference_point{"lru", 5000, 0.8038}, reference_point{"fifo", 500, 0.8473},
                                         reference_point{"fifo", 2500, 0.8263}, reference_point{"fifo", 5000, 0.8042},
                                         reference_point{"belady", 500, 0.7919},
                                         reference_point{"belady", 2500, 0.7014},
                                         reference_point{"belady", 5000, 0.6262}),
                         [](const auto& info) {
                           return std::string(info.param.policy) + "_" + std::to_string(info.param.size);
                         });

// The oracle that Belady reads is the trace's own next-access column; recomputing it
// from the keys must give the same figures.
TEST(SimExactnessOracle, RecomputedNextAccessGivesTheSameOptimum) {
  PRESCIENT_TRACE_OR_SKIP(path, cloudphysics_file);
  auto requests = cloudphysics();
  for (auto& r : requests) r.next_access = -1;
  prescient::trace::annotate_next_access(requests);
  prescient::sim::replay_options opt;
  opt.capacity = 2500;
  opt.ignore_size = true;
  EXPECT_NEAR(prescient::sim::replay("belady", requests, opt).miss_ratio(), 0.7014, 0.00005);
}

}  // namespace
