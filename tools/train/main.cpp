// prescient-train — builds the learned policy's dataset from a trace, cross-validates
// the gradient-boosted model (and the ridge baseline), and saves the model.
//
//   prescient-train --trace FILE --format NAME --size N [--limit N] [--sample-every K]
//                   [--folds K] [--rounds R] [--depth D] [--model OUT.json|OUT.ubj]
//                   [--export-features FILE.libsvm] [--holdout F] [--evaluate MODEL]
//                   [--partitions N [--partition P]] [--rows-out FILE] [--split-to DIR]
//
// `--trace -` reads the standard input (compressed or not). The options are CLI11's
// (tools/support/cli.hpp): --help is generated from them, with the defaults the code
// uses; a usage error exits 2 with one line on stderr, other errors exit 1.
//
// Rows and labels are learn/dataset.hpp's (the two situations the policy scores, labels
// from the future of the trace), built by its streaming dataset_builder: the trace is
// read in batches and never held whole, so extraction needs memory for the keys (their
// histories), not for the log. Training, cross-validation, --holdout and --export-features
// then hold the rows (36 bytes of features a sampled request); --rows-out alone streams
// them to the file. Folds are contiguous in time, so a fold is scored by a model that
// never saw its period. Metrics, per model, over the held-out folds:
//   regression: RMSE of log1p(time to next request), against predicting the mean;
//   classification of "requested again within the horizon H = size requests" from the
//   regression score (score ≤ log1p(H)): accuracy, precision, recall, F1, and AUC (the
//   probability that a reused row scores below a row that is not).
// --holdout F trains on the rows of the log's first 1 − F and scores those of its last F
// (by request position); --evaluate MODEL scores the same rows (every row without
// --holdout) with a saved model, compiled as prescient-sim loads it (--scores-out: its
// scores, f32 little-endian, one a row in row order).
// --model trains on every row and saves the model in xgboost's format (UBJSON when the
// name ends in .ubj, JSON otherwise): prescient-sim --policies learned --model FILE
// starts from it. --export-features writes the dataset as LibSVM text for xgboost's own
// trainers (its command line, Python package or distributed trainers).
//
// Partitioned extraction (a map and a reduce; docs/distributed-training.md, the Dask
// driver in tools/dask/): --partitions N switches the eviction question's draw to the
// partitioned rule (dataset.hpp) and builds the rows of the N key-hash partitions
// (--partition P: of partition P only). The map, --split-to DIR, reads the trace once and
// writes each request, with its position in the file, to DIR/part-NNNNN.req (24-byte records,
// records.hpp) by the hash of its key. The reduce reads one partition's requests, with
// their positions in the whole log, as --format partition, and writes its rows with
// --rows-out (72-byte records; `-`: the standard output, messages then go to stderr).
#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <limits>
#include <memory>
#include <numeric>
#include <string>
#include <vector>

#include "prescient/learn/dataset.hpp"
#include "prescient/learn/forest_trainer.hpp"
#include "prescient/learn/libsvm.hpp"
#include "prescient/learn/linear_predictor.hpp"
#include "prescient/learn/xgboost_predictor.hpp"
#include "prescient/trace/reader.hpp"
#include "support/cli.hpp"
#include "train/records.hpp"

namespace {

using namespace prescient;

constexpr std::string_view tool = "prescient-train";
namespace cli = prescient::tools::cli;
namespace records = prescient::tools::records;

// The format name of the reduce's input: request records with global positions.
constexpr std::string_view partition_format = "partition";

// The dataset's shape and the offline trainer's parameters, as the library defines them:
// the help shows these values, not copies of them.
struct options {
  std::string trace, format, model, export_path, rows_out, split_to, evaluate, scores_out;
  std::uint64_t limit = 0, size = 0, sample_every = learn::dataset_options{}.sample_every;
  std::uint64_t partitions = 0;  // 0: not partitioned (the sequential draw)
  std::int64_t partition = -1;   // -1: every partition
  double holdout = 0;
  unsigned folds = 5;
  learn::training_params params = offline_params();

