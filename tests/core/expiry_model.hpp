// Model-based test of time, on a fake clock, for every registered policy: random puts,
// gets, get_or_loads, get_alls, computes, erases, writes to the store behind the cache,
// loaders that fail, clock advances and background refreshes, applied to an expiring
// cache and to a reference.
//
// The reference is the same policy in a cache WITHOUT expiry, driven by a plain model
// of time written here: a map of deadlines and write times, the expiry rules of
// expiry.hpp spelled out, and at the start of every operation an explicit erase of each
// entry whose deadline is ≤ now, then the finished refreshes, then the operation. So the
// eviction decisions are the policy's own on both sides, and any difference in when an
// entry expires, whether an expired entry is returned, whether it is removed before the
// policy is asked for a victim, or how a refresh lands shows as a different answer, a
// different victim, a different removal cause, different statistics or different
// contents. Compared after every operation: the answers, the removals (the expired ones
// of one operation as a set — they are simultaneous — the others in order), the
// statistics and check_invariants; the contents every 64 operations and at the end.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "prescient/cache.hpp"
#include "prescient/executor.hpp"
#include "prescient/expiry.hpp"
#include "prescient/policy/registry.hpp"

namespace expiry_model {

/// Every registered policy, as gtest's type list (both expiry model tests run over it).
template <class List>
struct as_gtest_types;
template <class... Ps>
struct as_gtest_types<prescient::policy::type_list<Ps...>> {
  using type = ::testing::Types<Ps...>;
};
using every_policy = as_gtest_types<prescient::policy::registered_policies>::type;

using namespace std::chrono_literals;
using prescient::removal_cause;
using event = std::pair<int, removal_cause>;

constexpr int keys = 16;
constexpr int absent_from = 14;  // the store has no key ≥ this
constexpr std::uint64_t sec = 1'000'000'000;

// The store behind the cache: a value per key, and keys whose loads fail.
struct store {
  std::vector<int> value = std::vector<int>(keys, 0);
  std::vector<bool> failing = std::vector<bool>(keys, false);
  std::optional<int> load(int k) const {
    if (failing[static_cast<std::size_t>(k)]) throw std::runtime_error("store down");
    if (k >= absent_from) return std::nullopt;
    return value[static_cast<std::size_t>(k)];
  }
};

// The time settings a run uses:
//   per_entry: per-entry expiry from the value (create, update, and read for some
//     values): ttl(v) = v % 7 seconds, 0 = expired at once, 6 = never; a read of a value
//     divisible by 3 adds 1 s to what is left.
//   per_entry_no_read: the same without the read rule (reads leave deadlines alone).
//   write_access_refresh: after_write 6 s, after_access 4 s, refresh_after_write 2 s.
//   write_refresh: after_write 6 s, refresh_after_write 2 s (reads leave deadlines alone).
enum class mode { per_entry, per_entry_no_read, write_access_refresh, write_refresh };
prescient::duration ttl_of(int v) {
  const int m = ((v % 7) + 7) % 7;
  return m == 6 ? prescient::never : std::chrono::seconds(m);
}
struct value_expiry {
  prescient::duration after_create(const int&, const int& v, std::uint64_t) { return ttl_of(v); }
  prescient::duration after_update(const int&, const int& v, std::uint64_t, prescient::duration) { return ttl_of(v); }
  prescient::duration after_read(const int&, const int& v, std::uint64_t, prescient::duration left) {
    return v % 3 == 0 && left != prescient::never ? left + 1s : left;
  }
};
struct value_expiry_no_read {
  prescient::duration after_create(const int&, const int& v, std::uint64_t) { return ttl_of(v); }
  prescient::duration after_update(const int&, const int& v, std::uint64_t, prescient::duration) { return ttl_of(v); }
};

/// The time settings of a run, for Kind::make.
struct timing {
  prescient::duration after_write = prescient::never;
  prescient::duration after_access = prescient::never;
  prescient::duration refresh_after_write = prescient::never;
  prescient::fake_ticker ticker{0};
};

/// The cache under test: `Kind::type<P, EntryExpiry>` (an expiring cache of int → int on
/// a fake_ticker) and `Kind::make(capacity, timing)`. Every kind offers put, get,
/// get_or_load, get_all, compute, erase, set_refresher, cleanup, stats, for_each, size
/// and check_invariants; `Kind::shard_count(c)` and `Kind::shard_index(c, key)` say how
/// it splits its keys (one shard for `cache`).
struct single_cache {
  template <class C>
  static std::size_t shard_count(const C&) { return 1; }
  template <class C>
  static std::size_t shard_index(const C&, int) { return 0; }
  template <class P, class E>
  using type = prescient::cache<int, int, P, prescient::hash<int>, std::equal_to<int>, prescient::unit_weigher,
                                prescient::expiring<prescient::fake_ticker, E>>;
  template <class P, class E>
  static type<P, E> make(std::uint64_t capacity, const timing& t) {
    typename type<P, E>::expiry_options o{};
    o.after_write = t.after_write;
    o.after_access = t.after_access;
    o.refresh_after_write = t.refresh_after_write;
    o.ticker = t.ticker;
    return type<P, E>(capacity, o);
  }
};

/// The reference's cache: one plain cache (no expiry) per shard of the cache under test,
/// each of that shard's capacity, a key in the same shard. Shards are independent caches,
/// so this is what the policy decides in each; the time of every shard is modelled by
/// model_run (an operation starts — expires, installs refreshes — the shards it touches).
template <class P>
class sharded_reference {
 public:
  using shard_cache = prescient::cache<int, int, P>;
  sharded_reference(std::uint64_t capacity, std::size_t shards, std::function<std::size_t(int)> route)
      : route_(std::move(route)) {
    for (std::size_t i = 0; i < shards; ++i)
      shards_.push_back(std::make_unique<shard_cache>(capacity / shards + (i < capacity % shards ? 1 : 0)));
  }
  template <class F>
  void set_removal_listener(F f) {
    for (auto& c : shards_) c->set_removal_listener(f);
  }
  prescient::put_result put(int k, int v) { return at(k).put(k, v); }
  std::optional<int> get(int k) { return at(k).get(k); }
  [[nodiscard]] std::optional<int> peek(int k) const { return at(k).peek(k); }
  [[nodiscard]] bool contains(int k) const { return at(k).contains(k); }
  bool erase(int k) { return at(k).erase(k); }
  template <class F>
  void for_each(F&& f) const {
    for (const auto& c : shards_) c->for_each(f);
  }
  [[nodiscard]] std::size_t size() const {
    std::size_t n = 0;
    for (const auto& c : shards_) n += c->size();
    return n;
  }
  [[nodiscard]] prescient::cache_stats stats() const {
    prescient::cache_stats total;
    for (const auto& c : shards_) total += c->stats();
    return total;
  }
  [[nodiscard]] std::string check_invariants() const {
    std::string out;
    for (const auto& c : shards_) out += c->check_invariants();
    return out;
  }

