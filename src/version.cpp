#include "prescient/version.hpp"

namespace prescient {

std::string_view library_version() noexcept { return header_version; }

}  // namespace prescient
