// tests/core/exception_safety_harness.hpp — what exception_safety_test.cpp (cache) and
// concurrent_exception_safety_test.cpp (concurrent_cache) share: fault injection, keys
// and values whose special members throw, a hash, a comparison and a weigher that throw,
// a protocol checker between the core and the policy, the fault profiles and the check
// run after every operation. See exception_safety_test.cpp for the design.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <exception>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "prescient/cache.hpp"
#include "prescient/concurrent_cache.hpp"
#include "prescient/policy/registry.hpp"
#include "test_support.hpp"

namespace {

namespace pol = prescient::policy;
using prescient::access;
using prescient::slot_id;

// ---- fault injection ------------------------------------------------------------------

enum source : unsigned {
  value_copy = 1u << 0,   // copy construction and copy assignment of a value
  value_move = 1u << 1,   // move construction and move assignment (values whose move may throw)
  key_copy = 1u << 2,     // copy and move of a key
  hash_fn = 1u << 3,      // the hash
  key_equal = 1u << 4,    // the key comparison
  weigher_fn = 1u << 5,   // the weigher
  listener_fn = 1u << 6,  // the eviction listener
  callback = 1u << 7,     // the loader, get_or_insert's make, visit's f
};

struct injected_fault : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Per thread: which sources may throw, how often, and whether faults are armed now.
struct fault_plan {
  unsigned sources = 0;
  std::uint32_t one_in = 3;  // each armed call throws with probability 1/one_in
  std::uint64_t countdown = 0;  // if non-zero: only the countdown-th armed call throws
  bool armed = false;
  std::mt19937_64 rng{1};
};
thread_local fault_plan plan;

void maybe_fail(source s, const char* what) {
  if (!plan.armed || (plan.sources & s) == 0) return;
  if (plan.countdown != 0) {
    if (--plan.countdown == 0) throw injected_fault(what);
    return;
  }
  if (plan.rng() % plan.one_in == 0) throw injected_fault(what);
}

// Arms the calling thread's faults for one scope.
class armed {
 public:
  explicit armed(bool on = true) : was_(plan.armed) { plan.armed = on; }
  ~armed() { plan.armed = was_; }
  armed(const armed&) = delete;
  armed& operator=(const armed&) = delete;

