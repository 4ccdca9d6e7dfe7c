#include "train/report.h"

#include <algorithm>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <zlib.h>

#include "core/build_info.h"
#include "core/error.h"
#include "core/ops.h"
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

// Text for SVG character data and attribute values.
std::string xml_escape(const std::string& text) {
  std::string out;
  for (const char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '\'': out += "&apos;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

// printf into a std::string of any length.
#if defined(__GNUC__)
__attribute__((format(printf, 1, 2)))
#endif
std::string format(const char* pattern, ...) {
  std::va_list args;
  va_start(args, pattern);
  std::va_list again;
  va_copy(again, args);
  const int length = std::vsnprintf(nullptr, 0, pattern, args);
  va_end(args);
  std::string text(static_cast<std::size_t>(std::max(length, 0)) + 1, '\0');
  std::vsnprintf(text.data(), text.size(), pattern, again);
  va_end(again);
  text.pop_back();
  return text;
}

// 1, 2 or 5 times a power of ten, so that about `target` steps span `span`.
double nice_step(double span, double target) {
  const double raw = span / target;
  const double power = std::pow(10.0, std::floor(std::log10(raw)));
  const double fraction = raw / power;
  return (fraction < 1.5 ? 1.0 : fraction < 3.5 ? 2.0 : fraction < 7.5 ? 5.0 : 10.0) * power;
}

// A tick value with as many decimals as its step needs ("0.25", "120").
std::string tick_text(double value, double step) {
  const int decimals = std::max(0, static_cast<int>(-std::floor(std::log10(step) + 1e-9)));
  if (std::abs(value) < step * 1e-6) value = 0;  // no "-0.00"
  return format("%.*f", decimals, value);
}

// Legend rows under a chart: a line sample in the series' stroke, then its
// label. Text width is estimated (no font metrics in an SVG writer).
constexpr double kLegendSample = 26, kCharWidth = 6.6, kLegendGap = 20, kLegendRow = 16;

// One chart: series over x positions 1..n in a plot box at (left, top) of
// size (width, height), with numbered ticks on both axes, the axis labels,
// and the legend below the box so that it never covers a line. Returns the
// lowest y it drew at.
double draw_chart(std::string& svg, const std::string& title, const std::vector<Series>& series, double left,
                  double top, double width, double height, const std::string& x_label, const std::string& y_label) {
  double low = std::numeric_limits<double>::infinity(), high = -std::numeric_limits<double>::infinity();
  std::size_t points = 0;
  for (const Series& s : series) {
    for (const double v : s.values) {
      if (!std::isfinite(v)) continue;
      low = std::min(low, v);
      high = std::max(high, v);
    }
    points = std::max(points, s.values.size());
  }
  if (points == 0 || low > high) return top;
  if (high - low < 1e-12 * std::max(1.0, std::abs(high))) {
    const double pad = std::max(0.5, std::abs(high) * 0.1);
    high += pad;
    low -= pad;
  }
  // The y axis runs between whole ticks around the data.
  const double y_step = nice_step(high - low, 5);
  low = std::floor(low / y_step + 1e-9) * y_step;
  high = std::ceil(high / y_step - 1e-9) * y_step;
  const auto x_of = [&](double position) {  // position 1..points
    return left + (points == 1 ? width / 2 : width * (position - 1) / static_cast<double>(points - 1));
  };
  const auto y_of = [&](double v) { return top + height - height * (v - low) / (high - low); };
  const double bottom = top + height;

  svg += format("<text x='%.1f' y='%.1f' font-size='14' font-family='sans-serif'>%s</text>\n", left, top - 10,
                xml_escape(title).c_str());
  // y ticks with light grid lines across the box.
  const auto y_ticks = static_cast<int>(std::lround((high - low) / y_step));
  for (int i = 0; i <= y_ticks; ++i) {
    const double value = low + i * y_step;
    const double y = y_of(value);
    svg += format("<line x1='%.1f' y1='%.1f' x2='%.1f' y2='%.1f' stroke='#e6e6e6'/>\n", left, y, left + width, y);
    svg += format("<line x1='%.1f' y1='%.1f' x2='%.1f' y2='%.1f' stroke='#666'/>\n", left - 4, y, left, y);
    svg += format("<text x='%.1f' y='%.1f' font-size='10' font-family='sans-serif' text-anchor='end'>%s</text>\n",
                  left - 6, y + 3.5, tick_text(value, y_step).c_str());
  }
  // x ticks at multiples of a whole step, and at 1 when the first multiple is far from it.
  const double x_step = std::max(1.0, points > 1 ? nice_step(static_cast<double>(points - 1), 6) : 1.0);
  std::vector<double> x_ticks;
  if (x_step >= 2) x_ticks.push_back(1);
  for (double position = x_step; position <= static_cast<double>(points) + 1e-9; position += x_step) {
    if (x_ticks.empty() || position - x_ticks.back() >= x_step / 2) x_ticks.push_back(position);
  }
  for (const double position : x_ticks) {
    const double x = x_of(position);
    svg += format("<line x1='%.1f' y1='%.1f' x2='%.1f' y2='%.1f' stroke='#666'/>\n", x, bottom, x, bottom + 4);
    svg += format("<text x='%.1f' y='%.1f' font-size='10' font-family='sans-serif' text-anchor='middle'>%.0f</text>\n",
                  x, bottom + 15, position);
  }
  svg += format("<rect x='%.1f' y='%.1f' width='%.1f' height='%.1f' fill='none' stroke='#999'/>\n", left, top, width,
                height);
  svg += format("<text x='%.1f' y='%.1f' font-size='12' font-family='sans-serif' text-anchor='middle'>%s</text>\n",
                left + width / 2, bottom + 31, xml_escape(x_label).c_str());
  if (!y_label.empty()) {
    svg += format("<text transform='translate(%.1f %.1f) rotate(-90)' font-size='12' font-family='sans-serif' "
                  "text-anchor='middle'>%s</text>\n",
                  left - 54, top + height / 2, xml_escape(y_label).c_str());
  }
  for (const Series& s : series) {
    if (s.values.empty()) continue;
    svg += "<polyline fill='none' stroke='" + s.colour + "' stroke-width='2'" +
           (s.dash.empty() ? std::string() : " stroke-dasharray='" + s.dash + "'") + " points='";
    for (std::size_t i = 0; i < s.values.size(); ++i) {
      if (!std::isfinite(s.values[i])) continue;  // a gap rather than a point off the axis
      svg += format("%.1f,%.1f ", x_of(static_cast<double>(i + 1)), y_of(s.values[i]));
    }
    svg += "'/>\n";
  }
  // The legend, in rows under the x label.
  double x = left, y = bottom + 52;
  for (const Series& s : series) {
    const double entry = kLegendSample + 6 + kCharWidth * static_cast<double>(s.label.size());
    if (x > left && x + entry > left + width) {
      x = left;
      y += kLegendRow;
    }
    svg += format("<line x1='%.1f' y1='%.1f' x2='%.1f' y2='%.1f' stroke='%s' stroke-width='2'%s/>\n", x, y - 4,
                  x + kLegendSample, y - 4, s.colour.c_str(),
                  s.dash.empty() ? "" : (" stroke-dasharray='" + s.dash + "'").c_str());
    svg += format("<text x='%.1f' y='%.1f' font-size='11' font-family='sans-serif'>%s</text>\n",
                  x + kLegendSample + 6, y, xml_escape(s.label).c_str());
    x += entry + kLegendGap;
  }
  return y;
}

// A white picture of the given size holding `content`, written atomically.
void write_svg(const std::string& path, const std::string& who, const std::string& content, double width,
               double height) {
  const std::string size = format("width='%.0f' height='%.0f' viewBox='0 0 %.0f %.0f'", width, height, width, height);
  write_text_atomically(path, who,
                        "<svg xmlns='http://www.w3.org/2000/svg' xmlns:xlink='http://www.w3.org/1999/xlink' " + size + ">\n<rect width='100%' height='100%' "
                        "fill='white'/>\n" + content + "</svg>\n");
}

constexpr double kChartWidth = 860;

}  // namespace

void write_line_chart(const std::string& path, const std::string& title, const std::string& x_label,
                      const std::vector<ChartSeries>& series, const std::string& y_label) {
  static const char* const kColours[] = {"#000000", "#d62728", "#1f77b4", "#2ca02c", "#9467bd"};
  static const char* const kDashes[] = {"", "", "6,3", "2,2", "8,2,2,2"};
  std::vector<Series> drawn;
  for (std::size_t i = 0; i < series.size(); ++i) {
    drawn.push_back({series[i].label, kColours[i % 5], kDashes[i % 5], series[i].values});
  }
  std::string chart;
  const double lowest = draw_chart(chart, title, drawn, 72, 40, kChartWidth - 72 - 28, 250, x_label, y_label);
  write_svg(path, "write_line_chart", chart, kChartWidth, std::max(340.0, lowest + 14));
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
  const double lowest = std::max(draw_chart(charts, "loss", {train_loss, test_loss}, 72, 40, 330, 250, "epoch", "loss"),
                                 draw_chart(charts, score_name, {train_score, test_score}, 502, 40, 330, 250, "epoch",
                                            score_name));
  write_svg(path, "write_training_curves", charts, kChartWidth, std::max(340.0, lowest + 14));
}

namespace {

void put_big_endian(std::string& out, std::uint32_t value) {
  for (int shift = 24; shift >= 0; shift -= 8) out += static_cast<char>((value >> shift) & 0xff);
}

// A PNG chunk: length, type, data, and the CRC of type and data.
void put_chunk(std::string& out, const char* type, const std::string& data) {
  put_big_endian(out, static_cast<std::uint32_t>(data.size()));
  const std::string body = std::string(type, 4) + data;
  out += body;
  const uLong crc = ::crc32(::crc32(0L, Z_NULL, 0), reinterpret_cast<const Bytef*>(body.data()),
                            static_cast<uInt>(body.size()));
  put_big_endian(out, static_cast<std::uint32_t>(crc));
}

std::string base64(const std::string& bytes) {
  static const char kDigits[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  for (std::size_t i = 0; i < bytes.size(); i += 3) {
    std::uint32_t group = static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i])) << 16;
    if (i + 1 < bytes.size()) group |= static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8;
    if (i + 2 < bytes.size()) group |= static_cast<unsigned char>(bytes[i + 2]);
    out += kDigits[(group >> 18) & 63];
    out += kDigits[(group >> 12) & 63];
    out += i + 1 < bytes.size() ? kDigits[(group >> 6) & 63] : '=';
    out += i + 2 < bytes.size() ? kDigits[group & 63] : '=';
  }
  return out;
}

}  // namespace

