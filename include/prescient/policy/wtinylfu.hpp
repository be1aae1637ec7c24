// prescient/policy/wtinylfu.hpp — W-TinyLFU: a window LRU, a segmented-LRU main space
// and a TinyLFU admission filter between them.
//
// Gil Einziger, Roy Friedman, Ben Manes, "TinyLFU: A Highly Efficient Cache Admission
// Policy", ACM Transactions on Storage 13(4), 2017 (section 4: W-TinyLFU). This is the
// design Caffeine made popular.
//
// An LFU cache keeps what is popular over a long period, an LRU cache what was popular
// just now; most workloads need both. W-TinyLFU puts every new entry in a small LRU
// *window* (1% of the capacity), so that a burst of requests to a new key is served. When
// the window overflows, its LRU entry — the candidate — asks to enter the *main* space (a
// segmented LRU, 99%): it is admitted only if the TinyLFU sketch estimates that it was
// requested more often, in the recent past, than the entry main would evict for it (main's
// victim); the loser leaves the cache. The sketch (detail/frequency_sketch.hpp) remembers
// the approximate frequency of every key seen, resident or not, in a few bytes per entry.
//
//   miss ─► window LRU (1%) ──candidate──► TinyLFU: freq(candidate) > freq(victim)?
//                                              yes: candidate ─► probation, victim out
//                                              no:  candidate out
//   main SLRU (99%):  probation (20%) ──hit──► protected (80%) ──overflow──► probation
//
// Main is a segmented LRU as in Caffeine: entries enter probation; a hit in probation
// moves the entry to protected (MRU); when protected holds more than its share, its LRU
// entry is demoted to probation's MRU end. Main's victim is probation's LRU entry
// (protected's if probation is empty). A hit in the window moves the entry to the
// window's MRU end.
//
// Mapping onto the core's hooks (the core calls on_miss → [victim → on_evict]* →
// on_insert when full):
//   - The sketch counts every request once: `on_access` (a hit) and `on_miss` increment
//     it; `on_insert` increments it only if no `on_miss` for that key preceded it (a put
//     of a new key without a lookup).
//   - `victim(incoming)`: if the window has room for the incoming entry, the excess is in
//     main and main's victim is returned. Otherwise the window's LRU entry is the
//     candidate: if main has room for it, it simply moves to probation and we look again;
//     else the filter decides — the candidate moves to probation and main's victim is
//     returned, or the candidate itself is returned. Either way one entry leaves, as the
//     paper's W-TinyLFU evicts exactly one of the two.
//   - `on_insert`: the new entry enters the window; while the window is over its share
//     and main has room, the window's LRU entry moves to probation uncontested (Caffeine
//     does this after every write; it keeps the window at 1% during warm-up).
//   - The incoming entry always enters the window, so there is no `admit` hook: TinyLFU's
//     admission applies to the window's candidate, not to the newcomer, and returning
//     false from `admit` would bypass the newcomer, which W-TinyLFU never does.
//
// Choices where the paper leaves one open, and how libCacheSim's WTinyLFU.c differs
// (so figures may differ by a little):
//   - Sizes: window = max(1, ⌊0.01·capacity⌋) (libCacheSim: ⌊0.01·capacity⌋, so 5 and 50
//     at 500 and 5000 entries, the same); main = the rest; protected = ⌊0.8·main⌋ (libCacheSim's
//     SLRU "1:4"). libCacheSim's SLRU inserts into the lowest segment with room
//     (protected, during warm-up); we always insert into probation, as Caffeine does.
//   - Admission is strict (candidate > victim; a tie keeps the victim), as in libCacheSim
//     and the paper; Caffeine also admits a tied warm candidate 1/128 of the time to resist
//     hash flooding.
//   - The window's size is fixed by default. `adaptive=true` lets it climb as Caffeine's
//     does (Einziger, Eytan, Friedman, Manes, "Adaptive Software Cache Management",
//     Middleware 2018: the hill climber): every sample (as many lookups as the sketch
//     counts between agings: sample_factor × its entries) the window moves by a step, in
//     the direction that raised the sample's hit ratio over the last one's, and back when
//     it fell; the step starts at 6.25% of the capacity, decays by 0.98 a sample, and
//     starts afresh when the hit ratio moves by 5 points or more. The window grows at the
//     protected segment's expense and shrinks into it (probation keeps its share), from 0
//     to everything protected held; a window that shrank is emptied by the next
//     evictions' contests, one candidate each, and a protected segment that shrank
//     demotes its LRU entries to probation at once. Not the default: on the learned
//     table's 47 pairs it beats the fixed window on 25 and loses on 18 (the short LIRS
//     traces, where W-TinyLFU is the best heuristic; docs/experiments.md).
//   - Sketch: 4-bit count-min with doorkeeper and minimal increment, W = 10 × capacity
//     (the paper). libCacheSim uses a minimal-increment counting Bloom filter without a
//     doorkeeper, ages every 32 × main-size requests, counts misses and main hits but not
//     window hits, and counts a window candidate again each time it is compared.
//
// Measured on cloudphysics (unit sizes) at 500 / 2500 / 5000 objects: 0.8315 / 0.8163 /
// 0.8028, against libCacheSim's 0.8456 / 0.8183 / 0.7739 — better at small sizes, worse
// at 5000, from the sketch differences above (W = 32×, no doorkeeper: 0.8349 / 0.8229 /
// 0.7937).
//
// Weights: window, main and protected shares are in weight; the sketch is sized for
// `sketch_entries` entries (default: the capacity, which is the entry count with unit
// weights, at most 2^22), and grows with `reserve_slots` when the cache holds more slots.
//
// Cost: O(1) per request. Per slot: 8 bytes of links and 1 of segment = 9 bytes, 8 of
// weight once any weight is not 1 (weight_column.hpp), and 8 of key hash (sketch
// lookups) only outside a cache — inside one it reads the cache's (hash_column.hpp);
// the sketch adds ~8–16 bytes of counters and
// ~1.25–2.5 bytes of doorkeeper per entry: `metadata_bytes_per_entry` reports the per-slot
// bytes plus the sketch's actual memory divided by its entry count.
#pragma once

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "prescient/policy/detail/frequency_sketch.hpp"
#include "prescient/policy/detail/hash_column.hpp"
#include "prescient/policy/detail/param_value.hpp"
#include "prescient/policy/detail/slot_list.hpp"
#include "prescient/policy/detail/weight_column.hpp"
#include "prescient/policy/policy.hpp"

