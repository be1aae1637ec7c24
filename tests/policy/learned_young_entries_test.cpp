// The learned policy's young entries (policy/learned/young_entries.hpp), on synthetic
// insertions, requests and evictions: an entry inserted and left unrequested is a
// candidate once `depth` × the residents insertions have followed it, newest first; a
// requested or evicted one never is; a put is in its grace until it is requested or
// leaves the ring; and the whole, against a reference built on std::deque over random
// operation sequences.
#include "prescient/policy/learned/young_entries.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <deque>
#include <random>
#include <vector>

namespace {

using prescient::slot_id;
using prescient::policy::detail::stamped_slot;
using prescient::policy::detail::young_entries;

// The owner's side: which slots are resident, and a stamp per slot bumped on every
// insertion and request (as the learned policy keeps them).
struct owner {
  explicit owner(std::size_t n) : resident(n, false), stamp(n, 0) {}
  std::vector<bool> resident;
  std::vector<std::uint32_t> stamp;
  std::size_t residents = 0;
  [[nodiscard]] bool live(stamped_slot y) const { return resident[y.slot] && stamp[y.slot] == y.stamp; }
  void insert(young_entries& y, slot_id s, bool requested) {
    resident[s] = true;
    ++residents;
    ++stamp[s];
    y.inserted(s, stamp[s], requested, residents, [this](stamped_slot e) { return live(e); });
  }
  void request(young_entries& y, slot_id s) {
    ++stamp[s];
    y.requested(s);
  }
  void evict(slot_id s) {
    resident[s] = false;
    --residents;
  }
  std::vector<slot_id> take(young_entries& y, std::size_t most) {
    std::vector<slot_id> out;
    y.take(most, out, [this](stamped_slot e) { return live(e); });
    return out;
  }
};

TEST(LearnedYoungEntries, AnUnrequestedEntryIsACandidateOnceItLeavesTheRing) {
  young_entries y(4, 0.25);  // depth: a quarter of the residents
  y.reserve_slots(64);
  owner o(64);
  for (slot_id s = 0; s < 40; ++s) o.insert(y, s, true);
  // 40 residents: the ring holds the last 10 insertions; slots 0..29 have left it.
  const std::vector<slot_id> first = o.take(y, 4);
  ASSERT_EQ(first.size(), 4u);
  // Only the newest 16 (4 × candidates) that left wait; the newest first.
  EXPECT_EQ(first, (std::vector<slot_id>{29, 28, 27, 26}));
  EXPECT_EQ(o.take(y, 4), (std::vector<slot_id>{25, 24, 23, 22}));
  o.insert(y, 40, true);  // pushes slot 30 out of the ring (41 residents: depth 10)
  EXPECT_EQ(o.take(y, 1), (std::vector<slot_id>{30}));
}

TEST(LearnedYoungEntries, RequestedOrEvictedEntriesAreNeverCandidates) {
  young_entries y(8, 0.25);
  y.reserve_slots(64);
  owner o(64);
  for (slot_id s = 0; s < 8; ++s) o.insert(y, s, true);
  o.request(y, 2);  // requested while in the ring: not a one-hit wonder
  o.evict(5);       // gone
  for (slot_id s = 8; s < 40; ++s) o.insert(y, s, true);
  std::vector<slot_id> all;
  for (std::vector<slot_id> got; !(got = o.take(y, 8)).empty();) all.insert(all.end(), got.begin(), got.end());
  EXPECT_EQ(std::count(all.begin(), all.end(), slot_id{2}), 0);
  EXPECT_EQ(std::count(all.begin(), all.end(), slot_id{5}), 0);
  // A candidate requested after it became ready is dropped when its turn comes. The
  // ring holds 31..39 (39 residents: depth 9); 40 joins (depth 10), 41 and 42 push 31
  // and 32 out.
  o.insert(y, 40, true);
  o.insert(y, 41, true);
  o.insert(y, 42, true);
  o.request(y, 32);
  EXPECT_EQ(o.take(y, 8), (std::vector<slot_id>{31}));
}

TEST(LearnedYoungEntries, APutIsInItsGraceUntilRequestedOrOutOfTheRing) {
  young_entries y(4, 0.5);
  y.reserve_slots(32);
  owner o(32);
  for (slot_id s = 0; s < 10; ++s) o.insert(y, s, true);
  o.insert(y, 10, false);  // a put (a prefetch, a write)
  o.insert(y, 11, false);
  EXPECT_TRUE(y.in_grace(10));
  EXPECT_TRUE(y.in_grace(11));
  EXPECT_FALSE(y.in_grace(9)) << "inserted by a request";
  o.request(y, 11);
  EXPECT_FALSE(y.in_grace(11)) << "requested: its grace ends";
  // 12 residents, depth 6: the ring holds 6..11, and each insertion that keeps the
  // residents at 12 (an old entry evicted first) pushes one out: slot 10 at the fifth.
  for (slot_id s = 12; s < 16; ++s) {
    o.evict(s - 12);
    o.insert(y, s, true);
  }
  EXPECT_TRUE(y.in_grace(10));
  o.evict(4);
  o.insert(y, 16, true);
  EXPECT_FALSE(y.in_grace(10));
  y.clear();
  o.insert(y, 20, false);
  y.clear();
  EXPECT_FALSE(y.in_grace(20)) << "a cleared cache holds no put";
}

TEST(LearnedYoungEntries, OffTracksNothing) {
  young_entries y(0, 0.1);
  y.reserve_slots(16);
  owner o(16);
  for (slot_id s = 0; s < 16; ++s) o.insert(y, s, s % 2 == 0);
  EXPECT_FALSE(y.enabled());
  EXPECT_TRUE(o.take(y, 8).empty());
  for (slot_id s = 0; s < 16; ++s) EXPECT_FALSE(y.in_grace(s));
  EXPECT_EQ(y.bytes_per_slot(16), 0u);
}

TEST(LearnedYoungEntries, ItsBytesAreTheRingsPlacesAndAGraceFlag) {
  young_entries y(8, 0.1);
  y.reserve_slots(1000);  // 0.1 × 1,000 + 2 places of 8 bytes
  EXPECT_EQ(y.bytes_per_slot(1000), (102u * sizeof(stamped_slot) + 999) / 1000 + 1);
  owner o(1000);
  for (slot_id s = 0; s < 1000; ++s) o.insert(y, s, true);
  EXPECT_EQ(y.bytes_per_slot(1000), (102u * sizeof(stamped_slot) + 999) / 1000 + 1) << "the ring never grows";
}

// The reference: the ring and the ready list as unbounded deques, trimmed by the rules.
struct reference {
  std::size_t candidates;
  double depth_share;
  std::size_t ring_places;
  std::deque<stamped_slot> ring, ready;
  std::vector<bool> grace;

