// The learned policy's resident slots (policy/learned/residents.hpp), against a
// reference on std::list and std::map over random sequences of fills, requests,
// removals and clears: who is resident, the recency order, the dense list, and which
// filed slots are still live.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <list>
#include <map>
#include <random>
#include <set>
#include <vector>

#include "prescient/policy/learned/residents.hpp"

namespace {

using prescient::no_slot;
using prescient::slot_id;
using prescient::policy::detail::residents;
using prescient::policy::detail::stamped_slot;

struct reference {
  std::list<slot_id> recency;             // front: most recently used
  std::map<slot_id, std::uint32_t> stamp;  // every slot ever filled
  std::set<slot_id> resident;
  void fill(slot_id s) {
    ++stamp[s];
    resident.insert(s);
    recency.push_front(s);
  }
  void request(slot_id s) {
    ++stamp[s];
    recency.remove(s);
    recency.push_front(s);
  }
  void leave(slot_id s) {
    resident.erase(s);
    recency.remove(s);
  }
  void clear() {
    resident.clear();
    recency.clear();
  }
  [[nodiscard]] bool live(stamped_slot y) const {
    const auto it = stamp.find(y.slot);
    return resident.count(y.slot) != 0 && it != stamp.end() && it->second == y.stamp;
  }
};

TEST(LearnedResidents, MatchesAReferenceOnRandomFillsRequestsRemovalsAndClears) {
  constexpr slot_id slots = 48;
  std::mt19937_64 rng(5);
  for (int round = 0; round < 100; ++round) {
    residents r;
    r.reserve_slots(slots);
    reference ref;
    std::vector<stamped_slot> filed;  // slots filed at some point, to ask later whether still live
    for (int step = 0; step < 400; ++step) {
      const auto s = static_cast<slot_id>(rng() % slots);
      const unsigned op = static_cast<unsigned>(rng() % 100);
      if (op < 1) {
        r.clear();
        ref.clear();
      } else if (!ref.resident.count(s)) {
        r.enter(s);
        ref.fill(s);
      } else if (op < 55) {
        r.touch(s);
        ref.request(s);
      } else {
        r.leave(s);
        ref.leave(s);
      }
      if (ref.resident.count(s) != 0 && rng() % 4 == 0) filed.push_back(stamped_slot{s, r.stamp(s)});

      ASSERT_EQ(r.size(), ref.resident.size());
      ASSERT_EQ(r.empty(), ref.resident.empty());
      // The recency order, both ways.
      const std::vector<slot_id> mru_first(ref.recency.begin(), ref.recency.end());
      ASSERT_EQ(r.by_recency(), mru_first) << "round " << round << ", step " << step;
      std::vector<slot_id> lru_first;
      r.for_each_lru_first([&](slot_id x) { lru_first.push_back(x); });
      ASSERT_TRUE(std::equal(lru_first.begin(), lru_first.end(), mru_first.rbegin(), mru_first.rend()));
      ASSERT_EQ(r.lru(), ref.recency.empty() ? no_slot : ref.recency.back());
      if (!ref.recency.empty()) {
        ASSERT_EQ(r.newer(ref.recency.front()), no_slot);
      }
      // The dense list holds every resident once; a draw picks one of them.
      std::set<slot_id> dense;
      for (std::size_t i = 0; i < r.size(); ++i) dense.insert(r.at(i));
      ASSERT_EQ(dense, ref.resident);
      if (!r.empty()) {
        const std::uint64_t draw = rng();
        ASSERT_EQ(r.drawn(draw), r.at(draw % r.size()));
      }
      for (slot_id x = 0; x < slots; ++x) {
        ASSERT_EQ(r.resident(x), ref.resident.count(x) != 0);
      }
      // A filed slot is live while resident and unrequested since; a refill is another entry.
      for (const stamped_slot& y : filed) {
        ASSERT_EQ(r.live(y), ref.live(y)) << "slot " << y.slot;
      }
    }
  }
}

TEST(LearnedResidents, AStampMovesOnEveryRequestAndEveryRefill) {
  residents r;
  r.reserve_slots(4);
  r.enter(2);
  const stamped_slot filed{2, r.stamp(2)};
  EXPECT_TRUE(r.live(filed));
  r.touch(2);
  EXPECT_FALSE(r.live(filed));  // requested since it was filed
  const stamped_slot again{2, r.stamp(2)};
  r.leave(2);
  EXPECT_FALSE(r.live(again));  // no longer resident
  r.enter(2);
  EXPECT_FALSE(r.live(again));  // refilled: another entry in the same slot
  EXPECT_EQ(residents::bytes_per_slot, 20u);
}

}  // namespace
