// The heuristics the learned policy hosts on its slots (policy/learned/heuristics.hpp):
// a woken heuristic decides as the same policy standing alone would after adopting the
// same residents, on random requests and evictions; a sleeping one holds no entries
// while W-TinyLFU's sketch keeps counting; a hand-over's disowned residents come first,
// least recently used first, while they are still the entries filed.
#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string_view>
#include <type_traits>
#include <vector>

#include "prescient/hash.hpp"
#include "prescient/policy/arc.hpp"
#include "prescient/policy/learned/heuristics.hpp"
#include "prescient/policy/s3fifo.hpp"
#include "prescient/policy/wtinylfu.hpp"

namespace {

using prescient::access;
using prescient::key_hash_view;
using prescient::no_slot;
using prescient::slot_id;
using prescient::policy::arc;
using prescient::policy::s3fifo;
using prescient::policy::wtinylfu;
using prescient::policy::detail::hosted_heuristics;
using prescient::policy::detail::member;
using prescient::policy::detail::stamped_slot;

constexpr std::uint64_t capacity = 32;

// Slots 0..capacity-1 hold keys with these hashes (a fresh key per insert, below).
struct slots {
  std::vector<std::uint64_t> hash = std::vector<std::uint64_t>(capacity);
  std::uint64_t next_key = 1;
  slots() {
    for (auto& h : hash) h = prescient::mix64(next_key++);
  }
};

// Wakes `m` in the hosted heuristics and adopts the same residents in `alone` (a policy
// of that kind on the same hashes), then drives both with the same random requests and
// evictions through a full cache, and checks they pick the same victims.
template <class P>
void decides_as_alone(member m, std::uint64_t seed) {
  slots k;
  const key_hash_view view(k.hash);
  hosted_heuristics<s3fifo> hosted(capacity, {}, /*panel=*/true);
  hosted.use_key_hashes(view);
  P alone(capacity);
  if constexpr (requires { alone.use_key_hashes(view); }) alone.use_key_hashes(view);
  alone.reserve_slots(capacity);

  std::mt19937_64 rng(seed);
  std::uint64_t now = 1;
  std::vector<bool> frequent(capacity);
  for (auto&& f : frequent) f = rng() % 2 == 0;
  hosted.wake(m, capacity, [&](auto&& adopt) {
    for (slot_id s = 0; s < capacity; ++s) adopt(s, access{k.hash[s], now, 1, access::unknown}, frequent[s]);
  });
  for (slot_id s = 0; s < capacity; ++s) {
    const access a{k.hash[s], now, 1, access::unknown};
    if constexpr (requires { alone.adopt(s, a, true); })
      alone.adopt(s, a, frequent[s]);
    else
      alone.adopt(s, a);
  }
  ASSERT_EQ(hosted.awake(), m);

  int checked = 0;
  hosted.with_awake([&](auto& h) {
    ASSERT_TRUE((std::is_same_v<std::decay_t<decltype(h)>, P>)) << "the awake heuristic is not the one woken";
    for (int step = 0; step < 2000; ++step, ++now) {
      if (rng() % 3 != 0) {  // a hit on a random resident
        const auto s = static_cast<slot_id>(rng() % capacity);
        const access a{k.hash[s], now, 1, access::unknown};
        h.on_access(s, a);
        alone.on_access(s, a);
        continue;
      }
      // A miss of a new key: both evict, and the new key takes the victim's slot.
      const std::uint64_t key = prescient::mix64(k.next_key++);
      const access a{key, now, 1, access::unknown};
      if constexpr (prescient::policy::has_miss_hook<P>) {
        h.on_miss(a);
        alone.on_miss(a);
      }
      const slot_id v = h.victim(a), w = alone.victim(a);
      ASSERT_EQ(v, w) << "step " << step;
      h.on_evict(v);
      alone.on_evict(w);
      k.hash[v] = key;
      h.on_insert(v, a);
      alone.on_insert(v, a);
      ++checked;
    }
  });
  EXPECT_GT(checked, 500);
}

TEST(LearnedHeuristics, AWokenHeuristicDecidesAsItWouldAloneWithTheSameResidents) {
  decides_as_alone<wtinylfu>(member::wtinylfu, 1);
  decides_as_alone<arc>(member::arc, 2);
}

TEST(LearnedHeuristics, TheBaseIsAwakeFirstAndWakingTheAwakeOneChangesNothing) {
  slots k;
  hosted_heuristics<s3fifo> hosted(capacity, {}, /*panel=*/false);
  hosted.use_key_hashes(key_hash_view(k.hash));
  EXPECT_EQ(hosted.awake(), member::base);
  int residents_listed = 0;
  hosted.wake(member::base, capacity, [&](auto&&) { ++residents_listed; });
  EXPECT_EQ(residents_listed, 0);  // already awake: not handed the residents again
  // Without a panel only the base's bytes count; W-TinyLFU and ARC were built empty.
  EXPECT_EQ(hosted.bytes_per_entry(), hosted.base().metadata_bytes_per_entry());
  EXPECT_EQ(hosted_heuristics<s3fifo>::name(member::base), s3fifo::name);
  EXPECT_EQ(hosted_heuristics<s3fifo>::name(member::lru), std::string_view("lru"));
}

TEST(LearnedHeuristics, ASleepingHeuristicHoldsNoEntriesButTheSketchCountsOn) {
  slots k;
  hosted_heuristics<s3fifo> hosted(capacity, {}, /*panel=*/true);
  hosted.use_key_hashes(key_hash_view(k.hash));
  hosted.reserve_slots(capacity);
  hosted.wake(member::wtinylfu, capacity, [&](auto&& adopt) {
    for (slot_id s = 0; s < capacity; ++s) adopt(s, access{k.hash[s], 1, 1, access::unknown}, false);
  });
  std::size_t held = 0;
  hosted.with_awake([&](auto& h) { held = h.resident_slots().size(); });
  EXPECT_EQ(held, capacity);

  const std::uint64_t key = prescient::mix64(999);
  auto frequency = [&] {
    std::uint32_t f = 0;
    hosted.wake(member::wtinylfu, capacity, [](auto&&) {});  // (empty: only to read the sketch)
    hosted.with_awake([&](auto& h) {
      if constexpr (std::is_same_v<std::decay_t<decltype(h)>, wtinylfu>) f = h.frequency(key);
    });
    hosted.sleep();
    return f;
  };
  hosted.sleep();
  EXPECT_EQ(hosted.awake(), member::lru);
  int called = 0;
  hosted.with_awake([&](auto&) { ++called; });
  EXPECT_EQ(called, 0);  // none awake
  const std::uint32_t before = frequency();
  for (int i = 0; i < 5; ++i) hosted.record(key);  // asleep: the sketch counts
  const std::uint32_t after = frequency();
  EXPECT_GE(after, before + 3) << "the sleeping W-TinyLFU's sketch did not count the requests";
  hosted.wake(member::wtinylfu, capacity, [](auto&&) {});
  hosted.with_awake([&](auto& h) { held = h.resident_slots().size(); });
  EXPECT_EQ(held, 0u);  // woken empty: its entries were given back when it slept
  // Awake, record leaves the sketch to W-TinyLFU's own hooks.
  std::uint32_t awake_before = 0, awake_after = 0;
  hosted.with_awake([&](auto& h) {
    if constexpr (std::is_same_v<std::decay_t<decltype(h)>, wtinylfu>) awake_before = h.frequency(key);
  });
  for (int i = 0; i < 5; ++i) hosted.record(key);
  hosted.with_awake([&](auto& h) {
    if constexpr (std::is_same_v<std::decay_t<decltype(h)>, wtinylfu>) awake_after = h.frequency(key);
  });
  EXPECT_EQ(awake_after, awake_before);
}

TEST(LearnedHeuristics, DisownedResidentsComeFirstLeastRecentlyUsedFirstWhileStillFiled) {
  hosted_heuristics<s3fifo> hosted(capacity, {}, /*panel=*/true);
  // Residents least recently used first: slots 5, 3, 8, 1, 7 with stamps 50, 30, 80, 10, 70.
  const std::vector<slot_id> order = {5, 3, 8, 1, 7};
  const auto residents = [&](auto&& file) {
    for (slot_id s : order) file(s, s * 10, std::uint64_t{s} * 1000);
  };
  // The new heuristic would hold slots 3 and 7 (hashes 3000 and 7000).
  hosted.disown(residents, [](std::uint64_t h) { return h == 3000 || h == 7000; });
  // Slot 8 was requested since it was filed (its stamp moved).
  const auto live = [](stamped_slot y) { return !(y.slot == 8); };
  EXPECT_EQ(hosted.next_disowned(live), 5u);
  EXPECT_EQ(hosted.next_disowned(live), 1u);
  EXPECT_EQ(hosted.next_disowned(live), no_slot);
  hosted.disown(residents, [](std::uint64_t) { return false; });  // a new hand-over: all disowned, afresh
  EXPECT_EQ(hosted.next_disowned([](stamped_slot) { return true; }), 5u);
  hosted.forget_disowned();
  EXPECT_EQ(hosted.next_disowned([](stamped_slot) { return true; }), no_slot);
}

}  // namespace
