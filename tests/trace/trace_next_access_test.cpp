// annotate_next_access: the backward pass that labels each request with the position of
// its key's next request. On the cloudphysics trace it must agree, request by request,
// with the next_access_vtime that libCacheSim recorded in the oracleGeneral file.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <filesystem>
#include <vector>

#include "prescient/trace/next_access.hpp"
#include "prescient/trace/reader.hpp"
#include "test_support.hpp"

namespace {

namespace trace = prescient::trace;

TEST(trace_next_access, small_by_hand) {
  std::vector<trace::request> v;
  for (std::uint64_t k : {1, 2, 1, 3, 2, 1}) v.push_back({.key = k});
  trace::annotate_next_access(v);
  const std::int64_t want[] = {2, 4, 5, trace::never, trace::never, trace::never};
  for (std::size_t i = 0; i < v.size(); ++i) EXPECT_EQ(v[i].next_access, want[i]) << i;
}

TEST(trace_next_access, empty_span) {
  std::vector<trace::request> v;
  trace::annotate_next_access(v);
  SUCCEED();
}

TEST(trace_next_access, agrees_with_oracle_general_on_cloudphysics) {
  PRESCIENT_TRACE_OR_SKIP(path, "cloudphysics-io.oracleGeneral.bin.xz");
  trace::reader r = trace::open(path, "oracle-general");
  ASSERT_TRUE(r.provides_next_access());
  const std::vector<trace::request> recorded = trace::load(r);
  ASSERT_EQ(recorded.size(), 113'872u);

  std::vector<trace::request> computed = recorded;
  for (auto& q : computed) q.next_access = trace::never;
  trace::annotate_next_access(computed);

  std::size_t mismatches = 0, never_count = 0;
  for (std::size_t i = 0; i < recorded.size(); ++i) {
    if (computed[i].next_access != recorded[i].next_access && ++mismatches <= 5) {
      ADD_FAILURE() << "request " << i << " key " << recorded[i].key << ": recorded " << recorded[i].next_access
                    << ", computed " << computed[i].next_access;
    }
    never_count += recorded[i].next_access == trace::never;
  }
  EXPECT_EQ(mismatches, 0u);
  // Each unique key has exactly one last request.
  EXPECT_EQ(never_count, 48'974u);
}

TEST(trace_next_access, oracle_general_vtime_is_one_based_and_never_has_two_spellings) {
  const auto record = [](std::uint64_t key, std::int64_t vtime) {
    std::string r(24, '\0');
    const std::uint32_t size = 512;
    std::memcpy(r.data() + 4, &key, 8);
    std::memcpy(r.data() + 12, &size, 4);
    std::memcpy(r.data() + 16, &vtime, 8);
    return r;
  };
  const std::string bytes = record(1, 3) + record(2, std::numeric_limits<std::int64_t>::max()) + record(1, -1);
  trace::reader r = trace::open(trace::open_bytes(std::span(bytes.data(), bytes.size())), trace::format::oracle_general);
  const auto v = trace::load(r);
  ASSERT_EQ(v.size(), 3u);
  EXPECT_EQ(v[0].next_access, 2);
  EXPECT_EQ(v[1].next_access, trace::never);
  EXPECT_EQ(v[2].next_access, trace::never);
  EXPECT_EQ(v[0].size, 512u);
}

TEST(trace_next_access, other_formats_leave_it_unknown) {
  PRESCIENT_TRACE_OR_SKIP(path, "cache2k-web07.trace.xz");
  trace::reader r = trace::open(path, "i32be");
  EXPECT_FALSE(r.provides_next_access());
  for (const auto& q : trace::load(r)) ASSERT_EQ(q.next_access, trace::never);
}

}  // namespace
