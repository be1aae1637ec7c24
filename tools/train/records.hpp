// tools/train/records.hpp — the two binary record formats of prescient-train's map and
// reduce (docs/distributed-training.md), little-endian, no header, fixed size:
//
//   request record (24 bytes; `--split-to` writes them, `--format partition` reads them):
//     u64 position   the request's position: in its file (written by --split-to), or in
//                    the whole log (read by --format partition: strictly increasing)
//     u64 key        the trace's key (signed keys sign-extended, as trace::request)
//     u64 size       the recorded size (1 when the format has none)
//
//   row record (24 + 4 × F bytes, F = learn::feature_count, 12 today: 72; `--rows-out`):
//     u64 time       position in the whole log of the sampled request the row belongs to
//     u64 key        the key the row describes
//     f32 label      log1p(requests to the key's next request), censored at the window
//     u8  reused     1 when the key is requested again within the horizon
//     u8  kind       0: the requested key, 1: the drawn candidate (the eviction question)
//     u16 reserved   0
//     f32 x[F]       the features, learn/features.hpp's columns in order (NaN: missing)
//
// numpy reads them as np.dtype([("position", "<u8"), ("key", "<u8"), ("size", "<u8")]) and
// np.dtype([("time", "<u8"), ("key", "<u8"), ("label", "<f4"), ("reused", "u1"),
// ("kind", "u1"), ("reserved", "<u2"), ("x", "<f4", (F,))]); prescient-train prints F
// ("... rows x F features").
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "prescient/learn/dataset.hpp"

namespace prescient::tools::records {

static_assert(std::endian::native == std::endian::little, "the record formats are written as the host's bytes");

inline constexpr std::size_t request_bytes = 24;
inline constexpr std::size_t row_bytes = 24 + 4 * learn::feature_count;

inline void put_request(char* out, std::uint64_t position, std::uint64_t key, std::uint64_t size) noexcept {
  std::memcpy(out, &position, 8);
  std::memcpy(out + 8, &key, 8);
  std::memcpy(out + 16, &size, 8);
}

struct request_record {
  std::uint64_t position = 0, key = 0, size = 0;
};

[[nodiscard]] inline request_record get_request(const char* in) noexcept {
  request_record r;
  std::memcpy(&r.position, in, 8);
  std::memcpy(&r.key, in + 8, 8);
  std::memcpy(&r.size, in + 16, 8);
  return r;
}

inline void put_row(char* out, const learn::dataset_row& row) noexcept {
  std::memcpy(out, &row.time, 8);
  std::memcpy(out + 8, &row.key, 8);
  std::memcpy(out + 16, &row.label, 4);
  out[20] = static_cast<char>(row.reused);
  out[21] = static_cast<char>(row.kind);
  out[22] = out[23] = 0;
  std::memcpy(out + 24, row.features.data(), 4 * learn::feature_count);
}

}  // namespace prescient::tools::records
