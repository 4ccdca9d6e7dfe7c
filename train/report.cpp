#include "train/report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>

#include "core/build_info.h"
#include "core/error.h"
#include "train/io/atomic_file.h"
#include "train/trainer.h"

namespace redes::train {

std::string result_json(const std::string& workload, const std::string& device, const std::string& metric,
                        double value, const std::string& unit,
                        const std::vector<std::pair<std::string, std::string>>& variant) {
  // A CUDA device of the emulated build says so, so its numbers are never
  // taken for a GPU's.
  const bool emulated = build_info().cuda_emulated && device.rfind("cuda", 0) == 0;
  nlohmann::ordered_json line{{"workload", workload}, {"device", emulated ? device + " (emulated)" : device},
                              {"impl", "redes"},
                              {"metric", metric},     {"value", value},   {"unit", unit}};
  for (const auto& [key, text] : variant) line[key] = nlohmann::json::parse(text);
  return line.dump();
}

namespace {

// The median of f(record) over the history, without the warm-up epoch.
template <class F>
double median_over_epochs(const std::vector<EpochRecord>& history, F f) {
  std::vector<double> values;
  for (std::size_t i = history.size() > 1 ? 1 : 0; i < history.size(); ++i) values.push_back(f(history[i]));
  if (values.empty()) return 0.0;
  std::sort(values.begin(), values.end());
  const std::size_t middle = values.size() / 2;
  return values.size() % 2 == 1 ? values[middle] : 0.5 * (values[middle - 1] + values[middle]);
}

}  // namespace

double median_step_seconds(const std::vector<EpochRecord>& history) {
  return median_over_epochs(history, [](const EpochRecord& r) {
    return r.steps > 0 ? r.seconds / static_cast<double>(r.steps) : 0.0;
  });
}

double median_epoch_seconds(const std::vector<EpochRecord>& history) {
  return median_over_epochs(history, [](const EpochRecord& r) { return r.seconds; });
}

double median_samples_per_second(const std::vector<EpochRecord>& history) {
  return median_over_epochs(history, [](const EpochRecord& r) { return r.samples_per_second; });
}

std::string epoch_json(const EpochRecord& record) {
  nlohmann::ordered_json line{{"epoch", record.epoch},
                              {"train_loss", record.train.loss},
                              {"seconds", record.seconds},
                              {"samples_per_second", record.samples_per_second},
                              {"learning_rate", record.learning_rate}};
  if (record.train.accuracy) line["train_accuracy"] = *record.train.accuracy;
  if (record.train.rmse) line["train_rmse"] = *record.train.rmse;
  if (record.skipped > 0) line["skipped_batches"] = record.skipped;
  if (record.eval) {
    line["test_loss"] = record.eval->loss;
    if (record.eval->accuracy) line["test_accuracy"] = *record.eval->accuracy;
    if (record.eval->rmse) line["test_rmse"] = *record.eval->rmse;
  }
  return line.dump();
}

namespace {

struct Series {
  std::string label;
  std::string colour;
  std::string dash;  // "" solid, else an SVG dash pattern
  std::vector<double> values;
};

// One chart: series over x positions 1..n in a box at (left, top) of size (width, height).
void draw_chart(std::string& svg, const std::string& title, const std::vector<Series>& series, double left, double top,
                double width, double height, const std::string& x_label = "epoch") {
  double low = std::numeric_limits<double>::infinity(), high = -std::numeric_limits<double>::infinity();
  std::size_t points = 0;
  for (const Series& s : series) {
    for (double v : s.values) {
      low = std::min(low, v);
      high = std::max(high, v);
    }
    points = std::max(points, s.values.size());
  }
  if (points == 0) return;
  if (high - low < 1e-12) {
    high += 0.5;
    low -= 0.5;
  }
  char text[512];
  std::snprintf(text, sizeof text,
                "<rect x='%.1f' y='%.1f' width='%.1f' height='%.1f' fill='none' stroke='#999'/>\n"
                "<text x='%.1f' y='%.1f' font-size='14' font-family='sans-serif'>%s</text>\n"
                "<text x='%.1f' y='%.1f' font-size='10' font-family='sans-serif' text-anchor='end'>%.4g</text>\n"
                "<text x='%.1f' y='%.1f' font-size='10' font-family='sans-serif' text-anchor='end'>%.4g</text>\n"
                "<text x='%.1f' y='%.1f' font-size='10' font-family='sans-serif' text-anchor='middle'>%s</text>\n",
                left, top, width, height, left, top - 8, title.c_str(), left - 4, top + 10, high, left - 4,
                top + height, low, left + width / 2, top + height + 16, x_label.c_str());
  svg += text;
  const auto x_of = [&](std::size_t i) {
    return left + (points == 1 ? width / 2 : width * static_cast<double>(i) / static_cast<double>(points - 1));
  };
  const auto y_of = [&](double v) { return top + height - height * (v - low) / (high - low); };
  double legend_y = top + 14;
  for (const Series& s : series) {
    if (s.values.empty()) continue;
    svg += "<polyline fill='none' stroke='" + s.colour + "' stroke-width='2'" +
           (s.dash.empty() ? std::string() : " stroke-dasharray='" + s.dash + "'") + " points='";
    for (std::size_t i = 0; i < s.values.size(); ++i) {
      std::snprintf(text, sizeof text, "%.1f,%.1f ", x_of(i), y_of(s.values[i]));
      svg += text;
    }
    svg += "'/>\n";
    std::snprintf(text, sizeof text,
                  "<text x='%.1f' y='%.1f' font-size='11' font-family='sans-serif' fill='%s'>%s</text>\n",
                  left + width - 90, legend_y, s.colour.c_str(), s.label.c_str());
    svg += text;
    legend_y += 14;
  }
}

// An 860x340 white picture holding `charts`, written atomically.
void write_svg(const std::string& path, const std::string& who, const std::string& charts) {
  write_text_atomically(path, who,
                        "<svg xmlns='http://www.w3.org/2000/svg' width='860' height='340' viewBox='0 0 860 340'>\n"
                        "<rect width='860' height='340' fill='white'/>\n" +
                            charts + "</svg>\n");
}

}  // namespace

void write_line_chart(const std::string& path, const std::string& title, const std::string& x_label,
                      const std::vector<ChartSeries>& series) {
  static const char* const kColours[] = {"#000000", "#d62728", "#1f77b4", "#2ca02c", "#9467bd"};
  static const char* const kDashes[] = {"", "", "6,3", "2,2", "8,2,2,2"};
  std::vector<Series> drawn;
  for (std::size_t i = 0; i < series.size(); ++i) {
    drawn.push_back({series[i].label, kColours[i % 5], kDashes[i % 5], series[i].values});
  }
  std::string charts;
  draw_chart(charts, title, drawn, 60, 40, 770, 250, x_label);
  write_svg(path, "write_line_chart", charts);
}

void write_training_curves(const std::string& path, const std::vector<EpochRecord>& history) {
  Series train_loss{"train loss", "#1f77b4", "", {}}, test_loss{"test loss", "#d62728", "6,3", {}};
  Series train_score{"train", "#1f77b4", "", {}}, test_score{"test", "#d62728", "6,3", {}};
  std::string score_name = "accuracy";
  for (const EpochRecord& r : history) {
    train_loss.values.push_back(r.train.loss);
    if (r.eval) test_loss.values.push_back(r.eval->loss);
    const auto score = [&](const Metrics& m) {
      if (m.rmse) score_name = "RMSE";
      return m.accuracy ? *m.accuracy : m.rmse.value_or(0.0);
    };
    train_score.values.push_back(score(r.train));
    if (r.eval) test_score.values.push_back(score(*r.eval));
  }
  std::string charts;
  draw_chart(charts, "loss", {train_loss, test_loss}, 60, 40, 340, 250);
  draw_chart(charts, score_name, {train_score, test_score}, 490, 40, 340, 250);
  write_svg(path, "write_training_curves", charts);
}

}  // namespace redes::train
