// sum and mean over all or some dims, keepdim, strided inputs; gradchecks.
#include <gtest/gtest.h>

#include "support/test_support.h"

namespace redes {
namespace {

using testing::all_close;
using testing::gradcheck;
using testing::host_values;

// Naive reference: sums a row-major value list over the dims in `reduced`.
std::vector<double> reference_sum(const std::vector<double>& values, const Shape& shape,
                                  const std::vector<bool>& reduced) {
  Shape out_shape = shape;
  for (std::size_t d = 0; d < shape.size(); ++d) {
    if (reduced[d]) out_shape[d] = 1;
  }
  std::vector<double> out(static_cast<std::size_t>(numel_of(out_shape)), 0.0);
  for (std::size_t i = 0; i < values.size(); ++i) {
    std::int64_t linear = static_cast<std::int64_t>(i), out_index = 0, out_stride = 1;
    for (std::size_t k = shape.size(); k-- > 0;) {
      const std::int64_t coordinate = linear % shape[k];
      linear /= shape[k];
      if (!reduced[k]) out_index += coordinate * out_stride;
      out_stride *= out_shape[k];
    }
    out[static_cast<std::size_t>(out_index)] += values[i];
  }
  return out;
}

class ReduceTest : public ::testing::TestWithParam<Device> {};

TEST_P(ReduceTest, SumOverDimsMatchesReference) {
  REDES_REQUIRE_DEVICE(GetParam());
  struct Case {
    Shape shape;
    std::vector<std::int64_t> dims;
  };
  const Case cases[] = {{{7}, {0}},          {{3, 4}, {1}},        {{3, 4}, {0}},       {{2, 3, 5}, {0, 2}},
                        {{2, 3, 5}, {-1}},   {{1, 9, 1}, {1}},     {{4, 1, 6}, {1}},    {{5, 6}, {}},
                        {{129, 65}, {0}},    {{2, 0, 3}, {1}},     {{3, 2}, {0, 1}}};
  std::uint64_t seed = 1;
  for (const Case& c : cases) {
    for (DType dtype : {kFloat32, kFloat64}) {
      SCOPED_TRACE(shape_str(c.shape) + " " + dtype_name(dtype));
      const Tensor x = testing::random_tensor(c.shape, seed++, {dtype, GetParam()});
      std::vector<bool> reduced(c.shape.size(), c.dims.empty());
      for (std::int64_t d : c.dims) reduced[static_cast<std::size_t>(wrap_dim(d, x.dim(), "test"))] = true;
      const std::vector<double> expected = reference_sum(host_values(x), c.shape, reduced);
      const double tol = dtype == kFloat32 ? 1e-5 : 1e-12;
      const Tensor kept = x.sum(c.dims, true);
      const Tensor dropped = x.sum(c.dims, false);
      EXPECT_TRUE(all_close(kept, expected, tol, tol));
      EXPECT_TRUE(all_close(dropped, expected, tol, tol));
      EXPECT_EQ(kept.dim(), x.dim());
      std::int64_t kept_dims = 0;
      for (bool r : reduced) kept_dims += r ? 0 : 1;
      EXPECT_EQ(dropped.dim(), kept_dims);
    }
  }
}

TEST_P(ReduceTest, SumOfStridedViewsAndIntegers) {
  REDES_REQUIRE_DEVICE(GetParam());
  const Tensor base = testing::random_tensor({8, 6}, 40, {kFloat64, GetParam()});
  const Tensor view = base.t().slice(1, 0, 8, 3);  // (6, 3), non-contiguous
  const std::vector<bool> rows{true, false};
  EXPECT_TRUE(all_close(view.sum({0}), reference_sum(host_values(view), view.shape(), rows), 1e-12, 1e-12));
  EXPECT_TRUE(all_close(arange(10, {kInt64, GetParam()}).sum(), {45}, 0, 0));
  EXPECT_EQ(arange(10, {kInt32, GetParam()}).sum().dtype(), kInt32);
}

// Shapes that take each layout of the CUDA sum (kernels/cuda/reduce.cu): one
// thread per column (many outputs, reduced elements far apart), one block per
// output, several blocks per output with their partial sums added in a
// second pass, reduced dims that do not merge into one, and a strided input.
TEST_P(ReduceTest, EveryLayoutOfTheSumMatchesTheReference) {
  REDES_REQUIRE_DEVICE(GetParam());
  struct Case {
    const char* layout;
    Shape shape;
    std::vector<std::int64_t> dims;
    bool transposed;
  };
  const Case cases[] = {{"columns", {37, 2500}, {0}, false},
                        {"blocks", {4100, 3}, {1}, false},
                        {"split blocks", {3, 40001}, {1}, false},
                        {"split whole tensor", {200003}, {}, false},
                        {"unmerged reduced dims", {2, 5, 3001}, {0, 2}, false},
                        {"strided rows", {60, 50}, {1}, true}};
  std::uint64_t seed = 70;
  for (const Case& c : cases) {
    for (DType dtype : {kFloat32, kFloat64}) {
      SCOPED_TRACE(std::string(c.layout) + " " + shape_str(c.shape) + " " + dtype_name(dtype));
      Tensor x = testing::random_tensor(c.shape, seed++, {dtype, GetParam()});
      if (c.transposed) x = x.t();
      std::vector<bool> reduced(c.shape.size(), c.dims.empty());
      for (std::int64_t d : c.dims) reduced[static_cast<std::size_t>(d)] = true;
      const std::vector<double> expected = reference_sum(host_values(x), x.shape(), reduced);
      // float32 inputs are summed in double: only the final rounding differs.
      const double tol = dtype == kFloat32 ? 1e-6 : 1e-12;
      EXPECT_TRUE(all_close(x.sum(c.dims, true), expected, tol, tol));
    }
  }
  const std::int64_t n = 100002;  // 7 x 14286
  EXPECT_TRUE(all_close(arange(n, {kInt64, GetParam()}).sum(), {static_cast<double>(n * (n - 1) / 2)}, 0, 0));
  EXPECT_TRUE(all_close(arange(n, {kInt64, GetParam()}).reshape({7, n / 7}).sum({0}).sum(),
                        {static_cast<double>(n * (n - 1) / 2)}, 0, 0));
}

TEST_P(ReduceTest, LargeFloatSumsAreAccurate) {
  REDES_REQUIRE_DEVICE(GetParam());
  // 2^24 + 2 ones: a float32 running sum would stop at 2^24 (2^24 + 1 rounds
  // back down), while the exact sum is representable.
  const std::int64_t n = (1 << 24) + 2;
  EXPECT_EQ(ones({n}, {kFloat32, GetParam()}).sum().item(), static_cast<double>(n));
}

TEST_P(ReduceTest, MeanDividesByTheReducedCount) {
  REDES_REQUIRE_DEVICE(GetParam());
  const Tensor x = arange(12, {kFloat32, GetParam()}).reshape({3, 4});
  EXPECT_TRUE(all_close(x.mean(), {5.5}, 1e-6, 0));
  EXPECT_TRUE(all_close(x.mean({1}), {1.5, 5.5, 9.5}, 1e-6, 0));
  EXPECT_EQ(x.mean({0}, true).shape(), (Shape{1, 4}));
}

TEST_P(ReduceTest, SumToUndoesBroadcasting) {
  REDES_REQUIRE_DEVICE(GetParam());
  const Tensor x = ones({2, 3, 4}, {kFloat32, GetParam()});
  EXPECT_TRUE(all_close(sum_to(x, {3, 1}), std::vector<double>(3, 8.0), 0, 0));
  EXPECT_EQ(sum_to(x, {3, 1}).shape(), (Shape{3, 1}));
  EXPECT_TRUE(all_close(sum_to(x, {}), {24.0}, 0, 0));
  EXPECT_THROW(sum_to(x, {2, 4}), Error);
}

TEST_P(ReduceTest, Gradients) {
  REDES_REQUIRE_DEVICE(GetParam());
  const Tensor x = testing::random_tensor({3, 4, 2}, 50, {kFloat64, GetParam()});
  EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& in) { return in[0].sum(); }, {x}));
  EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& in) { return in[0].sum({1}); }, {x}));
  EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& in) { return in[0].sum({0, 2}, true); }, {x}));
  EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& in) { return in[0].mean({-1}); }, {x}));
  EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& in) { return in[0].permute({2, 0, 1}).mean({1}); }, {x}));
}

REDES_INSTANTIATE_FOR_DEVICES(ReduceTest);

}  // namespace
}  // namespace redes
