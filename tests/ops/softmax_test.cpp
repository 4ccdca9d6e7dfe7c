// softmax and log_softmax: reference values, stability, dims, gradients.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "support/test_support.h"

namespace redes {
namespace {

using testing::all_close;
using testing::gradcheck;
using testing::host_values;

class SoftmaxTest : public ::testing::TestWithParam<Device> {};

TEST_P(SoftmaxTest, MatchesDirectFormulaAlongEachDim) {
  REDES_REQUIRE_DEVICE(GetParam());
  const Tensor x = testing::random_tensor({3, 4, 5}, 1, {kFloat64, GetParam()}, -3, 3);
  const std::vector<double> v = host_values(x);
  for (std::int64_t dim = 0; dim < 3; ++dim) {
    SCOPED_TRACE("dim " + std::to_string(dim));
    const Shape shape{3, 4, 5};
    const Strides strides = contiguous_strides(shape);
    std::vector<double> expected(v.size()), expected_log(v.size());
    for (std::size_t i = 0; i < v.size(); ++i) {
      const auto linear = static_cast<std::int64_t>(i);
      const std::int64_t coordinate = linear / strides[static_cast<std::size_t>(dim)] % shape[static_cast<std::size_t>(dim)];
      const std::int64_t base = linear - coordinate * strides[static_cast<std::size_t>(dim)];
      double total = 0;
      for (std::int64_t j = 0; j < shape[static_cast<std::size_t>(dim)]; ++j) {
        total += std::exp(v[static_cast<std::size_t>(base + j * strides[static_cast<std::size_t>(dim)])]);
      }
      expected[i] = std::exp(v[i]) / total;
      expected_log[i] = v[i] - std::log(total);
    }
    EXPECT_TRUE(all_close(softmax(x, dim), expected, 1e-14, 1e-12));
    EXPECT_TRUE(all_close(log_softmax(x, dim), expected_log, 1e-13, 1e-12));
  }
  EXPECT_TRUE(all_close(softmax(x, -1).sum({-1}), std::vector<double>(12, 1.0), 1e-14, 0));
}

// Rows longer than a CUDA block (one block per row strides over them), along
// the contiguous dim and along a strided one, and a row holding a NaN.
TEST_P(SoftmaxTest, LongRowsMatchTheFormula) {
  REDES_REQUIRE_DEVICE(GetParam());
  const std::int64_t rows = 3, length = 2500;
  const Tensor x = testing::random_tensor({rows, length}, 3, {kFloat64, GetParam()}, -5, 5);
  const std::vector<double> v = host_values(x);
  std::vector<double> expected(v.size()), expected_log(v.size());
  for (std::int64_t r = 0; r < rows; ++r) {
    double total = 0;
    for (std::int64_t i = 0; i < length; ++i) total += std::exp(v[static_cast<std::size_t>(r * length + i)]);
    for (std::int64_t i = 0; i < length; ++i) {
      const auto at = static_cast<std::size_t>(r * length + i);
      expected[at] = std::exp(v[at]) / total;
      expected_log[at] = v[at] - std::log(total);
    }
  }
  EXPECT_TRUE(all_close(softmax(x, 1), expected, 1e-15, 1e-12));
  EXPECT_TRUE(all_close(log_softmax(x, 1), expected_log, 1e-12, 1e-12));
  EXPECT_TRUE(all_close(softmax(x.t().contiguous(), 0).t(), expected, 1e-15, 1e-12));
  EXPECT_TRUE(all_close(softmax(x.to(kFloat32), 1), expected, 1e-7, 1e-5));
  std::vector<double> with_nan(v.begin(), v.begin() + length);
  with_nan[1234] = std::numeric_limits<double>::quiet_NaN();
  for (double value : host_values(softmax(from_vector(with_nan, {1, length}, {kFloat64, GetParam()}), 1))) {
    ASSERT_TRUE(std::isnan(value));
  }
}

TEST_P(SoftmaxTest, LargeLogitsStayFinite) {
  REDES_REQUIRE_DEVICE(GetParam());
  const Tensor x = from_vector(std::vector<float>{1000, 1001, 1002, -1000}, {1, 4}, {kFloat32, GetParam()});
  const double z = std::exp(-2.0) + std::exp(-1.0) + 1.0;
  EXPECT_TRUE(all_close(softmax(x, 1), {std::exp(-2.0) / z, std::exp(-1.0) / z, 1 / z, 0}, 1e-7, 1e-6));
  EXPECT_TRUE(all_close(log_softmax(x, 1), {-2 - std::log(z), -1 - std::log(z), -std::log(z), -2002 - std::log(z)},
                        1e-4, 1e-6));
}

TEST_P(SoftmaxTest, StridedInputAndGradients) {
  REDES_REQUIRE_DEVICE(GetParam());
  const Tensor base = testing::random_tensor({5, 4}, 2, {kFloat64, GetParam()});
  EXPECT_TRUE(all_close(softmax(base.t(), 1), softmax(base.t().contiguous(), 1), 1e-15, 0));
  EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& in) { return softmax(in[0], 1); }, {base}));
  EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& in) { return log_softmax(in[0], 0); }, {base}));
  EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& in) { return log_softmax(in[0].t(), -1); }, {base}));
}

REDES_INSTANTIATE_FOR_DEVICES(SoftmaxTest);

}  // namespace
}  // namespace redes
