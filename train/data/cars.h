// W1 (cars-mlp): the vega cars data set (cars.json) with the filtering,
// label, features, split and standardisation of docs/workloads.md.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "core/export.h"
#include "train/data/dataset.h"

namespace redes::data {

struct CarsData {
  // features float32 (N, 9), standardised with the training split's mean/std;
  // labels float32 (N, 1): 1 when Miles_per_Gallon > median (eco), else 0.
  TensorDataset train;
  TensorDataset test;
  // Cylinders, Displacement, Horsepower, Weight_in_lbs, Acceleration, Year,
  // Origin_USA, Origin_Europe, Origin_Japan.
  std::vector<std::string> feature_names;
  // The training split's per-feature mean and population standard deviation
  // (a constant feature gets std 1, so it standardises to 0 rather than NaN).
  std::vector<double> feature_mean;
  std::vector<double> feature_std;
  double median_mpg = 0;
  std::int64_t rows = 0;  // rows with both Miles_per_Gallon and Horsepower (392)
};

// $REDES_CARS_JSON, else the python3-vega-datasets path.
REDES_API std::filesystem::path cars_json_path();

// Rows with Miles_per_Gallon and Horsepower both present (not null) are kept,
// in file order; row i is a test row when i % 5 == 4. Throws redes::Error,
// naming the file and the JSON pointer of the bad value, on a missing, empty,
// oversized or malformed file, a missing or non-numeric field, an unknown
// Origin, a Year that is not a "YYYY-..." date, or fewer than 5 usable rows.
REDES_API CarsData load_cars(const std::filesystem::path& path = cars_json_path());

}  // namespace redes::data
