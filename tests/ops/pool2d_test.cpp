// max_pool2d, avg_pool2d, adaptive_avg_pool2d: known values, direct-loop
// references, PyTorch's output-size rules, gradients, the shared window math
// and argument errors.
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <utility>

#include "kernels/backend_status.h"
#include "kernels/conv_math.h"
#include "kernels/registry.h"
#include "support/forced_impl.h"
#include "support/test_support.h"

namespace redes {
namespace {

using testing::all_close;
using testing::gradcheck;
using testing::host_values;
using Pair = std::array<std::int64_t, 2>;

// PyTorch's pooling output size, written out independently of the library:
// floor or ceil of (in + 2 pad - dilation (k - 1) - 1) / stride, plus 1, and
// with ceil_mode the last window must start inside the input or left padding.
std::int64_t expected_size(std::int64_t in, std::int64_t k, std::int64_t stride, std::int64_t pad,
                           std::int64_t dilation, bool ceil_mode) {
  const double span = static_cast<double>(in + 2 * pad - dilation * (k - 1) - 1) / static_cast<double>(stride);
  auto out = static_cast<std::int64_t>(ceil_mode ? std::ceil(span) : std::floor(span)) + 1;
  if (ceil_mode && (out - 1) * stride >= in + pad) --out;
  return out;
}

struct Geometry {
  Pair kernel, stride, padding, dilation;
  bool ceil_mode;
};

// Calls f(plane, rows, cols) for each output window in row-major order, plane
// being n * C + c and rows/cols the input positions its taps read (padding
// included, so they may be out of range).
void for_each_window(const Shape& shape, const Geometry& g,
                     const std::function<void(std::int64_t, const std::vector<std::int64_t>&,
                                              const std::vector<std::int64_t>&)>& f) {
  const std::int64_t oh_count = expected_size(shape[2], g.kernel[0], g.stride[0], g.padding[0], g.dilation[0], g.ceil_mode);
  const std::int64_t ow_count = expected_size(shape[3], g.kernel[1], g.stride[1], g.padding[1], g.dilation[1], g.ceil_mode);
  for (std::int64_t plane = 0; plane < shape[0] * shape[1]; ++plane) {
    for (std::int64_t oh = 0; oh < oh_count; ++oh) {
      for (std::int64_t ow = 0; ow < ow_count; ++ow) {
        std::vector<std::int64_t> rows, cols;
        for (std::int64_t i = 0; i < g.kernel[0]; ++i) rows.push_back(oh * g.stride[0] - g.padding[0] + i * g.dilation[0]);
        for (std::int64_t j = 0; j < g.kernel[1]; ++j) cols.push_back(ow * g.stride[1] - g.padding[1] + j * g.dilation[1]);
        f(plane, rows, cols);
      }
    }
  }
}

// Reference max pooling: values and plane indices (first max; inputs have no ties).
std::pair<std::vector<double>, std::vector<double>> reference_max_pool(const std::vector<double>& in,
                                                                       const Shape& shape, const Geometry& g) {
  std::vector<double> values, indices;
  const std::int64_t height = shape[2], width = shape[3];
  for_each_window(shape, g, [&](std::int64_t plane, const auto& rows, const auto& cols) {
    double best = -std::numeric_limits<double>::infinity();
    std::int64_t where = -1;
    for (std::int64_t h : rows) {
      for (std::int64_t w : cols) {
        if (h < 0 || h >= height || w < 0 || w >= width) continue;
        const double v = in[static_cast<std::size_t>((plane * height + h) * width + w)];
        if (where < 0 || v > best) {
          best = v;
          where = h * width + w;
        }
      }
    }
    values.push_back(best);
    indices.push_back(static_cast<double>(where));
  });
  return {values, indices};
}

// Reference average pooling, PyTorch's divisor: the window clipped to the
// padded input (count_include_pad) or to the input.
std::vector<double> reference_avg_pool(const std::vector<double>& in, const Shape& shape, const Geometry& g,
                                       bool count_include_pad) {
  std::vector<double> out;
  const std::int64_t height = shape[2], width = shape[3];
  for_each_window(shape, g, [&](std::int64_t plane, const auto& rows, const auto& cols) {
    double total = 0;
    std::int64_t inside = 0, padded = 0;
    for (std::int64_t h : rows) {
      for (std::int64_t w : cols) {
        if (h < height + g.padding[0] && w < width + g.padding[1]) ++padded;
        if (h < 0 || h >= height || w < 0 || w >= width) continue;
        total += in[static_cast<std::size_t>((plane * height + h) * width + w)];
        ++inside;
      }
    }
    out.push_back(total / static_cast<double>(count_include_pad ? padded : inside));
  });
  return out;
}

// Reference adaptive average pooling from the window formula.
std::vector<double> reference_adaptive(const std::vector<double>& in, const Shape& shape, Pair size) {
  std::vector<double> out;
  const std::int64_t height = shape[2], width = shape[3];
  for (std::int64_t plane = 0; plane < shape[0] * shape[1]; ++plane) {
    for (std::int64_t oh = 0; oh < size[0]; ++oh) {
      for (std::int64_t ow = 0; ow < size[1]; ++ow) {
        const auto h0 = static_cast<std::int64_t>(std::floor(static_cast<double>(oh * height) / static_cast<double>(size[0])));
        const auto h1 = static_cast<std::int64_t>(std::ceil(static_cast<double>((oh + 1) * height) / static_cast<double>(size[0])));
        const auto w0 = static_cast<std::int64_t>(std::floor(static_cast<double>(ow * width) / static_cast<double>(size[1])));
        const auto w1 = static_cast<std::int64_t>(std::ceil(static_cast<double>((ow + 1) * width) / static_cast<double>(size[1])));
        double total = 0;
        for (std::int64_t h = h0; h < h1; ++h) {
          for (std::int64_t w = w0; w < w1; ++w) total += in[static_cast<std::size_t>((plane * height + h) * width + w)];
        }
        out.push_back(total / static_cast<double>((h1 - h0) * (w1 - w0)));
      }
    }
  }
  return out;
}

using testing::expect_error;

class Pool2dTest : public ::testing::TestWithParam<Device> {
 protected:
  Tensor values(const std::vector<double>& v, const Shape& shape, DType dtype = kFloat64) const {
    return from_vector(v, shape, {kFloat64, GetParam()}).to(dtype);
  }
  Tensor random(const Shape& shape, std::uint64_t seed, DType dtype = kFloat64) const {
    return testing::random_tensor(shape, seed, {dtype, GetParam()});
  }
};

TEST_P(Pool2dTest, MaxPoolKnownExample) {
  REDES_REQUIRE_DEVICE(GetParam());
  for (DType dtype : {kFloat32, kFloat64}) {
    const Tensor x = values({1, 2, 5, 3, 3, 0, 1, 2, 2, 1, 3, 4, 1, 1, 2, 0}, {1, 1, 4, 4}, dtype);
    const ValuesIndices result = max_pool2d_with_indices(x, {2, 2});
    EXPECT_EQ(result.values.shape(), (Shape{1, 1, 2, 2}));
    EXPECT_EQ(result.values.dtype(), dtype);
    EXPECT_EQ(result.indices.dtype(), kInt64);
    EXPECT_TRUE(all_close(result.values, {3, 5, 2, 4}, 0, 0));
    EXPECT_TRUE(all_close(result.indices, {4, 2, 8, 11}, 0, 0));
    EXPECT_TRUE(all_close(max_pool2d(x, {2, 2}), {3, 5, 2, 4}, 0, 0));
  }
}

TEST_P(Pool2dTest, MaxPoolMatchesReference) {
  REDES_REQUIRE_DEVICE(GetParam());
  const std::vector<std::pair<Shape, Geometry>> cases = {
      {{2, 3, 7, 9}, {{3, 3}, {2, 2}, {1, 1}, {1, 1}, false}},
      {{1, 2, 7, 9}, {{3, 3}, {2, 2}, {1, 1}, {1, 1}, true}},
      {{1, 1, 6, 6}, {{3, 3}, {2, 2}, {1, 1}, {1, 1}, true}},  // ceil_mode adds a window
      {{1, 2, 3, 3}, {{2, 2}, {2, 2}, {1, 1}, {1, 1}, true}},  // ceil_mode's dropped last window
      {{2, 2, 9, 8}, {{3, 2}, {1, 2}, {1, 0}, {2, 3}, false}},
      {{1, 1, 10, 11}, {{2, 3}, {3, 2}, {0, 1}, {2, 2}, true}},
      {{3, 1, 5, 5}, {{1, 1}, {1, 1}, {0, 0}, {1, 1}, false}},
  };
  std::uint64_t seed = 1;
  for (const auto& [shape, g] : cases) {
    for (DType dtype : {kFloat32, kFloat64}) {
      SCOPED_TRACE(shape_str(shape) + " kernel " + std::to_string(g.kernel[0]) + "x" + std::to_string(g.kernel[1]) +
                   (g.ceil_mode ? " ceil" : "") + " " + dtype_name(dtype));
      const Tensor x = random(shape, seed++, dtype);
      const auto [expected_values, expected_indices] = reference_max_pool(host_values(x), shape, g);
      const ValuesIndices result = max_pool2d_with_indices(
          x, g.kernel, {.stride = g.stride, .padding = g.padding, .dilation = g.dilation, .ceil_mode = g.ceil_mode});
      EXPECT_EQ(result.values.size(2), expected_size(shape[2], g.kernel[0], g.stride[0], g.padding[0],
                                                     g.dilation[0], g.ceil_mode));
      EXPECT_EQ(result.values.size(3), expected_size(shape[3], g.kernel[1], g.stride[1], g.padding[1],
                                                     g.dilation[1], g.ceil_mode));
      EXPECT_TRUE(all_close(result.values, expected_values, 0, 0));
      EXPECT_TRUE(all_close(result.indices, expected_indices, 0, 0));
    }
  }
}

TEST_P(Pool2dTest, MaxPoolNonContiguousInputAndNaN) {
  REDES_REQUIRE_DEVICE(GetParam());
  const Tensor x = random({2, 5, 6, 3}, 7).permute({0, 3, 1, 2});  // (2, 3, 5, 6), channels last in memory
  ASSERT_FALSE(x.is_contiguous());
  const Geometry g{{2, 3}, {2, 2}, {1, 1}, {1, 1}, true};
  const auto expected = reference_max_pool(host_values(x), x.shape(), g);
  const MaxPool2dOptions options{.stride = g.stride, .padding = g.padding, .ceil_mode = true};
  EXPECT_TRUE(all_close(max_pool2d_with_indices(x, g.kernel, options).values, expected.first, 0, 0));
  EXPECT_TRUE(all_close(max_pool2d_with_indices(x, g.kernel, options).indices, expected.second, 0, 0));

  const double nan = std::numeric_limits<double>::quiet_NaN();
  const Tensor with_nan = values({1, nan, 2, 3, 4, 5, 6, 7, 8}, {1, 1, 3, 3});
  const ValuesIndices result = max_pool2d_with_indices(with_nan, {2, 2}, {.stride = Pair{1, 1}});
  const std::vector<double> v = host_values(result.values);
  EXPECT_TRUE(std::isnan(v[0]) && std::isnan(v[1])) << v[0] << " " << v[1];
  EXPECT_EQ(v[2], 7);
  EXPECT_EQ(v[3], 8);
  EXPECT_TRUE(all_close(result.indices, {1, 1, 7, 8}, 0, 0));
}

// The plain 2x2 stride-2 window on a contiguous input (the CPU's fast path,
// forward and backward) against the same values through non-contiguous views
// (the general path), bit for bit: rows narrower than the fast path's block
// of 8 (the last row of the tensor among them), rows of exactly one block,
// rows whose last block overlaps the one before, odd sizes that drop the last
// row and column, ties and NaNs.
TEST_P(Pool2dTest, MaxPoolTwoByTwoMatchesTheGeneralPathWithTiesAndNaN) {
  REDES_REQUIRE_DEVICE(GetParam());
  const double nan = std::numeric_limits<double>::quiet_NaN();
  for (const Shape& shape : {Shape{2, 3, 7, 9}, Shape{3, 2, 10, 10}, Shape{1, 1, 3, 3}, Shape{1, 2, 5, 16},
                             Shape{2, 1, 6, 29}, Shape{1, 1, 2, 35}}) {
    std::vector<double> data;
    for (std::int64_t i = 0; i < numel_of(shape); ++i) data.push_back(i % 11 == 0 ? nan : static_cast<double>((i * 7) % 5));
    const Shape out_shape{shape[0], shape[1], shape[2] / 2, shape[3] / 2};
    for (DType dtype : {kFloat32, kFloat64}) {
      SCOPED_TRACE(shape_str(shape) + " " + dtype_name(dtype));
      const Tensor x = values(data, shape, dtype);
      const Tensor strided = x.transpose(2, 3).contiguous().transpose(2, 3);
      const Tensor weights = random(out_shape, 5).to(dtype);
      ASSERT_FALSE(strided.is_contiguous());
      // The output gradient is `weights`: contiguous, or as the transpose of
      // a contiguous gradient (so that the backward takes the general path).
      const auto run = [&](const Tensor& input, bool transposed_gradient) {
        Tensor leaf = input.detach().requires_grad_(true);
        const ValuesIndices out = max_pool2d_with_indices(leaf, {2, 2});
        if (transposed_gradient) {
          (out.values.transpose(2, 3) * weights.transpose(2, 3)).sum().backward();
        } else {
          (out.values * weights).sum().backward();
        }
        return std::make_pair(out, leaf.grad());
      };
      const auto [fast, fast_grad] = run(x, false);
      const auto [general, general_grad] = run(strided, true);
      ASSERT_EQ(fast.values.shape(), out_shape);
      const std::vector<double> a = host_values(fast.values), b = host_values(general.values);
      for (std::size_t i = 0; i < a.size(); ++i) {
        EXPECT_TRUE(a[i] == b[i] || (std::isnan(a[i]) && std::isnan(b[i]))) << i << ": " << a[i] << " vs " << b[i];
      }
      EXPECT_TRUE(all_close(fast.indices, host_values(general.indices), 0, 0));
      EXPECT_TRUE(all_close(fast_grad, host_values(general_grad), 0, 0));
    }
  }
}

// The plain 2x2 stride-2 average (the CPU's row-at-a-time path, forward and
// backward) against the same values through non-contiguous views (the
// general path), bit for bit: odd sizes that leave the last row and column
// out, both divisor rules.
TEST_P(Pool2dTest, AvgPoolTwoByTwoMatchesTheGeneralPath) {
  REDES_REQUIRE_DEVICE(GetParam());
  testing::ImplScope hand(KernelImpl::Hand);  // not oneDNN's or cuDNN's pooling
  for (DType dtype : {kFloat32, kFloat64}) {
    for (bool include_pad : {true, false}) {
      SCOPED_TRACE(std::string(dtype_name(dtype)) + (include_pad ? " count_include_pad" : ""));
      const Tensor x = random({2, 3, 7, 9}, 21).to(dtype);
      const Tensor strided = x.transpose(2, 3).contiguous().transpose(2, 3);
      const Tensor weights = random({2, 3, 3, 4}, 22).to(dtype);
      const Tensor strided_weights = weights.transpose(2, 3).contiguous().transpose(2, 3);
      ASSERT_FALSE(strided.is_contiguous());
      const AvgPool2dOptions options{.count_include_pad = include_pad};
      const auto run = [&](const Tensor& input, const Tensor& w) {
        Tensor leaf = input.detach().requires_grad_(true);
        const Tensor out = avg_pool2d(leaf, {2, 2}, options);
        (out * w).sum().backward();  // the output gradient is w, with w's strides
        return std::vector<Tensor>{out, leaf.grad()};
      };
      const std::vector<Tensor> fast = run(x, weights), general = run(strided, strided_weights);
      for (std::size_t i = 0; i < fast.size(); ++i) {
        EXPECT_TRUE(all_close(fast[i], host_values(general[i]), 0, 0)) << "result " << i;
      }
    }
  }
}

TEST_P(Pool2dTest, MaxPoolWindowWhollyInPadding) {
  REDES_REQUIRE_DEVICE(GetParam());
  // One input, kernel 2 with dilation 2 and padding 1: the only window's taps
  // read positions -1 and 1, both padding.
  Tensor x = values({5}, {1, 1, 1, 1}).requires_grad_(true);
  const ValuesIndices result = max_pool2d_with_indices(x, {2, 2}, {.padding = {1, 1}, .dilation = {2, 2}});
  EXPECT_EQ(result.values.shape(), (Shape{1, 1, 1, 1}));
  EXPECT_EQ(host_values(result.values)[0], -std::numeric_limits<double>::infinity());
  EXPECT_TRUE(all_close(result.indices, std::vector<double>{-1}, 0, 0));
  result.values.sum().backward();
  EXPECT_TRUE(all_close(x.grad(), std::vector<double>{0}, 0, 0));
}

TEST_P(Pool2dTest, MaxPoolGradients) {
  REDES_REQUIRE_DEVICE(GetParam());
  // Windows overlap (stride 1): the centre is every window's max, so its
  // gradient is the sum of the four window gradients.
  Tensor x = values({0, 0, 0, 0, 10, 0, 0, 0, 0}, {1, 1, 3, 3}).requires_grad_(true);
  (max_pool2d(x, {2, 2}, {.stride = Pair{1, 1}}) * values({1, 2, 3, 4}, {1, 1, 2, 2})).sum().backward();
  EXPECT_TRUE(all_close(x.grad(), {0, 0, 0, 0, 10, 0, 0, 0, 0}, 0, 0));

  const Tensor input = random({2, 2, 5, 6}, 3);
  EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& in) { return max_pool2d(in[0], {2, 2}); }, {input}));
  EXPECT_TRUE(gradcheck(
      [](const std::vector<Tensor>& in) {
        return max_pool2d(in[0], {3, 2}, {.stride = Pair{2, 1}, .padding = {1, 1}, .ceil_mode = true});
      },
      {input}));
  EXPECT_TRUE(gradcheck(
      [](const std::vector<Tensor>& in) { return max_pool2d(in[0], {2, 2}, {.stride = Pair{1, 1}, .dilation = {2, 2}}); },
      {input}));
  // Disjoint windows with gaps between them, padding and a ceil_mode window
  // cut by the edge (the gathering backward on CUDA).
  EXPECT_TRUE(gradcheck(
      [](const std::vector<Tensor>& in) {
        return max_pool2d(in[0], {2, 2}, {.stride = Pair{3, 2}, .padding = {1, 1}, .ceil_mode = true});
      },
      {input}));
}

