// Every real trace the tests know decodes, with its format, to exactly the request and
// unique-key counts recorded for it (data/traces/SOURCES.md, docs/traces.md). A trace
// that is not on the search path (tools/support/trace_path.hpp) is skipped, named.
#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <filesystem>
#include <ostream>
#include <string>
#include <unordered_set>

#include "prescient/trace/reader.hpp"
#include "test_support.hpp"

namespace {

namespace trace = prescient::trace;

struct expected_trace {
  const char* file;
  const char* format;
  std::uint64_t requests;
  std::uint64_t unique_keys;
  bool has_sizes;

  friend std::ostream& operator<<(std::ostream& os, const expected_trace& t) { return os << t.file; }
};

// The counts of data/traces/SOURCES.md and docs/traces.md.
constexpr expected_trace traces[] = {
    {"cache2k-orm-busy.trace.xz", "i32be", 5'000'000, 76'349, false},
    {"cache2k-web07.trace.xz", "i32be", 76'118, 20'484, false},
    {"cache2k-web12.trace.xz", "i32be", 95'607, 13'756, false},
    {"corda-vaultservice.trace.gz", "i64be", 135'702, 90'468, false},
    {"adaptsize-request.trace.xz", "time-key-size", 66'987, 36'815, true},
    {"cloudphysics-io.oracleGeneral.bin.xz", "oracle-general", 113'872, 48'974, true},
    {"lirs-2_pools.trace.gz", "lines", 100'000, 9'939, false},
    {"lirs-cpp.trace.gz", "lines", 9'047, 1'223, false},
    {"lirs-cs.trace.gz", "lines", 6'781, 1'409, false},
    {"lirs-gli.trace.gz", "lines", 6'015, 2'529, false},
    {"lirs-loop.trace.gz", "lines", 505'500, 1'011, false},
    {"lirs-multi1.trace.gz", "lines", 15'858, 2'606, false},
    {"lirs-multi2.trace.gz", "lines", 26'311, 5'684, false},
    {"lirs-multi3.trace.gz", "lines", 30'241, 7'454, false},
    {"lirs-ps.trace.gz", "lines", 10'448, 3'083, false},
    {"lirs-sprite.trace.gz", "lines", 133'996, 7'075, false},
};

class real_trace : public ::testing::TestWithParam<expected_trace> {};

// Streams the trace in batches (constant memory, as the 5M-request orm-busy needs) and
// counts unique keys with a hash set.
TEST_P(real_trace, matches_sources_md) {
  const expected_trace& t = GetParam();
  PRESCIENT_TRACE_OR_SKIP(path, t.file);
  trace::reader r = trace::open(path, t.format);
  std::array<trace::request, 8192> batch;
  std::unordered_set<std::uint64_t> keys;
  keys.reserve(t.unique_keys * 2);
  std::uint64_t count = 0;
  bool any_size_not_one = false;
  while (const std::size_t n = r.read(batch)) {
    for (std::size_t i = 0; i < n; ++i) {
      keys.insert(batch[i].key);
      any_size_not_one |= batch[i].size != 1;
    }
    count += n;
  }
  EXPECT_EQ(count, t.requests);
  EXPECT_EQ(keys.size(), t.unique_keys);
  EXPECT_EQ(r.position(), t.requests);
  EXPECT_EQ(any_size_not_one, t.has_sizes);
  EXPECT_EQ(r.read(batch), 0u) << "read() keeps returning 0 at the end";
}

INSTANTIATE_TEST_SUITE_P(shared_traces, real_trace, ::testing::ValuesIn(traces),
                         [](const auto& info) {
                           std::string name = info.param.file;
                           name = name.substr(0, name.find('.'));
                           for (char& c : name) {
                             if (c == '-') c = '_';
                           }
                           return name;
                         });

// First records, checked by hand against `xzcat | head` and `xxd`.
TEST(real_trace_content, adaptsize_fields_in_order) {
  PRESCIENT_TRACE_OR_SKIP(path, "adaptsize-request.trace.xz");
  auto v = trace::load(path, "time-key-size", {}, 3);
  ASSERT_EQ(v.size(), 3u);
  EXPECT_EQ(v[0], (trace::request{.key = 0, .size = 68, .time = 1}));
  EXPECT_EQ(v[1], (trace::request{.key = 1, .size = 7454, .time = 2}));
  EXPECT_EQ(v[2], (trace::request{.key = 2, .size = 40773, .time = 3}));
}

TEST(real_trace_content, cloudphysics_little_endian_records) {
  PRESCIENT_TRACE_OR_SKIP(path, "cloudphysics-io.oracleGeneral.bin.xz");
  trace::reader r = trace::open(path, "oracle-general");
  EXPECT_TRUE(r.provides_next_access());
  auto v = trace::load(r, 2);
  ASSERT_EQ(v.size(), 2u);
  // 6af75500 091a8f02 00000000 00020000 ffffffffffffffff
  EXPECT_EQ(v[0].time, 0x0055f76au);
  EXPECT_EQ(v[0].key, 0x028f1a09u);
  EXPECT_EQ(v[0].size, 512u);
  EXPECT_EQ(v[0].next_access, trace::never);
  EXPECT_EQ(v[1].key, 0x028f1a0au);
}

TEST(real_trace_content, lirs_loop_crlf_lines) {
  PRESCIENT_TRACE_OR_SKIP(path, "lirs-loop.trace.gz");
  auto v = trace::load(path, "lines", {}, 3);
  ASSERT_EQ(v.size(), 3u);
  EXPECT_EQ(v[0].key, 0u);
  EXPECT_EQ(v[2].key, 2u);
  EXPECT_EQ(v[2].size, 1u);
}

TEST(real_trace_content, limit_stops_early) {
  PRESCIENT_TRACE_OR_SKIP(path, "cache2k-web07.trace.xz");
  auto v = trace::load(path, "i32be", {}, 1000);
  EXPECT_EQ(v.size(), 1000u);
  auto all = trace::load(path, "i32be");
  ASSERT_EQ(all.size(), 76'118u);
  EXPECT_TRUE(std::equal(v.begin(), v.end(), all.begin()));
}

}  // namespace
