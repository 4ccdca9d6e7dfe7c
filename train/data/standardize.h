// Column statistics for standardising data, shared by the readers. Internal:
// not installed.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

namespace redes::data::detail {

struct ColumnStatistics {
  double mean = 0;
  double deviation = 1;  // population standard deviation; 1 for a constant column
};

// Mean and standard deviation of `values` in float64, in two passes (mean,
// then squared deviations) for accuracy. A value so large that the sum or
// the sum of squares overflows would turn the whole column into zeros or
// infinities: that is an error naming `column` and the value's place, as
// `where(index)` describes it.
ColumnStatistics column_statistics(const std::vector<double>& values, const std::string& column,
                                   const std::function<std::string(std::size_t)>& where);

}  // namespace redes::data::detail