namespace prescient::policy {

/// The parameters of `wtinylfu` (also reachable as `wtinylfu::config`). Defined outside the
/// class so that `config cfg = {}` works as a default argument (GCC rejects a nested
/// aggregate with default member initialisers there).
struct wtinylfu_config {
  /// Share of the capacity (in weight) for the window LRU. Paper and Caffeine's
  /// initial value: 0.01.
  double window_ratio = 0.01;
  /// Share of the main space for its protected segment (the rest is probation).
  /// Paper and Caffeine: 0.80.
  double protected_ratio = 0.80;
  /// The sketch ages (halves its counters) every `sample_factor` × entries increments.
  /// Paper: W/C = 10.
  std::uint64_t sample_factor = 10;
  /// Put a doorkeeper Bloom filter in front of the counters. Paper: yes.
  bool doorkeeper = true;
  /// Entries the sketch is sized for; 0: min(capacity, 2^22), grown by reserve_slots.
  std::size_t sketch_entries = 0;
  /// Let the window's size climb by the hit ratio (Caffeine's hill climber; see the
  /// header). `window_ratio` is then the starting point.
  bool adaptive = false;

  /// Parameter strings: window=<ratio>, protected=<ratio>, sample=<factor>,
  /// doorkeeper=<bool>, sketch=<entries>, adaptive=<bool>.
  bool set(std::string_view key, std::string_view value) {
    using detail::set_param;
    const auto ratio = [](double x) { return x >= 0 && x <= 1; };
    constexpr std::string_view in_ratio = "a number from 0 to 1";
    if (key == "window") return set_param(key, value, window_ratio, ratio, in_ratio);
    if (key == "protected") return set_param(key, value, protected_ratio, ratio, in_ratio);
    if (key == "sample")
      return set_param(key, value, sample_factor, [](auto x) { return x > 0; }, "a whole number >= 1");
    if (key == "doorkeeper") return set_param(key, value, doorkeeper);
    if (key == "sketch") return set_param(key, value, sketch_entries, "a whole number >= 0 (0: the capacity)");
    if (key == "adaptive") return set_param(key, value, adaptive);
    return false;
  }
};

class wtinylfu {
 public:
  using config = wtinylfu_config;
  static constexpr std::string_view name = "wtinylfu";

