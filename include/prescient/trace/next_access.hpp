// prescient/trace/next_access.hpp — label each request with the position of its key's
// next request: the future that Belady's optimum (and the learner's labels) read.
//
// One backward pass: walking from the last request to the first, a hash map holds for
// each key the position where it was seen last (i.e. next, in forward order). O(n) time,
// O(unique keys) memory. Positions are indices into the span given, so annotate the
// whole trace (or the exact prefix you will replay), not a batch of it.
// On oracle-general traces the result equals the recorded next_access_vtime (tested).
#pragma once

#include <cstdint>
#include <span>
#include <unordered_map>

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

}  // namespace prescient::trace