  void leave(const owner& o) {
    const stamped_slot e = ring.front();
    ring.pop_front();
    if (!o.live(e)) return;
    grace[e.slot] = false;
    ready.push_back(e);
    if (ready.size() > 4 * candidates) ready.pop_front();
  }
  void inserted(const owner& o, slot_id s, bool requested) {
    grace[s] = !requested;
    const auto depth = std::clamp<std::size_t>(static_cast<std::size_t>(depth_share * static_cast<double>(o.residents)),
                                               1, ring_places);
    ring.push_back({s, o.stamp[s]});
    while (ring.size() > depth) leave(o);
  }
  std::vector<slot_id> take(const owner& o, std::size_t most) {
    std::vector<slot_id> out;
    while (out.size() < most && !ready.empty()) {
      const stamped_slot e = ready.back();
      ready.pop_back();
      if (o.live(e)) out.push_back(e.slot);
    }
    return out;
  }
};

TEST(LearnedYoungEntries, MatchesAReferenceOnRandomOperations) {
  std::mt19937_64 rng(7);
  for (int round = 0; round < 200; ++round) {
    const std::size_t slots = 8 + rng() % 120;
    const std::size_t candidates = 1 + rng() % 8;
    const double depth = 0.05 + 0.5 * static_cast<double>(rng() % 100) / 100.0;
    young_entries y(candidates, depth);
    y.reserve_slots(slots);
    owner o(slots);
    reference ref{candidates, depth, std::min(slots, static_cast<std::size_t>(depth * static_cast<double>(slots)) + 2),
                  {}, {}, std::vector<bool>(slots, false)};
    for (int step = 0; step < 2000; ++step) {
      const auto op = rng() % 10;
      const auto s = static_cast<slot_id>(rng() % slots);
      if (op < 5) {  // insert into a free slot (or evict it first, as a cache that is full)
        if (o.resident[s]) o.evict(s);
        const bool requested = rng() % 4 != 0;
        o.insert(y, s, requested);
        ref.inserted(o, s, requested);
      } else if (op < 8) {
        if (!o.resident[s]) continue;
        o.request(y, s);
        ref.grace[s] = false;
      } else if (op < 9) {
        if (!o.resident[s]) continue;
        o.evict(s);
      } else {
        const std::size_t most = 1 + rng() % candidates;
        const std::vector<slot_id> expected = ref.take(o, most);
        ASSERT_EQ(o.take(y, most), expected) << "round " << round << ", step " << step;
      }
      for (slot_id t = 0; t < slots; ++t) {
        if (o.resident[t]) {
          ASSERT_EQ(y.in_grace(t), ref.grace[t]) << "slot " << t << ", round " << round;
        }
      }
    }
  }
}

}  // namespace