TEST_P(Pool2dTest, AvgPoolKnownValues) {
  REDES_REQUIRE_DEVICE(GetParam());
  const Tensor x = values({1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 1, 3, 3});
  // Padding 1: the corner window holds one input and three padding zeros.
  EXPECT_TRUE(all_close(avg_pool2d(x, {2, 2}, {.padding = {1, 1}}), {0.25, 1.25, 2.75, 7}, 1e-15, 0));
  EXPECT_TRUE(all_close(avg_pool2d(x, {2, 2}, {.padding = {1, 1}, .count_include_pad = false}), {1, 2.5, 5.5, 7},
                        1e-15, 0));
  // ceil_mode: the last windows are cut by the input's edge, and without
  // padding the divisor counts only what is left.
  EXPECT_TRUE(all_close(avg_pool2d(x, {2, 2}, {.ceil_mode = true}), {3, 4.5, 7.5, 9}, 1e-15, 0));
  EXPECT_TRUE(all_close(avg_pool2d(x, {2, 2}, {.ceil_mode = true, .count_include_pad = false}), {3, 4.5, 7.5, 9},
                        1e-15, 0));
  // ceil_mode with padding: window 2 along each dim covers input 3 and the
  // right padding column 4 (divisor 2 per dim with count_include_pad).
  const Tensor y = arange(16, {kFloat64, GetParam()}).reshape({1, 1, 4, 4});
  const Tensor z = avg_pool2d(y, {3, 3}, {.stride = Pair{2, 2}, .padding = {1, 1}, .ceil_mode = true});
  EXPECT_EQ(z.shape(), (Shape{1, 1, 3, 3}));
  EXPECT_NEAR(host_values(z)[8], 15.0 / 4.0, 1e-15);
  const Tensor z_exclusive = avg_pool2d(
      y, {3, 3}, {.stride = Pair{2, 2}, .padding = {1, 1}, .ceil_mode = true, .count_include_pad = false});
  EXPECT_NEAR(host_values(z_exclusive)[8], 15.0, 1e-15);
  EXPECT_NEAR(host_values(z_exclusive)[0], (0 + 1 + 4 + 5) / 4.0, 1e-15);
}

