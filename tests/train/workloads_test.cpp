// End-to-end smoke tests: every reference workload runs on a tiny slice of
// generated data in the real file formats, and its training loss falls.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <numeric>
#include <optional>
#include <sstream>
#include <nlohmann/json.hpp>
#include <zlib.h>

#include "support/test_support.h"
#include "workloads.h"

namespace redes {
namespace {

namespace fs = std::filesystem;

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

std::size_t occurrences(const std::string& text, const std::string& what) {
  std::size_t count = 0;
  for (std::size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++count;
  return count;
}

// An SVG text element: its y attribute and its content.
struct SvgText {
  double y = 0;
  std::string text;
};

std::vector<SvgText> svg_texts(const std::string& svg) {
  std::vector<SvgText> texts;
  for (std::size_t at = svg.find("<text"); at != std::string::npos; at = svg.find("<text", at + 1)) {
    const std::size_t open_end = svg.find('>', at);
    const std::string tag = svg.substr(at, open_end - at);
    const std::size_t y = tag.find(" y='");
    const std::size_t translate = tag.find("translate(");
    SvgText text;
    if (y != std::string::npos) {
      text.y = std::stod(tag.substr(y + 4));
    } else if (translate != std::string::npos) {
      text.y = std::stod(tag.substr(tag.find(' ', translate) + 1));
    }
    text.text = svg.substr(open_end + 1, svg.find("</text>", open_end) - open_end - 1);
    texts.push_back(text);
  }
  return texts;
}

bool has_text(const std::vector<SvgText>& texts, const std::string& wanted) {
  return std::any_of(texts.begin(), texts.end(), [&](const SvgText& t) { return t.text == wanted; });
}

// The (x, y) points of every polyline, in file order.
std::vector<std::vector<std::pair<double, double>>> polylines(const std::string& svg) {
  std::vector<std::vector<std::pair<double, double>>> lines;
  for (std::size_t at = svg.find("<polyline"); at != std::string::npos; at = svg.find("<polyline", at + 1)) {
    const std::size_t from = svg.find("points='", at) + 8;
    std::istringstream points(svg.substr(from, svg.find('\'', from) - from));
    std::vector<std::pair<double, double>> line;
    double x = 0, y = 0;
    char comma = 0;
    while (points >> x >> comma >> y) line.emplace_back(x, y);
    lines.push_back(line);
  }
  return lines;
}

std::string base64_decode(const std::string& text) {
  static const std::string kDigits = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string bytes;
  std::uint32_t bits = 0;
  int count = 0;
  for (const char c : text) {
    if (c == '=') break;
    bits = (bits << 6) | static_cast<std::uint32_t>(kDigits.find(c));
    if ((count += 6) >= 8) {
      count -= 8;
      bytes += static_cast<char>((bits >> count) & 0xff);
    }
  }
  return bytes;
}

// The pixels of an 8-bit grayscale PNG without filters (as encode_png
// writes), row by row; empty when it is not one.
std::vector<std::vector<int>> gray_png_pixels(const std::string& png) {
  if (png.substr(0, 8) != std::string("\x89PNG\r\n\x1a\n", 8)) return {};
  const auto u32 = [&](std::size_t at) {
    std::uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<unsigned char>(png[at + static_cast<std::size_t>(i)]);
    return v;
  };
  std::uint32_t width = 0, height = 0;
  std::string packed;
  for (std::size_t at = 8; at + 8 <= png.size();) {
    const std::uint32_t length = u32(at);
    const std::string type = png.substr(at + 4, 4);
    if (type == "IHDR") {
      width = u32(at + 8);
      height = u32(at + 12);
      if (png[at + 16] != 8 || png[at + 17] != 0) return {};  // 8-bit grayscale
    }
    if (type == "IDAT") packed += png.substr(at + 8, length);
    at += 12 + length;
  }
  std::string raw(static_cast<std::size_t>(height) * (width + 1), '\0');
  uLongf raw_size = static_cast<uLongf>(raw.size());
  if (::uncompress(reinterpret_cast<Bytef*>(raw.data()), &raw_size, reinterpret_cast<const Bytef*>(packed.data()),
                   static_cast<uLong>(packed.size())) != Z_OK ||
      raw_size != raw.size()) {
    return {};
  }
  std::vector<std::vector<int>> pixels(height, std::vector<int>(width));
  for (std::uint32_t y = 0; y < height; ++y) {
    if (raw[y * (width + 1)] != 0) return {};  // filter "none"
    for (std::uint32_t x = 0; x < width; ++x) pixels[y][x] = static_cast<unsigned char>(raw[y * (width + 1) + 1 + x]);
  }
  return pixels;
}

class WorkloadsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("redes_workloads_" + std::to_string(::getpid()) + "_" +
            std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    options_.device = Device::cpu();
    options_.out = (dir_ / "out").string();
    options_.quiet = true;
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Train losses per epoch from a workload's metrics file.
  std::vector<double> train_losses(const std::string& metrics_file) const {
    std::vector<double> losses;
    std::ifstream in(fs::path(options_.out) / metrics_file);
    for (std::string line; std::getline(in, line);) losses.push_back(nlohmann::json::parse(line)["train_loss"]);
    return losses;
  }

  void write_idx(const std::string& name, std::uint32_t magic, const std::vector<std::uint32_t>& dims,
                 const std::vector<std::uint8_t>& bytes) const {
    std::ofstream out(dir_ / name, std::ios::binary);
    const auto big_endian = [&](std::uint32_t v) {
      for (int shift = 24; shift >= 0; shift -= 8) out.put(static_cast<char>((v >> shift) & 0xff));
    };
    big_endian(magic);
    for (std::uint32_t d : dims) big_endian(d);
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  }

  // Images whose class sets a bright row, so they are learnable.
  void write_fashion(const std::string& prefix, std::uint32_t count) const {
    std::vector<std::uint8_t> images(count * 28 * 28, 0), labels(count);
    for (std::uint32_t i = 0; i < count; ++i) {
      labels[i] = static_cast<std::uint8_t>(i % 10);
      for (std::uint32_t x = 0; x < 28; ++x) images[i * 784 + (2 + labels[i] * 2) * 28 + x] = 255;
    }
    write_idx(prefix + "-images-idx3-ubyte", 0x803, {count, 28, 28}, images);
    write_idx(prefix + "-labels-idx1-ubyte", 0x801, {count}, labels);
  }

  // 60 cars whose mileage falls with their weight, in cars.json's format.
  void write_cars() const {
    nlohmann::json cars = nlohmann::json::array();
    for (int i = 0; i < 60; ++i) {
      const double weight = 1800 + 60 * i;
      cars.push_back({{"Name", "car " + std::to_string(i)}, {"Miles_per_Gallon", 45 - weight / 120},
                      {"Cylinders", 4 + i % 3 * 2}, {"Displacement", 100 + 3 * i}, {"Horsepower", 60 + i},
                      {"Weight_in_lbs", weight}, {"Acceleration", 15 - i % 5},
                      {"Year", "19" + std::to_string(70 + i % 12) + "-01-01"},
                      {"Origin", i % 3 == 0 ? "USA" : (i % 3 == 1 ? "Europe" : "Japan")}});
    }
    std::ofstream(dir_ / "cars.json") << cars.dump();
  }

  // 240 hours of a daily sine, in seattle-temps.csv's format.
  void write_temps() const {
    std::ofstream csv(dir_ / "temps.csv");
    csv << "date,temp\n";
    for (int hour = 0; hour < 240; ++hour) csv << "2010-01-01 " << hour << ":00," << 50 + 10 * std::sin(hour * 0.26) << "\n";
  }

  fs::path dir_;
  examples::WorkloadOptions options_;
};

TEST_F(WorkloadsTest, CarsMlp) {
  write_cars();
  options_.data = (dir_ / "cars.json").string();
  options_.epochs = 15;
  options_.dropout = 0.3;
  EXPECT_EQ(examples::cars_mlp(options_), 0);
  const std::vector<double> losses = train_losses("cars_dropout3.jsonl");
  ASSERT_EQ(losses.size(), 15u);
  EXPECT_LT(losses.back(), losses.front());
  // One setting has nothing to compare with.
  EXPECT_FALSE(fs::exists(fs::path(options_.out) / "cars_dropout_test_loss.svg"));
}

// The default run trains both settings and draws their test losses on one
// chart: a curve per setting with a point per epoch at the height of that
// epoch's test loss, numbered axes, axis labels, and the legend under the plot.
TEST_F(WorkloadsTest, CarsMlpDrawsTheTestLossOfBothDropoutSettings) {
  write_cars();
  options_.data = (dir_ / "cars.json").string();
  options_.epochs = 6;
  EXPECT_EQ(examples::cars_mlp(options_), 0);
  const std::string svg = read_text(fs::path(options_.out) / "cars_dropout_test_loss.svg");
  const std::vector<std::vector<std::pair<double, double>>> lines = polylines(svg);
  ASSERT_EQ(lines.size(), 2u) << svg;
  const char* const metrics[] = {"cars_dropout0.jsonl", "cars_dropout3.jsonl"};
  std::vector<std::pair<double, double>> loss_and_y;  // over both curves: one axis
  for (std::size_t c = 0; c < 2; ++c) {
    std::vector<double> test_losses;
    std::ifstream in(fs::path(options_.out) / metrics[c]);
    for (std::string line; std::getline(in, line);) test_losses.push_back(nlohmann::json::parse(line)["test_loss"]);
    ASSERT_EQ(test_losses.size(), 6u);
    ASSERT_EQ(lines[c].size(), 6u) << svg;
    for (std::size_t e = 0; e < 6; ++e) {
      if (e > 0) {
        EXPECT_GT(lines[c][e].first, lines[c][e - 1].first);  // epochs left to right
      }
      EXPECT_EQ(lines[c][e].first, lines[1 - c][e].first);             // the same x for the same epoch
      loss_and_y.emplace_back(test_losses[e], lines[c][e].second);
    }
  }
  // Higher loss, higher on the page (smaller y), at a scale common to both curves.
  std::sort(loss_and_y.begin(), loss_and_y.end());
  const double scale = (loss_and_y.back().second - loss_and_y.front().second) /
                       (loss_and_y.back().first - loss_and_y.front().first);
  EXPECT_LT(scale, 0);
  for (const auto& [loss, y] : loss_and_y) {
    EXPECT_NEAR(y, loss_and_y.front().second + scale * (loss - loss_and_y.front().first), 0.2) << loss;
  }
  const std::vector<SvgText> texts = svg_texts(svg);
  for (const char* wanted : {"dropout 0", "dropout 0.3", "epoch", "test loss (binary cross-entropy)", "1", "2", "3",
                             "4", "5", "6"}) {
    EXPECT_TRUE(has_text(texts, wanted)) << wanted << "\n" << svg;
  }
  // Numbered y ticks (right-aligned numbers left of the axis): at least three.
  EXPECT_GE(occurrences(svg, "text-anchor='end'"), 3u) << svg;
  // The legend lies below the plot box, clear of every point.
  const std::size_t box = svg.find("<rect x=");
  ASSERT_NE(box, std::string::npos);
  const std::string rect = svg.substr(box, svg.find("/>", box) - box);
  const double bottom = std::stod(rect.substr(rect.find(" y='") + 4)) + std::stod(rect.substr(rect.find("height='") + 8));
  for (const SvgText& text : texts) {
    if (text.text == "dropout 0" || text.text == "dropout 0.3") {
      EXPECT_GT(text.y, bottom + 20) << text.text;
    }
  }
  for (const auto& line : lines) {
    for (const auto& point : line) EXPECT_LE(point.second, bottom);
  }
}

TEST_F(WorkloadsTest, FashionLenetAndRowLstm) {
  write_fashion("train", 256);
  write_fashion("t10k", 64);
  options_.data = dir_.string();
  options_.epochs = 3;
  options_.batch_size = 32;
  EXPECT_EQ(examples::fashion_lenet(options_), 0);
  std::vector<double> losses = train_losses("fashion_lenet.jsonl");
  ASSERT_EQ(losses.size(), 3u);
  EXPECT_LT(losses.back(), losses.front());
  options_.augment = true;
  options_.epochs = 1;
  options_.overwrite = true;
  EXPECT_EQ(examples::fashion_lenet(options_), 0);
  // The augmentation grid: 6 training images in rows, 6 columns, each cell a
  // 28 x 28 PNG. Image i of the generated set is black with row 2 + 2 (i % 10)
  // white, so it is its own mirror image.
  const std::string svg = read_text(fs::path(options_.out) / "fashion_augment.svg");
  EXPECT_EQ(occurrences(svg, "<image "), 36u);
  const std::vector<SvgText> texts = svg_texts(svg);
  const std::vector<std::string> labels = {"original", "flip", "shift +2, +2", "rotate 10 deg", "noise std 0.05",
                                           "all, random"};
  for (const std::string& label : labels) EXPECT_TRUE(has_text(texts, label)) << label;
  std::vector<std::vector<std::vector<int>>> cells;  // column-major: column c, row r at 6 c + r
  const std::string prefix = "data:image/png;base64,";
  for (std::size_t at = svg.find(prefix); at != std::string::npos; at = svg.find(prefix, at + 1)) {
    const std::size_t from = at + prefix.size();
    cells.push_back(gray_png_pixels(base64_decode(svg.substr(from, svg.find('\'', from) - from))));
    ASSERT_EQ(cells.back().size(), 28u);
    ASSERT_EQ(cells.back()[0].size(), 28u);
  }
  ASSERT_EQ(cells.size(), 36u);
  const auto mean_difference = [](const std::vector<std::vector<int>>& a, const std::vector<std::vector<int>>& b) {
    double sum = 0;
    for (std::size_t y = 0; y < 28; ++y) {
      for (std::size_t x = 0; x < 28; ++x) sum += std::abs(a[y][x] - b[y][x]);
    }
    return sum / (28 * 28);
  };
  for (std::size_t r = 0; r < 6; ++r) {
    SCOPED_TRACE("row " + std::to_string(r));
    const std::size_t bright = 2 + 2 * (r % 10);
    const auto& original = cells[r];
    for (std::size_t y = 0; y < 28; ++y) {
      for (std::size_t x = 0; x < 28; ++x) ASSERT_EQ(original[y][x], y == bright ? 255 : 0) << y << ", " << x;
    }
    EXPECT_EQ(cells[6 + r], original);  // flip: a horizontal bar is its own mirror image
    const auto& shifted = cells[12 + r];  // two pixels right and two down
    for (std::size_t y = 0; y < 28; ++y) {
      for (std::size_t x = 0; x < 28; ++x) ASSERT_EQ(shifted[y][x], y == bright + 2 && x >= 2 ? 255 : 0) << y << ", " << x;
    }
    const double rotated = mean_difference(cells[18 + r], original);  // the bar tilts
    EXPECT_GT(rotated, 1.0);
    const double noisy = mean_difference(cells[24 + r], original);  // about 0.05 * 255 * 0.4 per pixel
    EXPECT_GT(noisy, 1.0);
    EXPECT_LT(noisy, 12.0);
    EXPECT_NE(cells[30 + r], original);
  }
  options_.augment = false;
  options_.overwrite = false;
  options_.epochs = 3;
  EXPECT_EQ(examples::fashion_seq_lstm(options_), 0);
  losses = train_losses("fashion_seq_lstm.jsonl");
  ASSERT_EQ(losses.size(), 3u);
  EXPECT_LT(losses.back(), losses.front());
}

TEST_F(WorkloadsTest, CifarCnnThroughputOnSyntheticData) {
  options_.epochs = 2;  // exactly as many as asked for, the first being warm-up
  options_.batch_size = 8;
  options_.max_batches = 2;
  EXPECT_EQ(examples::cifar_cnn(options_), 0);
  EXPECT_EQ(train_losses("cifar_cnn.jsonl").size(), 2u);
  EXPECT_TRUE(fs::exists(fs::path(options_.out) / "cifar_cnn.safetensors"));
  options_.epochs = 3;
  options_.resume = true;
  EXPECT_EQ(examples::cifar_cnn(options_), 0);
  EXPECT_EQ(train_losses("cifar_cnn.jsonl").size(), 3u);
}

// $REDES_CIFAR100_DIR is read when --data is not given.
TEST_F(WorkloadsTest, CifarCnnReadsTheFolderInTheEnvironment) {
  std::string records;
  for (int i = 0; i < 12; ++i) {
    records += static_cast<char>(i % 20);   // coarse label
    records += static_cast<char>(i % 100);  // fine label
    records += std::string(3072, static_cast<char>(i * 20));
  }
  fs::create_directories(dir_ / "cifar");
  std::ofstream(dir_ / "cifar" / "train.bin", std::ios::binary) << records;
  ::setenv("REDES_CIFAR100_DIR", (dir_ / "cifar").c_str(), 1);
  options_.epochs = 1;
  options_.batch_size = 4;
  ::testing::internal::CaptureStdout();
  const int status = examples::cifar_cnn(options_);
  const std::string printed = ::testing::internal::GetCapturedStdout();
  ::unsetenv("REDES_CIFAR100_DIR");
  EXPECT_EQ(status, 0);
  EXPECT_NE(printed.find("cifar-cnn: 12 CIFAR-100 images"), std::string::npos) << printed;
}

TEST_F(WorkloadsTest, SeattleLstm) {
  write_temps();
  options_.data = (dir_ / "temps.csv").string();
  options_.epochs = 3;
  EXPECT_EQ(examples::seattle_lstm(options_), 0);
  const std::vector<double> losses = train_losses("seattle_lstm.jsonl");
  ASSERT_EQ(losses.size(), 3u);
  EXPECT_LT(losses.back(), losses.front());
  // The forecast picture: actual, LSTM and linear, one point per test hour
  // (the 240-hour series gives 216 windows, 44 of them test windows).
  std::ifstream svg(fs::path(options_.out) / "seattle_lstm_week.svg");
  const std::string picture((std::istreambuf_iterator<char>(svg)), std::istreambuf_iterator<char>());
  std::size_t lines = 0;
  for (std::size_t at = picture.find("<polyline"); at != std::string::npos; at = picture.find("<polyline", at + 1)) {
    const std::size_t from = picture.find("points='", at);
    const std::string points = picture.substr(from, picture.find("/>", from) - from);
    EXPECT_EQ(std::count(points.begin(), points.end(), ','), 44) << points;
    ++lines;
  }
  EXPECT_EQ(lines, 3u);
}

TEST_F(WorkloadsTest, MissingDataGivesAClearError) {
  options_.data = (dir_ / "absent.json").string();
  EXPECT_THROW(examples::cars_mlp(options_), Error);
}

#ifdef REDES_CLI_PATH
// The command line: usage errors exit with 2, --help with 0. REDES_CLI names
// the program when the tests run away from the build tree.
std::string cli_program() {
  const char* relocated = std::getenv("REDES_CLI");
  return relocated != nullptr && *relocated != '\0' ? relocated : REDES_CLI_PATH;
}

// What the program prints (stdout and stderr) and its exit status.
// `environment` is a prefix of VAR=value words for the shell.
std::pair<std::string, int> cli_output(const std::string& arguments, const std::string& environment) {
  FILE* pipe = popen((environment + " " + cli_program() + " " + arguments + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return {"popen failed", -1};
  std::string text;
  char buffer[4096];
  for (std::size_t n; (n = std::fread(buffer, 1, sizeof(buffer), pipe)) > 0;) text.append(buffer, n);
  const int status = pclose(pipe);
  return {text, WIFEXITED(status) ? WEXITSTATUS(status) : -1};
}

// The exit status alone.
int run_cli(const std::string& arguments, const std::string& environment = "") {
  return cli_output(arguments, environment).second;
}

// The final result lines of a `redes train` run that are not timings, keyed
// by metric and variant.
std::map<std::string, double> result_metrics(const std::string& output) {
  std::map<std::string, double> metrics;
  std::istringstream lines(output);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("{\"workload\"", 0) != 0) continue;
    nlohmann::json result = nlohmann::json::parse(line);
    const std::string metric = result["metric"];
    if (metric.find("second") != std::string::npos) continue;  // epoch_seconds, step_microseconds, images_per_second
    const double value = result["value"];
    for (const char* key : {"workload", "device", "impl", "metric", "value", "unit"}) result.erase(key);
    metrics[metric + " " + result.dump()] = value;
  }
  return metrics;
}

// Every reference workload trains on CUDA (the emulated device in the
// cuda-emulated build) to the CPU's metrics. Dropout and augmentation masks
// and most per-element code are shared, so results agree closely; sums (the
// reductions, cuBLAS, the convolutions) add in other orders, hence 1e-5.
// cifar-cnn (synthetic data) reports throughput only: it must run.
TEST_F(WorkloadsTest, EveryWorkloadOnCudaReachesTheCpusMetrics) {
  REDES_REQUIRE_DEVICE(Device::cuda(0));
  write_cars();
  write_fashion("train", 96);
  write_fashion("t10k", 32);
  write_temps();
  const std::string common = " --epochs 1 --max-batches 3 --quiet";
  const std::pair<std::string, std::string> runs[] = {
      {"cars", "--data " + (dir_ / "cars.json").string()},
      {"fashion", "--batch-size 16 --data " + dir_.string()},
      {"fashion", "--batch-size 16 --augment --data " + dir_.string()},
      {"fashion-seq", "--batch-size 16 --data " + dir_.string()},
      {"seattle", "--batch-size 16 --data " + (dir_ / "temps.csv").string()},
      {"cifar", "--batch-size 4"}};
  int run = 0;
  for (const auto& [workload, arguments] : runs) {
    SCOPED_TRACE(workload + " " + arguments);
    std::map<std::string, double> results[2];
    for (int d = 0; d < 2; ++d) {
      const std::string out = (dir_ / ("out" + std::to_string(run++))).string();
      const auto [text, status] = cli_output("train " + workload + (d == 0 ? " --device cpu " : " --device cuda ") +
                                                 arguments + common + " --out " + out,
                                             "");
      ASSERT_EQ(status, 0) << text;
      EXPECT_NE(text.find(d == 0 ? "\"device\":\"cpu\"" : "\"device\":\"cuda:0"), std::string::npos) << text;
      results[d] = result_metrics(text);
    }
    if (workload != "cifar") {
      ASSERT_FALSE(results[0].empty());
    }
    ASSERT_EQ(results[0].size(), results[1].size());
    for (const auto& [key, cpu_value] : results[0]) {
      ASSERT_EQ(results[1].count(key), 1u) << key;
      EXPECT_NEAR(results[1][key], cpu_value, 1e-5 * std::max(1.0, std::abs(cpu_value))) << key;
    }
  }
}

TEST(Cli, UsageErrorsAndHelp) {
  EXPECT_EQ(run_cli(""), 2);
  EXPECT_EQ(run_cli("--help"), 0);
  EXPECT_EQ(run_cli("fly"), 2);
  EXPECT_EQ(run_cli("train"), 2);
  EXPECT_EQ(run_cli("train nothing"), 2);
  EXPECT_EQ(run_cli("train cars --bogus"), 2);
  EXPECT_EQ(run_cli("train cars --epochs zero"), 2);
  EXPECT_EQ(run_cli("train cars --epochs -3"), 2);
  EXPECT_EQ(run_cli("train cars --device gpu"), 2);
  EXPECT_EQ(run_cli("train cars --lr"), 2);
  EXPECT_EQ(run_cli("train cars --lr inf"), 2);
  EXPECT_EQ(run_cli("train cars --lr 0"), 2);
  EXPECT_EQ(run_cli("train cars --dropout nan"), 2);
  EXPECT_EQ(run_cli("train cars --dropout 1"), 2);
  EXPECT_EQ(run_cli("train cars --impl fast"), 2);
  EXPECT_EQ(run_cli("train cars --on-nan ignore"), 2);
  EXPECT_EQ(run_cli("train cars --device cuda:7"), 2);
  EXPECT_EQ(run_cli("train seattle --dropout 0.3"), 2);
  EXPECT_EQ(run_cli("train cars --augment"), 2);
  EXPECT_EQ(run_cli("train cars --resume --overwrite"), 2);
  EXPECT_EQ(run_cli("train cars --batch-size 0"), 2);
  EXPECT_EQ(run_cli("train cars --epochs 99999999999999999999"), 2);
  EXPECT_EQ(run_cli("bench cars --impl"), 2);
  EXPECT_EQ(run_cli("train cars --precision fp8"), 2);
  EXPECT_EQ(run_cli("train cars --precision"), 2);
  EXPECT_EQ(run_cli("train --help"), 0);
  EXPECT_EQ(run_cli("train cars --help"), 0);
  EXPECT_EQ(run_cli("bench seattle --help"), 0);
  EXPECT_EQ(run_cli("info"), 0);
  EXPECT_EQ(run_cli("info extra"), 2);
  EXPECT_EQ(run_cli("train cars --data /nonexistent/cars.json --quiet"), 1);
}

// REDES_KERNEL_IMPL is read on first use; a bad value is an error naming it.
TEST(Cli, KernelImplementationFromTheEnvironment) {
  EXPECT_EQ(run_cli("info", "REDES_KERNEL_IMPL=cudnn"), 0);
  EXPECT_EQ(run_cli("info", "REDES_KERNEL_IMPL=auto"), 0);
  EXPECT_EQ(run_cli("info", "REDES_KERNEL_IMPL=bogus"), 1);
}

// --deterministic and --tf32 reach the settings; `redes bench` reports them
// in its last line (W3 runs on synthetic data, so no file is needed).
TEST(Cli, DeterministicAndTf32FlagsReachTheSettings) {
  const auto last_line = [](const std::string& text) {
    const std::size_t end = text.find_last_not_of('\n');
    const std::size_t start = text.rfind('\n', end);
    return nlohmann::json::parse(text.substr(start == std::string::npos ? 0 : start + 1));
  };
  const std::string clean_environment = "REDES_DETERMINISTIC= REDES_ALLOW_TF32=";
  const auto [with_flags, status] =
      cli_output("bench cifar --device cpu --batch-size 4 --max-batches 2 --deterministic --tf32", clean_environment);
  ASSERT_EQ(status, 0) << with_flags;
  const nlohmann::json settings = last_line(with_flags);
  EXPECT_EQ(settings["deterministic"], true) << with_flags;
  EXPECT_EQ(settings["tf32"], true) << with_flags;
  const auto [plain, plain_status] = cli_output("bench cifar --device cpu --batch-size 4 --max-batches 2", clean_environment);
  ASSERT_EQ(plain_status, 0) << plain;
  EXPECT_EQ(last_line(plain)["deterministic"], false) << plain;
  EXPECT_EQ(last_line(plain)["tf32"], false) << plain;
  EXPECT_EQ(last_line(plain)["precision"], "float32") << plain;
}

// --precision reaches the Trainer: `redes bench` reports it, and the run
// trains (W3's conv, pooling, dropout and linear layers in 16 bits).
TEST(Cli, PrecisionFlagReachesTheRun) {
  for (const auto& [flag, name] : {std::pair{"bf16", "bfloat16"}, std::pair{"fp16", "float16"}}) {
    const auto [output, status] =
        cli_output(std::string("bench cifar --device cpu --batch-size 4 --max-batches 2 --precision ") + flag, "");
    ASSERT_EQ(status, 0) << output;
    const std::size_t end = output.find_last_not_of('\n');
    const std::size_t start = output.rfind('\n', end);
    EXPECT_EQ(nlohmann::json::parse(output.substr(start == std::string::npos ? 0 : start + 1))["precision"], name)
        << output;
  }
}

// A second run into a folder another run holds fails at once, naming it.
TEST_F(WorkloadsTest, ASecondRunIntoTheSameFolderFailsNamingTheFirst) {
  write_cars();
  const train::OutputLock held(options_.out);
  const auto [text, status] = cli_output("train cars --device cpu --quiet --epochs 1 --data " +
                                             (dir_ / "cars.json").string() + " --out " + options_.out, "");
  EXPECT_EQ(status, 1) << text;
  EXPECT_NE(text.find("another run (pid " + std::to_string(::getpid()) + ") is writing to " + options_.out),
            std::string::npos)
      << text;
  EXPECT_FALSE(fs::exists(fs::path(options_.out) / "cars_dropout0.jsonl"));
}

// SIGINT and SIGTERM stop a run after the current batch: the checkpoint is
// saved, the program says so and exits 128 + the signal, and --resume
// continues to the end with every epoch listed once.
TEST_F(WorkloadsTest, SignalsStopARunThatResumesAfterwards) {
  write_cars();
  const std::string data = (dir_ / "cars.json").string();
  const fs::path metrics = fs::path(options_.out) / "cars_dropout3.jsonl";
  const fs::path checkpoint = fs::path(options_.out) / "cars_dropout3.safetensors";
  for (const int signal : {SIGINT, SIGTERM}) {
    const std::string log = (dir_ / "log.txt").string();
    const std::string command = "exec " + cli_program() + " train cars --device cpu --quiet --dropout 0.3 " +
                                "--epochs 1000000 --resume-if-present --data " + data + " --out " + options_.out +
                                " > " + log + " 2>&1";
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      ::execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    // Wait until it has trained an epoch (at most a minute).
    const std::size_t before = fs::exists(metrics) ? train_losses("cars_dropout3.jsonl").size() : 0;
    for (int waited = 0; waited < 600; ++waited) {
      if (fs::exists(metrics) && train_losses("cars_dropout3.jsonl").size() > before) break;
      ::usleep(100000);
    }
    ::kill(child, signal);
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    std::ifstream in(log);
    const std::string printed((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    ASSERT_TRUE(WIFEXITED(status)) << printed;
    EXPECT_EQ(WEXITSTATUS(status), 128 + signal) << printed;
    EXPECT_NE(printed.find(std::string("stopped by ") + (signal == SIGINT ? "SIGINT" : "SIGTERM")), std::string::npos)
        << printed;
    ASSERT_TRUE(fs::exists(checkpoint)) << printed;
  }
  // Resume to two epochs past the checkpoint.
  const std::optional<std::int64_t> done = train::checkpoint_epochs_done(checkpoint.string());
  ASSERT_TRUE(done.has_value());
  const std::string epochs = std::to_string(*done + 2);
  const auto [text, status] = cli_output("train cars --device cpu --quiet --dropout 0.3 --resume --epochs " + epochs +
                                             " --data " + data + " --out " + options_.out, "");
  EXPECT_EQ(status, 0) << text;
  std::vector<std::int64_t> listed;
  std::ifstream in(metrics);
  for (std::string line; std::getline(in, line);) listed.push_back(nlohmann::json::parse(line)["epoch"]);
  std::vector<std::int64_t> expected(static_cast<std::size_t>(*done + 2));
  std::iota(expected.begin(), expected.end(), 1);
  EXPECT_EQ(listed, expected);
}

// bench trains afresh in a folder of its own, removed afterwards, and
// refuses the options that would reach into another run's output.
TEST_F(WorkloadsTest, BenchRunsInAPrivateFolder) {
  write_cars();
  fs::create_directories(dir_ / "tmp");
  const auto [text, status] = cli_output("bench cars --device cpu --epochs 2 --max-batches 2 --dropout 0 --data " +
                                             (dir_ / "cars.json").string(),
                                         "TMPDIR=" + (dir_ / "tmp").string());
  EXPECT_EQ(status, 0) << text;
  EXPECT_NE(text.find("\"step_microseconds\""), std::string::npos) << text;
  EXPECT_TRUE(fs::is_empty(dir_ / "tmp"));
  for (const char* flag : {"--resume", "--resume-if-present", "--overwrite", "--out x"}) {
    const auto [refused, refused_status] = cli_output(std::string("bench cars ") + flag, "");
    EXPECT_EQ(refused_status, 2) << flag << ": " << refused;
    EXPECT_NE(refused.find("private temporary folder"), std::string::npos) << refused;
  }
}

// Without a loadable cuDNN redes still starts; `info` says why cuDNN is out.
TEST(Cli, RunsAndSaysWhyWhenCudnnCannotBeLoaded) {
  const auto [text, status] = cli_output("info", "REDES_CUDNN_LIBRARY=/nonexistent/libcudnn.so.9");
  EXPECT_EQ(status, 0) << text;
  if (!build_info().cudnn) GTEST_SKIP() << "this build has no cuDNN";
  EXPECT_NE(text.find("cuDNN unusable here, the hand-written kernels run instead: could not load "
                      "/nonexistent/libcudnn.so.9: "),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("(from REDES_CUDNN_LIBRARY)"), std::string::npos) << text;
  EXPECT_EQ(text.find("cuDNN library:"), std::string::npos) << "no version for an unloaded cuDNN:\n" << text;
  const auto [loaded, loaded_status] = cli_output("info", "");
  EXPECT_EQ(loaded_status, 0) << loaded;
  if (build_info().cudnn_path.empty()) return;
  EXPECT_NE(loaded.find("cuDNN library: " + build_info().cudnn_version + " (" + build_info().cudnn_path + ")"),
            std::string::npos)
      << "the version and the file it came from:\n" << loaded;
}
#endif

}  // namespace
}  // namespace redes
