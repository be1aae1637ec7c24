// prescient/policy/detail/param_value.hpp — parse one value of a policy parameter string.
//
// Policies' configs accept "key=value" pairs through `bool set(key, value)` (see
// registry.hpp). These helpers parse the value strictly (the whole string must be a
// number or a boolean) and report failure by returning false, so `set` stays a
// one-liner per key and the registry names the offending key in its error.
#pragma once

#include <charconv>
#include <string_view>
#include <system_error>

namespace prescient::policy::detail {

template <class T>
bool parse_value(std::string_view v, T& out) {
  T x{};
  const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), x);
  if (ec != std::errc{} || end != v.data() + v.size()) return false;
  out = x;
  return true;
}

inline bool parse_value(std::string_view v, bool& out) {
  if (v == "1" || v == "true" || v == "on" || v == "yes") return out = true, true;
  if (v == "0" || v == "false" || v == "off" || v == "no") return out = false, true;
  return false;
}

}  // namespace prescient::policy::detail