TEST_P(Pool2dTest, AvgPoolMatchesReference) {
  REDES_REQUIRE_DEVICE(GetParam());
  const std::vector<std::pair<Shape, Geometry>> cases = {
      {{2, 3, 7, 9}, {{3, 3}, {2, 2}, {1, 1}, {1, 1}, false}},
      {{1, 2, 7, 9}, {{3, 3}, {2, 2}, {1, 1}, {1, 1}, true}},
      {{1, 1, 6, 6}, {{3, 3}, {2, 2}, {1, 1}, {1, 1}, true}},
      {{1, 2, 3, 3}, {{2, 2}, {2, 2}, {1, 1}, {1, 1}, true}},
      {{2, 2, 9, 8}, {{4, 2}, {3, 1}, {2, 1}, {1, 1}, true}},
      {{1, 1, 5, 7}, {{2, 3}, {1, 2}, {0, 1}, {1, 1}, false}},
  };
  std::uint64_t seed = 50;
  for (const auto& [shape, g] : cases) {
    for (bool include_pad : {true, false}) {
      for (DType dtype : {kFloat32, kFloat64}) {
        SCOPED_TRACE(shape_str(shape) + " kernel " + std::to_string(g.kernel[0]) + "x" + std::to_string(g.kernel[1]) +
                     (g.ceil_mode ? " ceil" : "") + (include_pad ? " include_pad " : " ") + dtype_name(dtype));
        const Tensor x = random(shape, seed++, dtype);
        const Tensor out = avg_pool2d(x, g.kernel,
                                      {.stride = g.stride, .padding = g.padding, .ceil_mode = g.ceil_mode,
                                       .count_include_pad = include_pad});
        const double tolerance = dtype == kFloat32 ? 1e-6 : 1e-14;
        EXPECT_TRUE(all_close(out, reference_avg_pool(host_values(x), shape, g, include_pad), tolerance, tolerance));
      }
    }
  }
  // Strided input.
  const Tensor x = random({3, 4, 2, 5}, 9).permute({2, 3, 0, 1});  // (2, 5, 3, 4)
  const Geometry g{{2, 3}, {1, 2}, {1, 1}, {1, 1}, true};
  EXPECT_TRUE(all_close(avg_pool2d(x, g.kernel, {.stride = g.stride, .padding = g.padding, .ceil_mode = true}),
                        reference_avg_pool(host_values(x), x.shape(), g, true), 1e-14, 1e-14));
}

