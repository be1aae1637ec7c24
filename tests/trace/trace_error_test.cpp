// Every kind of bad input throws prescient::trace::error whose message names the file and
// the line (text) or byte offset (binary); nothing is skipped, nothing crashes.
#include <gtest/gtest.h>
#include <unistd.h>

#include <array>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include "prescient/trace/reader.hpp"

namespace {

namespace trace = prescient::trace;
namespace fs = std::filesystem;

const fs::path data_dir = fs::path(PRESCIENT_TEST_DATA_DIR) / "trace";

class trace_error : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() /
           ("prescient-trace-error-" + std::to_string(::getpid()) + "-" + info->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path write(std::string_view name, std::string_view bytes) {
    const fs::path p = dir_ / name;
    std::ofstream(p, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    return p;
  }

  // Reads the whole trace, expecting an error; returns it.
  static trace::error fail(const fs::path& p, std::string_view format, const trace::format_options& o = {}) {
    try {
      trace::reader r = trace::open(p, format, o);
      std::array<trace::request, 3> batch;  // small batches: errors surface mid-stream too
      while (r.read(batch) != 0) {
      }
    } catch (const trace::error& e) {
      return e;
    }
    ADD_FAILURE() << "no error for " << p;
    return trace::error(p, "none");
  }

  static void expect_line(const trace::error& e, const fs::path& p, std::uint64_t line, std::string_view words) {
    const std::string what = e.what();
    EXPECT_EQ(e.path(), p);
    EXPECT_EQ(e.line(), line);
    EXPECT_NE(what.find(p.string() + ":" + std::to_string(line) + ":"), std::string::npos) << what;
    EXPECT_NE(what.find(words), std::string::npos) << what;
  }
  static void expect_offset(const trace::error& e, const fs::path& p, std::uint64_t offset, std::string_view words) {
    const std::string what = e.what();
    EXPECT_EQ(e.path(), p);
    EXPECT_EQ(e.offset(), offset);
    EXPECT_NE(what.find(p.string() + ": byte offset " + std::to_string(offset)), std::string::npos) << what;
    EXPECT_NE(what.find(words), std::string::npos) << what;
  }

  fs::path dir_;
};

TEST_F(trace_error, non_numeric_key) {
  const auto p = write("a.txt", "1\n2\n*\nabc\n4\n");
  expect_line(fail(p, "lines"), p, 4, "non-numeric key: \"abc\"");
}

TEST_F(trace_error, non_numeric_key_after_many_batches_keeps_line_count) {
  std::string text;
  for (int i = 0; i < 100'000; ++i) text += std::to_string(i) + "\r\n";
  text += "0x10\r\n";
  const auto p = write("a.txt", text);
  expect_line(fail(p, "lines"), p, 100'001, "trailing garbage after key \"0\": \"x10\"");
}

TEST_F(trace_error, trailing_garbage) {
  const auto p = write("a.txt", "12\n13 14\n");
  expect_line(fail(p, "lines"), p, 2, "trailing garbage after key \"13\"");
  const auto q = write("b.txt", "1 2 3\n4 5 6 7\n");
  expect_line(fail(q, "time-key-size"), q, 2, "trailing garbage after `time key size`: \"7\"");
  const auto c = write("c.csv", "1,2\n3x,4\n");
  expect_line(fail(c, "csv"), c, 2, "trailing garbage after key \"3\": \"x\"");
}

TEST_F(trace_error, missing_column) {
  const auto p = write("a.txt", "1 2 3\n\n4 5\n");
  expect_line(fail(p, "time-key-size"), p, 3, "missing column: expected `time key size`, no size");
  const auto c = write("c.csv", "k,s\n1,2\n3\n");
  expect_line(fail(c, "csv", {.size_column = 1, .has_header = true}), c, 3, "missing column 1");
  const auto e = write("e.csv", "1,\n");
  expect_line(fail(e, "csv", {.size_column = 1}), e, 1, "missing size (empty field)");
}

TEST_F(trace_error, bad_size_and_time) {
  const auto p = write("a.txt", "1 2 -3\n");
  expect_line(fail(p, "time-key-size"), p, 1, "non-numeric size: \"-3\"");
  const auto q = write("b.txt", "t 2 3\n");
  expect_line(fail(q, "time-key-size"), q, 1, "non-numeric time: \"t\"");
  const auto r = write("c.txt", "99999999999999999999999\n");
  expect_line(fail(r, "lines"), r, 1, "key out of range");
}

TEST_F(trace_error, truncated_binary_record) {
  const auto p = write("a.bin", std::string("\x00\x00\x00\x01\x00\x00\x00", 7));
  expect_offset(fail(p, "i32be"), p, 4, "truncated last record: 3 byte(s) left, a i32be record is 4 bytes");
  const auto q = write("b.bin", std::string(24, '\xff') + std::string(10, '\0'));  // vtime -1: valid
  expect_offset(fail(q, "oracle-general"), q, 24, "a oracle-general record is 24 bytes");
  const auto r = write("c.bin", std::string(8 * 100'000 + 1, '\x7f'));
  expect_offset(fail(r, "i64be"), r, 800'000, "truncated last record: 1 byte(s) left");
}

TEST_F(trace_error, text_read_as_binary_records) {
  // Eight bytes of digits and line breaks would decode into two i32be keys without a
  // word: every binary format refuses a stream that starts as text.
  const auto p = write("keys.txt", "1234\n567\n");
  for (const char* f : {"i32be", "u32be", "i64be"})
    expect_offset(fail(p, f), p, 0, std::string("this looks like text, not ") + f + " records: its first 9 bytes");
  std::string lines;  // longer than the probe: its first 4 KiB decide
  for (int i = 0; lines.size() < 10'000; ++i) lines += std::to_string(i) + ",7\r\n";
  const auto q = write("keys.csv", lines);
  expect_offset(fail(q, "oracle-general"), q, 0, "its first 4096 bytes are printable characters and line breaks");
  // Records whose bytes happen to be printable are read, unless a line break is among them.
  const auto r = write("printable.bin", "ABCDEFGH");
  trace::reader reader = trace::open(r, "u32be");
  std::array<trace::request, 4> batch;
  ASSERT_EQ(reader.read(batch), 2u);
  EXPECT_EQ(batch[0].key, 0x41424344u);
  EXPECT_FALSE(trace::looks_like_text({})) << "an empty stream is no text: it reads as no records";
  // A record stream with a zero byte early is not text, however printable the rest.
  const auto s = write("mostly.bin", std::string("\0\0\0\x01", 4) + "12\n4");
  trace::reader records = trace::open(s, "i32be");
  ASSERT_EQ(records.read(batch), 2u);
  EXPECT_EQ(batch[0].key, 1u);
}

// One oracleGeneral record, little-endian (the host of these tests is little-endian).
std::string oracle_record(std::uint32_t time, std::uint64_t key, std::uint32_t size, std::int64_t next) {
  std::string r(24, '\0');
  std::memcpy(r.data(), &time, 4);
  std::memcpy(r.data() + 4, &key, 8);
  std::memcpy(r.data() + 12, &size, 4);
  std::memcpy(r.data() + 16, &next, 8);
  return r;
}

TEST_F(trace_error, oracle_general_vtime_pointing_backwards) {
  // vtimes count from 1: request 1 (vtime 2) pointing at vtime 2 points at itself.
  const auto p = write("a.bin", oracle_record(1, 7, 1, 3) + oracle_record(2, 8, 1, 2) + oracle_record(3, 7, 1, -1));
  expect_offset(fail(p, "oracle-general"), p, 24, "next_access_vtime 2 of request 1 does not point to a later");
  const auto q = write("b.bin", oracle_record(1, 7, 1, 0));
  expect_offset(fail(q, "oracle-general"), q, 0, "next_access_vtime 0 of request 0");
}

TEST_F(trace_error, corrupt_compressed_stream) {
  for (const char* name : {"corrupt.txt.gz", "corrupt.txt.xz", "corrupt.txt.zst"}) {
    SCOPED_TRACE(name);
    const auto p = data_dir / name;
    const trace::error e = fail(p, "lines");
    const std::string what = e.what();
    EXPECT_EQ(e.path(), p);
    EXPECT_NE(e.offset(), trace::error::no_offset);
    EXPECT_NE(what.find(p.string() + ": byte offset "), std::string::npos) << what;
    EXPECT_NE(what.find("corrupt"), std::string::npos) << what;
  }
}

TEST_F(trace_error, truncated_compressed_stream) {
  for (const char* name : {"truncated.txt.gz", "truncated.txt.xz", "truncated.txt.zst"}) {
    SCOPED_TRACE(name);
    const auto p = data_dir / name;
    const trace::error e = fail(p, "lines");
    const std::string what = e.what();
    EXPECT_EQ(e.offset(), fs::file_size(p)) << what;  // the decoder ran off the end
    EXPECT_NE(what.find(p.string() + ": byte offset "), std::string::npos) << what;
    EXPECT_NE(what.find("truncated"), std::string::npos) << what;
  }
}

TEST_F(trace_error, missing_file) {
  const auto p = dir_ / "no-such.trace.xz";
  try {
    (void)trace::open(p, "i32be");
    FAIL() << "no error";
  } catch (const trace::error& e) {
    EXPECT_EQ(e.path(), p);
    EXPECT_EQ(std::string(e.what()), p.string() + ": cannot open: No such file or directory");
  }
  EXPECT_THROW((void)trace::open(dir_, "i32be"), trace::error) << "a directory is not a trace";
}

TEST_F(trace_error, unknown_format_name) {
  const auto p = write("a.txt", "1\n");
  try {
    (void)trace::open(p, "i32le");
    FAIL() << "no error";
  } catch (const trace::error& e) {
    const std::string what = e.what();
    EXPECT_EQ(e.path(), p);
    EXPECT_NE(what.find(p.string() + ": unknown trace format \"i32le\""), std::string::npos) << what;
    EXPECT_NE(what.find("oracle-general"), std::string::npos) << "lists the known names: " << what;
  }
  EXPECT_THROW((void)trace::parse_format("I32BE"), trace::error);
  EXPECT_EQ(trace::parse_format("time-key-size"), trace::format::time_key_size);
  for (trace::format f : trace::all_formats) EXPECT_EQ(trace::parse_format(trace::to_string(f)), f);
}

TEST_F(trace_error, reader_is_spent_after_an_error) {
  const auto p = write("a.txt", "1\nx\n3\n");
  trace::reader r = trace::open(p, "lines");
  std::array<trace::request, 1> one;
  EXPECT_EQ(r.read(one), 1u);
  EXPECT_THROW(r.read(one), trace::error);
  EXPECT_THROW(r.read(one), trace::error) << "never resumes past the bad line";
}

TEST_F(trace_error, binary_read_as_text_is_an_error_not_a_hang) {
  // 1 MiB without a newline: the line buffer grows, then the key fails to parse.
  const auto p = write("a.txt", std::string(1 << 20, '\x01'));
  expect_line(fail(p, "lines"), p, 1, "non-numeric key");
}

TEST_F(trace_error, bad_csv_options) {
  const auto p = write("a.csv", "1\n");
  EXPECT_THROW((void)trace::open(p, "csv", {.delimiter = '"'}), trace::error);
}

}  // namespace
