// Silent traps a libtorch user would fall into, each made to behave as in
// libtorch or to fail loudly: single values in (height, width) pairs, an
// optimizer made before model.to(...), the dtype of from_vector and arange,
// and type promotion with scalars, integer division and 0-d tensors.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <sstream>
#include <vector>

#include "support/test_support.h"

namespace redes {
namespace {

using testing::host_values;

TEST(Size2d, OneValueMeansBothSides) {
  const Conv2dOptions single{.stride = 2, .padding = 1, .dilation = 3};
  EXPECT_EQ(single.stride, (Size2d{2, 2}));
  EXPECT_EQ(single.padding, (Size2d{1, 1}));
  EXPECT_EQ(single.dilation, (Size2d{3, 3}));
  const Conv2dOptions braced{.stride = {2}, .padding = {1}};
  EXPECT_EQ(braced.stride, (Size2d{2, 2}));
  EXPECT_EQ(braced.padding, (Size2d{1, 1}));
  const Conv2dOptions pair{.padding = {1, 2}};
  EXPECT_EQ(pair.padding[0], 1);
  EXPECT_EQ(pair.padding[1], 2);
  EXPECT_THROW((Size2d{1, 2, 3}), Error);
  EXPECT_THROW((Size2d(std::initializer_list<std::int64_t>{})), Error);
  const MaxPool2dOptions pool{.stride = 1, .padding = {1}};
  EXPECT_EQ(*pool.stride, (Size2d{1, 1}));
  EXPECT_EQ(pool.padding, (Size2d{1, 1}));
}

TEST(Size2d, LayersPadAndStrideBothSidesFromOneValue) {
  // 1 input channel, 5x7 image: padding 1 on both sides keeps 5x7 under a
  // 3x3 kernel; stride 2 on both sides halves both.
  manual_seed(0);
  nn::Conv2d padded(1, 2, 3, {.padding = 1});
  EXPECT_EQ(padded(zeros({1, 1, 5, 7})).shape(), (Shape{1, 2, 5, 7}));
  nn::Conv2d braced(1, 2, {3}, {.padding = {1}});
  EXPECT_EQ(braced(zeros({1, 1, 5, 7})).shape(), (Shape{1, 2, 5, 7}));
  nn::Conv2d strided(1, 2, 3, {.stride = 2});
  EXPECT_EQ(strided(zeros({1, 1, 9, 11})).shape(), (Shape{1, 2, 4, 5}));
  nn::MaxPool2d pool({2}, {.stride = {2}});
  EXPECT_EQ(pool(zeros({1, 1, 6, 8})).shape(), (Shape{1, 1, 3, 4}));
}

TEST(ModuleTo, AnOptimizerMadeBeforeToKeepsUpdatingTheParameters) {
  manual_seed(1);
  nn::Linear model(3, 2);
  optim::SGD sgd(model.parameters(), {.lr = 0.5});
  model.to(kFloat64);
  EXPECT_EQ(model.parameters()[0].dtype(), kFloat64);
  EXPECT_EQ(sgd.parameters()[0].dtype(), kFloat64);  // the same tensors
  const std::vector<double> before = host_values(model.parameters()[0]);
  const Tensor loss = model(ones({4, 3}, {kFloat64})).sum();
  sgd.zero_grad();
  loss.backward();
  sgd.step();
  const std::vector<double> after = host_values(model.parameters()[0]);
  ASSERT_EQ(after.size(), before.size());
  // d loss / d W = 4 everywhere (four rows of ones): each weight moves by -2.
  for (std::size_t i = 0; i < after.size(); ++i) EXPECT_NEAR(after[i], before[i] - 2.0, 1e-12) << i;
  EXPECT_TRUE(model.parameters()[0].requires_grad());
}

// Optimizer state made by steps before the move follows the parameters:
// the run continues exactly as one that was float64 from the start.
TEST(ModuleTo, OptimizerStateFollowsAModelMovedAfterSteps) {
  const auto run = [](bool move_midway) {
    manual_seed(3);
    nn::Linear model(3, 2);
    if (!move_midway) model.to(kFloat64);
    optim::Adam adam(model.parameters(), {.lr = 0.1});
    optim::SGD sgd(model.parameters(), {.lr = 0.1, .momentum = 0.9});
    const auto step = [&](DType dtype) {
      const Tensor loss = (model(ones({4, 3}, {dtype})) * 0.5).pow(2.0).sum();
      adam.zero_grad();
      loss.backward();
      adam.step();
      sgd.step();
    };
    step(move_midway ? kFloat32 : kFloat64);
    if (move_midway) model.to(kFloat64);
    step(kFloat64);
    step(kFloat64);
    for (const auto& [name, tensor] : adam.state()) {
      if (name != "step") {
        EXPECT_EQ(tensor.dtype(), kFloat64) << name;
      }
    }
    for (const auto& [name, tensor] : sgd.state()) EXPECT_EQ(tensor.dtype(), kFloat64) << name;
    return host_values(model.parameters()[0]);
  };
  const std::vector<double> moved = run(true), native = run(false);
  ASSERT_EQ(moved.size(), native.size());
  // The first step ran in float32 in one run: agreement to float32 rounding.
  for (std::size_t i = 0; i < moved.size(); ++i) EXPECT_NEAR(moved[i], native[i], 1e-5) << i;
}

TEST(ModuleTo, GradientsMoveWithTheirParameters) {
  manual_seed(2);
  nn::Linear model(2, 1);
  model(ones({1, 2})).sum().backward();
  model.to(kFloat64);
  ASSERT_TRUE(model.parameters()[0].grad().defined());
  EXPECT_EQ(model.parameters()[0].grad().dtype(), kFloat64);
}

// The method forms libtorch users write give what the free functions give.
TEST(TensorMethods, MatchTheFreeFunctions) {
  const Tensor x = from_vector(std::vector<double>{-2.0, 0.5, 3.0, 1.5, -0.25, 4.0}, {2, 3}, {kFloat64});
  const Tensor positive = x.abs() + 0.1;
  EXPECT_TRUE(testing::all_close(positive.sqrt(), sqrt(positive), 0, 0));
  EXPECT_TRUE(testing::all_close(x.abs(), abs(x), 0, 0));
  EXPECT_TRUE(testing::all_close(x.neg(), -x, 0, 0));
  EXPECT_TRUE(testing::all_close(x.sigmoid(), sigmoid(x), 0, 0));
  EXPECT_TRUE(testing::all_close(x.tanh(), tanh(x), 0, 0));
  EXPECT_TRUE(testing::all_close(x.pow(2.0), x * x, 1e-15, 0));
  EXPECT_TRUE(testing::all_close(positive.pow(x), pow(positive, x), 0, 0));
  EXPECT_TRUE(testing::all_close(x.clamp(-1.0, 2.0), {-1.0, 0.5, 2.0, 1.5, -0.25, 2.0}, 0, 0));
  EXPECT_EQ(x.max().item(), 4.0);
  EXPECT_EQ(x.min().item(), -2.0);
  EXPECT_EQ(host_values(x.argmax(1)), (std::vector<double>{2, 2}));
  EXPECT_TRUE(testing::all_close(x.softmax(1), softmax(x, 1), 0, 0));
  EXPECT_TRUE(testing::all_close(x.log_softmax(0), log_softmax(x, 0), 0, 0));
}

TEST(Factories, TheDtypeFollowsTheValuesUnlessGiven) {
  EXPECT_EQ(from_vector(std::vector<std::int64_t>{1, 2}, {2}).dtype(), kInt64);
  EXPECT_EQ(from_vector(std::vector<std::int32_t>{1, 2}, {2}).dtype(), kInt32);
  EXPECT_EQ(from_vector(std::vector<double>{1, 2}, {2}).dtype(), kFloat32);  // floating values: float32, as torch.tensor
  EXPECT_EQ(from_vector(std::vector<float>{1, 2}, {2}).dtype(), kFloat32);
  EXPECT_EQ(from_vector(std::vector<std::uint8_t>{1, 2}, {2}).dtype(), kUInt8);
  EXPECT_EQ(from_vector(std::vector<std::int64_t>{1, 2}, {2}, {.dtype = kFloat32}).dtype(), kFloat32);
  // Options that name only the device keep the values' dtype.
  EXPECT_EQ(from_vector(std::vector<std::int64_t>{1, 2}, {2}, {.device = Device::cpu()}).dtype(), kInt64);
  EXPECT_EQ(arange(12).dtype(), kInt64);
  EXPECT_EQ(arange(3, {.dtype = kFloat64}).dtype(), kFloat64);
  EXPECT_EQ(zeros({2}).dtype(), kFloat32);  // floating factories keep float32
}

TEST(Promotion, FloatScalarsMakeIntegerTensorsFloat) {
  const Tensor t = from_vector(std::vector<std::int64_t>{7, -7}, {2});
  const Tensor half = t / 2.0;
  EXPECT_EQ(half.dtype(), kFloat32);
  EXPECT_EQ(host_values(half), (std::vector<double>{3.5, -3.5}));
  EXPECT_EQ((t * 0.5).dtype(), kFloat32);
  EXPECT_EQ((t + 1.0).dtype(), kFloat32);
  EXPECT_EQ((2.0 - t).dtype(), kFloat32);
  // Integral scalars keep the tensor's dtype.
  EXPECT_EQ((t + 1).dtype(), kInt64);
  EXPECT_EQ(host_values(t * 3), (std::vector<double>{21, -21}));
  // True division, as PyTorch's `/`: integers divide to float32.
  const Tensor divided = t / 2;
  EXPECT_EQ(divided.dtype(), kFloat32);
  EXPECT_EQ(host_values(divided), (std::vector<double>{3.5, -3.5}));
  EXPECT_EQ(host_values(div(t, from_vector(std::vector<std::int64_t>{2, 2}, {2}))),
            (std::vector<double>{3.5, -3.5}));
  // A float scalar never changes a float tensor's dtype.
  EXPECT_EQ((ones({2}) * 0.5).dtype(), kFloat32);
  EXPECT_EQ((ones({2}, {kFloat64}) * 2).dtype(), kFloat64);
  // Comparisons with a fractional scalar compare in float.
  EXPECT_EQ(host_values(eq(from_vector(std::vector<std::int64_t>{0, 1}, {2}), scalar_tensor(0.5))),
            (std::vector<double>{0, 0}));
  EXPECT_EQ(host_values(from_vector(std::vector<std::int64_t>{0, 1}, {2}) == 0.5), (std::vector<double>{0, 0}));
}

TEST(Promotion, CanCastWithinOrUpACategory) {
  EXPECT_TRUE(can_cast(kFloat64, kFloat32));
  EXPECT_TRUE(can_cast(kInt64, kFloat32));
  EXPECT_TRUE(can_cast(kBool, kInt32));
  EXPECT_FALSE(can_cast(kFloat32, kInt64));
  EXPECT_FALSE(can_cast(kInt64, kBool));
}

TEST(Promotion, ZeroDimensionalTensorsGiveWayWithinACategory) {
  const Tensor x = ones({3});                                  // float32
  const Tensor wide = scalar_tensor(2.0, {.dtype = kFloat64});  // 0-d float64
  EXPECT_EQ((x * wide).dtype(), kFloat32);
  EXPECT_EQ((x * ones({3}, {kFloat64})).dtype(), kFloat64);  // both dimensioned: the wider
  const Tensor ints = from_vector(std::vector<std::int64_t>{1, 2, 3}, {3});
  EXPECT_EQ((ints * wide).dtype(), kFloat64);  // a higher category wins
  EXPECT_EQ((scalar_tensor(2.0, {.dtype = kFloat64}) * scalar_tensor(1.0)).dtype(), kFloat64);
  // Gradients come back in each input's own dtype.
  Tensor leaf = scalar_tensor(3.0, {.dtype = kFloat64});
  leaf.requires_grad_();
  (x * leaf).sum().backward();
  EXPECT_EQ(leaf.grad().dtype(), kFloat64);
  EXPECT_EQ(leaf.grad().item(), 3.0);
}

TEST(Reductions, StandardDeviationAsAMember) {
  const Tensor x = from_vector(std::vector<float>{1, 3, 2, 6}, {2, 2});
  EXPECT_TRUE(testing::all_close(x.std({1}), {std::sqrt(2.0), std::sqrt(8.0)}, 1e-6, 0));
  EXPECT_TRUE(testing::all_close(x.var({0}, 0), {0.25, 2.25}, 1e-6, 0));
  EXPECT_NEAR(x.std().item(), redes::std(x).item(), 0);
}

TEST(TensorOperators, CompoundAssignmentWorksInPlace) {
  Tensor a = from_vector(std::vector<float>{1, 2, 3}, {3});
  const Tensor alias = a;  // the same tensor: in-place means every handle sees it
  a += from_vector(std::vector<float>{1, 1, 1}, {3});
  a *= 2.0;
  a -= 1.0;
  a /= from_vector(std::vector<float>{1, 2, 4}, {3});
  EXPECT_EQ(host_values(alias), (std::vector<double>{3, 2.5, 1.75}));
  // An integer tensor cannot take a fractional result in place.
  Tensor counts = arange(3);
  counts += 2;
  EXPECT_EQ(host_values(counts), (std::vector<double>{2, 3, 4}));
  EXPECT_THROW(counts += 0.5, Error);
  EXPECT_THROW(counts /= from_vector(std::vector<std::int64_t>{2, 2, 2}, {3}), Error);
  EXPECT_EQ(host_values(counts), (std::vector<double>{2, 3, 4}));  // untouched by the refused updates
  // A leaf that requires grad refuses, as before.
  Tensor leaf = ones({2});
  leaf.requires_grad_();
  EXPECT_THROW(leaf += 1.0, Error);
}

TEST(TensorOperators, FlattenRangesAndPrinting) {
  const Tensor x = zeros({2, 3, 4, 5});
  EXPECT_EQ(x.flatten(1).shape(), (Shape{2, 60}));
  EXPECT_EQ(x.flatten(1, 2).shape(), (Shape{2, 12, 5}));
  EXPECT_EQ(x.flatten(-2).shape(), (Shape{2, 3, 20}));
  EXPECT_EQ(x.flatten(0, -1).shape(), (Shape{120}));
  EXPECT_THROW(x.flatten(2, 1), Error);
  EXPECT_THROW(x.flatten(4), Error);
  std::ostringstream text;
  text << kFloat64 << " " << Device::cpu();
  EXPECT_EQ(text.str(), "float64 cpu");
  nn::Unflatten unflatten(1, {3, 4});
  EXPECT_EQ(unflatten(zeros({2, 12, 5})).shape(), (Shape{2, 3, 4, 5}));
  EXPECT_THROW(unflatten(zeros({2, 11})), Error);
  EXPECT_THROW(nn::Unflatten(1, {0, 3}), Error);
  EXPECT_EQ(nn::Sequential(nn::GELU(GeluApproximation::Tanh), nn::SiLU(), nn::LeakyReLU(0.2)).str(),
            "Sequential(\n  (0): GELU(approximate='tanh')\n  (1): SiLU()\n  (2): LeakyReLU(negative_slope=0.2)\n)");
}

// The user-facing gradient check finds a wrong backward rule and says where.
TEST(Gradcheck, PassesTrueGradientsAndNamesWrongOnes) {
  const Tensor x = from_vector(std::vector<double>{0.3, -1.2, 2.0}, {3}, {.dtype = kFloat64});
  const Tensor index = from_vector(std::vector<std::int64_t>{2, 0}, {2});  // passes through unchecked
  EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& in) { return index_select(gelu(in[0]), 0, in[1]); },
                        {x, index}));
  // A custom op whose backward is off by a factor of two.
  const auto doubled_backward = [](const std::vector<Tensor>& in) {
    const Tensor forward = in[0] * in[0];
    // Same value, but gradients flow as 4x instead of 2x: forward + (2x^2 - stop_gradient(2x^2)).
    return forward + (in[0] * in[0] * 2.0 - (in[0] * in[0] * 2.0).detach());
  };
  const GradcheckResult wrong = gradcheck(doubled_backward, {x});
  EXPECT_FALSE(wrong);
  EXPECT_NE(wrong.message.find("input 0 [0]: autograd"), std::string::npos) << wrong.message;
  EXPECT_FALSE(gradcheck([](const std::vector<Tensor>& in) { return in[0] * 2.0; }, {ones({2})}));  // float32
}