  static learn::training_params offline_params() {
    learn::training_params p;  // xgboost_predictor.hpp's defaults (depth among them), then:
    p.rounds = 24;
    p.min_child_weight = 100;
    p.max_bin = 64;
    return p;
  }
  [[nodiscard]] bool partition_input() const { return format == partition_format; }
  // Whether the rows must be held (training, evaluation, export, or several partitions'
  // rows put back in time order); otherwise they stream to --rows-out.
  [[nodiscard]] bool hold_rows() const {
    return folds >= 2 || !model.empty() || !export_path.empty() || holdout > 0 || !evaluate.empty() ||
           (partitions > 1 && partition < 0);
  }
};

// "16N" for 16 × N entries, "N" for 1 × N.
std::string times_n(double per_entry) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%gN", per_entry);
  return per_entry == 1 ? "N" : buf;
}

void define_options(CLI::App& app, options& o) {
  using cli::whole_number;
  const learn::dataset_options data;
  cli::prepare(app, tool, "prescient-train --trace FILE --format NAME --size N [options]");
  app.add_option("--trace", o.trace, "the trace (.xz, .gz, .zst or plain; - is the standard input)")
      ->type_name("FILE");
  app.add_option("--format", o.format,
                 "i32be, u32be, i64be, lines, time-key-size, oracle-general, csv;\n"
                 "partition: one partition's request records (--split-to's,\npositions in the whole log)")
      ->type_name("NAME");
  app.add_option("--size", o.size,
                 "cache size in entries the model is for: labels censored at the\nwindow " +
                     times_n(data.window_per_entry) + ", reuse judged within the horizon " +
                     times_n(data.horizon_per_entry) + " (requests)")
      ->type_name("N")->check(whole_number<std::uint64_t>());
  app.add_option("--limit", o.limit, "read only the first N requests of the log (0: all)")
      ->type_name("N")->check(whole_number<std::uint64_t>());
  app.add_option("--sample-every", o.sample_every, "one sampled request in K")
      ->type_name("K")->check(whole_number<std::uint64_t>())->capture_default_str();
  app.add_option("--folds", o.folds, "cross-validation folds, contiguous in time (0: none)")
      ->type_name("K")->check(whole_number<unsigned>())->capture_default_str();
  app.add_option("--rounds", o.params.rounds, "boosting rounds")
      ->type_name("R")->check(whole_number<int>())->capture_default_str();
  app.add_option("--depth", o.params.max_depth,
                 "tree depth (the simulator's learned policy, retraining online,\nuses " +
                     std::to_string(learn::online_training_params().max_depth) + ")")
      ->type_name("D")->check(whole_number<int>())->capture_default_str();
  app.add_option("--model", o.model, "train on everything and save (FILE.ubj: UBJSON, else JSON)")->type_name("FILE");
  app.add_option("--export-features", o.export_path, "write the dataset as LibSVM text")->type_name("F");
  app.add_option("--holdout", o.holdout,
                 "train on the log's first 1-F, score the rows of its last F\n(by request position)")
      ->type_name("F")->check(cli::share(true, "--holdout"));
  app.add_option("--evaluate", o.evaluate, "score the held-out rows (all without --holdout) with this\nsaved model")
      ->type_name("MODEL");
  app.add_option("--scores-out", o.scores_out, "--evaluate's scores (f32 little-endian, one a row)")->type_name("FILE");
  app.add_option("--partitions", o.partitions,
                 "build the rows of N key-hash partitions, drawing the eviction\nquestion's key within each (the partitioned rule)")
      ->type_name("N")->check(whole_number<std::uint64_t>());
  app.add_option("--partition", o.partition, "only partition P's rows (0-based)")
      ->type_name("P")->check(whole_number<std::int64_t>());
  app.add_option("--rows-out", o.rows_out,
                 "write the rows as " + std::to_string(records::row_bytes) + "-byte records (- : standard output)")->type_name("FILE");
  app.add_option("--split-to", o.split_to,
                 "the map: write the trace's requests to DIR/part-NNNNN.req by\nthe hash of their keys (needs --partitions), then stop")
      ->type_name("DIR");
  app.footer("Also fixed: min_child_weight " + std::to_string(static_cast<int>(o.params.min_child_weight)) +
             ", max_bin " + std::to_string(o.params.max_bin) +
             ".\nEach sampled request gives two rows: the requested key, and a key drawn\n"
             "from the last 4N requests (an eviction candidate; with --partitions,\n"
             "from the last 4N requests of its partition).");
}

