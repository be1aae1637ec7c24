// Host quality against simulator quality: a trace replayed through `concurrent_cache`
// by T threads over S shards (the learned policy training in the background on its one
// shared model, as in a host), beside the simulator's synchronous replay of one `cache`
// of the same total capacity (prescient-sim's engine, same seed). The trace goes in
// rounds of 256 × T requests; in a round thread t replays the requests i with i mod T =
// t, in order, and the threads meet at a barrier between rounds, so no thread runs ahead
// of the trace by more than a round (the interleaving within a round, and so the result,
// vary from run to run). Every request is a `get` and, on a miss, a `put`.
//
//   build/release/bench/host_replay_bench [trace [format [sizes [shards [threads [policies [learned-params]]]]]]]
//   build/release/bench/host_replay_bench cache2k-orm-busy.trace.xz i32be 1500,7500 1,8 1,2 s3fifo,learned
//
// Policies: lru, arc, wtinylfu, s3fifo, sieve (nothing trains: one replay each) and learned.
//
// The learned policy runs twice: with its trainer free, as in a host, and settled: in
// rounds of one request per thread, and at each barrier the threads wait until no
// training is running or due (shared_model::wait_idle), so that a model arrives before
// the request after the one that asked for it. (The synchronous simulator installs it
// within that request, one request earlier: one shard and one thread come close to the
// simulator, not to its exact decisions.) Replayed as fast as the machine goes, a ~30 ms
// training lasts ~60,000 requests; in a service taking a request every 100 µs it lasts
// 300: the settled replay is the host's quality without that compression of time.
//
// Prints one line per (size, policy, shards, threads, training): the host's miss ratio,
// the simulator's, and their relative difference. Not a timing benchmark: no Google
// Benchmark run; docs/benchmarks.md has the figures.
#include <atomic>
#include <barrier>
#include <cstdint>
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "prescient/concurrent_cache.hpp"
#include "prescient/learn/compiled_forest.hpp"
#include "prescient/learn/forest_trainer.hpp"
#include "prescient/policy/learned.hpp"
#include "prescient/policy/arc.hpp"
#include "prescient/policy/lru.hpp"
#include "prescient/policy/s3fifo.hpp"
#include "prescient/policy/sieve.hpp"
#include "prescient/policy/wtinylfu.hpp"
#include "prescient/trace/reader.hpp"
#include "sim/replay.hpp"
#include "support/trace_path.hpp"

namespace {

using u64 = std::uint64_t;

std::vector<u64> split(const std::string& s) {
  std::vector<u64> out;
  std::stringstream in(s);
  for (std::string part; std::getline(in, part, ',');) out.push_back(std::stoull(part));
  return out;
}

struct host_result {
  double miss_ratio;
  u64 retrains = 0;
};

template <class Policy>
host_result host_replay(const std::vector<prescient::trace::request>& requests, u64 capacity, std::size_t shards,
                        std::size_t threads, bool settle, typename Policy::config cfg = {}) {
  prescient::concurrent_cache<u64, u64, Policy> c(capacity, {.shards = shards, .policy = std::move(cfg)});
  const std::size_t round = (settle ? 1 : 256) * threads;  // settled: a model arrives before the next request
  // Settled: the shards' shared model, fetched once (an int where the policy has none).
  const auto shared = [&] {
    if constexpr (requires(const Policy& p) { p.shared(); })
      return settle ? c.with_policy_of(u64{0}, [](const Policy& p) { return p.shared(); }) : nullptr;
    else
      return 0;
  }();
  const auto settle_training = [&shared]() noexcept {
    if constexpr (!std::is_same_v<std::decay_t<decltype(shared)>, int>)
      if (shared) shared->wait_idle();
  };
  std::barrier meet(static_cast<std::ptrdiff_t>(threads), settle_training);
  std::vector<std::thread> pool;
  for (std::size_t t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      for (std::size_t from = 0; from < requests.size(); from += round) {
        const std::size_t to = std::min(requests.size(), from + round);
        for (std::size_t i = from + t; i < to; i += threads) {
          const u64 k = requests[i].key;
          if (!c.get(k)) c.put(k, k);
        }
        meet.arrive_and_wait();
      }
    });
  for (auto& th : pool) th.join();
  host_result r{c.stats().miss_ratio()};
  if constexpr (requires { c.policy_stats().retrains; }) {
    const auto st = c.policy_stats();
    r.retrains = st.retrains;
    if (std::getenv("PRESCIENT_HOST_REPLAY_STATS"))  // diagnosis: who evicted (stderr)
      std::fprintf(stderr, "  evictions: model %llu, no model %llu, lru %llu, panel %llu; epochs: model %llu, heuristic %llu, guarded %llu; switches %llu, trips %llu, routs %llu\n",
                   static_cast<unsigned long long>(st.model_evictions), static_cast<unsigned long long>(st.fallback_evictions),
                   static_cast<unsigned long long>(st.recency_evictions), static_cast<unsigned long long>(st.panel_evictions),
                   static_cast<unsigned long long>(st.model_epochs), static_cast<unsigned long long>(st.lru_epochs),
                   static_cast<unsigned long long>(st.guarded_epochs), static_cast<unsigned long long>(st.heuristic_switches),
                   static_cast<unsigned long long>(st.guard_trips), static_cast<unsigned long long>(st.routs));
  }
  return r;
}

}  // namespace

