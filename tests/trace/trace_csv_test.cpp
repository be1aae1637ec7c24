// The csv format and its options: columns, delimiter, header, quoting, hashed keys.
// Round trip: requests written out as csv under each option set read back unchanged.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "prescient/trace/reader.hpp"

namespace {

namespace trace = prescient::trace;
namespace fs = std::filesystem;

class trace_csv : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("prescient-trace-csv-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::vector<trace::request> read(const std::string& text, const trace::format_options& o) {
    const fs::path p = dir_ / "t.csv";
    std::ofstream(p, std::ios::binary) << text;
    return trace::load(p, "csv", o);
  }

  fs::path dir_;
};

std::vector<trace::request> sample() {
  std::vector<trace::request> v;
  for (std::uint64_t i = 0; i < 500; ++i) {
    v.push_back({.key = (i * 7919) % 211, .size = 1 + i * 13, .time = 1'000'000 + i});
  }
  v[17].key = static_cast<std::uint64_t>(std::int64_t{-5});  // negative keys survive
  v[18].key = UINT64_MAX;
  return v;
}

// Writes v as csv with the key, size and time at the given columns, padding columns
// in between with text that must be ignored.
std::string write_csv(const std::vector<trace::request>& v, const trace::format_options& o, bool crlf) {
  std::string out;
  const std::size_t width = std::max({o.key_column, o.size_column.value_or(0), o.time_column.value_or(0)}) + 2;
  if (o.has_header) {
    for (std::size_t c = 0; c < width; ++c) out += (c ? std::string(1, o.delimiter) : "") + "col" + std::to_string(c);
    out += crlf ? "\r\n" : "\n";
  }
  for (const auto& r : v) {
    for (std::size_t c = 0; c < width; ++c) {
      if (c) out += o.delimiter;
      if (c == o.key_column) {
        // Negative keys as written by a signed producer; UINT64_MAX as an unsigned one.
        out += static_cast<std::int64_t>(r.key) < 0 && r.key != UINT64_MAX
                   ? std::to_string(static_cast<std::int64_t>(r.key))
                   : std::to_string(r.key);
      } else if (o.size_column && c == *o.size_column) {
        out += std::to_string(r.size);
      } else if (o.time_column && c == *o.time_column) {
        out += std::to_string(r.time);
      } else {
        out += "x y";
      }
    }
    out += crlf ? "\r\n" : "\n";
  }
  return out;
}

TEST_F(trace_csv, round_trip_over_options) {
  const trace::format_options cases[] = {
      {},
      {.key_column = 2, .size_column = 0, .time_column = 4, .delimiter = ',', .has_header = true},
      {.key_column = 1, .size_column = 3, .delimiter = ';'},
      {.key_column = 0, .time_column = 1, .delimiter = '\t', .has_header = true},
      {.key_column = 3, .size_column = 1, .time_column = 2, .delimiter = '|'},
  };
  for (const auto& o : cases) {
    for (bool crlf : {false, true}) {
      SCOPED_TRACE(std::string("delimiter '") + o.delimiter + "' key " + std::to_string(o.key_column) +
                   (crlf ? " crlf" : ""));
      auto expected = sample();
      for (auto& r : expected) {
        if (!o.size_column) r.size = 1;
        if (!o.time_column) r.time = 0;
      }
      EXPECT_EQ(read(write_csv(sample(), o, crlf), o), expected);
    }
  }
}

TEST_F(trace_csv, spaces_quotes_and_extra_columns) {
  const auto v = read("key,size,name\n 1 , 10 ,\"a, b\"\n\"2\",\"20\",z\n\n3,30\n",
                      {.size_column = 1, .has_header = true});
  ASSERT_EQ(v.size(), 3u);
  EXPECT_EQ(v[0], (trace::request{.key = 1, .size = 10}));
  EXPECT_EQ(v[1], (trace::request{.key = 2, .size = 20}));
  EXPECT_EQ(v[2], (trace::request{.key = 3, .size = 30}));
}

TEST_F(trace_csv, quoted_field_may_hold_the_delimiter) {
  const auto v = read("\"a,b\",7\n", {.key_column = 1});
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].key, 7u);
}

TEST_F(trace_csv, header_is_only_the_first_line) {
  EXPECT_THROW(read("1\nkey\n", {}), trace::error) << "without has_header a header is a bad key";
  EXPECT_EQ(read("\nkey\n5\n", {.has_header = true}).size(), 1u);
}

TEST_F(trace_csv, hashed_keys) {
  const auto v = read("obj-a,1\nobj-b,1\n\"obj-a\",2\n", {.size_column = 1, .hash_keys = true});
  ASSERT_EQ(v.size(), 3u);
  EXPECT_EQ(v[0].key, v[2].key) << "the same text, quoted or not, is the same key";
  EXPECT_NE(v[0].key, v[1].key);
  EXPECT_EQ(v[2].size, 2u);
  EXPECT_THROW(read("a\n\"\"\n", {.hash_keys = true}), trace::error) << "an empty key is missing, not hashed";
}

TEST_F(trace_csv, space_delimiter_keeps_empty_fields) {
  // With ' ' as the delimiter two spaces make an empty column, as in any csv reader.
  const auto v = read("1  5\n", {.key_column = 0, .size_column = 2, .delimiter = ' '});
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].size, 5u);
}

TEST_F(trace_csv, unterminated_quote) {
  try {
    (void)read("1,\"abc\n", {.size_column = 1});
    FAIL();
  } catch (const trace::error& e) {
    EXPECT_EQ(e.line(), 1u);
    EXPECT_NE(std::string(e.what()).find("unterminated quoted field in column 1"), std::string::npos) << e.what();
  }
}

}  // namespace
