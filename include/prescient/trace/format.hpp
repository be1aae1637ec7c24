// prescient/trace/format.hpp — the trace formats the readers understand, by name.
//
//   name            kind    record
//   i32be           binary  one big-endian int32 key (sign-extended to 64 bits); cache2k
//   u32be           binary  one big-endian uint32 key
//   i64be           binary  one big-endian int64 key; corda
//   oracle-general  binary  24 bytes little-endian: uint32 time, uint64 key, uint32 size,
//                           int64 next_access_vtime; libCacheSim's "oracleGeneral". The
//                           vtime is the 1-based position of the key's next request (-1 or
//                           INT64_MAX: never); the reader stores it 0-based in
//                           request::next_access, like annotate_next_access, and rejects a
//                           vtime that does not point after its own request
//   lines           text    one integer key a line; `*` (LIRS checkpoint) and blank lines
//                           are not requests
//   time-key-size   text    `time key size`, separated by spaces or tabs; AdaptSize
//   csv             text    delimited columns chosen by `format_options`
//
// Text formats: lines end in LF or CRLF; the last line may lack its newline; blank lines
// are skipped (they are not requests); spaces and tabs around a number are tolerated;
// anything else that is not a number where one is expected is an error. Keys may be
// negative (sign-extended, see request.hpp); sizes and times are unsigned.
// Every format may come plain or compressed with xz, gzip or zstd (detected by magic).
#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <string_view>

namespace prescient::trace {

enum class format { i32be, u32be, i64be, oracle_general, lines, time_key_size, csv };

inline constexpr std::array<format, 7> all_formats{format::i32be,          format::u32be, format::i64be,
                                                   format::oracle_general, format::lines, format::time_key_size,
                                                   format::csv};

/// The format's name as used on command lines ("oracle-general", not "oracle_general").
[[nodiscard]] constexpr std::string_view to_string(format f) noexcept {
  switch (f) {
    case format::i32be: return "i32be";
    case format::u32be: return "u32be";
    case format::i64be: return "i64be";
    case format::oracle_general: return "oracle-general";
    case format::lines: return "lines";
    case format::time_key_size: return "time-key-size";
    case format::csv: return "csv";
  }
  return "?";
}

[[nodiscard]] constexpr bool is_binary(format f) noexcept {
  return f == format::i32be || f == format::u32be || f == format::i64be || f == format::oracle_general;
}

/// The format called `name`, or nullopt. `parse_format` (reader.hpp) throws instead.
[[nodiscard]] constexpr std::optional<format> find_format(std::string_view name) noexcept {
  for (format f : all_formats) {
    if (to_string(f) == name) return f;
  }
  return std::nullopt;
}

/// Options of the csv format (the other formats ignore them). Columns are 0-based.
struct format_options {
  std::size_t key_column = 0;                 ///< the key; an integer unless hash_keys
  std::optional<std::size_t> size_column{};   ///< object size in bytes; none: size = 1
  std::optional<std::size_t> time_column{};   ///< integer timestamp; none: time = 0
  char delimiter = ',';                       ///< field separator (',' ';' '\t' ' ' ...)
  bool has_header = false;                    ///< skip the first non-blank line
  /// Hash the key field's text (FNV-1a, 64 bits) instead of parsing an integer, for
  /// traces whose keys are names or hex digests. Off by default: a non-numeric key is
  /// then an error, never a silent collision.
  bool hash_keys = false;
};

}  // namespace prescient::trace