void validate(const options& o) {
  if (o.trace.empty() || o.format.empty()) throw cli::usage_error("--trace and --format are required");
  if (!o.split_to.empty()) {
    if (o.partitions == 0) throw cli::usage_error("--split-to needs --partitions");
    if (o.partition_input()) throw cli::usage_error("--split-to reads a trace, not --format partition");
    return;  // the map needs no --size
  }
  if (o.size == 0) throw cli::usage_error("--size is required (cache entries)");
  if (o.folds == 1) throw cli::usage_error("--folds must be 0 or at least 2");
  if (o.partition >= 0 && o.partitions == 0) throw cli::usage_error("--partition needs --partitions");
  if (o.partition >= 0 && static_cast<std::uint64_t>(o.partition) >= o.partitions)
    throw cli::usage_error("--partition " + std::to_string(o.partition) + " is not below --partitions " +
                           std::to_string(o.partitions));
  if (o.partition_input() && o.partitions == 0)
    throw cli::usage_error("--format partition needs --partitions (positions of one partition are not contiguous)");
  if (o.partition_input() && o.holdout > 0)
    throw cli::usage_error("--holdout needs the whole log's length, which --format partition does not give");
  if (o.holdout >= 1) throw cli::usage_error("--holdout must be below 1");
  if (!o.scores_out.empty() && o.evaluate.empty()) throw cli::usage_error("--scores-out needs --evaluate");
}

struct metrics {
  double rmse = 0, baseline_rmse = 0, accuracy = 0, precision = 0, recall = 0, f1 = 0, auc = 0;
};

// AUC of "reused" from a score where lower means sooner: the Mann-Whitney statistic.
double auc(std::span<const float> score, std::span<const std::uint8_t> reused) {
  std::vector<std::size_t> order(score.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return score[a] > score[b]; });
  double positives = 0, negatives = 0, rank_sum = 0;
  for (std::size_t i = 0; i < order.size();) {  // ranks with ties averaged
    std::size_t j = i;
    while (j < order.size() && score[order[j]] == score[order[i]]) ++j;
    const double mid = (static_cast<double>(i) + static_cast<double>(j) + 1) / 2;
    for (std::size_t k = i; k < j; ++k)
      if (reused[order[k]]) rank_sum += mid, ++positives;
      else ++negatives;
    i = j;
  }
  if (positives == 0 || negatives == 0) return 0.5;
  return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives);
}

metrics evaluate(std::span<const float> score, std::span<const float> label, std::span<const std::uint8_t> reused,
                 float threshold, double train_mean) {
  metrics m;
  double tp = 0, fp = 0, fn = 0, tn = 0;
  for (std::size_t i = 0; i < score.size(); ++i) {
    m.rmse += std::pow(score[i] - label[i], 2);
    m.baseline_rmse += std::pow(train_mean - label[i], 2);
    const bool predicted = score[i] <= threshold;
    (predicted ? (reused[i] ? tp : fp) : (reused[i] ? fn : tn)) += 1;
  }
  const double n = static_cast<double>(std::max<std::size_t>(score.size(), 1));
  m.rmse = std::sqrt(m.rmse / n);
  m.baseline_rmse = std::sqrt(m.baseline_rmse / n);
  m.accuracy = (tp + tn) / n;
  m.precision = tp + fp > 0 ? tp / (tp + fp) : 0;
  m.recall = tp + fn > 0 ? tp / (tp + fn) : 0;
  m.f1 = m.precision + m.recall > 0 ? 2 * m.precision * m.recall / (m.precision + m.recall) : 0;
  m.auc = auc(score, reused);
  return m;
}

void print_header(std::FILE* out) {
  std::fprintf(out, "%-8s %8s %9s %9s %9s %9s %9s %9s\n", "model", "RMSE", "(mean)", "accuracy", "precision", "recall",
               "F1", "AUC");
}
void print_metrics(std::FILE* out, const char* which, const metrics& m, double seconds) {
  std::fprintf(out, "%-8s %8.4f %9.4f %9.4f %9.4f %9.4f %9.4f %9.4f   (%.2f s)\n", which, m.rmse, m.baseline_rmse,
               m.accuracy, m.precision, m.recall, m.f1, m.auc, seconds);
}

