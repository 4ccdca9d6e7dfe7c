#include "train/data/time_series.h"

#include <charconv>
#include <cmath>

#include "train/data/file_io.h"
#include "train/data/standardize.h"

namespace redes::data {
namespace {

using detail::fail_file;

// seattle-temps.csv is 190 KB; this bounds what a wrong path can make us read.
constexpr std::uint64_t kMaxBytes = 256ull << 20;

std::vector<std::string_view> split_fields(std::string_view line) {
  std::vector<std::string_view> fields;
  std::size_t start = 0;
  while (true) {
    const std::size_t comma = line.find(',', start);
    fields.push_back(line.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start));
    if (comma == std::string_view::npos) return fields;
    start = comma + 1;
  }
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

}  // namespace

std::vector<double> read_csv_column(const std::filesystem::path& path, std::string_view column) {
  const std::string text = detail::read_file(path, kMaxBytes);
  std::string_view rest = text;
  // A UTF-8 byte order mark is not part of the first column's name.
  if (rest.starts_with("\xEF\xBB\xBF")) rest.remove_prefix(3);

  std::vector<double> values;
  std::size_t line_number = 0, column_index = 0, field_count = 0;
  while (!rest.empty()) {
    const std::size_t newline = rest.find('\n');
    std::string_view line = rest.substr(0, newline);
    rest = newline == std::string_view::npos ? std::string_view() : rest.substr(newline + 1);
    ++line_number;
    if (line.ends_with('\r')) line.remove_suffix(1);
    if (line.find('"') != std::string_view::npos) {
      fail_file(path, "line ", line_number, ": quoted fields are not supported");
    }
    const std::vector<std::string_view> fields = split_fields(line);

    if (line_number == 1) {
      field_count = fields.size();
      column_index = field_count;
      for (std::size_t i = 0; i < field_count; ++i) {
        if (trim(fields[i]) == column) column_index = i;
      }
      if (column_index == field_count) fail_file(path, "the header has no column \"", column, "\"");
      continue;
    }
    // Blank lines (a trailing newline, say) carry no row.
    if (trim(line).empty()) continue;
    if (fields.size() != field_count) {
      fail_file(path, "line ", line_number, ": ", fields.size(), " fields, the header has ", field_count);
    }
    const std::string_view field = trim(fields[column_index]);
    if (field.empty()) fail_file(path, "line ", line_number, ": column \"", column, "\" is empty");
    double value = 0;
    const auto [end, error] = std::from_chars(field.data(), field.data() + field.size(), value);
    if (error != std::errc() || end != field.data() + field.size() || !std::isfinite(value)) {
      fail_file(path, "line ", line_number, ": column \"", column, "\": \"", field, "\" is not a finite number");
    }
    values.push_back(value);
  }
  if (values.empty()) fail_file(path, "has no data rows");
  return values;
}

SeriesWindows make_windows(const std::vector<double>& series, const WindowOptions& options, const std::string& source) {
  REDES_CHECK(options.window >= 1, source, ": window must be at least 1, got ", options.window);
  REDES_CHECK(options.train_fraction > 0 && options.train_fraction < 1, source,
              ": train_fraction must be in (0, 1), got ", options.train_fraction);
  const auto length = static_cast<std::int64_t>(series.size());
  const std::int64_t windows = length - options.window;
  // floor, with a little slack so 0.8 * 8735 (= 6988 in exact arithmetic) is not 6987.
  const auto train_windows =
      windows > 0 ? static_cast<std::int64_t>(std::floor(options.train_fraction * static_cast<double>(windows) + 1e-9))
                  : 0;
  REDES_CHECK(train_windows >= 1 && train_windows < windows, source, ": ", length,
              " values are too few for a training and a test window of ", options.window, " values (train fraction ",
              options.train_fraction, ")");

  // Training windows cover values [0, train_windows + window): inputs and targets.
  const std::int64_t covered = train_windows + options.window;
  const std::vector<double> training(series.begin(), series.begin() + covered);
  const detail::ColumnStatistics statistics = detail::column_statistics(
      training, "the value", [&](std::size_t i) { return source + ": value " + std::to_string(i + 1); });
  const double mean = statistics.mean, scale = statistics.deviation;

  auto dataset = [&](std::int64_t first, std::int64_t count) {
    std::vector<float> inputs, targets;
    inputs.reserve(static_cast<std::size_t>(count * options.window));
    for (std::int64_t w = first; w < first + count; ++w) {
      for (std::int64_t t = 0; t < options.window; ++t) {
        inputs.push_back(static_cast<float>((series[static_cast<std::size_t>(w + t)] - mean) / scale));
      }
      targets.push_back(static_cast<float>((series[static_cast<std::size_t>(w + options.window)] - mean) / scale));
    }
    return TensorDataset({from_vector(inputs, {count, options.window, 1}), from_vector(targets, {count, 1})});
  };
  return SeriesWindows{
      dataset(0, train_windows), dataset(train_windows, windows - train_windows), mean, scale, length, windows};
}

std::filesystem::path seattle_temps_path() {
  return detail::path_from_env("REDES_SEATTLE_CSV",
                               "/usr/lib/python3/dist-packages/vega_datasets/_data/seattle-temps.csv");
}

SeriesWindows load_seattle_temps(const WindowOptions& options, const std::filesystem::path& path) {
  return make_windows(read_csv_column(path, "temp"), options, path.string());
}

}  // namespace redes::data
