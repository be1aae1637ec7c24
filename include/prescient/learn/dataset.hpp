// prescient/learn/dataset.hpp — a training set cut from a trace (offline).
//
// The learned policy collects its training rows online (policy/learned.hpp); this builds
// the same kind of rows from a trace on disk, for prescient-train, cross-validation and
// export. Every `sample_every`-th request at logical time t contributes two rows, the
// two situations the policy scores:
//
//   - the requested key, just after its request (the admission question: "this key
//     missed; when will it come back?");
//   - a key drawn uniformly from the requests of the last `capacity` × 4 positions,
//     as of time t (the eviction question: "this resident key was last used a while
//     ago; when will it come back?").
//
// Labels are features.hpp's: log1p of the gap from t to the key's next request,
// censored at the window; the binary label is "requested again within the horizon".
// Histories are kept for every key (offline, memory is O(unique keys)).
//
// Two ways to build it:
//   - `build_dataset`: the whole trace in memory, annotated with next_access;
//   - `dataset_builder`: streaming. Requests go in one at a time with their logical
//     time; a row goes out (to a callback) as soon as its label is known: at its key's
//     next request, or once the censoring window has passed without one. Memory is the
//     keys' histories, the last 4 × capacity positions and the rows of the last window,
//     whatever the log's length. With the sequential draw it gives build_dataset's rows,
//     in the same order, bit for bit.
//
// Partitioning by key (a map and a reduce over many machines). A key's history and its
// labels depend on that key's requests only, measured in the log's global logical time,
// so the log can be cut by a hash of the key (`partition_of`) and each partition's
// requests replayed on their own, each with its global position: the requested key's row
// of every sampled request comes out of exactly one partition, identical (features,
// label) to the one a single machine computes. The eviction question's row draws a key
// from other requests, which may live in other partitions; under the partitioned draw it
// is drawn within the partition, by this rule:
//
//   at a sampled time t (t mod sample_every = 0) whose requested key is in partition p,
//   let R be p's requests at positions max(0, t − L + 1) … t (L = 4 × capacity; R holds
//   the request at t, so it is never empty), newest first, and r = partitioned_draw(seed,
//   t). The candidate is the key of R[r mod |R|], with its history as of t.
//
// R is the single-machine lookback window restricted to p, so the draw is uniform over
// the partition's recent requests (a key weighted by its requests in the window, as on
// one machine); partitions are a hash of the key, independent of its behaviour, so the
// rows pooled over partitions draw from the same distribution as on one machine.
// r depends on (seed, t) only, so every partition (and a single process building all
// of them) draws the same way without coordination. With one partition the rule draws
// from the same window as the sequential draw but with other random numbers.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "prescient/learn/features.hpp"
#include "prescient/hash.hpp"
#include "prescient/trace/request.hpp"

