// prescient-sim — replays real traces through any set of policies and cache sizes.
//
//   prescient-sim --trace FILE --format NAME --policies lru,s3fifo,belady --sizes 1500,7500
//                 [--sizes 2%,10%] [--ignore-size] [--limit N] [--json] [--plot FILE.svg]
//                 [--param POLICY:key=value,...] [--threads N] [--model FILE]
//
// `learned` is the learned policy (policy/learned.hpp): it learns online from an empty
// model, or starts from --model FILE (an xgboost JSON or UBJSON model, e.g. from
// prescient-train). After the table, the simulator prints its decision counters and the
// held-out precision / recall / F1 of its predictions.
//
// `--trace -` reads the standard input (compressed or not; once). The options are
// CLI11's (tools/support/cli.hpp): --help is generated from them; a usage error exits 2
// with one line on stderr; an empty trace or a model of the wrong shape exits 1.
//
// The trace is decoded once into memory and every (policy, size) pair is replayed from
// there, several at a time on the available cores. Sizes are objects with --ignore-size
// and bytes otherwise (k, M, G suffixes accepted); N% is a share of the trace's unique
// keys (or unique bytes).
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "prescient/advisor.hpp"
#include "prescient/learn/features.hpp"
#include "prescient/learn/forest_trainer.hpp"
#include "prescient/policy/registry.hpp"
#include "sim/prefetch_replay.hpp"
#include "sim/replay.hpp"
#include "prescient/trace/next_access.hpp"
#include "prescient/trace/reader.hpp"
#include "support/cli.hpp"
#include "svg_plot.hpp"

