// libFuzzer target: the binary trace formats (i32be, u32be, i64be, oracle-general).
//
// Input layout: byte 0 picks the format, byte 1 the source (see fuzz_common.hpp), byte
// 2 the batch size; the rest is the trace. Beyond "no crash", it checks that a plain
// input yields exactly size / record_size requests, and fails only when bytes are left
// over, when it starts as text (trace::looks_like_text), or, for oracle-general, on a bad
// next_access_vtime.
#include <cstddef>
#include <algorithm>
#include <cstdint>

#include "fuzz_common.hpp"

namespace trace = prescient::trace;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 3) return 0;
  static constexpr trace::format formats[] = {trace::format::i32be, trace::format::u32be, trace::format::i64be,
                                              trace::format::oracle_general};
  static constexpr std::size_t record_size[] = {4, 4, 8, 24};
  const std::size_t which = data[0] & 3;
  const std::uint8_t source = data[1] % 17;
  const std::size_t batch = data[2] % 64 + 1;
  const std::span<const char> bytes(reinterpret_cast<const char*>(data) + 3, size - 3);

  try {
    auto src = prescient::fuzz::make_source(bytes, source);
    const bool plain = src->compression() == "plain";
    trace::reader r = trace::open(std::move(src), formats[which]);
    const std::int64_t n = prescient::fuzz::drain(r, batch);
    if (plain) {
      const std::size_t rec = record_size[which];
      const bool whole = bytes.size() % rec == 0;
      if (n >= 0 && (!whole || static_cast<std::size_t>(n) != bytes.size() / rec)) __builtin_trap();
      const bool text = trace::looks_like_text(bytes.first(std::min(bytes.size(), trace::text_probe_bytes)));
      if (n >= 0 && text) __builtin_trap();
      if (n < 0 && whole && !text && formats[which] != trace::format::oracle_general) __builtin_trap();
    }
  } catch (const trace::error&) {
  }
  return 0;
}
