// prescient/policy/learned/heuristics.hpp — the heuristics the learned policy hands its
// decisions to, hosted on its own slots: the base (S3-FIFO by default), and with a panel
// W-TinyLFU and ARC too. One at a time is awake — kept up to date by every request and
// eviction, so that it can decide at once — and the others sleep with their memory given
// back.
//
// Waking a heuristic hands it the resident entries, least recently used first, as if
// it had seen them arrive in that order, but as residents, not as requests (W-TinyLFU's
// sketch, which it keeps across sleeps, does not count them: `adopt`). ARC and S3-FIFO
// are also told which residents the owner's histories say were requested more than
// once: those start in T2 and in M, where the heuristic would have put them, so that it
// does not evict the frequent ones first for lack of a hit since the hand-over
// (W-TinyLFU's sketch already knows). A policy that adopts nothing is told of inserts. Sleeping
// rebuilds the base and ARC empty; W-TinyLFU keeps its frequency sketch, which counts
// every request while it sleeps (`record`), so that it wakes knowing the past rather
// than from nothing. Every hosted heuristic reads the owner's key hashes (the cache's,
// or the owner's own column) instead of keeping a copy.
//
// A hand-over inherits contents chosen by someone else. The residents the new
// heuristic's shadow in the panel would not hold (`disown`, by the owner's word) are its
// first victims, least recently used first, each while it is still the entry filed
// (`next_disowned`); otherwise a heuristic that protects what it believes frequent
// (W-TinyLFU's admission) can keep stale entries for a long time, and every heuristic
// relearns by misses what its shadow already knows.
//
// Memory per entry: the largest of the heuristics that may wake (only one holds slots
// at a time), plus W-TinyLFU's sketch, which is kept all along; the disowned list holds
// 8 bytes per disowned resident until the next hand-over.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "prescient/policy/arc.hpp"
#include "prescient/policy/learned/panel.hpp"
#include "prescient/policy/learned/young_entries.hpp"
#include "prescient/policy/policy.hpp"
#include "prescient/policy/wtinylfu.hpp"

namespace prescient::policy::detail {

template <class Base>
class hosted_heuristics {
 public:
  /// `capacity`: the cache's; `panel`: W-TinyLFU and ARC are hosted too (a panel can
  /// hand them the decisions), otherwise they are built empty and never wake.
  hosted_heuristics(std::uint64_t capacity, const typename Base::config& base_config, bool panel)
      : capacity_(capacity),
        panel_(panel),
        base_config_(base_config),
        base_(capacity, base_config),
        wtinylfu_(panel ? capacity : 0),
        arc_(panel ? capacity : 0) {}

  /// The heuristic kept up to date (member::lru: none — LRU is the owner's recency list);
  /// the base until told otherwise.
  [[nodiscard]] member awake() const noexcept { return awake_; }
  [[nodiscard]] const Base& base() const noexcept { return base_; }

  /// The heuristics read `hashes` (the owner's key hashes by slot) from now on.
  void use_key_hashes(key_hash_view hashes) {
    hashes_ = hashes;
    bind();
  }

  /// Calls f on the awake heuristic, if any.
  template <class F>
  void with_awake(F&& f) {
    switch (awake_) {
      case member::base: f(base_); break;
      case member::wtinylfu: f(wtinylfu_); break;
      case member::arc: f(arc_); break;
      default: break;
    }
  }

  /// Wakes `m` (sleeping the one awake) for `slots` slots, handing it the residents:
  /// `residents(f)` calls f(slot, access, frequent) for each, least recently used first.
  /// Nothing when `m` is awake already.
  template <class Residents>
  void wake(member m, std::size_t slots, Residents&& residents) {
    if (awake_ == m) return;
    sleep();
    awake_ = m;
    with_awake([&](auto& h) {
      h.reserve_slots(slots);
      residents([&](slot_id s, const access& a, bool frequent) {
        if constexpr (requires { h.adopt(s, a, true); })
          h.adopt(s, a, frequent);  // what the key's history says it was
        else if constexpr (requires { h.adopt(s, a); })
          h.adopt(s, a);  // a resident handed over, not a request
        else
          h.on_insert(s, a);
      });
    });
  }

