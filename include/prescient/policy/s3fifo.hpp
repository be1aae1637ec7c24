// prescient/policy/s3fifo.hpp — S3-FIFO: three static FIFO queues.
//
// Juncheng Yang, Yazhuo Zhang, Ziyue Qiu, Yao Yue, K. V. Rashmi, "FIFO queues are all you
// need for cache eviction", SOSP 2023.
//
// Most objects in a cache workload are requested once and never again ("one-hit
// wonders"). S3-FIFO filters them out quickly with a small probationary FIFO and keeps
// the rest in a large main FIFO, with no list surgery on a hit: a hit only bumps a 2-bit
// counter, so reads never write to shared list links (this is why the design scales).
//
//   incoming ──(not in ghost)──► small FIFO S (10%) ──freq ≥ 2──► main FIFO M (90%) ◄─┐
//        │                          │ freq < 2                     │ freq > 0:       │
//        └──(in ghost)──► M         ▼                              │ reinsert, freq-1┘
//                              ghost FIFO G (keys only)            ▼ freq = 0: evict
//
// - A hit adds one to the entry's frequency, capped at 3 (two bits).
// - A new key goes to S, unless it is remembered in G: then it goes straight to M (and
//   is forgotten by G). (libCacheSim's S3FIFO.c since December 2024 also sends new keys
//   to M before the first eviction once S is full; that is `warmup_into_main`, off by
//   default: with it off we reproduce libCacheSim's published cloudphysics figures
//   exactly — 0.8303 / 0.8004 / 0.7498 at 500 / 2500 / 5000 objects.)
// - Eviction: from M when M holds more than its share or S is empty, else from S.
//   From S: the oldest entry moves to M (frequency reset to 0) if its frequency is at
//   least `move_to_main_threshold`, else it is evicted and its key enters G; repeat until
//   one entry was evicted (if S drains completely, evict from M).
//   From M: the oldest entry with frequency > 0 is reinserted at the front with
//   frequency min(freq, 3) − 1 (a 2-bit CLOCK); the first entry with frequency 0 is
//   evicted.
// - G is a FIFO of key hashes holding at most `ghost_ratio` × capacity in weight (the
//   paper: as many entries as M holds).
//
// Threshold: the paper's Algorithm 1 moves an entry from S to M when `freq > 1`, and
// libCacheSim's default `move-to-main-threshold=2` tests `freq >= 2`: the same rule — an
// entry must be hit at least twice while in S. (Hits in S are counted from 0 at
// insertion; an entry moved to M starts M with frequency 0, as in libCacheSim, whose
// main-queue insert creates a fresh object.)
//
// Weights: queue sizes and the ghost budget are in weight units, as in libCacheSim.
// Deviation, for small caches only: libCacheSim sizes S as ⌊0.1·capacity⌋ and refuses
// objects at least as heavy as S (so a cache of fewer than 20 unit entries caches almost
// nothing); we use max(1, ⌊ratio·capacity⌋) and never refuse: an entry heavier than S
// still enters S and simply drains it. Figures at 500 / 5000 entries are unaffected.
//
// Ghost hits: the core calls `on_miss` for a lookup that missed; that is when a ghost
// hit is taken (and the key forgotten by G), as libCacheSim's find does. If a key is
// inserted without a preceding `on_miss` for it, `on_insert` looks G up itself.
//
// Cost: O(1) amortised per request (a CLOCK sweep over M is amortised by the frequency
// decrements it performs). Per slot: 8 bytes of links and 1 byte of frequency+queue = 9
// bytes, 8 of weight once any weight is not 1 (weight_column.hpp), and 8 of key hash (to
// enter G) only outside a cache — inside one it reads the cache's (hash_column.hpp).
// G adds ~28 bytes per remembered key (~36 with weights; see
// ghost_lists.hpp), i.e. ~25 bytes per entry at ghost_ratio 0.9 with unit weights.
// `metadata_bytes_per_entry` reports both.
#pragma once

