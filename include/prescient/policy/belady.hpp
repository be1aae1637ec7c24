// prescient/policy/belady.hpp — Belady's MIN: the offline optimum, for evaluation.
//
// L. A. Belady, "A study of replacement algorithms for a virtual-storage computer", IBM
// Systems Journal 5(2), 1966; optimality proved by Mattson, Gecsei, Slutz & Traiger, 1970.
//
// Evict the resident entry whose next request is farthest in the future. With unit
// weights and demand paging (every missed key is inserted) no policy has fewer misses.
// It needs the future, so it only runs in the simulator, where the trace reader fills
// `access::next_access` (`access::never`: the key is not requested again). It is the
// ceiling every other figure is read against.
//
// Structure: a binary max-heap of (next_access, last access time, slot, generation)
// records with lazy invalidation. Each slot has a generation number, bumped on every
// insert, hit and removal; a hit pushes a fresh record instead of re-keying the old one,
// and a record whose generation is not its slot's current one is stale. `victim` pops
// stale records off the top until the top is live and returns it. When stale records
// outnumber live ones (heap size > 2 × live + 64) the heap is rebuilt from the live
// records in O(n) (make_heap), so the heap holds at most ~2n + 64 records and each
// request costs O(log n) amortised. The heap vector keeps its capacity: no allocation
// per request once it has reached its high-water mark.
//
// Order: farthest next access first; `never` sorts after every time and `unknown` (no
// oracle) just before `never`. Ties (several `never`s) go to the least recently accessed
// entry, then to the lower slot id, so runs are deterministic. Ties do not change the
// miss count: two keys never share a finite next-access time.
//
// Reproduces libCacheSim's cloudphysics figures exactly: 0.7919 / 0.7014 / 0.6262 at
// 500 / 2500 / 5000 objects.
//
// Weights: the victim is still the farthest next access, one at a time, until the new
// entry fits (libCacheSim's Belady does the same); with weights this is a heuristic
// (size-aware optimality is NP-hard), not an optimum.
//
// Admission: like libCacheSim's Belady, the default (`bypass = false`) always inserts the
// missed key and evicts among the resident ones — this reproduces libCacheSim's figures;
// `admit` then always answers true. With `bypass = true`, `admit` refuses a newcomer
// whose next access is later than the victim's (it would be the first to go), which is
// the optimum when the cache may decline to store a missed key.
//
// Cost: O(log n) amortised per request. Per slot: 8 bytes of next access + 4 of
// generation; the heap holds 1–2 records of 24 bytes per entry, so ≈ 12 + 48 = 60 bytes
// per entry at worst (`metadata_bytes_per_entry` reports that bound).
#pragma once

#include <algorithm>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "prescient/policy/detail/param_value.hpp"
#include "prescient/policy/policy.hpp"

namespace prescient::policy {

/// The parameters of `belady` (also reachable as `belady::config`). Defined outside the
/// class so that `config cfg = {}` works as a default argument (GCC rejects a nested
/// aggregate with default member initialisers there).
struct belady_config {
  /// Let `admit` refuse a newcomer whose next access is later than the victim's (it
  /// would be the first to go). Default false: libCacheSim's Belady always inserts.
  bool bypass = false;

  /// Parameter strings: bypass=<bool>.
  bool set(std::string_view key, std::string_view value) {
    return key == "bypass" && detail::set_param(key, value, bypass);
  }
};

class belady {
 public:
  using config = belady_config;
  static constexpr std::string_view name = "belady";

  explicit belady(std::uint64_t /*capacity*/ = 0, config cfg = {}) : cfg_(cfg) {}

  void reserve_slots(std::size_t n) {
    if (n > next_.size()) {
      next_.resize(n, access::never);
      gen_.resize(n, 0);
    }
  }

  void on_insert(slot_id s, const access& a) {
    ++live_;
    touch(s, a);
  }
  void on_access(slot_id s, const access& a) { touch(s, a); }
  void on_evict(slot_id s) { remove(s); }
  void on_erase(slot_id s) { remove(s); }

  [[nodiscard]] slot_id victim(const access&) {
    while (!heap_.empty() && !live(heap_.front())) {
      std::pop_heap(heap_.begin(), heap_.end(), before);
      heap_.pop_back();
    }
    assert(!heap_.empty());
    return heap_.front().slot;
  }

  /// Always true unless `config::bypass`; then true iff the newcomer is requested again
  /// before the victim (a tie — both `never` — bypasses the newcomer).
  [[nodiscard]] bool admit(const access& incoming, slot_id victim) const {
    return !cfg_.bypass || incoming.next_access < next_[victim];
  }

  void clear() {
    heap_.clear();
    live_ = 0;
    for (auto& g : gen_) ++g;
  }

  [[nodiscard]] std::size_t metadata_bytes_per_entry() const {
    return sizeof(std::uint64_t) + sizeof(std::uint32_t) + 2 * sizeof(record);
  }

  /// The slots the policy holds: those with a live heap record, one each (for
  /// cache::check_invariants; O(heap), allocates).
  [[nodiscard]] std::vector<slot_id> resident_slots() const {
    std::vector<slot_id> out;
    for (const record& r : heap_)
      if (live(r)) out.push_back(r.slot);
    return out;
  }

  /// The next access recorded for a resident slot (for tests and explanations).
  [[nodiscard]] std::uint64_t next_access(slot_id s) const { return next_[s]; }
  [[nodiscard]] std::size_t heap_size() const { return heap_.size(); }

 private:
  struct record {
    std::uint64_t next;
    std::uint64_t time;
    slot_id slot;
    std::uint32_t gen;
  };
  // Heap order: `a` below `b` when b should be evicted first.
  static bool before(const record& a, const record& b) {
    if (a.next != b.next) return a.next < b.next;
    if (a.time != b.time) return a.time > b.time;  // older last access goes first
    return a.slot > b.slot;
  }
  [[nodiscard]] bool live(const record& r) const { return gen_[r.slot] == r.gen; }

  void touch(slot_id s, const access& a) {
    ++gen_[s];
    next_[s] = a.next_access;
    heap_.push_back(record{a.next_access, a.time, s, gen_[s]});
    std::push_heap(heap_.begin(), heap_.end(), before);
    maybe_compact();
  }
  void remove(slot_id s) {
    ++gen_[s];
    --live_;
    maybe_compact();
  }
  void maybe_compact() {
    if (heap_.size() <= 2 * live_ + 64) return;
    std::erase_if(heap_, [this](const record& r) { return !live(r); });
    std::make_heap(heap_.begin(), heap_.end(), before);
  }

  config cfg_;
  std::vector<record> heap_;
  std::vector<std::uint64_t> next_;
  std::vector<std::uint32_t> gen_;
  std::size_t live_ = 0;
};

static_assert(eviction_policy<belady>);
static_assert(has_admission<belady>);

}  // namespace prescient::policy
