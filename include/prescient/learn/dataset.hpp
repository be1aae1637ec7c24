// prescient/learn/dataset.hpp — a training set cut from a whole trace (offline).
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
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <unordered_map>
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

/// Builds the dataset. `requests` must carry next_access (trace::annotate_next_access).
inline dataset build_dataset(std::span<const trace::request> requests, const dataset_options& opt = {}) {
  dataset out;
  out.label_cfg.window = std::max<std::uint64_t>(1, static_cast<std::uint64_t>(opt.window_per_entry * static_cast<double>(opt.capacity)));
  out.label_cfg.horizon = std::max<std::uint64_t>(1, static_cast<std::uint64_t>(opt.horizon_per_entry * static_cast<double>(opt.capacity)));
  const feature_extractor fx(opt.features);
  struct tracked {
    key_history history;
    std::int64_t last_position = -1;
  };
  std::unordered_map<std::uint64_t, tracked> keys;
  keys.reserve(requests.size() / 4 + 16);
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

}  // namespace prescient::learn
