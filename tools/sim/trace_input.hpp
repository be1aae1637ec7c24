// prescient/sim/trace_input.hpp — a trace the simulator reads from the start, once or
// twice.
//
// A file is simply reopened for a second pass. The standard input (`--trace -`) can be
// read only once: when two passes are asked for, its bytes (compressed as they came)
// are first copied to an anonymous temporary file (tmpfile(3): deleted when closed;
// disk, not memory) and each pass reads that copy. With one pass the standard input is
// streamed as it comes. Errors name the trace "<stdin>".
#pragma once

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "prescient/trace/format.hpp"
#include "prescient/trace/reader.hpp"

namespace prescient::sim {

class trace_input {
 public:
  trace_input(std::string path, std::string_view format, const trace::format_options& opts, unsigned passes)
      : path_(std::move(path)), format_(trace::parse_format(format)), opts_(opts) {
    if (path_ == "-" && passes > 1) spool_stdin();
  }
  trace_input(const trace_input&) = delete;
  trace_input& operator=(const trace_input&) = delete;
  ~trace_input() {
    if (spool_ != nullptr) std::fclose(spool_);
  }

  /// A reader at the trace's first request.
  [[nodiscard]] trace::reader open() {
    if (path_ != "-") return trace::open(path_, format_, opts_);
    if (spool_ == nullptr) return trace::open(trace::open_descriptor(STDIN_FILENO, "<stdin>"), format_, opts_);
    if (::lseek(::fileno(spool_), 0, SEEK_SET) != 0)
      throw std::runtime_error(std::string("<stdin>: cannot rewind its copy: ") + std::strerror(errno));
    return trace::open(trace::open_descriptor(::fileno(spool_), "<stdin>"), format_, opts_);
  }

  [[nodiscard]] trace::format format() const noexcept { return format_; }
  /// The format records each request's next access (oracle-general).
  [[nodiscard]] bool provides_next_access() const noexcept { return format_ == trace::format::oracle_general; }

  /// The number of requests, when the file says it without being read: a plain (not
  /// compressed) file of fixed-size binary records. Used for the progress bar only.
  [[nodiscard]] std::optional<std::uint64_t> known_requests() const {
    const std::size_t record = record_size();
    if (record == 0 || path_ == "-") return std::nullopt;
    std::FILE* f = std::fopen(path_.c_str(), "rb");
    if (f == nullptr) return std::nullopt;
    unsigned char magic[2] = {0, 0};
    const std::size_t got = std::fread(magic, 1, 2, f);
    struct stat st {};
    const bool ok = ::fstat(::fileno(f), &st) == 0 && S_ISREG(st.st_mode);
    std::fclose(f);
    // xz, gzip and zstd all start with one of these bytes; a plain trace may too, and
    // then simply gets no estimate.
    if (!ok || (got == 2 && (magic[0] == 0xFD || magic[0] == 0x1F || magic[0] == 0x28))) return std::nullopt;
    return static_cast<std::uint64_t>(st.st_size) / record;
  }

 private:
  [[nodiscard]] std::size_t record_size() const noexcept {
    switch (format_) {
      case trace::format::i32be:
      case trace::format::u32be: return 4;
      case trace::format::i64be: return 8;
      case trace::format::oracle_general: return 24;
      default: return 0;
    }
  }

  void spool_stdin() {
    spool_ = std::tmpfile();
    if (spool_ == nullptr)
      throw std::runtime_error(std::string("<stdin>: cannot create a temporary copy: ") + std::strerror(errno));
    std::vector<char> buf(std::size_t{1} << 20);
    while (true) {
      const ssize_t k = ::read(STDIN_FILENO, buf.data(), buf.size());
      if (k < 0 && errno == EINTR) continue;
      if (k < 0) throw std::runtime_error(std::string("<stdin>: read error: ") + std::strerror(errno));
      if (k == 0) break;
      if (std::fwrite(buf.data(), 1, static_cast<std::size_t>(k), spool_) != static_cast<std::size_t>(k))
        throw std::runtime_error(std::string("<stdin>: cannot write its temporary copy: ") + std::strerror(errno));
    }
    if (std::fflush(spool_) != 0)
      throw std::runtime_error(std::string("<stdin>: cannot write its temporary copy: ") + std::strerror(errno));
  }

  std::string path_;
  trace::format format_;
  trace::format_options opts_;
  std::FILE* spool_ = nullptr;
};

}  // namespace prescient::sim
