// Machine-readable results: the JSON lines of docs/workloads.md, per-epoch metric
// lines, and an SVG of the training curves (written by redes itself).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "core/export.h"

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

// Series over the same x positions as one line chart in a self-contained SVG
// (the first black, the next in colours and dashes), e.g. predicted against
// actual values.
struct ChartSeries {
  std::string label;
  std::vector<double> values;
};
REDES_API void write_line_chart(const std::string& path, const std::string& title, const std::string& x_label,
                                const std::vector<ChartSeries>& series);

// Loss (left axis) and accuracy or RMSE (right axis) per epoch, train and
// test, as a self-contained SVG file.
REDES_API void write_training_curves(const std::string& path, const std::vector<EpochRecord>& history);

}  // namespace redes::train
