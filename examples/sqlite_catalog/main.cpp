// examples/sqlite_catalog — prescient in front of a real database.
//
// Builds a SQLite catalogue of products (with categories and reviews), maps the keys of
// two real traces onto its rows, and replays each trace as demand reads through
// `get_or_load`, with a loader that runs the product query. For LRU, S3-FIFO, and the
// learned policy with prefetching, it prints the hit ratio, the SQL queries issued
// (demand loads plus prefetches), and the p50 / p99 latency of a request.
//
//   build/release/examples/sqlite_catalog/example_sqlite_catalog [--limit N] [--db FILE]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "catalog.hpp"
#include "prescient/hash.hpp"
#include "prescient/learn/forest_trainer.hpp"
#include "prescient/policy/learned.hpp"
#include "prescient/policy/s3fifo.hpp"
#include "prescient/prefetch/prefetching_cache.hpp"
#include "prescient/trace/reader.hpp"

namespace {

using namespace prescient;
using catalog_example::catalog;
using catalog_example::product_view;

constexpr std::int64_t products = 20000;

struct outcome {
  std::uint64_t hits = 0, requests = 0, queries = 0, prefetches = 0;
  double p50_us = 0, p99_us = 0, accuracy = 0;
};

template <class Policy>
outcome replay(catalog& db, const std::vector<std::int64_t>& ids, std::uint64_t capacity,
               prefetch::prefetching_config pcfg, typename Policy::config policy_cfg = {}) {
  prefetch::prefetching_cache<std::int64_t, product_view, Policy> cache(capacity, pcfg, std::move(policy_cfg), 1);
  auto loader = [&db](std::int64_t id) {
    auto row = db.read(id);
    if (!row) throw std::runtime_error("product " + std::to_string(id) + " does not exist");
    return *row;
  };
  const std::uint64_t queries_before = db.queries();
  std::vector<float> latency_us;
  latency_us.reserve(ids.size());
  for (const auto id : ids) {
    const auto start = std::chrono::steady_clock::now();
    const auto value = cache.get_or_load(id, loader);
    latency_us.push_back(std::chrono::duration<float, std::micro>(std::chrono::steady_clock::now() - start).count());
    if (!value || value->id != id) throw std::runtime_error("wrong row for product " + std::to_string(id));
  }
  cache.wait_for_prefetches();
  const auto s = cache.stats();
  outcome o;
  o.requests = ids.size();
  o.hits = s.demand_hits;
  o.queries = db.queries() - queries_before;
  o.prefetches = s.issued;
  o.accuracy = s.accuracy();
  std::sort(latency_us.begin(), latency_us.end());
  o.p50_us = latency_us[latency_us.size() / 2];
  o.p99_us = latency_us[latency_us.size() * 99 / 100];
  return o;
}

void report(const char* name, const outcome& o) {
  std::printf("  %-22s hit ratio %.4f   SQL queries %8llu (%llu prefetches, accuracy %.2f)   p50 %6.1f us   p99 %7.1f us\n",
              name, double(o.hits) / double(o.requests), static_cast<unsigned long long>(o.queries),
              static_cast<unsigned long long>(o.prefetches), o.accuracy, o.p50_us, o.p99_us);
}

}  // namespace

int main(int argc, char** argv) try {
  std::size_t limit = 1'000'000;
  std::filesystem::path db_path = std::filesystem::temp_directory_path() / "prescient_catalog.db";
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--limit" && i + 1 < argc) limit = std::stoull(argv[++i]);
    else if (a == "--db" && i + 1 < argc) db_path = argv[++i];
    else {
      std::fprintf(stderr, "usage: %s [--limit N] [--db FILE]\n", argv[0]);
      return 2;
    }
  }
  std::printf("building %s: %lld products with categories and reviews\n", db_path.c_str(),
              static_cast<long long>(products));
  catalog::create(db_path, products);
  catalog db(db_path);

  const std::string traces = PRESCIENT_TRACE_DIR;
  struct workload {
    const char* file;
    std::uint64_t capacity;
  };
  for (const workload w : {workload{"cache2k-web07.trace.xz", 2000}, workload{"cache2k-orm-busy.trace.xz", 7500}}) {
    const auto requests = trace::load(traces + "/" + w.file, "i32be", {}, limit);
    std::vector<std::int64_t> ids;
    ids.reserve(requests.size());
    // The trace's keys onto the catalogue's rows (a key always reads the same product).
    for (const auto& r : requests) ids.push_back(static_cast<std::int64_t>(mix64(r.key) % products) + 1);
    std::printf("\n%s: %zu reads, cache of %llu products\n", w.file, ids.size(), static_cast<unsigned long long>(w.capacity));
    const prefetch::prefetching_config off{.planner = {.budget = 0}};
    report("lru", replay<policy::lru>(db, ids, w.capacity, off));
    report("s3fifo", replay<policy::s3fifo>(db, ids, w.capacity, off));
    using learned = policy::learned<learn::compiled_forest>;
    learned::config lcfg;
    lcfg.mode = policy::training_mode::background;  // a host trains off the request path
    report("learned + prefetch", replay<learned>(db, ids, w.capacity, {}, lcfg));
  }
  std::filesystem::remove(db_path);
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "sqlite_catalog: %s\n", e.what());
  return 1;
}
