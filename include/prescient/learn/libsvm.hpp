// prescient/learn/libsvm.hpp — datasets as LibSVM text, the format xgboost reads
// everywhere (its command line, its Python package, its distributed trainers).
//
// One row a line: `label index:value index:value ...`, indices 0-based (xgboost's
// reader takes them as column numbers as written), missing values (NaN) left out, values
// printed with 9 significant digits so that every float reads back bit for bit.
#pragma once

#include <cmath>
#include <cstdio>
#include <istream>
#include <ostream>
#include <span>
#include <sstream>
#include <string>
#include <vector>

#include "prescient/learn/predictor.hpp"

namespace prescient::learn {

/// Writes `rows` with `labels` (one per row) as LibSVM text.
inline void write_libsvm(std::ostream& out, const feature_matrix& rows, std::span<const float> labels) {
  check_batch(rows, static_cast<std::size_t>(rows.cols()), labels);
  char buf[48];
  for (Eigen::Index r = 0; r < rows.rows(); ++r) {
    std::snprintf(buf, sizeof buf, "%.9g", static_cast<double>(labels[static_cast<std::size_t>(r)]));
    out << buf;
    for (Eigen::Index c = 0; c < rows.cols(); ++c) {
      const float v = rows(r, c);
      if (std::isnan(v)) continue;
      std::snprintf(buf, sizeof buf, " %ld:%.9g", static_cast<long>(c), static_cast<double>(v));
      out << buf;
    }
    out << '\n';
  }
}

/// Reads LibSVM text into rows of `columns` features (absent: NaN) and labels. Throws
/// feature_error naming the line on a malformed pair or an index out of range.
inline void read_libsvm(std::istream& in, std::size_t columns, feature_matrix& rows, std::vector<float>& labels) {
  std::vector<float> values;
  labels.clear();
  std::string line;
  std::size_t line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.empty()) continue;
    std::istringstream fields(line);
    float label = 0;
    if (!(fields >> label)) throw feature_error("libsvm line " + std::to_string(line_no) + ": no label");
    labels.push_back(label);
    values.resize(values.size() + columns, std::numeric_limits<float>::quiet_NaN());
    float* row = values.data() + values.size() - columns;
    std::string pair;
    while (fields >> pair) {
      const auto colon = pair.find(':');
      std::size_t index = 0;
      float value = 0;
      try {
        if (colon == std::string::npos) throw std::invalid_argument("no colon");
        index = std::stoul(pair.substr(0, colon));
        value = std::stof(pair.substr(colon + 1));
      } catch (const std::exception&) {
        throw feature_error("libsvm line " + std::to_string(line_no) + ": malformed pair '" + pair + "'");
      }
      if (index >= columns)
        throw feature_error("libsvm line " + std::to_string(line_no) + ": feature index " + std::to_string(index) +
                            " is not below " + std::to_string(columns));
      row[index] = value;
    }
  }
  rows = Eigen::Map<const feature_matrix>(values.data(), static_cast<Eigen::Index>(labels.size()),
                                          static_cast<Eigen::Index>(columns));
}

}  // namespace prescient::learn
