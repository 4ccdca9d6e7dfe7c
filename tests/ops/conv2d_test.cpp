// conv2d: forward against a direct-loop reference, gradients, the shared
// per-element bodies of the CUDA kernels, and argument errors.
#include <gtest/gtest.h>

#include <string>

#include "core/ops/fused.h"
#include "kernels/backend_status.h"
#include "kernels/conv2d_igemm_plan.h"
#include "kernels/conv_math.h"
#include "support/forced_impl.h"
#include "support/test_support.h"

namespace redes {
namespace {

using testing::all_close;
using testing::gradcheck;
using testing::host_values;

// Direct definition of conv2d on row-major host values, written from the
// formula (not from the kernels): out[n, k, oh, ow] = bias[k] + sum over the
// group's channels c and taps (i, j) of in[n, c, oh*s - p + i*d, ow*s - p + j*d]
// * weight[k, c, i, j], with zeros outside the input.
std::vector<double> reference_conv2d(const std::vector<double>& in, const Shape& in_shape,
                                     const std::vector<double>& weight, const Shape& weight_shape,
                                     const std::vector<double>& bias, const Conv2dOptions& o) {
  const std::int64_t batch = in_shape[0], channels = in_shape[1], height = in_shape[2], width = in_shape[3];
  const std::int64_t out_channels = weight_shape[0], group_in = weight_shape[1], kh = weight_shape[2],
                     kw = weight_shape[3];
  const std::int64_t group_out = out_channels / o.groups;
  const std::int64_t oh_count = (height + 2 * o.padding[0] - o.dilation[0] * (kh - 1) - 1) / o.stride[0] + 1;
  const std::int64_t ow_count = (width + 2 * o.padding[1] - o.dilation[1] * (kw - 1) - 1) / o.stride[1] + 1;
  std::vector<double> out;
  for (std::int64_t n = 0; n < batch; ++n) {
    for (std::int64_t k = 0; k < out_channels; ++k) {
      for (std::int64_t oh = 0; oh < oh_count; ++oh) {
        for (std::int64_t ow = 0; ow < ow_count; ++ow) {
          double total = bias.empty() ? 0.0 : bias[static_cast<std::size_t>(k)];
          for (std::int64_t c = 0; c < group_in; ++c) {
            const std::int64_t channel = k / group_out * group_in + c;
            for (std::int64_t i = 0; i < kh; ++i) {
              for (std::int64_t j = 0; j < kw; ++j) {
                const std::int64_t h = oh * o.stride[0] - o.padding[0] + i * o.dilation[0];
                const std::int64_t w = ow * o.stride[1] - o.padding[1] + j * o.dilation[1];
                if (h < 0 || h >= height || w < 0 || w >= width) continue;
                total += in[static_cast<std::size_t>(((n * channels + channel) * height + h) * width + w)] *
                         weight[static_cast<std::size_t>(((k * group_in + c) * kh + i) * kw + j)];
              }
            }
          }
          out.push_back(total);
        }
      }
    }
  }
  return out;
}

struct ConvCase {
  std::string name;
  Shape input;
  Shape weight;
  bool bias;
  Conv2dOptions options;
};

std::vector<ConvCase> forward_cases() {
  return {
      {"plain 3x3", {1, 1, 5, 5}, {1, 1, 3, 3}, false, {}},
      {"odd sizes, stride 2, padding 1", {2, 3, 7, 9}, {4, 3, 3, 3}, true, {.stride = {2, 2}, .padding = {1, 1}}},
      {"groups 2, mixed stride/dilation/padding",
       {2, 4, 9, 8},
       {6, 2, 3, 2},
       true,
       {.stride = {1, 2}, .padding = {2, 0}, .dilation = {2, 1}, .groups = 2}},
      {"depthwise", {2, 4, 6, 7}, {4, 1, 3, 3}, true, {.padding = {1, 1}, .groups = 4}},
      {"depthwise, channel multiplier 2", {1, 3, 5, 5}, {6, 1, 3, 3}, false, {.stride = {2, 1}, .groups = 3}},
      {"1x1", {3, 5, 4, 6}, {7, 5, 1, 1}, true, {}},
      {"1x1, stride 2", {2, 3, 5, 5}, {4, 3, 1, 1}, false, {.stride = {2, 2}}},
      {"1x1 with padding", {1, 2, 3, 3}, {2, 2, 1, 1}, true, {.padding = {1, 1}}},
      {"dilation 2", {1, 2, 11, 10}, {3, 2, 3, 3}, false, {.padding = {2, 1}, .dilation = {2, 2}}},
      {"tall kernel, batch 1", {1, 2, 4, 7}, {2, 2, 4, 1}, true, {.padding = {1, 0}}},
      {"kernel as large as the padded input", {2, 1, 3, 4}, {2, 1, 5, 4}, true, {.padding = {1, 0}}},
  };
}

class Conv2dTest : public ::testing::TestWithParam<Device> {
 protected:
  Tensor random(const Shape& shape, std::uint64_t seed, DType dtype) const {
    return testing::random_tensor(shape, seed, {dtype, GetParam()});
  }
};

TEST_P(Conv2dTest, ForwardMatchesDirectLoops) {
  REDES_REQUIRE_DEVICE(GetParam());
  std::uint64_t seed = 1;
  for (const ConvCase& c : forward_cases()) {
    for (DType dtype : {kFloat32, kFloat64}) {
      SCOPED_TRACE(c.name + " " + dtype_name(dtype));
      const Tensor x = random(c.input, seed++, dtype);
      const Tensor w = random(c.weight, seed++, dtype);
      const Tensor b = c.bias ? random({c.weight[0]}, seed++, dtype) : Tensor();
      const std::vector<double> expected = reference_conv2d(host_values(x), c.input, host_values(w), c.weight,
                                                            c.bias ? host_values(b) : std::vector<double>{}, c.options);
      const Tensor out = conv2d(x, w, b, c.options);
      ASSERT_EQ(out.dim(), 4);
      EXPECT_EQ(out.size(0), c.input[0]);
      EXPECT_EQ(out.size(1), c.weight[0]);
      const double tolerance = dtype == kFloat32 ? 1e-5 : 1e-13;
      EXPECT_TRUE(all_close(out, expected, tolerance, tolerance));
    }
  }
}

TEST_P(Conv2dTest, OutputShapeFollowsTheFormula) {
  REDES_REQUIRE_DEVICE(GetParam());
  const Tensor x = zeros({2, 3, 28, 28}, {kFloat32, GetParam()});
  EXPECT_EQ(conv2d(x, zeros({6, 3, 5, 5}, {kFloat32, GetParam()}), Tensor(), {.padding = {2, 2}}).shape(),
            (Shape{2, 6, 28, 28}));
  EXPECT_EQ(conv2d(x, zeros({4, 3, 3, 3}, {kFloat32, GetParam()}), Tensor(), {.stride = {2, 3}}).shape(),
            (Shape{2, 4, 13, 9}));
  EXPECT_EQ(conv2d(x, zeros({6, 1, 3, 3}, {kFloat32, GetParam()}), Tensor(), {.dilation = {3, 3}, .groups = 3})
                .shape(),
            (Shape{2, 6, 22, 22}));
}

TEST_P(Conv2dTest, EmptyBatchGivesEmptyOutputAndZeroGradients) {
  REDES_REQUIRE_DEVICE(GetParam());
  Tensor x = zeros({0, 3, 8, 8}, {kFloat64, GetParam()}).requires_grad_(true);
  Tensor w = random({4, 3, 3, 3}, 5, kFloat64).requires_grad_(true);
  Tensor b = random({4}, 6, kFloat64).requires_grad_(true);
  const Tensor out = conv2d(x, w, b);
  EXPECT_EQ(out.shape(), (Shape{0, 4, 6, 6}));
  out.sum().backward();
  EXPECT_EQ(x.grad().shape(), (Shape{0, 3, 8, 8}));
  EXPECT_TRUE(all_close(w.grad(), std::vector<double>(108, 0.0), 0, 0));
  EXPECT_TRUE(all_close(b.grad(), {0, 0, 0, 0}, 0, 0));
}

TEST_P(Conv2dTest, NonContiguousInputsMatchContiguousOnes) {
  REDES_REQUIRE_DEVICE(GetParam());
  // (N, H, W, C) storage seen as (N, C, H, W), and a weight seen through a transpose.
  const Tensor nhwc = random({2, 6, 7, 4}, 11, kFloat64);
  const Tensor x = nhwc.permute({0, 3, 1, 2});
  ASSERT_FALSE(x.is_contiguous());
  const Tensor w = random({4, 5, 2, 4}, 12, kFloat64).transpose(0, 1);  // (5, 4, 2, 4)
  ASSERT_FALSE(w.is_contiguous());
  const Tensor b = random({10}, 13, kFloat64).slice(0, 0, 10, 2);  // stride 2
  const Conv2dOptions options{.stride = {2, 1}, .padding = {1, 2}};
  const std::vector<double> expected =
      reference_conv2d(host_values(x), x.shape(), host_values(w), w.shape(), host_values(b), options);
  EXPECT_TRUE(all_close(conv2d(x, w, b, options), expected, 1e-13, 1e-13));
  EXPECT_TRUE(all_close(conv2d(x, w, b, options), conv2d(x.contiguous(), w.contiguous(), b.contiguous(), options),
                        0, 0));
}

TEST_P(Conv2dTest, GradientsOfInputWeightAndBias) {
  REDES_REQUIRE_DEVICE(GetParam());
  const std::vector<ConvCase> cases = {
      {"stride 2, padding 1", {2, 2, 5, 4}, {3, 2, 3, 2}, true, {.stride = {2, 2}, .padding = {1, 1}}},
      {"groups 2, dilation 2", {1, 4, 6, 6}, {4, 2, 2, 2}, true, {.padding = {1, 0}, .dilation = {2, 2}, .groups = 2}},
      {"depthwise", {2, 3, 4, 4}, {3, 1, 3, 3}, true, {.padding = {1, 1}, .groups = 3}},
      {"1x1", {2, 3, 3, 2}, {2, 3, 1, 1}, true, {}},
      {"1x1, stride 2, no bias", {1, 2, 5, 5}, {2, 2, 1, 1}, false, {.stride = {2, 2}}},
  };
  std::uint64_t seed = 100;
  for (const ConvCase& c : cases) {
    SCOPED_TRACE(c.name);
    const Tensor x = random(c.input, seed++, kFloat64);
    const Tensor w = random(c.weight, seed++, kFloat64);
    const Conv2dOptions options = c.options;
    if (c.bias) {
      const Tensor b = random({c.weight[0]}, seed++, kFloat64);
      EXPECT_TRUE(gradcheck([&](const std::vector<Tensor>& in) { return conv2d(in[0], in[1], in[2], options); },
                            {x, w, b}));
    } else {
      EXPECT_TRUE(gradcheck([&](const std::vector<Tensor>& in) { return conv2d(in[0], in[1], Tensor(), options); },
                            {x, w}));
    }
  }
}

TEST_P(Conv2dTest, Float32GradientsMatchFloat64) {
  REDES_REQUIRE_DEVICE(GetParam());
  const Conv2dOptions options{.stride = {2, 1}, .padding = {1, 1}, .groups = 2};
  // Values exactly representable in both dtypes, so only the arithmetic differs.
  const std::vector<Tensor> values = {random({3, 4, 9, 7}, 21, kFloat32), random({6, 2, 3, 3}, 22, kFloat32),
                                      random({6}, 23, kFloat32), random({3, 6, 5, 7}, 24, kFloat32)};
  std::vector<Tensor> grads[2];
  for (DType dtype : {kFloat64, kFloat32}) {
    Tensor x = values[0].to(dtype).requires_grad_(true);
    Tensor w = values[1].to(dtype).requires_grad_(true);
    Tensor b = values[2].to(dtype).requires_grad_(true);
    (conv2d(x, w, b, options) * values[3].to(dtype)).sum().backward();
    grads[dtype == kFloat32 ? 1 : 0] = {x.grad(), w.grad(), b.grad()};
  }
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(grads[1][i].dtype(), kFloat32);
    // Sums of up to N * OH * OW = 105 float32 products of values in [-1, 1).
    EXPECT_TRUE(all_close(grads[1][i], host_values(grads[0][i]), 1e-5, 1e-5)) << "gradient " << i;
  }
}

TEST_P(Conv2dTest, OnlyInputsThatRequireGradGetGradients) {
  REDES_REQUIRE_DEVICE(GetParam());
  Tensor x = random({2, 2, 4, 4}, 31, kFloat64).requires_grad_(true);
  const Tensor w = random({3, 2, 3, 3}, 32, kFloat64);
  Tensor b = random({3}, 33, kFloat64).requires_grad_(true);
  conv2d(x, w, b, {.padding = {1, 1}}).sum().backward();
  ASSERT_TRUE(x.grad().defined());
  ASSERT_TRUE(b.grad().defined());
  EXPECT_FALSE(w.grad().defined());
  // d sum(out) / d bias[k] counts the output positions: N * OH * OW = 32.
  EXPECT_TRUE(all_close(b.grad(), {32, 32, 32}, 0, 0));

  const Tensor frozen_x = random({2, 2, 4, 4}, 34, kFloat64);
  Tensor trained_w = w.clone().requires_grad_(true);
  conv2d(frozen_x, trained_w).sum().backward();
  EXPECT_TRUE(trained_w.grad().defined());
  EXPECT_FALSE(frozen_x.grad().defined());
}

using testing::expect_error;

TEST_P(Conv2dTest, ArgumentErrors) {
  REDES_REQUIRE_DEVICE(GetParam());
  const Device device = GetParam();
  const auto f32 = [&](const Shape& shape) { return zeros(shape, {kFloat32, device}); };
  const Tensor x = f32({2, 3, 8, 8});
  const Tensor w = f32({4, 3, 3, 3});
  expect_error([&] { conv2d(x, f32({4, 1, 3, 3})); },
               "conv2d: input has 3 channels, weight expects 1 (in_channels/groups = 1, groups = 1)");
  expect_error([&] { conv2d(f32({3, 8, 8}), w); }, "conv2d: expected a 4-D input (N, C, H, W), got shape");
  expect_error([&] { conv2d(x, f32({4, 3, 3})); }, "conv2d: expected a 4-D weight");
  expect_error([&] { conv2d(f32({2, 4, 8, 8}), f32({4, 2, 3, 3}), Tensor(), {.groups = 3}); },
               "groups = 3 does not divide the weight's 4 output channels");
  expect_error([&] { conv2d(x, f32({4, 1, 3, 3}), Tensor(), {.groups = 2}); },
               "groups = 2 does not divide the input's 3 channels");
  expect_error([&] { conv2d(x, w, Tensor(), {.groups = 0}); }, "expected groups > 0");
  expect_error([&] { conv2d(x, f32({4, 3, 9, 3})); }, "larger than the padded input 8x8");
  expect_error([&] { conv2d(x, w, Tensor(), {.dilation = {4, 1}}); }, "spans 9x3, larger than the padded input");
  expect_error([&] { conv2d(x, w, Tensor(), {.stride = {0, 1}}); }, "expected positive stride and dilation");
  expect_error([&] { conv2d(x, w, Tensor(), {.dilation = {1, -1}}); }, "expected positive stride and dilation");
  expect_error([&] { conv2d(x, w, Tensor(), {.padding = {-1, 0}}); }, "expected non-negative padding");
  expect_error([&] { conv2d(x, w, f32({5})); }, "expected a bias of shape (4,) (one per output channel), got (5,)");
  expect_error([&] { conv2d(x, zeros({4, 3, 3, 3}, {kFloat64, device})); }, "the weight is float64, the input float32");
  expect_error([&] { conv2d(x, w, zeros({4}, {kFloat64, device})); }, "the bias is float64, the input float32");
  expect_error([&] { conv2d(zeros({2, 3, 8, 8}, {kInt64, device}), w); },
               "expected a floating-point input, got int64");
  expect_error([&] { conv2d(x, f32({4, 0, 3, 3})); }, "expected a weight with no empty dim");
  expect_error([&] { conv2d(Tensor(), w); }, "conv2d: the input is an undefined tensor");
  if (!device.is_cpu()) {
    expect_error([&] { conv2d(x, w.to(Device::cpu())); }, "conv2d: expected all tensors on the same device");
  }
}

REDES_INSTANTIATE_FOR_DEVICES(Conv2dTest);

// Under the vendor setting, calls oneDNN cannot take (an empty batch,
// float64) go to the hand kernels instead of failing.
TEST(Conv2dImplementations, VendorSettingFallsBackToTheHandKernelsWhereOnednnCannotServe) {
  testing::ImplScope scope(KernelImpl::Vendor);
  const Tensor empty = conv2d(zeros({0, 3, 8, 8}), zeros({4, 3, 3, 3}));
  EXPECT_EQ(empty.shape(), (Shape{0, 4, 6, 6}));
  const Tensor x = testing::random_tensor({2, 3, 6, 6}, 1, {kFloat64});
  const Tensor w = testing::random_tensor({4, 3, 3, 3}, 2, {kFloat64});
  const std::vector<double> expected = reference_conv2d(host_values(x), x.shape(), host_values(w), w.shape(), {}, {});
  const std::vector<double> got = host_values(conv2d(x, w));
  ASSERT_EQ(got.size(), expected.size());
  for (std::size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], expected[i], 1e-12);
}

