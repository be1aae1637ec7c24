// Model-based test of time for concurrent_cache, on a fake clock, for every registered
// policy: the run and the reference of expiry_model.hpp (the same as `cache`'s, in
// expiry_model_test.cpp) applied to an expiring concurrent_cache of one shard and of
// several, driven from one thread — so its lock-free hits (after_write, after_access
// through the access stamps, per-entry expiry without a read rule), its locked hits (a
// read rule), its background refreshes through the table of loads in flight,
// get_or_load, get_all across shards and cleanup must give every answer, every removal
// and its cause, the statistics and the contents of the reference (one plain cache per
// shard, each shard's time modelled on its own).
#include "core/expiry_model.hpp"

#include "prescient/concurrent_cache.hpp"
#include "prescient/policy/registry.hpp"

#include <type_traits>

namespace {

using expiry_model::mode;
using expiry_model::model_run;

template <std::size_t Shards>
struct sharded_concurrent {
  template <class P, class E>
  using type = prescient::concurrent_cache<int, int, P, prescient::hash<int>, std::equal_to<int>,
                                           prescient::unit_weigher, std::mutex,
                                           prescient::expiring<prescient::fake_ticker, E>>;
  template <class C>
  static std::size_t shard_count(const C& c) { return c.shard_count(); }
  template <class C>
  static std::size_t shard_index(const C& c, int k) { return c.shard_index(k); }
  template <class P, class E>
  static type<P, E> make(std::uint64_t capacity, const expiry_model::timing& t) {
    typename type<P, E>::options o{};
    o.shards = Shards;
    o.after_write = t.after_write;
    o.after_access = t.after_access;
    o.refresh_after_write = t.refresh_after_write;
    o.ticker = t.ticker;
    return type<P, E>(capacity, o);
  }
};

using expiry_model::every_policy;

template <class P>
class ConcurrentExpiryModel : public ::testing::Test {};
TYPED_TEST_SUITE(ConcurrentExpiryModel, every_policy);

template <class P, mode M, std::size_t Shards = 1>
void run_seeds(std::uint64_t seeds) {
  // Belady breaks ties between entries by the request clock the policy is told; a miss
  // served without the lock is not told (concurrent_cache.hpp), so where hits and misses
  // go lock-free (every mode but the read rule's) its ties fall otherwise than in the
  // single-threaded reference. An offline oracle has no use in a concurrent cache: it is
  // checked on the locked paths.
  if constexpr (std::is_same_v<P, prescient::policy::belady>)
    if (M != mode::per_entry) GTEST_SKIP() << "Belady's ties follow the request clock, which lock-free hits do not advance";
  for (std::uint64_t seed = 1; seed <= seeds; ++seed) {
    model_run<P, M, sharded_concurrent<Shards>> run(seed);
    run.run(4000);
    if (::testing::Test::HasFatalFailure() || ::testing::Test::HasNonfatalFailure()) {
      ADD_FAILURE() << "seed " << seed;
      return;
    }
  }
}

TYPED_TEST(ConcurrentExpiryModel, PerEntryExpiryWithReadRule) { run_seeds<TypeParam, mode::per_entry>(3); }
TYPED_TEST(ConcurrentExpiryModel, PerEntryExpiryLockFreeHits) { run_seeds<TypeParam, mode::per_entry_no_read>(3); }
TYPED_TEST(ConcurrentExpiryModel, AfterWriteAfterAccessAndRefresh) {
  run_seeds<TypeParam, mode::write_access_refresh>(3);
}
TYPED_TEST(ConcurrentExpiryModel, AfterWriteAndRefreshLockFreeHits) { run_seeds<TypeParam, mode::write_refresh>(3); }

// Two shards of 3 entries (the model's capacity, 6, split): the same, each shard's
// evictions, expiries and refreshes its own — an operation expires and installs only in
// the shards it touches, cleanup in all.
TYPED_TEST(ConcurrentExpiryModel, TwoShardsPerEntryExpiryWithReadRule) { run_seeds<TypeParam, mode::per_entry, 2>(3); }
TYPED_TEST(ConcurrentExpiryModel, TwoShardsPerEntryExpiryLockFreeHits) {
  run_seeds<TypeParam, mode::per_entry_no_read, 2>(3);
}
TYPED_TEST(ConcurrentExpiryModel, TwoShardsAfterWriteAfterAccessAndRefresh) {
  run_seeds<TypeParam, mode::write_access_refresh, 2>(3);
}
TYPED_TEST(ConcurrentExpiryModel, TwoShardsAfterWriteAndRefreshLockFreeHits) {
  run_seeds<TypeParam, mode::write_refresh, 2>(3);
}

}  // namespace