 private:
  [[nodiscard]] shard_cache& at(int k) const { return *shards_[route_(k)]; }
  std::function<std::size_t(int)> route_;
  std::vector<std::unique_ptr<shard_cache>> shards_;
};

template <class P, mode M, class Kind = single_cache>
class model_run {
 public:
  static constexpr bool ModeA = M == mode::per_entry || M == mode::per_entry_no_read;  // per-entry expiry
  static constexpr bool read_rule = M == mode::per_entry;
  static constexpr bool refreshing = !ModeA;
  using entry_expiry = std::conditional_t<M == mode::per_entry, value_expiry,
                                          std::conditional_t<M == mode::per_entry_no_read, value_expiry_no_read,
                                                             prescient::no_entry_expiry>>;
  using timed = typename Kind::template type<P, entry_expiry>;
  using plain = sharded_reference<P>;

  static constexpr std::uint64_t capacity = 6;
  static constexpr std::uint64_t after_write = 6 * sec, refresh = 2 * sec;
  static constexpr std::uint64_t after_access = M == mode::write_access_refresh ? 4 * sec : std::uint64_t{1} << 62;

  explicit model_run(std::uint64_t seed)
      : rng_(seed),
        impl_(Kind::template make<P, entry_expiry>(capacity, options())),
        ref_(capacity, Kind::shard_count(impl_), [this](int k) { return shard_of(k); }),
        executor_(1, 64) {
    impl_.set_removal_listener([this](const int& k, const int&, removal_cause why) { got_.emplace_back(k, why); });
    ref_.set_removal_listener([this](const int& k, const int&, removal_cause why) {
      if (!expiring_ref_) want_.emplace_back(k, why);
    });
    if constexpr (!ModeA) {
      impl_.set_refresher([this](const int& k) { return store_.load(k); }, executor_);
    }
  }

