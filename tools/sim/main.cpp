// prescient-sim — replays real traces through any set of policies and cache sizes.
//
//   prescient-sim --trace FILE --format NAME --policies lru,s3fifo,belady --sizes 1500,7500
//                 [--sizes 2%,10%] [--ignore-size] [--limit N] [--json] [--plot FILE.svg]
//                 [--ttl N [--ttl-trace-time]]
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
// The trace is streamed, never held whole: this thread reads and decodes it in batches
// (decompression included) while a pool of --threads workers feeds each batch to every
// (policy, size) replay (stream.hpp). A second pass is read only when something must be
// known before replaying: the footprint for N% sizes (or the --mrc grid), and for Belady
// the next-access positions of a format that does not record them (oracle-general
// does), which a first pass writes at 4 bytes per request (trace/next_access.hpp); the
// replays that need neither run during the first pass. Sizes are objects with
// --ignore-size and bytes otherwise (k, M, G suffixes accepted); N% is a share of the
// trace's unique keys (or unique bytes).
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <limits>
#include <map>
#include <memory>
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
#include "prescient/trace/next_access.hpp"
#include "prescient/trace/reader.hpp"
#include "sim/footprint.hpp"
#include "sim/prefetch_replay.hpp"
#include "sim/replay.hpp"
#include "sim/stream.hpp"
#include "sim/trace_input.hpp"
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
  std::uint64_t ttl = 0;
  bool ttl_trace_time = false;
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
  // A cache holds whole objects or bytes: 1.5 would be rounded to a size not asked for.
  if (!spec.percent && spec.value != std::floor(spec.value))
    throw cli::usage_error("bad size '" + text + "': not a whole number of objects or bytes");
  // A cache size converts to a 64-bit count: refuse what would not fit (1e300 once became
  // 2^63 without a word), and a percentage of unique keys beyond any footprint's reach.
  if (spec.percent ? spec.value > 1e6 : spec.value > 1e18)
    throw cli::usage_error("bad size '" + text + "' (at most " + (spec.percent ? "1e6%" : "1e18") + ")");
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
  app.add_option("--ttl", o.ttl,
                 "expire entries N after their write (0: never); N in requests,\n"
                 "or in the trace's time unit with --ttl-trace-time")
      ->type_name("N")->check(whole_number<std::uint64_t>());
  app.add_flag("--ttl-trace-time", o.ttl_trace_time, "--ttl counts the trace's timestamps, not requests");

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
    // Repeated for one policy, the strings add up (a later key overrides an earlier one).
    std::string& joined = o.params[v.substr(0, colon)];
    if (!joined.empty()) joined += ',';
    joined += v.substr(colon + 1);
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
  if (o.ttl != 0 && (o.mrc || o.prefetch)) throw cli::usage_error("--ttl: not with --mrc or --prefetch");
  if (o.ttl_trace_time && o.ttl == 0) throw cli::usage_error("--ttl-trace-time without --ttl");
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
  // Parameters for a policy that will not run would be dropped without a word (a typo in
  // its name, or a policy left out of --policies): refuse them instead.
  for (const auto& [name, params] : o.params) {
    const auto names = prescient::sim::replayable_policies();
    if (std::find(names.begin(), names.end(), name) == names.end())
      throw cli::usage_error("--param " + name + ":" + params + ": unknown policy '" + name + "'");
    if (std::find(o.policies.begin(), o.policies.end(), name) == o.policies.end())
      throw cli::usage_error("--param " + name + ":" + params + ": " + name + " is not among the policies replayed");
    try {
      prescient::sim::check_params(name, params);
    } catch (const prescient::policy::config_error& e) {
      throw cli::usage_error(e.what());
    }
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

// A progress line on stderr while a pass runs, only when stderr is a terminal: the
// requests read so far (the reader waits for the slowest replay, so this is also how far
// every replay has come, within a few batches), against `total` when it is known.
class progress_bar {
 public:
  progress_bar(std::optional<std::uint64_t> total, std::atomic<std::uint64_t>& done) : total_(total), done_(done) {
    if (!::isatty(STDERR_FILENO)) return;
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
      const double rate = secs > 0 ? done / secs : 0;
      if (!total_ || *total_ == 0) {
        std::fprintf(stderr, "\r%.1fM requests  %.1f Mreq/s\033[K", done / 1e6, rate / 1e6);
        continue;
      }
      const double total = static_cast<double>(*total_);
      const double frac = std::min(1.0, done / total);
      const double eta = rate > 0 ? std::max(0.0, total - done) / rate : 0;
      constexpr int width = 30;
      std::string bar(static_cast<std::size_t>(frac * width), '#');
      bar.resize(width, '.');
      std::fprintf(stderr, "\r[%s] %5.1f%%  %.1fM of %.1fM requests  %.1f Mreq/s  ETA %.0fs\033[K", bar.c_str(),
                   100 * frac, done / 1e6, total / 1e6, rate / 1e6, eta);
    }
  }
  std::optional<std::uint64_t> total_;
  std::atomic<std::uint64_t>& done_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

struct job {
  std::string policy;
  std::uint64_t capacity;
  std::size_t size_index;
};

replay_options job_options(const job& jb, const options& o,
                           const std::shared_ptr<const prescient::learn::compiled_forest>& model) {
  replay_options ro;
  ro.capacity = jb.capacity;
  ro.ignore_size = o.ignore_size;
  if (auto it = o.params.find(jb.policy); it != o.params.end()) ro.params = it->second;
  ro.model = model;
  ro.ttl = o.ttl;
  ro.ttl_trace_time = o.ttl_trace_time;
  return ro;
}

std::uint64_t resolve_size(const size_spec& s, const prescient::sim::footprint& fp, bool ignore_size) {
  const double base = static_cast<double>(ignore_size ? fp.unique_keys : fp.unique_bytes);
  return std::max<std::uint64_t>(1, static_cast<std::uint64_t>(std::llround(s.percent ? s.value / 100.0 * base : s.value)));
}

// Everything replayed over one trace, one sink each (stream.hpp), and where the figures
// go: the (policy, size) replays, with --prefetch their prefetching twins, with --mrc the
// miniature simulation (and with --exact the full replays and one LRU replay as the
// yardstick of its cost).
struct trace_plan {
  struct task {
    bool needs_oracle;  // reads next_access (Belady): fed once the positions are known
    prescient::sim::batch_sink feed;
    bool fed = false;   // given to a pass already
  };
  std::vector<job> jobs;
  std::vector<std::unique_ptr<prescient::sim::replayer>> replays;                // one per job
  std::vector<std::unique_ptr<prescient::sim::prefetch_replayer>> prefetches;  // one per job, with --prefetch
  std::vector<std::uint64_t> mrc_sizes;
  std::unique_ptr<prescient::policy_advisor> advisor;
  double advisor_seconds = 0;
  std::unique_ptr<prescient::sim::replayer> yardstick;
  std::vector<task> tasks;
};

// The --mrc sizes: those given, or 12 sizes evenly spaced on a log scale from the
// smallest size whose miniature cache still holds 32 objects (below that the estimate
// is noise) to 40% of the footprint.
std::vector<std::uint64_t> mrc_sizes(const options& o, const prescient::sim::footprint& fp) {
  std::vector<std::uint64_t> sizes;
  for (const auto& s : o.sizes) sizes.push_back(resolve_size(s, fp, o.ignore_size));
  if (sizes.empty()) {
    const double footprint = static_cast<double>(o.ignore_size ? fp.unique_keys : fp.unique_bytes);
    const double mean_size = footprint / static_cast<double>(std::max<std::uint64_t>(1, fp.unique_keys));
    const double hi = 0.4 * footprint;
    const double lo = std::min(hi / 2, std::max(0.001 * footprint, 32.0 * mean_size / o.sample));
    for (int i = 0; i < 12; ++i) sizes.push_back(static_cast<std::uint64_t>(std::llround(lo * std::pow(hi / lo, i / 11.0))));
  }
  std::sort(sizes.begin(), sizes.end());
  sizes.erase(std::unique(sizes.begin(), sizes.end()), sizes.end());
  return sizes;
}

// Fills `plan` (which must not move afterwards: the sinks point into it). `fp` is read
// only for N% sizes and the --mrc grid.
void build_plan(trace_plan& plan, const options& o, const prescient::sim::footprint& fp,
                const std::shared_ptr<const prescient::learn::compiled_forest>& model) {
  auto add_replay = [&](const job& jb, const std::shared_ptr<const prescient::learn::compiled_forest>& m) {
    plan.jobs.push_back(jb);
    plan.replays.push_back(prescient::sim::make_replayer(jb.policy, job_options(jb, o, m)));
    auto* r = plan.replays.back().get();
    plan.tasks.push_back({jb.policy == "belady", [r](std::span<const prescient::trace::request> b) { r->feed(b); }});
  };
  if (o.mrc) {
    plan.mrc_sizes = mrc_sizes(o, fp);
    prescient::advisor_config cfg;
    cfg.sample_rate = o.sample;
    cfg.max_tracked_keys = o.sample_keys;
    cfg.policies.clear();
    for (const auto& p : o.policies) {
      const auto it = o.params.find(p);
      cfg.policies.push_back(it == o.params.end() ? p : p + ":" + it->second);
    }
    cfg.sizes = plan.mrc_sizes;
    cfg.ignore_size = o.ignore_size;
    const auto t0 = std::chrono::steady_clock::now();
    plan.advisor = std::make_unique<prescient::policy_advisor>(cfg);
    plan.advisor_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    plan.tasks.push_back({false, [&plan](std::span<const prescient::trace::request> b) {
                            const auto start = std::chrono::steady_clock::now();
                            for (const auto& r : b) plan.advisor->record(r.key, r.size);
                            plan.advisor_seconds +=
                                std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
                          }});
    if (o.exact) {
      for (std::size_t si = 0; si < plan.mrc_sizes.size(); ++si)
        for (const auto& p : o.policies) add_replay(job{p, plan.mrc_sizes[si], si}, nullptr);
      // The yardstick for the estimate's cost: one full replay of LRU at the largest size.
      replay_options ro;
      ro.capacity = plan.mrc_sizes.back();
      ro.ignore_size = o.ignore_size;
      plan.yardstick = prescient::sim::make_replayer("lru", ro);
      auto* y = plan.yardstick.get();
      plan.tasks.push_back({false, [y](std::span<const prescient::trace::request> b) { y->feed(b); }});
    }
    return;
  }
  for (std::size_t si = 0; si < o.sizes.size(); ++si)
    for (const auto& p : o.policies) add_replay(job{p, resolve_size(o.sizes[si], fp, o.ignore_size), si}, model);
  if (o.prefetch)
    for (const auto& jb : plan.jobs) {
      plan.prefetches.push_back(
          prescient::sim::make_prefetch_replayer(jb.policy, job_options(jb, o, model), o.prefetch_opts));
      auto* r = plan.prefetches.back().get();
      plan.tasks.push_back({jb.policy == "belady", [r](std::span<const prescient::trace::request> b) { r->feed(b); }});
    }
}

std::vector<replay_result> results_of(const trace_plan& plan) {
  std::vector<replay_result> out;
  for (const auto& r : plan.replays) out.push_back(r->result());
  return out;
}

// --mrc: the policy advisor's curves, and with --exact the full replays beside them.
void report_mrc(const std::string& name, std::uint64_t requests, const prescient::sim::footprint& fp,
                const options& o, const trace_plan& plan, std::vector<prescient::sim::plot_series>& plot) {
  const std::vector<std::uint64_t>& sizes = plan.mrc_sizes;
  const prescient::policy_advisor& advisor = *plan.advisor;
  const double mrc_secs = plan.advisor_seconds;
  const std::vector<job>& jobs = plan.jobs;
  const std::vector<replay_result> exact = results_of(plan);
  const double full_lru_secs = plan.yardstick ? plan.yardstick->result().seconds : 0.0;

  auto advisor_name = [&](const std::string& p) {
    const auto it = o.params.find(p);
    return it == o.params.end() ? p : p + ":" + it->second;
  };
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
              advisor.sample_rate(), static_cast<unsigned long long>(advisor.sampled_requests()), static_cast<std::size_t>(requests),
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
    // Pipelined training: how long requests waited for the training thread, if at all.
    char waited[64] = "";
    // A model's predictions are checked when the next model is trained: with fewer than
    // two models there is nothing held out yet, and 0.000 would read as a useless model.
    char held_out_text[128];
    if (l->held_out_rows() == 0)
      std::snprintf(held_out_text, sizeof held_out_text, "not measured (a model is checked when the next is trained)");
    else
      std::snprintf(held_out_text, sizeof held_out_text, "precision %.3f recall %.3f F1 %.3f (%llu rows)", l->precision(),
                    l->recall(), l->f1(), static_cast<unsigned long long>(l->held_out_rows()));
    if (l->training_wait_seconds > 0)
      std::snprintf(waited, sizeof waited, " (requests waited %.2f s for it)", l->training_wait_seconds);
    std::printf("learned at %llu: %llu evictions by the model, %llu by a heuristic without a model, %llu by LRU and "
                "%llu by another heuristic of the panel while the model was out (epochs: %llu model, "
                "%llu heuristic after a lost duel, %llu under the guard; %llu hand-overs between heuristics, "
                "%s at the end); %llu admitted, %llu bypassed; "
                "%llu retrains (%llu failed) in %.2f s%s, inference %.2f s; held-out reuse within the horizon: "
                "%s%s\n",
                static_cast<unsigned long long>(results[j].capacity),
                static_cast<unsigned long long>(l->model_evictions),
                static_cast<unsigned long long>(l->fallback_evictions),
                static_cast<unsigned long long>(l->recency_evictions),
                static_cast<unsigned long long>(l->panel_evictions), static_cast<unsigned long long>(l->model_epochs),
                static_cast<unsigned long long>(l->lru_epochs), static_cast<unsigned long long>(l->guarded_epochs),
                static_cast<unsigned long long>(l->heuristic_switches), l->heuristic.c_str(),
                static_cast<unsigned long long>(l->admissions),
                static_cast<unsigned long long>(l->bypasses), static_cast<unsigned long long>(l->retrains),
                static_cast<unsigned long long>(l->training_failures), l->training_seconds,
                waited, l->inference_seconds, held_out_text, l->model_active ? "" : " (no model at the end: base heuristic)");
  }
}