#include <algorithm>
#include <atomic>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "prescient/policy/detail/ghost_lists.hpp"
#include "prescient/policy/detail/hash_column.hpp"
#include "prescient/policy/detail/param_value.hpp"
#include "prescient/policy/detail/slot_list.hpp"
#include "prescient/policy/detail/weight_column.hpp"
#include "prescient/policy/policy.hpp"

namespace prescient::policy {

/// The parameters of `s3fifo` (also reachable as `s3fifo::config`). Defined outside the
/// class so that `config cfg = {}` works as a default argument (GCC rejects a nested
/// aggregate with default member initialisers there).
struct s3fifo_config {
  /// Share of the capacity (in weight) given to the small FIFO S. Paper and
  /// libCacheSim: 0.10.
  double small_ratio = 0.10;
  /// Ghost budget, in weight, as a share of the capacity. libCacheSim: 0.90 (as much
  /// as M holds).
  double ghost_ratio = 0.90;
  /// An entry leaves S for M if it was hit at least this many times while in S.
  /// libCacheSim default 2 (the paper's `freq > 1`). Values above 3 never fire (the
  /// counter is two bits).
  std::uint8_t move_to_main_threshold = 2;
  /// Before the first eviction, send new keys to M once S is full (libCacheSim's
  /// S3FIFO.c since December 2024). Default false: the paper's rule (always S), which
  /// reproduces libCacheSim's published 2024 figures exactly.
  bool warmup_into_main = false;

  /// Parameter strings: small=<ratio>, ghost=<ratio>, threshold=<0..3>, warmup=<bool>.
  bool set(std::string_view key, std::string_view value) {
    using detail::set_param;
    if (key == "small")
      return set_param(key, value, small_ratio, [](double x) { return x >= 0 && x <= 1; }, "a number from 0 to 1");
    if (key == "ghost")
      return set_param(key, value, ghost_ratio, [](double x) { return x >= 0; }, "a finite number >= 0");
    if (key == "threshold") {
      unsigned t = 0;
      set_param(key, value, t, [](unsigned x) { return x <= 3; }, "0, 1, 2 or 3");
      move_to_main_threshold = static_cast<std::uint8_t>(t);
      return true;
    }
    if (key == "warmup") return set_param(key, value, warmup_into_main);
    return false;
  }
};

class s3fifo {
 public:
  using config = s3fifo_config;
  static constexpr std::string_view name = "s3fifo";

  explicit s3fifo(std::uint64_t capacity = 0, config cfg = {}) : cfg_(cfg) {
    small_cap_ = capacity == 0 ? 0
                               : std::max<std::uint64_t>(1, static_cast<std::uint64_t>(
                                                                static_cast<double>(capacity) * cfg.small_ratio));
    small_cap_ = std::min(small_cap_, capacity);
    main_cap_ = capacity - small_cap_;
    ghost_cap_ = static_cast<std::uint64_t>(static_cast<double>(capacity) * cfg.ghost_ratio);
  }

  void reserve_slots(std::size_t n) {
    links_.reserve_slots(n);
    if (n > state_.size()) {
      hash_.resize(n);
      weight_.resize(n);
      state_.resize(n, 0);
    }
  }
  /// Reads the cache's key hashes instead of keeping its own (policy.hpp).
  void use_key_hashes(key_hash_view v) noexcept { hash_.bind(v); }

  void on_miss(const access& a) {
    pending_hash_ = a.key_hash;
    pending_valid_ = true;
    pending_ghost_hit_ = ghost_.erase(a.key_hash) != ghost_t::absent;
  }