TEST_P(Pool2dTest, AvgPoolGradients) {
  REDES_REQUIRE_DEVICE(GetParam());
  const Tensor input = random({2, 2, 5, 6}, 4);
  for (bool include_pad : {true, false}) {
    SCOPED_TRACE(include_pad ? "count_include_pad" : "exclude pad");
    EXPECT_TRUE(gradcheck(
        [include_pad](const std::vector<Tensor>& in) {
          return avg_pool2d(in[0], {3, 3},
                            {.stride = Pair{2, 2}, .padding = {1, 1}, .ceil_mode = true, .count_include_pad = include_pad});
        },
        {input}));
    EXPECT_TRUE(gradcheck(
        [include_pad](const std::vector<Tensor>& in) {
          return avg_pool2d(in[0], {2, 3}, {.stride = Pair{1, 2}, .padding = {1, 0}, .count_include_pad = include_pad});
        },
        {input}));
  }
  // Gradient through a non-contiguous (stride-0) output gradient: mean() expands it.
  Tensor x = random({1, 1, 4, 4}, 5).requires_grad_(true);
  avg_pool2d(x, {2, 2}).mean().backward();
  EXPECT_TRUE(all_close(x.grad(), std::vector<double>(16, 1.0 / 16), 1e-15, 0));
}