// Peak resident memory of this process image in MiB (Linux: VmHWM, which exec resets;
// getrusage's maxrss keeps a vfork parent's pages), or -1 where unknown.
double peak_memory_mib() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::strtod(line.c_str() + 6, nullptr) / 1024.0;
  return -1;
}

// ---- input: a trace in batches, or one partition's request records ------------------

// A binary file or the standard input, closed at the end.
struct input_file {
  std::FILE* f = nullptr;
  bool owned = false;
  input_file(const std::string& path, const char* mode) {
    if (cli::is_stdin(path)) {
      f = stdin;
    } else {
      f = std::fopen(path.c_str(), mode);
      owned = true;
      if (!f) throw std::runtime_error(path + ": cannot open: " + std::strerror(errno));
    }
  }
  ~input_file() {
    if (owned && f) std::fclose(f);
  }
  input_file(const input_file&) = delete;
  input_file& operator=(const input_file&) = delete;
};

// Calls each(key, size, position) for the requests of the trace (or its first `limit`),
// in batches; returns how many. Positions are the requests' indices in the trace.
template <class Each>
std::uint64_t read_trace(const options& o, Each&& each) {
  const std::uint64_t limit = o.limit ? o.limit : std::numeric_limits<std::uint64_t>::max();
  std::uint64_t n = 0;
  auto feed = [&](trace::reader& r) {
    std::vector<trace::request> batch(4096);
    while (n < limit) {
      const std::size_t got = r.read(std::span(batch).first(static_cast<std::size_t>(
          std::min<std::uint64_t>(batch.size(), limit - n))));
      if (got == 0) break;
      for (std::size_t i = 0; i < got; ++i, ++n) each(batch[i].key, batch[i].size, n);
    }
  };
  bool streamed = true;
  if (cli::is_stdin(o.trace)) {
    std::FILE* probe = std::fopen("/dev/stdin", "rb");
    if (probe) std::fclose(probe);
    streamed = probe != nullptr;
  }
  if (streamed) {
    trace::reader r = trace::open(std::filesystem::path(cli::is_stdin(o.trace) ? "/dev/stdin" : o.trace), o.format);
    feed(r);
  } else {  // a standard input that cannot be reopened: read whole (cli.hpp's fallback)
    for (const trace::request& q : cli::load_trace(o.trace, o.format, {}, static_cast<std::size_t>(limit)))
      each(q.key, q.size, n++);
  }
  return n;
}

// Calls each(key, size, position) for the request records of one partition (positions
// in the whole log; with --limit, those before it); returns how many.
template <class Each>
std::uint64_t read_partition(const options& o, Each&& each) {
  const std::string shown = cli::shown_path(o.trace);
  input_file in(o.trace, "rb");
  std::vector<char> buf(records::request_bytes * 8192);
  std::uint64_t n = 0, offset = 0;
  std::size_t carried = 0;
  for (;;) {
    const std::size_t got = std::fread(buf.data() + carried, 1, buf.size() - carried, in.f);
    const std::size_t have = carried + got;
    const std::size_t whole = have / records::request_bytes * records::request_bytes;
    for (std::size_t at = 0; at < whole; at += records::request_bytes) {
      const records::request_record r = records::get_request(buf.data() + at);
      if (o.limit && r.position >= o.limit) return n;
      each(r.key, r.size, r.position);
      ++n;
    }
    offset += whole;
    carried = have - whole;
    std::copy(buf.begin() + static_cast<std::ptrdiff_t>(whole), buf.begin() + static_cast<std::ptrdiff_t>(have),
              buf.begin());
    if (got == 0) break;
  }
  if (std::ferror(in.f)) throw std::runtime_error(shown + ": read error");
  if (carried != 0)
    throw std::runtime_error(shown + ": " + std::to_string(carried) + " bytes after the last whole " +
                             std::to_string(records::request_bytes) + "-byte request record (at byte " +
                             std::to_string(offset) + ")");
  return n;
}

// ---- the map: requests to partition files ----------------------------------------------

