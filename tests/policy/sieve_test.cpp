// SIEVE: a hand-worked eviction order on a short sequence (worked out from the paper /
// libCacheSim's code, the expected victims written out below), and a model test that
// drives the policy through ≥ 100,000 random operations against a small, obviously
// correct reference written here with std::list / std::map, comparing every hit or miss
// and every victim.
#include "policy_harness.hpp"

namespace policy_test {
namespace {

// SIEVE, literally the paper's Figure/pseudo-code over a std::list (front = head, newest).
struct sieve_ref : ref_base {
  std::list<key_t> q;
  std::map<key_t, bool> visited;
  std::optional<std::list<key_t>::iterator> hand;  // empty: start at the tail
  using ref_base::ref_base;

  std::list<key_t>::iterator find(key_t k) { return std::find(q.begin(), q.end(), k); }
  void drop(std::list<key_t>::iterator it) {
    if (hand && *hand == it) hand = it == q.begin() ? std::nullopt : std::optional(std::prev(it));
    used -= weight[*it];
    weight.erase(*it);
    visited.erase(*it);
    q.erase(it);
  }
  outcome request(key_t k, std::uint64_t w) {
    outcome o;
    if (weight.contains(k)) {
      visited[k] = true;
      o.hit = o.stored = true;
      return o;
    }
    if (w > capacity) return o;
    while (used + w > capacity) {
      auto it = hand ? *hand : std::prev(q.end());
      while (visited[*it]) {
        visited[*it] = false;
        it = it == q.begin() ? std::prev(q.end()) : std::prev(it);
      }
      o.evicted.push_back(*it);
      hand = it;
      drop(it);
    }
    q.push_front(k);
    visited[k] = false;
    weight[k] = w;
    used += w;
    o.stored = true;
    return o;
  }
  bool erase(key_t k) {
    if (!weight.contains(k)) return false;
    drop(find(k));
    return true;
  }
};


// ---------------------------------------------------------------------------------------
// SIEVE

TEST(Sieve, HandWorkedOrder) {
  // cap 3: A B C | A hit | D: hand from tail A (visited → cleared) to B → evict B, hand C
  // E: C unvisited → evict C, hand D | A, D hits | F: D visited → cleared, E → evict E,
  // hand falls off the head | G: from the tail A (visited again) → cleared, D → evict D.
  harness<pol::sieve> h(3);
  enum : key_t { A = 1, B, C, D, E, F, G };
  EXPECT_EQ(victims_of(h, {A, B, C, A, D, E, A, D, F, G}), (std::vector<key_t>{B, C, E, D}));
  EXPECT_TRUE(h.contains(A) && h.contains(F) && h.contains(G));
  EXPECT_FALSE(h.policy().visited(h.slot_of(A)));
}

TEST(Sieve, HitsDoNotReorder) {
  harness<pol::sieve> h(2);
  h.request(1);
  h.request(2);
  h.request(1);
  h.request(2);
  // Both visited: the hand clears 1 and 2, wraps, and evicts 1 (the tail).
  EXPECT_EQ(h.request(3).evicted, (std::vector<key_t>{1}));
}

TEST(Sieve, ModelUnitWeights) {
  sieve_ref ref(64);
  run_model<pol::sieve>(64, {}, ref, 1, 200, 1, 100000);
}

TEST(Sieve, ModelWeighted) {
  sieve_ref ref(200);
  run_model<pol::sieve>(200, {}, ref, 2, 300, 8, 100000);
}


}  // namespace
}  // namespace policy_test