// cuDNN refuses an empty batch (supports_geometry), and the front-end never
// asks it: an empty batch gives an empty output without a kernel call, so
// forcing cuDNN changes nothing.
TEST(Conv2dImplementations, ForcedCudnnGivesAnEmptyOutputForAnEmptyBatch) {
  if (!build_info().cudnn) GTEST_SKIP() << "this build has no cuDNN";
  REDES_REQUIRE_DEVICE(Device::cuda(0));
  testing::ForcedImpl forced({"conv2d_forward"}, "cudnn");
  const Tensor x = zeros({0, 3, 8, 8}, {kFloat32, Device::cuda(0)});
  const Tensor out = conv2d(x, zeros({4, 3, 3, 3}, {kFloat32, Device::cuda(0)}));
  EXPECT_EQ(out.shape(), (Shape{0, 4, 6, 6}));
  EXPECT_EQ(out.device(), Device::cuda(0));
}

// The hand CPU kernel's output pass adds the bias and, for conv2d_relu,
// applies the ReLU: against the direct loops, and its gradients against
// conv2d followed by relu, on one and two threads (two chunks of images).
TEST(Conv2dCpuHand, OutputPassAddsTheBiasAndAppliesTheRelu) {
  const int previous = get_num_threads();
  const testing::ForcedImpl forced({"conv2d_forward", "conv2d_relu_forward", "conv2d_backward_input",
                                    "conv2d_backward_weight"},
                                   "cpu.blas");
  struct Case {
    Shape input, weight;
    Conv2dOptions options;
  };
  std::uint64_t seed = 70;
  for (const Case& c : {Case{{5, 8, 31, 31}, {8, 8, 3, 3}, {.padding = {1, 1}}},
                        Case{{5, 8, 20, 23}, {6, 4, 3, 2}, {.stride = {2, 1}, .padding = {1, 0}, .groups = 2}},
                        Case{{3, 4, 9, 9}, {5, 4, 1, 1}, {}}}) {
    const Tensor x = testing::random_tensor(c.input, seed++, {kFloat64});
    const Tensor w = testing::random_tensor(c.weight, seed++, {kFloat64});
    const Tensor b = testing::random_tensor({c.weight[0]}, seed++, {kFloat64});
    const std::vector<double> expected =
        reference_conv2d(host_values(x), c.input, host_values(w), c.weight, host_values(b), c.options);
    std::vector<double> relu_expected = expected;
    for (double& v : relu_expected) v = std::max(v, 0.0);
    const Tensor grad_out = testing::random_tensor(conv2d(x, w, b, c.options).shape(), seed++, {kFloat64});
    for (int threads : {1, 2}) {
      SCOPED_TRACE(shape_str(c.input) + ", " + std::to_string(threads) + " threads");
      set_num_threads(threads);
      EXPECT_TRUE(all_close(conv2d(x, w, b, c.options), expected, 1e-12, 1e-12));
      std::vector<std::vector<Tensor>> grads;
      for (bool fused : {true, false}) {
        Tensor xg = x.clone().requires_grad_(true), wg = w.clone().requires_grad_(true);
        Tensor bg = b.clone().requires_grad_(true);
        const Tensor out = fused ? detail::conv2d_relu(xg, wg, bg, c.options) : relu(conv2d(xg, wg, bg, c.options));
        EXPECT_TRUE(all_close(out, relu_expected, 1e-12, 1e-12)) << (fused ? "fused" : "composite");
        (out * grad_out).sum().backward();
        grads.push_back({xg.grad(), wg.grad(), bg.grad()});
      }
      for (int i = 0; i < 3; ++i) EXPECT_TRUE(all_close(grads[0][i], host_values(grads[1][i]), 0, 0)) << i;
    }
  }
  set_num_threads(previous);
}

