// The trace readers: one parser per format behind reader::impl (see
// prescient/trace/reader.hpp for the contract and format.hpp for the formats).
//
// Every parser owns one byte buffer, refilled from the byte_source (which decompresses).
// The virtual call is per batch (impl::decode); the loops inside are templates over the
// record decoder, so a binary record costs a memcpy and a byte swap and a text line a
// memchr and a std::from_chars or three.
#include "prescient/trace/reader.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <charconv>
#include <cstring>
#include <exception>
#include <limits>
#include <string>
#include <utility>

namespace prescient::trace {

class reader::impl {
 public:
  impl(std::unique_ptr<byte_source> src, trace::format f)
      : src_(std::move(src)), buf_(initial_buffer), format_(f) {}
  impl(const impl&) = delete;
  impl& operator=(const impl&) = delete;
  virtual ~impl() = default;

  std::size_t read(std::span<request> out) {
    if (failure_) std::rethrow_exception(failure_);
    try {
      const std::size_t n = decode(out);
      position_ += n;
      return n;
    } catch (...) {
      // A reader is spent after an error: a caller that catches and reads on must not
      // get the records after the bad one as if nothing happened.
      failure_ = std::current_exception();
      throw;
    }
  }

  [[nodiscard]] trace::format format() const noexcept { return format_; }
  [[nodiscard]] const std::filesystem::path& path() const noexcept { return src_->path(); }
  [[nodiscard]] std::uint64_t position() const noexcept { return position_; }

 protected:
  static constexpr std::size_t initial_buffer = std::size_t{256} << 10;

  virtual std::size_t decode(std::span<request> out) = 0;

  // Moves the unread tail to the front and reads more after it. Returns false at the end.
  bool fill() {
    if (begin_ != 0) {
      std::memmove(buf_.data(), buf_.data() + begin_, end_ - begin_);
      buf_offset_ += begin_;
      end_ -= begin_;
      begin_ = 0;
    }
    if (eof_) return false;
    const std::size_t k = src_->read(std::span(buf_).subspan(end_));
    if (k == 0) eof_ = true;
    end_ += k;
    return k != 0;
  }

  std::unique_ptr<byte_source> src_;
  std::vector<char> buf_;
  std::size_t begin_ = 0;        // first unparsed byte of buf_
  std::size_t end_ = 0;          // one past the last valid byte of buf_
  std::uint64_t buf_offset_ = 0; // offset of buf_[0] in the decompressed stream
  bool eof_ = false;

 private:
  trace::format format_;
  std::uint64_t position_ = 0;
  std::exception_ptr failure_;
};

bool looks_like_text(std::span<const char> start) noexcept {
  bool line_break = false;
  for (const char ch : start) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '\n') line_break = true;
    else if (!(c >= 0x20 && c < 0x7f) && c != '\t' && c != '\r') return false;
  }
  return line_break;
}

