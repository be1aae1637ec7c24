// Belady's MIN: a hand-worked order, a model test against a scan of every resident for
// the farthest next access, brute force over every eviction choice on tiny traces, and
// no heuristic beating it.
#include "policy_harness.hpp"

namespace policy_test {
namespace {

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


}  // namespace
}  // namespace policy_test
