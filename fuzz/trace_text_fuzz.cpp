// libFuzzer target: the text trace formats (lines, time-key-size, csv).
//
// Input layout: byte 0 picks the format and csv options, byte 1 the source (see
// fuzz_common.hpp), byte 2 the batch size; the rest is the trace.
#include <cstddef>
#include <cstdint>

#include "fuzz_common.hpp"

namespace trace = prescient::trace;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 3) return 0;
  const std::uint8_t opt = data[0];
  const std::uint8_t source = data[1] % 17;  // 0: open_bytes; 1..16: trickle step
  const std::size_t batch = data[2] % 64 + 1;
  const std::span<const char> bytes(reinterpret_cast<const char*>(data) + 3, size - 3);

  static constexpr trace::format formats[] = {trace::format::lines, trace::format::time_key_size,
                                              trace::format::csv, trace::format::csv};
  static constexpr char delimiters[] = {',', ';', '\t', ' '};
  const trace::format f = formats[opt & 3];
  trace::format_options o;
  o.key_column = (opt >> 2) & 1;
  if (opt & 8) o.size_column = (opt >> 4) & 1 ? 2 : 1;
  if (opt & 32) o.time_column = 0;
  o.delimiter = delimiters[(opt >> 6) & 3];
  o.has_header = (data[2] & 64) != 0;
  o.hash_keys = (data[2] & 128) != 0;

  try {
    trace::reader r = trace::open(prescient::fuzz::make_source(bytes, source), f, o);
    (void)prescient::fuzz::drain(r, batch);
  } catch (const trace::error&) {
    // open() itself may refuse (corrupt compressed header): a clean error is fine.
  }
  return 0;
}