TEST(Autograd, RetainGradKeepsANonLeafGradient) {
  Tensor x = from_vector(std::vector<float>{1, 2, 3}, {3});
  x.requires_grad_();
  const Tensor y = x * 2.0;  // not a leaf
  y.retain_grad();
  y.retain_grad();  // twice is once
  (y * y).sum().backward();
  ASSERT_TRUE(y.grad().defined());
  EXPECT_EQ(host_values(y.grad()), (std::vector<double>{4, 8, 12}));  // d sum(y^2) / dy = 2y
  EXPECT_EQ(host_values(x.grad()), (std::vector<double>{8, 16, 24}));
  EXPECT_THROW(ones({2}).retain_grad(), Error);  // no gradient would ever reach it
}

TEST(Autograd, HooksSeeAndReplaceGradients) {
  Tensor x = from_vector(std::vector<float>{1, -2}, {2});
  x.requires_grad_();
  std::vector<double> seen;
  const Tensor y = x * 3.0;
  y.register_hook([&](const Tensor& grad) {
    seen = host_values(grad);
    return Tensor();  // keep it
  });
  x.register_hook([](const Tensor& grad) { return grad * 10.0; });  // a leaf: scales what accumulates
  y.sum().backward();
  EXPECT_EQ(seen, (std::vector<double>{1, 1}));
  EXPECT_EQ(host_values(x.grad()), (std::vector<double>{30, 30}));
  // A non-leaf hook's result flows on to the inputs.
  Tensor z = from_vector(std::vector<float>{1, 1}, {2});
  z.requires_grad_();
  const Tensor w = z * 2.0;
  w.register_hook([](const Tensor& grad) { return grad * 0.0; });
  w.sum().backward();
  EXPECT_EQ(host_values(z.grad()), (std::vector<double>{0, 0}));
}

}  // namespace
}  // namespace redes