 private:
  bool was_;
};

std::atomic<long> live_keys{0};
std::atomic<long> live_values{0};

// ---- keys, values, hash, comparison, weigher ------------------------------------------

struct tkey {
  int k = 0;
  explicit tkey(int v) : k(v) { ++live_keys; }
  tkey(const tkey& o) : k(o.k) {
    maybe_fail(key_copy, "key copy");
    ++live_keys;
  }
  tkey(tkey&& o) noexcept(false) : k(o.k) {
    maybe_fail(key_copy, "key move");
    ++live_keys;
  }
  tkey& operator=(const tkey& o) {
    maybe_fail(key_copy, "key copy assignment");
    k = o.k;
    return *this;
  }
  tkey& operator=(tkey&& o) noexcept(false) {
    maybe_fail(key_copy, "key move assignment");
    k = o.k;
    return *this;
  }
  ~tkey() { --live_keys; }
};

struct thash {
  std::size_t operator()(const tkey& key) const {
    maybe_fail(hash_fn, "hash");
    return static_cast<std::size_t>(key.k) * 0x9E3779B97F4A7C15ull;
  }
};

struct tequal {
  bool operator()(const tkey& a, const tkey& b) const {
    maybe_fail(key_equal, "key comparison");
    return a.k == b.k;
  }
};

// Every value carries a unique id, its key and its weight. Assignments give the strong
// guarantee (they fail before changing anything), as most types' do.
struct value_fields {
  std::uint64_t id = 0;
  int key = 0;
  std::uint64_t weight = 1;
};

// Copy may throw; move never does.
struct copy_throws_value : value_fields {
  copy_throws_value(std::uint64_t i, int k, std::uint64_t w) : value_fields{i, k, w} { ++live_values; }
  copy_throws_value(const copy_throws_value& o) : value_fields(o) {
    maybe_fail(value_copy, "value copy");
    ++live_values;
  }
  copy_throws_value(copy_throws_value&& o) noexcept : value_fields(o) { ++live_values; }
  copy_throws_value& operator=(const copy_throws_value& o) {
    maybe_fail(value_copy, "value copy assignment");
    value_fields::operator=(o);
    return *this;
  }
  copy_throws_value& operator=(copy_throws_value&& o) noexcept {
    value_fields::operator=(o);
    return *this;
  }
  ~copy_throws_value() { --live_values; }
};

// No move at all: every move is a copy, which may throw.
struct copy_only_value : value_fields {
  copy_only_value(std::uint64_t i, int k, std::uint64_t w) : value_fields{i, k, w} { ++live_values; }
  copy_only_value(const copy_only_value& o) : value_fields(o) {
    maybe_fail(value_copy, "value copy");
    ++live_values;
  }
  copy_only_value& operator=(const copy_only_value& o) {
    maybe_fail(value_copy, "value copy assignment");
    value_fields::operator=(o);
    return *this;
  }
  ~copy_only_value() { --live_values; }
};

// Copy and move both may throw.
struct throwing_move_value : value_fields {
  throwing_move_value(std::uint64_t i, int k, std::uint64_t w) : value_fields{i, k, w} { ++live_values; }
  throwing_move_value(const throwing_move_value& o) : value_fields(o) {
    maybe_fail(value_copy, "value copy");
    ++live_values;
  }
  throwing_move_value(throwing_move_value&& o) noexcept(false) : value_fields(o) {
    maybe_fail(value_move, "value move");
    ++live_values;
  }
  throwing_move_value& operator=(const throwing_move_value& o) {
    maybe_fail(value_copy, "value copy assignment");
    value_fields::operator=(o);
    return *this;
  }
  throwing_move_value& operator=(throwing_move_value&& o) noexcept(false) {
    maybe_fail(value_move, "value move assignment");
    value_fields::operator=(o);
    return *this;
  }
  ~throwing_move_value() { --live_values; }
};

static_assert(std::is_nothrow_move_constructible_v<copy_throws_value>);
static_assert(!std::is_nothrow_move_constructible_v<copy_only_value>);
static_assert(!std::is_nothrow_move_constructible_v<throwing_move_value>);

struct tweigher {
  template <class V>
  std::uint64_t operator()(const tkey&, const V& v) const {
    maybe_fail(weigher_fn, "weigher");
    return v.weight;
  }
};

// What the cache counts for a value (a weight of 0 counts as 1).
std::uint64_t counted_weight(const value_fields& v) { return std::max<std::uint64_t>(1, v.weight); }

// ---- a protocol checker between the core and the policy -------------------------------

struct protocol_violation : std::logic_error {
  using std::logic_error::logic_error;
};

// Forwards every notification to P, after checking that the core uses it as policy.hpp
// says: insert a slot not held, hit / evict / erase a held one, never ask an empty policy
// for a victim, and get back a held victim. A misuse is recorded and thrown as
// protocol_violation (not forwarded, so the test fails instead of crashing in P).
template <class P>
class checked {
 public:
  using config = typename P::config;
  static constexpr std::string_view name = P::name;

  explicit checked(std::uint64_t capacity, config cfg = {}) : p_(capacity, cfg) {}

  void reserve_slots(std::size_t n) {
    p_.reserve_slots(n);
    if (n > held_.size()) held_.resize(n, 0);
  }
  void on_insert(slot_id s, const access& a) {
    if (s >= held_.size()) fail("on_insert of slot " + std::to_string(s) + " beyond reserve_slots");
    if (held_[s]) fail("on_insert of slot " + std::to_string(s) + ", already held");
    held_[s] = 1;
    ++count_;
    p_.on_insert(s, a);
  }
  void on_access(slot_id s, const access& a) {
    require(s, "on_access");
    p_.on_access(s, a);
  }
  void on_evict(slot_id s) {
    require(s, "on_evict");
    held_[s] = 0;
    --count_;
    p_.on_evict(s);
  }
  void on_erase(slot_id s) {
    require(s, "on_erase");
    held_[s] = 0;
    --count_;
    p_.on_erase(s);
  }
  slot_id victim(const access& a) {
    if (count_ == 0) fail("victim asked of a policy that holds no slot");
    const slot_id v = p_.victim(a);
    if (v >= held_.size() || !held_[v]) fail("victim " + std::to_string(v) + " is not held");
    return v;
  }
  void clear() {
    p_.clear();
    std::fill(held_.begin(), held_.end(), 0);
    count_ = 0;
  }
  void on_miss(const access& a)
    requires pol::has_miss_hook<P>
  {
    p_.on_miss(a);
  }
  bool admit(const access& a, slot_id v)
    requires pol::has_admission<P>
  {
    return p_.admit(a, v);
  }
  void reserve_weight(std::uint64_t w)
    requires pol::has_weight_reserve<P>
  {
    p_.reserve_weight(w);
  }
  [[nodiscard]] std::size_t metadata_bytes_per_entry() const { return p_.metadata_bytes_per_entry(); }