  void run(int steps) {
    for (step_ = 0; step_ < steps; ++step_) {
      one_step();
      if (::testing::Test::HasFatalFailure()) return;
    }
    clock_.advance(std::chrono::seconds(100));
    got_.clear();
    want_.clear();
    impl_.cleanup();
    begin_ref(all_shards());
    compare("final cleanup");
    compare_contents();
    // The run exercised what it claims to (a weak run would prove little).
    EXPECT_GT(impl_.stats().expirations, 100u);
    EXPECT_GT(impl_.stats().evictions, 100u);
    EXPECT_GT(impl_.stats().load_failures, 5u);
    if constexpr (!ModeA) {
      EXPECT_GT(impl_.stats().refreshes, 20u);
      EXPECT_GT(impl_.stats().refresh_failures, 2u);
    }
  }

 private:
  timing options() const {
    timing o{};
    o.ticker = clock_;
    if constexpr (!ModeA) {
      o.after_write = std::chrono::nanoseconds(after_write);
      if (M == mode::write_access_refresh) o.after_access = std::chrono::nanoseconds(after_access);
      o.refresh_after_write = std::chrono::nanoseconds(refresh);
    }
    return o;
  }

  int key() { return static_cast<int>(rng_() % keys); }
  int value() { return static_cast<int>(rng_() % 1000); }

  void one_step() {
    got_.clear();
    want_.clear();
    const int op = static_cast<int>(rng_() % 100);
    std::string what;
    if (op < 22) {
      const int k = key(), v = value();
      what = "put " + std::to_string(k) + "=" + std::to_string(v);
      const auto a = impl_.put(k, v);
      begin_ref({k});
      const auto b = ref_put(k, v);
      EXPECT_EQ(a, b) << what;
    } else if (op < 44) {
      const int k = key();
      what = "get " + std::to_string(k);
      const auto a = impl_.get(k);
      begin_ref({k});
      const auto b = ref_get(k);
      EXPECT_EQ(a, b) << what;
    } else if (op < 54) {
      const int k = key();
      what = "get_or_load " + std::to_string(k);
      const auto a = attempt([&] { return impl_.get_or_load(k, [this](const int& x) { return store_.load(x); }); });
      begin_ref({k});
      const auto b = attempt([&] { return ref_get_or_load(k); });
      EXPECT_EQ(a, b) << what;
    } else if (op < 60) {
      std::vector<int> ks{key(), key(), key()};
      what = "get_all";
      const auto a = attempt([&] { return impl_.get_all(ks, [this](const int& x) { return store_.load(x); }); });
      begin_ref(ks);
      const auto b = attempt([&] { return ref_get_all(ks); });
      EXPECT_EQ(a, b) << what;
    } else if (op < 70) {
      const int k = key(), d = value() % 9;
      what = "compute " + std::to_string(k) + " +" + std::to_string(d);
      auto f = [d](const int&, const int* v) -> std::optional<int> {
        if (v && (*v + d) % 5 == 0) return std::nullopt;  // remove
        return v ? *v + d : d;
      };
      const auto a = impl_.compute(k, f);
      begin_ref({k});
      const auto b = ref_compute(k, f);
      EXPECT_EQ(a, b) << what;
    } else if (op < 74) {
      const int k = key();
      what = "erase " + std::to_string(k);
      const bool a = impl_.erase(k);
      begin_ref({k});
      const bool b = ref_remove(k);
      EXPECT_EQ(a, b) << what;
    } else if (op < 80) {
      const int k = key();
      what = "store write " + std::to_string(k);
      store_.value[static_cast<std::size_t>(k)] += 100;
      if (rng_() % 4 == 0) store_.failing[static_cast<std::size_t>(k)] = !store_.failing[static_cast<std::size_t>(k)];
      return;  // the caches are not involved
    } else {
      const auto d = std::chrono::milliseconds(250 * static_cast<int>(rng_() % 11));
      what = "advance " + std::to_string(d.count()) + " ms";
      clock_.advance(d);
      return;
    }
    executor_.wait_idle();  // the refreshes started by this operation have finished
    compare(what);
    if (step_ % 64 == 0) compare_contents();
  }

