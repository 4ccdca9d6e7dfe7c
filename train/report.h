// Machine-readable results: the JSON lines of docs/workloads.md, per-epoch metric
// lines, and pictures written by redes itself: SVG line charts (the training
// curves among them) and image grids.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/export.h"
#include "core/tensor.h"

namespace redes::train {

struct EpochRecord;

// {"workload": ..., "device": ..., "impl": "redes", "metric": ..., "value": ..., "unit": ...}
// plus each variant entry (a JSON value given as text, e.g. {"dropout", "0.3"}).
REDES_API std::string result_json(const std::string& workload, const std::string& device, const std::string& metric,
                                  double value, const std::string& unit,
                                  const std::vector<std::pair<std::string, std::string>>& variant = {});

// Median over epochs of the mean step time (seconds / steps), skipping the
// first epoch as warm-up when there are several.
REDES_API double median_step_seconds(const std::vector<EpochRecord>& history);
// Median over epochs (first skipped as warm-up when there are several) of the
// epoch wall time and of the training throughput.
REDES_API double median_epoch_seconds(const std::vector<EpochRecord>& history);
REDES_API double median_samples_per_second(const std::vector<EpochRecord>& history);

// One line per epoch: {"epoch": 3, "train_loss": ..., "test_accuracy": ..., ...}
REDES_API std::string epoch_json(const EpochRecord& record);

// Series over the same x positions 1..n as one line chart in a
// self-contained SVG (the first black, the next in colours and dashes), e.g.
// predicted against actual values. Both axes carry numbered ticks and their
// labels; the legend sits under the plot, clear of the lines. Non-finite
// values leave gaps.
struct ChartSeries {
  std::string label;
  std::vector<double> values;
};
REDES_API void write_line_chart(const std::string& path, const std::string& title, const std::string& x_label,
                                const std::vector<ChartSeries>& series, const std::string& y_label = "");

// Loss (left chart) and accuracy or RMSE (right chart) per epoch, train and
// test, as a self-contained SVG file in the style of write_line_chart.
REDES_API void write_training_curves(const std::string& path, const std::vector<EpochRecord>& history);

// A grid of images as a self-contained SVG: one column per ImageColumn, its
// label on top; row r shows image r of every column. Each image is embedded
// as a PNG (one <image> element per cell), drawn `scale` times its size with
// square pixels. images: (rows, 1 or 3, H, W) on any device, floating, with
// 0 black and 1 white (values outside are clamped); every column has the
// same rows, channels, H and W.
struct ImageColumn {
  std::string label;
  Tensor images;
};
REDES_API void write_image_grid(const std::string& path, const std::string& title,
                                const std::vector<ImageColumn>& columns, std::int64_t scale = 3);

// The PNG file (8-bit grayscale or RGB, zlib-compressed) of one image of
// shape (1 or 3, H, W) with values in [0, 1] (clamped).
REDES_API std::string encode_png(const Tensor& image);

}  // namespace redes::train
