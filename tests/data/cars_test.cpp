// load_cars on generated mini cars.json files: the W1 filtering, label,
// features, split and standardisation, recomputed here independently; and
// every class of malformed file refused with the file and the problem named.
#include <algorithm>
#include <cmath>
#include <optional>
#include <sstream>

#include "data/fixtures.h"
#include "support/test_support.h"

namespace redes::testing {
namespace {

using data::load_cars;

struct Car {
  std::optional<double> mpg;
  std::optional<double> horsepower;
  double cylinders, displacement, weight, acceleration;
  int year;
  const char* origin;
};

std::string number_or_null(const std::optional<double>& value) {
  if (!value) return "null";
  std::ostringstream out;
  out << *value;
  return out.str();
}

std::string to_json(const std::vector<Car>& cars) {
  std::ostringstream out;
  out << "[\n";
  for (std::size_t i = 0; i < cars.size(); ++i) {
    const Car& car = cars[i];
    out << "  {\"Name\": \"car " << i << "\", \"Miles_per_Gallon\": " << number_or_null(car.mpg)
        << ", \"Cylinders\": " << car.cylinders << ", \"Displacement\": " << car.displacement
        << ", \"Horsepower\": " << number_or_null(car.horsepower) << ", \"Weight_in_lbs\": " << car.weight
        << ", \"Acceleration\": " << car.acceleration << ", \"Year\": \"" << car.year << "-01-01\", \"Origin\": \""
        << car.origin << "\"}" << (i + 1 < cars.size() ? ",\n" : "\n");
  }
  out << "]\n";
  return out.str();
}

// 14 cars, 3 of them without MPG or horsepower: 11 usable rows, so rows 4
// and 9 (of the usable ones) are test rows and the median is row 5's MPG.
std::vector<Car> mini_cars() {
  return {
      {18, 130, 8, 307, 3504, 12, 1970, "USA"},
      {15, 165, 8, 350, 3693, 11.5, 1970, "USA"},
      {std::nullopt, 115, 4, 133, 3090, 17.5, 1970, "Europe"},
      {24, 95, 4, 113, 2372, 15, 1970, "Japan"},
      {26, 46, 4, 97, 1835, 20.5, 1970, "Europe"},
      {25, std::nullopt, 4, 98, 2046, 19, 1971, "USA"},
      {31, 65, 4, 71, 1773, 19, 1971, "Japan"},
      {14, 225, 8, 455, 4425, 10, 1970, "USA"},
      {std::nullopt, std::nullopt, 8, 350, 4100, 13, 1971, "USA"},
      {27, 88, 4, 97, 2130, 14.5, 1971, "Japan"},
      {22, 95, 6, 198, 2833, 15.5, 1970, "USA"},
      {28, 90, 4, 116, 2123, 14, 1971, "Europe"},
      {21, 86, 6, 200, 2587, 16, 1970, "USA"},
      {32.5, 67, 4, 79, 2000, 16, 1974, "Japan"},
  };
}

TEST(Cars, ReproducesTheWorkloadRulesOnAMiniFile) {
  TempDir dir;
  const std::vector<Car> cars = mini_cars();
  const auto path = write_file(dir / "cars.json", to_json(cars));
  const data::CarsData data = load_cars(path);

  // Independent recomputation of W1 (docs/workloads.md).
  std::vector<std::vector<double>> rows;
  std::vector<double> mpg;
  for (const Car& car : cars) {
    if (!car.mpg || !car.horsepower) continue;
    const std::string origin = car.origin;
    rows.push_back({car.cylinders, car.displacement, *car.horsepower, car.weight, car.acceleration,
                    static_cast<double>(car.year), origin == "USA" ? 1.0 : 0.0, origin == "Europe" ? 1.0 : 0.0,
                    origin == "Japan" ? 1.0 : 0.0});
    mpg.push_back(*car.mpg);
  }
  ASSERT_EQ(rows.size(), 11u);
  std::vector<double> sorted = mpg;
  std::sort(sorted.begin(), sorted.end());
  const double median = sorted[5];
  EXPECT_EQ(data.rows, 11);
  EXPECT_DOUBLE_EQ(data.median_mpg, median);

  std::vector<std::size_t> train, test;
  for (std::size_t i = 0; i < rows.size(); ++i) (i % 5 == 4 ? test : train).push_back(i);
  ASSERT_EQ(test, (std::vector<std::size_t>{4, 9}));
  std::vector<double> mean(9, 0.0), deviation(9, 0.0);
  for (int f = 0; f < 9; ++f) {
    for (std::size_t i : train) mean[f] += rows[i][f] / static_cast<double>(train.size());
    for (std::size_t i : train) deviation[f] += std::pow(rows[i][f] - mean[f], 2) / static_cast<double>(train.size());
    deviation[f] = std::sqrt(deviation[f]);
    EXPECT_NEAR(data.feature_mean[f], mean[f], 1e-9) << "feature " << f;
    EXPECT_NEAR(data.feature_std[f], deviation[f], 1e-9) << "feature " << f;
  }

  auto expect_split = [&](const data::TensorDataset& split, const std::vector<std::size_t>& members) {
    const std::vector<Tensor>& tensors = split.tensors();
    ASSERT_EQ(tensors.size(), 2u);
    EXPECT_EQ(tensors[0].shape(), (Shape{static_cast<std::int64_t>(members.size()), 9}));
    EXPECT_EQ(tensors[1].shape(), (Shape{static_cast<std::int64_t>(members.size()), 1}));
    EXPECT_EQ(tensors[0].dtype(), kFloat32);
    EXPECT_EQ(tensors[1].dtype(), kFloat32);
    std::vector<double> features, labels;
    for (std::size_t i : members) {
      for (int f = 0; f < 9; ++f) features.push_back((rows[i][f] - mean[f]) / deviation[f]);
      labels.push_back(mpg[i] > median ? 1.0 : 0.0);
    }
    EXPECT_TRUE(all_close(tensors[0], features, 1e-5, 1e-5));
    EXPECT_TRUE(all_close(tensors[1], labels, 0, 0));
  };
  expect_split(data.train, train);
  expect_split(data.test, test);
  EXPECT_EQ(data.feature_names.size(), 9u);
  EXPECT_EQ(data.feature_names[5], "Year");
}

TEST(Cars, EnvironmentVariableOverridesTheDefaultPath) {
  {
    ScopedEnv unset("REDES_CARS_JSON", nullptr);
    EXPECT_EQ(data::cars_json_path(), "/usr/lib/python3/dist-packages/vega_datasets/_data/cars.json");
  }
  TempDir dir;
  const auto path = write_file(dir / "mine.json", to_json(mini_cars()));
  ScopedEnv set("REDES_CARS_JSON", path.c_str());
  EXPECT_EQ(data::cars_json_path(), path);
  EXPECT_EQ(load_cars().rows, 11);
}

TEST(Cars, ConstantFeatureStandardisesToZero) {
  TempDir dir;
  std::vector<Car> cars = mini_cars();
  for (Car& car : cars) car.cylinders = 4;
  const data::CarsData data = load_cars(write_file(dir / "cars.json", to_json(cars)));
  EXPECT_EQ(data.feature_std[0], 1.0);
  const std::vector<double> features = host_values(data.train.tensors()[0]);
  for (std::size_t row = 0; row < features.size() / 9; ++row) EXPECT_EQ(features[row * 9], 0.0);
}

// A huge but finite value would overflow the standardisation's sum of
// squares and silently zero its feature: refused, naming the car.
TEST(Cars, AValueTooLargeToStandardiseIsReportedWithItsRow) {
  TempDir dir;
  for (double huge : {1e308, 1e200}) {
    std::vector<Car> cars = mini_cars();
    cars[7].weight = huge;  // a training row
    const auto path = write_file(dir / "cars.json", to_json(cars));
    EXPECT_TRUE(refuses([&] { load_cars(path); }, path, {"/7: Weight_in_lbs is", "too large to standardise"}))
        << huge;
  }
  // Two values that together overflow the sum.
  std::vector<Car> cars = mini_cars();
  cars[7].displacement = 1.7e308;
  cars[9].displacement = 1.7e308;
  const auto path = write_file(dir / "cars.json", to_json(cars));
  EXPECT_TRUE(refuses([&] { load_cars(path); }, path, {"Displacement is", "the sum of the column overflows"}));
}

// The parser's excerpt of a corrupt file reaches the terminal escaped.
TEST(Cars, ParseErrorsQuoteRawBytesPrintably) {
  TempDir dir;
  const auto path = write_file(dir / "cars.json", "[{\"Name\": \"\xff\xfe\"}]");
  try {
    load_cars(path);
    FAIL() << "expected redes::Error";
  } catch (const Error& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find("invalid JSON"), std::string::npos) << message;
    EXPECT_NE(message.find("\\xff"), std::string::npos) << message;
    EXPECT_TRUE(std::all_of(message.begin(), message.end(),
                            [](char c) { return static_cast<unsigned char>(c) >= 0x20 && static_cast<unsigned char>(c) < 0x7f; }))
        << message;
  }
}

struct Malformed {
  const char* name;
  std::string text;
  std::vector<std::string> fragments;
};

TEST(Cars, RefusesMalformedFiles) {
  const std::string good_row =
      R"({"Miles_per_Gallon": 18, "Cylinders": 8, "Displacement": 307, "Horsepower": 130,
          "Weight_in_lbs": 3504, "Acceleration": 12, "Year": "1970-01-01", "Origin": "USA"})";
  auto with = [&](const std::string& from, const std::string& to) {
    std::string row = good_row;
    row.replace(row.find(from), from.size(), to);
    return "[" + good_row + ", " + row + "]";
  };
  const std::vector<Malformed> cases = {
      {"truncated", "[{\"Miles_per_Gallon\": 18, \"Cyl", {"invalid JSON"}},
      {"trailing garbage", "[] x", {"invalid JSON"}},
      {"not json", "MPG,HP\n18,130\n", {"invalid JSON"}},
      {"overflow", with("18", "1e999"), {"invalid JSON"}},
      {"not an array", "{\"cars\": []}", {"expected a JSON array", "object"}},
      {"row not an object", "[" + good_row + ", 7]", {"/1: expected an object", "number"}},
      {"missing field", with("\"Cylinders\": 8, ", ""), {"/1/Cylinders", "missing"}},
      {"non-numeric",
       with("\"Horsepower\": 130", "\"Horsepower\": \"fast\""),
       {"/1/Horsepower", "expected a number", "string"}},
      {"null feature", with("\"Weight_in_lbs\": 3504", "\"Weight_in_lbs\": null"), {"/1/Weight_in_lbs", "null"}},
      {"bool feature", with("\"Acceleration\": 12", "\"Acceleration\": true"), {"/1/Acceleration", "boolean"}},
      {"bad year", with("1970-01-01", "70"), {"/1/Year", "1970-01-01", "\"70\""}},
      {"numeric year", with("\"1970-01-01\"", "1970"), {"/1/Year", "date string"}},
      {"bad origin", with("USA", "Mars"), {"/1/Origin", "Mars"}},
      {"too few rows", "[" + good_row + "]", {"only 1 rows", "at least 5"}},
      {"empty array", "[]", {"only 0 rows"}},
      {"deep nesting", std::string(100, '[') + std::string(100, ']'), {"nested deeper"}},
  };
  TempDir dir;
  for (const Malformed& bad : cases) {
    const auto path = write_file(dir / "cars.json", bad.text);
    EXPECT_TRUE(refuses([&] { load_cars(path); }, path, bad.fragments)) << bad.name;
  }
}

TEST(Cars, RefusesMissingEmptyAndNonFiles) {
  TempDir dir;
  EXPECT_TRUE(refuses([&] { load_cars(dir / "absent.json"); }, dir / "absent.json", {"no such file"}));
  const auto empty = write_file(dir / "empty.json", "");
  EXPECT_TRUE(refuses([&] { load_cars(empty); }, empty, {"empty"}));
  EXPECT_TRUE(refuses([&] { load_cars(dir.path()); }, dir.path(), {"is a directory"}));
}

}  // namespace
}  // namespace redes::testing
