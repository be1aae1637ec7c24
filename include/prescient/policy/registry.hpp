// prescient/policy/registry.hpp — every policy by name, and parameter strings.
//
// Like libCacheSim's registry, a policy is named by a string ("s3fifo") and tuned by one
// parameter string ("small=0.2,ghost=0.9"), so a command line or a configuration file
// reaches every knob without new flags. Unlike it, the lookup yields a *type*:
// `visit_policy("lru", f)` calls `f.template operator()<policy::lru>()`, so a tool
// instantiates its hot loop once per policy and pays no virtual call per request.
//
// A policy's config accepts parameters when it has a member
//   bool set(std::string_view key, std::string_view value);
// returning false for a key it does not know, and throwing config_error for a known
// key's unusable value (detail::set_param names the key, the value and what it expected).
#pragma once

#include <array>
#include <string>
#include <string_view>
#include <optional>
#include <type_traits>
#include <vector>

#include "prescient/policy/any_policy.hpp"
#include "prescient/policy/arc.hpp"
#include "prescient/policy/belady.hpp"
#include "prescient/policy/fifo.hpp"
#include "prescient/policy/lfu.hpp"
#include "prescient/policy/lru.hpp"
#include "prescient/policy/s3fifo.hpp"
#include "prescient/policy/sieve.hpp"
#include "prescient/policy/wtinylfu.hpp"

namespace prescient::policy {

template <class... Ps>
struct type_list {};

/// The policies a name can select, in the order tools list them.
using registered_policies = type_list<lru, fifo, lfu, arc, s3fifo, sieve, wtinylfu, belady>;

namespace detail {
template <class... Ps, class F>
void for_each_type(type_list<Ps...>, F&& f) {
  (f.template operator()<Ps>(), ...);
}
}  // namespace detail

/// The registered names, in order.
[[nodiscard]] inline std::vector<std::string_view> policy_names() {
  std::vector<std::string_view> names;
  detail::for_each_type(registered_policies{}, [&]<class P>() { names.push_back(P::name); });
  return names;
}

/// Calls `f.template operator()<P>()` for the policy named `name`; returns its result.
/// Throws config_error for an unknown name.
template <class F>
decltype(auto) visit_policy(std::string_view name, F&& f) {
  using result = decltype(f.template operator()<lru>());
  if constexpr (std::is_void_v<result>) {
    bool found = false;
    detail::for_each_type(registered_policies{}, [&]<class P>() {
      if (!found && P::name == name) {
        f.template operator()<P>();
        found = true;
      }
    });
    if (!found) throw config_error("unknown policy '" + std::string(name) + "'");
  } else {
    std::optional<result> out;
    detail::for_each_type(registered_policies{}, [&]<class P>() {
      if (!out && P::name == name) out.emplace(f.template operator()<P>());
    });
    if (!out) throw config_error("unknown policy '" + std::string(name) + "'");
    return result(std::move(*out));
  }
}

/// Builds P's config from "key=value,key=value". Throws config_error, naming the policy,
/// on a malformed pair, an unknown key, a value the key cannot take, or any parameter for
/// a policy that takes none.
template <class P>
typename P::config parse_config(std::string_view params) {
  typename P::config cfg{};
  while (!params.empty()) {
    const auto comma = params.find(',');
    const std::string_view pair = params.substr(0, comma);
    params = comma == std::string_view::npos ? std::string_view{} : params.substr(comma + 1);
    if (pair.empty()) continue;
    const auto eq = pair.find('=');
    if (eq == std::string_view::npos || eq == 0)
      throw config_error("policy " + std::string(P::name) + ": expected key=value, got '" + std::string(pair) + "'");
    const auto key = pair.substr(0, eq);
    const auto value = pair.substr(eq + 1);
    if constexpr (requires { cfg.set(key, value); }) {
      bool known = false;
      try {
        known = cfg.set(key, value);
      } catch (const config_error& e) {
        throw config_error("policy " + std::string(P::name) + ": " + e.what());
      }
      if (!known) throw config_error("policy " + std::string(P::name) + " has no parameter '" + std::string(key) + "'");
    } else {
      throw config_error("policy " + std::string(P::name) + " takes no parameters (got '" + std::string(key) + "')");
    }
  }
  return cfg;
}

inline any_policy::any_policy(std::uint64_t capacity, config cfg) {
  impl_ = visit_policy(cfg.name, [&]<class P>() -> std::unique_ptr<concept_t> {
    return std::make_unique<model<P>>(P(capacity, parse_config<P>(cfg.params)));
  });
}

}  // namespace prescient::policy