TEST_P(Pool2dTest, AdaptiveAvgPool) {
  REDES_REQUIRE_DEVICE(GetParam());
  const std::vector<std::pair<Shape, Pair>> cases = {
      {{2, 3, 5, 7}, {3, 4}},  // sizes that do not divide the input: overlapping windows
      {{1, 2, 6, 6}, {3, 2}},  // divides: plain average pooling
      {{1, 1, 3, 4}, {5, 7}},  // larger than the input: windows repeat inputs
      {{2, 2, 7, 5}, {1, 1}},  // global average
      {{1, 1, 4, 4}, {4, 4}},  // identity
  };
  std::uint64_t seed = 80;
  for (const auto& [shape, size] : cases) {
    for (DType dtype : {kFloat32, kFloat64}) {
      SCOPED_TRACE(shape_str(shape) + " -> " + std::to_string(size[0]) + "x" + std::to_string(size[1]) + " " +
                   dtype_name(dtype));
      const Tensor x = random(shape, seed++, dtype);
      const Tensor out = adaptive_avg_pool2d(x, size);
      EXPECT_EQ(out.shape(), (Shape{shape[0], shape[1], size[0], size[1]}));
      const double tolerance = dtype == kFloat32 ? 1e-6 : 1e-14;
      EXPECT_TRUE(all_close(out, reference_adaptive(host_values(x), shape, size), tolerance, tolerance));
    }
  }
  const Tensor x = random({2, 3, 5, 7}, 90);
  EXPECT_TRUE(all_close(adaptive_avg_pool2d(x.permute({0, 1, 3, 2}), {3, 2}),
                        adaptive_avg_pool2d(x.permute({0, 1, 3, 2}).contiguous(), {3, 2}), 0, 0));
  EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& in) { return adaptive_avg_pool2d(in[0], {3, 4}); },
                        {random({1, 2, 5, 7}, 91)}));
  EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& in) { return adaptive_avg_pool2d(in[0], {4, 5}); },
                        {random({1, 1, 3, 4}, 92)}));
}

TEST_P(Pool2dTest, ArgumentErrors) {
  REDES_REQUIRE_DEVICE(GetParam());
  const Tensor x = zeros({1, 2, 5, 5}, {kFloat32, GetParam()});
  expect_error([&] { max_pool2d(zeros({2, 5, 5}, {kFloat32, GetParam()}), {2, 2}); },
               "max_pool2d: expected a 4-D input (N, C, H, W), got shape");
  expect_error([&] { avg_pool2d(zeros({1, 1, 4, 4}, {kInt64, GetParam()}), {2, 2}); },
               "avg_pool2d: expected a floating-point input, got int64");
  expect_error([&] { max_pool2d(zeros({1, 1, 0, 4}, {kFloat32, GetParam()}), {1, 1}); },
               "max_pool2d: expected non-empty (H, W) planes");
  expect_error([&] { max_pool2d(x, {0, 2}); }, "max_pool2d: expected a positive kernel size, got (0, 2)");
  expect_error([&] { avg_pool2d(x, {2, 2}, {.stride = Pair{1, 0}}); }, "avg_pool2d: expected a positive stride");
  expect_error([&] { max_pool2d(x, {2, 2}, {.dilation = {0, 1}}); }, "max_pool2d: expected a positive dilation");
  expect_error([&] { max_pool2d(x, {3, 3}, {.padding = {-1, 0}}); }, "expected non-negative padding");
  expect_error([&] { max_pool2d(x, {3, 3}, {.padding = {2, 1}}); },
               "max_pool2d: padding (2, 1) must be at most half the kernel size (3, 3)");
  expect_error([&] { avg_pool2d(x, {2, 2}, {.padding = {0, 2}}); }, "must be at most half the kernel size");
  expect_error([&] { max_pool2d(x, {6, 2}); }, "max_pool2d: the input planes 5x5 are too small for kernel 6x2");
  expect_error([&] { max_pool2d(x, {3, 3}, {.dilation = {3, 1}}); }, "are too small for kernel 3x3");
  expect_error([&] { adaptive_avg_pool2d(x, {0, 2}); }, "adaptive_avg_pool2d: expected a positive output size");
  expect_error([&] { adaptive_avg_pool2d(Tensor(), {2, 2}); }, "adaptive_avg_pool2d: the input is an undefined tensor");
}

REDES_INSTANTIATE_FOR_DEVICES(Pool2dTest);

// Output and input gradient of one pooling call, for a random output gradient
// (drawn in float32 and rounded for a 16-bit input).
std::vector<Tensor> pool_results(const Tensor& x, std::uint64_t seed, const std::function<Tensor(const Tensor&)>& pool) {
  Tensor xg = x.clone().requires_grad_(true);
  const Tensor out = pool(xg);
  const DType drawn = is_low_precision(x.dtype()) ? kFloat32 : x.dtype();
  const Tensor grad_out = testing::random_tensor(out.shape(), seed, {drawn, x.device()}).to(x.dtype());
  (out * grad_out).sum().backward();
  return {out, xg.grad()};
}

std::vector<Tensor> avg_pool_results(const Tensor& x, const Geometry& g, bool include_pad, std::uint64_t seed) {
  const AvgPool2dOptions options{.stride = g.stride, .padding = g.padding, .ceil_mode = g.ceil_mode,
                                 .count_include_pad = include_pad};
  return pool_results(x, seed, [&](const Tensor& xg) { return avg_pool2d(xg, g.kernel, options); });
}

std::vector<Tensor> max_pool_results(const Tensor& x, const Geometry& g, std::uint64_t seed) {
  const MaxPool2dOptions options{
      .stride = g.stride, .padding = g.padding, .dilation = g.dilation, .ceil_mode = g.ceil_mode};
  return pool_results(x, seed, [&](const Tensor& xg) { return max_pool2d(xg, g.kernel, options); });
}

