// The simulator's streaming engine: a replay fed the trace in batches gives the figures
// of a replay fed it whole, for every policy and with prefetching; the stream feeds every
// batch to every sink, in order, whatever the workers, the ring and the batch size; the
// first error (of the reader or of a sink) stops it and comes back to the caller; the
// footprint counter counts what a set would.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <random>
#include <stdexcept>
#include <string>
#include <unordered_set>
#include <vector>

#include "prescient/trace/next_access.hpp"
#include "sim/footprint.hpp"
#include "sim/prefetch_replay.hpp"
#include "sim/replay.hpp"
#include "sim/stream.hpp"

namespace {

namespace trace = prescient::trace;
namespace sim = prescient::sim;

// Zipf-like keys with sequential runs (so that prefetching has something to find) and
// sizes that depend on the key.
std::vector<trace::request> synthetic_trace(std::size_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<trace::request> v;
  v.reserve(n);
  while (v.size() < n) {
    const double u = std::uniform_real_distribution<double>(0, 1)(rng);
    const auto key = static_cast<std::uint64_t>(std::pow(20000.0, u));
    const std::size_t run = rng() % 4 == 0 ? 1 + rng() % 6 : 1;
    for (std::size_t k = 0; k < run && v.size() < n; ++k)
      v.push_back({.key = key + k, .size = 1 + (key + k) % 97});
  }
  trace::annotate_next_access(v);
  return v;
}

void expect_same(const sim::replay_result& a, const sim::replay_result& b, const std::string& what) {
  EXPECT_EQ(a.requests, b.requests) << what;
  EXPECT_EQ(a.misses, b.misses) << what;
  EXPECT_EQ(a.bytes, b.bytes) << what;
  EXPECT_EQ(a.miss_bytes, b.miss_bytes) << what;
  EXPECT_EQ(a.stats.evictions, b.stats.evictions) << what;
}

TEST(SimStream, BatchesGiveTheFiguresOfTheWholeTrace) {
  const auto requests = synthetic_trace(60'000, 1);
  for (const bool ignore_size : {true, false}) {
    for (auto name : sim::replayable_policies()) {
      sim::replay_options opt;
      opt.capacity = ignore_size ? 500 : 500 * 50;
      opt.ignore_size = ignore_size;
      if (name == "learned") opt.params = "mode=off";  // the policy's bookkeeping, without xgboost's time
      const auto whole = sim::replay(name, requests, opt);
      for (std::size_t batch : {1u, 777u, 8192u}) {
        const auto r = sim::make_replayer(name, opt);
        for (std::size_t i = 0; i < requests.size(); i += batch)
          r->feed(std::span(requests).subspan(i, std::min(batch, requests.size() - i)));
        expect_same(r->result(), whole, std::string(name) + " in batches of " + std::to_string(batch));
      }
    }
  }
}

TEST(SimStream, PrefetchingInBatchesGivesTheFiguresOfTheWholeTrace) {
  const auto requests = synthetic_trace(40'000, 2);
  for (auto name : {"lru", "s3fifo", "belady"}) {
    sim::replay_options opt;
    opt.capacity = 300;
    opt.ignore_size = true;
    const auto whole = sim::replay_with_prefetch(name, requests, opt, {});
    ASSERT_GT(whole.issued, 0u) << name;
    const auto r = sim::make_prefetch_replayer(name, opt, {});
    for (std::size_t i = 0; i < requests.size(); i += 1000)
      r->feed(std::span(requests).subspan(i, std::min<std::size_t>(1000, requests.size() - i)));
    const auto batched = r->result();
    expect_same(batched.demand, whole.demand, name);
    EXPECT_EQ(batched.issued, whole.issued) << name;
    EXPECT_EQ(batched.used, whole.used) << name;
    EXPECT_EQ(batched.already_cached, whole.already_cached) << name;
  }
}

// A reader over requests in memory, `limit` at a time.
struct memory_reader {
  const std::vector<trace::request>* requests;
  std::size_t pos = 0;
  std::size_t operator()(std::span<trace::request> out) {
    const std::size_t n = std::min(out.size(), requests->size() - pos);
    std::copy_n(requests->begin() + static_cast<std::ptrdiff_t>(pos), n, out.begin());
    pos += n;
    return n;
  }
};

TEST(SimStream, EverySinkGetsEveryBatchInOrder) {
  const auto requests = synthetic_trace(100'000, 3);
  for (unsigned threads : {1u, 2u, 5u}) {
    for (std::size_t sinks_n : {1u, 3u, 8u}) {
      for (auto [batch, ring] : {std::pair<std::size_t, std::size_t>{1000, 2}, {4096, 6}, {100'000, 1}}) {
        std::vector<std::vector<std::uint64_t>> seen(sinks_n);
        std::vector<sim::batch_sink> sinks;
        for (std::size_t j = 0; j < sinks_n; ++j)
          sinks.push_back([&seen, j](std::span<const trace::request> b) {
            for (const auto& r : b) seen[j].push_back(r.key);
          });
        const auto fig = sim::stream(memory_reader{&requests}, sinks, {.threads = threads, .batch = batch, .ring = ring});
        EXPECT_EQ(fig.requests, requests.size());
        for (std::size_t j = 0; j < sinks_n; ++j) {
          ASSERT_EQ(seen[j].size(), requests.size()) << "sink " << j << " threads " << threads << " batch " << batch;
          for (std::size_t i = 0; i < requests.size(); ++i) ASSERT_EQ(seen[j][i], requests[i].key) << "sink " << j;
        }
      }
    }
  }
}

TEST(SimStream, NoSinkStillReadsTheTrace) {
  const auto requests = synthetic_trace(10'000, 4);
  std::vector<sim::batch_sink> none;
  EXPECT_EQ(sim::stream(memory_reader{&requests}, none, {.threads = 2, .batch = 512, .ring = 2}).requests,
            requests.size());
}

TEST(SimStream, ASinksErrorStopsTheStreamAndComesBack) {
  const auto requests = synthetic_trace(200'000, 5);
  std::atomic<std::uint64_t> fed{0};
  std::vector<sim::batch_sink> sinks;
  sinks.push_back([&](std::span<const trace::request> b) { fed += b.size(); });
  sinks.push_back([](std::span<const trace::request>) { throw std::runtime_error("sink failed"); });
  EXPECT_THROW(sim::stream(memory_reader{&requests}, sinks, {.threads = 2, .batch = 1000, .ring = 2}),
               std::runtime_error);
  EXPECT_LT(fed.load(), requests.size());  // stopped early: the reader did not read on
}

TEST(SimStream, TheReadersErrorStopsTheStreamAndComesBack) {
  const auto requests = synthetic_trace(50'000, 6);
  memory_reader inner{&requests};
  std::size_t calls = 0;
  auto failing = [&](std::span<trace::request> out) -> std::size_t {
    if (++calls == 5) throw std::runtime_error("corrupt record");
    return inner(out);
  };
  std::vector<sim::batch_sink> sinks(3, [](std::span<const trace::request>) {});
  EXPECT_THROW(sim::stream(failing, sinks, {.threads = 2, .batch = 1000, .ring = 2}), std::runtime_error);
}

TEST(SimStream, FootprintCountsWhatASetWould) {
  const auto requests = synthetic_trace(50'000, 7);
  std::unordered_set<std::uint64_t> keys;
  std::uint64_t bytes = 0;
  for (const auto& r : requests)
    if (keys.insert(r.key).second) bytes += r.size;
  sim::footprint_counter c;
  for (std::size_t i = 0; i < requests.size(); i += 3000)
    c.add(std::span(requests).subspan(i, std::min<std::size_t>(3000, requests.size() - i)));
  EXPECT_EQ(c.result().unique_keys, keys.size());
  EXPECT_EQ(c.result().unique_bytes, bytes);
}

}  // namespace