  void on_insert(slot_id s, const access& a) {
    bool ghost_hit;
    if (pending_valid_ && pending_hash_ == a.key_hash) {
      ghost_hit = pending_ghost_hit_;
    } else {
      ghost_hit = ghost_.erase(a.key_hash) != ghost_t::absent;
    }
    pending_valid_ = false;
    hash_.set(s, a.key_hash);
    weight_.set(s, a.weight);
    if (ghost_hit || (cfg_.warmup_into_main && !has_evicted_ && small_w_ >= small_cap_)) {
      push_main(s, 0);
    } else {
      push_small(s, 0);
    }
  }

  /// A resident handed over by another policy (the learned policy's wake), not a
  /// request: `frequent` (requested more than once, as far as the caller knows) puts it
  /// in M, where S3-FIFO would have moved it, and otherwise it joins S. A ghost of the
  /// key is dropped (it is resident now) and does not count as a ghost hit. Called from
  /// least to most recently used.
  void adopt(slot_id s, const access& a, bool frequent) {
    ghost_.erase(a.key_hash);
    hash_.set(s, a.key_hash);
    weight_.set(s, a.weight);
    if (frequent)
      push_main(s, 0);
    else
      push_small(s, 0);
  }

  void on_access(slot_id s, const access& a) {
    if (a.weight != weight_[s]) {  // an assignment changed the entry's weight
      (in_main(s) ? main_w_ : small_w_) += a.weight - weight_[s];  // modular: fine for decreases
      weight_.set(s, a.weight);
    }
    on_access_lockfree(s);
  }
  /// A hit without the cache's lock (policy.hpp, has_lockfree_hit): the counter is
  /// stored only while it is below its cap. Two racing hits may count once (lossy, as a
  /// buffered hit may be).
  void on_access_lockfree(slot_id s) noexcept {
    if (const std::uint8_t f = freq(s); f < 3) set_freq(s, static_cast<std::uint8_t>(f + 1));
  }

  [[nodiscard]] slot_id victim(const access& /*incoming*/) {
    has_evicted_ = true;
    for (;;) {
      if (main_w_ > main_cap_ || small_.empty()) {
        // 2-bit CLOCK over M: at most 3 passes before some entry reaches frequency 0.
        for (;;) {
          const slot_id t = main_.back();
          assert(t != no_slot);
          const std::uint8_t f = freq(t);
          if (f == 0) return t;
          main_.remove(links_, t);
          main_.push_front(links_, t);
          set_freq(t, static_cast<std::uint8_t>(f - 1));
        }
      }
      while (!small_.empty()) {
        const slot_id t = small_.back();
        if (freq(t) >= cfg_.move_to_main_threshold) {
          small_.remove(links_, t);
          small_w_ -= weight_[t];
          push_main(t, 0);
        } else {
          return t;
        }
      }
      // S drained into M without an eviction: evict from M.
    }
  }

  void on_evict(slot_id s) {
    if (in_main(s)) {
      unlink(s);
      return;
    }
    unlink(s);
    if (ghost_cap_ == 0 || weight_[s] > ghost_cap_) return;
    ghost_.push_front(0, hash_[s], weight_[s]);
    while (ghost_.weight(0) > ghost_cap_) ghost_.pop_back(0);
  }

  void on_erase(slot_id s) { unlink(s); }

  void clear() {
    links_.reset();
    small_.reset();
    main_.reset();
    small_w_ = main_w_ = 0;
    ghost_.clear();
    has_evicted_ = false;
    pending_valid_ = false;
    std::fill(state_.begin(), state_.end(), 0);
  }

  /// Room for weights other than 1, in the slots' column and G's (policy.hpp).
  void reserve_weight(std::uint64_t) {
    weight_.materialise();
    ghost_.reserve_weight();
  }

  [[nodiscard]] std::size_t metadata_bytes_per_entry() const {
    return per_slot_bytes + hash_.bytes_per_slot() + weight_.bytes_per_index() +
           static_cast<std::size_t>(cfg_.ghost_ratio * static_cast<double>(ghost_.bytes_per_entry()));
  }
  /// Per slot, the key hash and the weight aside.
  static constexpr std::size_t per_slot_bytes = detail::slot_links::bytes_per_slot + sizeof(std::uint8_t);

