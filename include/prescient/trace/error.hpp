// prescient/trace/error.hpp — the one error type of the trace readers.
//
// Every failure while opening or decoding a trace (missing file, unknown format name,
// corrupt compressed stream, a bad record) throws `prescient::trace::error`. It carries
// where it happened so a user can open the file at the right place:
//   - `path()`   the trace file (empty when no file is involved, e.g. parse_format);
//   - `line()`   1-based line number for text formats, 0 when not applicable;
//   - `offset()` byte offset for binary formats — in the decompressed stream for a bad
//                record, in the compressed file for a corrupt compressed stream — or
//                `no_offset` when not applicable.
// `what()` already names all of them: "path:line: message" or
// "path: byte offset N: message". Readers never skip a bad record silently.
#pragma once

#include <cstdint>
#include <filesystem>
#include <limits>
#include <stdexcept>
#include <string>
#include <string_view>

namespace prescient::trace {

class error : public std::runtime_error {
 public:
  static constexpr std::uint64_t no_offset = std::numeric_limits<std::uint64_t>::max();

  /// An error about the file as a whole (cannot open, unknown format, ...).
  error(std::filesystem::path path, std::string_view message)
      : std::runtime_error(compose(path, 0, no_offset, message)), path_(std::move(path)) {}

  /// An error at a line (text formats, 1-based) or at a byte offset (binary formats).
  static error at_line(std::filesystem::path path, std::uint64_t line, std::string_view message) {
    return error(std::move(path), line, no_offset, message);
  }
  static error at_offset(std::filesystem::path path, std::uint64_t offset, std::string_view message) {
    return error(std::move(path), 0, offset, message);
  }

  [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }
  [[nodiscard]] std::uint64_t line() const noexcept { return line_; }
  [[nodiscard]] std::uint64_t offset() const noexcept { return offset_; }

 private:
  error(std::filesystem::path path, std::uint64_t line, std::uint64_t offset, std::string_view message)
      : std::runtime_error(compose(path, line, offset, message)),
        path_(std::move(path)),
        line_(line),
        offset_(offset) {}

  static std::string compose(const std::filesystem::path& path, std::uint64_t line, std::uint64_t offset,
                             std::string_view message) {
    std::string s = path.empty() ? std::string("trace") : path.string();
    if (line != 0) {
      s += ':';
      s += std::to_string(line);
    }
    if (offset != no_offset) {
      s += ": byte offset ";
      s += std::to_string(offset);
    }
    s += ": ";
    s += message;
    return s;
  }

  std::filesystem::path path_;
  std::uint64_t line_ = 0;
  std::uint64_t offset_ = no_offset;
};

}  // namespace prescient::trace
