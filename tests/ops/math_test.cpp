// sqrt, abs, sigmoid, tanh, pow, maximum, minimum, clamp: forward against
// std:: on random inputs (strided too), and float64 gradchecks.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "support/test_support.h"

namespace redes {
namespace {

using testing::all_close;
using testing::gradcheck;
using testing::host_values;

class MathTest : public ::testing::TestWithParam<Device> {
 protected:
  Tensor random(const Shape& shape, std::uint64_t seed, DType dtype = kFloat32, double low = -2, double high = 2) {
    return testing::random_tensor(shape, seed, {dtype, GetParam()}, low, high);
  }
};

std::vector<double> map(const std::vector<double>& values, double (*f)(double)) {
  std::vector<double> out;
  for (double v : values) out.push_back(f(v));
  return out;
}

TEST_P(MathTest, UnaryFunctionsMatchStd) {
  REDES_REQUIRE_DEVICE(GetParam());
  for (const Shape& shape : {Shape{}, Shape{1}, Shape{17}, Shape{3, 1, 5}}) {
    for (DType dtype : {kFloat32, kFloat64}) {
      SCOPED_TRACE(shape_str(shape) + " " + dtype_name(dtype));
      const double tol = dtype == kFloat32 ? 2e-6 : 1e-14;
      const Tensor x = random(shape, 1, dtype, -6, 6);
      const Tensor positive = random(shape, 2, dtype, 0.01, 9);
      EXPECT_TRUE(all_close(sqrt(positive), map(host_values(positive), [](double v) { return std::sqrt(v); }), tol, tol));
      EXPECT_TRUE(all_close(abs(x), map(host_values(x), [](double v) { return std::fabs(v); }), 0, 0));
      EXPECT_TRUE(all_close(sigmoid(x), map(host_values(x), [](double v) { return 1 / (1 + std::exp(-v)); }), tol, tol));
      EXPECT_TRUE(all_close(tanh(x), map(host_values(x), [](double v) { return std::tanh(v); }), tol, tol));
    }
  }
  const Tensor strided = random({4, 6}, 3).t();
  EXPECT_TRUE(all_close(tanh(strided), map(host_values(strided), [](double v) { return std::tanh(v); }), 2e-6, 2e-6));
  EXPECT_TRUE(all_close(abs(arange(5, {kInt64, GetParam()}) - 2.0), {2, 1, 0, 1, 2}, 0, 0));
}

TEST_P(MathTest, ErfGeluSiluLeakyReluMatchTheirDefinitions) {
  REDES_REQUIRE_DEVICE(GetParam());
  for (const Shape& shape : {Shape{}, Shape{1}, Shape{17}, Shape{3, 1, 5}}) {
    for (DType dtype : {kFloat32, kFloat64}) {
      SCOPED_TRACE(shape_str(shape) + " " + dtype_name(dtype));
      const double tol = dtype == kFloat32 ? 4e-6 : 1e-14;
      const Tensor x = random(shape, 4, dtype, -5, 5);
      const std::vector<double> v = host_values(x);
      EXPECT_TRUE(all_close(erf(x), map(v, [](double t) { return std::erf(t); }), tol, tol));
      EXPECT_TRUE(all_close(gelu(x), map(v, [](double t) { return 0.5 * t * (1 + std::erf(t / std::sqrt(2.0))); }),
                            tol, tol));
      EXPECT_TRUE(all_close(gelu(x, GeluApproximation::Tanh), map(v, [](double t) {
                              return 0.5 * t * (1 + std::tanh(std::sqrt(2 / M_PI) * (t + 0.044715 * t * t * t)));
                            }),
                            tol, tol));
      EXPECT_TRUE(all_close(silu(x), map(v, [](double t) { return t / (1 + std::exp(-t)); }), tol, tol));
      EXPECT_TRUE(all_close(leaky_relu(x, 0.1), map(v, [](double t) { return t > 0 ? t : 0.1 * t; }), tol, 0));
    }
  }
  // Values PyTorch 1.13 prints for 1.0 and -2.0.
  const Tensor one = scalar_tensor(1.0, {kFloat64, GetParam()});
  EXPECT_NEAR(gelu(one).item(), 0.8413447460685429, 1e-15);
  EXPECT_NEAR(gelu(one, GeluApproximation::Tanh).item(), 0.8411919906082768, 1e-15);
  EXPECT_NEAR(silu(one).item(), 0.7310585786300049, 1e-15);
  EXPECT_NEAR(leaky_relu(scalar_tensor(-2.0, {kFloat64, GetParam()})).item(), -0.02, 1e-17);
  // Strided input, and NaN kept.
  const Tensor strided = random({4, 6}, 5).t();
  EXPECT_TRUE(all_close(erf(strided), map(host_values(strided), [](double t) { return std::erf(t); }), 4e-6, 4e-6));
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const Tensor with_nan = from_vector(std::vector<double>{nan, -1}, {2}, {kFloat64, GetParam()});
  EXPECT_TRUE(std::isnan(host_values(leaky_relu(with_nan))[0]));
  EXPECT_TRUE(std::isnan(host_values(gelu(with_nan))[0]));
  EXPECT_THROW(leaky_relu(arange(3, {.device = GetParam()})), Error);
  // Gradients, float64, away from leaky_relu's kink at 0.
  const Tensor g = random({3, 4}, 6, kFloat64);
  EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& in) { return erf(in[0]); }, {g}));
  EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& in) { return gelu(in[0]); }, {g}));
  EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& in) { return gelu(in[0], GeluApproximation::Tanh); }, {g}));
  EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& in) { return silu(in[0]); }, {g}));
  const Tensor away = random({3, 4}, 7, kFloat64, 0.1, 2) * from_vector(std::vector<double>{1, -1, 1, -1}, {4},
                                                                          {kFloat64, GetParam()});
  EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& in) { return leaky_relu(in[0], 0.2); }, {away}));
}