  // A call's answer, or that it threw the store's error (then no answer).
  template <class F>
  static auto attempt(F f) {
    std::pair<decltype(f()), bool> r{};
    try {
      r.first = f();
    } catch (const std::runtime_error&) {
      r = {};
      r.second = true;
    }
    return r;
  }

  // ---- the reference ----

  std::size_t shard_of(int k) const { return Kind::shard_index(impl_, k); }
  std::vector<int> all_shards() const {  // one key of each shard
    std::vector<int> out;
    std::vector<bool> seen(Kind::shard_count(impl_), false);
    for (int k = 0; k < keys; ++k)
      if (!seen[shard_of(k)]) {
        seen[shard_of(k)] = true;
        out.push_back(k);
      }
    EXPECT_EQ(out.size(), seen.size()) << "a shard holds none of the model's keys";
    return out;
  }

  // The start of an operation on the shards of `touched` (keys): expire what is due in
  // them (in the order the cache reported, once the sets agree), then install their
  // finished refreshes. A shard the operation does not touch keeps its expired entries
  // (not returned: for_each and the lookups check deadlines) until one does.
  void begin_ref(const std::vector<int>& touched) {
    std::vector<bool> in(Kind::shard_count(impl_), false);
    for (const int k : touched) in[shard_of(k)] = true;
    const std::uint64_t now = clock_();
    std::vector<int> due;
    for (const auto& [k, d] : deadline_)
      if (d <= now && in[shard_of(k)]) due.push_back(k);
    std::vector<int> reported;
    for (const auto& [k, why] : got_)
      if (why == removal_cause::expired) reported.push_back(k);
    std::vector<int> sorted = reported;
    std::sort(sorted.begin(), sorted.end());
    EXPECT_EQ(sorted, due) << "step " << step_ << ": the entries expired at " << now;
    expiring_ref_ = true;
    for (const int k : reported)
      if (deadline_.count(k)) {
        ref_.erase(k);
        forget(k);
        want_.emplace_back(k, removal_cause::expired);
        ++expirations_;
      }
    for (const int k : due)  // any the cache missed: the comparison above has failed already
      if (deadline_.count(k)) {
        ref_.erase(k);
        forget(k);
      }
    expiring_ref_ = false;
    std::vector<pending> ready;
    ready.swap(pending_);
    for (const pending& p : ready) {
      if (!in[shard_of(p.key)]) {
        pending_.push_back(p);  // its shard installs it at its next operation
        continue;
      }
      auto t = ticket_.find(p.key);
      if (t == ticket_.end() || t->second != p.ticket) continue;  // written or removed since
      t->second = 0;
      if (p.failed) {
        ++refresh_failures_;
      } else if (!p.value) {
        ref_remove(p.key);
      } else {
        ++refreshes_;
        ref_.put(p.key, *p.value);
        wrote(p.key, *p.value, false);
      }
    }
  }

  void forget(int k) {
    deadline_.erase(k);
    written_.erase(k);
    ticket_.erase(k);
  }