  explicit wtinylfu(std::uint64_t capacity = 0, config cfg = {})
      : cfg_(cfg),
        sketch_(cfg.sketch_entries != 0 ? cfg.sketch_entries
                                        : static_cast<std::size_t>(std::min<std::uint64_t>(capacity, 1u << 22)),
                cfg.sample_factor, cfg.doorkeeper),
        capacity_(capacity) {
    set_initial_shares();
  }

  void reserve_slots(std::size_t n) {
    links_.reserve_slots(n);
    if (n > seg_.size()) {
      hash_.resize(n);
      weight_.resize(n);
      seg_.resize(n, none);
    }
    grow_sketch(n);
  }
  /// Reads the cache's key hashes instead of keeping its own (policy.hpp).
  void use_key_hashes(key_hash_view v) noexcept { hash_.bind(v); }
  /// The sketch's part of reserve_slots: sized for `n` entries unless set by config.
  void grow_sketch(std::size_t n) {
    if (cfg_.sketch_entries == 0) sketch_.ensure_capacity(n);
  }

  void on_miss(const access& a) {
    sketch_.increment(a.key_hash);
    counted_hash_ = a.key_hash;
    counted_ = true;
    if (cfg_.adaptive) count_lookup(false);
  }

  void on_insert(slot_id s, const access& a) {
    if (!(counted_ && counted_hash_ == a.key_hash)) sketch_.increment(a.key_hash);
    counted_ = false;
    adopt(s, a);
  }

  /// Takes in a resident entry that another policy admitted (a hand-over: the learned
  /// policy's panel waking W-TinyLFU with the cache's contents). Not a request: the
  /// sketch does not count it — counting every resident once more at each hand-over
  /// would tilt every later admission contest towards the contents of the policy that
  /// decided before.
  void adopt(slot_id s, const access& a) {
    hash_.set(s, a.key_hash);
    weight_.set(s, a.weight);
    push(window, s);
    // While main has room (warm-up, or after erasures) the window's overflow moves to
    // probation uncontested, as Caffeine's maintenance does after every write.
    for (slot_id c = lists_[window].back(); segw_[window] > window_cap_ && c != s &&
                                            main_weight() + weight_[c] <= main_cap_;
         c = lists_[window].back()) {
      unlink(c);
      push(probation, c);
    }
  }

  void on_access(slot_id s, const access& a) {
    sketch_.increment(a.key_hash);
    if (cfg_.adaptive) count_lookup(true);
    const std::uint8_t g = seg_[s];
    if (a.weight != weight_[s]) {
      segw_[g] += a.weight - weight_[s];  // modular arithmetic: also right for a decrease
      weight_.set(s, a.weight);
    }
    if (g == probation) {
      unlink(s);
      push(protected_seg, s);
      demote_protected_overflow();
    } else {
      lists_[g].move_to_front(links_, s);
    }
  }

  [[nodiscard]] slot_id victim(const access& incoming) {
    for (;;) {
      const slot_id candidate = lists_[window].back();
      if (candidate == no_slot || segw_[window] + incoming.weight <= window_cap_) {
        const slot_id v = main_victim();
        return v != no_slot ? v : candidate;
      }
      if (main_weight() + weight_[candidate] <= main_cap_) {  // main has room: no contest
        unlink(candidate);
        push(probation, candidate);
        continue;
      }
      const slot_id v = main_victim();
      if (v == no_slot) return candidate;
      if (sketch_.frequency(hash_[candidate]) > sketch_.frequency(hash_[v])) {
        unlink(candidate);
        push(probation, candidate);
        return v;
      }
      return candidate;
    }
  }

