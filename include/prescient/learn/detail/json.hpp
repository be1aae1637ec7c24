// prescient/learn/detail/json.hpp — a small JSON reader for model files.
//
// Enough of RFC 8259 to read xgboost's JSON models (objects, arrays, strings with
// escapes, numbers, true/false/null) into a tree of values, with errors that name the
// byte offset. Not a general-purpose library: numbers are doubles, \u escapes outside
// ASCII become '?', and the document is held in memory (models are small). Written here
// rather than taken as a dependency so that compiled_forest.hpp stays header-only with
// nothing but Eigen.
#pragma once

#include <charconv>
#include <cstddef>
#include <map>
#include <memory>
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
      default: return json_value{number()};
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

}  // namespace prescient::learn::detail
