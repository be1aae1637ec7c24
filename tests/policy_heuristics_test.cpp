// Tests of the heuristic policies (S3-FIFO, SIEVE, ARC, W-TinyLFU) and Belady's MIN.
//
// For each policy: a hand-worked eviction order on a short sequence (worked out from the
// paper / libCacheSim's code, the expected victims written out below), and a model test
// that drives the policy through ≥ 100,000 random operations against a small, obviously
// correct reference written here with std::list / std::map, comparing every hit or miss
// and every victim. Belady is also checked against brute force on tiny traces.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <limits>
#include <list>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <unordered_map>
#include <vector>

#include "prescient/policy/arc.hpp"
#include "prescient/policy/belady.hpp"
#include "prescient/policy/detail/frequency_sketch.hpp"
#include "prescient/policy/detail/ghost_lists.hpp"
#include "prescient/policy/lru.hpp"
#include "prescient/policy/s3fifo.hpp"
#include "prescient/policy/sieve.hpp"
#include "prescient/policy/wtinylfu.hpp"

namespace {

using prescient::access;
using prescient::no_slot;
using prescient::slot_id;
namespace pol = prescient::policy;

using key_t = std::uint64_t;

std::uint64_t mix(std::uint64_t x) {  // splitmix64 finaliser: the "cache's key hash"
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

struct outcome {
  bool hit = false;
  bool stored = false;           // the key is resident after the request
  std::vector<key_t> evicted;    // in eviction order
  bool operator==(const outcome&) const = default;
};

std::ostream& operator<<(std::ostream& os, const outcome& o) {
  os << (o.hit ? "hit" : "miss") << (o.stored ? " stored" : " bypassed") << " evicted [";
  for (auto k : o.evicted) os << k << ' ';
  return os << ']';
}

// A test-local cache core: key → slot index with a free list, the exact call protocol of
// the real core (on_miss → [victim → admit → on_evict]* → on_insert; on_access on a hit).
template <class P>
class harness {
 public:
  explicit harness(std::uint64_t capacity, typename P::config cfg = {}) : capacity_(capacity), policy_(capacity, cfg) {}

  outcome request(key_t k, std::uint64_t w = 1, std::uint64_t next = access::unknown) {
    outcome out;
    const access a{mix(k), time_++, w, next};
    if (auto it = index_.find(k); it != index_.end()) {
      EXPECT_EQ(weight_[it->second], w) << "model tests keep one weight per key";
      policy_.on_access(it->second, a);
      out.hit = out.stored = true;
      return out;
    }
    if constexpr (pol::has_miss_hook<P>) policy_.on_miss(a);
    if (w > capacity_) return out;
    while (used_ + w > capacity_) {
      const slot_id v = policy_.victim(a);
      EXPECT_TRUE(v < key_.size() && live_[v]) << "victim " << v << " is not resident";
      if (!(v < key_.size() && live_[v])) return out;
      if constexpr (pol::has_admission<P>) {
        if (!policy_.admit(a, v)) return out;
      }
      policy_.on_evict(v);
      out.evicted.push_back(key_[v]);
      release(v);
    }
    const slot_id s = acquire();
    key_[s] = k;
    weight_[s] = w;
    index_[k] = s;
    used_ += w;
    policy_.on_insert(s, a);
    out.stored = true;
    return out;
  }

  bool erase(key_t k) {
    auto it = index_.find(k);
    if (it == index_.end()) return false;
    policy_.on_erase(it->second);
    release(it->second);
    return true;
  }

  [[nodiscard]] bool contains(key_t k) const { return index_.contains(k); }
  [[nodiscard]] slot_id slot_of(key_t k) const { return index_.at(k); }
  [[nodiscard]] std::size_t size() const { return index_.size(); }
  P& policy() { return policy_; }

 private:
  slot_id acquire() {
    if (!free_.empty()) {
      const slot_id s = free_.back();
      free_.pop_back();
      live_[s] = true;
      return s;
    }
    const auto s = static_cast<slot_id>(key_.size());
    key_.push_back(0);
    weight_.push_back(0);
    live_.push_back(true);
    // Grow the policy's arrays like a slab would: in chunks.
    if (key_.size() > reserved_) {
      reserved_ = std::max<std::size_t>(16, reserved_ * 2);
      policy_.reserve_slots(reserved_);
    }
    return s;
  }
  void release(slot_id s) {
    index_.erase(key_[s]);
    used_ -= weight_[s];
    live_[s] = false;
    free_.push_back(s);
  }

  std::uint64_t capacity_;
  P policy_;
  std::uint64_t used_ = 0;
  std::uint64_t time_ = 0;
  std::size_t reserved_ = 0;
  std::unordered_map<key_t, slot_id> index_;
  std::vector<key_t> key_;
  std::vector<std::uint64_t> weight_;
  std::vector<bool> live_;
  std::vector<slot_id> free_;
};

template <class P>
std::vector<key_t> victims_of(harness<P>& h, const std::vector<key_t>& trace) {
  std::vector<key_t> v;
  for (auto k : trace) {
    const auto o = h.request(k);
    v.insert(v.end(), o.evicted.begin(), o.evicted.end());
  }
  return v;
}

// Random operations shared by the model tests: skewed keys over a space larger than the
// cache, a few erasures, one fixed weight per key.
struct op_stream {
  std::mt19937_64 rng;
  std::uint64_t keys;
  std::uint64_t max_weight;
  explicit op_stream(std::uint64_t seed, std::uint64_t key_space, std::uint64_t max_w = 1)
      : rng(seed), keys(key_space), max_weight(max_w) {}
  key_t next_key() {
    // Mixture: a hot set, a skewed middle and a uniform tail (scans of new keys).
    const auto r = rng() % 100;
    if (r < 40) return rng() % (keys / 8 + 1);
    if (r < 80) {
      const auto a = rng() % keys, b = rng() % keys;
      return std::min(a, b);
    }
    return rng() % keys;
  }
  [[nodiscard]] std::uint64_t weight_of(key_t k) const { return max_weight == 1 ? 1 : 1 + mix(k ^ 0x5555) % max_weight; }
  bool erase_now() { return rng() % 100 < 2; }
};

template <class P, class Ref>
void run_model(std::uint64_t capacity, typename P::config cfg, Ref& ref, std::uint64_t seed, std::uint64_t key_space,
               std::uint64_t max_w, int ops, bool with_erase = true) {
  harness<P> h(capacity, cfg);
  op_stream s(seed, key_space, max_w);
  std::uint64_t hits = 0, evictions = 0;
  for (int i = 0; i < ops; ++i) {
    const key_t k = s.next_key();
    if (with_erase && s.erase_now()) {
      const bool a = h.erase(k);
      const bool b = ref.erase(k);
      ASSERT_EQ(a, b) << "erase of " << k << " at op " << i;
      continue;
    }
    const auto w = s.weight_of(k);
    const outcome got = h.request(k, w);
    const outcome want = ref.request(k, w);
    ASSERT_EQ(got, want) << "key " << k << " weight " << w << " at op " << i;
    hits += got.hit;
    evictions += got.evicted.size();
  }
  // The workload must exercise both paths.
  EXPECT_GT(hits, static_cast<std::uint64_t>(ops) / 10);
  EXPECT_GT(evictions, static_cast<std::uint64_t>(ops) / 10);
}

// ---------------------------------------------------------------------------------------
// References.

// Weighted-resident bookkeeping shared by the references.
struct ref_base {
  std::uint64_t capacity;
  std::uint64_t used = 0;
  std::map<key_t, std::uint64_t> weight;  // resident keys
  explicit ref_base(std::uint64_t c) : capacity(c) {}
};

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

// W-TinyLFU: window LRU + SLRU main, admission by the same sketch type (the sketch itself
// is tested separately against exact counts).
struct wtinylfu_ref : ref_base {
  std::uint64_t window_cap = 0, main_cap, protected_cap;
  std::list<key_t> win, prob, prot;  // front = MRU
  std::uint64_t winw = 0, probw = 0, protw = 0;
  pol::detail::frequency_sketch sketch;

  wtinylfu_ref(std::uint64_t c, pol::wtinylfu::config cfg)
      : ref_base(c), sketch(cfg.sketch_entries ? cfg.sketch_entries : c, cfg.sample_factor, cfg.doorkeeper) {
    if (c > 0) window_cap = std::min<std::uint64_t>(c, std::max<std::uint64_t>(1, static_cast<std::uint64_t>(static_cast<double>(c) * cfg.window_ratio)));
    main_cap = c - window_cap;
    protected_cap = static_cast<std::uint64_t>(static_cast<double>(main_cap) * cfg.protected_ratio);
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
        while (protw > protected_cap && prot.size() > 1) {
          const key_t d = prot.back();
          prot.pop_back();
          protw -= weight[d];
          prob.push_front(d);
          probw += weight[d];
        }
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

TEST(Arc, ModelUnitWeights) {
  arc_ref ref(64);
  run_model<pol::arc>(64, {}, ref, 6, 200, 1, 100000);
}

TEST(Arc, ModelWeighted) {
  arc_ref ref(200);
  run_model<pol::arc>(200, {}, ref, 7, 300, 8, 100000);
}

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

TEST(WTinyLfu, ModelDefaults) {
  wtinylfu_ref ref(500, {});
  run_model<pol::wtinylfu>(500, {}, ref, 10, 1500, 1, 100000);
}

// ---------------------------------------------------------------------------------------
// Belady

std::vector<std::uint64_t> next_accesses(const std::vector<key_t>& trace) {
  std::vector<std::uint64_t> next(trace.size(), access::never);
  std::unordered_map<key_t, std::size_t> last;
  for (std::size_t i = trace.size(); i-- > 0;) {
    if (auto it = last.find(trace[i]); it != last.end()) next[i] = it->second;
    last[trace[i]] = i;
  }
  return next;
}

template <class P>
std::size_t misses_of(const std::vector<key_t>& trace, std::uint64_t cap, typename P::config cfg = {},
                      std::vector<key_t>* victims = nullptr) {
  harness<P> h(cap, cfg);
  const auto next = next_accesses(trace);
  std::size_t misses = 0;
  for (std::size_t i = 0; i < trace.size(); ++i) {
    const auto o = h.request(trace[i], 1, next[i]);
    misses += !o.hit;
    if (victims) victims->insert(victims->end(), o.evicted.begin(), o.evicted.end());
  }
  return misses;
}

TEST(Belady, HandWorkedOrder) {
  // cap 2; times 0..7: A B C B A D C A.
  //  C@2: A next 4, B next 3 → evict A.  A@4: B never, C next 6 → evict B.
  //  D@5: C next 6, A next 7 → evict A.  A@7: C and D both never → the least recently
  //  accessed (D@5, C@6) → evict D.
  enum : key_t { A = 1, B, C, D };
  std::vector<key_t> v;
  EXPECT_EQ(misses_of<pol::belady>({A, B, C, B, A, D, C, A}, 2, {}, &v), 6u);
  EXPECT_EQ(v, (std::vector<key_t>{A, B, A, D}));
}

TEST(Belady, BypassOnlyWhenConfigured) {
  // cap 1: A B A. Default: B is inserted (evicting A) → 3 misses. Bypass: B (never again)
  // is not admitted → A hits.
  EXPECT_EQ(misses_of<pol::belady>({1, 2, 1}, 1), 3u);
  EXPECT_EQ(misses_of<pol::belady>({1, 2, 1}, 1, {.bypass = true}), 2u);
}

// Reference: scan all residents for the farthest next access (ties: least recent access).
struct belady_ref {
  std::uint64_t capacity;
  std::map<key_t, std::pair<std::uint64_t, std::uint64_t>> res;  // key → (next, last time)
  std::uint64_t time = 0;
  outcome request(key_t k, std::uint64_t next) {
    outcome o;
    const auto t = time++;
    if (auto it = res.find(k); it != res.end()) {
      it->second = {next, t};
      o.hit = o.stored = true;
      return o;
    }
    if (capacity == 0) return o;
    while (res.size() + 1 > capacity) {
      auto best = res.begin();
      for (auto it = res.begin(); it != res.end(); ++it) {
        if (it->second.first > best->second.first ||
            (it->second.first == best->second.first && it->second.second < best->second.second))
          best = it;
      }
      o.evicted.push_back(best->first);
      res.erase(best);
    }
    res[k] = {next, t};
    o.stored = true;
    return o;
  }
};

TEST(Belady, Model) {
  std::mt19937_64 rng(12);
  std::vector<key_t> trace(150000);
  for (auto& k : trace) k = std::min(rng() % 400, rng() % 400);
  const auto next = next_accesses(trace);
  harness<pol::belady> h(50);
  belady_ref ref{50, {}, 0};
  std::size_t erasures = 0;
  for (std::size_t i = 0; i < trace.size(); ++i) {
    if (rng() % 100 == 0) {  // an erase (and the reference forgets the key too)
      erasures += h.erase(trace[i]);
      ref.res.erase(trace[i]);
      continue;
    }
    const auto got = h.request(trace[i], 1, next[i]);
    const auto want = ref.request(trace[i], next[i]);
    ASSERT_EQ(got, want) << "at " << i;
  }
  EXPECT_GT(erasures, 100u);
  EXPECT_LE(h.policy().heap_size(), 2 * 50 + 64 + 1);
}

// Brute force: the fewest misses over every eviction choice (and, with `bypass`, over
// declining to insert).
std::size_t brute_force(const std::vector<key_t>& trace, std::size_t cap, bool bypass) {
  std::function<std::size_t(std::size_t, std::set<key_t>&)> go = [&](std::size_t i, std::set<key_t>& res) -> std::size_t {
    if (i == trace.size()) return 0;
    const key_t k = trace[i];
    if (res.contains(k)) return go(i + 1, res);
    std::size_t best = std::numeric_limits<std::size_t>::max();
    if (bypass) best = go(i + 1, res);
    if (res.size() < cap) {
      res.insert(k);
      best = std::min(best, go(i + 1, res));
      res.erase(k);
    } else {
      const std::vector<key_t> residents(res.begin(), res.end());
      for (auto v : residents) {
        res.erase(v);
        res.insert(k);
        best = std::min(best, go(i + 1, res));
        res.erase(k);
        res.insert(v);
      }
    }
    return 1 + best;
  };
  std::set<key_t> res;
  return go(0, res);
}

TEST(Belady, OptimalAgainstBruteForce) {
  std::mt19937_64 rng(13);
  for (int t = 0; t < 300; ++t) {
    const std::size_t len = 4 + rng() % 9, keys = 2 + rng() % 4, cap = 1 + rng() % 3;
    std::vector<key_t> trace(len);
    for (auto& k : trace) k = rng() % keys;
    ASSERT_EQ(misses_of<pol::belady>(trace, cap), brute_force(trace, cap, false)) << "trial " << t;
    ASSERT_EQ(misses_of<pol::belady>(trace, cap, {.bypass = true}), brute_force(trace, cap, true)) << "trial " << t;
  }
}

TEST(Belady, NoPolicyBeatsIt) {
  std::mt19937_64 rng(14);
  for (int t = 0; t < 20; ++t) {
    std::vector<key_t> trace(5000);
    const auto keys = 50 + rng() % 500;
    for (auto& k : trace) k = std::min(rng() % keys, rng() % keys);
    const std::uint64_t cap = 10 + rng() % 100;
    const auto opt = misses_of<pol::belady>(trace, cap);
    EXPECT_LE(opt, misses_of<pol::lru>(trace, cap));
    EXPECT_LE(opt, misses_of<pol::sieve>(trace, cap));
    EXPECT_LE(opt, misses_of<pol::s3fifo>(trace, cap));
    EXPECT_LE(opt, misses_of<pol::arc>(trace, cap));
    EXPECT_LE(opt, misses_of<pol::wtinylfu>(trace, cap));
    EXPECT_LE(misses_of<pol::belady>(trace, cap, {.bypass = true}), opt);
  }
}

// ---------------------------------------------------------------------------------------
// Shared properties

TEST(Policies, ParameterStrings) {
  pol::s3fifo::config s;
  EXPECT_TRUE(s.set("small", "0.2") && s.set("ghost", "0.5") && s.set("threshold", "1") && s.set("warmup", "true"));
  EXPECT_DOUBLE_EQ(s.small_ratio, 0.2);
  EXPECT_EQ(s.move_to_main_threshold, 1);
  EXPECT_TRUE(s.warmup_into_main);
  EXPECT_FALSE(s.set("small", "lots"));
  EXPECT_FALSE(s.set("threshold", "4"));
  EXPECT_FALSE(s.set("nope", "1"));
  pol::wtinylfu::config w;
  EXPECT_TRUE(w.set("window", "0.05") && w.set("sample", "32") && w.set("doorkeeper", "off"));
  EXPECT_FALSE(w.doorkeeper);
  EXPECT_EQ(w.sample_factor, 32u);
  EXPECT_FALSE(w.set("window", "0.05x"));
  pol::belady::config b;
  EXPECT_TRUE(b.set("bypass", "1"));
  EXPECT_TRUE(b.bypass);
  EXPECT_FALSE(b.set("bypass", "maybe"));
}

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

TEST(Policies, MetadataBytes) {
  EXPECT_EQ(pol::sieve(100).metadata_bytes_per_entry(), 9u);
  EXPECT_EQ(pol::s3fifo::per_slot_bytes, 25u);
  EXPECT_GT(pol::s3fifo(100).metadata_bytes_per_entry(), 25u);
  EXPECT_GT(pol::arc(100).metadata_bytes_per_entry(), 25u);
  EXPECT_GT(pol::wtinylfu(100).metadata_bytes_per_entry(), 25u);
  EXPECT_EQ(pol::belady(100).metadata_bytes_per_entry(), 60u);
}

template <class P>
void capacity_zero_and_one() {
  harness<P> zero(0);
  for (key_t k = 0; k < 10; ++k) EXPECT_FALSE(zero.request(k).stored);
  harness<P> one(1);
  for (key_t k = 0; k < 50; ++k) {
    one.request(k % 3);
    EXPECT_EQ(one.size(), 1u);
  }
}

TEST(Policies, CapacityZeroAndOne) {
  capacity_zero_and_one<pol::sieve>();
  capacity_zero_and_one<pol::s3fifo>();
  capacity_zero_and_one<pol::arc>();
  capacity_zero_and_one<pol::wtinylfu>();
  capacity_zero_and_one<pol::belady>();
}

template <class P>
void clear_then_replay_matches_fresh() {
  std::mt19937_64 rng(15);
  std::vector<key_t> trace(3000);
  for (auto& k : trace) k = std::min(rng() % 100, rng() % 100);
  P a(20), b(20);
  // Drive `a`, clear it, then drive both with the same trace through identical slots.
  auto drive = [&](P& p, bool compare_with_b) {
    std::unordered_map<key_t, slot_id> idx;
    std::vector<key_t> keys;
    std::vector<slot_id> free;
    p.reserve_slots(64);
    if (compare_with_b) b.reserve_slots(64);
    std::uint64_t t = 0;
    std::vector<key_t> va;
    for (auto k : trace) {
      const access x{mix(k), t++, 1, access::unknown};
      if (auto it = idx.find(k); it != idx.end()) {
        p.on_access(it->second, x);
        if (compare_with_b) b.on_access(it->second, x);
        continue;
      }
      if constexpr (pol::has_miss_hook<P>) {
        p.on_miss(x);
        if (compare_with_b) b.on_miss(x);
      }
      if (idx.size() == 20) {
        const slot_id v = p.victim(x);
        if (compare_with_b) {
          EXPECT_EQ(v, b.victim(x));
        }
        p.on_evict(v);
        if (compare_with_b) b.on_evict(v);
        idx.erase(keys[v]);
        free.push_back(v);
      }
      slot_id s;
      if (!free.empty()) {
        s = free.back();
        free.pop_back();
      } else {
        s = static_cast<slot_id>(keys.size());
        keys.push_back(0);
      }
      keys[s] = k;
      idx[k] = s;
      p.on_insert(s, x);
      if (compare_with_b) b.on_insert(s, x);
    }
  };
  drive(a, false);
  a.clear();
  drive(a, true);
}

TEST(Policies, ClearForgetsEverything) {
  clear_then_replay_matches_fresh<pol::sieve>();
  clear_then_replay_matches_fresh<pol::s3fifo>();
  clear_then_replay_matches_fresh<pol::arc>();
  clear_then_replay_matches_fresh<pol::wtinylfu>();
  clear_then_replay_matches_fresh<pol::belady>();
}

}  // namespace
