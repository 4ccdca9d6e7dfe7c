// max/min with indices, argmax/argmin, var/std.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "support/test_support.h"

namespace redes {
namespace {

using testing::all_close;
using testing::gradcheck;
using testing::host_values;

class ExtremesTest : public ::testing::TestWithParam<Device> {};

TEST_P(ExtremesTest, MaxMinAlongDimsMatchAScan) {
  REDES_REQUIRE_DEVICE(GetParam());
  for (const Shape& shape : {Shape{7}, Shape{3, 5}, Shape{2, 1, 9}, Shape{4, 6, 3}}) {
    for (std::int64_t dim = 0; dim < static_cast<std::int64_t>(shape.size()); ++dim) {
      SCOPED_TRACE(shape_str(shape) + " dim " + std::to_string(dim));
      const Tensor x = testing::random_tensor(shape, 10 + static_cast<std::uint64_t>(dim), {kFloat32, GetParam()});
      const std::vector<double> v = host_values(x);
      // Reference: walk each line along dim in the contiguous host copy.
      const std::int64_t length = shape[static_cast<std::size_t>(dim)];
      std::int64_t inner = 1;
      for (std::size_t d = static_cast<std::size_t>(dim) + 1; d < shape.size(); ++d) inner *= shape[d];
      const std::int64_t outer = numel_of(shape) / (length * inner);
      std::vector<double> max_values, max_indices, min_values;
      for (std::int64_t o = 0; o < outer; ++o) {
        for (std::int64_t i = 0; i < inner; ++i) {
          double best = -1e300, worst = 1e300;
          std::int64_t best_at = 0;
          for (std::int64_t l = 0; l < length; ++l) {
            const double value = v[static_cast<std::size_t>((o * length + l) * inner + i)];
            if (value > best) {
              best = value;
              best_at = l;
            }
            worst = std::min(worst, value);
          }
          max_values.push_back(best);
          max_indices.push_back(static_cast<double>(best_at));
          min_values.push_back(worst);
        }
      }
      const ValuesIndices result = max(x, dim);
      EXPECT_TRUE(all_close(result.values, max_values, 0, 0));
      EXPECT_EQ(host_values(result.indices), max_indices);
      EXPECT_EQ(result.indices.dtype(), kInt64);
      EXPECT_TRUE(all_close(min(x, dim, true).values, min_values, 0, 0));
      EXPECT_EQ(min(x, dim, true).values.dim(), x.dim());
      EXPECT_EQ(host_values(argmax(x, dim)), max_indices);
    }
  }
}

TEST_P(ExtremesTest, WholeTensorTiesAndNaN) {
  REDES_REQUIRE_DEVICE(GetParam());
  const Tensor x = from_vector(std::vector<double>{3, 7, 7, 1}, {2, 2}, {kFloat64, GetParam()});
  EXPECT_EQ(max(x).item(), 7.0);
  EXPECT_EQ(min(x).item(), 1.0);
  EXPECT_EQ(max(x).dim(), 0);
  EXPECT_EQ(host_values(argmax(x.reshape({4}), 0)), (std::vector<double>{1}));  // first of the ties
  EXPECT_EQ(host_values(argmin(x, 1)), (std::vector<double>{0, 1}));
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const Tensor with_nan = from_vector(std::vector<double>{1, nan, 5}, {3}, {kFloat64, GetParam()});
  EXPECT_TRUE(std::isnan(max(with_nan).item()));
  EXPECT_TRUE(std::isnan(min(with_nan).item()));
  EXPECT_EQ(max(arange(5, {kInt64, GetParam()})).item(), 4.0);
  EXPECT_THROW(max(zeros({0}, {kFloat32, GetParam()})), Error);
}

// Long rows (one block per row on CUDA, kernels/cuda/arg_reduce.cu) and many
// strided columns (one thread per column): the first of tied maxima, and the
// first NaN where a row holds NaNs, as a sequential scan finds them.
TEST_P(ExtremesTest, LongRowsAndManyColumnsFindTheFirstBest) {
  REDES_REQUIRE_DEVICE(GetParam());
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const std::int64_t length = 1000;
  std::vector<double> rows(3 * length);
  for (std::int64_t i = 0; i < 3 * length; ++i) rows[static_cast<std::size_t>(i)] = static_cast<double>(i % 97) / 97;
  rows[300] = rows[900] = 5;                     // row 0: tied maxima
  rows[length + 500] = rows[length + 800] = nan;  // row 1: two NaNs
  rows[length + 100] = 9;
  rows[2 * length + 999] = -3;                    // row 2: the minimum at the end
  // Row 2's maximum, 96/97, first at 2036 (2000 % 97 = 60); NaN is also the
  // minimum of row 1.
  for (DType dtype : {kFloat32, kFloat64}) {
    SCOPED_TRACE(dtype_name(dtype));
    const Tensor x = from_vector(rows, {3, length}, {dtype, GetParam()});
    EXPECT_EQ(host_values(argmax(x, 1)), (std::vector<double>{300, 500, 36}));
    EXPECT_EQ(host_values(argmin(x, 1)), (std::vector<double>{0, 500, 999}));
    // The transposed view: 1000 rows of 3 read with stride 1000.
    EXPECT_EQ(host_values(argmax(x.t(), 0)), (std::vector<double>{300, 500, 36}));
    // 3000 columns of 4 rows, each column strided: the column layout.
    const Tensor columns = testing::random_tensor({4, 3000}, 90, {dtype, GetParam()});
    const ValuesIndices best = max(columns, 0);
    const std::vector<double> v = host_values(columns);
    std::vector<double> expected_values, expected_indices;
    for (std::size_t j = 0; j < 3000; ++j) {
      std::size_t at = 0;
      for (std::size_t i = 1; i < 4; ++i) {
        if (v[i * 3000 + j] > v[at * 3000 + j]) at = i;
      }
      expected_values.push_back(v[at * 3000 + j]);
      expected_indices.push_back(static_cast<double>(at));
    }
    EXPECT_TRUE(all_close(best.values, expected_values, 0, 0));
    EXPECT_EQ(host_values(best.indices), expected_indices);
  }
}

TEST_P(ExtremesTest, VarianceAndStandardDeviation) {
  REDES_REQUIRE_DEVICE(GetParam());
  const Tensor x = from_vector(std::vector<double>{1, 2, 3, 4, 10, 20}, {2, 3}, {kFloat64, GetParam()});
  // Row 0: mean 2, squares 1+0+1 = 2 -> var 1 (N-1) or 2/3 (N).
  // Row 1: mean 34/3, squares (22/3)^2 + (4/3)^2 + (26/3)^2 = 392/3 -> var 196/3 or 392/9.
  EXPECT_TRUE(all_close(var(x, {1}), {1.0, 196.0 / 3.0}, 1e-12, 1e-12));
  EXPECT_TRUE(all_close(var(x, {1}, 0), {2.0 / 3.0, 392.0 / 9.0}, 1e-12, 1e-12));
  EXPECT_TRUE(all_close(std(x, {1}, 1, true), {1.0, std::sqrt(196.0 / 3.0)}, 1e-12, 1e-12));
  EXPECT_EQ(std(x, {1}, 1, true).shape(), (Shape{2, 1}));
  EXPECT_THROW(var(ones({1}, {kFloat64, GetParam()})), Error);  // one element, correction 1
}

TEST_P(ExtremesTest, Gradients) {
  REDES_REQUIRE_DEVICE(GetParam());
  const Tensor x = testing::random_tensor({3, 5}, 20, {kFloat64, GetParam()});
  EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& in) { return max(in[0], 1).values; }, {x}));
  EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& in) { return min(in[0], 0, true).values; }, {x}));
  EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& in) { return max(in[0]); }, {x}));
  EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& in) { return var(in[0], {0}); }, {x}));
  EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& in) { return std(in[0]); }, {x}));
}

REDES_INSTANTIATE_FOR_DEVICES(ExtremesTest);

}  // namespace
}  // namespace redes