namespace {

// --- binary formats -------------------------------------------------------------------

template <class T>
T load_raw(const char* p) noexcept {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

inline std::uint32_t bswap(std::uint32_t v) noexcept { return __builtin_bswap32(v); }
inline std::uint64_t bswap(std::uint64_t v) noexcept { return __builtin_bswap64(v); }

template <class T>
T load_be(const char* p) noexcept {
  const T v = load_raw<T>(p);
  if constexpr (std::endian::native == std::endian::little) return bswap(v);
  return v;
}
template <class T>
T load_le(const char* p) noexcept {
  const T v = load_raw<T>(p);
  if constexpr (std::endian::native == std::endian::big) return bswap(v);
  return v;
}

struct i32be_record {
  static constexpr std::size_t size = 4;
  static request decode(const char* p) noexcept {
    // Sign-extend, then reinterpret: casting the key back to int64 gives the recorded int.
    const auto v = static_cast<std::int32_t>(load_be<std::uint32_t>(p));
    return request{.key = static_cast<std::uint64_t>(static_cast<std::int64_t>(v))};
  }
};
struct u32be_record {
  static constexpr std::size_t size = 4;
  static request decode(const char* p) noexcept { return request{.key = load_be<std::uint32_t>(p)}; }
};
struct i64be_record {
  static constexpr std::size_t size = 8;
  static request decode(const char* p) noexcept { return request{.key = load_be<std::uint64_t>(p)}; }
};
struct oracle_general_record {
  // libCacheSim oracleGeneral: packed little-endian {u32 time; u64 key; u32 size; i64 next}.
  static constexpr std::size_t size = 24;
  static request decode(const char* p) noexcept {
    return request{.key = load_le<std::uint64_t>(p + 4),
                   .size = load_le<std::uint32_t>(p + 12),
                   .time = load_le<std::uint32_t>(p),
                   .next_access = static_cast<std::int64_t>(load_le<std::uint64_t>(p + 16))};
  }
  // next_access_vtime counts requests from 1 (libCacheSim's clock ticks before a request
  // is handled: checked against a backward pass over cloudphysics, where recorded =
  // 0-based index + 1 for every request), and -1 or INT64_MAX mean "never" (as
  // libCacheSim's own reader treats them). Converts in place to our 0-based index; a
  // value that does not point after the request itself is corrupt: returns false and
  // leaves the raw value for the message.
  static bool finish(request& r, std::uint64_t index) noexcept {
    const std::int64_t v = r.next_access;
    if (v == -1 || v == std::numeric_limits<std::int64_t>::max()) {
      r.next_access = never;
      return true;
    }
    if (v <= 0 || static_cast<std::uint64_t>(v - 1) <= index) return false;
    r.next_access = v - 1;
    return true;
  }
};

template <class Record>
class binary_reader final : public reader::impl {
 public:
  using reader::impl::impl;

 protected:
  std::size_t decode(std::span<request> out) override {
    if (!probed_) refuse_text();
    std::size_t n = 0;
    while (n < out.size()) {
      const std::size_t whole = (end_ - begin_) / Record::size;
      if (whole == 0) {
        if (fill()) continue;
        if (end_ != begin_) {
          throw error::at_offset(path(), buf_offset_ + begin_,
                                 "truncated last record: " + std::to_string(end_ - begin_) + " byte(s) left, a " +
                                     std::string(to_string(format())) + " record is " +
                                     std::to_string(Record::size) + " bytes");
        }
        break;
      }
      const std::size_t k = std::min(whole, out.size() - n);
      const char* p = buf_.data() + begin_;
      for (std::size_t i = 0; i < k; ++i) out[n + i] = Record::decode(p + i * Record::size);
      if constexpr (requires(request& r) { Record::finish(r, std::uint64_t{}); }) {
        const std::uint64_t offset = buf_offset_ + begin_;
        const std::uint64_t first = offset / Record::size;
        for (std::size_t i = 0; i < k; ++i) {
          if (!Record::finish(out[n + i], first + i)) {
            throw error::at_offset(path(), offset + i * Record::size,
                                   "next_access_vtime " + std::to_string(out[n + i].next_access) + " of request " +
                                       std::to_string(first + i) +
                                       " does not point to a later request (vtimes count from 1; -1 or "
                                       "INT64_MAX mean never)");
          }
        }
      }
      begin_ += k * Record::size;
      n += k;
    }
    return n;
  }

 private:
  // The first text_probe_bytes, read before any record: a stream that starts as text
  // is refused (looks_like_text, reader.hpp).
  void refuse_text() {
    probed_ = true;
    while (end_ - begin_ < text_probe_bytes && fill()) {
    }
    const std::size_t n = std::min(end_ - begin_, text_probe_bytes);
    if (!looks_like_text(std::span<const char>(buf_.data() + begin_, n))) return;
    throw error::at_offset(path(), buf_offset_ + begin_,
                           "this looks like text, not " + std::string(to_string(format())) + " records: its first " +
                               std::to_string(n) +
                               " bytes are printable characters and line breaks (a text trace is read with format "
                               "lines, time-key-size or csv)");
  }

  bool probed_ = false;
};

// --- text formats ---------------------------------------------------------------------

// Where a text parser reports an error: the file and the 1-based line.
struct line_context {
  const std::filesystem::path* path;
  std::uint64_t line;
  [[noreturn]] void fail(const std::string& message) const { throw error::at_line(*path, line, message); }
};

constexpr bool is_blank(char c) noexcept { return c == ' ' || c == '\t'; }

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && is_blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_blank(s.back())) s.remove_suffix(1);
  return s;
}

