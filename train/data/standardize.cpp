#include "train/data/standardize.h"

#include <cmath>

#include "core/error.h"

namespace redes::data::detail {

namespace {

// The index of the value farthest from `centre`: the one that overflowed.
std::size_t farthest_from(const std::vector<double>& values, double centre) {
  std::size_t farthest = 0;
  for (std::size_t i = 1; i < values.size(); ++i) {
    if (std::fabs(values[i] - centre) > std::fabs(values[farthest] - centre)) farthest = i;
  }
  return farthest;
}

[[noreturn]] void overflow(const std::vector<double>& values, std::size_t index, const std::string& column,
                           const std::function<std::string(std::size_t)>& where, const char* statistic) {
  ::redes::detail::fail(where(index), ": ", column, " is ", values[index], ", too large to standardise (the ",
                        statistic, " of the column overflows float64); expected values well below 1e150 in size");
}

}  // namespace

ColumnStatistics column_statistics(const std::vector<double>& values, const std::string& column,
                                   const std::function<std::string(std::size_t)>& where) {
  REDES_CHECK(!values.empty(), "column_statistics: no values for ", column);
  double sum = 0;
  for (double value : values) sum += value;
  const double mean = sum / static_cast<double>(values.size());
  if (!std::isfinite(mean)) overflow(values, farthest_from(values, 0.0), column, where, "sum");
  double sum_sq = 0;
  for (double value : values) sum_sq += (value - mean) * (value - mean);
  const double deviation = std::sqrt(sum_sq / static_cast<double>(values.size()));
  if (!std::isfinite(deviation)) overflow(values, farthest_from(values, mean), column, where, "sum of squares");
  // A constant column standardises to 0 rather than dividing by zero.
  return {mean, deviation > 0 ? deviation : 1.0};
}

}  // namespace redes::data::detail