// The CPU kernels split the batch over threads (one columns buffer and one
// weight-gradient partial per chunk); any thread count gives the same
// results up to rounding.
TEST(Conv2dCpuThreads, ThreadCountDoesNotChangeResults) {
  const int previous = get_num_threads();
  const Shape in_shape{5, 8, 16, 16}, weight_shape{16, 4, 3, 3};
  const Conv2dOptions options{.padding = {1, 1}, .groups = 2};
  const Tensor x = testing::random_tensor(in_shape, 61, {kFloat64});
  const Tensor w = testing::random_tensor(weight_shape, 62, {kFloat64});
  const Tensor b = testing::random_tensor({16}, 63, {kFloat64});
  const Tensor grad_out = testing::random_tensor({5, 16, 16, 16}, 64, {kFloat64});
  const std::vector<double> expected =
      reference_conv2d(host_values(x), in_shape, host_values(w), weight_shape, host_values(b), options);
  std::vector<std::vector<double>> results[2];
  for (int threads : {1, 3}) {
    SCOPED_TRACE(std::to_string(threads) + " threads");
    set_num_threads(threads);
    Tensor xg = x.clone().requires_grad_(true), wg = w.clone().requires_grad_(true);
    const Tensor out = conv2d(xg, wg, b, options);
    EXPECT_TRUE(all_close(out, expected, 1e-13, 1e-13));
    (out * grad_out).sum().backward();
    results[threads == 1 ? 0 : 1] = {host_values(xg.grad()), host_values(wg.grad())};
  }
  set_num_threads(previous);
  EXPECT_TRUE(all_close(results[1][0], results[0][0], 1e-13, 1e-13));
  EXPECT_TRUE(all_close(results[1][1], results[0][1], 1e-12, 1e-13));
}