std::string encode_png(const Tensor& image) {
  REDES_CHECK(image.defined() && image.dim() == 3 && (image.size(0) == 1 || image.size(0) == 3),
              "encode_png: expected an image of shape (1 or 3, H, W), got ",
              image.defined() ? shape_str(image.shape()) : std::string("an undefined tensor"));
  REDES_CHECK(is_floating(image.dtype()), "encode_png: expected floating values in [0, 1], got ",
              dtype_name(image.dtype()));
  const std::int64_t channels = image.size(0), height = image.size(1), width = image.size(2);
  REDES_CHECK(height >= 1 && width >= 1 && height <= (1 << 20) && width <= (1 << 20),
              "encode_png: expected H and W in [1, 2^20], got ", shape_str(image.shape()));
  NoGradGuard no_grad;
  const std::vector<float> values = image.detach().to(Device::cpu()).to(kFloat32).contiguous().to_vector<float>();
  // Each row: filter type 0 (none), then the pixels with their channels interleaved.
  std::string raw;
  raw.reserve(static_cast<std::size_t>(height * (1 + width * channels)));
  for (std::int64_t y = 0; y < height; ++y) {
    raw += '\0';
    for (std::int64_t x = 0; x < width; ++x) {
      for (std::int64_t c = 0; c < channels; ++c) {
        const float v = values[static_cast<std::size_t>((c * height + y) * width + x)];
        const float clamped = std::isnan(v) ? 0.0f : std::clamp(v, 0.0f, 1.0f);
        raw += static_cast<char>(static_cast<unsigned char>(std::lround(clamped * 255.0f)));
      }
    }
  }
  uLongf packed_size = ::compressBound(static_cast<uLong>(raw.size()));
  std::string packed(packed_size, '\0');
  const int status = ::compress2(reinterpret_cast<Bytef*>(packed.data()), &packed_size,
                                 reinterpret_cast<const Bytef*>(raw.data()), static_cast<uLong>(raw.size()), 9);
  REDES_CHECK(status == Z_OK, "encode_png: zlib failed with status ", status);
  packed.resize(packed_size);

  std::string png("\x89PNG\r\n\x1a\n", 8);
  std::string header;
  put_big_endian(header, static_cast<std::uint32_t>(width));
  put_big_endian(header, static_cast<std::uint32_t>(height));
  header += '\x08';                        // 8 bits per channel
  header += channels == 1 ? '\x00' : '\x02';  // grayscale or RGB
  header += std::string(3, '\0');          // deflate, adaptive filtering, no interlace
  put_chunk(png, "IHDR", header);
  put_chunk(png, "IDAT", packed);
  put_chunk(png, "IEND", "");
  return png;
}