int split(const options& o) {
  const std::filesystem::path dir(o.split_to);
  std::filesystem::create_directories(dir);
  struct part {
    std::unique_ptr<std::FILE, int (*)(std::FILE*)> file{nullptr, &std::fclose};
    std::vector<char> buf;
    std::filesystem::path path;
  };
  std::vector<part> parts(o.partitions);
  constexpr std::size_t buffered = records::request_bytes * 2048;
  for (std::uint64_t p = 0; p < o.partitions; ++p) {
    char name[32];
    std::snprintf(name, sizeof name, "part-%05llu.req", static_cast<unsigned long long>(p));
    parts[p].path = dir / name;
    parts[p].file.reset(std::fopen(parts[p].path.c_str(), "wb"));
    if (!parts[p].file) throw std::runtime_error(parts[p].path.string() + ": cannot write: " + std::strerror(errno));
    parts[p].buf.reserve(buffered);
  }
  auto drain = [](part& p) {
    if (!p.buf.empty() && std::fwrite(p.buf.data(), 1, p.buf.size(), p.file.get()) != p.buf.size())
      throw std::runtime_error(p.path.string() + ": write error");
    p.buf.clear();
  };
  const std::uint64_t n = read_trace(o, [&](std::uint64_t key, std::uint64_t size, std::uint64_t position) {
    part& p = parts[learn::partition_of(key, o.partitions)];
    const std::size_t at = p.buf.size();
    p.buf.resize(at + records::request_bytes);
    records::put_request(p.buf.data() + at, position, key, size);
    if (p.buf.size() >= buffered) drain(p);
  });
  for (part& p : parts) {
    drain(p);
    if (std::fclose(p.file.release()) != 0) throw std::runtime_error(p.path.string() + ": write error");
  }
  if (n == 0) throw std::runtime_error(cli::shown_path(o.trace) + ": no requests");
  std::printf("%s: %llu requests -> %s/part-*.req (%llu partitions by key hash, positions 0-%llu; peak memory %.0f MiB)\n",
              cli::shown_path(o.trace).c_str(), static_cast<unsigned long long>(n), o.split_to.c_str(),
              static_cast<unsigned long long>(o.partitions), static_cast<unsigned long long>(n - 1), peak_memory_mib());
  return 0;
}

// ---- rows ---------------------------------------------------------------------------------

// Rows held for training: features row-major, and per row its label, reuse, time, kind.
struct row_store {
  std::vector<float> features;
  std::vector<float> labels;
  std::vector<std::uint8_t> reused, kind;
  std::vector<std::uint64_t> time, key;

  void add(const learn::dataset_row& r) {
    features.insert(features.end(), r.features.begin(), r.features.end());
    labels.push_back(r.label);
    reused.push_back(r.reused);
    kind.push_back(static_cast<std::uint8_t>(r.kind));
    time.push_back(r.time);
    key.push_back(r.key);
  }
  [[nodiscard]] std::size_t size() const { return labels.size(); }
  [[nodiscard]] learn::dataset_row row(std::size_t i) const {
    learn::dataset_row r;
    r.time = time[i];
    r.key = key[i];
    r.kind = static_cast<learn::row_kind>(kind[i]);
    r.label = labels[i];
    r.reused = reused[i];
    std::copy_n(features.begin() + static_cast<std::ptrdiff_t>(i * learn::feature_count), learn::feature_count,
                r.features.begin());
    return r;
  }
  // Rows of several partitions arrive interleaved: put them in time order (a sampled
  // request's requested row first), the order a single builder gives.
  void sort_by_time() {
    std::vector<std::size_t> order(size());
    std::iota(order.begin(), order.end(), 0);
    auto before = [&](std::size_t a, std::size_t b) { return time[a] != time[b] ? time[a] < time[b] : kind[a] < kind[b]; };
    if (std::is_sorted(order.begin(), order.end(), before)) return;
    std::sort(order.begin(), order.end(), before);
    auto permute = [&](auto& v, std::size_t width) {
      std::remove_reference_t<decltype(v)> out(v.size());
      for (std::size_t i = 0; i < order.size(); ++i)
        std::copy_n(v.begin() + static_cast<std::ptrdiff_t>(order[i] * width), width,
                    out.begin() + static_cast<std::ptrdiff_t>(i * width));
      v.swap(out);
    };
    permute(features, learn::feature_count);
    permute(labels, 1);
    permute(reused, 1);
    permute(kind, 1);
    permute(time, 1);
    permute(key, 1);
  }
};

