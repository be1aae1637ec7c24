// prescient/trace/byte_source.hpp — a file's bytes, decompressed on the fly.
//
// Traces are kept compressed (xz, gzip, zstd) and can be far larger than memory, so the
// readers pull bytes through a `byte_source` into their own fixed buffer: memory stays
// constant whatever the trace length. `open_bytes` looks at the first bytes (magic
// numbers, not the file's extension) and stacks the right decoder on the raw file:
//   xz    FD 37 7A 58 5A 00   liblzma, concatenated streams accepted
//   gzip  1F 8B               zlib, concatenated members accepted
//   zstd  28 B5 2F FD         libzstd, concatenated frames accepted
//   else                      the bytes as they are
// A corrupt or truncated compressed stream throws `trace::error` with the offset in the
// compressed file where the decoder stopped. The xz decoder is capped at 256 MiB of
// memory (xz -9 needs 65 MiB) so a hostile header cannot make us allocate without bound.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string_view>

namespace prescient::trace {

class byte_source {
 public:
  virtual ~byte_source() = default;
  /// Fills a prefix of `out`; returns how many bytes, 0 only at the end of the data.
  virtual std::size_t read(std::span<char> out) = 0;
  /// The name the errors carry.
  [[nodiscard]] virtual const std::filesystem::path& path() const noexcept = 0;
  /// "xz", "gzip", "zstd" or "plain".
  [[nodiscard]] virtual std::string_view compression() const noexcept = 0;
};

/// The decompressed bytes of the file at `path`. Throws trace::error if it cannot be opened.
[[nodiscard]] std::unique_ptr<byte_source> open_bytes(const std::filesystem::path& path);

/// The same over an open file descriptor (a pipe, the standard input, a spooled copy),
/// read from its current offset with read(2); the descriptor is not closed. `name` is
/// what errors report as the path.
[[nodiscard]] std::unique_ptr<byte_source> open_descriptor(int fd, std::filesystem::path name);

/// The same over bytes already in memory (tests, fuzzers). `data` must outlive the source;
/// `name` is what errors report as the path.
[[nodiscard]] std::unique_ptr<byte_source> open_bytes(std::span<const char> data,
                                                      std::filesystem::path name = "<memory>");

}  // namespace prescient::trace
