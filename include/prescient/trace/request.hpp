// prescient/trace/request.hpp — one request of a recorded trace, as every reader yields it.
//
// A request is a plain 32-byte aggregate so a simulator can replay a whole trace from a
// contiguous array (5M requests = 160 MB) without a pointer chase.
//
// Invariants (what each reader guarantees):
//   - `key` is the trace's object id. Signed keys (i32be, negative text keys) are
//     sign-extended to 64 bits and reinterpreted as unsigned, so
//     `static_cast<std::int64_t>(key)` gives back the recorded value and distinct recorded
//     keys stay distinct.
//   - `size` is the object size in bytes as recorded, or 1 when the format has none
//     (so "byte" figures degrade to "object" figures). A recorded size of 0 is kept as 0.
//   - `time` is the recorded timestamp (unit of the source), or 0 when there is none.
//   - `next_access` is the 0-based index, in the same trace, of the next request for the
//     same key, or `never` (-1). A reader whose format records nothing about the future
//     (every format but oracle-general) leaves it at -1, which then means "unknown";
//     `reader::provides_next_access()` says which meaning holds, and
//     `annotate_next_access` (next_access.hpp) turns "unknown" into the truth.
//     We keep one sentinel rather than two so the record stays the documented aggregate
//     and Belady can test `next_access < 0` without caring where the value came from.
#pragma once

#include <cstdint>

namespace prescient::trace {

/// `request::next_access` value for "this key is never requested again" (or unknown,
/// before annotation: see the header comment).
inline constexpr std::int64_t never = -1;

struct request {
  std::uint64_t key;
  std::uint64_t size = 1;
  std::uint64_t time = 0;
  std::int64_t next_access = never;

  friend constexpr bool operator==(const request&, const request&) = default;
};

}  // namespace prescient::trace