// --rows-out: row records to a file or the standard output.
class row_writer {
 public:
  explicit row_writer(const std::string& path) : path_(path) {
    if (cli::is_stdin(path)) {
      f_ = stdout;
    } else {
      f_ = std::fopen(path.c_str(), "wb");
      if (!f_) throw std::runtime_error(path + ": cannot write: " + std::strerror(errno));
    }
    buf_.reserve(chunk);
  }
  ~row_writer() {
    if (f_ && f_ != stdout) std::fclose(f_);
  }
  row_writer(const row_writer&) = delete;
  row_writer& operator=(const row_writer&) = delete;
  void put(const learn::dataset_row& r) {
    const std::size_t at = buf_.size();
    buf_.resize(at + records::row_bytes);
    records::put_row(buf_.data() + at, r);
    if (buf_.size() >= chunk) drain();
  }
  void close() {
    drain();
    const bool ok = std::fflush(f_) == 0 && !std::ferror(f_);
    if (f_ != stdout) std::fclose(f_);
    f_ = nullptr;
    if (!ok) throw std::runtime_error(path_ + ": write error");
  }

 private:
  static constexpr std::size_t chunk = records::row_bytes * 4096;
  void drain() {
    if (!buf_.empty() && std::fwrite(buf_.data(), 1, buf_.size(), f_) != buf_.size())
      throw std::runtime_error(path_ + ": write error");
    buf_.clear();
  }
  std::string path_;
  std::FILE* f_ = nullptr;
  std::vector<char> buf_;
};

}  // namespace