namespace prescient::learn {

struct dataset_options {
  std::uint64_t capacity = 1000;  ///< cache size in entries the rows are meant for
  std::uint64_t sample_every = 4;  ///< one sampled request in this many
  double window_per_entry = 16.0;  ///< censoring window W = this × capacity
  double horizon_per_entry = 1.0;  ///< horizon H = this × capacity
  std::uint64_t seed = 1;
  feature_config features{};
};

struct dataset {
  feature_matrix rows;
  std::vector<float> labels;           ///< log1p(gap), censored at the window
  std::vector<std::uint8_t> reused;    ///< requested again within the horizon
  label_config label_cfg{};
};

/// The label configuration build_dataset and dataset_builder derive from the options.
[[nodiscard]] inline label_config dataset_labels(const dataset_options& opt) {
  label_config cfg;
  cfg.window = std::max<std::uint64_t>(1, static_cast<std::uint64_t>(opt.window_per_entry * static_cast<double>(opt.capacity)));
  cfg.horizon = std::max<std::uint64_t>(1, static_cast<std::uint64_t>(opt.horizon_per_entry * static_cast<double>(opt.capacity)));
  return cfg;
}

/// Builds the dataset. `requests` must carry next_access (trace::annotate_next_access).
inline dataset build_dataset(std::span<const trace::request> requests, const dataset_options& opt = {}) {
  dataset out;
  out.label_cfg = dataset_labels(opt);
  const feature_extractor fx(opt.features);
  struct tracked {
    key_history history;
    std::int64_t last_position = -1;
  };
  std::unordered_map<std::uint64_t, tracked> keys;
  keys.reserve(requests.size() / 4 + 16);
  history_reach reach;  // keeps the histories' 32-bit times exact
  const std::uint64_t every = std::max<std::uint64_t>(1, opt.sample_every);
  const std::uint64_t lookback = std::max<std::uint64_t>(1, opt.capacity * 4);
  std::vector<float> values;
  std::uint64_t rng = opt.seed | 1;
  auto add = [&](const key_history& h, std::uint64_t now, std::uint64_t size, std::int64_t next) {
    values.resize(values.size() + feature_count);
    fx.write(h, now, size, values.data() + values.size() - feature_count);
    const std::optional<std::uint64_t> gap =
        next < 0 ? std::nullopt : std::optional<std::uint64_t>(static_cast<std::uint64_t>(next) - now);
    out.labels.push_back(next_access_label(gap, out.label_cfg));
    out.reused.push_back(reused_within_horizon(gap, out.label_cfg) ? 1 : 0);
  };
  for (std::size_t i = 0; i < requests.size(); ++i) {
    const trace::request& r = requests[i];
    const auto now = static_cast<std::uint64_t>(i);
    reach.advance(now, [&](auto&& f) {
      for (auto& [key, kept] : keys) f(kept.history);
    });
    tracked& t = keys[r.key];
    fx.record(t.history, now, r.size);
    t.last_position = static_cast<std::int64_t>(i);
    if (i % every != 0) continue;
    add(t.history, now, r.size, r.next_access);
    // A recently active key, as of now: its next request after now is the next request
    // after its last one.
    rng = mix64(rng + 0x9e3779b97f4a7c15ULL);
    const std::uint64_t back = rng % std::min<std::uint64_t>(lookback, now + 1);
    const tracked& other = keys[requests[i - back].key];
    add(other.history, now, 1, requests[static_cast<std::size_t>(other.last_position)].next_access);
  }
  out.rows = Eigen::Map<const feature_matrix>(values.data(), static_cast<Eigen::Index>(out.labels.size()),
                                              static_cast<Eigen::Index>(feature_count));
  return out;
}

// ---------------------------------------------------------------------------------------
// Streaming and partitioned builds

/// Which of a sampled request's two rows.
enum class row_kind : std::uint8_t {
  requested = 0,  ///< the requested key, just after its request
  candidate = 1,  ///< a key drawn from the recent requests (the eviction question)
};

/// One finished row, as dataset_builder hands it over.
struct dataset_row {
  std::uint64_t time = 0;  ///< logical time t of the sampled request (its position in the whole log)
  std::uint64_t key = 0;   ///< the key the row describes
  row_kind kind = row_kind::requested;
  float label = 0;         ///< log1p(gap), censored at the window
  std::uint8_t reused = 0; ///< requested again within the horizon
  std::array<float, feature_count> features{};
};

/// How the eviction question's key is drawn (see the top of this file).
enum class candidate_draw {
  /// build_dataset's: one generator stepped at every sampled request, the key at
  /// position t − (draw mod min(L, t + 1)). Needs every request of the log.
  sequential,
  /// The partitioned rule: a draw that depends on (seed, t) only, the key taken among
  /// the builder's own requests of the window.
  partitioned,
};

/// The partition of `key` among `partitions` (0 when there is at most one):
/// mix64(key) mod partitions.
[[nodiscard]] constexpr std::uint64_t partition_of(std::uint64_t key, std::uint64_t partitions) noexcept {
  return partitions <= 1 ? 0 : mix64(key) % partitions;
}

/// The partitioned rule's random number for the sampled request at logical time t:
/// splitmix64's t-th output from a stream seeded with mix64(seed).
[[nodiscard]] constexpr std::uint64_t partitioned_draw(std::uint64_t seed, std::uint64_t t) noexcept {
  return mix64(mix64(seed) + (t + 1) * 0x9e3779b97f4a7c15ULL);
}

/// Which requests a builder is given: those of partition `index` among `count`.
struct partition_spec {
  std::uint64_t count = 1;
  std::uint64_t index = 0;
};

/// Builds rows from a stream of requests (see the top of this file). Give it every
/// request of the log in order (sequential draw), or every request of one partition in
/// order, each with its position in the whole log (partitioned draw). Rows reach the
/// sink in time order (a sampled request's requested row before its candidate row).
/// Not thread-safe; one builder per partition.
class dataset_builder {
 public:
  using sink = std::function<void(const dataset_row&)>;

  /// Throws std::invalid_argument when the partition is not one of `part.count`, or when
  /// the sequential draw is asked of a builder that sees only a part of the log.
  dataset_builder(const dataset_options& opt, sink out, candidate_draw draw = candidate_draw::sequential,
                  partition_spec part = {})
      : opt_(opt), labels_(dataset_labels(opt)), fx_(opt.features), out_(std::move(out)), draw_(draw), part_(part),
        every_(std::max<std::uint64_t>(1, opt.sample_every)), lookback_(std::max<std::uint64_t>(1, opt.capacity * 4)),
        settle_after_(std::max(labels_.window, labels_.horizon)), rng_(opt.seed | 1) {
    if (part_.count == 0 || part_.index >= part_.count)
      throw std::invalid_argument("partition " + std::to_string(part_.index) + " of " + std::to_string(part_.count) +
                                  " does not exist");
    if (draw_ == candidate_draw::sequential && part_.count != 1)
      throw std::invalid_argument("the sequential draw needs the whole log (one partition)");
  }

