// tools/support/cli.hpp — what prescient-sim and prescient-train share on the command line.
//
// Both parse with CLI11 (the help is generated from the option definitions); this adds
// what CLI11 2.1 does not do, the same way for both tools:
//   - `run_parser`: --help on stdout and exit 0; --version ("TOOL VERSION") on stdout and
//     exit 0; every usage error as one line on stderr and exit 2 (`usage_exit`);
//   - an unknown option names the closest known one ("unknown option --szes; did you
//     mean --sizes?"), by edit distance over the app's option names;
//   - `whole_number` / `share` validators with the tools' own messages;
//   - `--trace -`: the standard input, compression still detected by magic bytes.
// Not installed.
#pragma once

#include <CLI/CLI.hpp>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "prescient/trace/byte_source.hpp"
#include "prescient/trace/reader.hpp"
#include "prescient/version.hpp"

namespace prescient::tools::cli {

/// The exit code of every usage error (an unknown option, a bad value, a missing flag).
inline constexpr int usage_exit = 2;

/// A usage error found after parsing (a rule between options); run_parser reports it.
struct usage_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// Optimal string alignment distance: insertions, deletions, substitutions and swaps of
/// two neighbours each cost 1 ("--szes" → "--sizes": 1, "--prefetch-bugdet": 1).
[[nodiscard]] inline std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
  for (std::size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (std::size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i)
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  return d[a.size()][b.size()];
}

/// The app's option name nearest to `typed` ("--szes" → "--sizes"), if one is near enough:
/// at most 1 + a quarter of the typed name's letters (dashes not counted) apart.
[[nodiscard]] inline std::optional<std::string> closest_option(const CLI::App& app, std::string_view typed) {
  std::vector<std::string> names;
  for (const CLI::Option* opt : app.get_options()) {
    for (const auto& l : opt->get_lnames()) names.push_back("--" + l);
    for (const auto& s : opt->get_snames()) names.push_back("-" + s);
  }
  const std::size_t letters = typed.size() - std::min(typed.size(), typed.find_first_not_of('-'));
  const std::size_t limit = 1 + letters / 4;
  std::optional<std::string> best;
  std::size_t best_distance = limit + 1;
  for (const auto& n : names)
    if (const std::size_t d = edit_distance(typed, n); d < best_distance) {
      best_distance = d;
      best = n;
    }
  return best;
}

/// What CLI11 could not place (allow_extras): an unknown option, with the closest known
/// one, or a stray value.
inline void reject_extras(const CLI::App& app) {
  const auto extras = app.remaining();
  if (extras.empty()) return;
  const std::string& first = extras.front();
  if (first.size() > 1 && first[0] == '-') {
    const std::string typed = first.substr(0, first.find('='));
    std::string msg = "unknown option " + typed;
    if (const auto near = closest_option(app, typed)) msg += "; did you mean " + *near + "?";
    throw usage_error(msg);
  }
  throw usage_error("unexpected argument '" + first + "'");
}

/// A validator: the text is a whole number that fits T (no sign, no exponent, no suffix).
template <class T>
[[nodiscard]] CLI::Validator whole_number() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        T v{};
        const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
        if (text.empty() || ec != std::errc() || end != text.data() + text.size())
          return ec == std::errc::result_out_of_range ? "'" + text + "' is too large"
                                                      : "needs a whole number, got '" + text + "'";
        return {};
      },
      "");
}

/// A validator: a number in (0, 1] (`open_low`) or [0, 1].
[[nodiscard]] inline CLI::Validator share(bool open_low, std::string what) {
  return CLI::Validator(
      [open_low, what](std::string& text) -> std::string {
        char* end = nullptr;
        const double v = std::strtod(text.c_str(), &end);
        const bool ok = !text.empty() && end == text.c_str() + text.size() && (open_low ? v > 0 : v >= 0) && v <= 1;
        return ok ? std::string() : "wants " + what + " in " + (open_low ? "(0, 1]" : "[0, 1]") + ", got '" + text + "'";
      },
      "");
}

