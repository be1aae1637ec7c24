// prescient/policy/detail/param_value.hpp — parse one value of a policy parameter string.
//
// Policies' configs accept "key=value" pairs through `bool set(key, value)` (see
// registry.hpp): `set` returns false for a key it does not know, and throws
// `config_error` for a known key whose value cannot be used — naming the key, the value
// and what it expected, so that "candidates=0" is not reported as an unknown parameter.
// `set_param` does both in one line per key. Values are parsed strictly: the whole
// string must be a number or a boolean, and a floating-point value must be finite (no
// parameter means anything by "inf" or "nan", and an infinite ratio or factor would
// reach a conversion to an integer, which is undefined).
#pragma once

#include <charconv>
#include <cmath>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>

#include "prescient/policy/config_error.hpp"

namespace prescient::policy::detail {

/// Parses the whole of `v` into `out`; false (and `out` unchanged) if it is not a number
/// of T's type and range, or not finite.
template <class T>
bool parse_value(std::string_view v, T& out) {
  T x{};
  const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), x);
  if (ec != std::errc{} || end != v.data() + v.size()) return false;
  if constexpr (std::is_floating_point_v<T>) {
    if (!std::isfinite(x)) return false;
  }
  out = x;
  return true;
}

/// 1, true, on, yes / 0, false, off, no.
inline bool parse_value(std::string_view v, bool& out) {
  if (v == "1" || v == "true" || v == "on" || v == "yes") return out = true, true;
  if (v == "0" || v == "false" || v == "off" || v == "no") return out = false, true;
  return false;
}

/// The error of a known parameter's unusable value: "parameter 'candidates' = '0':
/// expected a whole number from 1 to 256".
[[nodiscard]] inline config_error bad_value(std::string_view key, std::string_view value, std::string_view expected) {
  return config_error("parameter '" + std::string(key) + "' = '" + std::string(value) + "': expected " +
                      std::string(expected));
}

/// Sets `out` from `value` if it parses and `valid(parsed)` holds; otherwise throws
/// bad_value (and leaves `out` unchanged). Returns true, for `return set_param(…)`.
template <class T, class Valid>
bool set_param(std::string_view key, std::string_view value, T& out, Valid&& valid, std::string_view expected) {
  T x{};
  if (!parse_value(value, x) || !valid(x)) throw bad_value(key, value, expected);
  out = x;
  return true;
}

/// Any value of T's type (for integers: in T's range).
template <class T>
bool set_param(std::string_view key, std::string_view value, T& out, std::string_view expected) {
  return set_param(key, value, out, [](const T&) { return true; }, expected);
}

/// A flag (see parse_value's bool overload for the words it takes).
inline bool set_param(std::string_view key, std::string_view value, bool& out) {
  return set_param(key, value, out, "true or false (or 1/0, on/off, yes/no)");
}

}  // namespace prescient::policy::detail
