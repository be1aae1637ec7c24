// prescient/trace/next_access.hpp — the position of each request's next request for the
// same key: the future that Belady's optimum reads.
//
// Two ways to get it for a trace whose format does not record it (every format but
// oracle-general, whose reader fills request::next_access itself):
//
//   annotate_next_access(span)  a backward pass over requests held in memory: O(n) time,
//                               a hash map of the unique keys. Positions are indices into
//                               the span given, so annotate the whole trace (or the exact
//                               prefix you will replay), not a batch of it.
//   next_access_index           for a trace streamed in batches and never held whole: a
//                               first, forward pass (`add`, batch after batch) records for
//                               each request where its key comes next; a second pass over
//                               the same requests in the same order reads it back
//                               (`fill`). It costs 4 bytes per request (a uint32 position
//                               delta, in chunks of 1M: no reallocation, no copy) plus,
//                               during the first pass only, a flat map of the unique keys
//                               (16 bytes x 1.3-2.7 per key; `release_keys` frees it). Up to
//                               2^32 - 2 requests between two requests of a key, and
//                               2^40 requests in all.
//
// On oracle-general traces both give the recorded next_access_vtime (tested).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <stdexcept>
#include <unordered_map>
#include <vector>

#include "prescient/trace/detail/key_map.hpp"
#include "prescient/trace/request.hpp"

namespace prescient::trace {

inline void annotate_next_access(std::span<request> requests) {
  std::unordered_map<std::uint64_t, std::int64_t> next;
  // Unique keys are usually a small fraction of requests; start at 1/8 to avoid the
  // first rehashes without reserving for the (rare) all-unique worst case.
  next.reserve(requests.size() / 8 + 16);
  for (std::size_t i = requests.size(); i-- > 0;) {
    auto [it, fresh] = next.try_emplace(requests[i].key, static_cast<std::int64_t>(i));
    requests[i].next_access = fresh ? never : it->second;
    it->second = static_cast<std::int64_t>(i);
  }
}

class next_access_index {
 public:
  /// First pass: the next `batch` of the trace, in order.
  void add(std::span<const request> batch) {
    for (std::size_t k = 0; k < batch.size(); ++k) {
      if (k + prefetch_distance < batch.size()) last_seen_.prefetch(batch[k + prefetch_distance].key);
      const request& r = batch[k];
      const std::uint64_t i = size_++;
      if ((i & chunk_mask) == 0) {
        if (i >> chunk_bits >= max_chunks) throw std::length_error("next_access_index: more than 2^40 requests");
        chunks_.push_back(std::make_unique_for_overwrite<std::uint32_t[]>(chunk_size));
      }
      delta(i) = none;
      auto [last, fresh] = last_seen_.try_emplace(r.key);
      if (!fresh) {
        const std::uint64_t d = i - *last;
        if (d >= none) throw std::length_error("next_access_index: a key returns after more than 2^32 - 2 requests");
        delta(*last) = static_cast<std::uint32_t>(d);
      }
      *last = i;
    }
  }

  /// Frees the first pass's map of keys (call between the passes).
  void release_keys() { last_seen_ = {}; }

  /// Second pass: sets next_access of `batch`, whose first request is request `first` of
  /// the trace (0-based), to the 0-based position of its key's next request or `never`.
  /// Requests at or past `end` count as never coming (a replay of a prefix).
  void fill(std::span<request> batch, std::uint64_t first, std::uint64_t end = ~std::uint64_t{0}) const {
    for (std::size_t k = 0; k < batch.size(); ++k) {
      const std::uint64_t i = first + k;
      const std::uint32_t d = i < size_ ? delta(i) : none;
      batch[k].next_access = d == none || i + d >= end ? never : static_cast<std::int64_t>(i + d);
    }
  }

  /// Requests added.
  [[nodiscard]] std::uint64_t size() const noexcept { return size_; }
  /// Bytes held: the per-request positions, and the map of keys until released.
  [[nodiscard]] std::size_t bytes() const noexcept {
    return chunks_.size() * chunk_size * sizeof(std::uint32_t) + last_seen_.bytes();
  }

 private:
  static constexpr unsigned chunk_bits = 20;
  static constexpr std::uint64_t chunk_size = std::uint64_t{1} << chunk_bits;
  static constexpr std::uint64_t chunk_mask = chunk_size - 1;
  static constexpr std::uint64_t max_chunks = std::uint64_t{1} << 20;
  static constexpr std::uint32_t none = ~std::uint32_t{0};
  static constexpr std::size_t prefetch_distance = 16;

  std::uint32_t& delta(std::uint64_t i) noexcept { return chunks_[i >> chunk_bits][i & chunk_mask]; }
  [[nodiscard]] std::uint32_t delta(std::uint64_t i) const noexcept { return chunks_[i >> chunk_bits][i & chunk_mask]; }

  std::vector<std::unique_ptr<std::uint32_t[]>> chunks_;
  detail::key_map<std::uint64_t> last_seen_;
  std::uint64_t size_ = 0;
};

}  // namespace prescient::trace
