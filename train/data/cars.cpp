#include "train/data/cars.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <nlohmann/json.hpp>
#include <optional>

#include "train/data/file_io.h"
#include "train/data/standardize.h"

namespace redes::data {
namespace {

using detail::fail_file;
using nlohmann::json;

// The real file is 100 KB; anything near this is not the cars data set.
constexpr std::uint64_t kMaxBytes = 64ull << 20;
// cars.json is an array of flat objects (depth 2); deeper nesting is refused
// while parsing so a hostile file cannot build a huge tree.
constexpr int kMaxDepth = 4;
constexpr std::size_t kFeatures = 9;
constexpr std::array<const char*, 3> kOrigins{"USA", "Europe", "Japan"};

struct Row {
  double mpg;
  std::array<double, kFeatures> features;
  std::size_t index;  // the car's place in the file's array
};

std::string pointer(std::size_t row, const char* field) { return "/" + std::to_string(row) + "/" + field; }

const json& field_of(const json& row, std::size_t index, const char* field, const std::filesystem::path& path) {
  const auto found = row.find(field);
  if (found == row.end()) fail_file(path, pointer(index, field), ": field is missing");
  return *found;
}

// A numeric field; nothing when it is JSON null.
std::optional<double> optional_number(const json& row, std::size_t index, const char* field,
                                      const std::filesystem::path& path) {
  const json& value = field_of(row, index, field, path);
  if (value.is_null()) return std::nullopt;
  if (!value.is_number()) fail_file(path, pointer(index, field), ": expected a number, got ", value.type_name());
  return value.get<double>();
}

double number(const json& row, std::size_t index, const char* field, const std::filesystem::path& path) {
  const std::optional<double> value = optional_number(row, index, field, path);
  if (!value) fail_file(path, pointer(index, field), ": value is null");
  return *value;
}

// "1970-01-01" -> 1970: four digits, then the end or '-'.
double year(const json& row, std::size_t index, const std::filesystem::path& path) {
  const json& value = field_of(row, index, "Year", path);
  if (!value.is_string()) fail_file(path, pointer(index, "Year"), ": expected a date string, got ", value.type_name());
  const std::string& text = value.get_ref<const std::string&>();
  const bool digits =
      text.size() >= 4 && std::all_of(text.begin(), text.begin() + 4, [](char c) { return c >= '0' && c <= '9'; });
  if (!digits || (text.size() > 4 && text[4] != '-')) {
    fail_file(path, pointer(index, "Year"), ": expected a date like \"1970-01-01\", got \"", text, "\"");
  }
  return std::stod(text.substr(0, 4));
}

std::size_t origin(const json& row, std::size_t index, const std::filesystem::path& path) {
  const json& value = field_of(row, index, "Origin", path);
  if (value.is_string()) {
    const std::string& text = value.get_ref<const std::string&>();
    for (std::size_t i = 0; i < kOrigins.size(); ++i) {
      if (text == kOrigins[i]) return i;
    }
    fail_file(path, pointer(index, "Origin"), ": expected USA, Europe or Japan, got \"", text, "\"");
  }
  fail_file(path, pointer(index, "Origin"), ": expected a string, got ", value.type_name());
}

json parse(const std::filesystem::path& path) {
  const std::string text = detail::read_file(path, kMaxBytes);
  const json::parser_callback_t limit_depth = [&path](int depth, json::parse_event_t, json&) {
    if (depth > kMaxDepth) fail_file(path, "JSON nested deeper than ", kMaxDepth, " levels");
    return true;
  };
  try {
    return json::parse(text, limit_depth);
  } catch (const json::exception& error) {
    fail_file(path, "invalid JSON: ", detail::printable(error.what()));
  }
}

std::vector<Row> usable_rows(const json& document, const std::filesystem::path& path) {
  if (!document.is_array()) fail_file(path, "expected a JSON array of cars, got ", document.type_name());
  std::vector<Row> rows;
  for (std::size_t i = 0; i < document.size(); ++i) {
    const json& car = document[i];
    if (!car.is_object()) fail_file(path, "/", i, ": expected an object, got ", car.type_name());
    const std::optional<double> mpg = optional_number(car, i, "Miles_per_Gallon", path);
    const std::optional<double> horsepower = optional_number(car, i, "Horsepower", path);
    if (!mpg || !horsepower) continue;
    Row row{*mpg, {}, i};
    row.features[0] = number(car, i, "Cylinders", path);
    row.features[1] = number(car, i, "Displacement", path);
    row.features[2] = *horsepower;
    row.features[3] = number(car, i, "Weight_in_lbs", path);
    row.features[4] = number(car, i, "Acceleration", path);
    row.features[5] = year(car, i, path);
    row.features[6 + origin(car, i, path)] = 1.0;
    rows.push_back(row);
  }
  return rows;
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const std::size_t middle = values.size() / 2;
  return values.size() % 2 == 1 ? values[middle] : 0.5 * (values[middle - 1] + values[middle]);
}

}  // namespace

std::filesystem::path cars_json_path() {
  return detail::path_from_env("REDES_CARS_JSON", "/usr/lib/python3/dist-packages/vega_datasets/_data/cars.json");
}

CarsData load_cars(const std::filesystem::path& path) {
  const std::vector<Row> rows = usable_rows(parse(path), path);
  // The 1-in-5 split needs a test row, and standardising needs training rows.
  if (rows.size() < 5) {
    fail_file(path, "only ", rows.size(), " rows have both Miles_per_Gallon and Horsepower, need at least 5");
  }

  std::vector<double> mpg;
  for (const Row& row : rows) mpg.push_back(row.mpg);
  const double median_mpg = median(mpg);

  auto is_test = [](std::size_t i) { return i % 5 == 4; };
  const std::vector<std::string> names{"Cylinders", "Displacement", "Horsepower", "Weight_in_lbs", "Acceleration",
                                       "Year", "Origin_USA", "Origin_Europe", "Origin_Japan"};
  std::vector<double> mean, deviation;
  for (std::size_t f = 0; f < kFeatures; ++f) {
    std::vector<double> column;
    std::vector<std::size_t> source;  // the car each training value came from
    for (std::size_t i = 0; i < rows.size(); ++i) {
      if (is_test(i)) continue;
      column.push_back(rows[i].features[f]);
      source.push_back(rows[i].index);
    }
    const detail::ColumnStatistics statistics = detail::column_statistics(
        column, names[f], [&](std::size_t k) { return path.string() + ": /" + std::to_string(source[k]); });
    mean.push_back(statistics.mean);
    deviation.push_back(statistics.deviation);
  }

  std::vector<float> features[2], labels[2];
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const int part = is_test(i) ? 1 : 0;
    for (std::size_t f = 0; f < kFeatures; ++f) {
      features[part].push_back(static_cast<float>((rows[i].features[f] - mean[f]) / deviation[f]));
    }
    labels[part].push_back(rows[i].mpg > median_mpg ? 1.0f : 0.0f);
  }
  auto dataset = [&](int part) {
    const auto count = static_cast<std::int64_t>(labels[part].size());
    return TensorDataset({from_vector(features[part], {count, static_cast<std::int64_t>(kFeatures)}),
                          from_vector(labels[part], {count, 1})});
  };
  return CarsData{dataset(0),
                  dataset(1),
                  names,
                  std::move(mean),
                  std::move(deviation),
                  median_mpg,
                  static_cast<std::int64_t>(rows.size())};
}

}  // namespace redes::data
