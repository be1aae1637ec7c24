// examples/sqlite_catalog — prescient in front of a real database.
//
// Builds a SQLite catalogue of products (with categories and reviews), maps the keys of
// two real traces onto its rows, and replays each trace as demand reads through
// `get_or_load`, with a loader that runs the product query. Requests arrive on a fixed
// schedule, one every `--interval-us` µs (open loop, as a service receives them; 0 = back
// to back), so a prefetch has the idle time between requests to land. For LRU, S3-FIFO
// and the learned policy, without and with prefetching, it prints the hit ratio, the
// demand misses, the SQL queries issued (demand loads plus prefetches), the prefetches
// and their accuracy, the p50 / p99 latency of a request from its start of service, and
// how many requests started late (after their due time). For the prefetching runs, a
// second line says what became of the planner's candidates.
//
// The defaults (100 µs, the first 150,000 requests of each trace) take about two minutes
// in all: a prefetch needs 50–130 µs to land on the 2-core VM this was measured on (the
// worker's wake-up, then its query), so at shorter intervals it mostly lands after the
// request it was for.
//
//   build/release/examples/sqlite_catalog/example_sqlite_catalog [--interval-us N] [--limit N] [--db FILE]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include "catalog.hpp"
#include "support/trace_path.hpp"
#include "pacing.hpp"
#include "prescient/hash.hpp"
#include "prescient/learn/forest_trainer.hpp"
#include "prescient/policy/learned.hpp"
#include "prescient/policy/s3fifo.hpp"
#include "prescient/prefetch/prefetching_cache.hpp"
#include "prescient/trace/reader.hpp"

namespace {

using namespace prescient;
using catalog_example::catalog;
using catalog_example::open_loop_schedule;
using catalog_example::product_view;
using learned = policy::learned<learn::compiled_forest>;

constexpr std::int64_t products = 20000;

struct outcome {
  prefetch::prefetching_stats stats;
  std::uint64_t requests = 0, queries = 0, late = 0;
  double p50_us = 0, p99_us = 0, seconds = 0;
};

template <class Policy>
outcome replay(catalog& db, const std::vector<std::int64_t>& ids, std::uint64_t capacity,
               std::chrono::microseconds interval, prefetch::prefetching_config pcfg,
               typename Policy::config policy_cfg = {}) {
  prefetch::prefetching_cache<std::int64_t, product_view, Policy> cache(capacity, pcfg, std::move(policy_cfg), 1);
  auto loader = [&db](std::int64_t id) {
    auto row = db.read(id);
    if (!row) throw std::runtime_error("product " + std::to_string(id) + " does not exist");
    return *row;
  };
  const std::uint64_t queries_before = db.queries();
  std::vector<float> latency_us;
  latency_us.reserve(ids.size());
  const auto began = std::chrono::steady_clock::now();
  open_loop_schedule schedule(interval, began);
  for (std::size_t i = 0; i < ids.size(); ++i) {
    schedule.wait_for(i);
    const auto start = std::chrono::steady_clock::now();  // the start of service, not the due time
    const auto value = cache.get_or_load(ids[i], loader);
    latency_us.push_back(std::chrono::duration<float, std::micro>(std::chrono::steady_clock::now() - start).count());
    if (!value || value->id != ids[i]) throw std::runtime_error("wrong row for product " + std::to_string(ids[i]));
  }
  cache.wait_for_prefetches();
  outcome o;
  o.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();
  o.stats = cache.stats();
  o.requests = ids.size();
  o.queries = db.queries() - queries_before;
  o.late = schedule.late();
  std::sort(latency_us.begin(), latency_us.end());
  o.p50_us = latency_us[latency_us.size() / 2];
  o.p99_us = latency_us[latency_us.size() * 99 / 100];
  return o;
}

enum class policy_kind { lru, s3fifo, learned };
struct configuration {
  const char* name;
  policy_kind policy;
  bool prefetch;
};
constexpr configuration configurations[] = {
    {"lru", policy_kind::lru, false},
    {"s3fifo", policy_kind::s3fifo, false},
    {"learned", policy_kind::learned, false},
    {"s3fifo + prefetch", policy_kind::s3fifo, true},
    {"learned + prefetch", policy_kind::learned, true},
};

outcome run(const configuration& c, catalog& db, const std::vector<std::int64_t>& ids, std::uint64_t capacity,
            std::chrono::microseconds interval) {
  // The default planner, or budget 0: no prefetch is ever planned.
  const prefetch::prefetching_config pcfg = c.prefetch ? prefetch::prefetching_config{}
                                                       : prefetch::prefetching_config{.planner = {.budget = 0}};
  switch (c.policy) {
    case policy_kind::lru: return replay<policy::lru>(db, ids, capacity, interval, pcfg);
    case policy_kind::s3fifo: return replay<policy::s3fifo>(db, ids, capacity, interval, pcfg);
    case policy_kind::learned: {
      learned::config lcfg;
      lcfg.mode = policy::training_mode::background;  // a host trains off the request path
      return replay<learned>(db, ids, capacity, interval, pcfg, lcfg);
    }
  }
  throw std::logic_error("unknown policy");
}

void report(const configuration& c, const outcome& o) {
  const auto& s = o.stats;
  using ull = unsigned long long;
  std::printf("  %-19s hit ratio %.4f  demand misses %6llu  SQL queries %6llu  prefetches %5llu (accuracy %.2f)"
              "  p50 %5.1f us  p99 %6.1f us  late %6llu  (%.1f s)\n",
              c.name, double(s.demand_hits) / double(o.requests), ull(s.demand_misses), ull(o.queries), ull(s.issued),
              s.accuracy(), o.p50_us, o.p99_us, ull(o.late), o.seconds);
  if (c.prefetch)  // what became of the candidates (successors the model named)
    std::printf("  %-19s candidates: cached already %llu, loading already %llu, held back while quiet %llu,"
                " below displaced value %llu, capped %llu, dropped (queue full) %llu; planning skipped (busy) %llu;"
                " used %llu\n",
                "", ull(s.already_cached), ull(s.already_loading), ull(s.quiet_skips), ull(s.below_value),
                ull(s.capped), ull(s.dropped), ull(s.planning_skipped), ull(s.used));
}

}  // namespace

