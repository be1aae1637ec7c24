// prescient/learn/detail/json.hpp — small JSON and UBJSON readers for model files.
//
// Enough of RFC 8259 to read xgboost's JSON models (objects, arrays, strings with
// escapes, numbers, true/false/null) into a tree of values, with errors that name the
// byte offset. Also the three words xgboost's own writer uses for non-finite floats
// (NaN, Infinity, -Infinity), so that every model xgboost writes reads here. Not a
// general-purpose library: numbers are doubles, \u escapes outside ASCII become '?',
// nesting stops at 64 levels, and the document is held in memory as a tree (a model of
// 32 trees of depth 6 is ~100 KB of text; the tree costs a few times that, briefly).
// Written here rather than taken as a dependency so that compiled_forest.hpp stays
// header-only with nothing but Eigen.
//
// UBJSON (ubjson.org; xgboost's binary model format, `model_format::ubjson`) reads into
// the same tree: the draft-12 markers (Z T F i U I l L d D H C S [ { and the no-op N),
// big-endian, with optional `$type` and `#count` container headers — xgboost writes
// arrays of node fields as typed, counted arrays and objects '}'-terminated. Every read
// is bounds-checked and every count is checked against the bytes left, so a corrupt or
// hostile buffer throws json_error rather than reading past its end. Memory is bounded
// by the size of the document: every value but the elements of a typed container of
// zero-size type (`[$Z#…`, `$T`, `$F`) takes at least one byte, and those take none, so
// the reader gives a document at most as many values as it has bytes (a 64 KiB file of
// nested `[$Z#` arrays would otherwise make tens of millions of nulls, gigabytes). The
// tree then costs at most ~150 bytes per byte of the document (a 40-byte value, up to
// twice that while its vector grows, a map node per object member), as for JSON text,
// where every value takes a character (tests/learn/ubjson_memory_test.cpp checks 160).
#pragma once

#include <bit>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <map>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <variant>
#include <vector>

namespace prescient::learn::detail {

class json_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A number as text for error messages: "3", "0.5", "1e+300".
inline std::string json_number_text(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.10g", v);
  return buf;
}

struct json_value;
using json_array = std::vector<json_value>;
using json_object = std::map<std::string, json_value, std::less<>>;

struct json_value {
  std::variant<std::nullptr_t, bool, double, std::string, std::shared_ptr<json_array>, std::shared_ptr<json_object>> v;

  [[nodiscard]] bool is_object() const { return std::holds_alternative<std::shared_ptr<json_object>>(v); }
  [[nodiscard]] bool is_array() const { return std::holds_alternative<std::shared_ptr<json_array>>(v); }
  [[nodiscard]] bool is_number() const { return std::holds_alternative<double>(v); }
  [[nodiscard]] bool is_string() const { return std::holds_alternative<std::string>(v); }

  /// The member `key` of an object; throws json_error naming `what` otherwise.
  [[nodiscard]] const json_value& at(std::string_view key, std::string_view what = {}) const {
    if (!is_object()) throw json_error(std::string(what.empty() ? key : what) + ": expected an object");
    const auto& obj = *std::get<std::shared_ptr<json_object>>(v);
    const auto it = obj.find(key);
    if (it == obj.end()) throw json_error("missing field '" + std::string(what.empty() ? key : what) + "'");
    return it->second;
  }
  [[nodiscard]] const json_value* find(std::string_view key) const {
    if (!is_object()) return nullptr;
    const auto& obj = *std::get<std::shared_ptr<json_object>>(v);
    const auto it = obj.find(key);
    return it == obj.end() ? nullptr : &it->second;
  }
  [[nodiscard]] const json_array& array(std::string_view what) const {
    if (!is_array()) throw json_error(std::string(what) + ": expected an array");
    return *std::get<std::shared_ptr<json_array>>(v);
  }
  [[nodiscard]] double number(std::string_view what) const {
    if (!is_number()) throw json_error(std::string(what) + ": expected a number");
    return std::get<double>(v);
  }
  [[nodiscard]] const std::string& string(std::string_view what) const {
    if (!is_string()) throw json_error(std::string(what) + ": expected a string");
    return std::get<std::string>(v);
  }
};

class json_parser {
 public:
  static json_value parse(std::string_view text) {
    json_parser p(text);
    p.skip_space();
    json_value out = p.value(0);
    p.skip_space();
    if (p.pos_ != text.size()) p.fail("trailing characters after the document");
    return out;
  }

 private:
  explicit json_parser(std::string_view text) : text_(text) {}

  [[noreturn]] void fail(const std::string& what) const {
    throw json_error("JSON at byte " + std::to_string(pos_) + ": " + what);
  }
  void skip_space() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\n' || text_[pos_] == '\r' || text_[pos_] == '\t'))
      ++pos_;
  }
  char peek() const {
    if (pos_ >= text_.size()) fail("unexpected end of the document");
    return text_[pos_];
  }
  void expect(char c) {
    if (peek() != c) fail(std::string("expected '") + c + "'");
    ++pos_;
  }

