// tools/support/trace_path.hpp — where the tests, benchmarks and examples find a trace.
//
// One search path for every program of the repository that reads a named trace:
//   1. the folders in the environment variable PRESCIENT_TRACES (':'-separated), then
//   2. the folders compiled in as PRESCIENT_TRACE_PATH (the CMake cache variable of the
//      same name, a list, compiled in ':'-separated: by default the folders of
//      PRESCIENT_TRACES at configure time, then the repository's data/traces).
// Not installed: a host names its own files.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#ifndef PRESCIENT_TRACE_PATH
#define PRESCIENT_TRACE_PATH ""
#endif

namespace prescient::tools {

/// The folders searched, in order.
[[nodiscard]] inline std::vector<std::filesystem::path> trace_search_path() {
  std::vector<std::filesystem::path> dirs;
  auto split = [&](std::string_view list, char sep) {
    while (!list.empty()) {
      const auto cut = list.find(sep);
      const auto item = list.substr(0, cut);
      if (!item.empty()) dirs.emplace_back(std::string(item));
      if (cut == std::string_view::npos) break;
      list.remove_prefix(cut + 1);
    }
  };
  if (const char* env = std::getenv("PRESCIENT_TRACES")) split(env, ':');
  split(PRESCIENT_TRACE_PATH, ':');
  return dirs;
}

/// The first existing `dir/name` on the search path, or nothing.
[[nodiscard]] inline std::optional<std::filesystem::path> find_trace(std::string_view name) {
  for (const auto& dir : trace_search_path()) {
    std::error_code ec;
    auto p = dir / std::string(name);
    if (std::filesystem::is_regular_file(p, ec)) return p;
  }
  return std::nullopt;
}

/// Where a trace that is not shipped with the repository comes from (for skip messages).
[[nodiscard]] inline std::string_view trace_origin(std::string_view name) {
  if (name.starts_with("cache2k-")) return "cache2k traces, CC BY 4.0 (shipped in data/traces)";
  if (name.starts_with("lirs-")) return "the LIRS traces (Jiang & Zhang, SIGMETRICS 2002), bundled in Caffeine's simulator";
  if (name.starts_with("corda-")) return "Corda's vault service trace, bundled in Caffeine's simulator";
  if (name.starts_with("adaptsize-")) return "AdaptSize's request trace, bundled in Caffeine's simulator";
  if (name.starts_with("cloudphysics-")) return "libCacheSim's sample CloudPhysics trace (data/cloudPhysicsIO.oracleGeneral.bin)";
  return "see docs/traces.md";
}

/// "NAME not found in DIR, DIR (origin: ...; set PRESCIENT_TRACES to a folder holding it)".
[[nodiscard]] inline std::string missing_trace_message(std::string_view name) {
  std::string m = std::string(name) + " not found in";
  const auto dirs = trace_search_path();
  if (dirs.empty()) m += " (no folder configured)";
  for (std::size_t i = 0; i < dirs.size(); ++i) m += (i ? ", " : " ") + dirs[i].string();
  m += " (origin: ";
  m += trace_origin(name);
  m += "; set PRESCIENT_TRACES to a folder holding it, see docs/traces.md)";
  return m;
}

}  // namespace prescient::tools