  // After any reference call: entries the plain cache evicted leave the model of time.
  void sync() {
    for (auto it = deadline_.begin(); it != deadline_.end();) {
      if (!ref_.contains(it->first)) {
        written_.erase(it->first);
        ticket_.erase(it->first);
        it = deadline_.erase(it);
      } else {
        ++it;
      }
    }
    std::vector<int> live;
    ref_.for_each([&](const int& k, const int&) { live.push_back(k); });
    for (const int k : live) EXPECT_TRUE(deadline_.count(k)) << "key " << k << " has no time in the model";
  }

  static std::uint64_t after(std::uint64_t now, prescient::duration d) {
    return prescient::detail::deadline_after(now, d);
  }

  // A write of k = v that cached it: its deadline (create or update rule), write time.
  void wrote(int k, int v, bool created) {
    (void)created;
    const std::uint64_t now = clock_();
    if constexpr (ModeA) {
      deadline_[k] = after(now, ttl_of(v));
    } else {
      deadline_[k] = now + std::min(after_write, after_access);
    }
    written_[k] = now;
    ticket_[k] = 0;
  }

  void read(int k) {
    const std::uint64_t now = clock_();
    std::uint64_t& d = deadline_.at(k);
    if constexpr (ModeA) {
      if constexpr (!read_rule) return;
      const int v = *ref_.peek(k);
      const prescient::duration left = prescient::detail::remaining(d, now);
      if (v % 3 == 0 && left != prescient::never) d = after(now, left + 1s);
    } else {
      d = std::min(now + after_access, written_.at(k) + after_write);
      if (ticket_.at(k) == 0 && now - written_.at(k) >= refresh) {
        pending p{k, ++tickets_, std::nullopt, false};
        try {
          p.value = store_.load(k);
        } catch (const std::runtime_error&) {
          p.failed = true;
        }
        ticket_[k] = p.ticket;
        pending_.push_back(p);
      }
    }
  }

  prescient::put_result ref_put(int k, int v) {
    const auto r = ref_.put(k, v);
    if (r.cached()) wrote(k, v, r.outcome == prescient::put_outcome::inserted);
    sync();
    return r;
  }

  std::optional<int> ref_get(int k) {
    auto v = ref_.get(k);
    if (v) read(k);
    return v;
  }

  std::optional<int> ref_get_or_load(int k) {
    if (auto v = ref_get(k)) return v;
    std::optional<int> v;
    try {
      v = store_.load(k);
    } catch (...) {
      ++load_failures_;
      throw;
    }
    ++load_successes_;
    if (v) {
      const auto r = ref_.put(k, *v);
      if (r.cached()) wrote(k, *v, true);
      sync();
    }
    return v;
  }

  std::vector<std::optional<int>> ref_get_all(const std::vector<int>& ks) {
    std::vector<std::optional<int>> out(ks.size());
    std::vector<int> missing;
    std::vector<bool> miss(ks.size(), false);
    for (std::size_t i = 0; i < ks.size(); ++i) {
      out[i] = ref_get(ks[i]);
      if (!out[i]) {
        miss[i] = true;
        if (std::find(missing.begin(), missing.end(), ks[i]) == missing.end()) missing.push_back(ks[i]);
      }
    }
    if (missing.empty()) return out;
    std::vector<std::optional<int>> loaded;
    try {
      for (const int k : missing) loaded.push_back(store_.load(k));
    } catch (...) {
      ++load_failures_;
      throw;
    }
    ++load_successes_;
    for (std::size_t i = 0; i < ks.size(); ++i)
      if (miss[i])
        out[i] = loaded[static_cast<std::size_t>(std::find(missing.begin(), missing.end(), ks[i]) - missing.begin())];
    for (std::size_t m = 0; m < missing.size(); ++m)
      if (loaded[m] && !ref_.contains(missing[m])) {
        const auto r = ref_.put(missing[m], *loaded[m]);
        if (r.cached()) wrote(missing[m], *loaded[m], true);
        sync();
      }
    return out;
  }

