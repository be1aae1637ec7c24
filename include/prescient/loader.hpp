// prescient/loader.hpp — what the cache calls to read the host's backing store.
//
// A *loader* for a cache of `Key → Value` is any callable the cache can invoke as
// `loader(key)` with a `const Key&`, returning either
//
//   * something convertible to `Value`      — the key always exists in the store; or
//   * `std::optional<Value>`                — `std::nullopt` means "no such key": nothing
//                                             is cached and `get_or_load` answers nullopt.
//
// A loader reports a failure (store unreachable, timeout…) by throwing. The cache never
// swallows it: the exception reaches the caller of `get_or_load` (and, in
// concurrent_cache, every caller waiting for that same load), and nothing is cached.
//
// A loader may also offer a batch entry point, detected with `requires` (a loader
// without it pays nothing):
//
//   std::vector<std::optional<Value>> load_many(std::span<const Key> keys);
//
// answering one element per key, in the same order (nullopt = no such key). The
// prefetcher uses it to load predicted keys in one round trip; `load_all` below calls it
// when present and falls back to one call per key otherwise.
//
// Loaders are invoked as lvalues (`loader(key)`, `loader.load_many(keys)`), so a stateful
// loader is not moved from by the cache. concurrent_cache runs the loader with no lock
// held: a loader may read (or write) the same cache, and may be called from several
// threads at once for *different* keys — make it thread-safe if it shares state.
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <stdexcept>
#include <type_traits>
#include <utility>
#include <vector>

namespace prescient {

namespace detail {
template <class T>
inline constexpr bool is_optional_v = false;
template <class T>
inline constexpr bool is_optional_v<std::optional<T>> = true;
}  // namespace detail

/// A loader that answers `std::optional<Value>` (nullopt = no such key).
template <class L, class Key, class Value>
concept optional_loader = std::invocable<L&, const Key&> &&
    std::same_as<std::remove_cvref_t<std::invoke_result_t<L&, const Key&>>, std::optional<Value>>;

/// A loader that always answers a value (convertible to `Value`).
template <class L, class Key, class Value>
concept value_loader = std::invocable<L&, const Key&> && !optional_loader<L, Key, Value> &&
    !detail::is_optional_v<std::remove_cvref_t<std::invoke_result_t<L&, const Key&>>> &&
    std::convertible_to<std::invoke_result_t<L&, const Key&>, Value>;

/// Either kind of loader: what `get_or_load` accepts.
template <class L, class Key, class Value>
concept loader = optional_loader<L, Key, Value> || value_loader<L, Key, Value>;

/// A loader with the optional batch entry point `load_many(std::span<const Key>)`.
template <class L, class Key, class Value>
concept batch_loader = loader<L, Key, Value> && requires(L& l, std::span<const Key> keys) {
  { l.load_many(keys) } -> std::convertible_to<std::vector<std::optional<Value>>>;
};

/// Calls `l(key)` and answers in the common form: nullopt only when an optional loader
/// said "no such key". Exceptions from the loader propagate.
template <class Key, class Value, class L>
  requires loader<L, Key, Value>
[[nodiscard]] std::optional<Value> invoke_loader(L& l, const Key& key) {
  if constexpr (optional_loader<L, Key, Value>) {
    return std::invoke(l, key);
  } else {
    return std::optional<Value>(std::in_place, std::invoke(l, key));
  }
}

/// Loads every key of `keys`: through `load_many` when the loader has it (one call),
/// otherwise one `l(key)` per key. One answer per key, in order. A `load_many` that
/// answers the wrong number of elements is a broken loader: std::length_error.
/// Exceptions from the loader propagate (the whole batch fails).
template <class Key, class Value, class L>
  requires loader<L, Key, Value>
[[nodiscard]] std::vector<std::optional<Value>> load_all(L& l, std::span<const Key> keys) {
  if constexpr (batch_loader<L, Key, Value>) {
    std::vector<std::optional<Value>> out = l.load_many(keys);
    if (out.size() != keys.size()) {
      throw std::length_error("prescient: load_many answered a different number of values than keys");
    }
    return out;
  } else {
    std::vector<std::optional<Value>> out;
    out.reserve(keys.size());
    for (const Key& k : keys) out.push_back(invoke_loader<Key, Value>(l, k));
    return out;
  }
}

/// concurrent_cache's read-through counters (merged across shards by `load_stats()`).
struct load_stats {
  std::uint64_t loads = 0;      ///< loader calls started (one per flight)
  std::uint64_t failures = 0;   ///< loader calls that threw
  std::uint64_t coalesced = 0;  ///< get_or_load misses that waited for another caller's load
  std::uint64_t absent = 0;     ///< loads that answered "no such key" (nothing cached)
  std::uint64_t stale = 0;      ///< loads whose result was not cached: the key was put,
                                ///< erased, invalidated or cleared while loading
  std::uint64_t successes = 0;  ///< loader calls that returned (a value or "no such key"); a
                                ///< get_all's one load_all call counts once
  std::uint64_t total_load_time = 0;  ///< nanoseconds spent in loader calls (the cache's
                                      ///< ticker if it expires, else steady_clock)

  load_stats& operator+=(const load_stats& o) noexcept {
    loads += o.loads; failures += o.failures; coalesced += o.coalesced;
    absent += o.absent; stale += o.stale; successes += o.successes;
    total_load_time += o.total_load_time;
    return *this;
  }
  friend bool operator==(const load_stats&, const load_stats&) = default;
};

}  // namespace prescient