// oneDNN's pooling (the vendor and auto settings on the CPU) against the
// hand kernels, forward and backward, in float32 and, where oneDNN runs it,
// bfloat16: odd sizes, batch 1, overlapping windows, padding with and without
// counting it, ceil_mode, dilation (max only). Max pooling agrees exactly
// for these inputs (random, so no ties); averages agree to rounding. Where
// windows overlap, bfloat16 gradients sum several windows' shares, which the
// two implementations may round differently: other random draws have shown
// one or two bfloat16 units of difference on the dilated case.
TEST(Pool2dImplementations, OnednnPoolingMatchesTheHandKernels) {
  if (!build_info().onednn) GTEST_SKIP() << "this build has no oneDNN";
  std::vector<DType> dtypes{kFloat32};
  if (build_info().onednn_cpu.find("no bfloat16") == std::string::npos) dtypes.push_back(kBFloat16);
  const std::vector<std::pair<Shape, Geometry>> cases = {
      {{2, 3, 7, 9}, {{3, 3}, {2, 2}, {1, 1}, {1, 1}, false}},
      {{1, 1, 5, 7}, {{2, 3}, {1, 2}, {0, 1}, {1, 1}, false}},
      {{2, 2, 9, 8}, {{4, 2}, {3, 1}, {2, 1}, {1, 1}, false}},
      {{8, 16, 28, 28}, {{2, 2}, {2, 2}, {0, 0}, {1, 1}, false}},
      {{1, 2, 7, 7}, {{3, 3}, {2, 2}, {1, 1}, {1, 1}, true}},
      {{2, 3, 9, 9}, {{2, 2}, {2, 2}, {0, 0}, {1, 1}, true}},  // ceil_mode adds a partial last window
      {{1, 2, 9, 9}, {{2, 2}, {1, 1}, {0, 0}, {2, 2}, false}},  // dilation
  };
  // Where the build has CUDA kernels, the indices ops are forced onto them,
  // so a CPU max pooling that took the indices path would fail: passing
  // proves oneDNN's values-only pooling ran.
  std::vector<const char*> indices_ops;
  if (build_info().cuda) indices_ops = {"max_pool2d", "max_pool2d_backward"};
  std::uint64_t seed = 900;
  for (const auto& [shape, g] : cases) {
    for (DType dtype : dtypes) {
      SCOPED_TRACE(shape_str(shape) + " " + dtype_name(dtype) + (g.ceil_mode ? " ceil_mode" : ""));
      const Tensor x = testing::random_tensor(shape, seed, {kFloat32}).to(dtype);
      seed += 2;
      const std::uint64_t grad_seed = seed + 1;
      std::vector<Tensor> hand, vendor;
      {
        testing::ImplScope scope(KernelImpl::Hand);
        hand = max_pool_results(x, g, grad_seed);
      }
      {
        testing::ImplScope scope(KernelImpl::Vendor);
        for (const char* op : indices_ops) KernelRegistry::instance().force(op, "cuda.hand");
        vendor = max_pool_results(x, g, grad_seed);
        for (const char* op : indices_ops) KernelRegistry::instance().force(op, "");
      }
      for (std::size_t i = 0; i < hand.size(); ++i) {
        EXPECT_TRUE(all_close(vendor[i], host_values(hand[i]), 0, 0)) << "max pooling result " << i;
      }
      if (g.dilation != Pair{1, 1}) continue;
      const double tolerance = dtype == kBFloat16 ? 0x1p-7 : 1e-6;
      for (bool include_pad : {true, false}) {
        SCOPED_TRACE(include_pad ? "count_include_pad" : "padding not counted");
        // oneDNN divides by the whole kernel where PyTorch clips a window
        // that ceil_mode pushed past the right padding: it refuses those.
        const auto past_padding = [&](std::size_t d) {
          const std::int64_t in = shape[d + 2], out = expected_size(in, g.kernel[d], g.stride[d], g.padding[d], 1,
                                                                   g.ceil_mode);
          return (out - 1) * g.stride[d] - g.padding[d] + g.kernel[d] > in + g.padding[d];
        };
        const bool onednn_serves = !include_pad || !(past_padding(0) || past_padding(1));
        std::vector<std::vector<Tensor>> per_impl;
        for (const char* impl : {"cpu", "onednn", ""}) {
          if (std::string(impl) == "onednn" && !onednn_serves) continue;
          testing::ForcedImpl forced({"avg_pool2d", "avg_pool2d_backward"}, impl);  // "": the default choice
          per_impl.push_back(avg_pool_results(x, g, include_pad, grad_seed));
        }
        for (std::size_t k = 1; k < per_impl.size(); ++k) {
          for (std::size_t i = 0; i < per_impl[0].size(); ++i) {
            EXPECT_TRUE(all_close(per_impl[k][i], host_values(per_impl[0][i]), tolerance, tolerance))
                << "average pooling result " << i << " of run " << k;
          }
        }
      }
    }
  }
}

// oneDNN's max pooling keeps NaN (a diverged value must not vanish in a
// pooling layer), sends each window's gradient to one position when maxima
// tie, and leaves a strided input to the indices kernel.
TEST(Pool2dImplementations, OnednnMaxPoolingWithNaNTiesAndStridedInputs) {
  if (!build_info().onednn) GTEST_SKIP() << "this build has no oneDNN";
  testing::ImplScope scope(KernelImpl::Vendor);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  for (DType dtype : {kFloat32, kBFloat16}) {
    SCOPED_TRACE(dtype_name(dtype));
    const Tensor with_nan = from_vector(std::vector<float>{1, nan, 2, 3, 4, 5, 6, 7, 8}, {1, 1, 3, 3}).to(dtype);
    const std::vector<double> v = host_values(max_pool2d(with_nan, {2, 2}, {.stride = Pair{1, 1}}));
    EXPECT_TRUE(std::isnan(v[0]) && std::isnan(v[1])) << v[0] << " " << v[1];
    EXPECT_EQ(v[2], 7);
    EXPECT_EQ(v[3], 8);
  }

  Tensor ties = zeros({2, 3, 8, 8}, {kFloat32}).requires_grad_(true);
  const Tensor out = max_pool2d(ties, {2, 2}, {});
  const Tensor grad_out = testing::random_tensor(out.shape(), 950, {kFloat32});
  (out * grad_out).sum().backward();
  EXPECT_NEAR(ties.grad().sum().item(), grad_out.sum().item(), 1e-4);
  std::size_t nonzero = 0;
  for (double g : host_values(ties.grad())) nonzero += g != 0.0 ? 1 : 0;
  EXPECT_EQ(nonzero, static_cast<std::size_t>(out.numel())) << "one position per (non-overlapping) window";

  const Tensor strided = testing::random_tensor({2, 5, 6, 3}, 951, {kFloat32}).permute({0, 3, 1, 2});
  const Tensor expected = max_pool2d(strided.contiguous(), {2, 2}, {});
  EXPECT_TRUE(all_close(max_pool2d(strided, {2, 2}, {}), host_values(expected), 0, 0));
}