  template <class F>
  std::optional<int> ref_compute(int k, F& f) {
    const std::optional<int> old = ref_.peek(k);
    std::optional<int> next = f(k, old ? &*old : nullptr);
    if (!next) {
      if (old) ref_remove(k);
      return next;
    }
    ref_put(k, *next);
    return next;
  }

  bool ref_remove(int k) {
    const bool erased = ref_.erase(k);
    forget(k);
    return erased;
  }

  // ---- comparing ----

  void compare(const std::string& what) {
    // The expired ones of this operation: a set, compared in begin_ref; then in order,
    // shard by shard (shards are independent caches: an operation over several, get_all,
    // may visit them in any order).
    for (std::size_t sh = 0; sh < Kind::shard_count(impl_); ++sh) {
      std::vector<event> a, b;
      for (const auto& e : got_)
        if (e.second != removal_cause::expired && shard_of(e.first) == sh) a.push_back(e);
      for (const auto& e : want_)
        if (e.second != removal_cause::expired && shard_of(e.first) == sh) b.push_back(e);
      ASSERT_EQ(a, b) << "step " << step_ << " (" << what << "): removals in shard " << sh;
    }
    const auto& s = impl_.stats();
    const auto& r = ref_.stats();
    ASSERT_EQ(s.hits, r.hits) << "step " << step_ << " (" << what << ")";
    ASSERT_EQ(s.misses, r.misses) << "step " << step_ << " (" << what << ")";
    ASSERT_EQ(s.inserts, r.inserts) << "step " << step_ << " (" << what << ")";
    ASSERT_EQ(s.updates, r.updates) << "step " << step_ << " (" << what << ")";
    ASSERT_EQ(s.evictions, r.evictions) << "step " << step_ << " (" << what << ")";
    ASSERT_EQ(s.rejections, r.rejections) << "step " << step_ << " (" << what << ")";
    ASSERT_EQ(s.expirations, expirations_) << "step " << step_ << " (" << what << ")";
    ASSERT_EQ(s.refreshes, refreshes_) << "step " << step_ << " (" << what << ")";
    ASSERT_EQ(s.refresh_failures, refresh_failures_) << "step " << step_ << " (" << what << ")";
    ASSERT_EQ(s.load_successes, load_successes_) << "step " << step_ << " (" << what << ")";
    ASSERT_EQ(s.load_failures, load_failures_) << "step " << step_ << " (" << what << ")";
    ASSERT_EQ(impl_.check_invariants(), "") << "step " << step_ << " (" << what << ")";
    ASSERT_EQ(ref_.check_invariants(), "");
  }

  void compare_contents() {
    std::vector<std::pair<int, int>> a, b;
    impl_.for_each([&](const int& k, const int& v) { a.emplace_back(k, v); });
    const std::uint64_t now = clock_();
    ref_.for_each([&](const int& k, const int& v) {
      if (deadline_.at(k) > now) b.emplace_back(k, v);  // an expiring cache's for_each skips the expired
    });
    std::sort(a.begin(), a.end());
    std::sort(b.begin(), b.end());
    ASSERT_EQ(a, b) << "step " << step_ << ": contents";
    ASSERT_EQ(impl_.size(), ref_.size()) << "step " << step_;
  }

  struct pending {
    int key;
    std::uint64_t ticket;
    std::optional<int> value;
    bool failed;
  };

  std::mt19937_64 rng_;
  prescient::fake_ticker clock_;
  store store_;
  timed impl_;
  plain ref_;
  int step_ = 0;
  std::vector<event> got_, want_;
  bool expiring_ref_ = false;
  std::map<int, std::uint64_t> deadline_, written_, ticket_;
  std::vector<pending> pending_;
  std::uint64_t tickets_ = 0;
  std::uint64_t expirations_ = 0, refreshes_ = 0, refresh_failures_ = 0, load_successes_ = 0, load_failures_ = 0;
  prescient::bounded_executor executor_;  // last: destroyed first, before what its tasks use
};

}  // namespace expiry_model
