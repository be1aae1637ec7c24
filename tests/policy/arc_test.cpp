// ARC: a hand-worked eviction order on a short sequence (worked out from the paper /
// libCacheSim's code, the expected victims written out below), and a model test that
// drives the policy through ≥ 100,000 random operations against a small, obviously
// correct reference written here with std::list / std::map, comparing every hit or miss
// and every victim.
#include "policy_harness.hpp"

namespace policy_test {
namespace {

// ARC as in the paper's pseudo-code / libCacheSim's ARC.c, with weights.
struct arc_ref : ref_base {
  std::list<key_t> t1, t2, b1, b2;  // front = MRU
  std::map<key_t, std::uint64_t> gw;  // ghost weights
  std::uint64_t t1w = 0, t2w = 0, b1w = 0, b2w = 0;
  double p = 0;
  using ref_base::ref_base;

  static bool in(const std::list<key_t>& l, key_t k) { return std::find(l.begin(), l.end(), k) != l.end(); }
  static void rm(std::list<key_t>& l, key_t k) { l.erase(std::find(l.begin(), l.end(), k)); }

  key_t evict_from(std::list<key_t>& t, std::uint64_t& tw, std::list<key_t>* b, std::uint64_t* bw) {
    const key_t v = t.back();
    t.pop_back();
    const auto w = weight[v];
    tw -= w;
    used -= w;
    weight.erase(v);
    if (b) {
      b->push_front(v);
      *bw += w;
      gw[v] = w;
    }
    return v;
  }
  key_t replace(bool x_in_b2) {
    const double t1d = static_cast<double>(t1w);
    if ((t1w > 0 && (t1d > p || (t1d == p && x_in_b2))) || t2w == 0) return evict_from(t1, t1w, &b1, &b1w);
    return evict_from(t2, t2w, &b2, &b2w);
  }
  void drop_ghost_lru(std::list<key_t>& b, std::uint64_t& bw) {
    const key_t g = b.back();
    b.pop_back();
    bw -= gw[g];
    gw.erase(g);
  }
  outcome request(key_t k, std::uint64_t w) {
    outcome o;
    if (in(t1, k)) {  // case I
      rm(t1, k);
      t1w -= w;
      t2.push_front(k);
      t2w += w;
      o.hit = o.stored = true;
      return o;
    }
    if (in(t2, k)) {
      rm(t2, k);
      t2.push_front(k);
      o.hit = o.stored = true;
      return o;
    }
    int ghost = 0;
    if (in(b1, k)) {  // case II
      p = std::min(p + std::max(static_cast<double>(b2w) / static_cast<double>(b1w), 1.0), static_cast<double>(capacity));
      rm(b1, k);
      b1w -= gw[k];
      gw.erase(k);
      ghost = 1;
    } else if (in(b2, k)) {  // case III
      p = std::max(p - std::max(static_cast<double>(b1w) / static_cast<double>(b2w), 1.0), 0.0);
      rm(b2, k);
      b2w -= gw[k];
      gw.erase(k);
      ghost = 2;
    }
    if (w > capacity) return o;
    while (used + w > capacity) {
      if (ghost != 0) {
        o.evicted.push_back(replace(ghost == 2));
      } else if (t1w + b1w + w > capacity) {  // case IV A
        if (!b1.empty()) {
          drop_ghost_lru(b1, b1w);
          o.evicted.push_back(replace(false));
        } else {
          o.evicted.push_back(evict_from(t1, t1w, nullptr, nullptr));
        }
      } else {  // case IV B
        if (t1w + t2w + b1w + b2w >= 2 * capacity && !b2.empty()) drop_ghost_lru(b2, b2w);
        o.evicted.push_back(replace(false));
      }
    }
    weight[k] = w;
    used += w;
    if (ghost != 0) {
      t2.push_front(k);
      t2w += w;
    } else {
      t1.push_front(k);
      t1w += w;
    }
    o.stored = true;
    return o;
  }
  bool erase(key_t k) {
    if (!weight.contains(k)) return false;
    const auto w = weight[k];
    if (in(t1, k)) {
      rm(t1, k);
      t1w -= w;
    } else {
      rm(t2, k);
      t2w -= w;
    }
    used -= w;
    weight.erase(k);
    return true;
  }
};


// ---------------------------------------------------------------------------------------
// ARC

TEST(Arc, HandWorkedOrder) {
  // c = 3.
  //  A B C → T1 = C B A.  A hit → T2 = A, T1 = C B.
  //  D (IV-B): |T1| = 2 > p = 0 → B to B1.                                victim B
  //  B in B1: p = 0 + max(0/1, 1) = 1; |T1| = 2 > 1 → C to B1; B → T2.     victim C
  //  E (IV-B): |T1| = 1 = p, x not in B2 → T2's LRU A to B2.                victim A
  //  A in B2: p = 1 − max(1/1, 1) = 0; |T1| = 2 > 0 → D to B1; A → T2.     victim D
  //  F (IV-A: |T1|+|B1| = 1+2 = 3): drop B1's LRU C; REPLACE → E to B1.    victim E
  //  C (now forgotten, IV-A): drop B1's LRU D; REPLACE → F to B1.           victim F
  harness<pol::arc> h(3);
  enum : key_t { A = 1, B, C, D, E, F };
  auto& p = h.policy();
  EXPECT_EQ(victims_of(h, {A, B, C, A, D}), (std::vector<key_t>{B}));
  EXPECT_TRUE(p.in_b1(mix(B)));
  EXPECT_EQ(victims_of(h, {B}), (std::vector<key_t>{C}));
  EXPECT_DOUBLE_EQ(p.target(), 1.0);
  EXPECT_TRUE(p.in_t2(h.slot_of(B)));
  EXPECT_EQ(victims_of(h, {E}), (std::vector<key_t>{A}));
  EXPECT_TRUE(p.in_b2(mix(A)));
  EXPECT_EQ(victims_of(h, {A}), (std::vector<key_t>{D}));
  EXPECT_DOUBLE_EQ(p.target(), 0.0);
  EXPECT_EQ(victims_of(h, {F}), (std::vector<key_t>{E}));
  EXPECT_FALSE(p.in_b1(mix(C)));
  EXPECT_EQ(victims_of(h, {C}), (std::vector<key_t>{F}));
  EXPECT_TRUE(p.in_t1(h.slot_of(C)));
  EXPECT_EQ(p.b1_weight(), 2u);  // F, E
}

TEST(Arc, GhostsAreBounded) {
  harness<pol::arc> h(100);
  std::mt19937_64 rng(7);
  for (int i = 0; i < 200000; ++i) h.request(rng() % 1000);
  auto& p = h.policy();
  EXPECT_LE(p.t1_weight() + p.b1_weight(), 100u);
  EXPECT_LE(p.t1_weight() + p.t2_weight() + p.b1_weight() + p.b2_weight(), 200u);
}

TEST(Arc, AdoptPlacesResidentsByWhatTheCallerKnows) {
  // A hand-over (the learned policy waking ARC with the cache's contents): entries
  // requested more than once start in T2, the others in T1, least recently used first;
  // adopting is not a request, so a ghost of the key is dropped without adapting p.
  pol::arc p(4);
  p.reserve_slots(8);
  enum : key_t { A = 1, B, C, D, E, F };
  // B leaves a ghost in B1 first: an ordinary request would take it back into T2.
  const access b{mix(B), 0, 1, access::unknown};
  p.on_miss(b);
  p.on_insert(7, b);
  p.on_evict(7);
  ASSERT_TRUE(p.in_b1(mix(B)));
  const bool frequent[] = {false, true, false, true};
  const key_t keys[] = {A, B, C, D};
  for (slot_id s = 0; s < 4; ++s) p.adopt(s, access{mix(keys[s]), 1 + s, 1, access::unknown}, frequent[s]);
  for (slot_id s = 0; s < 4; ++s) {
    EXPECT_EQ(p.in_t2(s), frequent[s]) << "slot " << s;
    EXPECT_EQ(p.in_t1(s), !frequent[s]) << "slot " << s;
  }
  EXPECT_EQ(p.t1_weight(), 2u);
  EXPECT_EQ(p.t2_weight(), 2u);
  EXPECT_DOUBLE_EQ(p.target(), 0.0);  // B's ghost did not count as a hit in B1
  EXPECT_FALSE(p.in_b1(mix(B)));
  // A new key: |T1| = 2 > p = 0, so T1's least recently used (the first adopted, A)
  // goes to B1; then another: C.
  const access e{mix(E), 10, 1, access::unknown};
  p.on_miss(e);
  EXPECT_EQ(p.victim(e), slot_id{0});
  p.on_evict(0);
  p.on_insert(0, e);
  EXPECT_TRUE(p.in_b1(mix(A)));
  const access f{mix(F), 11, 1, access::unknown};
  p.on_miss(f);
  EXPECT_EQ(p.victim(f), slot_id{2});
  // The same residents adopted all as infrequent would have lost B first of the two.
  pol::arc q(4);
  q.reserve_slots(8);
  for (slot_id s = 0; s < 4; ++s) q.adopt(s, access{mix(keys[s]), 1 + s, 1, access::unknown}, false);
  q.on_miss(e);
  EXPECT_EQ(q.victim(e), slot_id{0});
  q.on_evict(0);
  q.on_insert(0, e);
  q.on_miss(f);
  EXPECT_EQ(q.victim(f), slot_id{1});
}

TEST(Arc, ModelUnitWeights) {
  arc_ref ref(64);
  run_model<pol::arc>(64, {}, ref, 6, 200, 1, 100000);
}

TEST(Arc, ModelWeighted) {
  arc_ref ref(200);
  run_model<pol::arc>(200, {}, ref, 7, 300, 8, 100000);
}

TEST(Arc, ModelUnitWeightsThenWeighted) {
  arc_ref ref(200);
  run_model<pol::arc>(200, {}, ref, 14, 300, 8, 100000, true, 30000);
}


}  // namespace
}  // namespace policy_test
