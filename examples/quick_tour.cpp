// A quick tour of the cache core: count capacity, weight capacity, statistics and the
// eviction listener, and the same workload through LRU, LFU and FIFO.
#include <cstdint>
#include <cstdio>
#include <random>
#include <string>

#include "prescient/cache.hpp"
#include "prescient/concurrent_cache.hpp"
#include "prescient/policy/fifo.hpp"
#include "prescient/policy/lfu.hpp"
#include "prescient/policy/lru.hpp"

namespace {

struct bytes_of_value {
  std::uint64_t operator()(const std::string&, const std::string& v) const { return v.size(); }
};

template <class Policy>
void replay_zipf() {
  prescient::cache<std::uint64_t, std::uint64_t, Policy> c(1000);
  std::mt19937_64 rng(7);
  // A skewed stream over 20,000 keys: a few keys are hot.
  std::uniform_real_distribution<double> u(0, 1);
  for (int i = 0; i < 200'000; ++i) {
    const auto key = static_cast<std::uint64_t>(20'000 * u(rng) * u(rng) * u(rng));
    if (!c.get(key)) c.put(key, key);
  }
  std::printf("  %-5s hit ratio %.4f  evictions %8llu  metadata %zu B/entry\n", std::string(Policy::name).c_str(),
              c.stats().hit_ratio(), static_cast<unsigned long long>(c.stats().evictions),
              c.metadata_bytes_per_entry());
}

}  // namespace

int main() {
  std::puts("A cache of 1,000 entries under a skewed stream of 200,000 requests:");
  replay_zipf<prescient::policy::lru>();
  replay_zipf<prescient::policy::lfu>();
  replay_zipf<prescient::policy::fifo>();

  std::puts("\nA cache of 64 bytes, weighed by value size:");
  prescient::cache<std::string, std::string, prescient::policy::lru, prescient::hash<std::string>,
                   std::equal_to<std::string>, bytes_of_value>
      pages(64);
  pages.set_eviction_listener([](const std::string& k, const std::string& v, prescient::removal_cause) {
    std::printf("  evicted %s (%zu bytes)\n", k.c_str(), v.size());
  });
  pages.put("/index", std::string(30, 'i'));
  pages.put("/about", std::string(20, 'a'));
  (void)pages.get("/index");                       // /index is now the most recent
  pages.put("/blog", std::string(30, 'b'));        // evicts /about
  const auto r = pages.put("/video", std::string(100, 'v'));  // heavier than the cache
  std::printf("  /video cached? %s; weight %llu of %llu\n", r.cached() ? "yes" : "no (too heavy)",
              static_cast<unsigned long long>(pages.weight()), static_cast<unsigned long long>(pages.capacity()));

  prescient::concurrent_cache<int, int> shared(10'000);
  for (int i = 0; i < 20'000; ++i) shared.put(i, i);
  std::printf("\nconcurrent_cache: %zu shards, %zu entries\n", shared.shard_count(), shared.size());
  return 0;
}
