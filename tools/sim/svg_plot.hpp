// tools/sim/svg_plot.hpp — miss-ratio curves as a standalone SVG (no dependency).
//
// One line per series (miss ratio against cache size), sizes on a log axis when they
// span more than a decade, a legend, and grid lines. A series may be drawn dashed (the
// approximate curves of a miniature simulation beside the exact ones).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace prescient::sim {

struct plot_series {
  std::string label;
  std::vector<std::pair<double, double>> points;  // (cache size, miss ratio)
  bool dashed = false;
  int colour = -1;  ///< palette index; -1: the series' position (pairs share one colour)
};

inline std::string format_size(double v) {
  char buf[32];
  if (v >= 1e9) std::snprintf(buf, sizeof buf, "%.3gG", v / 1e9);
  else if (v >= 1e6) std::snprintf(buf, sizeof buf, "%.3gM", v / 1e6);
  else if (v >= 1e3) std::snprintf(buf, sizeof buf, "%.3gk", v / 1e3);
  else std::snprintf(buf, sizeof buf, "%.3g", v);
  return buf;
}

inline void write_svg_plot(const std::string& path, const std::string& title, const std::string& x_label,
                           const std::vector<plot_series>& series) {
  constexpr double width = 860, height = 520, left = 70, right = 200, top = 50, bottom = 60;
  double xmin = 1e300, xmax = -1e300, ymin = 1.0, ymax = 0.0;
  for (const auto& s : series)
    for (auto [x, y] : s.points) {
      xmin = std::min(xmin, x); xmax = std::max(xmax, x);
      ymin = std::min(ymin, y); ymax = std::max(ymax, y);
    }
  if (xmin > xmax) throw std::runtime_error("plot: no points to draw");
  const bool log_x = xmin > 0 && xmax / xmin > 10;
  auto tx = [&](double x) { return log_x ? std::log10(x) : x; };
  double x0 = tx(xmin), x1 = tx(xmax);
  if (x1 == x0) { x0 -= 0.5; x1 += 0.5; }
  // Pad the miss-ratio axis a little and snap it to tenths or hundredths.
  const double span = std::max(0.02, ymax - ymin);
  double y0 = std::max(0.0, ymin - 0.1 * span), y1 = std::min(1.0, ymax + 0.1 * span);
  const double step = span > 0.3 ? 0.1 : (span > 0.08 ? 0.02 : 0.01);
  y0 = std::floor(y0 / step) * step;
  y1 = std::ceil(y1 / step) * step;
  auto px = [&](double x) { return left + (tx(x) - x0) / (x1 - x0) * (width - left - right); };
  auto py = [&](double y) { return top + (y1 - y) / (y1 - y0) * (height - top - bottom); };

  static const char* colours[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
                                  "#8c564b", "#e377c2", "#17becf", "#7f7f7f", "#bcbd22"};
  std::ofstream out(path);
  if (!out) throw std::runtime_error("plot: cannot write '" + path + "'");
  out << "<svg xmlns='http://www.w3.org/2000/svg' width='" << width << "' height='" << height
      << "' font-family='sans-serif' font-size='12'>\n<rect width='100%' height='100%' fill='white'/>\n";
  out << "<text x='" << (left + (width - left - right) / 2) << "' y='24' text-anchor='middle' font-size='15'>" << title
      << "</text>\n";
  for (double y = y0; y <= y1 + 1e-9; y += step) {
    out << "<line x1='" << left << "' x2='" << (width - right) << "' y1='" << py(y) << "' y2='" << py(y)
        << "' stroke='#e5e5e5'/>\n<text x='" << (left - 6) << "' y='" << (py(y) + 4) << "' text-anchor='end'>";
    char buf[16];
    std::snprintf(buf, sizeof buf, step < 0.1 ? "%.2f" : "%.1f", y);
    out << buf << "</text>\n";
  }
  std::vector<double> xticks;
  if (log_x) {
    for (double d = std::pow(10, std::floor(x0)); d <= xmax * 1.0001; d *= 10)
      for (double m : {1.0, 2.0, 5.0})
        if (d * m >= xmin * 0.9999 && d * m <= xmax * 1.0001) xticks.push_back(d * m);
  } else {
    for (int i = 0; i <= 5; ++i) xticks.push_back(xmin + (xmax - xmin) * i / 5);
  }
  for (double x : xticks)
    out << "<line x1='" << px(x) << "' x2='" << px(x) << "' y1='" << top << "' y2='" << (height - bottom)
        << "' stroke='#f0f0f0'/>\n<text x='" << px(x) << "' y='" << (height - bottom + 16)
        << "' text-anchor='middle'>" << format_size(x) << "</text>\n";
  out << "<rect x='" << left << "' y='" << top << "' width='" << (width - left - right) << "' height='"
      << (height - top - bottom) << "' fill='none' stroke='#333'/>\n";
  out << "<text x='" << (left + (width - left - right) / 2) << "' y='" << (height - 16) << "' text-anchor='middle'>"
      << x_label << (log_x ? " (log scale)" : "") << "</text>\n";
  out << "<text transform='translate(18," << (top + (height - top - bottom) / 2)
      << ") rotate(-90)' text-anchor='middle'>miss ratio</text>\n";
  for (std::size_t i = 0; i < series.size(); ++i) {
    const auto& s = series[i];
    const std::size_t colour_index = s.colour >= 0 ? static_cast<std::size_t>(s.colour) : i;
    const char* colour = colours[colour_index % std::size(colours)];
    auto pts = s.points;
    std::sort(pts.begin(), pts.end());
    out << "<polyline fill='none' stroke='" << colour << "' stroke-width='2'"
        << (s.dashed ? " stroke-dasharray='6,4'" : "") << " points='";
    for (auto [x, y] : pts) out << px(x) << ',' << py(y) << ' ';
    out << "'/>\n";
    for (auto [x, y] : pts) out << "<circle cx='" << px(x) << "' cy='" << py(y) << "' r='3' fill='" << colour << "'/>\n";
    const double ly = top + 10 + 20.0 * static_cast<double>(i);
    out << "<line x1='" << (width - right + 15) << "' x2='" << (width - right + 45) << "' y1='" << ly << "' y2='" << ly
        << "' stroke='" << colour << "' stroke-width='2'" << (s.dashed ? " stroke-dasharray='6,4'" : "")
        << "/>\n<text x='" << (width - right + 52) << "' y='" << (ly + 4) << "'>" << s.label << "</text>\n";
  }
  out << "</svg>\n";
}

}  // namespace prescient::sim