  /// What P holds, walked through its own structures.
  [[nodiscard]] std::vector<slot_id> resident_slots() const { return p_.resident_slots(); }

  /// Misuses seen, and whether what the core told P agrees with what P holds.
  [[nodiscard]] std::string problems() const {
    std::string out = violations_;
    std::vector<slot_id> held = p_.resident_slots();
    std::sort(held.begin(), held.end());
    std::vector<slot_id> told;
    for (std::size_t s = 0; s < held_.size(); ++s)
      if (held_[s]) told.push_back(static_cast<slot_id>(s));
    if (held != told) out += "the policy holds " + std::to_string(held.size()) + " slots, the core gave it " +
                             std::to_string(told.size()) + "; ";
    return out;
  }

 private:
  [[noreturn]] void fail(const std::string& what) {
    violations_ += what + "; ";
    throw protocol_violation(what);
  }
  void require(slot_id s, const char* hook) {
    if (s >= held_.size() || !held_[s]) fail(std::string(hook) + " of slot " + std::to_string(s) + ", not held");
  }

  P p_;
  std::vector<std::uint8_t> held_;
  std::size_t count_ = 0;
  std::string violations_;
};

template <class List>
struct checked_types;
template <class... Ps>
struct checked_types<pol::type_list<Ps...>> {
  using type = ::testing::Types<Ps...>;
};
using every_policy = checked_types<pol::registered_policies>::type;

static_assert(pol::eviction_policy<checked<pol::lru>>);
static_assert(pol::has_miss_hook<checked<pol::arc>> && !pol::has_miss_hook<checked<pol::lru>>);
static_assert(pol::has_admission<checked<pol::belady>> && !pol::has_admission<checked<pol::lru>>);

// ---- the matrix -----------------------------------------------------------------------

enum class op { get, peek, visit, contains, put, erase, get_or_insert, get_or_load, set_capacity, clear, invalidate };

const char* op_name(op o) {
  switch (o) {
    case op::get: return "get";
    case op::peek: return "peek";
    case op::visit: return "visit";
    case op::contains: return "contains";
    case op::put: return "put";
    case op::erase: return "erase";
    case op::get_or_insert: return "get_or_insert";
    case op::get_or_load: return "get_or_load";
    case op::set_capacity: return "set_capacity";
    case op::clear: return "clear";
    case op::invalidate: return "invalidate";
  }
  return "?";
}

// A fault profile: which user code throws, and which weights the weigher answers.
struct profile {
  const char* name;
  unsigned sources;
  bool huge_weights;  // weights 0, 1, 2, 2^62, 2^63, 2^64 − 2, 2^64 − 1 in a budget of 2^64 − 1
};

constexpr profile value_copy_faults{"value_copy", value_copy, false};
constexpr profile copy_only_faults{"copy_only", value_copy, false};
constexpr profile value_move_faults{"value_move", value_copy | value_move, false};
constexpr profile key_faults{"key", key_copy | hash_fn | key_equal, false};
constexpr profile weigher_faults{"weigher", weigher_fn, true};
constexpr profile listener_faults{"listener", listener_fn, false};
constexpr profile callback_faults{"callback", callback, false};
constexpr profile every_fault{"everything",
                              value_copy | value_move | key_copy | hash_fn | key_equal | weigher_fn | listener_fn |
                                  callback,
                              false};

constexpr int key_space = 24;
constexpr std::uint64_t small_capacity = 12;
constexpr std::uint64_t max_u64 = std::numeric_limits<std::uint64_t>::max();

std::uint64_t draw_weight(std::mt19937_64& rng, bool huge) {
  if (!huge) return rng() % 5;  // 0..4; 0 counts as 1
  static constexpr std::uint64_t weights[] = {0, 1, 2, std::uint64_t{1} << 62, std::uint64_t{1} << 63,
                                              max_u64 - 1, max_u64, 3};
  return weights[rng() % std::size(weights)];
}

// The model: for each key, the value ids it may hold if it is cached.
using allowed_map = std::map<int, std::set<std::uint64_t>>;

// What an operation that returned normally promises about its key.
struct promise {
  enum { none, present, absent } what = none;
  std::uint64_t id = 0;
};

// Checks everything listed at the top of the file that can be seen through `c`.
// `peek(k)` returns an optional value; `size`, `weight`, `capacity`, `invariants` as named.
template <class Cache, class PolicyProblems>
std::string check_cache(Cache& c, const allowed_map& allowed, int key, const promise& p,
                        PolicyProblems&& policy_problems) {
  const armed off(false);
  std::string out = c.check_invariants();
  if (!out.empty()) out += "; ";
  out += policy_problems();
  std::uint64_t total = 0;
  bool overflow = false;
  std::size_t found = 0;
  for (int k = 0; k < key_space; ++k) {
    const auto v = c.peek(tkey(k));
    if (!v) continue;
    ++found;
    if (v->key != k) out += "key " + std::to_string(k) + " holds a value of key " + std::to_string(v->key) + "; ";
    const auto it = allowed.find(k);
    if (it == allowed.end() || !it->second.contains(v->id))
      out += "key " + std::to_string(k) + " holds value " + std::to_string(v->id) + ", which the model does not allow; ";
    if (counted_weight(*v) > max_u64 - total) overflow = true;
    total += counted_weight(*v);
  }
  if (found != c.size()) out += "size() " + std::to_string(c.size()) + " but " + std::to_string(found) + " keys found; ";
  if (overflow) out += "the cached values' weights overflow; ";
  else if (total != c.weight())
    out += "weight() " + std::to_string(c.weight()) + " but the cached values weigh " + std::to_string(total) + "; ";
  if (c.weight() > c.capacity()) out += "weight() exceeds capacity(); ";
  if (p.what == promise::present) {
    const auto v = c.peek(tkey(key));
    if (!v) out += "key " + std::to_string(key) + " should be cached; ";
    else if (v->id != p.id)
      out += "key " + std::to_string(key) + " should hold value " + std::to_string(p.id) + ", holds " +
             std::to_string(v->id) + "; ";
  } else if (p.what == promise::absent && c.contains(tkey(key))) {
    out += "key " + std::to_string(key) + " should not be cached; ";
  }
  return out;
}

}  // namespace

