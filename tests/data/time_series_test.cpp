// read_csv_column and the W4 windowing on generated CSV files.
#include <cmath>
#include <sstream>

#include "data/fixtures.h"
#include "support/test_support.h"

namespace redes::testing {
namespace {

std::string seattle_like(std::size_t hours) {
  std::ostringstream out;
  out << "date,temp\n";
  for (std::size_t h = 0; h < hours; ++h) {
    out << "2010/01/01 " << h % 24 << ":00," << 40.0 + 10.0 * std::sin(static_cast<double>(h) * 0.26) << "\n";
  }
  return out.str();
}

TEST(TimeSeries, ReadsAColumnAcrossLineEndingsAndBlankTail) {
  TempDir dir;
  const auto path = write_file(dir / "s.csv", "\xEF\xBB\xBFtemp, date\r\n1.5,a\r\n-2,b\r\n 3e2 ,c\n\n");
  EXPECT_EQ(data::read_csv_column(path, "temp"), (std::vector<double>{1.5, -2, 300}));
  const auto no_final_newline = write_file(dir / "t.csv", "a,b\n1,2\n3,4");
  EXPECT_EQ(data::read_csv_column(no_final_newline, "b"), (std::vector<double>{2, 4}));
}

TEST(TimeSeries, RefusesMalformedFiles) {
  struct Malformed {
    const char* name;
    std::string text;
    std::vector<std::string> fragments;
  };
  const std::vector<Malformed> cases = {
      {"missing column", "date,temperature\nx,1\n", {"no column \"temp\""}},
      {"header only", "date,temp\n", {"no data rows"}},
      {"too few fields", "date,temp\nx,1\ny\n", {"line 3", "1 fields", "header has 2"}},
      {"too many fields", "date,temp\nx,1,2\n", {"line 2", "3 fields"}},
      {"non-numeric", "date,temp\nx,1\ny,warm\n", {"line 3", "\"warm\" is not a finite number"}},
      {"trailing junk", "date,temp\nx,1.5F\n", {"line 2", "\"1.5F\""}},
      {"nan", "date,temp\nx,nan\n", {"line 2", "\"nan\""}},
      {"infinite", "date,temp\nx,1e999\n", {"line 2", "\"1e999\""}},
      {"empty value", "date,temp\nx,\n", {"line 2", "is empty"}},
      {"quoted", "date,temp\n\"x, y\",1\n", {"line 2", "quoted"}},
      {"binary", std::string("\x01\x02\x03", 3), {"no column"}},
  };
  TempDir dir;
  for (const Malformed& bad : cases) {
    const auto path = write_file(dir / "bad.csv", bad.text);
    EXPECT_TRUE(refuses([&] { data::read_csv_column(path, "temp"); }, path, bad.fragments)) << bad.name;
  }
  EXPECT_TRUE(
      refuses([&] { data::read_csv_column(dir / "absent.csv", "temp"); }, dir / "absent.csv", {"no such file"}));
  const auto empty = write_file(dir / "empty.csv", "");
  EXPECT_TRUE(refuses([&] { data::read_csv_column(empty, "temp"); }, empty, {"empty"}));
}

TEST(TimeSeries, WindowsSplitChronologicallyAndStandardiseOnTrainingHours) {
  std::vector<double> series;
  for (int i = 0; i < 40; ++i) series.push_back(i * i * 0.5 - 3.0 * i);
  const data::SeriesWindows w = data::make_windows(series, {.window = 4, .train_fraction = 0.8});
  // 36 windows: floor(0.8 * 36) = 28 train, 8 test; training windows cover values 0..31.
  EXPECT_EQ(w.values, 40);
  EXPECT_EQ(w.windows, 36);
  EXPECT_EQ(w.train.size(), 28);
  EXPECT_EQ(w.test.size(), 8);
  double mean = 0, variance = 0;
  for (int i = 0; i < 32; ++i) mean += series[i] / 32.0;
  for (int i = 0; i < 32; ++i) variance += (series[i] - mean) * (series[i] - mean) / 32.0;
  EXPECT_NEAR(w.mean, mean, 1e-9);
  EXPECT_NEAR(w.std, std::sqrt(variance), 1e-9);

  auto expect_windows = [&](const data::TensorDataset& split, int first) {
    const std::int64_t count = split.size();
    EXPECT_EQ(split.tensors()[0].shape(), (Shape{count, 4, 1}));
    EXPECT_EQ(split.tensors()[1].shape(), (Shape{count, 1}));
    std::vector<double> inputs, targets;
    for (int window = first; window < first + count; ++window) {
      for (int t = 0; t < 4; ++t) inputs.push_back((series[window + t] - mean) / std::sqrt(variance));
      targets.push_back((series[window + 4] - mean) / std::sqrt(variance));
    }
    EXPECT_TRUE(all_close(split.tensors()[0], inputs, 1e-5, 1e-5));
    EXPECT_TRUE(all_close(split.tensors()[1], targets, 1e-5, 1e-5));
  };
  expect_windows(w.train, 0);
  expect_windows(w.test, 28);
}

TEST(TimeSeries, SeattleShapedFileGivesTheWorkloadCounts) {
  TempDir dir;
  const auto path = write_file(dir / "seattle-temps.csv", seattle_like(8759));
  const data::SeriesWindows w = data::load_seattle_temps({}, path);
  EXPECT_EQ(w.values, 8759);
  EXPECT_EQ(w.windows, 8735);
  EXPECT_EQ(w.train.size(), 6988);
  EXPECT_EQ(w.test.size(), 1747);
  EXPECT_EQ(w.train.tensors()[0].shape(), (Shape{6988, 24, 1}));

  ScopedEnv set("REDES_SEATTLE_CSV", path.c_str());
  EXPECT_EQ(data::seattle_temps_path(), path);
  EXPECT_EQ(data::load_seattle_temps().windows, 8735);
}

TEST(TimeSeries, RefusesSeriesTooShortOrBadOptions) {
  TempDir dir;
  const auto path = write_file(dir / "short.csv", seattle_like(25));
  EXPECT_TRUE(refuses([&] { data::load_seattle_temps({}, path); }, path, {"25 values are too few"}));
  const std::vector<double> series(100, 1.0);
  EXPECT_THROW(data::make_windows(series, {.window = 0}), Error);
  EXPECT_THROW(data::make_windows(series, {.window = 4, .train_fraction = 1.0}), Error);
  // A constant series standardises to zeros rather than NaN.
  const data::SeriesWindows flat = data::make_windows(series, {.window = 4});
  EXPECT_EQ(flat.std, 1.0);
  EXPECT_TRUE(all_close(flat.train.tensors()[0],
                        std::vector<double>(static_cast<std::size_t>(flat.train.size()) * 4, 0.0), 0, 0));
}

// One huge temperature would make the RMSE infinite: refused, naming it.
TEST(TimeSeries, AValueTooLargeToStandardiseIsReportedWithItsPlace) {
  std::vector<double> series(100, 50.0);
  series[41] = 1e200;
  try {
    data::make_windows(series, {.window = 4}, "temps.csv");
    FAIL() << "expected redes::Error";
  } catch (const Error& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find("temps.csv: value 42: the value is 1e+200, too large to standardise"), std::string::npos)
        << message;
  }
}

TEST(TimeSeries, DefaultPathIsTheDebianPackage) {
  ScopedEnv unset("REDES_SEATTLE_CSV", nullptr);
  EXPECT_EQ(data::seattle_temps_path(), "/usr/lib/python3/dist-packages/vega_datasets/_data/seattle-temps.csv");
}

}  // namespace
}  // namespace redes::testing