namespace {

namespace cli = prescient::tools::cli;

using prescient::sim::replay_options;
using prescient::sim::replay_result;

struct size_spec {
  double value = 0;
  bool percent = false;
};

struct options {
  std::vector<std::string> traces;
  std::vector<std::string> formats;
  std::vector<std::string> policies;
  std::vector<size_spec> sizes;
  std::map<std::string, std::string> params;
  bool ignore_size = false;
  bool json = false;
  std::uint64_t limit = 0;
  std::string plot;
  unsigned threads = 0;
  prescient::trace::format_options format_opts;
  // --mrc: miniature simulation
  bool mrc = false;
  double sample = 0.01;
  std::size_t sample_keys = 0;
  bool exact = false;
  std::optional<size_spec> at;
  std::optional<double> target;
  std::string model;
  bool prefetch = false;
  prescient::sim::prefetch_options prefetch_opts;
};

constexpr std::string_view tool = "prescient-sim";

std::vector<std::string> split(std::string_view s, char sep) {
  std::vector<std::string> out;
  while (true) {
    const auto i = s.find(sep);
    if (!s.substr(0, i).empty()) out.emplace_back(s.substr(0, i));
    if (i == std::string_view::npos) break;
    s.remove_prefix(i + 1);
  }
  return out;
}

size_spec parse_size(const std::string& text) {
  size_spec spec;
  std::string t = text;
  double mult = 1;
  if (!t.empty() && t.back() == '%') {
    spec.percent = true;
    t.pop_back();
  } else if (!t.empty() && std::string_view("kKmMgG").find(t.back()) != std::string_view::npos) {
    const char c = static_cast<char>(std::tolower(t.back()));
    mult = c == 'k' ? 1024.0 : c == 'm' ? 1024.0 * 1024 : 1024.0 * 1024 * 1024;
    t.pop_back();
  }
  char* end = nullptr;
  spec.value = std::strtod(t.c_str(), &end);
  if (t.empty() || end != t.c_str() + t.size() || !(spec.value > 0) || !std::isfinite(spec.value))
    throw cli::usage_error("bad size '" + text + "'");
  spec.value *= mult;
  return spec;
}

// The options, bound to `o`; CLI11 writes the help from these definitions (and the
// defaults it shows are the values `o` starts with).
void define_options(CLI::App& app, options& o, std::vector<std::string>& sizes, std::vector<std::string>& policies,
                    std::vector<std::string>& params, std::string& at, std::string& prefetch_model) {
  using cli::whole_number;
  std::string names;
  for (auto n : prescient::sim::replayable_policies()) {
    if (!names.empty()) names.push_back(',');
    names.append(n);
  }
  cli::prepare(app, tool, "prescient-sim --trace FILE --format NAME --policies LIST --sizes LIST [options]");
  auto all = CLI::MultiOptionPolicy::TakeAll;
  app.add_option("--trace", o.traces, "a trace (.xz, .gz, .zst or plain; - is the standard input);\nrepeat for several")
      ->type_name("FILE")->expected(1)->allow_extra_args(false)->multi_option_policy(all);
  app.add_option("--format", o.formats,
                 "i32be, u32be, i64be, lines, time-key-size, oracle-general, csv\n"
                 "(once for all traces, or once per trace in order)")
      ->type_name("NAME")->expected(1)->allow_extra_args(false)->multi_option_policy(all);
  app.add_option("--policies", policies, "comma separated (default: all) of\n" + names)
      ->type_name("LIST")->expected(1)->allow_extra_args(false)->multi_option_policy(all);
  app.add_option("--sizes", sizes,
                 "comma separated: objects (--ignore-size) or bytes (k/M/G), or N%\n"
                 "of the unique keys (bytes); repeatable")
      ->type_name("LIST")->expected(1)->allow_extra_args(false)->multi_option_policy(all);
  app.add_option("--param", params, "parameters of policy P (e.g. s3fifo:small=0.2)")
      ->type_name("P:K=V,...")->expected(1)->allow_extra_args(false)->multi_option_policy(all);
  app.add_flag("--ignore-size", o.ignore_size, "every object weighs 1");
  app.add_option("--limit", o.limit, "replay only the first N requests (0: all)")
      ->type_name("N")->check(whole_number<std::uint64_t>());
  app.add_flag("--json", o.json, "one JSON object per (trace, policy, size) on stdout");
  app.add_option("--plot", o.plot, "draw the miss-ratio curves")->type_name("FILE.svg");
  app.add_option("--threads", o.threads, "replays run at once (default: the cores)")
      ->type_name("N")->check(whole_number<unsigned>());
  app.add_option("--model", o.model, "start `learned` from this xgboost model (JSON or UBJSON)")->type_name("FILE");

  const std::string prefetch = "Prefetching";
  app.add_flag("--prefetch", o.prefetch, "also replay with the prefetch planner; print its figures")->group(prefetch);
  app.add_option("--prefetch-delay", o.prefetch_opts.delay, "requests before a prefetch arrives")
      ->type_name("N")->check(whole_number<std::uint64_t>())->capture_default_str()->group(prefetch);
  app.add_option("--prefetch-budget", o.prefetch_opts.planner.budget, "prefetches per request")
      ->type_name("N")->check(whole_number<std::size_t>())->capture_default_str()->group(prefetch);
  app.add_option("--prefetch-min-p", o.prefetch_opts.planner.min_probability, "least probability of a successor")
      ->type_name("P")->check(cli::share(true, "a probability"))->capture_default_str()->group(prefetch);
  app.add_option("--prefetch-lookahead", o.prefetch_opts.planner.successors.lookahead,
                 "requests after a key that count as following it")
      ->type_name("N")->check(whole_number<std::size_t>())->capture_default_str()->group(prefetch);
  app.add_option("--prefetch-model", prefetch_model, "what scores the candidates: ridge or forest")
      ->type_name("M")->capture_default_str()->group(prefetch)
      ->check(CLI::Validator(
          [](std::string& v) { return v == "ridge" || v == "forest" ? std::string() : "wants ridge or forest, got '" + v + "'"; },
          ""));

  const std::string mrc = "Miniature simulation (SHARDS)";
  app.add_flag("--mrc", o.mrc, "approximate miss-ratio curves by miniature simulation")->group(mrc);
  app.add_option("--sample", o.sample, "sampling rate")
      ->type_name("R")->check(cli::share(true, "a rate"))->capture_default_str()->group(mrc);
  app.add_option("--sample-keys", o.sample_keys, "fixed-size SHARDS: track at most N sampled keys")
      ->type_name("N")->check(whole_number<std::size_t>())->group(mrc);
  app.add_flag("--exact", o.exact, "also replay in full and report the error of the estimate")->group(mrc);
  app.add_option("--at", at, "recommend the best policy at this size (default: middle size)")
      ->type_name("SIZE")->group(mrc);
  app.add_option_function<double>(
         "--target", [&o](const double& m) { o.target = m; }, "report the smallest size reaching miss ratio M")
      ->type_name("M")->check(cli::share(false, "a miss ratio"))->group(mrc);

  const std::string csv = "CSV format (--format csv)";
  app.add_option("--csv-key", o.format_opts.key_column, "column of the key (from 0)")
      ->type_name("COL")->check(whole_number<std::size_t>())->capture_default_str()->group(csv);
  app.add_option_function<std::size_t>(
         "--csv-size", [&o](const std::size_t& c) { o.format_opts.size_column = c; },
         "column of the size in bytes (default: none, size 1)")
      ->type_name("COL")->check(whole_number<std::size_t>())->group(csv);
  app.add_option_function<std::size_t>(
         "--csv-time", [&o](const std::size_t& c) { o.format_opts.time_column = c; },
         "column of an integer timestamp (default: none)")
      ->type_name("COL")->check(whole_number<std::size_t>())->group(csv);
  app.add_option_function<std::string>(
         "--csv-delimiter", [&o](const std::string& d) { o.format_opts.delimiter = d[0]; }, "field separator")
      ->type_name("C")->default_str(std::string(1, o.format_opts.delimiter))->group(csv)
      ->check(CLI::Validator(
          [](std::string& v) { return v.size() == 1 ? std::string() : "wants one character, got '" + v + "'"; }, ""));
  app.add_flag("--csv-header", o.format_opts.has_header, "skip the first line")->group(csv);
}

// The rules between options, after CLI11 has read them (throws cli::usage_error).
void validate(options& o, const std::vector<std::string>& sizes, const std::vector<std::string>& policies,
              const std::vector<std::string>& params, const std::string& at, const std::string& prefetch_model) {
  for (const auto& list : policies)
    for (auto& p : split(list, ',')) o.policies.push_back(p);
  for (const auto& list : sizes)
    for (auto& s : split(list, ',')) o.sizes.push_back(parse_size(s));
  for (const auto& v : params) {
    const auto colon = v.find(':');
    if (colon == std::string::npos || colon == 0) throw cli::usage_error("--param wants POLICY:key=value,...");
    o.params[v.substr(0, colon)] = v.substr(colon + 1);
  }
  if (!at.empty()) o.at = parse_size(at);
  if (prefetch_model == "forest")
    o.prefetch_opts.planner.scorer.forest =
        prescient::learn::forest_trainer(prescient::learn::candidate_forest_params());
  if (o.traces.empty()) throw cli::usage_error("no --trace given");
  if (std::count_if(o.traces.begin(), o.traces.end(), cli::is_stdin) > 1)
    throw cli::usage_error("--trace -: the standard input can be read only once");
  if (o.formats.empty()) throw cli::usage_error("no --format given");
  if (o.formats.size() != 1 && o.formats.size() != o.traces.size())
    throw cli::usage_error("give one --format for all traces or one per trace");
  if (o.sizes.empty() && !o.mrc) throw cli::usage_error("no --sizes given");
  // --mrc without --sizes: a grid chosen once the footprint is known (see mrc_sizes).
  if (o.policies.empty())
    for (auto n : o.mrc ? prescient::policy::policy_names() : prescient::sim::replayable_policies())
      if (!o.mrc || n != "belady") o.policies.emplace_back(n);
  if (o.mrc && std::find(o.policies.begin(), o.policies.end(), "belady") != o.policies.end())
    throw cli::usage_error("--mrc: belady needs the future and cannot be sampled online; leave it out");
  if (o.mrc && std::find(o.policies.begin(), o.policies.end(), "learned") != o.policies.end())
    throw cli::usage_error("--mrc: the learned policy has no miniature simulation; leave it out");
  for (const auto& p : o.policies) {
    const auto names = prescient::sim::replayable_policies();
    if (std::find(names.begin(), names.end(), p) == names.end()) throw cli::usage_error("unknown policy '" + p + "'");
  }
  if (o.threads == 0) o.threads = std::max(1u, std::thread::hardware_concurrency());
}

std::string json_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) < 0x20) continue;
    out += c;
  }
  return out;
}

