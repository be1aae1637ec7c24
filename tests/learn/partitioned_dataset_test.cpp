// The streaming dataset builder and partitioning by key hash (learn/dataset.hpp):
//   - with the sequential draw, the streaming builder gives build_dataset's rows, in order,
//     bit for bit, holding the keys and one window of rows, not the log;
//   - the requested-key rows of N partitions, pooled, equal the single machine's
//     requested-key rows as multisets (features, labels, times, keys);
//   - every candidate row of a partition is the one the documented rule names, checked
//     against a reference written from the rule's text over the whole trace.
#include "prescient/learn/dataset.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <random>
#include <tuple>
#include <vector>

#include "prescient/trace/next_access.hpp"
#include "prescient/trace/reader.hpp"
#include "test_support.hpp"

namespace {

using namespace prescient;
using namespace prescient::learn;

// A trace with a hot set, a long tail, loops and one-off keys, with sizes.
std::vector<trace::request> synthetic(std::size_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<trace::request> out;
  out.reserve(n);
  std::uint64_t loop = 0, fresh = 1'000'000;
  for (std::size_t i = 0; i < n; ++i) {
    const auto u = rng() % 100;
    std::uint64_t key;
    if (u < 40) key = rng() % 50;                           // hot
    else if (u < 70) key = 100 + (rng() % 5000);            // tail
    else if (u < 90) key = 10'000 + (loop++ % 700);         // a loop longer than small caches
    else key = fresh++;                                     // seen once
    out.push_back({.key = key, .size = 1 + key % 7});
  }
  trace::annotate_next_access(out);
  return out;
}

// A row as comparable bits: NaN features compare equal to themselves.
using row_bits = std::tuple<std::uint64_t, std::uint64_t, int, std::uint32_t, int, std::array<std::uint32_t, feature_count>>;

row_bits bits(const dataset_row& r) {
  std::array<std::uint32_t, feature_count> f{};
  std::memcpy(f.data(), r.features.data(), sizeof f);
  std::uint32_t label = 0;
  std::memcpy(&label, &r.label, 4);
  return {r.time, r.key, static_cast<int>(r.kind), label, r.reused, f};
}

// build_dataset's rows, with the time, key and kind it does not return.
std::vector<dataset_row> classic_rows(const std::vector<trace::request>& reqs, const dataset_options& opt) {
  const dataset d = build_dataset(reqs, opt);
  const std::uint64_t every = std::max<std::uint64_t>(1, opt.sample_every);
  std::vector<dataset_row> out(static_cast<std::size_t>(d.rows.rows()));
  for (std::size_t i = 0; i < out.size(); ++i) {
    dataset_row& r = out[i];
    r.time = (i / 2) * every;
    r.kind = i % 2 == 0 ? row_kind::requested : row_kind::candidate;
    r.key = i % 2 == 0 ? reqs[r.time].key : 0;  // build_dataset does not say which key it drew
    r.label = d.labels[i];
    r.reused = d.reused[i];
    for (std::size_t c = 0; c < feature_count; ++c)
      r.features[c] = d.rows(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(c));
  }
  return out;
}

std::vector<dataset_row> streamed_rows(const std::vector<trace::request>& reqs, const dataset_options& opt,
                                       std::size_t* most_waiting = nullptr, std::size_t* keys = nullptr) {
  std::vector<dataset_row> out;
  dataset_builder b(opt, [&](const dataset_row& r) { out.push_back(r); });
  std::size_t most = 0;
  for (std::size_t i = 0; i < reqs.size(); ++i) {
    b.add(reqs[i].key, reqs[i].size, i);
    most = std::max(most, b.waiting_rows());
  }
  if (most_waiting) *most_waiting = most;
  if (keys) *keys = b.keys();
  b.finish();
  return out;
}

// Every partition's rows, each partition fed only its own requests with their global
// positions, as a reduce over a map's output would be.
std::vector<std::vector<dataset_row>> partition_rows(const std::vector<trace::request>& reqs, const dataset_options& opt,
                                                     std::uint64_t n) {
  std::vector<std::vector<dataset_row>> out(n);
  std::vector<dataset_builder> builders;
  builders.reserve(n);
  for (std::uint64_t p = 0; p < n; ++p)
    builders.emplace_back(opt, [&out, p](const dataset_row& r) { out[p].push_back(r); }, candidate_draw::partitioned,
                          partition_spec{n, p});
  for (std::size_t i = 0; i < reqs.size(); ++i) builders[partition_of(reqs[i].key, n)].add(reqs[i].key, reqs[i].size, i);
  for (auto& b : builders) b.finish();
  return out;
}

void expect_same_rows(const std::vector<dataset_row>& got, const std::vector<dataset_row>& want, bool compare_keys) {
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    auto g = bits(got[i]), w = bits(want[i]);
    if (!compare_keys) std::get<1>(g) = std::get<1>(w) = 0;
    ASSERT_EQ(g, w) << "row " << i << " (time " << got[i].time << ", kind " << static_cast<int>(got[i].kind) << ")";
  }
}

