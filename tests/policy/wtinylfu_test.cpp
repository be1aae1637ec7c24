// W-TinyLFU (and its frequency sketch): a hand-worked eviction order on a short sequence (worked out from the paper /
// libCacheSim's code, the expected victims written out below), and a model test that
// drives the policy through ≥ 100,000 random operations against a small, obviously
// correct reference written here with std::list / std::map, comparing every hit or miss
// and every victim.
#include "policy_harness.hpp"

namespace policy_test {
namespace {

// W-TinyLFU: window LRU + SLRU main, admission by the same sketch type (the sketch itself
// is tested separately against exact counts). With `adaptive`, the hill climber as the
// header states it: a sample of as many lookups as the sketch's aging period (sample_factor
// × its entries), a step of 6.25% of the capacity decaying by 0.98, restarted by a 5-point
// move of the hit ratio.
struct wtinylfu_ref : ref_base {
  std::uint64_t window_cap = 0, main_cap, protected_cap;
  std::list<key_t> win, prob, prot;  // front = MRU
  std::uint64_t winw = 0, probw = 0, protw = 0;
  pol::detail::frequency_sketch sketch;
  bool adaptive;
  std::uint64_t sample_size, lookups = 0, hits = 0;
  double previous = 0, step;

  wtinylfu_ref(std::uint64_t c, pol::wtinylfu::config cfg)
      : ref_base(c),
        sketch(cfg.sketch_entries ? cfg.sketch_entries : c, cfg.sample_factor, cfg.doorkeeper),
        adaptive(cfg.adaptive),
        sample_size(cfg.sample_factor * std::max<std::uint64_t>(cfg.sketch_entries ? cfg.sketch_entries : c, 1)),
        step(-0.0625 * static_cast<double>(c)) {
    if (c > 0) window_cap = std::min<std::uint64_t>(c, std::max<std::uint64_t>(1, static_cast<std::uint64_t>(static_cast<double>(c) * cfg.window_ratio)));
    main_cap = c - window_cap;
    protected_cap = static_cast<std::uint64_t>(static_cast<double>(main_cap) * cfg.protected_ratio);
  }
  void demote_protected() {
    while (protw > protected_cap && prot.size() > 1) {
      const key_t d = prot.back();
      prot.pop_back();
      protw -= weight[d];
      prob.push_front(d);
      probw += weight[d];
    }
  }
  void count(bool hit) {
    if (!adaptive) return;
    hits += hit;
    if (++lookups < sample_size) return;
    const double ratio = static_cast<double>(hits) / static_cast<double>(lookups);
    const double amount = ratio >= previous ? step : -step;
    step = std::abs(ratio - previous) >= 0.05 ? (amount >= 0 ? 0.0625 : -0.0625) * static_cast<double>(capacity) : 0.98 * amount;
    previous = ratio;
    hits = lookups = 0;
    const auto moved = static_cast<std::int64_t>(amount);
    if (moved > 0) {
      const auto q = std::min<std::uint64_t>(static_cast<std::uint64_t>(moved), protected_cap);
      protected_cap -= q;
      window_cap += q;
      demote_protected();
    } else if (moved < 0) {
      const auto q = std::min<std::uint64_t>(static_cast<std::uint64_t>(-moved), window_cap);
      window_cap -= q;
      protected_cap += q;
    }
    main_cap = capacity - window_cap;
  }
  static bool in(const std::list<key_t>& l, key_t k) { return std::find(l.begin(), l.end(), k) != l.end(); }
  static void rm(std::list<key_t>& l, key_t k) { l.erase(std::find(l.begin(), l.end(), k)); }
  std::uint32_t f(key_t k) const { return sketch.frequency(mix(k)); }
  void to_probation_from_window(key_t c) {
    win.pop_back();
    winw -= weight[c];
    prob.push_front(c);
    probw += weight[c];
  }
  key_t evict(std::list<key_t>& l, std::uint64_t& lw) {
    const key_t v = l.back();
    l.pop_back();
    lw -= weight[v];
    used -= weight[v];
    weight.erase(v);
    return v;
  }
  key_t evict_main() { return !prob.empty() ? evict(prob, probw) : evict(prot, protw); }
  bool main_empty() const { return prob.empty() && prot.empty(); }