// A progress line on stderr while replays run, only when stderr is a terminal.
class progress_bar {
 public:
  progress_bar(std::uint64_t total, std::atomic<std::uint64_t>& done) : total_(total), done_(done) {
    if (total_ == 0 || !::isatty(STDERR_FILENO)) return;
    thread_ = std::thread([this] { run(); });
  }
  ~progress_bar() {
    stop_.store(true);
    if (thread_.joinable()) {
      thread_.join();
      std::fprintf(stderr, "\r\033[K");
    }
  }

 private:
  void run() {
    const auto start = std::chrono::steady_clock::now();
    while (!stop_.load()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      const double done = static_cast<double>(done_.load());
      const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      const double frac = std::min(1.0, done / static_cast<double>(total_));
      const double rate = secs > 0 ? done / secs : 0;
      const double eta = rate > 0 ? (static_cast<double>(total_) - done) / rate : 0;
      constexpr int width = 30;
      std::string bar(static_cast<std::size_t>(frac * width), '#');
      bar.resize(width, '.');
      std::fprintf(stderr, "\r[%s] %5.1f%%  %.1fM of %.1fM requests  %.1f Mreq/s  ETA %.0fs\033[K", bar.c_str(),
                   100 * frac, done / 1e6, static_cast<double>(total_) / 1e6, rate / 1e6, eta);
    }
  }
  std::uint64_t total_;
  std::atomic<std::uint64_t>& done_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

struct job {
  std::string policy;
  std::uint64_t capacity;
  std::size_t size_index;
};

// Runs work(j) for j in [0, n) on up to `threads` workers; rethrows the first error.
template <class Work>
void parallel_jobs(std::size_t n, unsigned threads, Work&& work) {
  std::vector<std::exception_ptr> errors(n);
  std::atomic<std::size_t> next{0};
  std::vector<std::thread> workers;
  for (unsigned w = 0; w < std::min<std::size_t>(threads, n); ++w)
    workers.emplace_back([&] {
      for (std::size_t j; (j = next.fetch_add(1)) < n;) {
        try {
          work(j);
        } catch (...) {
          errors[j] = std::current_exception();
        }
      }
    });
  for (auto& w : workers) w.join();
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
}

replay_options job_options(const job& jb, const options& o,
                           const std::shared_ptr<const prescient::learn::compiled_forest>& model) {
  replay_options ro;
  ro.capacity = jb.capacity;
  ro.ignore_size = o.ignore_size;
  if (auto it = o.params.find(jb.policy); it != o.params.end()) ro.params = it->second;
  ro.model = model;
  return ro;
}

// Replays every job on `o.threads` workers; rethrows the first error.
std::vector<replay_result> run_jobs(const std::vector<prescient::trace::request>& requests,
                                    const std::vector<job>& jobs, const options& o,
                                    const std::shared_ptr<const prescient::learn::compiled_forest>& model) {
  std::vector<replay_result> results(jobs.size());
  std::atomic<std::uint64_t> done{0};
  progress_bar bar(requests.size() * jobs.size(), done);
  parallel_jobs(jobs.size(), o.threads, [&](std::size_t j) {
    replay_options ro = job_options(jobs[j], o, model);
    ro.progress = &done;
    results[j] = prescient::sim::replay(jobs[j].policy, requests, ro);
  });
  return results;
}

std::uint64_t resolve_size(const size_spec& s, const prescient::sim::footprint& fp, bool ignore_size) {
  const double base = static_cast<double>(ignore_size ? fp.unique_keys : fp.unique_bytes);
  return std::max<std::uint64_t>(1, static_cast<std::uint64_t>(std::llround(s.percent ? s.value / 100.0 * base : s.value)));
}

// --mrc: the policy advisor over the trace, and with --exact the full replays beside it.
void run_mrc(const std::string& name, const std::vector<prescient::trace::request>& requests,
             const prescient::sim::footprint& fp, const options& o,
             std::vector<prescient::sim::plot_series>& plot) {
  std::vector<std::uint64_t> sizes;
  for (const auto& s : o.sizes) sizes.push_back(resolve_size(s, fp, o.ignore_size));
  if (sizes.empty()) {
    // 12 sizes, evenly spaced on a log scale from the smallest size whose miniature
    // cache still holds 32 objects (below that the estimate is noise) to 40% of the
    // footprint.
    const double footprint = static_cast<double>(o.ignore_size ? fp.unique_keys : fp.unique_bytes);
    const double mean_size = footprint / static_cast<double>(std::max<std::uint64_t>(1, fp.unique_keys));
    const double hi = 0.4 * footprint;
    const double lo = std::min(hi / 2, std::max(0.001 * footprint, 32.0 * mean_size / o.sample));
    for (int i = 0; i < 12; ++i) sizes.push_back(static_cast<std::uint64_t>(std::llround(lo * std::pow(hi / lo, i / 11.0))));
  }
  std::sort(sizes.begin(), sizes.end());
  sizes.erase(std::unique(sizes.begin(), sizes.end()), sizes.end());

  prescient::advisor_config cfg;
  cfg.sample_rate = o.sample;
  cfg.max_tracked_keys = o.sample_keys;
  cfg.policies.clear();
  for (const auto& p : o.policies) {
    const auto it = o.params.find(p);
    cfg.policies.push_back(it == o.params.end() ? p : p + ":" + it->second);
  }
  cfg.sizes = sizes;
  cfg.ignore_size = o.ignore_size;
  const auto t0 = std::chrono::steady_clock::now();
  prescient::policy_advisor advisor(cfg);
  for (const auto& r : requests) advisor.record(r.key, r.size);
  const double mrc_secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  auto advisor_name = [&](const std::string& p) {
    const auto it = o.params.find(p);
    return it == o.params.end() ? p : p + ":" + it->second;
  };
  std::vector<replay_result> exact;
  std::vector<job> jobs;
  double full_lru_secs = 0;
  if (o.exact) {
    for (std::size_t si = 0; si < sizes.size(); ++si)
      for (const auto& p : o.policies) jobs.push_back(job{p, sizes[si], si});
    exact = run_jobs(requests, jobs, o, nullptr);
    // The yardstick for the estimate's cost: one full replay of LRU at the largest size.
    replay_options ro;
    ro.capacity = sizes.back();
    ro.ignore_size = o.ignore_size;
    full_lru_secs = prescient::sim::replay("lru", requests, ro).seconds;
  }
  auto exact_of = [&](const std::string& p, std::size_t si) -> const replay_result* {
    for (std::size_t j = 0; j < jobs.size(); ++j)
      if (jobs[j].policy == p && jobs[j].size_index == si) return &exact[j];
    return nullptr;
  };

  if (o.json) {
    for (const auto& p : o.policies) {
      const auto c = advisor.curve(advisor_name(p));
      for (std::size_t si = 0; si < c.size(); ++si) {
        std::printf("{\"trace\":\"%s\",\"policy\":\"%s\",\"size\":%llu,\"sample_rate\":%.6f,"
                    "\"approx_miss_ratio\":%.6f", json_escape(name).c_str(), p.c_str(),
                    static_cast<unsigned long long>(c[si].size), advisor.sample_rate(), c[si].miss_ratio);
        if (const auto* e = exact_of(p, si)) std::printf(",\"miss_ratio\":%.6f", e->miss_ratio());
        std::printf("}\n");
      }
    }
    return;
  }
  std::printf("\n%s: miniature simulation at R = %.4g (%llu of %zu requests sampled), %zu unique keys\n", name.c_str(),
              advisor.sample_rate(), static_cast<unsigned long long>(advisor.sampled_requests()), requests.size(),
              static_cast<std::size_t>(fp.unique_keys));
  std::printf("%-12s", o.ignore_size ? "size (obj)" : "size (B)");
  for (const auto& p : o.policies) std::printf(" %*s", o.exact ? 17 : 9, p.c_str());
  std::printf("\n");
  if (o.exact) {
    std::printf("%-12s", "");
    for (std::size_t i = 0; i < o.policies.size(); ++i) std::printf(" %17s", "approx / exact");
    std::printf("\n");
  }
  double abs_err = 0;
  std::size_t points = 0, decisive = 0, agree = 0;
  for (std::size_t si = 0; si < sizes.size(); ++si) {
    std::printf("%-12llu", static_cast<unsigned long long>(sizes[si]));
    for (const auto& p : o.policies) {
      const double approx = advisor.curve(advisor_name(p))[si].miss_ratio;
      if (const auto* e = exact_of(p, si)) {
        std::printf("   %.4f / %.4f", approx, e->miss_ratio());
        abs_err += std::abs(approx - e->miss_ratio());
        ++points;
      } else {
        std::printf(" %9.4f", approx);
      }
    }
    if (o.exact) {
      // Does the estimate pick the policy full simulation picks, where it matters?
      std::vector<std::pair<double, std::string>> ranked;
      for (const auto& p : o.policies) ranked.emplace_back(exact_of(p, si)->miss_ratio(), p);
      std::sort(ranked.begin(), ranked.end());
      std::string approx_best = advisor.best_policy(sizes[si]);
      approx_best = approx_best.substr(0, approx_best.find(':'));
      if (ranked.size() > 1 && ranked[1].first - ranked[0].first > 0.01) {
        ++decisive;
        agree += approx_best == ranked[0].second ? 1 : 0;
        std::printf("   best %s%s", ranked[0].second.c_str(), approx_best == ranked[0].second ? " (agrees)" : "");
        if (approx_best != ranked[0].second) std::printf(" (estimate: %s)", approx_best.c_str());
      }
    }
    std::printf("\n");
  }
  const std::uint64_t at = o.at ? resolve_size(*o.at, fp, o.ignore_size) : sizes[sizes.size() / 2];
  const std::string best_name = advisor.best_policy(at);
  const std::string best = best_name.substr(0, best_name.find(':'));
  std::printf("recommendation: at size %llu the best policy is %s (estimated miss ratio %.4f)\n",
              static_cast<unsigned long long>(at), best.c_str(), advisor.miss_ratio(best_name, at));
  if (o.target) {
    std::string who;
    std::optional<std::uint64_t> smallest;
    for (const auto& p : o.policies)
      if (auto s = advisor.smallest_size_for(advisor_name(p), *o.target);
          s && (!smallest || *s < *smallest ||
                (*s == *smallest && advisor.miss_ratio(advisor_name(p), *s) < advisor.miss_ratio(advisor_name(who), *s)))) {
        smallest = s;
        who = p;
      }
    if (smallest)
      std::printf("recommendation: miss ratio %.4f is first reached at size %llu, with %s\n", *o.target,
                  static_cast<unsigned long long>(*smallest), who.c_str());
    else
      std::printf("recommendation: no evaluated size reaches miss ratio %.4f\n", *o.target);
  }
  std::printf("cost: all curves in %.3f s (%zu policies x %zu sizes)", mrc_secs, o.policies.size(), sizes.size());
  if (o.exact) {
    const double per_policy = mrc_secs / static_cast<double>(o.policies.size());
    std::printf("; one full LRU replay at %llu: %.3f s; one policy's curve costs %.2f of it\n",
                static_cast<unsigned long long>(sizes.back()), full_lru_secs,
                full_lru_secs > 0 ? per_policy / full_lru_secs : 0.0);
    std::printf("accuracy: mean absolute error %.4f over %zu points; best policy agrees on %zu of %zu sizes where "
                "the best two differ by > 0.01\n", points ? abs_err / double(points) : 0.0, points, agree, decisive);
  } else {
    std::printf("\n");
  }
  for (std::size_t pi = 0; pi < o.policies.size(); ++pi) {
    const std::string& p = o.policies[pi];
    prescient::sim::plot_series approx{p + " (approx.)", {}, true, static_cast<int>(pi)};
    for (const auto& pt : advisor.curve(advisor_name(p))) approx.points.emplace_back(double(pt.size), pt.miss_ratio);
    if (o.exact) {
      prescient::sim::plot_series full{p, {}, false, static_cast<int>(pi)};
      for (std::size_t si = 0; si < sizes.size(); ++si) full.points.emplace_back(double(sizes[si]), exact_of(p, si)->miss_ratio());
      plot.push_back(std::move(full));
    }
    plot.push_back(std::move(approx));
  }
}

void report_table(const std::string& trace_name, const std::string& format, std::size_t requests,
                  const prescient::sim::footprint& fp, const std::vector<size_spec>& sizes,
                  const std::vector<std::string>& policies, const std::vector<job>& jobs,
                  const std::vector<replay_result>& results, bool ignore_size) {
  std::printf("\n%s (%s): %zu requests, %llu unique keys, %llu unique bytes\n", trace_name.c_str(), format.c_str(),
              requests, static_cast<unsigned long long>(fp.unique_keys),
              static_cast<unsigned long long>(fp.unique_bytes));
  std::printf("%-12s %-10s %10s %10s %10s %10s %9s\n", ignore_size ? "size (obj)" : "size (B)", "policy",
              "miss ratio", "byte miss", "vs OPT", "gap closed", "Mreq/s");
  for (std::size_t si = 0; si < sizes.size(); ++si) {
    auto find = [&](std::string_view p) -> const replay_result* {
      for (std::size_t j = 0; j < jobs.size(); ++j)
        if (jobs[j].size_index == si && jobs[j].policy == p) return &results[j];
      return nullptr;
    };
    const replay_result* opt = find("belady");
    const replay_result* lru = find("lru");
    double best = 2;
    for (const auto& p : policies)
      if (p != "belady") best = std::min(best, find(p)->miss_ratio());
    bool first = true;
    for (const auto& p : policies) {
      const replay_result& r = *find(p);
      char vs_opt[32] = "", gap[32] = "";
      if (opt && p != "belady") std::snprintf(vs_opt, sizeof vs_opt, "%+.4f", r.miss_ratio() - opt->miss_ratio());
      if (opt && lru && lru->miss_ratio() > opt->miss_ratio() + 1e-12)
        std::snprintf(gap, sizeof gap, "%.1f%%",
                      100 * (lru->miss_ratio() - r.miss_ratio()) / (lru->miss_ratio() - opt->miss_ratio()));
      const std::string size_col = first ? std::to_string(r.capacity) : "";
      first = false;
      std::printf("%-12s %-10s %10.4f %10.4f %10s %10s %9.1f%s\n", size_col.c_str(), p.c_str(), r.miss_ratio(),
                  r.byte_miss_ratio(), vs_opt, gap, r.mreq_per_s(),
                  p != "belady" && r.miss_ratio() == best ? "  *best" : (p == "belady" ? "  (ceiling)" : ""));
    }
  }
  for (std::size_t j = 0; j < jobs.size(); ++j) {
    const auto& l = results[j].learned;
    if (!l) continue;
    std::printf("learned at %llu: %llu evictions by the model, %llu by a heuristic without a model, %llu by LRU and "
                "%llu by another heuristic of the panel while the model was out (epochs: %llu model, "
                "%llu heuristic after a lost duel, %llu under the guard; %llu hand-overs between heuristics, "
                "%s at the end); %llu admitted, %llu bypassed; "
                "%llu retrains (%llu failed) in %.2f s, inference %.2f s; held-out reuse within the horizon: "
                "precision %.3f recall %.3f F1 %.3f%s\n",
                static_cast<unsigned long long>(results[j].capacity),
                static_cast<unsigned long long>(l->model_evictions),
                static_cast<unsigned long long>(l->fallback_evictions),
                static_cast<unsigned long long>(l->recency_evictions),
                static_cast<unsigned long long>(l->panel_evictions), static_cast<unsigned long long>(l->model_epochs),
                static_cast<unsigned long long>(l->lru_epochs), static_cast<unsigned long long>(l->guarded_epochs),
                static_cast<unsigned long long>(l->heuristic_switches), l->heuristic.c_str(),
                static_cast<unsigned long long>(l->admissions),
                static_cast<unsigned long long>(l->bypasses), static_cast<unsigned long long>(l->retrains),
                static_cast<unsigned long long>(l->training_failures), l->training_seconds, l->inference_seconds,
                l->precision(), l->recall(), l->f1(), l->model_active ? "" : " (no model at the end: base heuristic)");
  }
}

// --prefetch: every (policy, size) again with the planner, against its plain replay.
void run_prefetch(const std::string& trace_name, const std::vector<prescient::trace::request>& requests,
                  const std::vector<job>& jobs, const std::vector<replay_result>& plain, const options& o,
                  const std::shared_ptr<const prescient::learn::compiled_forest>& model) {
  std::vector<prescient::sim::prefetch_result> out(jobs.size());
  parallel_jobs(jobs.size(), o.threads, [&](std::size_t j) {
    out[j] = prescient::sim::replay_with_prefetch(jobs[j].policy, requests, job_options(jobs[j], o, model),
                                                  o.prefetch_opts);
  });
  if (o.json) {
    for (std::size_t j = 0; j < jobs.size(); ++j) {
      const auto& r = out[j];
      std::printf("{\"trace\":\"%s\",\"policy\":\"%s\",\"size\":%llu,\"prefetch\":true,\"miss_ratio\":%.6f,"
                  "\"miss_ratio_without\":%.6f,\"issued\":%llu,\"used\":%llu,\"accuracy\":%.4f,\"coverage\":%.4f}\n",
                  json_escape(trace_name).c_str(), jobs[j].policy.c_str(), static_cast<unsigned long long>(jobs[j].capacity),
                  r.demand.miss_ratio(), plain[j].miss_ratio(), static_cast<unsigned long long>(r.issued),
                  static_cast<unsigned long long>(r.used), r.accuracy(), r.coverage(plain[j].misses));
    }
    return;
  }
  std::printf("\nprefetching (delay %llu, budget %zu, min p %.2f, lookahead %zu, %s scorer): demand miss ratio without and with\n",
              static_cast<unsigned long long>(o.prefetch_opts.delay), o.prefetch_opts.planner.budget,
              static_cast<double>(o.prefetch_opts.planner.min_probability), o.prefetch_opts.planner.successors.lookahead,
              o.prefetch_opts.planner.scorer.forest ? "forest" : "ridge");
  std::printf("%-12s %-10s %9s %9s %8s %9s %9s %9s %9s\n", o.ignore_size ? "size (obj)" : "size (B)", "policy", "without",
              "with", "change", "issued", "used", "accuracy", "coverage");
  for (std::size_t j = 0; j < jobs.size(); ++j) {
    const auto& r = out[j];
    const double without = plain[j].miss_ratio();
    std::printf("%-12llu %-10s %9.4f %9.4f %+7.1f%% %9llu %9llu %9.3f %9.3f\n",
                static_cast<unsigned long long>(jobs[j].capacity), jobs[j].policy.c_str(), without, r.demand.miss_ratio(),
                without > 0 ? 100 * (r.demand.miss_ratio() - without) / without : 0.0,
                static_cast<unsigned long long>(r.issued), static_cast<unsigned long long>(r.used), r.accuracy(),
                r.coverage(plain[j].misses));
  }
  std::printf("(issued = extra backend loads; accuracy = used / issued; coverage = share of demand misses removed)\n");
}

}  // namespace

