// conv1d, conv_transpose2d and adaptive_max_pool2d, with their layers:
// forward against direct-loop references written from the definitions,
// gradients against finite differences, conv_transpose2d against conv2d's
// input gradient, and argument errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <utility>

#include "support/forced_impl.h"
#include "support/test_support.h"

namespace redes {
namespace {

using testing::all_close;
using testing::expect_error;
using testing::gradcheck;
using testing::host_values;
using Pair = std::array<std::int64_t, 2>;

std::size_t at(std::int64_t i) { return static_cast<std::size_t>(i); }

// out[n, k, o] = bias[k] + sum over the group's channels c and taps t of
// in[n, c, o*stride - padding + t*dilation] * weight[k, c, t], zeros outside.
std::vector<double> reference_conv1d(const std::vector<double>& in, const Shape& in_shape,
                                     const std::vector<double>& weight, const Shape& weight_shape,
                                     const std::vector<double>& bias, const Conv1dOptions& o) {
  const std::int64_t batch = in_shape[0], channels = in_shape[1], length = in_shape[2];
  const std::int64_t out_channels = weight_shape[0], group_in = weight_shape[1], taps = weight_shape[2];
  const std::int64_t group_out = out_channels / o.groups;
  const std::int64_t out_length = (length + 2 * o.padding - o.dilation * (taps - 1) - 1) / o.stride + 1;
  std::vector<double> out;
  for (std::int64_t n = 0; n < batch; ++n) {
    for (std::int64_t k = 0; k < out_channels; ++k) {
      for (std::int64_t ol = 0; ol < out_length; ++ol) {
        double total = bias.empty() ? 0.0 : bias[at(k)];
        for (std::int64_t c = 0; c < group_in; ++c) {
          const std::int64_t channel = k / group_out * group_in + c;
          for (std::int64_t t = 0; t < taps; ++t) {
            const std::int64_t l = ol * o.stride - o.padding + t * o.dilation;
            if (l < 0 || l >= length) continue;
            total += in[at((n * channels + channel) * length + l)] * weight[at((k * group_in + c) * taps + t)];
          }
        }
        out.push_back(total);
      }
    }
  }
  return out;
}

std::int64_t transposed_size(std::int64_t in, std::int64_t kernel, std::int64_t stride, std::int64_t padding,
                             std::int64_t dilation, std::int64_t output_padding) {
  return (in - 1) * stride - 2 * padding + dilation * (kernel - 1) + output_padding + 1;
}

// The transposed convolution as a scatter: each input element x[n, c, h, w]
// adds x * weight[c, k, i, j] to out[n, g*K/groups + k, h*stride - padding +
// i*dilation, w*stride - padding + j*dilation] (where that lies inside), for
// the output channels k of c's group g; then the bias.
std::vector<double> reference_conv_transpose2d(const std::vector<double>& in, const Shape& in_shape,
                                               const std::vector<double>& weight, const Shape& weight_shape,
                                               const std::vector<double>& bias, const ConvTranspose2dOptions& o) {
  const std::int64_t batch = in_shape[0], channels = in_shape[1], height = in_shape[2], width = in_shape[3];
  const std::int64_t group_out = weight_shape[1], kh = weight_shape[2], kw = weight_shape[3];
  const std::int64_t out_channels = group_out * o.groups, group_in = channels / o.groups;
  const std::int64_t out_h = transposed_size(height, kh, o.stride[0], o.padding[0], o.dilation[0], o.output_padding[0]);
  const std::int64_t out_w = transposed_size(width, kw, o.stride[1], o.padding[1], o.dilation[1], o.output_padding[1]);
  std::vector<double> out(at(batch * out_channels * out_h * out_w), 0.0);
  for (std::int64_t n = 0; n < batch; ++n) {
    for (std::int64_t c = 0; c < channels; ++c) {
      for (std::int64_t h = 0; h < height; ++h) {
        for (std::int64_t w = 0; w < width; ++w) {
          const double x = in[at(((n * channels + c) * height + h) * width + w)];
          for (std::int64_t k = 0; k < group_out; ++k) {
            const std::int64_t out_c = c / group_in * group_out + k;
            for (std::int64_t i = 0; i < kh; ++i) {
              for (std::int64_t j = 0; j < kw; ++j) {
                const std::int64_t oh = h * o.stride[0] - o.padding[0] + i * o.dilation[0];
                const std::int64_t ow = w * o.stride[1] - o.padding[1] + j * o.dilation[1];
                if (oh < 0 || oh >= out_h || ow < 0 || ow >= out_w) continue;
                out[at(((n * out_channels + out_c) * out_h + oh) * out_w + ow)] +=
                    x * weight[at(((c * group_out + k) * kh + i) * kw + j)];
              }
            }
          }
        }
      }
    }
  }
  if (!bias.empty()) {
    for (std::size_t e = 0; e < out.size(); ++e) out[e] += bias[(e / at(out_h * out_w)) % at(out_channels)];
  }
  return out;
}

// PyTorch's adaptive bins, [floor(i n / out), ceil((i + 1) n / out)), in floating point.
std::pair<std::int64_t, std::int64_t> adaptive_bin(std::int64_t i, std::int64_t n, std::int64_t out) {
  const auto start = static_cast<std::int64_t>(std::floor(static_cast<double>(i * n) / static_cast<double>(out)));
  const auto end = static_cast<std::int64_t>(std::ceil(static_cast<double>((i + 1) * n) / static_cast<double>(out)));
  return {start, end};
}

// Adaptive max pooling: each bin's max and the plane position (h * W + w) of
// its first max in row-major order, NaN counting as the max.
std::pair<std::vector<double>, std::vector<std::int64_t>> reference_adaptive_max(const std::vector<double>& in,
                                                                                 const Shape& shape, Pair size) {
  std::vector<double> values;
  std::vector<std::int64_t> positions;
  const std::int64_t height = shape[2], width = shape[3];
  for (std::int64_t plane = 0; plane < shape[0] * shape[1]; ++plane) {
    for (std::int64_t oh = 0; oh < size[0]; ++oh) {
      for (std::int64_t ow = 0; ow < size[1]; ++ow) {
        const auto [h0, h1] = adaptive_bin(oh, height, size[0]);
        const auto [w0, w1] = adaptive_bin(ow, width, size[1]);
        double best = 0;
        std::int64_t where = -1;
        for (std::int64_t h = h0; h < h1; ++h) {
          for (std::int64_t w = w0; w < w1; ++w) {
            const double v = in[at((plane * height + h) * width + w)];
            if (where >= 0 && std::isnan(best)) continue;
            if (where < 0 || v > best || std::isnan(v)) {
              best = v;
              where = h * width + w;
            }
          }
        }
        values.push_back(best);
        positions.push_back(where);
      }
    }
  }
  return {values, positions};
}

class ConvVariantsTest : public ::testing::TestWithParam<Device> {
 protected:
  Tensor random(const Shape& shape, std::uint64_t seed, DType dtype = kFloat64) const {
    return testing::random_tensor(shape, seed, {dtype, GetParam()});
  }
  Tensor f32(const Shape& shape) const { return zeros(shape, {kFloat32, GetParam()}); }
};

// ---------------------------------------------------------------- conv1d

struct Conv1dCase {
  std::string name;
  Shape input, weight;
  bool bias;
  Conv1dOptions options;
};

std::vector<Conv1dCase> conv1d_cases() {
  return {
      {"batch 1, plain", {1, 1, 7}, {1, 1, 3}, false, {}},
      {"odd length, stride 2, padding 1", {2, 3, 11}, {4, 3, 3}, true, {.stride = 2, .padding = 1}},
      {"groups 2, dilation 2", {2, 4, 13}, {6, 2, 3}, true, {.padding = 2, .dilation = 2, .groups = 2}},
      {"depthwise", {3, 4, 9}, {4, 1, 5}, true, {.padding = 2, .groups = 4}},
      {"kernel 1, stride 3", {2, 5, 10}, {3, 5, 1}, false, {.stride = 3}},
      {"kernel as long as the padded input", {1, 2, 4}, {3, 2, 6}, true, {.padding = 1}},
  };
}

TEST_P(ConvVariantsTest, Conv1dMatchesDirectLoops) {
  REDES_REQUIRE_DEVICE(GetParam());
  std::uint64_t seed = 1;
  for (const Conv1dCase& c : conv1d_cases()) {
    for (DType dtype : {kFloat32, kFloat64}) {
      SCOPED_TRACE(c.name + " " + dtype_name(dtype));
      const Tensor x = random(c.input, seed++, dtype);
      const Tensor w = random(c.weight, seed++, dtype);
      const Tensor b = c.bias ? random({c.weight[0]}, seed++, dtype) : Tensor();
      const std::vector<double> expected = reference_conv1d(host_values(x), c.input, host_values(w), c.weight,
                                                            c.bias ? host_values(b) : std::vector<double>{}, c.options);
      const Tensor out = conv1d(x, w, b, c.options);
      const std::int64_t out_length =
          (c.input[2] + 2 * c.options.padding - c.options.dilation * (c.weight[2] - 1) - 1) / c.options.stride + 1;
      EXPECT_EQ(out.shape(), (Shape{c.input[0], c.weight[0], out_length}));
      const double tolerance = dtype == kFloat32 ? 1e-5 : 1e-13;
      EXPECT_TRUE(all_close(out, expected, tolerance, tolerance));
    }
  }
}

TEST_P(ConvVariantsTest, Conv1dNonContiguousOperands) {
  REDES_REQUIRE_DEVICE(GetParam());
  // (N, L, C) storage seen as (N, C, L), a weight seen through a transpose, a strided bias.
  const Tensor x = random({2, 9, 4}, 11).transpose(1, 2);
  ASSERT_FALSE(x.is_contiguous());
  const Tensor w = random({4, 6, 3}, 12).transpose(0, 1);  // (6, 4, 3)
  ASSERT_FALSE(w.is_contiguous());
  const Tensor b = random({12}, 13).slice(0, 0, 12, 2);
  const Conv1dOptions options{.stride = 2, .padding = 1};
  const std::vector<double> expected =
      reference_conv1d(host_values(x), x.shape(), host_values(w), w.shape(), host_values(b), options);
  EXPECT_TRUE(all_close(conv1d(x, w, b, options), expected, 1e-13, 1e-13));
}

TEST_P(ConvVariantsTest, Conv1dGradientsOfInputWeightAndBias) {
  REDES_REQUIRE_DEVICE(GetParam());
  std::uint64_t seed = 100;
  for (const Conv1dCase& c : conv1d_cases()) {
    SCOPED_TRACE(c.name);
    const Tensor x = random(c.input, seed++);
    const Tensor w = random(c.weight, seed++);
    const Conv1dOptions options = c.options;
    if (c.bias) {
      EXPECT_TRUE(gradcheck([&](const std::vector<Tensor>& in) { return conv1d(in[0], in[1], in[2], options); },
                            {x, w, random({c.weight[0]}, seed++)}));
    } else {
      EXPECT_TRUE(gradcheck([&](const std::vector<Tensor>& in) { return conv1d(in[0], in[1], Tensor(), options); },
                            {x, w}));
    }
  }
  // d sum(out) / d bias[k] counts the output positions: N * OL = 2 * 6.
  Tensor b = random({4}, 190).requires_grad_(true);
  conv1d(random({2, 3, 11}, 191), random({4, 3, 3}, 192), b, {.stride = 2, .padding = 1}).sum().backward();
  EXPECT_TRUE(all_close(b.grad(), {12, 12, 12, 12}, 0, 0));
}

TEST_P(ConvVariantsTest, Conv1dArgumentErrors) {
  REDES_REQUIRE_DEVICE(GetParam());
  const Tensor x = f32({2, 3, 8});
  const Tensor w = f32({4, 3, 3});
  expect_error([&] { conv1d(f32({2, 3, 8, 1}), w); }, "conv1d: expected a 3-D input (N, C, L), got shape (2, 3, 8, 1)");
  expect_error([&] { conv1d(x, f32({4, 3, 3, 3})); },
               "conv1d: expected a 3-D weight (out_channels, in_channels/groups, kernel_size), got shape (4, 3, 3, 3)");
  expect_error([&] { conv1d(x, f32({4, 2, 3})); },
               "conv1d: input has 3 channels, weight expects 2 (in_channels/groups = 2, groups = 1)");
  expect_error([&] { conv1d(x, f32({4, 1, 3}), Tensor(), {.groups = 2}); },
               "conv1d: groups = 2 does not divide the input's 3 channels");
  expect_error([&] { conv1d(x, w, Tensor(), {.stride = 0}); },
               "conv1d: expected positive stride and dilation, got stride 0 and dilation 1");
  expect_error([&] { conv1d(x, w, Tensor(), {.padding = -1}); }, "conv1d: expected non-negative padding, got -1");
  expect_error([&] { conv1d(x, w, Tensor(), {.groups = 0}); }, "conv1d: expected groups > 0, got 0");
  expect_error([&] { conv1d(x, f32({4, 3, 9})); },
               "conv1d: the kernel 9 with dilation 1 spans 9, larger than the padded input 8 (input 8, padding 0)");
  expect_error([&] { conv1d(x, w, f32({3})); }, "conv1d: expected a bias of shape (4,) (one per output channel), got (3,)");
  expect_error([&] { conv1d(x, zeros({4, 3, 3}, {kFloat64, GetParam()})); },
               "conv1d: the weight is float64, the input float32");
  expect_error([&] { conv1d(Tensor(), w); }, "conv1d: the input is an undefined tensor");
  expect_error([&] { conv1d(x, Tensor()); }, "conv1d: the weight is an undefined tensor");
}

// ------------------------------------------------------- conv_transpose2d

struct TransposeCase {
  std::string name;
  Shape input, weight;  // weight (C, K / groups, kh, kw)
  bool bias;
  ConvTranspose2dOptions options;
};

std::vector<TransposeCase> transpose_cases() {
  return {
      {"batch 1, plain 3x3", {1, 1, 4, 4}, {1, 1, 3, 3}, false, {}},
      {"odd sizes, stride 2, padding 1, output_padding 1",
       {2, 3, 5, 7},
       {3, 4, 3, 3},
       true,
       {.stride = 2, .padding = 1, .output_padding = 1}},
      {"groups 2, mixed stride and padding",
       {2, 4, 5, 4},
       {4, 3, 3, 2},
       true,
       {.stride = {2, 1}, .padding = {1, 0}, .output_padding = {1, 0}, .groups = 2}},
      {"dilation 2", {1, 2, 6, 5}, {2, 3, 3, 3}, true, {.padding = {2, 1}, .dilation = 2}},
      // output_padding >= stride, allowed since it stays below the dilation.
      {"stride 1, dilation 2, output_padding 1", {2, 2, 4, 5}, {2, 2, 2, 3}, true,
       {.output_padding = 1, .dilation = 2}},
      {"stride 2, dilation 3, output_padding 2 and 0",
       {1, 2, 3, 4},
       {2, 3, 3, 2},
       false,
       {.stride = 2, .padding = {1, 0}, .output_padding = {2, 0}, .dilation = 3}},
      {"depthwise", {2, 3, 4, 4}, {3, 1, 3, 3}, true, {.stride = 2, .padding = 1, .groups = 3}},
      {"1x1, stride 2, output_padding 1", {2, 3, 3, 4}, {3, 5, 1, 1}, true, {.stride = 2, .output_padding = 1}},
      {"padding eats most of the output", {1, 2, 3, 3}, {2, 2, 3, 3}, false, {.padding = 2}},
  };
}

Shape transpose_output_shape(const TransposeCase& c) {
  const ConvTranspose2dOptions& o = c.options;
  return {c.input[0], c.weight[1] * o.groups,
          transposed_size(c.input[2], c.weight[2], o.stride[0], o.padding[0], o.dilation[0], o.output_padding[0]),
          transposed_size(c.input[3], c.weight[3], o.stride[1], o.padding[1], o.dilation[1], o.output_padding[1])};
}

TEST_P(ConvVariantsTest, ConvTranspose2dMatchesDirectLoops) {
  REDES_REQUIRE_DEVICE(GetParam());
  std::uint64_t seed = 200;
  for (const TransposeCase& c : transpose_cases()) {
    for (DType dtype : {kFloat32, kFloat64}) {
      SCOPED_TRACE(c.name + " " + dtype_name(dtype));
      const Tensor x = random(c.input, seed++, dtype);
      const Tensor w = random(c.weight, seed++, dtype);
      const Tensor b = c.bias ? random({c.weight[1] * c.options.groups}, seed++, dtype) : Tensor();
      const std::vector<double> expected = reference_conv_transpose2d(
          host_values(x), c.input, host_values(w), c.weight, c.bias ? host_values(b) : std::vector<double>{}, c.options);
      const Tensor out = conv_transpose2d(x, w, b, c.options);
      EXPECT_EQ(out.shape(), transpose_output_shape(c));
      const double tolerance = dtype == kFloat32 ? 1e-5 : 1e-13;
      EXPECT_TRUE(all_close(out, expected, tolerance, tolerance));
    }
  }
}

TEST_P(ConvVariantsTest, ConvTranspose2dOutputShapeFollowsTheFormula) {
  REDES_REQUIRE_DEVICE(GetParam());
  const Tensor x = f32({2, 8, 7, 7});
  // Upsampling by 2: (7 - 1) * 2 - 2 * 1 + (3 - 1) + 1 + 1 = 14 with output_padding 1, and kernel 4 without.
  EXPECT_EQ(conv_transpose2d(x, f32({8, 4, 3, 3}), Tensor(), {.stride = 2, .padding = 1, .output_padding = 1}).shape(),
            (Shape{2, 4, 14, 14}));
  EXPECT_EQ(conv_transpose2d(x, f32({8, 4, 4, 4}), Tensor(), {.stride = 2, .padding = 1}).shape(), (Shape{2, 4, 14, 14}));
  EXPECT_EQ(conv_transpose2d(x, f32({8, 3, 3, 2}), Tensor(), {.stride = {3, 1}, .dilation = {1, 2}, .groups = 2}).shape(),
            (Shape{2, 6, 21, 9}));
}

TEST_P(ConvVariantsTest, ConvTranspose2dNonContiguousOperands) {
  REDES_REQUIRE_DEVICE(GetParam());
  const Tensor x = random({2, 5, 6, 4}, 21).permute({0, 3, 1, 2});  // (2, 4, 5, 6) from NHWC storage
  ASSERT_FALSE(x.is_contiguous());
  const Tensor w = random({3, 4, 3, 2}, 22).transpose(0, 1);  // (4, 3, 3, 2)
  ASSERT_FALSE(w.is_contiguous());
  const Tensor b = random({6}, 23).slice(0, 0, 6, 2);
  const ConvTranspose2dOptions options{.stride = 2, .padding = {1, 0}, .output_padding = {1, 1}};
  const std::vector<double> expected =
      reference_conv_transpose2d(host_values(x), x.shape(), host_values(w), w.shape(), host_values(b), options);
  EXPECT_TRUE(all_close(conv_transpose2d(x, w, b, options), expected, 1e-13, 1e-13));
}

// A transposed convolution is the input gradient of the convolution with the
// same weight and options: for conv2d(z, w) with output gradient y,
// d/dz sum(conv2d(z, w) * y) = conv_transpose2d(y, w), output_padding picking
// z's size among those that convolve to y's.
TEST_P(ConvVariantsTest, ConvTranspose2dIsTheInputGradientOfConv2d) {
  REDES_REQUIRE_DEVICE(GetParam());
  struct Case {
    Shape z, weight;  // weight (K, C / groups, kh, kw) for conv2d; (C_in, C_out / groups, ...) for the transpose
    Conv2dOptions conv;
  };
  const std::vector<Case> cases = {
      {{2, 3, 9, 8}, {4, 3, 3, 3}, {.stride = 2, .padding = 1}},
      {{1, 4, 10, 7}, {6, 2, 3, 2}, {.stride = {3, 2}, .padding = {1, 1}, .dilation = {2, 1}, .groups = 2}},
      {{2, 2, 8, 8}, {2, 2, 2, 2}, {.dilation = 3}},
      {{1, 3, 6, 9}, {3, 1, 1, 3}, {.stride = {2, 3}, .groups = 3}},
  };
  std::uint64_t seed = 300;
  for (const Case& c : cases) {
    SCOPED_TRACE(shape_str(c.z) + " " + shape_str(c.weight));
    Tensor z = random(c.z, seed++).requires_grad_(true);
    const Tensor w = random(c.weight, seed++);
    const Tensor out = conv2d(z, w, Tensor(), c.conv);
    const Tensor y = random(out.shape(), seed++);
    (out * y).sum().backward();
    ConvTranspose2dOptions options{.stride = c.conv.stride, .padding = c.conv.padding, .dilation = c.conv.dilation,
                                   .groups = c.conv.groups};
    for (std::size_t d = 0; d < 2; ++d) {
      options.output_padding[d] = (c.z[d + 2] + 2 * c.conv.padding[d] - c.conv.dilation[d] * (c.weight[d + 2] - 1) - 1) %
                                  c.conv.stride[d];
    }
    const Tensor transposed = conv_transpose2d(y, w, Tensor(), options);
    EXPECT_EQ(transposed.shape(), z.shape());
    EXPECT_TRUE(all_close(transposed, z.grad(), 1e-13, 1e-13));
  }
}

TEST_P(ConvVariantsTest, ConvTranspose2dGradientsOfInputWeightAndBias) {
  REDES_REQUIRE_DEVICE(GetParam());
  std::uint64_t seed = 400;
  for (const TransposeCase& c : transpose_cases()) {
    SCOPED_TRACE(c.name);
    const Tensor x = random(c.input, seed++);
    const Tensor w = random(c.weight, seed++);
    const ConvTranspose2dOptions options = c.options;
    if (c.bias) {
      EXPECT_TRUE(gradcheck(
          [&](const std::vector<Tensor>& in) { return conv_transpose2d(in[0], in[1], in[2], options); },
          {x, w, random({c.weight[1] * options.groups}, seed++)}));
    } else {
      EXPECT_TRUE(gradcheck(
          [&](const std::vector<Tensor>& in) { return conv_transpose2d(in[0], in[1], Tensor(), options); }, {x, w}));
    }
  }
}

TEST_P(ConvVariantsTest, ConvTranspose2dOnlyInputsThatRequireGradAndEmptyBatch) {
  REDES_REQUIRE_DEVICE(GetParam());
  Tensor x = random({2, 2, 3, 3}, 31).requires_grad_(true);
  const Tensor w = random({2, 3, 3, 3}, 32);
  Tensor b = random({3}, 33).requires_grad_(true);
  // Output (2, 3, 6, 6): d sum(out) / d bias[k] = N * OH * OW = 72.
  const Tensor out6 = conv_transpose2d(x, w, b, {.stride = 2, .padding = 1, .output_padding = 1});
  EXPECT_EQ(out6.shape(), (Shape{2, 3, 6, 6}));
  out6.sum().backward();
  EXPECT_TRUE(all_close(b.grad(), {72, 72, 72}, 0, 0));
  ASSERT_TRUE(x.grad().defined());
  EXPECT_FALSE(w.grad().defined());

  Tensor empty_x = zeros({0, 2, 3, 3}, {kFloat64, GetParam()}).requires_grad_(true);
  Tensor wg = w.clone().requires_grad_(true);
  const Tensor out = conv_transpose2d(empty_x, wg, Tensor(), {.stride = 2});
  EXPECT_EQ(out.shape(), (Shape{0, 3, 7, 7}));
  out.sum().backward();
  EXPECT_EQ(empty_x.grad().shape(), (Shape{0, 2, 3, 3}));
  EXPECT_TRUE(all_close(wg.grad(), std::vector<double>(54, 0.0), 0, 0));
}

TEST_P(ConvVariantsTest, ConvTranspose2dArgumentErrors) {
  REDES_REQUIRE_DEVICE(GetParam());
  const Tensor x = f32({2, 4, 5, 5});
  const Tensor w = f32({4, 3, 3, 3});
  expect_error([&] { conv_transpose2d(x, w, Tensor(), {.stride = 2, .output_padding = 2}); },
               "conv_transpose2d: expected 0 <= output_padding < max(stride, dilation) on each side, got "
               "output_padding (2, 2) with stride (2, 2) and dilation (1, 1)");
  expect_error([&] { conv_transpose2d(x, w, Tensor(), {.output_padding = {0, 1}}); },
               "got output_padding (0, 1) with stride (1, 1) and dilation (1, 1)");
  expect_error([&] { conv_transpose2d(x, w, Tensor(), {.output_padding = {-1, 0}}); },
               "expected 0 <= output_padding < max(stride, dilation)");
  expect_error([&] { conv_transpose2d(x, f32({3, 3, 3, 3})); },
               "conv_transpose2d: input has 4 channels, weight expects 3 (the weight is (in_channels, "
               "out_channels/groups, kernel_h, kernel_w))");
  expect_error([&] { conv_transpose2d(x, w, Tensor(), {.groups = 3}); },
               "conv_transpose2d: groups = 3 does not divide the input's 4 channels");
  expect_error([&] { conv_transpose2d(x, w, Tensor(), {.groups = 0}); }, "conv_transpose2d: expected groups > 0");
  expect_error([&] { conv_transpose2d(x, w, Tensor(), {.stride = {0, 1}}); },
               "conv_transpose2d: expected positive stride and dilation, got stride (0, 1) and dilation (1, 1)");
  expect_error([&] { conv_transpose2d(x, w, Tensor(), {.padding = {0, -2}}); },
               "conv_transpose2d: expected non-negative padding, got (0, -2)");
  // groups 2: the output has 3 * 2 channels.
  expect_error([&] { conv_transpose2d(x, w, f32({3}), {.groups = 2}); },
               "conv_transpose2d: expected a bias of shape (6,) (one per output channel), got (3,)");
  expect_error([&] { conv_transpose2d(x, w, Tensor(), {.padding = 4}); },
               "conv_transpose2d: the output would be -1x-1 (input 5x5, kernel 3x3, stride (1, 1), padding (4, 4)");
  expect_error([&] { conv_transpose2d(f32({2, 4, 5}), w); },
               "conv_transpose2d: expected a 4-D input (N, C, H, W), got shape (2, 4, 5)");
  expect_error([&] { conv_transpose2d(x, f32({4, 3, 3})); },
               "conv_transpose2d: expected a 4-D weight (in_channels, out_channels/groups, kernel_h, kernel_w)");
  expect_error([&] { conv_transpose2d(x, f32({4, 0, 3, 3})); }, "conv_transpose2d: expected a weight with no empty dim");
  expect_error([&] { conv_transpose2d(f32({2, 4, 0, 5}), w); }, "conv_transpose2d: expected non-empty (H, W) planes");
  expect_error([&] { conv_transpose2d(x, zeros({4, 3, 3, 3}, {kFloat64, GetParam()})); },
               "conv_transpose2d: the weight is float64, the input float32");
  expect_error([&] { conv_transpose2d(zeros({2, 4, 5, 5}, {kInt64, GetParam()}), w); },
               "conv_transpose2d: expected a floating-point input, got int64");
  expect_error([&] { conv_transpose2d(Tensor(), w); }, "conv_transpose2d: the input is an undefined tensor");
}

// ---------------------------------------------------- adaptive_max_pool2d

struct AdaptiveCase {
  Shape input;
  Pair size;
};

std::vector<AdaptiveCase> adaptive_cases() {
  return {
      {{2, 3, 8, 6}, {4, 3}},  // divides: max_pool2d
      {{2, 3, 7, 5}, {3, 2}},  // does not divide: overlapping bins
      {{1, 2, 8, 7}, {4, 3}},  // divides along H only
      {{1, 2, 5, 9}, {2, 3}},  // divides along W only
      {{1, 1, 3, 2}, {5, 4}},  // larger than the input: bins repeat inputs
      {{2, 2, 7, 5}, {1, 1}},  // global max
      {{1, 2, 4, 4}, {4, 4}},  // identity
      {{1, 1, 10, 10}, {7, 7}},
  };
}

std::string case_name(const AdaptiveCase& c) {
  return shape_str(c.input) + " -> " + std::to_string(c.size[0]) + "x" + std::to_string(c.size[1]);
}

TEST_P(ConvVariantsTest, AdaptiveMaxPool2dMatchesReference) {
  REDES_REQUIRE_DEVICE(GetParam());
  std::uint64_t seed = 500;
  for (const AdaptiveCase& c : adaptive_cases()) {
    for (DType dtype : {kFloat32, kFloat64}) {
      SCOPED_TRACE(case_name(c) + " " + dtype_name(dtype));
      const Tensor x = random(c.input, seed++, dtype);
      const Tensor out = adaptive_max_pool2d(x, c.size);
      EXPECT_EQ(out.shape(), (Shape{c.input[0], c.input[1], c.size[0], c.size[1]}));
      EXPECT_EQ(out.dtype(), dtype);
      // A max selects an input: exact.
      EXPECT_TRUE(all_close(out, reference_adaptive_max(host_values(x), c.input, c.size).first, 0, 0));
    }
  }
  // Non-contiguous: W and H swapped in storage.
  const Tensor x = random({2, 3, 5, 7}, 590).permute({0, 1, 3, 2});  // (2, 3, 7, 5)
  ASSERT_FALSE(x.is_contiguous());
  EXPECT_TRUE(all_close(adaptive_max_pool2d(x, {3, 2}), reference_adaptive_max(host_values(x), x.shape(), {3, 2}).first,
                        0, 0));
  EXPECT_TRUE(all_close(adaptive_max_pool2d(x, {7, 1}), reference_adaptive_max(host_values(x), x.shape(), {7, 1}).first,
                        0, 0));
  // An empty batch gives an empty output.
  EXPECT_EQ(adaptive_max_pool2d(zeros({0, 2, 5, 5}, {kFloat32, GetParam()}), {3, 2}).shape(), (Shape{0, 2, 3, 2}));
}

TEST_P(ConvVariantsTest, AdaptiveMaxPool2dNaNIsTheMax) {
  REDES_REQUIRE_DEVICE(GetParam());
  std::vector<double> v(35);
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<double>(i);
  v[8] = std::numeric_limits<double>::quiet_NaN();  // (1, 3): in bin (0, 1) only of 3x2 over 7x5
  const Tensor x = from_vector(v, {1, 1, 7, 5}, {kFloat64, GetParam()});
  const std::vector<double> got = host_values(adaptive_max_pool2d(x, {3, 2}));
  const std::vector<double> expected = reference_adaptive_max(v, {1, 1, 7, 5}, {3, 2}).first;
  ASSERT_EQ(got.size(), 6u);
  for (std::size_t i = 0; i < got.size(); ++i) {
    if (std::isnan(expected[i])) {
      EXPECT_TRUE(std::isnan(got[i])) << i;
    } else {
      EXPECT_EQ(got[i], expected[i]) << i;
    }
  }
  EXPECT_TRUE(std::isnan(got[1]));
}

TEST_P(ConvVariantsTest, AdaptiveMaxPool2dGradients) {
  REDES_REQUIRE_DEVICE(GetParam());
  std::uint64_t seed = 600;
  for (const AdaptiveCase& c : adaptive_cases()) {
    SCOPED_TRACE(case_name(c));
    const Pair size = c.size;
    EXPECT_TRUE(
        gradcheck([size](const std::vector<Tensor>& in) { return adaptive_max_pool2d(in[0], size); },
                  {random(c.input, seed++)}));
  }
}

// With ties (values from {0, 1, 2}, so a bin's max recurs across rows and
// columns) each bin's gradient goes to its first max in row-major order,
// summed where bins overlap, as PyTorch's kernel does.
TEST_P(ConvVariantsTest, AdaptiveMaxPool2dGradientGoesToTheFirstMaxOfEachBin) {
  REDES_REQUIRE_DEVICE(GetParam());
  for (const AdaptiveCase& c : adaptive_cases()) {
    SCOPED_TRACE(case_name(c));
    std::vector<double> v(at(c.input[0] * c.input[1] * c.input[2] * c.input[3]));
    for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<double>((i * 5 + i / 4) % 3);
    Tensor x = from_vector(v, c.input, {kFloat64, GetParam()}).requires_grad_(true);
    const Tensor out = adaptive_max_pool2d(x, c.size);
    const Tensor weights = arange(out.numel(), {kFloat64, GetParam()}).reshape(out.shape()) + 1.0;
    (out * weights).sum().backward();
    const std::int64_t plane = c.input[2] * c.input[3], bins = c.size[0] * c.size[1];
    const std::vector<std::int64_t> positions =
        reference_adaptive_max(host_values(x), c.input, c.size).second;
    std::vector<double> expected(at(x.numel()), 0.0);
    for (std::size_t i = 0; i < positions.size(); ++i) {
      const std::int64_t p = static_cast<std::int64_t>(i) / bins;
      expected[at(p * plane + positions[i])] += static_cast<double>(i + 1);
    }
    EXPECT_TRUE(all_close(x.grad(), expected, 0, 0));
  }
}

TEST_P(ConvVariantsTest, AdaptiveMaxPool2dArgumentErrors) {
  REDES_REQUIRE_DEVICE(GetParam());
  const Tensor x = f32({1, 2, 5, 5});
  expect_error([&] { adaptive_max_pool2d(x, {0, 2}); },
               "adaptive_max_pool2d: expected a positive output size, got (0, 2)");
  expect_error([&] { adaptive_max_pool2d(f32({2, 5, 5}), {2, 2}); },
               "adaptive_max_pool2d: expected a 4-D input (N, C, H, W), got shape (2, 5, 5)");
  expect_error([&] { adaptive_max_pool2d(zeros({1, 1, 4, 4}, {kInt64, GetParam()}), {2, 2}); },
               "adaptive_max_pool2d: expected a floating-point input, got int64");
  expect_error([&] { adaptive_max_pool2d(f32({1, 1, 0, 4}), {1, 1}); },
               "adaptive_max_pool2d: expected non-empty (H, W) planes");
  expect_error([&] { adaptive_max_pool2d(Tensor(), {2, 2}); }, "adaptive_max_pool2d: the input is an undefined tensor");
}

REDES_INSTANTIATE_FOR_DEVICES(ConvVariantsTest);

// Output and gradients of `f` at (x, w, b) for the output gradient
// grad_out (b may be undefined).
std::vector<Tensor> forward_backward(const std::function<Tensor(const Tensor&, const Tensor&, const Tensor&)>& f,
                                     const Tensor& x, const Tensor& w, const Tensor& b, const Tensor& grad_out) {
  Tensor xg = x.clone().requires_grad_(true), wg = w.clone().requires_grad_(true);
  Tensor bg = b.defined() ? b.clone().requires_grad_(true) : Tensor();
  const Tensor out = f(xg, wg, bg);
  (out * grad_out).sum().backward();
  return {out, xg.grad(), wg.grad(), bg.defined() ? bg.grad() : Tensor()};
}

struct ImplCase {
  std::string name;
  std::function<Tensor(const Tensor&, const Tensor&, const Tensor&)> f;
  Shape input, weight, bias;
};

// Every case of conv1d and conv_transpose2d above, as calls of (x, w, b).
std::vector<ImplCase> implementation_cases() {
  std::vector<ImplCase> cases;
  for (const Conv1dCase& c : conv1d_cases()) {
    const Conv1dOptions options = c.options;
    cases.push_back({"conv1d " + c.name,
                     [options](const Tensor& x, const Tensor& w, const Tensor& b) { return conv1d(x, w, b, options); },
                     c.input, c.weight, c.bias ? Shape{c.weight[0]} : Shape{}});
  }
  for (const TransposeCase& c : transpose_cases()) {
    const ConvTranspose2dOptions options = c.options;
    cases.push_back({"conv_transpose2d " + c.name,
                     [options](const Tensor& x, const Tensor& w, const Tensor& b) {
                       return conv_transpose2d(x, w, b, options);
                     },
                     c.input, c.weight, c.bias ? Shape{c.weight[1] * options.groups} : Shape{}});
  }
  return cases;
}

// The two ops run every conv2d kernel: each implementation, forced in turn
// for the three conv2d registry ops, gives the same outputs and gradients.
TEST(ConvVariantImplementations, EachConv2dImplementationServesConv1dAndConvTranspose2d) {
  std::vector<std::pair<Device, std::string>> implementations{{Device::cpu(), "cpu.blas"}};
  if (build_info().onednn) implementations.emplace_back(Device::cpu(), "onednn");
  if (build_info().cuda && !testing::unusable_reason(Device::cuda(0))) {
    for (const std::string& name : testing::cuda_conv2d_implementations()) implementations.emplace_back(Device::cuda(0), name);
  }
  std::uint64_t seed = 700;
  for (const ImplCase& c : implementation_cases()) {
    for (DType dtype : {kFloat32, kFloat64}) {
      SCOPED_TRACE(c.name + " " + dtype_name(dtype));
      const Tensor x = testing::random_tensor(c.input, seed++, {dtype});
      const Tensor w = testing::random_tensor(c.weight, seed++, {dtype});
      const Tensor b = c.bias.empty() ? Tensor() : testing::random_tensor(c.bias, seed++, {dtype});
      Tensor grad_out;
      {
        NoGradGuard no_grad;
        grad_out = testing::random_tensor(c.f(x, w, b).shape(), seed++, {dtype});
      }
      std::vector<Tensor> first;
      for (const auto& [device, name] : implementations) {
        if (name == "onednn" && dtype != kFloat32) continue;  // oneDNN serves float32 only
        SCOPED_TRACE(name);
        testing::ForcedImpl forced({"conv2d_forward", "conv2d_backward_input", "conv2d_backward_weight"}, name);
        const std::vector<Tensor> results = forward_backward(c.f, x.to(device), w.to(device),
                                                             b.defined() ? b.to(device) : Tensor(), grad_out.to(device));
        if (first.empty()) {
          first = results;
          continue;
        }
        const double tolerance = dtype == kFloat32 ? 1e-4 : 1e-12;
        for (std::size_t i = 0; i < results.size(); ++i) {
          if (!first[i].defined()) continue;
          EXPECT_TRUE(all_close(results[i], first[i], tolerance, tolerance)) << "result " << i;
        }
      }
    }
  }
}

// ---------------------------------------------------------------- layers

std::vector<std::pair<std::string, Shape>> parameter_shapes(const nn::Module& module) {
  std::vector<std::pair<std::string, Shape>> result;
  for (const auto& [name, value] : module.named_parameters()) result.emplace_back(name, value.shape());
  return result;
}

double largest_magnitude(const Tensor& t) {
  double largest = 0;
  for (double v : host_values(t)) largest = std::max(largest, std::fabs(v));
  return largest;
}

TEST(ConvVariantLayers, Conv1dParametersInitialisationAndForward) {
  manual_seed(5);
  nn::Conv1d layer(4, 6, 5, {.stride = 2, .padding = 1, .groups = 2});
  EXPECT_EQ(parameter_shapes(layer), (std::vector<std::pair<std::string, Shape>>{{"weight", {6, 2, 5}}, {"bias", {6}}}));
  // PyTorch's bounds: 1/sqrt(fan_in), fan_in = in/groups * k = 10.
  const double bound = 1.0 / std::sqrt(10.0);
  EXPECT_LE(largest_magnitude(layer.weight()), bound);
  EXPECT_GT(largest_magnitude(layer.weight()), 0.8 * bound);
  EXPECT_LE(largest_magnitude(layer.bias()), bound);
  EXPECT_EQ(layer.str(), "Conv1d(4, 6, kernel_size=(5,), stride=(2,), padding=(1,), groups=2)");

  const Tensor x = testing::random_tensor({3, 4, 12}, 7);
  const Tensor out = layer(x);
  EXPECT_EQ(out.shape(), (Shape{3, 6, 5}));
  const std::vector<double> expected = reference_conv1d(host_values(x), x.shape(), host_values(layer.weight()),
                                                        layer.weight().shape(), host_values(layer.bias()),
                                                        {.stride = 2, .padding = 1, .groups = 2});
  EXPECT_TRUE(all_close(out, expected, 1e-5, 1e-5));

  nn::Conv1d no_bias(3, 2, 3, {}, false);
  EXPECT_EQ(parameter_shapes(no_bias), (std::vector<std::pair<std::string, Shape>>{{"weight", {2, 3, 3}}}));
  EXPECT_EQ(no_bias.str(), "Conv1d(3, 2, kernel_size=(3,), stride=(1,), bias=false)");
  expect_error([] { nn::Conv1d(6, 4, 3, {.groups = 4}); }, "Conv1d: groups=4 must divide in_channels=6 and out_channels=4");
  expect_error([] { nn::Conv1d(6, 4, 0); }, "Conv1d: expected positive channels, kernel size and groups");
}

TEST(ConvVariantLayers, ConvTranspose2dParametersInitialisationAndForward) {
  manual_seed(6);
  nn::ConvTranspose2d layer(4, 6, {3, 2}, {.stride = 2, .padding = 1, .output_padding = {1, 0}, .groups = 2});
  EXPECT_EQ(parameter_shapes(layer),
            (std::vector<std::pair<std::string, Shape>>{{"weight", {4, 3, 3, 2}}, {"bias", {6}}}));
  // PyTorch computes fan_in from the weight's dim 1: out/groups * kh * kw = 18.
  const double bound = 1.0 / std::sqrt(18.0);
  EXPECT_LE(largest_magnitude(layer.weight()), bound);
  EXPECT_GT(largest_magnitude(layer.weight()), 0.5 * bound);
  EXPECT_LE(largest_magnitude(layer.bias()), bound);
  EXPECT_EQ(layer.str(),
            "ConvTranspose2d(4, 6, kernel_size=(3, 2), stride=(2, 2), padding=(1, 1), output_padding=(1, 0), groups=2)");

  const Tensor x = testing::random_tensor({2, 4, 3, 5}, 8);
  const Tensor out = layer(x);
  EXPECT_EQ(out.shape(), (Shape{2, 6, 6, 8}));
  const std::vector<double> expected = reference_conv_transpose2d(
      host_values(x), x.shape(), host_values(layer.weight()), layer.weight().shape(),
      host_values(layer.bias()), {.stride = 2, .padding = 1, .output_padding = {1, 0}, .groups = 2});
  EXPECT_TRUE(all_close(out, expected, 1e-5, 1e-5));
  out.sum().backward();
  EXPECT_EQ(layer.weight().grad().shape(), (Shape{4, 3, 3, 2}));
  EXPECT_TRUE(all_close(layer.bias().grad(), std::vector<double>(6, 2.0 * 6 * 8), 0, 0));

  nn::ConvTranspose2d no_bias(2, 3, 4, {}, false);
  EXPECT_EQ(parameter_shapes(no_bias), (std::vector<std::pair<std::string, Shape>>{{"weight", {2, 3, 4, 4}}}));
  expect_error([] { nn::ConvTranspose2d(4, 6, 3, {.groups = 4}); },
               "ConvTranspose2d: groups=4 must divide in_channels=4 and out_channels=6");
}

TEST(ConvVariantLayers, AdaptiveMaxPool2d) {
  nn::AdaptiveMaxPool2d layer({2, 3});
  EXPECT_TRUE(layer.named_parameters().empty());
  EXPECT_EQ(layer.str(), "AdaptiveMaxPool2d(output_size=(2, 3))");
  const Tensor x = testing::random_tensor({2, 3, 5, 7}, 9);
  EXPECT_TRUE(all_close(layer(x), reference_adaptive_max(host_values(x), x.shape(), {2, 3}).first, 0, 0));
  nn::AdaptiveMaxPool2d square(4);
  EXPECT_EQ(square(x).shape(), (Shape{2, 3, 4, 4}));
}

}  // namespace
}  // namespace redes
