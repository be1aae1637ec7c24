// prescient/expiry.hpp — time for the cache: tickers, expiry and refresh settings.
//
// Time is opt-in and decided at compile time: `cache`'s last template parameter is
// `no_expiry` by default (the cache keeps no time, reads no clock, and its code is the
// same as without this header), or `expiring<Ticker, EntryExpiry>`, which gives every
// entry a deadline kept in a timer wheel (detail/timer_wheel.hpp):
//
//   prescient::expiring_cache<std::string, Row> rows(10'000, {.after_write = 5min});
//
// * A *ticker* is the clock: any callable answering nanoseconds (std::uint64_t) from a
//   fixed origin, never going back. `steady_ticker` reads std::chrono::steady_clock
//   (the default); `coarse_ticker` (Linux) reads CLOCK_MONOTONIC_COARSE, cheaper at a
//   resolution of milliseconds; `fake_ticker` moves only when told (tests; the simulator's trace time). Copies of a
//   fake_ticker share one time.
// * Per cache: `after_write` (a put, an assignment, a compute or a refresh sets the
//   deadline to now + after_write), `after_access` (every read moves it to
//   now + after_access, capped by the write deadline when both are set); either may be
//   left at `never`.
// * Per entry: an `EntryExpiry` object with any of (as Caffeine's `Expiry`)
//     duration after_create(const K&, const V&, std::uint64_t now);
//     duration after_update(const K&, const V&, std::uint64_t now, duration remaining);
//     duration after_read  (const K&, const V&, std::uint64_t now, duration remaining);
//   answers the entry's time to live at insert, update and read; a member it lacks
//   falls back to the per-cache settings (after_read: keep the deadline). `never` means
//   no expiry; a duration ≤ 0 expires the entry at once. `ttl_by(f)` builds one from
//   `f(key, value) → duration` used at insert and update.
// * `refresh_after_write`: a read of an entry written at least that long ago returns
//   the cached value at once and reloads it in the background (see cache.hpp,
//   set_refresher).
//
// An entry whose deadline is ≤ now is expired: never returned, and removed (reported to
// the listeners as `removal_cause::expired`) at the start of the next operation, before
// anything else the operation does — in particular before any eviction is asked of the
// policy. The wheel does this in O(1) amortised per entry, without scanning the cache.
#pragma once

#include <time.h>

#include <atomic>
#include <chrono>
#include <concepts>
#include <cstdint>
#include <limits>
#include <memory>
#include <utility>

namespace prescient {

using duration = std::chrono::nanoseconds;

/// No expiry: a duration that never ends.
inline constexpr duration never = duration::max();

/// Reads std::chrono::steady_clock, in nanoseconds.
struct steady_ticker {
  [[nodiscard]] std::uint64_t operator()() const noexcept {
    return static_cast<std::uint64_t>(
        std::chrono::duration_cast<duration>(std::chrono::steady_clock::now().time_since_epoch()).count());
  }
};

#if defined(CLOCK_MONOTONIC_COARSE)
/// CLOCK_MONOTONIC_COARSE (Linux): a few ns per read instead of a few tens, at the
/// kernel tick's resolution (1–4 ms): deadlines are kept to that precision.
struct coarse_ticker {
  [[nodiscard]] std::uint64_t operator()() const noexcept {
    timespec t{};
    clock_gettime(CLOCK_MONOTONIC_COARSE, &t);
    return static_cast<std::uint64_t>(t.tv_sec) * 1'000'000'000u + static_cast<std::uint64_t>(t.tv_nsec);
  }
};
#endif

/// A clock that moves only when told: for tests, and for replaying a trace's own time.
/// Copies share one time (a shared atomic), so a test keeps one and gives the cache a copy.
class fake_ticker {
 public:
  explicit fake_ticker(std::uint64_t start = 0) : now_(std::make_shared<std::atomic<std::uint64_t>>(start)) {}
  [[nodiscard]] std::uint64_t operator()() const noexcept { return now_->load(std::memory_order_relaxed); }
  void advance(duration d) noexcept { now_->fetch_add(static_cast<std::uint64_t>(d.count()), std::memory_order_relaxed); }
  void set(std::uint64_t now) noexcept { now_->store(now, std::memory_order_relaxed); }

 private:
  std::shared_ptr<std::atomic<std::uint64_t>> now_;
};

template <class T>
concept ticker = std::copy_constructible<T> && requires(const T& t) {
  { t() } -> std::convertible_to<std::uint64_t>;
};

/// No per-entry expiry: the per-cache settings decide.
struct no_entry_expiry {};

/// The hooks an EntryExpiry may have (each detected on its own).
template <class E, class K, class V>
concept has_after_create = requires(E& e, const K& k, const V& v, std::uint64_t now) {
  { e.after_create(k, v, now) } -> std::convertible_to<duration>;
};
template <class E, class K, class V>
concept has_after_update = requires(E& e, const K& k, const V& v, std::uint64_t now, duration d) {
  { e.after_update(k, v, now, d) } -> std::convertible_to<duration>;
};
template <class E, class K, class V>
concept has_after_read = requires(E& e, const K& k, const V& v, std::uint64_t now, duration d) {
  { e.after_read(k, v, now, d) } -> std::convertible_to<duration>;
};

/// An EntryExpiry from `f(key, value) → duration`, applied at insert and at update.
template <class F>
struct ttl_by_function {
  F f;
  template <class K, class V>
  duration after_create(const K& k, const V& v, std::uint64_t) { return duration(f(k, v)); }
  template <class K, class V>
  duration after_update(const K& k, const V& v, std::uint64_t, duration) { return duration(f(k, v)); }
};
template <class F>
[[nodiscard]] ttl_by_function<F> ttl_by(F f) { return {std::move(f)}; }

/// `cache`'s default: no time at all.
struct no_expiry {
  struct options {};
};

/// `cache`'s time parameter for expiry and refresh; see the header comment.
template <ticker Ticker = steady_ticker, class EntryExpiry = no_entry_expiry>
struct expiring {
  using ticker_type = Ticker;
  using entry_expiry_type = EntryExpiry;
  struct options {
    duration after_write = never;          ///< deadline = last write + this
    duration after_access = never;         ///< deadline = last read or write + this
    duration refresh_after_write = never;  ///< a read this long after the write reloads in the background
    Ticker ticker{};
    EntryExpiry entry{};
  };
};

template <class T>
inline constexpr bool is_expiring_v = false;
template <class T, class E>
inline constexpr bool is_expiring_v<expiring<T, E>> = true;

namespace detail {
/// now + d, saturated; `never` (or an overflow) gives the maximum (not scheduled).
[[nodiscard]] constexpr std::uint64_t deadline_after(std::uint64_t now, duration d) noexcept {
  if (d == never) return std::numeric_limits<std::uint64_t>::max();
  if (d.count() <= 0) return now;
  const auto n = static_cast<std::uint64_t>(d.count());
  return n >= std::numeric_limits<std::uint64_t>::max() - now ? std::numeric_limits<std::uint64_t>::max() : now + n;
}
/// What is left of a deadline at `now`, as a duration (never for the maximum).
[[nodiscard]] constexpr duration remaining(std::uint64_t deadline, std::uint64_t now) noexcept {
  if (deadline == std::numeric_limits<std::uint64_t>::max()) return never;
  if (deadline <= now) return duration(0);
  const std::uint64_t left = deadline - now;
  return left >= static_cast<std::uint64_t>(never.count()) ? never : duration(static_cast<std::int64_t>(left));
}
}  // namespace detail

}  // namespace prescient