// The per-element bodies the CUDA kernels run (kernels/conv_math.h), checked
// on the host against the reference and the CPU kernels' gradients.
// The implicit GEMM's plan (kernels/conv2d_igemm_plan.h): each pass's GEMM
// sizes, the tile shape by those sizes, split-K for backward-weight only and
// only when the batch is long enough, and a cost whose FLOPs are the GEMM's.
TEST(Conv2dIgemmPlan, SizesTilesSplitsAndCost) {
  Conv2dGeometry g;  // W2's first layer at batch 64: 1 -> 6 channels, 5x5, padding 2
  g.batch = 64, g.in_channels = 1, g.in_height = 28, g.in_width = 28;
  g.out_channels = 6, g.out_height = 28, g.out_width = 28;
  g.window.kernel_height = g.window.kernel_width = 5;
  g.window.pad_height = g.window.pad_width = 2;
  const IgemmPlan forward = plan_igemm(g, ConvPass::Forward);
  EXPECT_EQ(forward.m, 64 * 28 * 28);
  EXPECT_EQ(forward.n, 6);
  EXPECT_EQ(forward.k, 25);
  EXPECT_EQ(forward.tile.bn, kTallTile.bn) << "6 result columns: the tall tile";
  EXPECT_EQ(forward.splits, 1);
  const IgemmPlan data = plan_igemm(g, ConvPass::BackwardData);
  EXPECT_EQ(data.m, 64 * 28 * 28);
  EXPECT_EQ(data.n, 1);
  EXPECT_EQ(data.k, 6 * 25);
  const IgemmPlan weight = plan_igemm(g, ConvPass::BackwardWeight);
  EXPECT_EQ(weight.m, 6);
  EXPECT_EQ(weight.n, 25);
  EXPECT_EQ(weight.k, 64 * 28 * 28);
  EXPECT_EQ(weight.tile.bm, kWideTile.bm) << "6 result rows, 25 columns: the wide tile";
  EXPECT_GT(weight.splits, 1);
  EXPECT_GE(weight.k_per_split, kIgemmMinSplitLength);
  EXPECT_GE(weight.splits * weight.k_per_split, weight.k);
  EXPECT_LT((weight.splits - 1) * weight.k_per_split, weight.k) << "no empty split";
  const KernelCost cost = igemm_cost(weight, sizeof(float));
  EXPECT_DOUBLE_EQ(cost.flops, 2.0 * 6 * 25 * (64 * 28 * 28));
  EXPECT_GT(cost.bytes, 4.0 * (64 * 28 * 28) * (1 + 6)) << "every input and gradient element read at least once";
  EXPECT_DOUBLE_EQ(roofline_seconds({1e12, 1.0}, 1e12, 1e9), 1.0);
  EXPECT_DOUBLE_EQ(roofline_seconds({1.0, 1e9}, 1e12, 1e9), 1.0);
  g.batch = 1, g.in_height = g.in_width = g.out_height = g.out_width = 8;
  EXPECT_EQ(plan_igemm(g, ConvPass::BackwardWeight).splits, 1) << "64 positions: too short to split";
}