// A field as it appears in a message: quoted, at most 40 chars, control bytes escaped.
std::string quote(std::string_view s) {
  std::string q = "\"";
  const std::size_t shown = std::min<std::size_t>(s.size(), 40);
  for (std::size_t i = 0; i < shown; ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c >= 0x7F || c == '"' || c == '\\') {
      static constexpr char hex[] = "0123456789abcdef";
      q += "\\x";
      q += hex[c >> 4];
      q += hex[c & 15];
    } else {
      q += static_cast<char>(c);
    }
  }
  if (shown < s.size()) q += "...";
  q += '"';
  return q;
}

template <class T>
T parse_number(std::string_view field, const char* what, const line_context& at) {
  T v{};
  const char* first = field.data();
  const char* last = first + field.size();
  const auto [ptr, ec] = std::from_chars(first, last, v);
  if (field.empty()) at.fail(std::string("missing ") + what + " (empty field)");
  if (ec == std::errc::result_out_of_range) at.fail(std::string(what) + " out of range: " + quote(field));
  if (ec != std::errc{}) at.fail(std::string("non-numeric ") + what + ": " + quote(field));
  if (ptr != last) {
    at.fail(std::string("trailing garbage after ") + what + " " + quote(std::string_view(first, ptr - first)) +
            ": " + quote(std::string_view(ptr, last - ptr)));
  }
  return v;
}

// Keys may be negative: sign-extend (as i32be does) so distinct keys stay distinct.
std::uint64_t parse_key(std::string_view field, const line_context& at) {
  if (!field.empty() && field.front() == '-') {
    return static_cast<std::uint64_t>(parse_number<std::int64_t>(field, "key", at));
  }
  return parse_number<std::uint64_t>(field, "key", at);
}

std::uint64_t fnv1a(std::string_view s) noexcept {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (char c : s) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ULL;
  }
  return h;
}

// Splits the buffer into lines (LF, CR stripped) and hands each to Parser::parse, which
// returns true when the line was a request. Lines longer than the buffer grow it, up to
// max_line: a "line" of hundreds of MiB is a binary file read as text, not a trace.
template <class Parser>
class text_reader final : public reader::impl {
 public:
  static constexpr std::size_t max_line = std::size_t{64} << 20;

  text_reader(std::unique_ptr<byte_source> src, trace::format f, Parser parser)
      : reader::impl(std::move(src), f), parser_(std::move(parser)) {}

 protected:
  std::size_t decode(std::span<request> out) override {
    std::size_t n = 0;
    std::string_view line;
    while (n < out.size() && next_line(line)) {
      if (parser_.parse(line, out[n], line_context{&path(), line_})) ++n;
    }
    return n;
  }

 private:
  bool next_line(std::string_view& line) {
    for (;;) {
      const char* first = buf_.data() + begin_;
      const std::size_t avail = end_ - begin_;
      const void* nl = avail != 0 ? std::memchr(first, '\n', avail) : nullptr;
      std::size_t len = 0;
      if (nl != nullptr) {
        len = static_cast<std::size_t>(static_cast<const char*>(nl) - first);
        begin_ += len + 1;
      } else if (eof_ || (begin_ == 0 && end_ == buf_.size() && !grow())) {
        if (avail == 0) return false;
        len = avail;  // the last line, without its newline
        begin_ = end_;
      } else {
        fill();
        continue;
      }
      ++line_;
      if (len != 0 && first[len - 1] == '\r') --len;
      line = std::string_view(first, len);
      return true;
    }
  }

  // The buffer is full of one unfinished line: double it, or fail past max_line.
  bool grow() {
    if (buf_.size() >= max_line) {
      throw error::at_line(path(), line_ + 1,
                           "line longer than " + std::to_string(max_line) + " bytes (not a text trace?)");
    }
    buf_.resize(std::min(buf_.size() * 2, max_line));
    return true;
  }

  Parser parser_;
  std::uint64_t line_ = 0;
};