  /// The awake heuristic gives its memory back; none is awake after.
  void sleep() {
    switch (awake_) {
      case member::base: base_ = Base(capacity_, base_config_); break;
      case member::arc: arc_ = arc(panel_ ? capacity_ : 0); break;
      case member::wtinylfu: wtinylfu_.release_entries(); break;  // awake only with a panel
      default: break;
    }
    bind();  // the rebuilt one reads the owner's hashes again
    awake_ = member::lru;
  }

  /// Room for `n` slots in the awake heuristic; with a panel W-TinyLFU's sketch grows
  /// too, since it counts whether W-TinyLFU is awake or not.
  void reserve_slots(std::size_t n) {
    with_awake([&](auto& h) { h.reserve_slots(n); });  // a sleeping heuristic holds no slots
    if (panel_) wtinylfu_.grow_sketch(n);
  }

  /// A request of `key_hash`, for W-TinyLFU's sketch while it sleeps (the awake one is
  /// told by its own hooks).
  void record(std::uint64_t key_hash) {
    if (panel_ && awake_ != member::wtinylfu) wtinylfu_.record(key_hash);
  }

  /// Metadata bytes per entry: the largest of those that may wake, plus W-TinyLFU's
  /// sketch, which counts all along.
  [[nodiscard]] std::size_t bytes_per_entry() const {
    if (!panel_) return base_.metadata_bytes_per_entry();
    const std::size_t sketch = wtinylfu_.sketch_bytes_per_entry();
    return std::max({base_.metadata_bytes_per_entry(), wtinylfu_.metadata_bytes_per_entry() - sketch,
                     arc_.metadata_bytes_per_entry()}) +
           sketch;
  }

  [[nodiscard]] static std::string_view name(member m) {
    switch (m) {
      case member::lru: return "lru";
      case member::base: return Base::name;
      case member::wtinylfu: return wtinylfu::name;
      case member::arc: return arc::name;
    }
    return "?";
  }

  // ---- a hand-over ----

  /// Files as disowned the residents `residents(f)` lists — f(slot, stamp, key hash),
  /// least recently used first — for which `holds(key hash)` is false; forgets the last
  /// hand-over's.
  template <class Residents, class Holds>
  void disown(Residents&& residents, Holds&& holds) {
    disowned_.clear();
    disowned_next_ = 0;
    residents([&](slot_id s, std::uint32_t stamp, std::uint64_t key_hash) {
      if (!holds(key_hash)) disowned_.push_back(stamped_slot{s, stamp});
    });
  }
  /// Forgets the disowned residents (a hand-over without a panel to ask).
  void forget_disowned() noexcept {
    disowned_.clear();
    disowned_next_ = 0;
  }
  /// The next disowned resident still `live` (resident, stamp unchanged), or no_slot.
  template <class Live>
  [[nodiscard]] slot_id next_disowned(Live&& live) {
    while (disowned_next_ < disowned_.size()) {
      const stamped_slot d = disowned_[disowned_next_++];
      if (live(d)) return d.slot;
    }
    return no_slot;
  }

 private:
  void bind() {
    if (!hashes_) return;
    if constexpr (has_key_hashes<Base>) base_.use_key_hashes(hashes_);
    wtinylfu_.use_key_hashes(hashes_);
    arc_.use_key_hashes(hashes_);
  }

  std::uint64_t capacity_;  // as built (the heuristics keep their proportions: cache::set_capacity)
  bool panel_;
  typename Base::config base_config_;
  Base base_;
  wtinylfu wtinylfu_;
  arc arc_;
  member awake_ = member::base;
  key_hash_view hashes_;
  std::vector<stamped_slot> disowned_;  // residents the heuristic handed over to would not hold
  std::size_t disowned_next_ = 0;
};

}  // namespace prescient::policy::detail