  void on_evict(slot_id s) { unlink(s); }
  void on_erase(slot_id s) { unlink(s); }

  void clear() {
    clear_entries();
    sketch_.clear();
    set_initial_shares();
  }

  /// Counts a request of `key_hash` in the sketch alone. A policy that holds a W-TinyLFU
  /// to hand its decisions to later (the learned policy's panel) keeps its frequencies
  /// warm with this while another decides.
  void record(std::uint64_t key_hash) { sketch_.increment(key_hash); }
  /// Forgets the entries and keeps the sketch's frequencies (see `record`).
  void clear_entries() {
    links_.reset();
    for (auto& l : lists_) l.reset();
    for (auto& w : segw_) w = 0;
    std::fill(seg_.begin(), seg_.end(), none);
    counted_ = false;
  }

  /// As clear_entries, and gives the per-slot memory back (reserve_slots before the
  /// next insertion): a policy that keeps W-TinyLFU asleep beside it (the learned
  /// policy's panel) holds only the sketch meanwhile.
  void release_entries() {
    clear_entries();
    links_.release();
    hash_.release();
    weight_.release();
    std::vector<std::uint8_t>().swap(seg_);
  }

  /// The sketch's share of metadata_bytes_per_entry (what release_entries keeps).
  [[nodiscard]] std::size_t sketch_bytes_per_entry() const {
    return (sketch_.memory_bytes() + sketch_.entries() - 1) / sketch_.entries();
  }
  /// Room for weights other than 1 in the slots' column (policy.hpp).
  void reserve_weight(std::uint64_t) { weight_.materialise(); }

  [[nodiscard]] std::size_t metadata_bytes_per_entry() const {
    return detail::slot_links::bytes_per_slot + hash_.bytes_per_slot() + weight_.bytes_per_index() + 1 +
           sketch_bytes_per_entry();
  }

  /// The slots the policy holds: window, probation, protected (for cache::check_invariants;
  /// O(n), allocates).
  [[nodiscard]] std::vector<slot_id> resident_slots() const {
    std::vector<slot_id> out;
    for (const auto& l : lists_) l.append_to(links_, out);
    return out;
  }

  // Introspection for tests and explanations.
  [[nodiscard]] bool in_window(slot_id s) const { return seg_[s] == window; }
  [[nodiscard]] bool in_probation(slot_id s) const { return seg_[s] == probation; }
  [[nodiscard]] bool in_protected(slot_id s) const { return seg_[s] == protected_seg; }
  [[nodiscard]] std::uint32_t frequency(std::uint64_t key_hash) const { return sketch_.frequency(key_hash); }
  [[nodiscard]] const detail::frequency_sketch& sketch() const { return sketch_; }
  [[nodiscard]] std::uint64_t window_capacity() const { return window_cap_; }
  [[nodiscard]] std::uint64_t main_capacity() const { return main_cap_; }
  [[nodiscard]] std::uint64_t protected_capacity() const { return protected_cap_; }
  /// The adaptive window's next move in weight (negative: shrink); 0 when not adaptive.
  [[nodiscard]] double climb_step() const { return cfg_.adaptive ? step_ : 0.0; }

 private:
  static constexpr std::uint8_t window = 0, probation = 1, protected_seg = 2, none = 0xff;

  // The climber's constants, Caffeine's: the first step and a restart's in capacity
  // shares, the decay of the step per sample, and the hit-ratio move that restarts it.
  static constexpr double climb_step_share = 0.0625, climb_decay = 0.98, climb_restart = 0.05;

