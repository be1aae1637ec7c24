// S3-FIFO: a hand-worked eviction order on a short sequence (worked out from the paper /
// libCacheSim's code, the expected victims written out below), and a model test that
// drives the policy through ≥ 100,000 random operations against a small, obviously
// correct reference written here with std::list / std::map, comparing every hit or miss
// and every victim.
#include "policy_harness.hpp"

namespace policy_test {
namespace {

// S3-FIFO as in libCacheSim's S3FIFO.c (see s3fifo.hpp for the rules).
struct s3fifo_ref : ref_base {
  std::uint64_t small_cap, main_cap, ghost_cap;
  int threshold;
  bool warmup_into_main;
  std::list<key_t> small, main, ghost;  // front = newest
  std::map<key_t, int> freq;
  std::map<key_t, std::uint64_t> ghost_w;
  std::uint64_t small_w = 0, main_w = 0, ghost_total = 0;
  bool has_evicted = false;
  std::set<key_t> in_main;

  s3fifo_ref(std::uint64_t c, pol::s3fifo::config cfg) : ref_base(c) {
    small_cap = c == 0 ? 0 : std::min<std::uint64_t>(c, std::max<std::uint64_t>(1, static_cast<std::uint64_t>(static_cast<double>(c) * cfg.small_ratio)));
    main_cap = c - small_cap;
    ghost_cap = static_cast<std::uint64_t>(static_cast<double>(c) * cfg.ghost_ratio);
    threshold = cfg.move_to_main_threshold;
    warmup_into_main = cfg.warmup_into_main;
  }
  bool ghost_remove(key_t k) {
    auto it = std::find(ghost.begin(), ghost.end(), k);
    if (it == ghost.end()) return false;
    ghost_total -= ghost_w[k];
    ghost_w.erase(k);
    ghost.erase(it);
    return true;
  }
  void remove_resident(key_t k) {
    auto& q = in_main.contains(k) ? main : small;
    (in_main.contains(k) ? main_w : small_w) -= weight[k];
    q.erase(std::find(q.begin(), q.end(), k));
    in_main.erase(k);
    used -= weight[k];
    weight.erase(k);
    freq.erase(k);
  }
  key_t evict_one() {
    has_evicted = true;
    for (;;) {
      if (main_w > main_cap || small.empty()) {
        for (;;) {
          const key_t t = main.back();
          if (freq[t] >= 1) {
            main.pop_back();
            main.push_front(t);
            freq[t] = std::min(freq[t], 3) - 1;
          } else {
            remove_resident(t);
            return t;
          }
        }
      }
      while (!small.empty()) {
        const key_t t = small.back();
        if (freq[t] >= threshold) {
          small.pop_back();
          small_w -= weight[t];
          main.push_front(t);
          main_w += weight[t];
          in_main.insert(t);
          freq[t] = 0;
        } else {
          const auto w = weight[t];
          remove_resident(t);
          if (ghost_cap > 0 && w <= ghost_cap) {
            ghost_remove(t);
            ghost.push_front(t);
            ghost_w[t] = w;
            ghost_total += w;
            while (ghost_total > ghost_cap) ghost_remove(ghost.back());
          }
          return t;
        }
      }
    }
  }
  outcome request(key_t k, std::uint64_t w) {
    outcome o;
    if (weight.contains(k)) {
      freq[k] = std::min(freq[k] + 1, 3);
      o.hit = o.stored = true;
      return o;
    }
    const bool ghost_hit = ghost_remove(k);
    if (w > capacity) return o;
    while (used + w > capacity) o.evicted.push_back(evict_one());
    weight[k] = w;
    used += w;
    freq[k] = 0;
    if (ghost_hit || (warmup_into_main && !has_evicted && small_w >= small_cap)) {
      main.push_front(k);
      main_w += w;
      in_main.insert(k);
    } else {
      small.push_front(k);
      small_w += w;
    }
    o.stored = true;
    return o;
  }
  bool erase(key_t k) {
    if (!weight.contains(k)) return false;
    remove_resident(k);
    return true;
  }
};


// ---------------------------------------------------------------------------------------
// S3-FIFO

TEST(S3Fifo, Threshold) {
  // The paper's `freq > 1` and libCacheSim's move-to-main-threshold=2.
  EXPECT_EQ(pol::s3fifo::config{}.move_to_main_threshold, 2);
  pol::s3fifo p(500);
  EXPECT_EQ(p.small_capacity(), 50u);
  EXPECT_EQ(p.main_capacity(), 450u);
}

TEST(S3Fifo, HandWorkedOrder) {
  // cap 4, S = 1, M = 3, G = 3 (ratios 0.25 / 0.75); the default: new keys enter S.
  //  A B C D → S = D C B A (S may exceed its share until the cache is full). A hit ×2.
  //  E: M (empty) not over, S's tail A has freq 2 → M; next tail B freq 0 → evict, G = B.
  //  C hit (freq 1). F: S's tail C has freq 1 < 2 → evict, G = C B.
  //  B: ghost hit (G = C) → S's tail D → evict (G = D C); B enters M = B A.
  //  C: ghost hit (G = D) → S's tail E → evict (G = E D); C enters M = C B A.
  //  G: M holds 3, not over → S's F → evict (G = F E D).
  //  H: S's G → evict; G = G F E, D falls out of the 3-entry ghost.
  harness<pol::s3fifo> h(4, {.small_ratio = 0.25, .ghost_ratio = 0.75});
  enum : key_t { A = 1, B, C, D, E, F, G, H };
  EXPECT_EQ(victims_of(h, {A, B, C, D, A, A, E, C, F, B, C, G, H}), (std::vector<key_t>{B, C, D, E, F, G}));
  auto& p = h.policy();
  EXPECT_TRUE(p.in_main(h.slot_of(A)) && p.in_main(h.slot_of(B)) && p.in_main(h.slot_of(C)));
  EXPECT_TRUE(p.in_small(h.slot_of(H)));
  EXPECT_TRUE(p.in_ghost(mix(G)) && p.in_ghost(mix(F)) && p.in_ghost(mix(E)));
  EXPECT_FALSE(p.in_ghost(mix(D)));
  EXPECT_EQ(p.ghost_weight(), 3u);
}

TEST(S3Fifo, HandWorkedOrderWarmupIntoMain) {
  // cap 4, S = 1, M = 3, G = 3, and libCacheSim's Dec-2024 warm-up rule.
  //  A→S; B,C,D→M (S full before the first eviction); A hit ×2 (freq 2)
  //  E: S's A has freq 2 → M (freq 0); S empty → M over → evict M's tail B (freq 0).
  //  C hit. F: M not over, S's E freq 0 → evict E into G.
  //  E: ghost hit → evict S's F (into G), E enters M.
  //  G: M over (A,D,C,E): tail C freq 1 → reinsert with 0; D freq 0 → evict D.
  //  H: S's G freq 0 → evict G.
  harness<pol::s3fifo> h(4, {.small_ratio = 0.25, .ghost_ratio = 0.75, .warmup_into_main = true});
  enum : key_t { A = 1, B, C, D, E, F, G, H };
  EXPECT_EQ(victims_of(h, {A, B, C, D, A, A, E, C, F, E, G, H}), (std::vector<key_t>{B, E, F, D, G}));
  auto& p = h.policy();
  EXPECT_TRUE(p.in_main(h.slot_of(E)));
  EXPECT_TRUE(p.in_main(h.slot_of(A)));
  EXPECT_TRUE(p.in_small(h.slot_of(H)));
  EXPECT_TRUE(p.in_ghost(mix(G)));
  EXPECT_TRUE(p.in_ghost(mix(F)));
  EXPECT_FALSE(p.in_ghost(mix(E)));  // taken out by its ghost hit
  EXPECT_EQ(p.freq(h.slot_of(C)), 0);
}

TEST(S3Fifo, AdoptPlacesResidentsByWhatTheCallerKnows) {
  // A hand-over (the learned policy waking S3-FIFO with the cache's contents), cap 4,
  // S = 1, M = 3: entries requested more than once start in M, the others in S, least
  // recently used first. Adopted A, B, C, D with B and D frequent: S = C A, M = D B.
  //  E: S over its share → S's tail A (freq 0) → evict; F: S = E C → C.
  // Adopted all as infrequent (S = D C B A), E and F evict A and then B.
  enum : key_t { A = 1, B, C, D, E, F };
  const key_t keys[] = {A, B, C, D};
  const auto victims = [&](const bool (&frequent)[4]) {
    pol::s3fifo p(4, {.small_ratio = 0.25, .ghost_ratio = 0.75});
    p.reserve_slots(8);
    // B has a ghost: an ordinary insert would send it to M; adopting drops it.
    const access b{mix(B), 0, 1, access::unknown};
    p.on_miss(b);
    p.on_insert(7, b);
    p.on_evict(7);
    EXPECT_TRUE(p.in_ghost(mix(B)));
    for (slot_id s = 0; s < 4; ++s) p.adopt(s, access{mix(keys[s]), 1 + s, 1, access::unknown}, frequent[s]);
    EXPECT_FALSE(p.in_ghost(mix(B)));
    for (slot_id s = 0; s < 4; ++s) {
      EXPECT_EQ(p.in_main(s), frequent[s]) << "slot " << s;
      EXPECT_EQ(p.in_small(s), !frequent[s]) << "slot " << s;
    }
    std::vector<slot_id> out;
    slot_id next = 4;
    for (const key_t k : {E, F}) {
      const access a{mix(k), 10 + k, 1, access::unknown};
      p.on_miss(a);
      const slot_id v = p.victim(a);
      out.push_back(v);
      p.on_evict(v);
      p.on_insert(next++, a);
    }
    return out;
  };
  EXPECT_EQ(victims({false, true, false, true}), (std::vector<slot_id>{0, 2}));
  EXPECT_EQ(victims({false, false, false, false}), (std::vector<slot_id>{0, 1}));
}

TEST(S3Fifo, GhostIsBounded) {
  harness<pol::s3fifo> h(100);
  for (key_t k = 0; k < 100000; ++k) h.request(k);  // a scan: everything goes S → G
  EXPECT_LE(h.policy().ghost_weight(), 90u);
}

TEST(S3Fifo, ModelUnitWeights) {
  s3fifo_ref ref(64, {});
  run_model<pol::s3fifo>(64, {}, ref, 3, 200, 1, 100000);
}

TEST(S3Fifo, ModelWeighted) {
  s3fifo_ref ref(200, {});
  run_model<pol::s3fifo>(200, {}, ref, 4, 300, 8, 100000);
}

TEST(S3Fifo, ModelUnitWeightsThenWeighted) {
  // No weights stored for the first 30,000 requests (all of weight 1), then keys of
  // weight 1-8: the columns (slots' and G's) switch in mid-run, ghosts already remembered.
  s3fifo_ref ref(200, {});
  run_model<pol::s3fifo>(200, {}, ref, 13, 300, 8, 100000, true, 30000);
}

TEST(S3Fifo, ModelWarmupIntoMain) {
  const pol::s3fifo::config cfg{.warmup_into_main = true};
  s3fifo_ref ref(64, cfg);
  run_model<pol::s3fifo>(64, cfg, ref, 16, 200, 1, 100000);
}

TEST(S3Fifo, ModelOtherThreshold) {
  const pol::s3fifo::config cfg{.small_ratio = 0.2, .ghost_ratio = 0.5, .move_to_main_threshold = 1};
  s3fifo_ref ref(50, cfg);
  run_model<pol::s3fifo>(50, cfg, ref, 5, 150, 1, 100000);
}


}  // namespace
}  // namespace policy_test
