// ghost_lists: the bounded FIFO lists of evicted keys that S3-FIFO and ARC keep.
#include "policy_harness.hpp"

namespace policy_test {
namespace {

TEST(GhostLists, FifoOrderAndRemovalFromTheMiddle) {
  pol::detail::ghost_lists<2> g;
  for (std::uint64_t k = 0; k < 1000; ++k) g.push_front(k % 2, mix(k), 1);
  EXPECT_EQ(g.size(0), 500u);
  EXPECT_EQ(g.back(0), mix(0));
  EXPECT_EQ(g.back(1), mix(1));
  for (std::uint64_t k = 0; k < 1000; k += 4) EXPECT_EQ(g.erase(mix(k)), 0);
  EXPECT_EQ(g.erase(mix(0)), g.absent);
  EXPECT_EQ(g.back(0), mix(2));
  for (std::uint64_t k = 1; k < 1000; k += 2) EXPECT_EQ(g.find(mix(k)), 1);
  for (std::uint64_t k = 2; k < 1000; k += 4) EXPECT_EQ(g.find(mix(k)), 0);
  g.pop_back(0);
  EXPECT_EQ(g.find(mix(2)), g.absent);
  EXPECT_EQ(g.weight(0), 249u);
  // Steady churn does not grow memory.
  const auto before = g.memory_bytes();
  for (std::uint64_t k = 5000; k < 100000; ++k) {
    g.push_front(0, mix(k), 1);
    g.pop_back(0);
  }
  EXPECT_EQ(g.memory_bytes(), before);
}

}  // namespace
}  // namespace policy_test