  json_value value(int depth) {
    if (depth > 64) fail("nested too deeply");
    switch (peek()) {
      case '{': return object(depth);
      case '[': return array(depth);
      case '"': return json_value{string()};
      case 't': return literal("true", json_value{true});
      case 'f': return literal("false", json_value{false});
      case 'n': return literal("null", json_value{nullptr});
      case 'N': return literal("NaN", json_value{std::numeric_limits<double>::quiet_NaN()});
      case 'I': return literal("Infinity", json_value{std::numeric_limits<double>::infinity()});
      default:
        if (text_.substr(pos_, 9) == "-Infinity") return literal("-Infinity", json_value{-std::numeric_limits<double>::infinity()});
        return json_value{number()};
    }
  }

  json_value literal(std::string_view word, json_value v) {
    if (text_.substr(pos_, word.size()) != word) fail("invalid literal");
    pos_ += word.size();
    return v;
  }

  json_value object(int depth) {
    expect('{');
    auto obj = std::make_shared<json_object>();
    skip_space();
    if (peek() == '}') {
      ++pos_;
      return json_value{obj};
    }
    for (;;) {
      skip_space();
      std::string key = string();
      skip_space();
      expect(':');
      skip_space();
      (*obj)[std::move(key)] = value(depth + 1);
      skip_space();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      expect('}');
      return json_value{obj};
    }
  }

  json_value array(int depth) {
    expect('[');
    auto arr = std::make_shared<json_array>();
    skip_space();
    if (peek() == ']') {
      ++pos_;
      return json_value{arr};
    }
    for (;;) {
      skip_space();
      arr->push_back(value(depth + 1));
      skip_space();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      expect(']');
      return json_value{arr};
    }
  }

  std::string string() {
    expect('"');
    std::string out;
    for (;;) {
      const char c = peek();
      ++pos_;
      if (c == '"') return out;
      if (static_cast<unsigned char>(c) < 0x20) fail("control character in a string");
      if (c != '\\') {
        out.push_back(c);
        continue;
      }
      const char e = peek();
      ++pos_;
      switch (e) {
        case '"': out.push_back('"'); break;
        case '\\': out.push_back('\\'); break;
        case '/': out.push_back('/'); break;
        case 'b': out.push_back('\b'); break;
        case 'f': out.push_back('\f'); break;
        case 'n': out.push_back('\n'); break;
        case 'r': out.push_back('\r'); break;
        case 't': out.push_back('\t'); break;
        case 'u': {
          if (pos_ + 4 > text_.size()) fail("truncated \\u escape");
          unsigned code = 0;
          const auto [p, ec] = std::from_chars(text_.data() + pos_, text_.data() + pos_ + 4, code, 16);
          if (ec != std::errc{} || p != text_.data() + pos_ + 4) fail("invalid \\u escape");
          pos_ += 4;
          out.push_back(code < 0x80 ? static_cast<char>(code) : '?');
          break;
        }
        default: fail("invalid escape");
      }
    }
  }

  double number() {
    const std::size_t start = pos_;
    while (pos_ < text_.size() && std::string_view("+-0123456789.eE").find(text_[pos_]) != std::string_view::npos) ++pos_;
    if (start == pos_) fail("unexpected character");
    double out = 0;
    const auto [p, ec] = std::from_chars(text_.data() + start, text_.data() + pos_, out);
    if (ec != std::errc{} || p != text_.data() + pos_) {
      pos_ = start;
      fail("invalid number");
    }
    return out;
  }

  std::string_view text_;
  std::size_t pos_ = 0;
};

class ubjson_parser {
 public:
  static json_value parse(std::span<const char> bytes) {
    ubjson_parser p(bytes);
    json_value out = p.value(p.marker(), 0);
    p.skip_noops();
    if (p.pos_ != bytes.size()) p.fail("trailing bytes after the document");
    return out;
  }

 private:
  explicit ubjson_parser(std::span<const char> bytes) : bytes_(bytes), values_left_(bytes.size()) {}

  [[noreturn]] void fail(const std::string& what) const {
    throw json_error("UBJSON at byte " + std::to_string(pos_) + ": " + what);
  }
  [[nodiscard]] std::size_t left() const { return bytes_.size() - pos_; }
  void need(std::size_t n) const {
    if (n > left()) fail("unexpected end of the document");
  }
  char next() {
    need(1);
    return bytes_[pos_++];
  }
  void skip_noops() {
    while (pos_ < bytes_.size() && bytes_[pos_] == 'N') ++pos_;
  }
  char marker() {
    skip_noops();
    return next();
  }
  char peek_marker() {
    skip_noops();
    need(1);
    return bytes_[pos_];
  }
  std::uint64_t big_endian(std::size_t n) {
    need(n);
    std::uint64_t out = 0;
    for (std::size_t i = 0; i < n; ++i) out = (out << 8) | static_cast<unsigned char>(bytes_[pos_ + i]);
    pos_ += n;
    return out;
  }