int main(int argc, char** argv) try {
  options o;
  {
    CLI::App app("prescient-sim: replays traces through cache policies and sizes, and prints their miss ratios",
                 std::string(tool));
    std::vector<std::string> sizes, policies, params;
    std::string at, prefetch_model = "ridge";
    define_options(app, o, sizes, policies, params, at, prefetch_model);
    if (const auto rc = cli::run_parser(app, argc, argv, tool,
                                        [&] { validate(o, sizes, policies, params, at, prefetch_model); }))
      return *rc;
  }
  const bool need_oracle = std::find(o.policies.begin(), o.policies.end(), "belady") != o.policies.end();
  std::vector<prescient::sim::plot_series> plot;
  std::shared_ptr<const prescient::learn::compiled_forest> model;
  if (!o.model.empty()) {
    model = prescient::learn::load_forest(o.model);
    // The learned policy writes rows of learn::feature_count columns (features.hpp) and
    // would refuse this model at every install, going on without it: refuse it here.
    if (model->num_features() != prescient::learn::feature_count)
      throw std::runtime_error(o.model + ": the model has " + std::to_string(model->num_features()) +
                               " features, the learned policy expects " +
                               std::to_string(prescient::learn::feature_count));
  }

  for (std::size_t t = 0; t < o.traces.size(); ++t) {
    const std::string& path = o.traces[t];
    const std::string& format = o.formats.size() == 1 ? o.formats[0] : o.formats[t];
    const auto load_start = std::chrono::steady_clock::now();
    std::vector<prescient::trace::request> requests =
        cli::load_trace(path, format, o.format_opts, o.limit ? o.limit : prescient::trace::unlimited);
    const std::string shown = cli::shown_path(path);
    if (requests.empty()) throw std::runtime_error(shown + ": no requests (empty trace)");
    if (need_oracle) prescient::trace::annotate_next_access(requests);
    const double load_secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - load_start).count();
    const auto fp = prescient::sim::measure_footprint(requests);
    if (!o.json)
      std::fprintf(stderr, "%s: decoded %zu requests in %.2f s\n", shown.c_str(), requests.size(), load_secs);

    const std::string name = cli::trace_name(path);
    if (o.mrc) {
      run_mrc(name, requests, fp, o, plot);
      continue;
    }
    std::vector<job> jobs;
    for (std::size_t si = 0; si < o.sizes.size(); ++si)
      for (const auto& p : o.policies) jobs.push_back(job{p, resolve_size(o.sizes[si], fp, o.ignore_size), si});

    const std::vector<replay_result> results = run_jobs(requests, jobs, o, model);

    if (o.json) {
      for (std::size_t j = 0; j < jobs.size(); ++j) {
        const auto& r = results[j];
        std::printf("{\"trace\":\"%s\",\"policy\":\"%s\",\"size\":%llu,\"ignore_size\":%s,\"requests\":%llu,"
                    "\"misses\":%llu,\"miss_ratio\":%.6f,\"byte_miss_ratio\":%.6f,\"mreq_per_s\":%.3f,"
                    "\"metadata_bytes_per_entry\":%zu",
                    json_escape(name).c_str(), r.policy.c_str(), static_cast<unsigned long long>(r.capacity),
                    o.ignore_size ? "true" : "false", static_cast<unsigned long long>(r.requests),
                    static_cast<unsigned long long>(r.misses), r.miss_ratio(), r.byte_miss_ratio(), r.mreq_per_s(),
                    r.metadata_bytes_per_entry);
        if (const auto& l = r.learned) {
          std::printf(",\"model_evictions\":%llu,\"fallback_evictions\":%llu,\"recency_evictions\":%llu,"
                      "\"panel_evictions\":%llu,\"heuristic_switches\":%llu,\"heuristic\":\"%s\","
                      "\"model_epochs\":%llu,\"lru_epochs\":%llu,\"guarded_epochs\":%llu,\"guard_trips\":%llu,"
                      "\"routs\":%llu,"
                      "\"admissions\":%llu,\"bypasses\":%llu,\"rankings\":%llu,\"rows_scored\":%llu,"
                      "\"rows_screened_out\":%llu,\"samples\":%llu,\"labelled\":%llu,"
                      "\"retrains\":%llu,\"training_failures\":%llu,\"training_seconds\":%.4f,"
                      "\"inference_seconds\":%.4f,\"precision\":%.4f,\"recall\":%.4f,\"f1\":%.4f",
                      static_cast<unsigned long long>(l->model_evictions),
                      static_cast<unsigned long long>(l->fallback_evictions),
                      static_cast<unsigned long long>(l->recency_evictions),
                      static_cast<unsigned long long>(l->panel_evictions),
                      static_cast<unsigned long long>(l->heuristic_switches), l->heuristic.c_str(),
                      static_cast<unsigned long long>(l->model_epochs), static_cast<unsigned long long>(l->lru_epochs),
                      static_cast<unsigned long long>(l->guarded_epochs), static_cast<unsigned long long>(l->guard_trips),
                      static_cast<unsigned long long>(l->routs),
                      static_cast<unsigned long long>(l->admissions), static_cast<unsigned long long>(l->bypasses),
                      static_cast<unsigned long long>(l->rankings), static_cast<unsigned long long>(l->rows_scored),
                      static_cast<unsigned long long>(l->rows_screened_out), static_cast<unsigned long long>(l->samples),
                      static_cast<unsigned long long>(l->labelled),
                      static_cast<unsigned long long>(l->retrains),
                      static_cast<unsigned long long>(l->training_failures), l->training_seconds,
                      l->inference_seconds, l->precision(), l->recall(), l->f1());
        }
        std::printf("}\n");
      }
    } else {
      report_table(name, format, requests.size(), fp, o.sizes, o.policies, jobs, results, o.ignore_size);
    }
    if (o.prefetch) run_prefetch(name, requests, jobs, results, o, model);
    for (const auto& p : o.policies) {
      prescient::sim::plot_series s;
      s.label = (o.traces.size() > 1 ? name + " " : "") + p;
      for (std::size_t j = 0; j < jobs.size(); ++j)
        if (jobs[j].policy == p) s.points.emplace_back(static_cast<double>(results[j].capacity), results[j].miss_ratio());
      plot.push_back(std::move(s));
    }
  }
  if (!o.plot.empty()) {
    prescient::sim::write_svg_plot(o.plot, "miss ratio by cache size",
                                   o.ignore_size ? "cache size (objects)" : "cache size (bytes)", plot);
    if (!o.json) std::fprintf(stderr, "wrote %s\n", o.plot.c_str());
  }
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "prescient-sim: %s\n", e.what());
  return 1;
}