// --prefetch: every (policy, size) again with the planner, against its plain replay.
void report_prefetch(const std::string& trace_name, const trace_plan& plan, const std::vector<replay_result>& plain,
                     const options& o) {
  const std::vector<job>& jobs = plan.jobs;
  std::vector<prescient::sim::prefetch_result> out;
  for (const auto& r : plan.prefetches) out.push_back(r->result());
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

// What the reading thread does besides decoding, per batch.
struct pass_extras {
  prescient::sim::footprint_counter* footprint = nullptr;    // count the footprint
  prescient::trace::next_access_index* build = nullptr;      // record next-access positions
  const prescient::trace::next_access_index* fill = nullptr;  // set next_access from them
};

// Where the reading thread's time went, over every pass of a trace.
struct reading_figures {
  int passes = 0;
  double decode_seconds = 0;     // reading, decompressing and decoding
  double footprint_seconds = 0;  // counting the footprint
  double index_seconds = 0;      // writing or reading next-access positions
  double wait_seconds = 0;       // waiting for the replays (they were slower)
  std::size_t index_bytes = 0;   // the next-access index at its largest
};

// One pass over the trace: this thread reads (and does `x`), the workers feed every task
// not fed yet whose oracle needs are met (`oracle_ready`). Returns the requests read.
std::uint64_t run_pass(prescient::sim::trace_input& input, const options& o, const pass_extras& x, trace_plan& plan,
                       bool oracle_ready, reading_figures& fig) {
  std::vector<prescient::sim::batch_sink> sinks;
  for (auto& t : plan.tasks)
    if (!t.fed && (oracle_ready || !t.needs_oracle)) {
      t.fed = true;
      sinks.push_back(t.feed);
    }
  prescient::trace::reader reader = input.open();
  const std::uint64_t limit = o.limit ? o.limit : std::numeric_limits<std::uint64_t>::max();
  // An oracle-general next access at or past --limit is a request that is not replayed.
  const bool clamp = o.limit != 0 && input.provides_next_access();
  std::uint64_t pos = 0;
  std::atomic<std::uint64_t> read{0};
  using clock = std::chrono::steady_clock;
  const auto seconds = [](clock::time_point a, clock::time_point b) { return std::chrono::duration<double>(b - a).count(); };
  auto read_batch = [&](std::span<prescient::trace::request> slot) -> std::size_t {
    if (pos >= limit) return 0;
    const auto t0 = clock::now();
    const auto batch = slot.first(reader.read(slot.first(std::min<std::uint64_t>(slot.size(), limit - pos))));
    const auto t1 = clock::now();
    if (clamp)
      for (auto& r : batch)
        if (r.next_access >= static_cast<std::int64_t>(limit)) r.next_access = prescient::trace::never;
    if (x.build) x.build->add(batch);
    if (x.fill) x.fill->fill(batch, pos, limit);
    const auto t2 = clock::now();
    if (x.footprint) x.footprint->add(batch);
    const auto t3 = clock::now();
    fig.decode_seconds += seconds(t0, t1);
    fig.index_seconds += seconds(t1, t2);
    fig.footprint_seconds += seconds(t2, t3);
    pos += batch.size();
    read.store(pos, std::memory_order_relaxed);
    return batch.size();
  };
  std::optional<std::uint64_t> total = input.known_requests();
  if (total && o.limit) total = std::min(*total, o.limit);
  const progress_bar bar(total, read);
  const auto f = prescient::sim::stream(read_batch, sinks, {.threads = o.threads});
  fig.wait_seconds += f.wait_seconds;
  ++fig.passes;
  return f.requests;
}

// On stderr: how the trace was read, and what the extras cost.
void report_reading(const std::string& shown, std::uint64_t requests, const reading_figures& r,
                    std::size_t footprint_bytes, std::chrono::steady_clock::time_point start) {
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::fprintf(stderr, "%s: %llu requests in %.2f s, %d pass%s; reading thread: decoding %.2f s, footprint %.2f s "
               "(%.1f MiB)", shown.c_str(), static_cast<unsigned long long>(requests), wall, r.passes,
               r.passes == 1 ? "" : "es", r.decode_seconds, r.footprint_seconds,
               static_cast<double>(footprint_bytes) / (1 << 20));
  if (r.index_bytes != 0)
    std::fprintf(stderr, ", next-access index %.2f s (%.1f MiB)", r.index_seconds,
                 static_cast<double>(r.index_bytes) / (1 << 20));
  std::fprintf(stderr, ", waiting for the replays %.2f s\n", r.wait_seconds);
}

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
    const std::string shown = cli::shown_path(path);
    const std::string name = cli::trace_name(path);
    const auto start = std::chrono::steady_clock::now();

    // What must be known before replaying, and so read in a first pass: the footprint
    // when a size is a share of it, Belady's next-access positions when the format does
    // not record them. The footprint is counted anyway for the table's header.
    const bool sizes_need_footprint =
        std::any_of(o.sizes.begin(), o.sizes.end(), [](const size_spec& s) { return s.percent; }) ||
        (o.mrc && o.sizes.empty());
    const bool need_footprint = sizes_need_footprint || !o.json || (o.mrc && o.at && o.at->percent);
    const bool format_has_oracle = prescient::trace::parse_format(format) == prescient::trace::format::oracle_general;
    const bool build_index = need_oracle && !format_has_oracle;
    const bool two_passes = sizes_need_footprint || build_index;
    prescient::sim::trace_input input(path, format, o.format_opts, two_passes ? 2 : 1);

    prescient::sim::footprint_counter footprint;
    prescient::trace::next_access_index index;
    reading_figures reading;
    trace_plan plan;
    if (!sizes_need_footprint) build_plan(plan, o, {}, model);
    // The first (or only) pass: the footprint, the index, and every replay that can run.
    pass_extras first;
    first.footprint = need_footprint ? &footprint : nullptr;
    first.build = build_index ? &index : nullptr;
    const std::uint64_t requests = run_pass(input, o, first, plan, !build_index, reading);
    if (requests == 0) throw std::runtime_error(shown + ": no requests (empty trace)");
    const prescient::sim::footprint fp = footprint.result();
    if (two_passes) {
      reading.index_bytes = index.bytes();
      index.release_keys();
      if (sizes_need_footprint) build_plan(plan, o, fp, model);
      pass_extras second;
      second.fill = build_index ? &index : nullptr;
      run_pass(input, o, second, plan, true, reading);
    }
    if (!o.json) report_reading(shown, requests, reading, footprint.bytes(), start);

    if (o.mrc) {
      report_mrc(name, requests, fp, o, plan, plot);
      continue;
    }
    const std::vector<job>& jobs = plan.jobs;
    const std::vector<replay_result> results = results_of(plan);

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
        if (o.ttl != 0)
          std::printf(",\"ttl\":%llu,\"expirations\":%llu,\"evictions\":%llu", static_cast<unsigned long long>(o.ttl),
                      static_cast<unsigned long long>(r.stats.expirations),
                      static_cast<unsigned long long>(r.stats.evictions));
        if (const auto& l = r.learned) {
          std::printf(",\"model_evictions\":%llu,\"fallback_evictions\":%llu,\"recency_evictions\":%llu,"
                      "\"panel_evictions\":%llu,\"heuristic_switches\":%llu,\"heuristic\":\"%s\","
                      "\"model_epochs\":%llu,\"lru_epochs\":%llu,\"guarded_epochs\":%llu,\"guard_trips\":%llu,\"guard_restarts\":%llu,"
                      "\"routs\":%llu,"
                      "\"admissions\":%llu,\"bypasses\":%llu,\"rankings\":%llu,\"rows_scored\":%llu,"
                      "\"rows_screened_out\":%llu,\"samples\":%llu,\"labelled\":%llu,\"expired_rows\":%llu,"
                      "\"retrains\":%llu,\"last_training_rows\":%llu,\"last_training_span\":%llu,"
                      "\"training_failures\":%llu,\"training_seconds\":%.4f,"
                      "\"training_wait_seconds\":%.4f,\"inference_seconds\":%.4f,\"held_out_rows\":%llu,\"precision\":%.4f,"
                      "\"recall\":%.4f,\"f1\":%.4f",
                      static_cast<unsigned long long>(l->model_evictions),
                      static_cast<unsigned long long>(l->fallback_evictions),
                      static_cast<unsigned long long>(l->recency_evictions),
                      static_cast<unsigned long long>(l->panel_evictions),
                      static_cast<unsigned long long>(l->heuristic_switches), l->heuristic.c_str(),
                      static_cast<unsigned long long>(l->model_epochs), static_cast<unsigned long long>(l->lru_epochs),
                      static_cast<unsigned long long>(l->guarded_epochs), static_cast<unsigned long long>(l->guard_trips),
                      static_cast<unsigned long long>(l->guard_restarts),
                      static_cast<unsigned long long>(l->routs),
                      static_cast<unsigned long long>(l->admissions), static_cast<unsigned long long>(l->bypasses),
                      static_cast<unsigned long long>(l->rankings), static_cast<unsigned long long>(l->rows_scored),
                      static_cast<unsigned long long>(l->rows_screened_out), static_cast<unsigned long long>(l->samples),
                      static_cast<unsigned long long>(l->labelled),
                      static_cast<unsigned long long>(l->expired_rows),
                      static_cast<unsigned long long>(l->retrains),
                      static_cast<unsigned long long>(l->last_training_rows),
                      static_cast<unsigned long long>(l->last_training_span),
                      static_cast<unsigned long long>(l->training_failures), l->training_seconds,
                      l->training_wait_seconds, l->inference_seconds,
                      static_cast<unsigned long long>(l->held_out_rows()), l->precision(), l->recall(), l->f1());
        }
        std::printf("}\n");
      }
    } else {
      report_table(name, format, requests, fp, o.sizes, o.policies, jobs, results, o.ignore_size);
    }
    if (o.prefetch) report_prefetch(name, plan, results, o);
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
