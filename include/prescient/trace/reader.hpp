// prescient/trace/reader.hpp — stream the requests of a recorded trace.
//
//   auto r = prescient::trace::open("lirs-loop.trace.gz", "lines");
//   std::array<prescient::trace::request, 4096> batch;
//   while (std::size_t n = r.read(batch)) { for (auto& q : std::span(batch).first(n)) ... }
//
// Requests come in batches: one virtual call per batch, a tight non-virtual parse loop
// inside (memcpy + byte swap for binary records, std::from_chars for text), so the per-
// request cost is a few nanoseconds plus decompression. Memory is constant: a fixed
// read buffer (and the decoder's window), whatever the trace length.
//
// Invariants:
//   - read() returns 0 only at the end of the trace, and keeps returning 0 after it.
//   - Every malformed record throws trace::error naming the file and the line (text) or
//     byte offset (binary); nothing is skipped silently. After a throw the reader is
//     spent: later read() calls throw the same error again.
//   - A moved-from reader may only be destroyed or assigned to.
//   - A binary format refuses a stream that starts as text (looks_like_text below): a
//     record can hold any bytes, so a text file read as records would otherwise decode
//     into keys without an error.
//   - `next_access` is filled only by oracle-general (provides_next_access() == true);
//     use annotate_next_access (next_access.hpp) otherwise.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "prescient/trace/byte_source.hpp"
#include "prescient/trace/error.hpp"
#include "prescient/trace/format.hpp"
#include "prescient/trace/request.hpp"

namespace prescient::trace {

/// The format called `name` ("i32be", "oracle-general", ...); throws trace::error listing
/// the known names otherwise.
[[nodiscard]] format parse_format(std::string_view name);

class reader {
 public:
  class impl;  // one parser per format, in src/trace/reader.cpp

  explicit reader(std::unique_ptr<impl> p) noexcept;
  reader(reader&&) noexcept;
  reader& operator=(reader&&) noexcept;
  ~reader();

  /// Decodes up to out.size() requests into out; returns how many (0: end of trace).
  std::size_t read(std::span<request> out);

  [[nodiscard]] trace::format format() const noexcept;
  [[nodiscard]] const std::filesystem::path& path() const noexcept;
  /// True when the format records next_access (oracle-general); otherwise every
  /// request's next_access is -1 meaning "unknown".
  [[nodiscard]] bool provides_next_access() const noexcept;
  /// Requests returned so far.
  [[nodiscard]] std::uint64_t position() const noexcept;

 private:
  std::unique_ptr<impl> impl_;
};

/// Opens the trace at `path` (plain, xz, gzip or zstd). Throws trace::error if the file
/// cannot be opened, the format is unknown, or a compressed stream is corrupt.
[[nodiscard]] reader open(const std::filesystem::path& path, trace::format f, const format_options& opts = {});
[[nodiscard]] reader open(const std::filesystem::path& path, std::string_view format_name,
                          const format_options& opts = {});
/// Reads from any byte source (e.g. open_bytes over memory).
[[nodiscard]] reader open(std::unique_ptr<byte_source> bytes, trace::format f, const format_options& opts = {});

/// How much of a stream's start the binary formats look at before reading records.
inline constexpr std::size_t text_probe_bytes = 4096;

/// Whether `start`, a stream's first text_probe_bytes (or all of it, if shorter), reads
/// as text: every byte printable ASCII, a tab or a line break, and a line break among
/// them. Of real records that is as good as impossible — 4-byte keys below 2^24 carry a
/// zero byte, and so do oracleGeneral's sizes and times — so the binary readers refuse
/// such a stream at offset 0.
[[nodiscard]] bool looks_like_text(std::span<const char> start) noexcept;

inline constexpr std::size_t unlimited = std::numeric_limits<std::size_t>::max();

/// Decodes the whole trace (or its first `limit` requests) into memory, for replay.
[[nodiscard]] std::vector<request> load(const std::filesystem::path& path, std::string_view format_name,
                                        const format_options& opts = {}, std::size_t limit = unlimited);
[[nodiscard]] std::vector<request> load(reader& r, std::size_t limit = unlimited);

}  // namespace prescient::trace