TEST(StreamingDataset, SequentialDrawGivesBuildDatasetsRowsBitForBit) {
  const auto reqs = synthetic(60'000, 7);
  for (const dataset_options opt : {dataset_options{.capacity = 100, .sample_every = 4},
                                    dataset_options{.capacity = 7, .sample_every = 1, .seed = 3},
                                    dataset_options{.capacity = 400, .sample_every = 3, .horizon_per_entry = 2},
                                    dataset_options{.capacity = 50, .sample_every = 2, .window_per_entry = 0.5}}) {
    SCOPED_TRACE("capacity " + std::to_string(opt.capacity) + ", every " + std::to_string(opt.sample_every));
    const auto want = classic_rows(reqs, opt);
    auto got = streamed_rows(reqs, opt);
    for (std::size_t i = 0; i < got.size(); i += 2) ASSERT_EQ(got[i].key, want[i].key);
    expect_same_rows(got, want, /*compare_keys=*/false);
  }
}

TEST(StreamingDataset, SequentialDrawMatchesOnARealTrace) {
  PRESCIENT_TRACE_OR_SKIP(file, "cache2k-web07.trace.xz");
  auto reqs = trace::load(file, "i32be");
  trace::annotate_next_access(reqs);
  const dataset_options opt{.capacity = 400, .sample_every = 4};
  expect_same_rows(streamed_rows(reqs, opt), classic_rows(reqs, opt), false);
}

TEST(StreamingDataset, MemoryIsTheKeysAndOneWindowOfRows) {
  // 200k requests over ~6k keys (plus one-offs): rows wait at most one window
  // (W = 16 × capacity requests: 2 rows per sampled request), whatever the log's length.
  const auto reqs = synthetic(200'000, 11);
  const dataset_options opt{.capacity = 50, .sample_every = 2};
  std::size_t most = 0, keys = 0;
  const auto rows = streamed_rows(reqs, opt, &most, &keys);
  EXPECT_EQ(rows.size(), 200'000u);
  const std::uint64_t window = dataset_labels(opt).window;
  EXPECT_LE(most, 2 * (window / opt.sample_every + 1));
  EXPECT_GT(most, 0u);
  std::vector<std::uint64_t> unique;
  for (const auto& r : reqs) unique.push_back(r.key);
  std::sort(unique.begin(), unique.end());
  EXPECT_EQ(keys, static_cast<std::size_t>(std::unique(unique.begin(), unique.end()) - unique.begin()));
}

TEST(PartitionedDataset, RequestedRowsOfNPartitionsEqualTheSingleMachineRowsAsMultisets) {
  const auto reqs = synthetic(80'000, 5);
  const dataset_options opt{.capacity = 120, .sample_every = 3};
  const auto single = classic_rows(reqs, opt);
  std::vector<row_bits> want;
  for (const auto& r : single)
    if (r.kind == row_kind::requested) want.push_back(bits(r));
  std::sort(want.begin(), want.end());
  for (const std::uint64_t n : {1u, 2u, 3u, 8u}) {
    SCOPED_TRACE(std::to_string(n) + " partitions");
    std::vector<row_bits> got;
    std::size_t candidates = 0;
    const auto parts = partition_rows(reqs, opt, n);
    for (std::uint64_t p = 0; p < n; ++p) {
      if (n > 1) {
        EXPECT_GT(parts[p].size(), single.size() / n / 2) << "partition " << p << " is far too small";
      }
      for (std::size_t i = 0; i < parts[p].size(); ++i) {
        const dataset_row& r = parts[p][i];
        ASSERT_EQ(partition_of(reqs[r.time].key, n), p) << "a row of a request of another partition";
        if (i > 0) {
          ASSERT_LT(std::make_pair(parts[p][i - 1].time, parts[p][i - 1].kind), std::make_pair(r.time, r.kind));
        }
        if (r.kind == row_kind::requested) got.push_back(bits(r));
        else ++candidates;
      }
    }
    std::sort(got.begin(), got.end());
    EXPECT_EQ(got.size(), want.size());
    EXPECT_TRUE(got == want) << "the pooled requested-key rows differ from the single machine's";
    EXPECT_EQ(candidates, want.size()) << "one candidate row per sampled request";
  }
}

// The rule (dataset.hpp), written again from its text over the whole trace: at sampled t
// whose requested key is in p, R = p's requests at positions max(0, t-L+1)..t newest
// first, r = partitioned_draw(seed, t); the candidate is R[r mod |R|]'s key, its history
// as of t, labelled by its next request after t.
std::vector<dataset_row> rule_reference(const std::vector<trace::request>& reqs, const dataset_options& opt,
                                        std::uint64_t n) {
  const feature_extractor fx(opt.features);
  const label_config labels = dataset_labels(opt);
  const std::uint64_t every = std::max<std::uint64_t>(1, opt.sample_every), lookback = opt.capacity * 4;
  std::unordered_map<std::uint64_t, key_history> history;
  std::unordered_map<std::uint64_t, std::size_t> last;
  std::vector<dataset_row> out;
  for (std::size_t t = 0; t < reqs.size(); ++t) {
    fx.record(history[reqs[t].key], t, reqs[t].size);
    last[reqs[t].key] = t;
    if (t % every != 0) continue;
    const std::uint64_t p = partition_of(reqs[t].key, n);
    std::vector<std::size_t> window;  // newest first
    for (std::size_t j = t + 1; j-- > (t + 1 > lookback ? t + 1 - lookback : 0);)
      if (partition_of(reqs[j].key, n) == p) window.push_back(j);
    const std::uint64_t key = reqs[window[partitioned_draw(opt.seed, t) % window.size()]].key;
    dataset_row r;
    r.time = t;
    r.key = key;
    r.kind = row_kind::candidate;
    fx.write(history[key], t, 1, r.features.data());
    const std::int64_t next = reqs[last[key]].next_access;
    const auto gap = next < 0 ? std::nullopt : std::optional<std::uint64_t>(static_cast<std::uint64_t>(next) - t);
    r.label = next_access_label(gap, labels);
    r.reused = reused_within_horizon(gap, labels) ? 1 : 0;
    out.push_back(r);
  }
  return out;
}

TEST(PartitionedDataset, CandidateRowsFollowTheDocumentedRule) {
  const auto reqs = synthetic(40'000, 9);
  for (const dataset_options opt : {dataset_options{.capacity = 120, .sample_every = 3},
                                    dataset_options{.capacity = 30, .sample_every = 1, .seed = 42}}) {
    for (const std::uint64_t n : {1u, 2u, 5u}) {
      SCOPED_TRACE(std::to_string(n) + " partitions, capacity " + std::to_string(opt.capacity));
      const auto want = rule_reference(reqs, opt, n);
      std::vector<dataset_row> got;
      for (const auto& part : partition_rows(reqs, opt, n))
        for (const auto& r : part)
          if (r.kind == row_kind::candidate) got.push_back(r);
      std::sort(got.begin(), got.end(), [](const auto& a, const auto& b) { return a.time < b.time; });
      expect_same_rows(got, want, /*compare_keys=*/true);
    }
  }
}

TEST(PartitionedDataset, PooledCandidatesDrawLikeTheSingleMachine) {
  // Not a rule check but the reason for the rule: the candidates' ages (t minus the
  // key's last request) pooled over 4 partitions are distributed as on one machine.
  const auto reqs = synthetic(100'000, 13);
  const dataset_options opt{.capacity = 100, .sample_every = 2};
  auto mean_age = [](const std::vector<dataset_row>& rows) {
    double sum = 0, n = 0;
    for (const auto& r : rows)
      if (r.kind == row_kind::candidate && !std::isnan(r.features[column::age])) sum += r.features[column::age], ++n;
    return sum / n;
  };
  std::vector<dataset_row> pooled;
  for (const auto& part : partition_rows(reqs, opt, 4)) pooled.insert(pooled.end(), part.begin(), part.end());
  const double single = mean_age(classic_rows(reqs, opt)), partitioned = mean_age(pooled);
  EXPECT_NEAR(partitioned, single, 0.02 * single) << "log1p(age) of candidates";
}

TEST(PartitionedDataset, RefusesWhatTheRuleCannotUse) {
  const dataset_options opt{.capacity = 10};
  const auto ignore = [](const dataset_row&) {};
  dataset_builder p0(opt, ignore, candidate_draw::partitioned, {2, 0});
  std::uint64_t other = 0;
  while (partition_of(other, 2) == 0) ++other;
  EXPECT_THROW(p0.add(other, 1, 0), std::invalid_argument);  // a key of partition 1
  std::uint64_t mine = 0;
  while (partition_of(mine, 2) != 0) ++mine;
  p0.add(mine, 1, 5);
  EXPECT_THROW(p0.add(mine, 1, 5), std::invalid_argument);  // time must increase
  p0.add(mine, 1, 9);                                        // gaps are other partitions' requests
  dataset_builder seq(opt, ignore);
  seq.add(1, 1, 0);
  EXPECT_THROW(seq.add(1, 1, 2), std::invalid_argument);  // the sequential draw needs every position
  EXPECT_THROW(dataset_builder(opt, ignore, candidate_draw::sequential, {2, 0}), std::invalid_argument);
  EXPECT_THROW(dataset_builder(opt, ignore, candidate_draw::partitioned, {2, 2}), std::invalid_argument);
}

}  // namespace