int main(int argc, char** argv) try {
  options o;
  {
    CLI::App app("prescient-train: builds the learned policy's dataset from a trace, cross-validates\n"
                 "the gradient-boosted model (and the ridge baseline), and saves the model",
                 std::string(tool));
    define_options(app, o);
    if (const auto rc = cli::run_parser(app, argc, argv, tool, [&] { validate(o); })) return *rc;
  }
  if (!o.split_to.empty()) return split(o);

  const std::string shown = cli::shown_path(o.trace);
  // Messages go to stderr when the rows go to the standard output.
  std::FILE* info = cli::is_stdin(o.rows_out) ? stderr : stdout;
  learn::dataset_options dopt;
  dopt.capacity = o.size;
  dopt.sample_every = o.sample_every;
  // One builder (the sequential draw, or one partition), or one per partition.
  const bool hold = o.hold_rows();
  row_store store;
  std::unique_ptr<row_writer> writer;
  if (!o.rows_out.empty()) writer = std::make_unique<row_writer>(o.rows_out);
  std::uint64_t built = 0, positives = 0;
  const learn::dataset_builder::sink sink = [&](const learn::dataset_row& r) {
    ++built;
    positives += r.reused;
    if (hold) store.add(r);
    else if (writer) writer->put(r);
  };
  const std::uint64_t parts = std::max<std::uint64_t>(o.partitions, 1);
  std::vector<learn::dataset_builder> builders;
  if (o.partitions == 0) {
    builders.emplace_back(dopt, sink, learn::candidate_draw::sequential);
  } else if (o.partition >= 0) {
    builders.emplace_back(dopt, sink, learn::candidate_draw::partitioned,
                          learn::partition_spec{parts, static_cast<std::uint64_t>(o.partition)});
  } else {
    builders.reserve(parts);
    for (std::uint64_t p = 0; p < parts; ++p)
      builders.emplace_back(dopt, sink, learn::candidate_draw::partitioned, learn::partition_spec{parts, p});
  }
  // From a trace, --partition P skips the other partitions' requests; from partition
  // records, a request of another partition is an error (the builder names it).
  const bool skip_others = o.partition >= 0 && !o.partition_input();
  const auto route = [&](std::uint64_t key, std::uint64_t size, std::uint64_t position) {
    if (builders.size() == 1) {
      if (skip_others && learn::partition_of(key, parts) != static_cast<std::uint64_t>(o.partition)) return;
      builders.front().add(key, size, position);
    } else {
      builders[learn::partition_of(key, parts)].add(key, size, position);
    }
  };
  const auto started = std::chrono::steady_clock::now();
  const std::uint64_t requests = o.partition_input() ? read_partition(o, route) : read_trace(o, route);
  if (requests == 0 && !o.partition_input()) throw std::runtime_error(shown + ": no requests");
  for (learn::dataset_builder& b : builders) b.finish();
  const double extraction = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (writer && !hold) writer->close();
  const learn::label_config label_cfg = builders.front().labels();
  std::string scope;
  if (o.partitions > 0)
    scope = o.partition >= 0 ? "; partition " + std::to_string(o.partition) + " of " + std::to_string(parts) + " by key hash"
                             : "; " + std::to_string(parts) + " partitions by key hash";
  std::fprintf(info, "%s: %llu requests -> %llu rows x %zu features (window %llu, horizon %llu requests)%s\n",
               shown.c_str(), static_cast<unsigned long long>(requests), static_cast<unsigned long long>(built),
               learn::feature_count, static_cast<unsigned long long>(label_cfg.window),
               static_cast<unsigned long long>(label_cfg.horizon), scope.c_str());
  if (built > 0)
    std::fprintf(info, "rows requested again within the horizon: %.1f%%\n",
                 100.0 * static_cast<double>(positives) / static_cast<double>(built));
  std::fprintf(info, "extracted in %.2f s (%.0f requests/s, %.0f rows/s; peak memory %.0f MiB)\n", extraction,
               static_cast<double>(requests) / std::max(extraction, 1e-9),
               static_cast<double>(built) / std::max(extraction, 1e-9), peak_memory_mib());
  if (!hold) return 0;
  if (built == 0) throw std::runtime_error(shown + ": no rows to train on");

  store.sort_by_time();
  if (writer) {
    for (std::size_t i = 0; i < store.size(); ++i) writer->put(store.row(i));
    writer->close();
  }
  learn::dataset d;
  d.label_cfg = label_cfg;
  const auto rows = store.size();
  d.rows = Eigen::Map<const learn::feature_matrix>(store.features.data(), static_cast<Eigen::Index>(rows),
                                                   static_cast<Eigen::Index>(learn::feature_count));
  std::vector<float>().swap(store.features);
  d.labels = std::move(store.labels);
  d.reused = std::move(store.reused);
  const float threshold = learn::horizon_score(d.label_cfg);

  if (!o.export_path.empty()) {
    std::ofstream out(o.export_path);
    learn::write_libsvm(out, d.rows, d.labels);
    out.close();
    if (!out) throw std::runtime_error("cannot write " + o.export_path);
    std::fprintf(info, "wrote %s (LibSVM: label = log1p(requests to the next request), 0-based feature indices)\n",
                 o.export_path.c_str());
  }

  if (o.folds >= 2) {
    std::fprintf(info, "\n%u-fold cross-validation, folds contiguous in time:\n", o.folds);
    print_header(info);
    for (const char* which : {"xgboost", "ridge"}) {
      std::vector<float> score(rows);
      double seconds = 0;
      for (unsigned f = 0; f < o.folds; ++f) {
        const std::size_t lo = rows * f / o.folds, hi = rows * (f + 1) / o.folds;
        learn::feature_matrix train(static_cast<Eigen::Index>(rows - (hi - lo)), static_cast<Eigen::Index>(learn::feature_count));
        train << d.rows.topRows(static_cast<Eigen::Index>(lo)), d.rows.bottomRows(static_cast<Eigen::Index>(rows - hi));
        std::vector<float> labels(d.labels.begin(), d.labels.begin() + static_cast<std::ptrdiff_t>(lo));
        labels.insert(labels.end(), d.labels.begin() + static_cast<std::ptrdiff_t>(hi), d.labels.end());
        const learn::feature_matrix test = d.rows.middleRows(static_cast<Eigen::Index>(lo), static_cast<Eigen::Index>(hi - lo));
        const auto start = std::chrono::steady_clock::now();
        std::span<float> out(score.data() + lo, hi - lo);
        if (std::string(which) == "xgboost") learn::xgboost_predictor::train(train, labels, o.params).compile().predict(test, out);
        else learn::linear_predictor::train(train, labels).predict(test, out);
        seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      }
      const double mean = std::accumulate(d.labels.begin(), d.labels.end(), 0.0) / static_cast<double>(rows);
      print_metrics(info, which, evaluate(score, d.labels, d.reused, threshold, mean), seconds);
    }
  }

  // The rows --holdout and --evaluate score: those of the log's last F, or every row.
  std::size_t first_scored = 0;
  if (o.holdout > 0) {
    const auto split_at = static_cast<std::uint64_t>(std::floor(static_cast<double>(requests) * (1.0 - o.holdout)));
    first_scored = static_cast<std::size_t>(std::lower_bound(store.time.begin(), store.time.end(), split_at) - store.time.begin());
    std::fprintf(info, "\nheld out: the rows of requests %llu-%llu (the log's last %g): %zu rows; trained on the %zu before\n",
                 static_cast<unsigned long long>(split_at), static_cast<unsigned long long>(requests - 1), o.holdout,
                 rows - first_scored, first_scored);
    if (first_scored == 0 || first_scored == rows)
      throw std::runtime_error("--holdout " + std::to_string(o.holdout) + " leaves no rows " +
                               (first_scored == 0 ? "to train on" : "to score"));
    const learn::feature_matrix train = d.rows.topRows(static_cast<Eigen::Index>(first_scored));
    const learn::feature_matrix test = d.rows.bottomRows(static_cast<Eigen::Index>(rows - first_scored));
    const std::span<const float> train_labels(d.labels.data(), first_scored);
    const double mean = std::accumulate(train_labels.begin(), train_labels.end(), 0.0) / static_cast<double>(first_scored);
    print_header(info);
    for (const char* which : {"xgboost", "ridge"}) {
      std::vector<float> score(rows - first_scored);
      const auto start = std::chrono::steady_clock::now();
      if (std::string(which) == "xgboost") learn::xgboost_predictor::train(train, train_labels, o.params).compile().predict(test, score);
      else learn::linear_predictor::train(train, train_labels).predict(test, score);
      const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      print_metrics(info, which,
                    evaluate(score, std::span(d.labels).subspan(first_scored), std::span(d.reused).subspan(first_scored),
                             threshold, mean),
                    seconds);
    }
  }

  if (!o.evaluate.empty()) {
    // Loaded as prescient-sim --model loads it: xgboost's file, checked, compiled.
    const auto forest = learn::load_forest(o.evaluate);
    if (forest->num_features() != learn::feature_count)
      throw std::runtime_error(o.evaluate + ": the model has " + std::to_string(forest->num_features()) +
                               " features; the rows have " + std::to_string(learn::feature_count));
    const learn::feature_matrix scored = d.rows.bottomRows(static_cast<Eigen::Index>(rows - first_scored));
    std::vector<float> score(rows - first_scored);
    const auto start = std::chrono::steady_clock::now();
    forest->predict(scored, score);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (o.holdout == 0) {
      std::fprintf(info, "\nevaluated on every row (%zu):\n", rows);
      print_header(info);
    }
    const std::span<const float> labels = std::span(d.labels).subspan(first_scored);
    const double mean = std::accumulate(labels.begin(), labels.end(), 0.0) / static_cast<double>(std::max<std::size_t>(labels.size(), 1));
    print_metrics(info, "evaluate", evaluate(score, labels, std::span(d.reused).subspan(first_scored), threshold, mean), seconds);
    std::fprintf(info, "(evaluate: %s, compiled: %s)\n", o.evaluate.c_str(), forest->version().c_str());
    if (!o.scores_out.empty()) {
      std::ofstream out(o.scores_out, std::ios::binary);
      out.write(reinterpret_cast<const char*>(score.data()), static_cast<std::streamsize>(score.size() * sizeof(float)));
      out.close();
      if (!out) throw std::runtime_error("cannot write " + o.scores_out);
    }
  }

  if (!o.model.empty()) {
    const auto model = learn::xgboost_predictor::train(d.rows, d.labels, o.params);
    const bool ubj = std::filesystem::path(o.model).extension() == ".ubj";
    model.save(o.model, ubj ? learn::model_format::ubjson : learn::model_format::json);
    std::fprintf(info, "\nsaved %s (%s, %s)\n", o.model.c_str(), ubj ? "UBJSON" : "JSON", model.version().c_str());
  }
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "prescient-train: %s\n", e.what());
  return 1;
}