struct lines_parser {
  bool parse(std::string_view line, request& r, const line_context& at) const {
    line = trim(line);
    if (line.empty() || line == "*") return false;  // blank, or a LIRS checkpoint mark
    r = request{.key = parse_key(line, at)};
    return true;
  }
};

struct time_key_size_parser {
  bool parse(std::string_view line, request& r, const line_context& at) const {
    std::string_view fields[3];
    std::size_t count = 0;
    std::size_t i = 0;
    while (true) {
      while (i < line.size() && is_blank(line[i])) ++i;
      if (i == line.size()) break;
      const std::size_t start = i;
      while (i < line.size() && !is_blank(line[i])) ++i;
      if (count == 3) at.fail("trailing garbage after `time key size`: " + quote(line.substr(start)));
      fields[count++] = line.substr(start, i - start);
    }
    if (count == 0) return false;  // blank line
    if (count < 3) {
      static constexpr const char* names[] = {"time", "key", "size"};
      at.fail(std::string("missing column: expected `time key size`, no ") + names[count]);
    }
    r = request{.key = parse_key(fields[1], at),
                .size = parse_number<std::uint64_t>(fields[2], "size", at),
                .time = parse_number<std::uint64_t>(fields[0], "time", at)};
    return true;
  }
};

class csv_parser {
 public:
  csv_parser(const format_options& o, const std::filesystem::path& path) : opts_(o), header_pending_(o.has_header) {
    if (o.delimiter == '"' || o.delimiter == '\n' || o.delimiter == '\r') {
      throw error(path, "csv: the delimiter cannot be a quote or a line break");
    }
    last_column_ = std::max({o.key_column, o.size_column.value_or(0), o.time_column.value_or(0)});
  }

  bool parse(std::string_view line, request& r, const line_context& at) {
    if (trim(line).empty()) return false;
    if (header_pending_) {
      header_pending_ = false;
      return false;
    }
    std::string_view key, size, time;
    std::size_t column = 0;
    std::size_t i = 0;
    for (;; ++column) {
      const std::string_view field = next_field(line, i, at, column);
      if (column == opts_.key_column) key = field;
      if (opts_.size_column && column == *opts_.size_column) size = field;
      if (opts_.time_column && column == *opts_.time_column) time = field;
      if (column == last_column_) break;
      if (i >= line.size()) {
        at.fail("missing column " + std::to_string(last_column_) + " (the line has " + std::to_string(column + 1) +
                " column(s); columns count from 0)");
      }
      ++i;  // past the delimiter
    }
    // Columns after the last one we need are allowed (and not scanned): csv traces
    // commonly carry fields a cache does not use.
    if (opts_.hash_keys && key.empty()) at.fail("missing key (empty field)");
    r = request{.key = opts_.hash_keys ? fnv1a(key) : parse_key(key, at)};
    if (opts_.size_column) r.size = parse_number<std::uint64_t>(size, "size", at);
    if (opts_.time_column) r.time = parse_number<std::uint64_t>(time, "time", at);
    return true;
  }

 private:
  // The field starting at i, unquoted and trimmed; leaves i on its delimiter or the end.
  std::string_view next_field(std::string_view line, std::size_t& i, const line_context& at,
                              std::size_t column) const {
    const char d = opts_.delimiter;
    const auto blank = [d](char c) { return c != d && is_blank(c); };
    while (i < line.size() && blank(line[i])) ++i;
    if (i < line.size() && line[i] == '"') {
      // A quoted field may hold the delimiter; "" inside is an escaped quote (kept as
      // is: a key with quotes is only meaningful with hash_keys). No multi-line fields.
      const std::size_t start = ++i;
      for (;;) {
        if (i >= line.size()) at.fail("unterminated quoted field in column " + std::to_string(column));
        if (line[i] == '"') {
          if (i + 1 < line.size() && line[i + 1] == '"') {
            i += 2;
            continue;
          }
          break;
        }
        ++i;
      }
      const std::string_view field = line.substr(start, i - start);
      ++i;  // the closing quote
      while (i < line.size() && blank(line[i])) ++i;
      if (i < line.size() && line[i] != d) {
        at.fail("trailing garbage after the quoted field in column " + std::to_string(column) + ": " +
                quote(line.substr(i)));
      }
      return field;
    }
    const std::size_t start = i;
    while (i < line.size() && line[i] != d) ++i;
    std::string_view field = line.substr(start, i - start);
    while (!field.empty() && blank(field.back())) field.remove_suffix(1);
    return field;
  }

