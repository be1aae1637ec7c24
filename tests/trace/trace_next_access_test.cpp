// annotate_next_access: the backward pass that labels each request with the position of
// its key's next request. On the cloudphysics trace it must agree, request by request,
// with the next_access_vtime that libCacheSim recorded in the oracleGeneral file.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
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

// next_access_index: the streamed forward pass gives, batch by batch, what the backward
// pass gives over the whole trace held in memory.
std::vector<trace::request> annotated(std::vector<trace::request> v) {
  trace::annotate_next_access(v);
  return v;
}

void check_index_against_annotate(const std::vector<trace::request>& requests, std::size_t batch) {
  trace::next_access_index index;
  for (std::size_t i = 0; i < requests.size(); i += batch)
    index.add(std::span(requests).subspan(i, std::min(batch, requests.size() - i)));
  index.release_keys();
  ASSERT_EQ(index.size(), requests.size());
  const auto want = annotated(requests);
  std::vector<trace::request> got = requests;
  for (std::size_t i = 0; i < got.size(); i += batch)
    index.fill(std::span(got).subspan(i, std::min(batch, got.size() - i)), i);
  std::size_t mismatches = 0;
  for (std::size_t i = 0; i < got.size(); ++i)
    if (got[i].next_access != want[i].next_access && ++mismatches <= 5)
      ADD_FAILURE() << "request " << i << ": index " << got[i].next_access << ", annotate " << want[i].next_access;
  EXPECT_EQ(mismatches, 0u);
}

TEST(trace_next_access_index, small_by_hand) {
  std::vector<trace::request> v;
  for (std::uint64_t k : {1, 2, 1, 3, 2, 1}) v.push_back({.key = k});
  trace::next_access_index index;
  index.add(std::span(v).first(4));
  index.add(std::span(v).subspan(4));
  index.fill(v, 0);
  const std::int64_t want[] = {2, 4, 5, trace::never, trace::never, trace::never};
  for (std::size_t i = 0; i < v.size(); ++i) EXPECT_EQ(v[i].next_access, want[i]) << i;
}

TEST(trace_next_access_index, every_key_value_including_the_empty_marker) {
  // The flat map marks an empty slot with ~0: that key must still be a key.
  const std::uint64_t max = ~std::uint64_t{0};
  std::vector<trace::request> v;
  for (std::uint64_t k : {max, std::uint64_t{0}, max, std::uint64_t{0}, std::uint64_t{7}, max}) v.push_back({.key = k});
  check_index_against_annotate(v, 2);
}

TEST(trace_next_access_index, random_traces_in_uneven_batches) {
  std::mt19937_64 rng(7);
  for (std::uint64_t keys : {3u, 1000u, 200000u}) {
    std::vector<trace::request> v(300'000);
    std::uniform_int_distribution<std::uint64_t> pick(0, keys - 1);
    for (auto& r : v) r.key = pick(rng) * 0x9E3779B97F4A7C15ULL;  // spread over 64 bits
    for (std::size_t batch : {1u, 4096u, 100'003u}) check_index_against_annotate(v, batch);
  }
}

TEST(trace_next_access_index, a_prefix_sees_nothing_past_its_end) {
  std::vector<trace::request> v;
  for (std::uint64_t k : {1, 2, 1, 2, 1}) v.push_back({.key = k});
  trace::next_access_index index;
  index.add(v);
  index.fill(v, 0, 3);  // replaying the first 3 requests: request 3 and 4 are not coming
  EXPECT_EQ(v[0].next_access, 2);
  EXPECT_EQ(v[1].next_access, trace::never);
  EXPECT_EQ(v[2].next_access, trace::never);
}

TEST(trace_next_access_index, costs_four_bytes_a_request_once_the_keys_are_released) {
  std::vector<trace::request> v(3u << 20);
  for (std::size_t i = 0; i < v.size(); ++i) v[i].key = i % 1000;
  trace::next_access_index index;
  index.add(v);
  index.release_keys();
  EXPECT_EQ(index.bytes(), v.size() * 4);
}

TEST(trace_next_access_index, agrees_with_oracle_general_on_cloudphysics) {
  PRESCIENT_TRACE_OR_SKIP(path, "cloudphysics-io.oracleGeneral.bin.xz");
  const std::vector<trace::request> recorded = trace::load(path, "oracle-general");
  trace::next_access_index index;
  index.add(recorded);
  std::vector<trace::request> computed = recorded;
  index.fill(computed, 0);
  std::size_t mismatches = 0;
  for (std::size_t i = 0; i < recorded.size(); ++i) mismatches += computed[i].next_access != recorded[i].next_access;
  EXPECT_EQ(mismatches, 0u);
}

}  // namespace
