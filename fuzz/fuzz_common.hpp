// fuzz/fuzz_common.hpp — what both trace fuzzers share: how the input's first bytes pick
// the byte source, and the loop that drains a reader while checking its invariants.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>

#include "prescient/trace/reader.hpp"

namespace prescient::fuzz {

// Hands out at most `step` bytes per read, plain (no decompression): lines and records
// then straddle many refills of the reader's buffer, which one big read never does.
class trickle_source final : public trace::byte_source {
 public:
  trickle_source(std::span<const char> data, std::size_t step) : data_(data), step_(step) {}
  std::size_t read(std::span<char> out) override {
    const std::size_t k = std::min({out.size(), data_.size(), step_});
    if (k != 0) std::memcpy(out.data(), data_.data(), k);
    data_ = data_.subspan(k);
    return k;
  }
  [[nodiscard]] const std::filesystem::path& path() const noexcept override { return path_; }
  [[nodiscard]] std::string_view compression() const noexcept override { return "plain"; }

 private:
  std::span<const char> data_;
  std::size_t step_;
  std::filesystem::path path_ = "<fuzz>";
};

// selector: 0 = open_bytes (magic detection, decompression), else trickle by `selector` bytes.
inline std::unique_ptr<trace::byte_source> make_source(std::span<const char> data, std::uint8_t selector) {
  if (selector == 0) return trace::open_bytes(data, "<fuzz>");
  return std::make_unique<trickle_source>(data, selector);
}

// Drains r in batches of `batch` (1..64) requests. Returns the count, or -1 after a
// trace::error (which must then be sticky). Any other exception escapes: a finding.
inline std::int64_t drain(trace::reader& r, std::size_t batch) {
  std::array<trace::request, 64> buf;
  const std::span<trace::request> out = std::span(buf).first(std::clamp<std::size_t>(batch, 1, buf.size()));
  std::int64_t count = 0;
  try {
    while (const std::size_t n = r.read(out)) {
      if (n > out.size()) __builtin_trap();
      count += static_cast<std::int64_t>(n);
    }
  } catch (const trace::error& e) {
    if (std::strlen(e.what()) == 0) __builtin_trap();
    try {
      (void)r.read(out);
      __builtin_trap();  // a reader must stay spent after an error
    } catch (const trace::error&) {
    }
    return -1;
  }
  if (r.position() != static_cast<std::uint64_t>(count)) __builtin_trap();
  if (r.read(out) != 0) __builtin_trap();  // end is sticky
  return count;
}

}  // namespace prescient::fuzz