// One typed test per (operation, fault profile), each over every policy of the suite;
// `run<Policy, Value>(op, profile, seed)` drives the cache under test.
#define PRESCIENT_MATRIX_PROFILES(suite, run, operation)                                            \
  TYPED_TEST(suite, operation##_value_copy) { run<TypeParam, copy_throws_value>(op::operation, value_copy_faults, 11); } \
  TYPED_TEST(suite, operation##_copy_only) { run<TypeParam, copy_only_value>(op::operation, copy_only_faults, 12); }     \
  TYPED_TEST(suite, operation##_value_move) {                                                       \
    run<TypeParam, throwing_move_value>(op::operation, value_move_faults, 13);                      \
  }                                                                                                 \
  TYPED_TEST(suite, operation##_key) { run<TypeParam, copy_throws_value>(op::operation, key_faults, 14); }            \
  TYPED_TEST(suite, operation##_weigher) { run<TypeParam, copy_only_value>(op::operation, weigher_faults, 15); }      \
  TYPED_TEST(suite, operation##_listener) { run<TypeParam, copy_only_value>(op::operation, listener_faults, 16); }    \
  TYPED_TEST(suite, operation##_callback) { run<TypeParam, copy_throws_value>(op::operation, callback_faults, 17); }  \
  TYPED_TEST(suite, operation##_everything) {                                                       \
    run<TypeParam, throwing_move_value>(op::operation, every_fault, 18);                            \
  }