  // The payload size of a fixed-size marker, 0 for T F Z, or -1 (variable or unknown).
  static int fixed_size(char m) {
    switch (m) {
      case 'i': case 'U': case 'C': return 1;
      case 'I': return 2;
      case 'l': case 'd': return 4;
      case 'L': case 'D': return 8;
      case 'T': case 'F': case 'Z': return 0;
      default: return -1;
    }
  }

  std::int64_t integer(char m) {
    switch (m) {
      case 'i': return static_cast<std::int8_t>(big_endian(1));
      case 'U': return static_cast<std::int64_t>(big_endian(1));
      case 'I': return static_cast<std::int16_t>(big_endian(2));
      case 'l': return static_cast<std::int32_t>(big_endian(4));
      case 'L': return static_cast<std::int64_t>(big_endian(8));
      default: fail(std::string("expected an integer marker, found '") + m + "'");
    }
  }

  // A length or count: a non-negative integer no larger than the bytes left after it.
  std::size_t count(const char* what) {
    const std::int64_t n = integer(marker());
    if (n < 0 || static_cast<std::uint64_t>(n) > left())
      fail(std::string(what) + " " + std::to_string(n) + " exceeds the " + std::to_string(left()) + " bytes left");
    return static_cast<std::size_t>(n);
  }

  std::string string_payload() {
    const std::size_t n = count("string length");
    std::string out(bytes_.data() + pos_, n);
    pos_ += n;
    return out;
  }

  // Every value read spends one of the document's bytes' worth of values (see the top).
  void spend_values(std::size_t n) {
    if (n > values_left_)
      fail("more values (" + std::to_string(n) + " more) than the document has bytes; zero-size typed elements "
           "($Z $T $F) cannot outnumber the document's bytes");
    values_left_ -= n;
  }

  json_value value(char m, int depth) {
    if (depth > 64) fail("nested too deeply");
    spend_values(1);
    switch (m) {
      case 'Z': return json_value{nullptr};
      case 'T': return json_value{true};
      case 'F': return json_value{false};
      case 'i': case 'U': case 'I': case 'l': case 'L': return json_value{static_cast<double>(integer(m))};
      case 'd': return json_value{static_cast<double>(std::bit_cast<float>(static_cast<std::uint32_t>(big_endian(4))))};
      case 'D': return json_value{std::bit_cast<double>(big_endian(8))};
      case 'H': {
        const std::string text = string_payload();
        double out = 0;
        const auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
        if (ec != std::errc{} || p != text.data() + text.size() || text.empty()) fail("invalid high-precision number");
        return json_value{out};
      }
      case 'C': return json_value{std::string(1, next())};
      case 'S': return json_value{string_payload()};
      case '[': return array(depth);
      case '{': return object(depth);
      default: fail(std::string("unknown marker '") + m + "'");
    }
  }

  // An optional `$type` and `#count` after '[' or '{'. Returns whether a count was given.
  bool header(char& type, std::size_t& n) {
    type = 0;
    n = 0;
    if (peek_marker() == '$') {
      ++pos_;
      type = next();
      if (peek_marker() != '#') fail("a typed container without a count");
    }
    if (peek_marker() != '#') return false;
    ++pos_;
    n = count("container count");
    const int size = type != 0 ? fixed_size(type) : -1;
    // Each element takes at least one byte (or `size` bytes when typed), except typed
    // elements of zero size (T F Z), which count() bounds only per container.
    if (size > 0 && n > left() / static_cast<std::size_t>(size)) fail("container count exceeds the document");
    // Zero-size elements take no bytes: bound them, before anything is reserved for them,
    // by the values the document may still make.
    if (n > values_left_) spend_values(n);  // fails
    return true;
  }

  json_value array(int depth) {
    auto arr = std::make_shared<json_array>();
    char type = 0;
    std::size_t n = 0;
    if (header(type, n)) {
      arr->reserve(n);
      for (std::size_t i = 0; i < n; ++i) arr->push_back(value(type != 0 ? type : marker(), depth + 1));
      return json_value{arr};
    }
    while (peek_marker() != ']') arr->push_back(value(marker(), depth + 1));
    ++pos_;
    return json_value{arr};
  }

  json_value object(int depth) {
    auto obj = std::make_shared<json_object>();
    char type = 0;
    std::size_t n = 0;
    if (header(type, n)) {
      for (std::size_t i = 0; i < n; ++i) {
        std::string key = string_payload();
        (*obj)[std::move(key)] = value(type != 0 ? type : marker(), depth + 1);
      }
      return json_value{obj};
    }
    while (peek_marker() != '}') {
      std::string key = string_payload();
      (*obj)[std::move(key)] = value(marker(), depth + 1);
    }
    ++pos_;
    return json_value{obj};
  }

  std::span<const char> bytes_;
  std::size_t pos_ = 0;
  std::size_t values_left_;  // values the document may still make: one per byte
};

}  // namespace prescient::learn::detail