  outcome request(key_t k, std::uint64_t w) {
    outcome o;
    sketch.increment(mix(k));
    count(weight.contains(k));
    if (weight.contains(k)) {
      o.hit = o.stored = true;
      if (in(win, k)) {
        rm(win, k);
        win.push_front(k);
      } else if (in(prob, k)) {
        rm(prob, k);
        probw -= w;
        prot.push_front(k);
        protw += w;
        demote_protected();
      } else {
        rm(prot, k);
        prot.push_front(k);
      }
      return o;
    }
    if (w > capacity) return o;
    while (used + w > capacity) {
      for (;;) {
        if (win.empty() || winw + w <= window_cap) {
          o.evicted.push_back(!main_empty() ? evict_main() : evict(win, winw));
          break;
        }
        const key_t c = win.back();
        if (probw + protw + weight[c] <= main_cap) {
          to_probation_from_window(c);
          continue;
        }
        if (main_empty()) {
          o.evicted.push_back(evict(win, winw));
          break;
        }
        const key_t v = !prob.empty() ? prob.back() : prot.back();
        if (f(c) > f(v)) {
          to_probation_from_window(c);
          o.evicted.push_back(evict_main());
        } else {
          o.evicted.push_back(evict(win, winw));
        }
        break;
      }
    }
    weight[k] = w;
    used += w;
    win.push_front(k);
    winw += w;
    while (winw > window_cap && win.back() != k && probw + protw + weight[win.back()] <= main_cap)
      to_probation_from_window(win.back());
    o.stored = true;
    return o;
  }
  bool erase(key_t k) {
    if (!weight.contains(k)) return false;
    const auto w = weight[k];
    if (in(win, k)) {
      rm(win, k);
      winw -= w;
    } else if (in(prob, k)) {
      rm(prob, k);
      probw -= w;
    } else {
      rm(prot, k);
      protw -= w;
    }
    used -= w;
    weight.erase(k);
    return true;
  }
};


// ---------------------------------------------------------------------------------------
// Frequency sketch and W-TinyLFU

TEST(FrequencySketch, NeverUnderestimatesBeforeAging) {
  pol::detail::frequency_sketch s(1024, 1000);  // W far away
  std::map<std::uint64_t, std::uint32_t> exact;
  std::mt19937_64 rng(11);
  for (int i = 0; i < 20000; ++i) {
    const auto k = std::min(rng() % 4000, rng() % 4000);
    s.increment(mix(k));
    ++exact[k];
  }
  std::uint64_t err = 0;
  for (auto [k, n] : exact) {
    const auto f = s.frequency(mix(k));
    ASSERT_GE(f, std::min<std::uint32_t>(n, 16)) << k;
    err += f - std::min<std::uint32_t>(n, 16);
  }
  // Mean overestimate well under the worst-case e·N/w bound.
  EXPECT_LT(static_cast<double>(err) / static_cast<double>(exact.size()), 2.0);
}

TEST(FrequencySketch, DoorkeeperAbsorbsFirstOccurrence) {
  pol::detail::frequency_sketch s(64);
  EXPECT_EQ(s.frequency(mix(1)), 0u);
  s.increment(mix(1));
  EXPECT_EQ(s.frequency(mix(1)), 1u);
  s.increment(mix(1));
  EXPECT_EQ(s.frequency(mix(1)), 2u);
  for (int i = 0; i < 30; ++i) s.increment(mix(1));
  EXPECT_EQ(s.frequency(mix(1)), 16u);  // 15 in the counters + the doorkeeper bit
}

TEST(FrequencySketch, AgesEverySampleAndHalves) {
  pol::detail::frequency_sketch s(64, 10);  // W = 640
  ASSERT_EQ(s.sample_size(), 640u);
  for (int i = 0; i < 11; ++i) s.increment(mix(42));
  EXPECT_EQ(s.frequency(mix(42)), 11u);
  std::uint64_t k = 1000;
  while (s.samples() != 0 && s.samples() < s.sample_size() - 1) s.increment(mix(k++));
  s.increment(mix(k++));  // the W-th sample: halve
  EXPECT_EQ(s.samples(), 320u);
  EXPECT_EQ(s.frequency(mix(42)), 5u);  // 10 in the counters → 5, doorkeeper cleared
}

TEST(WTinyLfu, Sizes) {
  pol::wtinylfu p500(500), p5000(5000);
  EXPECT_EQ(p500.window_capacity(), 5u);
  EXPECT_EQ(p500.main_capacity(), 495u);
  EXPECT_EQ(p500.protected_capacity(), 396u);
  EXPECT_EQ(p5000.window_capacity(), 50u);
  EXPECT_EQ(p5000.sketch().sample_size(), 50000u);
}

TEST(WTinyLfu, HandWorkedOrder) {
  // cap 4: window 1, main 3, protected 2. Frequencies: first sight 1 (doorkeeper), +1
  // per further request (no collisions in a 4096-entry sketch for 7 keys).
  //  A B C D: window overflow spills to probation → W = D, P = C B A.
  //  A, B, C hits → protected; protected over 2 → A demoted: P = A, Prot = C B.
  //  E: candidate D (1) vs main victim A (2) → D out.              victim D
  //  D (now 2): candidate E (1) vs A (2) → E out.                    victim E
  //  F: candidate D (2) vs A (2): a tie keeps the victim → D out.    victim D
  //  D (now 3): candidate F (1) vs A (2) → F out.                    victim F
  //  G: candidate D (3) vs A (2) → D admitted to probation, A out.  victim A
  harness<pol::wtinylfu> h(4, {.window_ratio = 0.25, .sketch_entries = 4096});
  enum : key_t { A = 1, B, C, D, E, F, G };
  EXPECT_EQ(victims_of(h, {A, B, C, D, A, B, C}), (std::vector<key_t>{}));
  auto& p = h.policy();
  EXPECT_TRUE(p.in_window(h.slot_of(D)));
  EXPECT_TRUE(p.in_probation(h.slot_of(A)));
  EXPECT_TRUE(p.in_protected(h.slot_of(B)) && p.in_protected(h.slot_of(C)));
  EXPECT_EQ(victims_of(h, {E, D, F, D, G}), (std::vector<key_t>{D, E, D, F, A}));
  EXPECT_TRUE(p.in_probation(h.slot_of(D)));
  EXPECT_TRUE(p.in_window(h.slot_of(G)));
  EXPECT_EQ(p.frequency(mix(D)), 3u);  // requested three times
}

TEST(WTinyLfu, AdoptTakesResidentsWithoutCountingThem) {
  // A hand-over (the learned policy's panel) gives W-TinyLFU entries another policy
  // admitted: `adopt` places them as `on_insert` does, but they are not requests, so
  // the sketch's frequencies are those of the requests alone.
  pol::wtinylfu counted(4, {.window_ratio = 0.25, .sketch_entries = 4096});
  pol::wtinylfu adopted(4, {.window_ratio = 0.25, .sketch_entries = 4096});
  counted.reserve_slots(4);
  adopted.reserve_slots(4);
  for (slot_id s = 0; s < 4; ++s) {
    const access a{mix(100 + s), s, 1, access::unknown};
    counted.record(a.key_hash);  // requested once while another policy decided
    adopted.record(a.key_hash);
    counted.on_insert(s, a);
    adopted.adopt(s, a);
  }
  for (slot_id s = 0; s < 4; ++s) {
    EXPECT_EQ(adopted.frequency(mix(100 + s)), 1u);
    EXPECT_EQ(counted.frequency(mix(100 + s)), 2u);
    EXPECT_EQ(adopted.in_window(s), counted.in_window(s));
    EXPECT_EQ(adopted.in_probation(s), counted.in_probation(s));
  }
  // Same places, so the same victim; only the contest's frequencies differ.
  const access next{mix(200), 5, 1, access::unknown};
  EXPECT_EQ(adopted.victim(next), counted.victim(next));
}

TEST(WTinyLfu, ReleasedEntriesKeepTheSketch) {
  // While it sleeps beside the learned policy, W-TinyLFU gives its per-slot memory back
  // (`release_entries`) but keeps counting requests: woken with reserve_slots, it must
  // decide exactly as one that only forgot its entries (`clear_entries`) — the same
  // frequencies, the same places, the same victims.
  pol::wtinylfu cleared(8, {.window_ratio = 0.25, .sketch_entries = 4096});
  pol::wtinylfu released(8, {.window_ratio = 0.25, .sketch_entries = 4096});
  const auto fill = [](pol::wtinylfu& p, std::uint64_t base) {
    p.reserve_slots(8);
    for (slot_id s = 0; s < 8; ++s) p.on_insert(s, access{mix(base + s), s, 1, access::unknown});
  };
  fill(cleared, 100);
  fill(released, 100);
  for (std::uint64_t k = 100; k < 104; ++k)
    for (int r = 0; r < 3; ++r) {
      cleared.record(mix(k));
      released.record(mix(k));
    }
  cleared.clear_entries();
  released.release_entries();
  EXPECT_TRUE(released.resident_slots().empty());
  fill(cleared, 104);  // keys 104..111: 104-107 seen once before, 108-111 new
  fill(released, 104);
  // 100-103 (four requests each, none resident now) are what the sketch must remember.
  for (std::uint64_t k = 100; k < 112; ++k) EXPECT_EQ(released.frequency(mix(k)), cleared.frequency(mix(k)));
  for (std::uint64_t i = 0; i < 16; ++i) {
    const access next{mix(300 + i), 20 + i, 1, access::unknown};
    const slot_id v = cleared.victim(next);
    ASSERT_EQ(released.victim(next), v) << "eviction " << i;
    cleared.on_evict(v);
    released.on_evict(v);
    cleared.on_insert(v, next);
    released.on_insert(v, next);
  }
}

TEST(WTinyLfu, ScanResistance) {
  // A hot set that fits survives a long scan of one-hit keys.
  harness<pol::wtinylfu> h(100);
  for (int r = 0; r < 20; ++r)
    for (key_t k = 0; k < 50; ++k) h.request(k);
  for (key_t k = 1000; k < 21000; ++k) h.request(k);
  int hits = 0;
  for (key_t k = 0; k < 50; ++k) hits += h.request(k).hit;
  EXPECT_GE(hits, 45);
}

TEST(WTinyLfu, ModelUnitWeights) {
  const pol::wtinylfu::config cfg{.window_ratio = 0.05};
  wtinylfu_ref ref(64, cfg);
  run_model<pol::wtinylfu>(64, cfg, ref, 8, 200, 1, 100000);
}

TEST(WTinyLfu, ModelWeighted) {
  const pol::wtinylfu::config cfg{.window_ratio = 0.05, .sketch_entries = 256};
  wtinylfu_ref ref(200, cfg);
  run_model<pol::wtinylfu>(200, cfg, ref, 9, 300, 8, 100000);
}

TEST(WTinyLfu, ModelUnitWeightsThenWeighted) {
  const pol::wtinylfu::config cfg{.window_ratio = 0.05, .sketch_entries = 256};
  wtinylfu_ref ref(200, cfg);
  run_model<pol::wtinylfu>(200, cfg, ref, 15, 300, 8, 100000, true, 30000);
}

TEST(WTinyLfu, ModelDefaults) {
  wtinylfu_ref ref(500, {});
  run_model<pol::wtinylfu>(500, {}, ref, 10, 1500, 1, 100000);
}

// The adaptive window against the reference: 100,000 operations at 50 entries are close to
// 200 samples of 500 lookups, each ending in a climb (the weighted one: about 100 of 4 × 256).
TEST(WTinyLfu, ModelAdaptiveUnitWeights) {
  const pol::wtinylfu::config cfg{.adaptive = true};
  wtinylfu_ref ref(50, cfg);
  run_model<pol::wtinylfu>(50, cfg, ref, 11, 150, 1, 100000);
}

TEST(WTinyLfu, ModelAdaptiveWeighted) {
  const pol::wtinylfu::config cfg{.window_ratio = 0.2, .sample_factor = 4, .sketch_entries = 256, .adaptive = true};
  wtinylfu_ref ref(200, cfg);
  run_model<pol::wtinylfu>(200, cfg, ref, 12, 300, 8, 100000);
}

// Where recency pays (a working set that drifts faster than frequencies age), the window
// grows far beyond its 1% and misses a tenth less than the fixed window at least; where
// frequency pays (a fixed hot set under one-time scans), it stays small and misses at most
// 2% more.
TEST(WTinyLfu, AdaptiveWindowFollowsTheWorkload) {
  constexpr std::uint64_t capacity = 1000;
  auto run = [&](bool adaptive, auto&& next_key, int requests) {
    harness<pol::wtinylfu> h(capacity, pol::wtinylfu::config{.adaptive = adaptive});
    std::uint64_t misses = 0;
    for (int i = 0; i < requests; ++i) misses += h.request(next_key(i)).hit ? 0 : 1;
    return std::pair{misses, h.policy().window_capacity()};
  };
  // Recency: each request is one of the 800 newest keys, picked uniformly, or (one in
  // five) a new key — an LRU of 1,000 holds almost all of them.
  std::mt19937_64 rng(5);
  std::vector<key_t> recent;
  key_t next_new = 0;
  auto drifting = [&](int) {
    if (recent.size() < 800 || rng() % 5 == 0) {
      recent.push_back(next_new);
      return next_new++;
    }
    return recent[recent.size() - 1 - rng() % 800];
  };
  const auto [fixed_misses, fixed_window] = run(false, drifting, 200000);
  rng.seed(5);
  recent.clear();
  next_new = 0;
  const auto [adaptive_misses, adaptive_window] = run(true, drifting, 200000);
  EXPECT_EQ(fixed_window, 10u);
  EXPECT_GT(adaptive_window, capacity / 4) << "the window grew where recency pays";
  EXPECT_LT(adaptive_misses, fixed_misses * 9 / 10);

  // Frequency: 600 hot keys, every other request a key of a scan never seen again.
  auto scanned = [&](int i) { return i % 2 == 0 ? static_cast<key_t>(rng() % 600) : static_cast<key_t>(1000000 + i); };
  rng.seed(6);
  const auto [fixed_scan_misses, w0] = run(false, scanned, 200000);
  rng.seed(6);
  const auto [adaptive_scan_misses, scan_window] = run(true, scanned, 200000);
  EXPECT_LT(scan_window, capacity / 10) << "the window stayed small where frequency pays";
  EXPECT_LT(adaptive_scan_misses, fixed_scan_misses * 102 / 100);
}

TEST(WTinyLfu, AdaptiveParameterAndClearRestoresTheWindow) {
  pol::wtinylfu::config cfg;
  EXPECT_TRUE(cfg.set("adaptive", "true"));
  EXPECT_TRUE(cfg.adaptive);
  EXPECT_THROW(cfg.set("adaptive", "sometimes"), pol::config_error);
  EXPECT_TRUE(cfg.adaptive);
  harness<pol::wtinylfu> h(100, cfg);
  for (int i = 0; i < 20000; ++i) h.request(static_cast<key_t>(i % 300));  // a loop larger than the cache
  ASSERT_NE(h.policy().window_capacity(), 1u) << "20 samples moved the window";
  ASSERT_NE(h.policy().climb_step(), -6.25);
  h.policy().clear();
  EXPECT_EQ(h.policy().window_capacity(), 1u);
  EXPECT_EQ(h.policy().main_capacity(), 99u);
  EXPECT_EQ(h.policy().protected_capacity(), 79u);
  EXPECT_DOUBLE_EQ(h.policy().climb_step(), -6.25);
}


}  // namespace
}  // namespace policy_test