int main(int argc, char** argv) try {
  const std::string trace_name = argc > 1 ? argv[1] : "cache2k-orm-busy.trace.xz";
  const std::string format = argc > 2 ? argv[2] : "i32be";
  const std::vector<u64> sizes = split(argc > 3 ? argv[3] : "1500,7500");
  const std::vector<u64> shard_counts = split(argc > 4 ? argv[4] : "1,8");
  const std::vector<u64> thread_counts = split(argc > 5 ? argv[5] : "1,2");
  std::vector<std::string> policies;
  {
    std::stringstream in(argc > 6 ? argv[6] : "s3fifo,learned");
    for (std::string p; std::getline(in, p, ',');) policies.push_back(p);
  }
  // The learned policy's parameters (the simulator's syntax: key=value,...), for both replays.
  const std::string learned_params = argc > 7 ? argv[7] : "";
  using learned_policy = prescient::policy::learned<prescient::learn::compiled_forest>;
  learned_policy::config learned_cfg;
  {
    std::stringstream in(learned_params);
    for (std::string kv; std::getline(in, kv, ',');) {
      const auto eq = kv.find('=');
      if (eq == std::string::npos || !learned_cfg.set(kv.substr(0, eq), kv.substr(eq + 1)))
        throw std::runtime_error("host_replay_bench: bad learned parameter \"" + kv + "\"");
    }
  }
  const auto path = prescient::tools::find_trace(trace_name);
  if (!path) throw std::runtime_error(prescient::tools::missing_trace_message(trace_name));
  const auto requests = prescient::trace::load(*path, format);
  std::printf("%-8s %-8s %6s %7s %-8s %10s %10s %9s %8s\n", "size", "policy", "shards", "threads", "training", "host",
              "simulator", "relative", "retrains");
  for (const u64 size : sizes) {
    for (const std::string& policy : policies) {
      prescient::sim::replay_options opt;
      opt.capacity = size;
      opt.ignore_size = true;
      if (policy == "learned") opt.params = learned_params;
      const double sim = prescient::sim::replay(policy, requests, opt).miss_ratio();
      for (const u64 s : shard_counts)
        for (const u64 t : thread_counts)
          for (const bool settle : {false, true}) {
            host_result h{};
            if (policy == "learned") {
              h = host_replay<learned_policy>(requests, size, s, t, settle, learned_cfg);
            } else {
              if (settle) continue;  // nothing trains
              if (policy == "s3fifo") h = host_replay<prescient::policy::s3fifo>(requests, size, s, t, false);
              else if (policy == "sieve") h = host_replay<prescient::policy::sieve>(requests, size, s, t, false);
              else if (policy == "lru") h = host_replay<prescient::policy::lru>(requests, size, s, t, false);
              else if (policy == "arc") h = host_replay<prescient::policy::arc>(requests, size, s, t, false);
              else if (policy == "wtinylfu") h = host_replay<prescient::policy::wtinylfu>(requests, size, s, t, false);
              else throw std::runtime_error("host_replay_bench: policies are lru, arc, wtinylfu, s3fifo, sieve and learned, not " + policy);
            }
            std::printf("%-8llu %-8s %6llu %7llu %-8s %10.4f %10.4f %+8.2f%% %8llu\n", static_cast<unsigned long long>(size),
                        policy.c_str(), static_cast<unsigned long long>(s), static_cast<unsigned long long>(t),
                        policy != "learned" ? "-" : settle ? "settled" : "free", h.miss_ratio, sim,
                        100.0 * (h.miss_ratio - sim) / sim, static_cast<unsigned long long>(h.retrains));
            std::fflush(stdout);
          }
    }
  }
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "%s\n", e.what());
  return 1;
}
