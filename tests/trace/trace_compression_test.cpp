// Transparent decompression: plain, gzip, xz and zstd copies of one fixture decode to the
// same requests; detection goes by magic bytes; concatenated streams are whole; the
// same bytes from memory decode the same; batch size does not change the result.
#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "prescient/trace/reader.hpp"

namespace {

namespace trace = prescient::trace;

const std::filesystem::path data_dir = std::filesystem::path(PRESCIENT_TEST_DATA_DIR) / "trace";

std::vector<trace::request> load(const char* name) { return trace::load(data_dir / name, "lines"); }

TEST(trace_compression, plain_fixture_as_documented) {
  auto v = load("keys.txt");
  ASSERT_EQ(v.size(), 1000u);
  EXPECT_EQ(v[0].key, 0u);
  EXPECT_EQ(v[1].key, 37u);
  EXPECT_EQ(static_cast<std::int64_t>(v[38].key), -4) << "negative keys are sign-extended";
  EXPECT_EQ(v[999].key, (999u * 37u) % 100u) << "the last line has no newline";
}

TEST(trace_compression, every_codec_decodes_the_same) {
  const auto plain = load("keys.txt");
  for (const char* name : {"keys.txt.gz", "keys.txt.xz", "keys.txt.zst", "keys-gzip-content.xz"}) {
    SCOPED_TRACE(name);
    EXPECT_EQ(load(name), plain);
  }
}

TEST(trace_compression, names_the_codec_it_detected) {
  EXPECT_EQ(trace::open_bytes(data_dir / "keys.txt")->compression(), "plain");
  EXPECT_EQ(trace::open_bytes(data_dir / "keys.txt.gz")->compression(), "gzip");
  EXPECT_EQ(trace::open_bytes(data_dir / "keys.txt.xz")->compression(), "xz");
  EXPECT_EQ(trace::open_bytes(data_dir / "keys.txt.zst")->compression(), "zstd");
  EXPECT_EQ(trace::open_bytes(data_dir / "keys-gzip-content.xz")->compression(), "gzip");
}

TEST(trace_compression, concatenated_streams_are_read_whole) {
  auto plain = load("keys.txt");
  // keys.txt has no final newline, so the copies join "...63" + "0..." into one line.
  std::vector<trace::request> twice = trace::load(data_dir / "keys-twice.txt.gz", "lines");
  ASSERT_EQ(twice.size(), 1999u);
  for (const char* name : {"keys-twice.txt.xz", "keys-twice.txt.zst"}) {
    SCOPED_TRACE(name);
    EXPECT_EQ(trace::load(data_dir / name, "lines"), twice);
  }
  EXPECT_EQ(twice[999].key, 630u);
  EXPECT_EQ(twice[1998].key, plain[999].key);
}

TEST(trace_compression, memory_source_matches_file) {
  for (const char* name : {"keys.txt", "keys.txt.gz", "keys.txt.xz", "keys.txt.zst"}) {
    SCOPED_TRACE(name);
    std::ifstream in(data_dir / name, std::ios::binary);
    const std::string bytes{std::istreambuf_iterator<char>(in), {}};
    trace::reader r = trace::open(trace::open_bytes(std::span(bytes.data(), bytes.size()), name), trace::format::lines);
    EXPECT_EQ(trace::load(r), load("keys.txt"));
  }
}

TEST(trace_compression, batch_size_does_not_matter) {
  const auto whole = load("keys.txt.xz");
  for (std::size_t batch : {1u, 3u, 7u, 1000u, 5000u}) {
    trace::reader r = trace::open(data_dir / "keys.txt.xz", "lines");
    std::vector<trace::request> got, buf(batch);
    while (std::size_t n = r.read(buf)) got.insert(got.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n));
    EXPECT_EQ(got, whole) << "batch " << batch;
    EXPECT_EQ(r.read(buf), 0u);
  }
}

TEST(trace_compression, empty_file_is_an_empty_trace) {
  const std::string empty;
  trace::reader r = trace::open(trace::open_bytes(std::span(empty.data(), 0)), trace::format::i32be);
  EXPECT_TRUE(trace::load(r).empty());
}

}  // namespace
