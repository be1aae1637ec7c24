// prescient/sim/footprint.hpp — a trace's footprint: its distinct keys and their bytes.
//
// What `--sizes N%` is a share of, and what the table's header prints. Counted over the
// trace as it streams by (`add`, batch after batch), in a flat map of the keys seen
// (trace/detail/key_map.hpp: 8 bytes x 1.3-2.7 per unique key, nothing per request). A key
// counts its bytes at its first size.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "prescient/trace/detail/key_map.hpp"
#include "prescient/trace/request.hpp"

namespace prescient::sim {

struct footprint {
  std::uint64_t unique_keys = 0;
  std::uint64_t unique_bytes = 0;
};

class footprint_counter {
 public:
  void add(std::span<const trace::request> batch) {
    for (std::size_t i = 0; i < batch.size(); ++i) {
      if (i + prefetch_distance < batch.size()) seen_.prefetch(batch[i + prefetch_distance].key);
      if (seen_.try_emplace(batch[i].key).second) bytes_ += batch[i].size;
    }
  }
  [[nodiscard]] footprint result() const noexcept { return {seen_.size(), bytes_}; }
  /// Bytes of the map of keys.
  [[nodiscard]] std::size_t bytes() const noexcept { return seen_.bytes(); }

 private:
  static constexpr std::size_t prefetch_distance = 16;
  struct nothing {};
  trace::detail::key_map<nothing> seen_;
  std::uint64_t bytes_ = 0;
};

/// The footprint of requests held in memory.
inline footprint measure_footprint(std::span<const trace::request> requests) {
  footprint_counter c;
  c.add(requests);
  return c.result();
}

}  // namespace prescient::sim
