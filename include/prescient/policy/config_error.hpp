// prescient/policy/config_error.hpp — the error a policy name, parameter string or
// configuration that cannot be used throws (any_policy.hpp, registry.hpp, the policies'
// `config::set`, the learned policy's construction).
#pragma once

#include <stdexcept>

namespace prescient::policy {

/// A policy name, parameter or configuration that cannot be used.
class config_error : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

}  // namespace prescient::policy