int main(int argc, char** argv) try {
  std::size_t limit = 150'000;
  long interval_us = 100;
  std::string traces;  // empty: the trace search path
  std::filesystem::path db_path = std::filesystem::temp_directory_path() / "prescient_catalog.db";
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--limit" && i + 1 < argc) limit = std::stoull(argv[++i]);
    else if (a == "--interval-us" && i + 1 < argc) interval_us = std::stol(argv[++i]);
    else if (a == "--db" && i + 1 < argc) db_path = argv[++i];
    else if (a == "--traces" && i + 1 < argc) traces = argv[++i];
    else {
      std::fprintf(stderr,
                   "usage: %s [--interval-us N (0 = back to back)] [--limit N] [--db FILE] [--traces DIR]\n"
                   "  --traces DIR  the folder holding cache2k-web07.trace.xz and cache2k-orm-busy.trace.xz\n"
                   "                (default: the trace search path, data/traces of the repository first)\n",
                   argv[0]);
      return 2;
    }
  }
  if (interval_us < 0) throw std::invalid_argument("--interval-us must be ≥ 0");
  const std::chrono::microseconds interval(interval_us);
  std::printf("building %s: %lld products with categories and reviews\n", db_path.c_str(),
              static_cast<long long>(products));
  catalog::create(db_path, products);
  catalog db(db_path);

  struct workload {
    const char* file;
    std::uint64_t capacity;
  };
  for (const workload w : {workload{"cache2k-web07.trace.xz", 2000}, workload{"cache2k-orm-busy.trace.xz", 7500}}) {
    std::filesystem::path file;
    if (!traces.empty()) {
      file = std::filesystem::path(traces) / w.file;
    } else if (auto found = prescient::tools::find_trace(w.file)) {
      file = *found;
    } else {
      throw std::runtime_error(prescient::tools::missing_trace_message(w.file));
    }
    const auto requests = trace::load(file, "i32be", {}, limit);
    std::vector<std::int64_t> ids;
    ids.reserve(requests.size());
    // The trace's keys onto the catalogue's rows (a key always reads the same product).
    for (const auto& r : requests) ids.push_back(static_cast<std::int64_t>(mix64(r.key) % products) + 1);
    std::printf("\n%s: %zu reads, cache of %llu products, ", w.file, ids.size(),
                static_cast<unsigned long long>(w.capacity));
    if (interval_us == 0) std::printf("back to back\n");
    else std::printf("one request every %ld us\n", interval_us);
    for (const configuration& c : configurations) report(c, run(c, db, ids, w.capacity, interval));
  }
  std::filesystem::remove(db_path);
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "sqlite_catalog: %s\n", e.what());
  return 1;
}
