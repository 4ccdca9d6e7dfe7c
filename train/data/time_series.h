// CSV time series and the windowing of W4 (seattle-lstm): windows of
// `window` consecutive values predict the next one.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "core/export.h"
#include "train/data/dataset.h"

namespace redes::data {

// The values of column `column` of a comma-separated file with a header row,
// in file order. Quoted fields are not supported (refused, not misread).
// Throws redes::Error naming the file (and line) on a missing, empty or
// oversized file, a missing column, a row with the wrong number of fields,
// an empty, non-numeric or non-finite value, or a file with no data rows.
REDES_API std::vector<double> read_csv_column(const std::filesystem::path& path, std::string_view column);

struct WindowOptions {
  std::int64_t window = 24;     // values per input sequence
  double train_fraction = 0.8;  // the first floor(fraction * windows) windows train
};

struct SeriesWindows {
  // inputs float32 (N, window, 1) and targets float32 (N, 1), standardised.
  TensorDataset train;
  TensorDataset test;
  // Mean and population std of the values the training windows cover (their
  // inputs and targets; std 1 if they are constant); a value is z * std + mean.
  double mean = 0;
  double std = 1;
  std::int64_t values = 0;   // length of the series
  std::int64_t windows = 0;  // values - window
};

// Window i holds values [i, i + window) and predicts value i + window; the
// split is chronological (no window is shuffled across it). `source` names
// the series in errors. Throws when the series is too short for at least one
// training and one test window.
REDES_API SeriesWindows make_windows(const std::vector<double>& series, const WindowOptions& options = {},
                                     const std::string& source = "make_windows");

// $REDES_SEATTLE_CSV, else the python3-vega-datasets path.
REDES_API std::filesystem::path seattle_temps_path();

// W4: column `temp` of seattle-temps.csv (8,759 hourly values, 8,735 windows).
REDES_API SeriesWindows load_seattle_temps(const WindowOptions& options = {},
                                           const std::filesystem::path& path = seattle_temps_path());

}  // namespace redes::data
