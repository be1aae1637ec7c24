// prescient/policy/learned/ghost_histories.hpp — what the learned policy remembers of the
// keys it no longer holds: their histories (learn::key_history), kept while they are
// recent enough to say something.
//
// A key that leaves the cache (evicted, erased, or missed and not inserted) files its
// history here; a key that comes back takes it out, so its features say how often and
// how regularly it was requested before, not "never seen". Two bounds:
//
//   * the table's: at most `ghost_per_entry` histories per unit of capacity, the oldest
//     stored going first (learn::history_table, whose memory follows what it holds);
//   * the age's: a history whose key was last requested more than `ghost_age_per_entry`
//     × the resident entries requests ago is stale. The table drops stale ones from its
//     oldest end as new ones arrive (so it holds what the age window needs, not its
//     whole bound), and a stale one taken back is forgotten: the key counts as never
//     seen (docs/experiments.md, "W-TinyLFU first, and ghosts by age").
//
// Cost: O(1) amortised a store and a recall.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "prescient/learn/detail/json.hpp"
#include "prescient/learn/features.hpp"

namespace prescient::policy::detail {

class ghost_histories {
 public:
  /// The table's bound for `per_entry` histories per unit of `capacity` (capacities
  /// above 2^24 count as 2^24). A bound the table cannot hold, a negative one or NaN is
  /// an error here (std::invalid_argument), not a wrapped or undefined conversion.
  [[nodiscard]] static std::size_t bound(double per_entry, std::uint64_t capacity) {
    const double b = per_entry * static_cast<double>(std::min<std::uint64_t>(capacity, 1u << 24));
    if (!(b >= 0 && b <= static_cast<double>(learn::history_table::max_capacity))) {
      using learn::detail::json_number_text;  // 1e+300, not 301 digits
      throw std::invalid_argument("learned: ghost_per_entry = " + json_number_text(per_entry) + " at capacity " +
                                  std::to_string(capacity) + " asks for " + json_number_text(b) +
                                  " ghost histories; expected 0 to " +
                                  std::to_string(learn::history_table::max_capacity));
    }
    return static_cast<std::size_t>(b);
  }

  /// `most`: histories held at most (see `bound`); `age_per_entry`: the age window per
  /// resident entry (0: no history is ever stale).
  ghost_histories(std::size_t most, double age_per_entry) : table_(most), age_per_entry_(age_per_entry) {}

  /// The history of `key_hash`, taken back at `now` with `residents` entries resident:
  /// the one filed, or a fresh one when none is or it is stale.
  [[nodiscard]] learn::key_history recall(std::uint64_t key_hash, std::uint64_t now, std::size_t residents) {
    learn::key_history h;
    if (!table_.take(key_hash, h)) return learn::key_history{};
    if (stale(h, now, residents)) return learn::key_history{};
    return h;
  }

  /// Files the history of `key_hash`, which leaves the cache at `now` with `residents`
  /// entries resident; stale histories at the table's oldest end go first.
  void remember(std::uint64_t key_hash, const learn::key_history& h, std::uint64_t now, std::size_t residents) {
    const std::uint64_t t = stale_before(now, residents);
    if (t > 0) table_.forget_older_than(t, now);
    table_.put(key_hash, h, t, now);
  }

  /// Whether `h` (a history of a key seen before) is too old to say anything at `now`.
  [[nodiscard]] bool stale(const learn::key_history& h, std::uint64_t now, std::size_t residents) const {
    return h.seen() && h.last_time(now) < stale_before(now, residents);
  }

  /// Calls f(key_history&) on every history held (learn::history_reach's pass).
  template <class F>
  void for_each_history(F&& f) {
    table_.for_each_history(f);
  }
  void clear() { table_.clear(); }
  [[nodiscard]] std::size_t size() const { return table_.size(); }
  /// Bytes held now (the table's ring as grown so far, and its index).
  [[nodiscard]] std::size_t bytes() const { return table_.bytes(); }

 private:
  // Histories last requested before this are stale (0: none is).
  [[nodiscard]] std::uint64_t stale_before(std::uint64_t now, std::size_t residents) const {
    if (age_per_entry_ <= 0) return 0;
    const auto age =
        static_cast<std::uint64_t>(age_per_entry_ * static_cast<double>(std::max<std::size_t>(residents, 1)));
    return now > age ? now - age : 0;
  }

  learn::history_table table_;
  double age_per_entry_;
};

}  // namespace prescient::policy::detail