TEST(Conv2dElementMath, MatchesReferenceAndCpuGradients) {
  const Shape in_shape{2, 4, 7, 6}, weight_shape{6, 2, 3, 2};
  const Conv2dOptions options{.stride = {2, 1}, .padding = {1, 1}, .dilation = {2, 1}, .groups = 2};
  Tensor x = testing::random_tensor(in_shape, 41, {kFloat64});
  Tensor w = testing::random_tensor(weight_shape, 42, {kFloat64});
  const Tensor out = conv2d(x, w, Tensor(), options);
  const Tensor grad_out = testing::random_tensor(out.shape(), 43, {kFloat64});
  x.requires_grad_(true);
  w.requires_grad_(true);
  (conv2d(x, w, Tensor(), options) * grad_out).sum().backward();

  Conv2dGeometry g;
  g.batch = 2;
  g.in_channels = 4;
  g.in_height = 7;
  g.in_width = 6;
  g.out_channels = 6;
  g.out_height = out.size(2);
  g.out_width = out.size(3);
  g.groups = 2;
  g.window = {3, 2, 2, 1, 1, 1, 2, 1};
  const std::vector<double> xs = host_values(x), ws = host_values(w), gs = host_values(grad_out);

  std::vector<double> forward, input_grad, weight_grad;
  for (std::int64_t i = 0; i < out.numel(); ++i) {
    const Nchw o = nchw_position(i, g.out_channels, g.out_height, g.out_width);
    forward.push_back(conv2d_output_element(g, xs.data(), ws.data(), o.n, o.c, o.h, o.w));
  }
  for (std::int64_t i = 0; i < x.numel(); ++i) {
    const Nchw p = nchw_position(i, g.in_channels, g.in_height, g.in_width);
    input_grad.push_back(conv2d_input_grad_element(g, gs.data(), ws.data(), p.n, p.c, p.h, p.w));
  }
  for (std::int64_t i = 0; i < w.numel(); ++i) {
    const Nchw p = nchw_position(i, 2, 3, 2);
    weight_grad.push_back(conv2d_weight_grad_element(g, gs.data(), xs.data(), p.n, p.c, p.h, p.w));
  }
  EXPECT_TRUE(all_close(forward, reference_conv2d(xs, in_shape, ws, weight_shape, {}, options), 1e-14, 1e-13));
  EXPECT_TRUE(all_close(input_grad, host_values(x.grad()), 1e-14, 1e-13));
  EXPECT_TRUE(all_close(weight_grad, host_values(w.grad()), 1e-14, 1e-13));
}

TEST(Conv2dElementMath, WindowIndicesInvertEachOther) {
  for (std::int64_t stride = 1; stride <= 3; ++stride) {
    for (std::int64_t dilation = 1; dilation <= 3; ++dilation) {
      for (std::int64_t pad = 0; pad <= 2; ++pad) {
        const std::int64_t out_size = 5;
        for (std::int64_t in = -3; in < 15; ++in) {
          for (std::int64_t tap = 0; tap < 3; ++tap) {
            const std::int64_t o = window_output_index(in, tap, stride, pad, dilation, out_size);
            std::int64_t expected = -1;
            for (std::int64_t candidate = 0; candidate < out_size; ++candidate) {
              if (window_input_index(candidate, tap, stride, pad, dilation) == in) expected = candidate;
            }
            EXPECT_EQ(o, expected) << "in " << in << " tap " << tap << " stride " << stride << " pad " << pad
                                   << " dilation " << dilation;
          }
        }
      }
    }
  }
}

}  // namespace
}  // namespace redes
