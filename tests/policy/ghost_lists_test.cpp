// ghost_lists: the bounded FIFO lists of evicted keys that S3-FIFO and ARC keep.
#include <array>
#include <deque>
#include <random>
#include <utility>

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

// Against a model of plain lists, on random pushes, moves, erasures and pops with
// weights: the list a key is found in (kept in the top bits of a node's link), each
// list's order, size and weight. Three lists take two bits of the link, one list none.
template <std::size_t Lists>
void check_against_model(std::uint64_t seed) {
  pol::detail::ghost_lists<Lists> g;
  std::array<std::deque<std::pair<std::uint64_t, std::uint64_t>>, Lists> model;  // front = newest
  std::mt19937_64 rng(seed);
  auto model_find = [&](std::uint64_t h) -> std::pair<int, std::size_t> {
    for (std::size_t l = 0; l < Lists; ++l)
      for (std::size_t i = 0; i < model[l].size(); ++i)
        if (model[l][i].first == h) return {static_cast<int>(l), i};
    return {g.absent, 0};
  };
  auto model_erase = [&](int l, std::size_t i) {
    auto& list = model[static_cast<std::size_t>(l)];
    list.erase(list.begin() + static_cast<std::ptrdiff_t>(i));
  };
  for (int op = 0; op < 20000; ++op) {
    const std::uint64_t h = mix(rng() % 300);  // few keys: pushes often move a remembered one
    const std::size_t list = rng() % Lists;
    switch (rng() % 4) {
      case 0:
      case 1: {
        const std::uint64_t w = 1 + rng() % 1000;
        g.push_front(list, h, w);
        if (auto [l, i] = model_find(h); l != g.absent) model_erase(l, i);
        model[list].emplace_front(h, w);
        break;
      }
      case 2: {
        auto [l, i] = model_find(h);
        ASSERT_EQ(g.erase(h), l) << "op " << op;
        if (l != g.absent) model_erase(l, i);
        break;
      }
      default:
        g.pop_back(list);
        if (!model[list].empty()) model[list].pop_back();
    }
    ASSERT_EQ(g.find(h), model_find(h).first) << "op " << op;
    std::size_t total = 0;
    for (std::size_t l = 0; l < Lists; ++l) {
      std::uint64_t weight = 0;
      for (const auto& e : model[l]) weight += e.second;
      ASSERT_EQ(g.size(l), model[l].size()) << "list " << l << ", op " << op;
      ASSERT_EQ(g.weight(l), weight) << "list " << l << ", op " << op;
      if (!model[l].empty()) {
        ASSERT_EQ(g.back(l), model[l].back().first) << "list " << l << ", op " << op;
      }
      total += model[l].size();
    }
    ASSERT_EQ(g.size(), total);
  }
  // Draining every list oldest first gives the model's order back, and the right lists.
  for (std::size_t l = 0; l < Lists; ++l)
    while (!model[l].empty()) {
      ASSERT_EQ(g.back(l), model[l].back().first);
      ASSERT_EQ(g.find(model[l].back().first), static_cast<int>(l));
      g.pop_back(l);
      model[l].pop_back();
    }
  EXPECT_EQ(g.size(), 0u);
}

TEST(GhostLists, OneListMatchesAModelOnRandomOperations) { check_against_model<1>(1); }
TEST(GhostLists, TwoListsMatchAModelOnRandomOperations) { check_against_model<2>(2); }
TEST(GhostLists, ThreeListsMatchAModelOnRandomOperations) { check_against_model<3>(3); }

}  // namespace
}  // namespace policy_test