  format_options opts_;
  std::size_t last_column_ = 0;
  bool header_pending_;
};

std::unique_ptr<reader::impl> make_impl(std::unique_ptr<byte_source> src, trace::format f,
                                        const format_options& opts) {
  switch (f) {
    case format::i32be: return std::make_unique<binary_reader<i32be_record>>(std::move(src), f);
    case format::u32be: return std::make_unique<binary_reader<u32be_record>>(std::move(src), f);
    case format::i64be: return std::make_unique<binary_reader<i64be_record>>(std::move(src), f);
    case format::oracle_general:
      return std::make_unique<binary_reader<oracle_general_record>>(std::move(src), f);
    case format::lines: return std::make_unique<text_reader<lines_parser>>(std::move(src), f, lines_parser{});
    case format::time_key_size:
      return std::make_unique<text_reader<time_key_size_parser>>(std::move(src), f, time_key_size_parser{});
    case format::csv: {
      csv_parser parser(opts, src->path());
      return std::make_unique<text_reader<csv_parser>>(std::move(src), f, std::move(parser));
    }
  }
  throw error(src->path(), "unknown trace format");
}

std::string unknown_format_message(std::string_view name) {
  std::string m = "unknown trace format " + quote(name) + " (known:";
  for (format f : all_formats) {
    m += ' ';
    m += to_string(f);
  }
  m += ')';
  return m;
}

}  // namespace

format parse_format(std::string_view name) {
  if (auto f = find_format(name)) return *f;
  throw error(std::filesystem::path(), unknown_format_message(name));
}

reader::reader(std::unique_ptr<impl> p) noexcept : impl_(std::move(p)) {}
reader::reader(reader&&) noexcept = default;
reader& reader::operator=(reader&&) noexcept = default;
reader::~reader() = default;

std::size_t reader::read(std::span<request> out) { return impl_->read(out); }
trace::format reader::format() const noexcept { return impl_->format(); }
const std::filesystem::path& reader::path() const noexcept { return impl_->path(); }
bool reader::provides_next_access() const noexcept { return impl_->format() == format::oracle_general; }
std::uint64_t reader::position() const noexcept { return impl_->position(); }

reader open(std::unique_ptr<byte_source> bytes, trace::format f, const format_options& opts) {
  return reader(make_impl(std::move(bytes), f, opts));
}

reader open(const std::filesystem::path& path, trace::format f, const format_options& opts) {
  return open(open_bytes(path), f, opts);
}

reader open(const std::filesystem::path& path, std::string_view format_name, const format_options& opts) {
  // The format is checked before the file is touched: a typo should not read a file.
  const auto f = find_format(format_name);
  if (!f) throw error(path, unknown_format_message(format_name));
  return open(path, *f, opts);
}

std::vector<request> load(reader& r, std::size_t limit) {
  // Decode into a small cache-resident batch and append it: growing with reserve (not
  // resize) never zero-fills memory that is about to be overwritten, which on orm-busy
  // (5M requests, 160 MB) is most of the cost of loading.
  std::array<request, 4096> batch;
  std::vector<request> out;
  while (out.size() < limit) {
    const std::size_t want = std::min(batch.size(), limit - out.size());
    const std::size_t n = r.read(std::span(batch).first(want));
    if (n == 0) break;
    if (out.capacity() - out.size() < n) out.reserve(std::max<std::size_t>(out.capacity() * 2, 1 << 16));
    out.insert(out.end(), batch.begin(), batch.begin() + static_cast<std::ptrdiff_t>(n));
  }
  return out;
}

std::vector<request> load(const std::filesystem::path& path, std::string_view format_name,
                          const format_options& opts, std::size_t limit) {
  reader r = open(path, format_name, opts);
  return load(r, limit);
}

}  // namespace prescient::trace