  /// The next request of this builder's partition, at logical time `time` in the whole
  /// log. Throws std::invalid_argument when `time` does not increase (or, under the
  /// sequential draw, skips a position), or when the key is not in the partition.
  void add(std::uint64_t key, std::uint64_t size, std::uint64_t time) {
    if (started_ && time <= last_time_)
      throw std::invalid_argument("request at time " + std::to_string(time) + " after time " +
                                  std::to_string(last_time_) + ": times must increase");
    if (draw_ == candidate_draw::sequential && time != (started_ ? last_time_ + 1 : 0))
      throw std::invalid_argument("request at time " + std::to_string(time) +
                                  ": the sequential draw needs every position, from 0");
    if (part_.count > 1 && partition_of(key, part_.count) != part_.index)
      throw std::invalid_argument("key " + std::to_string(key) + " at time " + std::to_string(time) +
                                  " belongs to partition " + std::to_string(partition_of(key, part_.count)) +
                                  ", not " + std::to_string(part_.index) + " of " + std::to_string(part_.count));
    started_ = true;
    last_time_ = time;
    ++requests_;
    reach_.advance(time, [&](auto&& f) {
      for (auto& [k, kept] : keys_) f(kept.history);
    });
    tracked& t = keys_[key];
    settle(t, time);                 // rows waiting for this key's next request
    fx_.record(t.history, time, size);
    recent_.emplace_back(time, key);
    while (time - recent_.front().first >= lookback_) recent_.pop_front();  // positions > time − L
    if (time % every_ == 0) {
      push(key, t, time, size, row_kind::requested);
      const std::uint64_t r = draw_ == candidate_draw::sequential
                                  ? (rng_ = mix64(rng_ + 0x9e3779b97f4a7c15ULL))
                                  : partitioned_draw(opt_.seed, time);
      const std::uint64_t back = r % recent_.size();
      const std::uint64_t other = recent_[recent_.size() - 1 - back].second;
      push(other, keys_[other], time, 1, row_kind::candidate);
    }
    flush(time);
  }

  /// The end of the log: rows still waiting are labelled "not requested again".
  void finish() {
    while (!waiting_.empty()) pop_front();
  }

  [[nodiscard]] const label_config& labels() const noexcept { return labels_; }
  /// Requests given so far.
  [[nodiscard]] std::uint64_t requests() const noexcept { return requests_; }
  /// Keys whose histories are kept.
  [[nodiscard]] std::size_t keys() const noexcept { return keys_.size(); }
  /// Rows built but not handed over yet (waiting for a label, or behind one that is).
  [[nodiscard]] std::size_t waiting_rows() const noexcept { return waiting_.size(); }

 private:
  static constexpr std::uint64_t none = 0;  // sequence numbers start at 1

  struct tracked {
    key_history history;
    std::uint64_t last_waiting = none;  // the newest waiting row of this key (a sequence number)
  };
  struct waiting_row {
    dataset_row row;
    std::uint64_t previous = none;  // the key's waiting row before this one
    bool labelled = false;
  };

  void push(std::uint64_t key, tracked& t, std::uint64_t now, std::uint64_t size, row_kind kind) {
    waiting_row w;
    w.row.time = now;
    w.row.key = key;
    w.row.kind = kind;
    fx_.write(t.history, now, size, w.row.features.data());
    w.previous = t.last_waiting;
    waiting_.push_back(w);
    t.last_waiting = front_seq_ + waiting_.size() - 1;
  }

  // The key is requested at `now`: every row of it still waiting gets its label.
  void settle(tracked& t, std::uint64_t now) {
    for (std::uint64_t seq = t.last_waiting; seq != none && seq >= front_seq_;) {
      waiting_row& w = waiting_[seq - front_seq_];
      label(w, now - w.row.time);
      seq = w.previous;
    }
    t.last_waiting = none;
  }

  void label(waiting_row& w, std::optional<std::uint64_t> gap) {
    w.row.label = next_access_label(gap, labels_);
    w.row.reused = reused_within_horizon(gap, labels_) ? 1 : 0;
    w.labelled = true;
  }

  void pop_front() {
    waiting_row& w = waiting_.front();
    if (!w.labelled) label(w, std::nullopt);  // censored, or the log ended: never again within the window
    out_(w.row);
    waiting_.pop_front();
    ++front_seq_;
  }

  // Hands over the rows at the front that are labelled, or whose window has passed (a
  // request after now + window and never again give the same labels).
  void flush(std::uint64_t now) {
    while (!waiting_.empty() && (waiting_.front().labelled || now - waiting_.front().row.time > settle_after_))
      pop_front();
  }

  dataset_options opt_;
  label_config labels_;
  feature_extractor fx_;
  sink out_;
  candidate_draw draw_;
  partition_spec part_;
  std::uint64_t every_, lookback_, settle_after_;
  std::uint64_t rng_;
  std::unordered_map<std::uint64_t, tracked> keys_;
  history_reach reach_;  // keeps the histories' 32-bit times exact
  std::deque<std::pair<std::uint64_t, std::uint64_t>> recent_;  // (time, key) of the window, oldest first
  std::deque<waiting_row> waiting_;
  std::uint64_t front_seq_ = 1;  // sequence number of waiting_.front()
  std::uint64_t last_time_ = 0, requests_ = 0;
  bool started_ = false;
};

}  // namespace prescient::learn