TEST_P(MathTest, SigmoidSaturatesWithoutNaN) {
  REDES_REQUIRE_DEVICE(GetParam());
  const Tensor x = from_vector(std::vector<float>{-1000, -90, 0, 90, 1000}, {5}, {kFloat32, GetParam()});
  EXPECT_TRUE(all_close(sigmoid(x), {0, 0, 0.5, 1, 1}, 1e-30, 0));
}

TEST_P(MathTest, PowWithScalarAndTensorExponents) {
  REDES_REQUIRE_DEVICE(GetParam());
  const Tensor base = random({3, 4}, 4, kFloat64, 0.1, 3);
  const Tensor exponent = random({4}, 5, kFloat64, -2, 2);
  std::vector<double> squared, expected;
  const std::vector<double> bv = host_values(base), ev = host_values(exponent);
  for (std::size_t i = 0; i < bv.size(); ++i) {
    squared.push_back(bv[i] * bv[i]);
    expected.push_back(std::pow(bv[i], ev[i % 4]));
  }
  EXPECT_TRUE(all_close(pow(base, 2.0), squared, 1e-14, 1e-14));
  EXPECT_TRUE(all_close(pow(base, exponent), expected, 1e-14, 1e-14));
  EXPECT_THROW(pow(arange(3, {kInt64, GetParam()}), 2.0), Error);
}

TEST_P(MathTest, MaximumMinimumClamp) {
  REDES_REQUIRE_DEVICE(GetParam());
  const Tensor a = from_vector(std::vector<double>{1, 5, -3, 2}, {4}, {kFloat32, GetParam()});
  const Tensor b = from_vector(std::vector<double>{2, 4, -3, 7}, {4}, {kFloat32, GetParam()});
  EXPECT_TRUE(all_close(maximum(a, b), {2, 5, -3, 7}, 0, 0));
  EXPECT_TRUE(all_close(minimum(a, b), {1, 4, -3, 2}, 0, 0));
  EXPECT_TRUE(all_close(maximum(a, scalar_tensor(0.0, {kFloat32, GetParam()})), {1, 5, 0, 2}, 0, 0));
  EXPECT_TRUE(all_close(clamp(a, -1.0, 3.0), {1, 3, -1, 2}, 0, 0));
  EXPECT_TRUE(all_close(clamp(a, std::nullopt, 0.0), {0, 0, -3, 0}, 0, 0));
  EXPECT_THROW(clamp(a, 2.0, 1.0), Error);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const Tensor with_nan = from_vector(std::vector<double>{nan, 1}, {2}, {kFloat64, GetParam()});
  const Tensor ones_pair = ones({2}, {kFloat64, GetParam()});
  EXPECT_TRUE(std::isnan(host_values(maximum(with_nan, ones_pair))[0]));
  EXPECT_TRUE(std::isnan(host_values(minimum(ones_pair, with_nan))[0]));
  // clamp keeps NaN, as PyTorch does: a NaN is not silently moved into range.
  const std::vector<double> clamped = host_values(clamp(with_nan, -0.5, 0.5));
  EXPECT_TRUE(std::isnan(clamped[0]));
  EXPECT_EQ(clamped[1], 0.5);
  EXPECT_TRUE(std::isnan(host_values(clamp(with_nan, std::nullopt, 0.0))[0]));
}

TEST_P(MathTest, Gradients) {
  REDES_REQUIRE_DEVICE(GetParam());
  const Tensor x = random({3, 4}, 6, kFloat64);
  const Tensor positive = random({3, 4}, 7, kFloat64, 0.2, 3);
  const Tensor y = random({4}, 8, kFloat64);
  EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& in) { return sqrt(in[0]); }, {positive}));
  EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& in) { return abs(in[0]); }, {x}));
  EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& in) { return sigmoid(in[0]); }, {x}));
  EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& in) { return tanh(in[0]); }, {x}));
  EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& in) { return pow(in[0], 3.0); }, {x}));
  EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& in) { return pow(in[0], 0.5); }, {positive}));
  EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& in) { return pow(in[0], in[1]); }, {positive, y}));
  EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& in) { return maximum(in[0], in[1]); }, {x, y}));
  EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& in) { return minimum(in[0], in[1]); }, {x, y}));
  EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& in) { return clamp(in[0], -0.5, 0.7); }, {x}));
}

TEST_P(MathTest, MaximumSplitsTheGradientAtTies) {
  REDES_REQUIRE_DEVICE(GetParam());
  Tensor a = ones({2}, {kFloat64, GetParam()}).requires_grad_();
  Tensor b = ones({2}, {kFloat64, GetParam()}).requires_grad_();
  maximum(a, b).sum().backward();
  EXPECT_TRUE(all_close(a.grad(), {0.5, 0.5}, 0, 0));
  EXPECT_TRUE(all_close(b.grad(), {0.5, 0.5}, 0, 0));
}

REDES_INSTANTIATE_FOR_DEVICES(MathTest);

}  // namespace
}  // namespace redes
