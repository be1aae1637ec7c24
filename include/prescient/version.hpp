// prescient/version.hpp — the library's version, for logs and model metadata.
#pragma once

#include <string_view>

namespace prescient {

inline constexpr int version_major = 0;
inline constexpr int version_minor = 1;
inline constexpr int version_patch = 0;

/// The version of the compiled library (src/), which may differ from the headers'
/// if a host mixes installs; the two are compared by `check_version`.
[[nodiscard]] std::string_view library_version() noexcept;
inline constexpr std::string_view header_version = "0.1.0";

}  // namespace prescient