// cuDNN has no ceil_mode: a call whose last window needs it is refused, and
// forcing cuDNN then says so. The max pool with indices has no cuDNN
// implementation (cuDNN gives no argmax indices); the values-only one has
// only cuDNN's.
TEST(Pool2dImplementations, CudnnRefusesCeilModeWindowsAndHasNoMaxPoolWithIndices) {
  if (!build_info().cudnn) GTEST_SKIP() << "this build has no cuDNN";
  for (const KernelEntry* entry : KernelRegistry::instance().candidates("max_pool2d", DeviceType::CUDA, kFloat32)) {
    EXPECT_NE(entry->name, "cudnn");
  }
  const auto values_only = KernelRegistry::instance().candidates("max_pool2d_values", DeviceType::CUDA, kFloat32);
  ASSERT_EQ(values_only.size(), 1u);
  EXPECT_EQ(values_only[0]->name, "cudnn");
  REDES_REQUIRE_DEVICE(Device::cuda(0));
  testing::ForcedImpl forced({"avg_pool2d"}, "cudnn");
  const Tensor x = zeros({1, 1, 6, 6}, {kFloat32, Device::cuda(0)});
  try {
    avg_pool2d(x, {3, 3}, {.stride = Pair{2, 2}, .padding = {1, 1}, .ceil_mode = true});
    FAIL() << "expected redes::Error";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("refused these arguments: cudnn"), std::string::npos) << error.what();
  }
}

// Output and input gradient of one max_pool2d (values only) call.
// Under the cudnn setting, max_pool2d on CUDA runs cuDNN's values-only max
// pooling where it applies (no padding, dilation 1, floor size): forcing the
// indices kernel onto the CPU implementation makes that path fail, so
// passing proves cuDNN ran. Elsewhere (padding, dilation) it falls back to
// the indices kernel. Both match the CPU forward and backward; random
// inputs have no tied maxima.
TEST(Pool2dImplementations, CudnnMaxPoolValuesMatchesTheCpu) {
  if (!build_info().cudnn) GTEST_SKIP() << "this build has no cuDNN";
  REDES_REQUIRE_DEVICE(Device::cuda(0));
  ASSERT_EQ(cudnn_unusable_reason(), "") << "a GPU is present, so cuDNN should run";
  testing::ImplScope scope(KernelImpl::Cudnn);
  struct Case {
    Shape shape;
    Geometry g;
    bool served_by_cudnn;
  };
  const std::vector<Case> cases = {
      {{2, 3, 7, 9}, {{3, 3}, {2, 2}, {0, 0}, {1, 1}, false}, true},
      {{1, 1, 5, 7}, {{2, 3}, {1, 2}, {0, 0}, {1, 1}, false}, true},  // batch 1, overlapping windows
      {{8, 16, 28, 28}, {{2, 2}, {2, 2}, {0, 0}, {1, 1}, false}, true},
      {{2, 4, 13, 13}, {{3, 3}, {2, 2}, {0, 0}, {1, 1}, false}, true},  // AlexNet-style 3x3 stride 2
      {{2, 2, 9, 8}, {{3, 3}, {2, 2}, {1, 1}, {1, 1}, false}, false},   // padding: the indices kernel
      {{1, 2, 9, 9}, {{2, 2}, {1, 1}, {0, 0}, {2, 2}, false}, false},   // dilation: the indices kernel
  };
  const Device cuda = Device::cuda(0);
  std::uint64_t seed = 800;
  for (const Case& c : cases) {
    for (bool strided : {false, true}) {
      for (DType dtype : {kFloat32, kFloat64}) {
        SCOPED_TRACE(shape_str(c.shape) + (strided ? " strided " : " ") + dtype_name(dtype));
        const Shape stored{c.shape[0], c.shape[2], c.shape[3], c.shape[1]};
        const Tensor x = strided ? testing::random_tensor(stored, seed, {dtype}).permute({0, 3, 1, 2})
                                 : testing::random_tensor(c.shape, seed, {dtype});
        const std::vector<Tensor> cpu = max_pool_results(x, c.g, seed + 1);
        std::vector<Tensor> on_cuda;
        if (c.served_by_cudnn) {
          testing::ForcedImpl indices_off({"max_pool2d", "max_pool2d_backward"}, "cpu");
          on_cuda = max_pool_results(x.to(cuda), c.g, seed + 1);
        } else {
          on_cuda = max_pool_results(x.to(cuda), c.g, seed + 1);
        }
        seed += 2;
        for (std::size_t i = 0; i < cpu.size(); ++i) {
          EXPECT_TRUE(all_close(on_cuda[i], cpu[i], 0, 0)) << "result " << i << " (max pooling is exact)";
        }
      }
    }
  }
}

// Tied maxima (a ReLU's zeros): cuDNN may pick another tied position than
// the indices kernel, but each window's gradient still goes to exactly one
// position, so the gradient's total is the output gradient's.
TEST(Pool2dImplementations, CudnnMaxPoolValuesRoutesEachWindowsGradientOnceWithTies) {
  if (!build_info().cudnn) GTEST_SKIP() << "this build has no cuDNN";
  REDES_REQUIRE_DEVICE(Device::cuda(0));
  testing::ImplScope scope(KernelImpl::Cudnn);
  testing::ForcedImpl indices_off({"max_pool2d", "max_pool2d_backward"}, "cpu");
  Tensor x = zeros({2, 3, 8, 8}, {kFloat64, Device::cuda(0)}).requires_grad_(true);
  const Tensor out = max_pool2d(x, {2, 2}, {});
  const Tensor grad_out = testing::random_tensor(out.shape(), 850, {kFloat64, Device::cuda(0)});
  (out * grad_out).sum().backward();
  EXPECT_NEAR(x.grad().sum().item(), grad_out.sum().item(), 1e-12);
  const std::vector<double> grad = testing::host_values(x.grad());
  std::size_t nonzero = 0;
  for (double g : grad) nonzero += g != 0.0 ? 1 : 0;
  EXPECT_EQ(nonzero, static_cast<std::size_t>(out.numel())) << "one position per (non-overlapping) window";
}

