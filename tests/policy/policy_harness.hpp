// tests/policy/policy_harness.hpp — what the policy tests share: a test-local cache core
// that drives a policy through the exact call protocol of the real core, a stream of
// random operations, and the model-test loop that compares every outcome with a
// reference written in the test.
#pragma once

#include <gtest/gtest.h>

#include <ostream>

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

namespace policy_test {

using prescient::access;
using prescient::no_slot;
using prescient::slot_id;
namespace pol = prescient::policy;

using key_t = std::uint64_t;

inline std::uint64_t mix(std::uint64_t x) {  // splitmix64 finaliser: the "cache's key hash"
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

inline std::ostream& operator<<(std::ostream& os, const outcome& o) {
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
    const access a{mix(k), time_, w, next};
    time_ += time_step_;
    if (auto it = index_.find(k); it != index_.end()) {
      EXPECT_EQ(weight_[it->second], w) << "model tests keep one weight per key";
      policy_.on_access(it->second, a);
      out.hit = out.stored = true;
      return out;
    }
    if constexpr (pol::has_miss_hook<P>) policy_.on_miss(a);
    insert(k, w, a, out);
    return out;
  }

  /// Stores an absent key without a request (the core's `put` of a new key: no miss, and
  /// the clock does not advance).
  outcome put(key_t k, std::uint64_t w = 1) {
    outcome out;
    EXPECT_FALSE(contains(k)) << "put is for absent keys";
    insert(k, w, access{mix(k), time_, w, access::unknown}, out);
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
  [[nodiscard]] std::uint64_t used() const { return used_; }
  P& policy() { return policy_; }
  /// Logical time advances by `step` per request (1 by default, as the core's clock; more
  /// to reach far times in few requests).
  void set_time_step(std::uint64_t step) { time_step_ = step; }
  /// The time the next request will carry.
  [[nodiscard]] std::uint64_t now() const { return time_; }

 private:
  // Evicts until `k` fits (victim → admit → on_evict), then inserts it (on_insert).
  void insert(key_t k, std::uint64_t w, const access& a, outcome& out) {
    if (w > capacity_) return;
    if constexpr (pol::has_weight_reserve<P>)
      if (w != 1) policy_.reserve_weight(w);  // as the core does, before anything changes
    while (used_ + w > capacity_) {
      const slot_id v = policy_.victim(a);
      EXPECT_TRUE(v < key_.size() && live_[v]) << "victim " << v << " is not resident";
      if (!(v < key_.size() && live_[v])) return;
      if constexpr (pol::has_admission<P>) {
        if (!policy_.admit(a, v)) return;
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
  }

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
  std::uint64_t time_step_ = 1;
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
               std::uint64_t max_w, int ops, bool with_erase = true, int unit_ops = 0) {
  harness<P> h(capacity, cfg);
  op_stream s(seed, key_space, max_w);
  std::uint64_t hits = 0, evictions = 0;
  for (int i = 0; i < ops; ++i) {
    // The first `unit_ops` requests are of other keys, all of weight 1: a policy that
    // stores no weights while all are 1 (weight_column.hpp) must switch in mid-run.
    const bool unit = i < unit_ops;
    const key_t k = s.next_key() + (unit ? 1'000'000'000 : 0);
    if (with_erase && s.erase_now()) {
      const bool a = h.erase(k);
      const bool b = ref.erase(k);
      ASSERT_EQ(a, b) << "erase of " << k << " at op " << i;
      continue;
    }
    const std::uint64_t w = unit ? 1 : s.weight_of(k);
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


// Weighted-resident bookkeeping shared by the references.
struct ref_base {
  std::uint64_t capacity;
  std::uint64_t used = 0;
  std::map<key_t, std::uint64_t> weight;  // resident keys
  explicit ref_base(std::uint64_t c) : capacity(c) {}
};

}  // namespace policy_test