  void set_initial_shares() {
    window_cap_ = 0;
    if (capacity_ > 0) {
      window_cap_ = std::max<std::uint64_t>(
          1, static_cast<std::uint64_t>(static_cast<double>(capacity_) * cfg_.window_ratio));
      window_cap_ = std::min(window_cap_, capacity_);
    }
    main_cap_ = capacity_ - window_cap_;
    protected_cap_ = static_cast<std::uint64_t>(static_cast<double>(main_cap_) * cfg_.protected_ratio);
    // Caffeine starts by shrinking the window (its first sample's hit ratio always
    // "rose" from zero).
    step_ = -climb_step_share * static_cast<double>(capacity_);
    sample_hits_ = sample_lookups_ = 0;
    previous_hit_ratio_ = 0.0;
  }

  void count_lookup(bool hit) {
    sample_hits_ += hit ? 1 : 0;
    if (++sample_lookups_ >= sketch_.sample_size()) climb();
  }

  // One step of the hill climber at the end of a sample (see the header).
  void climb() {
    const double ratio = static_cast<double>(sample_hits_) / static_cast<double>(sample_lookups_);
    const double change = ratio - previous_hit_ratio_;
    const double amount = change >= 0 ? step_ : -step_;
    step_ = std::abs(change) >= climb_restart
                ? climb_step_share * static_cast<double>(capacity_) * (amount >= 0 ? 1.0 : -1.0)
                : climb_decay * amount;
    previous_hit_ratio_ = ratio;
    sample_hits_ = sample_lookups_ = 0;
    const auto moved = static_cast<std::int64_t>(amount);  // toward zero, as Caffeine's (long) cast
    if (moved > 0) {
      const std::uint64_t q = std::min(static_cast<std::uint64_t>(moved), protected_cap_);
      protected_cap_ -= q;
      window_cap_ += q;
      demote_protected_overflow();
    } else if (moved < 0) {
      const std::uint64_t q = std::min(static_cast<std::uint64_t>(-moved), window_cap_);
      window_cap_ -= q;
      protected_cap_ += q;
    }
    main_cap_ = capacity_ - window_cap_;
  }

  void demote_protected_overflow() {
    while (segw_[protected_seg] > protected_cap_ && lists_[protected_seg].size() > 1) {
      const slot_id d = lists_[protected_seg].back();
      unlink(d);
      push(probation, d);
    }
  }

  [[nodiscard]] std::uint64_t main_weight() const { return segw_[probation] + segw_[protected_seg]; }
  [[nodiscard]] slot_id main_victim() const {
    return !lists_[probation].empty() ? lists_[probation].back() : lists_[protected_seg].back();
  }
  void push(std::uint8_t g, slot_id s) {
    lists_[g].push_front(links_, s);
    segw_[g] += weight_[s];
    seg_[s] = g;
  }
  void unlink(slot_id s) {
    const std::uint8_t g = seg_[s];
    lists_[g].remove(links_, s);
    segw_[g] -= weight_[s];
    seg_[s] = none;
  }

  config cfg_;
  detail::frequency_sketch sketch_;
  std::uint64_t capacity_ = 0;
  std::uint64_t window_cap_ = 0;
  std::uint64_t main_cap_ = 0;
  std::uint64_t protected_cap_ = 0;
  detail::slot_links links_;
  detail::slot_list lists_[3];   // window, probation, protected; front: MRU
  std::uint64_t segw_[3] = {0, 0, 0};
  detail::hash_column hash_;
  detail::weight_column weight_;
  std::vector<std::uint8_t> seg_;
  bool counted_ = false;           // on_miss already counted counted_hash_
  std::uint64_t counted_hash_ = 0;
  // The adaptive window's climber (cfg_.adaptive): lookups and hits of the sample under
  // way, the last sample's hit ratio, and the next move in weight.
  std::uint64_t sample_lookups_ = 0;
  std::uint64_t sample_hits_ = 0;
  double previous_hit_ratio_ = 0.0;
  double step_ = 0.0;
};

static_assert(eviction_policy<wtinylfu>);
static_assert(has_miss_hook<wtinylfu>);

}  // namespace prescient::policy
