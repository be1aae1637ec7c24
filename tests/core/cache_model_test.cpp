// Model-based test: random operation sequences applied to prescient::cache and to a
// simple, obviously correct reference written here (a vector scanned on every
// eviction). Every get's hit or miss, every eviction's victim, every put's outcome and
// the final contents must agree.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <random>
#include <vector>

#include "prescient/cache.hpp"
#include "prescient/policy/fifo.hpp"
#include "prescient/policy/lfu.hpp"
#include "prescient/policy/lru.hpp"

namespace {

enum class kind { lru, fifo, lfu };

// The reference: entries in a vector, the victim found by a linear scan.
class reference_cache {
 public:
  reference_cache(kind k, std::uint64_t capacity) : kind_(k), capacity_(capacity) {}

  struct entry {
    int key;
    std::uint64_t value;  // doubles as the weight when weighted
    std::uint64_t weight;
    std::uint64_t inserted;   // FIFO order
    std::uint64_t last_used;  // LRU order, and LFU's tie-break
    std::uint64_t count;      // LFU
  };

  std::optional<std::uint64_t> get(int key) {
    ++clock_;
    auto* e = find(key);
    if (!e) return std::nullopt;
    touch(*e);
    return e->value;
  }

  // Returns the outcome; appends victims to `evicted`.
  prescient::put_outcome put(int key, std::uint64_t value, std::uint64_t weight, std::vector<int>& evicted) {
    ++clock_;
    if (auto* e = find(key)) {
      if (weight > capacity_) {
        erase(key);
        evicted.push_back(key);
        return prescient::put_outcome::too_heavy;
      }
      e->value = value;
      e->weight = weight;
      touch(*e);
      bool self = false;
      while (total() > capacity_) {
        const int v = victim();
        if (v == key) self = true;
        evicted.push_back(v);
        erase(v);
      }
      return self ? prescient::put_outcome::evicted : prescient::put_outcome::assigned;
    }
    if (weight > capacity_) return prescient::put_outcome::too_heavy;
    while (total() + weight > capacity_) {
      const int v = victim();
      evicted.push_back(v);
      erase(v);
    }
    entries_.push_back(entry{key, value, weight, clock_, clock_, 1});
    return prescient::put_outcome::inserted;
  }

  bool erase(int key) {
    auto it = std::find_if(entries_.begin(), entries_.end(), [&](const entry& e) { return e.key == key; });
    if (it == entries_.end()) return false;
    entries_.erase(it);
    return true;
  }

  [[nodiscard]] std::vector<std::pair<int, std::uint64_t>> contents() const {
    std::vector<std::pair<int, std::uint64_t>> out;
    for (const auto& e : entries_) out.emplace_back(e.key, e.value);
    std::sort(out.begin(), out.end());
    return out;
  }

  [[nodiscard]] std::uint64_t total() const {
    std::uint64_t t = 0;
    for (const auto& e : entries_) t += e.weight;
    return t;
  }

 private:
  entry* find(int key) {
    for (auto& e : entries_)
      if (e.key == key) return &e;
    return nullptr;
  }
  void touch(entry& e) {
    e.last_used = clock_;
    ++e.count;
  }
  [[nodiscard]] int victim() const {
    auto better = [&](const entry& a, const entry& b) {  // a evicted before b?
      switch (kind_) {
        case kind::lru: return a.last_used < b.last_used;
        case kind::fifo: return a.inserted < b.inserted;
        case kind::lfu: return a.count != b.count ? a.count < b.count : a.last_used < b.last_used;
      }
      return false;
    };
    return std::min_element(entries_.begin(), entries_.end(), better)->key;
  }

  kind kind_;
  std::uint64_t capacity_;
  std::uint64_t clock_ = 0;
  std::vector<entry> entries_;
};

struct value_weigher {
  std::uint64_t operator()(int, std::uint64_t v) const { return v; }
};

template <class Policy, class Weigher>
void run_model(kind k, std::uint64_t capacity, std::uint64_t max_weight, int key_space, std::size_t operations,
               std::uint32_t seed) {
  SCOPED_TRACE(testing::Message() << "capacity " << capacity << " max weight " << max_weight << " keys "
                                  << key_space << " seed " << seed);
  prescient::cache<int, std::uint64_t, Policy, prescient::hash<int>, std::equal_to<int>, Weigher> c(capacity);
  reference_cache ref(k, capacity);
  std::vector<int> evicted_by_cache;
  c.set_eviction_listener([&](const int& key, const std::uint64_t&, prescient::removal_cause) {
    evicted_by_cache.push_back(key);
  });
  std::mt19937 rng(seed);
  // A skewed key choice, so that hits happen and frequencies differ.
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  auto pick_key = [&] { return static_cast<int>(std::pow(unit(rng), 2.0) * key_space); };
  std::uniform_int_distribution<std::uint64_t> weight_of(1, max_weight);

  for (std::size_t i = 0; i < operations; ++i) {
    const int key = pick_key();
    const int op = static_cast<int>(rng() % 100);
    if (op < 55) {
      const auto got = c.get(key);
      const auto want = ref.get(key);
      ASSERT_EQ(got.has_value(), want.has_value()) << "get " << key << " at op " << i;
      if (got) {
        ASSERT_EQ(*got, *want);
      }
    } else if (op < 95) {
      // With the unit weigher the value is arbitrary; with value_weigher it is the weight.
      const std::uint64_t w = max_weight == 1 ? 1 : weight_of(rng);
      const std::uint64_t value = max_weight == 1 ? rng() % 1000 : w;
      std::vector<int> evicted_by_ref;
      evicted_by_cache.clear();
      const auto got = c.put(key, value);
      const auto want = ref.put(key, value, w, evicted_by_ref);
      ASSERT_EQ(got.outcome, want) << "put " << key << " at op " << i;
      ASSERT_EQ(evicted_by_cache, evicted_by_ref) << "victims of put " << key << " at op " << i;
    } else {
      ASSERT_EQ(c.erase(key), ref.erase(key));
    }
    ASSERT_LE(c.weight(), capacity);
    ASSERT_EQ(c.weight(), ref.total());
  }
  std::vector<std::pair<int, std::uint64_t>> contents;
  c.for_each([&](const int& k2, const std::uint64_t& v) { contents.emplace_back(k2, v); });
  std::sort(contents.begin(), contents.end());
  EXPECT_EQ(contents, ref.contents());
  EXPECT_EQ(c.size(), ref.contents().size());
}

template <class Policy>
void run_all(kind k) {
  std::uint32_t seed = 1;
  // Unit weights: capacities 1, 2, 16, 200 over key spaces that force evictions.
  for (std::uint64_t capacity : {1, 2, 16, 200}) {
    run_model<Policy, prescient::unit_weigher>(k, capacity, 1, static_cast<int>(capacity * 3 + 4), 50'000, seed++);
  }
  // Weighted: entries of 1..40 units in budgets of 50 and 500.
  for (std::uint64_t capacity : {50, 500}) {
    run_model<Policy, value_weigher>(k, capacity, 40, static_cast<int>(capacity / 4 + 8), 50'000, seed++);
  }
}

TEST(CacheModel, LruMatchesReference) { run_all<prescient::policy::lru>(kind::lru); }
TEST(CacheModel, FifoMatchesReference) { run_all<prescient::policy::fifo>(kind::fifo); }
TEST(CacheModel, LfuMatchesReference) { run_all<prescient::policy::lfu>(kind::lfu); }

}  // namespace