void write_image_grid(const std::string& path, const std::string& title, const std::vector<ImageColumn>& columns,
                      std::int64_t scale) {
  REDES_CHECK(!columns.empty(), "write_image_grid: expected at least one column");
  REDES_CHECK(scale >= 1 && scale <= 64, "write_image_grid: scale must be in [1, 64], got ", scale);
  for (std::size_t c = 0; c < columns.size(); ++c) {
    const Tensor& images = columns[c].images;
    REDES_CHECK(images.defined() && images.dim() == 4, "write_image_grid: column ", c, " (", columns[c].label,
                ") needs images of shape (rows, 1 or 3, H, W), got ",
                images.defined() ? shape_str(images.shape()) : std::string("an undefined tensor"));
    REDES_CHECK(images.shape() == columns[0].images.shape(), "write_image_grid: column ", c, " (", columns[c].label,
                ") has shape ", shape_str(images.shape()), ", column 0 has ", shape_str(columns[0].images.shape()));
  }
  const Shape& shape = columns[0].images.shape();
  const double cell_w = static_cast<double>(shape[3] * scale), cell_h = static_cast<double>(shape[2] * scale);
  const double gap = 8, margin = 16, grid_top = 58;
  const double width = std::max(2 * margin + static_cast<double>(columns.size()) * (cell_w + gap) - gap, 320.0);
  const double height = grid_top + static_cast<double>(shape[0]) * (cell_h + gap) - gap + margin;
  std::string svg = format("<text x='%.1f' y='24' font-size='14' font-family='sans-serif'>%s</text>\n", margin,
                           xml_escape(title).c_str());
  for (std::size_t c = 0; c < columns.size(); ++c) {
    const double x = margin + static_cast<double>(c) * (cell_w + gap);
    svg += format("<text x='%.1f' y='%.1f' font-size='11' font-family='sans-serif' text-anchor='middle'>%s</text>\n",
                  x + cell_w / 2, grid_top - 8, xml_escape(columns[c].label).c_str());
    for (std::int64_t r = 0; r < shape[0]; ++r) {
      const double y = grid_top + static_cast<double>(r) * (cell_h + gap);
      svg += format("<image x='%.1f' y='%.1f' width='%.0f' height='%.0f' image-rendering='optimizeSpeed' "
                    "style='image-rendering:pixelated' preserveAspectRatio='none' "
                    "xlink:href='data:image/png;base64,%s'/>\n",
                    x, y, cell_w, cell_h, base64(encode_png(columns[c].images.select(0, r))).c_str());
    }
  }
  write_svg(path, "write_image_grid", svg, width, height);
}

}  // namespace redes::train
