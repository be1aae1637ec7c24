// prescient/learn/libsvm.hpp — datasets as LibSVM text, the format xgboost reads
// everywhere (its command line, its Python package, its distributed trainers).
//
// One row a line: `label index:value index:value ...`. Conventions, chosen for
// xgboost 1.7 (`data = "file?format=libsvm"`, whose parser defaults to indexing_mode 0):
//   - indices are 0-based column numbers, written in increasing order;
//   - a missing value (NaN) is left out, with one exception: xgboost infers the number
//     of features from the largest index it sees, so when the last column is missing
//     in every row the first row carries `<last>:nan` (xgboost reads it as missing) and
//     the model still has rows.cols() features;
//   - labels and values are printed with 9 significant digits ("%.9g"), enough for
//     every float to read back bit for bit.
// xgboost_cli_test.cpp proves the round trip through /usr/bin/xgboost.
//
// Reading is strict: a malformed label or pair, an index beyond the row width, a
// repeated index or a non-finite label or value (other than `nan`, read as missing)
// throws feature_error naming the line. Cost: both directions are text formatting /
// parsing, ~100 ns a value; use them for export and tests, not on a hot path.
#pragma once

#include <charconv>
#include <cmath>
#include <cstdio>
#include <istream>
#include <limits>
#include <ostream>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "prescient/learn/predictor.hpp"

namespace prescient::learn {

/// Rows and labels read from LibSVM text.
struct libsvm_data {
  feature_matrix rows;
  std::vector<float> labels;
};

/// Writes `rows` with `labels` (one per row) as LibSVM text. Throws feature_error on a
/// label count that is not the row count, a non-finite label or an infinite value.
inline void write_libsvm(std::ostream& out, const feature_matrix& rows, std::span<const float> labels) {
  if (labels.size() != static_cast<std::size_t>(rows.rows()))
    throw feature_error("libsvm: " + std::to_string(labels.size()) + " labels for " + std::to_string(rows.rows()) +
                        " rows");
  check_batch(rows, static_cast<std::size_t>(rows.cols()), labels);  // infinite values
  // Does any row hold a value in the last column? If not, the first row names it.
  bool last_column_seen = rows.cols() == 0;
  for (Eigen::Index r = 0; r < rows.rows() && !last_column_seen; ++r)
    last_column_seen = !std::isnan(rows(r, rows.cols() - 1));
  char buf[48];
  for (Eigen::Index r = 0; r < rows.rows(); ++r) {
    const float label = labels[static_cast<std::size_t>(r)];
    if (!std::isfinite(label))
      throw feature_error("libsvm: label " + std::to_string(r) + " is not finite");
    std::snprintf(buf, sizeof buf, "%.9g", static_cast<double>(label));
    out << buf;
    for (Eigen::Index c = 0; c < rows.cols(); ++c) {
      const float v = rows(r, c);
      if (std::isnan(v)) {
        if (r == 0 && c == rows.cols() - 1 && !last_column_seen) out << ' ' << c << ":nan";
        continue;
      }
      std::snprintf(buf, sizeof buf, " %td:%.9g", c, static_cast<double>(v));
      out << buf;
    }
    out << '\n';
  }
  if (!out) throw feature_error("libsvm: writing the dataset failed");
}

namespace detail {

inline bool libsvm_space(char c) { return c == ' ' || c == '\t' || c == '\r'; }

// The next whitespace-separated token of `line` from `at`, or empty at the end.
inline std::string_view libsvm_token(std::string_view line, std::size_t& at) {
  while (at < line.size() && libsvm_space(line[at])) ++at;
  const std::size_t start = at;
  while (at < line.size() && !libsvm_space(line[at])) ++at;
  return line.substr(start, at - start);
}

inline bool libsvm_float(std::string_view text, float& out) {
  const auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc{} && p == text.data() + text.size() && !text.empty();
}

}  // namespace detail

/// Reads LibSVM text into rows of `num_features` columns (absent or `nan`: NaN) and
/// labels. Blank lines are skipped. Throws feature_error naming the line.
inline libsvm_data read_libsvm(std::istream& in, std::size_t num_features) {
  std::vector<float> values;
  std::vector<float> labels;
  std::string line;
  std::size_t line_no = 0;
  const auto fail = [&](const std::string& what) -> feature_error {
    return feature_error("libsvm line " + std::to_string(line_no) + ": " + what);
  };
  while (std::getline(in, line)) {
    ++line_no;
    std::size_t at = 0;
    const std::string_view label_text = detail::libsvm_token(line, at);
    if (label_text.empty()) continue;  // blank line
    float label = 0;
    if (!detail::libsvm_float(label_text, label)) throw fail("malformed label '" + std::string(label_text) + "'");
    if (!std::isfinite(label)) throw fail("label '" + std::string(label_text) + "' is not finite");
    labels.push_back(label);
    values.resize(values.size() + num_features, std::numeric_limits<float>::quiet_NaN());
    float* row = values.data() + values.size() - num_features;
    std::vector<bool> seen(num_features, false);
    for (std::string_view pair; !(pair = detail::libsvm_token(line, at)).empty();) {
      const auto colon = pair.find(':');
      std::size_t index = 0;
      float value = 0;
      const bool index_ok = colon != std::string_view::npos && colon > 0 && [&] {
        const auto [p, ec] = std::from_chars(pair.data(), pair.data() + colon, index);
        return ec == std::errc{} && p == pair.data() + colon;
      }();
      if (!index_ok || !detail::libsvm_float(pair.substr(colon + 1), value))
        throw fail("malformed pair '" + std::string(pair) + "' (expected index:value)");
      if (index >= num_features)
        throw fail("feature index " + std::to_string(index) + " is not below " + std::to_string(num_features));
      if (seen[index]) throw fail("feature index " + std::to_string(index) + " appears twice");
      if (std::isinf(value)) throw fail("feature " + std::to_string(index) + " is infinite");
      seen[index] = true;
      row[index] = value;  // nan stays NaN: missing
    }
  }
  if (in.bad()) throw feature_error("libsvm: reading failed after line " + std::to_string(line_no));
  libsvm_data out;
  out.rows = Eigen::Map<const feature_matrix>(values.data(), static_cast<Eigen::Index>(labels.size()),
                                              static_cast<Eigen::Index>(num_features));
  out.labels = std::move(labels);
  return out;
}

/// The same, into existing containers.
inline void read_libsvm(std::istream& in, std::size_t num_features, feature_matrix& rows, std::vector<float>& labels) {
  libsvm_data data = read_libsvm(in, num_features);
  rows = std::move(data.rows);
  labels = std::move(data.labels);
}

}  // namespace prescient::learn
