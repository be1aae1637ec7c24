// weight_column: reads as a plain vector of weights (checked against one on random
// operations), and holds no array until a weight other than 1 is stored.
#include "prescient/policy/detail/weight_column.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <vector>

namespace {

using prescient::policy::detail::weight_column;

TEST(WeightColumn, HoldsNothingWhileEveryWeightIsOne) {
  weight_column c;
  c.resize(1000);
  for (std::size_t i = 0; i < 1000; ++i) c.set(i, 1);
  c.push_back(1);
  EXPECT_TRUE(c.uniform());
  EXPECT_EQ(c.memory_bytes(), 0u);
  EXPECT_EQ(c.bytes_per_index(), 0u);
  EXPECT_EQ(c.size(), 1001u);
  EXPECT_EQ(c[1000], 1u);

  c.set(7, 5);  // the first heavier weight: every other index still reads 1
  EXPECT_FALSE(c.uniform());
  EXPECT_EQ(c.bytes_per_index(), sizeof(std::uint64_t));
  EXPECT_GE(c.memory_bytes(), 1001 * sizeof(std::uint64_t));
  EXPECT_EQ(c[7], 5u);
  for (std::size_t i : {0u, 6u, 8u, 1000u}) EXPECT_EQ(c[i], 1u) << i;

  c.release();  // all ones again
  EXPECT_TRUE(c.uniform());
  EXPECT_EQ(c.size(), 0u);
  EXPECT_EQ(c.memory_bytes(), 0u);
}

TEST(WeightColumn, MaterialiseAheadSoThatSetNeverAllocates) {
  weight_column c;
  c.resize(64);
  c.materialise();
  const std::size_t bytes = c.memory_bytes();
  EXPECT_FALSE(c.uniform());
  for (std::size_t i = 0; i < 64; ++i) c.set(i, i + 2);
  EXPECT_EQ(c.memory_bytes(), bytes);
  c.clear();  // forgets the indices, keeps the array in use
  EXPECT_FALSE(c.uniform());
  EXPECT_EQ(c.size(), 0u);
  c.resize(3);
  EXPECT_EQ(c[2], 1u);
}

TEST(WeightColumn, AgreesWithAVectorOnRandomOperations) {
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    std::mt19937_64 rng(seed);
    weight_column c;
    std::vector<std::uint64_t> model;
    // Weight 1 only until a point drawn per seed (sometimes never), then 1-4.
    const std::uint64_t heavy_from = rng() % 3000;
    for (std::uint64_t op = 0; op < 2000; ++op) {
      const std::uint64_t w = op < heavy_from ? 1 : 1 + rng() % 4;
      switch (rng() % 8) {
        case 0:
          c.resize(model.size() + rng() % 9);
          model.resize(c.size(), 1);
          break;
        case 1:
          c.push_back(w);
          model.push_back(w);
          break;
        case 2:
          if (!model.empty()) {
            c.pop_back();
            model.pop_back();
          }
          break;
        case 3:
          if (rng() % 50 == 0) {
            c.clear();
            model.clear();
          }
          break;
        default:
          if (!model.empty()) {
            const std::size_t i = rng() % model.size();
            c.set(i, w);
            model[i] = w;
          }
      }
      ASSERT_EQ(c.size(), model.size()) << "seed " << seed << " op " << op;
      for (std::size_t i = 0; i < model.size(); ++i) ASSERT_EQ(c[i], model[i]) << "seed " << seed << " op " << op;
      bool all_ones = true;
      for (std::uint64_t x : model) all_ones = all_ones && x == 1;
      if (op < heavy_from) {
        EXPECT_TRUE(c.uniform()) << "no heavier weight yet, seed " << seed;
      }
      if (!all_ones) {
        EXPECT_FALSE(c.uniform());
      }
    }
  }
}

}  // namespace