// The gradient of a sum is one number broadcast (stride 0), which cuDNN
// refuses; the values path makes it dense, so the backward still runs and
// sends each window's 1 to its maximum.
TEST(Pool2dImplementations, CudnnMaxPoolValuesTakesTheBroadcastGradientOfASum) {
  if (!build_info().cudnn) GTEST_SKIP() << "this build has no cuDNN";
  REDES_REQUIRE_DEVICE(Device::cuda(0));
  testing::ImplScope scope(KernelImpl::Cudnn);
  testing::ForcedImpl indices_off({"max_pool2d", "max_pool2d_backward"}, "cpu");
  const Tensor host = testing::random_tensor({2, 3, 8, 8}, 870, {kFloat32});
  Tensor x = host.to(Device::cuda(0)).requires_grad_(true);
  max_pool2d(x, {2, 2}, {}).sum().backward();
  Tensor expected = host.clone().requires_grad_(true);
  max_pool2d(expected, {2, 2}, {}).sum().backward();
  EXPECT_TRUE(all_close(x.grad(), expected.grad(), 0, 0));
}

// Under auto, max_pool2d times the indices kernel against cuDNN's values-only
// pooling once per shape and matches the CPU either way.
TEST(Pool2dImplementations, AutoChoosesBetweenTheMaxPoolPathsOncePerShape) {
  if (!build_info().cudnn) GTEST_SKIP() << "this build has no cuDNN";
  REDES_REQUIRE_DEVICE(Device::cuda(0));
  testing::ImplScope scope(KernelImpl::Auto);
  const Geometry g{{2, 2}, {2, 2}, {0, 0}, {1, 1}, false};
  const Tensor x = testing::random_tensor({4, 6, 12, 10}, 860);
  const std::vector<Tensor> cpu = max_pool_results(x, g, 861);
  const auto choices = [] {
    std::size_t count = 0;
    for (const auto& [key, name] : KernelRegistry::instance().tuned()) {
      if (key.rfind("max_pool2d cuda:0 float32", 0) == 0 && key.find("input=(4, 6, 12, 10)") != std::string::npos) {
        ++count;
        EXPECT_TRUE(name == "cuda.hand" || name == "cudnn") << name;
      }
    }
    return count;
  };
  const std::vector<Tensor> first = max_pool_results(x.to(Device::cuda(0)), g, 861);
  EXPECT_EQ(choices(), 1u);
  const std::vector<Tensor> second = max_pool_results(x.to(Device::cuda(0)), g, 861);
  EXPECT_EQ(choices(), 1u) << "the same shape is not timed again";
  for (std::size_t i = 0; i < cpu.size(); ++i) {
    EXPECT_TRUE(all_close(first[i], cpu[i], 0, 0)) << "result " << i;
    EXPECT_TRUE(all_close(second[i], cpu[i], 0, 0)) << "result " << i;
  }
}

// The window arithmetic the kernels share, against brute force.
TEST(Pool2dWindowMath, OutputSizeFollowsPyTorch) {
  for (std::int64_t in = 1; in <= 12; ++in) {
    for (std::int64_t k = 1; k <= 4; ++k) {
      for (std::int64_t stride = 1; stride <= 3; ++stride) {
        for (std::int64_t pad = 0; pad <= k / 2; ++pad) {
          for (std::int64_t dilation = 1; dilation <= 2; ++dilation) {
            for (bool ceil_mode : {false, true}) {
              EXPECT_EQ(window_output_size(in, k, stride, pad, dilation, ceil_mode),
                        expected_size(in, k, stride, pad, dilation, ceil_mode))
                  << in << " " << k << " " << stride << " " << pad << " " << dilation << " " << ceil_mode;
            }
          }
        }
      }
    }
  }
  // Examples of the ceil_mode rule: 6 -> 4 windows of 3 at stride 2 with
  // padding 1 (3 rounding down); for 3 inputs, kernel 2, stride 2, padding 1,
  // rounding up gives 3 windows but the third would start in the right padding.
  EXPECT_EQ(window_output_size(6, 3, 2, 1, 1, true), 4);
  EXPECT_EQ(window_output_size(6, 3, 2, 1, 1, false), 3);
  EXPECT_EQ(window_output_size(3, 2, 2, 1, 1, true), 2);
  EXPECT_EQ(window_output_size(3, 5, 1, 0, 1, false), -1);
}

TEST(Pool2dWindowMath, CoveringOutputsMatchBruteForce) {
  for (std::int64_t in_size = 1; in_size <= 9; ++in_size) {
    for (std::int64_t k = 1; k <= 4; ++k) {
      for (std::int64_t stride = 1; stride <= 3; ++stride) {
        for (std::int64_t pad = 0; pad <= k / 2; ++pad) {
          const std::int64_t out_size = window_output_size(in_size, k, stride, pad, 1, true);
          for (std::int64_t i = 0; i < in_size; ++i) {
            std::vector<std::int64_t> expected, got;
            for (std::int64_t o = 0; o < out_size; ++o) {
              if (o * stride - pad <= i && i < o * stride - pad + k) expected.push_back(o);
            }
            const IndexRange range = covering_outputs(i, k, stride, pad, out_size);
            for (std::int64_t o = range.begin; o < range.end; ++o) got.push_back(o);
            EXPECT_EQ(got, expected) << "in " << i << "/" << in_size << " k " << k << " s " << stride << " p " << pad;
          }
        }
      }
    }
  }
  for (std::int64_t in_size = 1; in_size <= 9; ++in_size) {
    for (std::int64_t out_size = 1; out_size <= 11; ++out_size) {
      for (std::int64_t i = 0; i < in_size; ++i) {
        std::vector<std::int64_t> expected, got;
        for (std::int64_t o = 0; o < out_size; ++o) {
          const IndexRange window = adaptive_window(o, in_size, out_size);
          if (window.begin <= i && i < window.end) expected.push_back(o);
        }
        const IndexRange range = adaptive_covering_outputs(i, in_size, out_size);
        for (std::int64_t o = range.begin; o < range.end; ++o) got.push_back(o);
        EXPECT_EQ(got, expected) << "adaptive in " << i << "/" << in_size << " out " << out_size;
      }
    }
  }
}

}  // namespace
}  // namespace redes