  /// The slots the policy holds, S then M (for cache::check_invariants; O(n), allocates).
  [[nodiscard]] std::vector<slot_id> resident_slots() const {
    std::vector<slot_id> out;
    small_.append_to(links_, out);
    main_.append_to(links_, out);
    return out;
  }

  // Introspection for tests and the simulator's explanations.
  [[nodiscard]] bool in_small(slot_id s) const { return (state(s) & main_bit) == 0 && links_.linked(s); }
  [[nodiscard]] bool in_main(slot_id s) const { return (state(s) & main_bit) != 0; }
  [[nodiscard]] std::uint8_t freq(slot_id s) const { return state(s) & freq_mask; }
  [[nodiscard]] bool in_ghost(std::uint64_t key_hash) const { return ghost_.find(key_hash) != ghost_t::absent; }
  [[nodiscard]] std::uint64_t small_weight() const { return small_w_; }
  [[nodiscard]] std::uint64_t main_weight() const { return main_w_; }
  [[nodiscard]] std::uint64_t ghost_weight() const { return ghost_.weight(0); }
  [[nodiscard]] std::uint64_t small_capacity() const { return small_cap_; }
  [[nodiscard]] std::uint64_t main_capacity() const { return main_cap_; }

 private:
  using ghost_t = detail::ghost_lists<1>;
  static constexpr std::uint8_t freq_mask = 0x3;
  static constexpr std::uint8_t main_bit = 0x4;

  // Every access to a state byte is atomic (relaxed): concurrent_cache's lock-free hits
  // bump the counter while a lookup under the lock may read or bump it (a plain byte
  // move on x86 and ARM; `cache` pays nothing). Only the counter bits change on a hit,
  // so racing writers never disagree on the queue bit.
  [[nodiscard]] std::uint8_t state(slot_id s) const noexcept {
    return std::atomic_ref<std::uint8_t>(const_cast<std::uint8_t&>(state_[s])).load(std::memory_order_relaxed);
  }
  void set_state(slot_id s, std::uint8_t v) noexcept {
    std::atomic_ref<std::uint8_t>(state_[s]).store(v, std::memory_order_relaxed);
  }
  void set_freq(slot_id s, std::uint8_t f) noexcept { set_state(s, static_cast<std::uint8_t>((state(s) & ~freq_mask) | f)); }
  void push_small(slot_id s, std::uint8_t f) {
    small_.push_front(links_, s);
    small_w_ += weight_[s];
    set_state(s, f);
  }
  void push_main(slot_id s, std::uint8_t f) {
    main_.push_front(links_, s);
    main_w_ += weight_[s];
    set_state(s, static_cast<std::uint8_t>(main_bit | f));
  }
  void unlink(slot_id s) {
    if (in_main(s)) {
      main_.remove(links_, s);
      main_w_ -= weight_[s];
    } else {
      small_.remove(links_, s);
      small_w_ -= weight_[s];
    }
    set_state(s, 0);
  }

  config cfg_;
  std::uint64_t small_cap_ = 0;
  std::uint64_t main_cap_ = 0;
  std::uint64_t ghost_cap_ = 0;
  std::uint64_t small_w_ = 0;
  std::uint64_t main_w_ = 0;
  detail::slot_links links_;
  detail::slot_list small_;  // front: newest
  detail::slot_list main_;   // front: newest (or most recently reinserted)
  detail::hash_column hash_;
  detail::weight_column weight_;
  std::vector<std::uint8_t> state_;  // bits 0-1: frequency, bit 2: in M
  ghost_t ghost_;
  bool has_evicted_ = false;
  bool pending_valid_ = false;
  bool pending_ghost_hit_ = false;
  std::uint64_t pending_hash_ = 0;
};

static_assert(eviction_policy<s3fifo>);
static_assert(has_miss_hook<s3fifo>);

}  // namespace prescient::policy