/// The usage line and CLI11's generated option list, with the tool's own usage line.
class formatter : public CLI::Formatter {
 public:
  explicit formatter(std::string usage) : usage_(std::move(usage)) { column_width(30); }
  std::string make_usage(const CLI::App*, std::string) const override { return "\nusage: " + usage_ + "\n\n"; }
  // CLI11 2.1 starts every group with a blank line and also puts one between groups:
  // one blank line is enough (the usage line ends with it).
  std::string make_group(std::string group, bool is_positional, std::vector<const CLI::Option*> opts) const override {
    std::string out = CLI::Formatter::make_group(std::move(group), is_positional, std::move(opts));
    return out.starts_with('\n') ? out.substr(1) : out;
  }

 private:
  std::string usage_;
};

/// Sets up --help, --version and the error handling shared by the tools.
inline void prepare(CLI::App& app, std::string_view tool, std::string usage) {
  app.formatter(std::make_shared<formatter>(std::move(usage)));
  app.set_help_flag("-h,--help", "print this help and exit");
  app.set_version_flag("--version", std::string(tool) + " " + std::string(prescient::library_version()),
                       "print the tool and library version and exit");
  app.allow_extras();  // unknown options are reported by reject_extras, with a suggestion
  // A flag given twice keeps its last value, as before CLI11; lists opt into TakeAll.
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
}

/// "TOOL: MESSAGE (see TOOL --help)", one line on stderr.
inline void report_usage_error(std::string_view tool, const char* message) {
  std::fprintf(stderr, "%.*s: %s (see %.*s --help)\n", static_cast<int>(tool.size()), tool.data(), message,
               static_cast<int>(tool.size()), tool.data());
}

/// Parses, then runs `validate` (rules between options; throws usage_error). Returns the
/// exit code when the program should stop (help, version: 0; usage error: 2), or nothing.
template <class Validate>
[[nodiscard]] std::optional<int> run_parser(CLI::App& app, int argc, char** argv, std::string_view tool,
                                            Validate&& validate) {
  try {
    app.parse(argc, argv);
    reject_extras(app);
    validate();
    return std::nullopt;
  } catch (const CLI::CallForHelp&) {
    std::fputs(app.help().c_str(), stdout);
    return 0;
  } catch (const CLI::CallForVersion& e) {
    std::printf("%s\n", e.what());
    return 0;
  } catch (const CLI::ParseError& e) {
    report_usage_error(tool, e.what());
  } catch (const usage_error& e) {
    report_usage_error(tool, e.what());
  }
  return usage_exit;
}

/// `--trace -` means the standard input.
[[nodiscard]] inline bool is_stdin(std::string_view path) { return path == "-"; }

/// How messages name a trace: "<stdin>" for `-`, else its path.
[[nodiscard]] inline std::string shown_path(const std::string& path) { return is_stdin(path) ? "<stdin>" : path; }

/// The name a trace goes by in tables and JSON: "<stdin>" for `-`, else the file's name.
[[nodiscard]] inline std::string trace_name(const std::string& path) {
  return is_stdin(path) ? "<stdin>" : std::filesystem::path(path).filename().string();
}

/// Decodes a trace (or its first `limit` requests) into memory, like trace::load; `-` is
/// the standard input, its compression detected by magic bytes as for a file. Streamed
/// through /dev/stdin where that opens (constant memory; a --limit stops reading early);
/// otherwise read whole into memory first.
[[nodiscard]] inline std::vector<trace::request> load_trace(const std::string& path, std::string_view format,
                                                            const trace::format_options& opts, std::size_t limit) {
  if (!is_stdin(path)) return trace::load(path, format, opts, limit);
  const trace::format f = trace::parse_format(format);
  if (std::FILE* probe = std::fopen("/dev/stdin", "rb")) {
    std::fclose(probe);  // reopening a pipe or a file is harmless; the reader opens its own
    trace::reader r = trace::open(std::filesystem::path("/dev/stdin"), f, opts);
    return trace::load(r, limit);
  }
  constexpr std::size_t chunk = std::size_t{1} << 20;
  std::vector<char> bytes;
  std::size_t got = 0;
  do {
    const std::size_t used = bytes.size();
    bytes.resize(used + chunk);
    got = std::fread(bytes.data() + used, 1, chunk, stdin);
    bytes.resize(used + got);
  } while (got == chunk);
  if (std::ferror(stdin)) throw std::runtime_error("<stdin>: read error");
  trace::reader r = trace::open(trace::open_bytes(std::span<const char>(bytes), "<stdin>"), f, opts);
  return trace::load(r, limit);
}

}  // namespace prescient::tools::cli
