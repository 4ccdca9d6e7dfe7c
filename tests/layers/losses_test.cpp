// Losses against direct formulas, stability on large logits, gradients.
#include <gtest/gtest.h>

#include <cmath>

#include "support/test_support.h"

namespace redes {
namespace {

using testing::all_close;
using testing::gradcheck;
using testing::host_values;

class LossesTest : public ::testing::TestWithParam<Device> {
 protected:
  TensorOptions f64() const { return {kFloat64, GetParam()}; }
};

TEST_P(LossesTest, BceWithLogitsMatchesTheDefinitionAndStaysFinite) {
  REDES_REQUIRE_DEVICE(GetParam());
  const Tensor logits = from_vector(std::vector<double>{-2, 0.5, 3, 0}, {4}, f64());
  const Tensor targets = from_vector(std::vector<double>{0, 1, 1, 0.3}, {4}, f64());
  std::vector<double> expected;
  const std::vector<double> x = host_values(logits), y = host_values(targets);
  double total = 0;
  for (std::size_t i = 0; i < 4; ++i) {
    const double p = 1 / (1 + std::exp(-x[i]));
    expected.push_back(-(y[i] * std::log(p) + (1 - y[i]) * std::log(1 - p)));
    total += expected.back();
  }
  EXPECT_TRUE(all_close(nn::bce_with_logits(logits, targets, nn::Reduction::None), expected, 1e-12, 1e-12));
  EXPECT_TRUE(all_close(nn::bce_with_logits(logits, targets), {total / 4}, 1e-12, 1e-12));
  EXPECT_TRUE(all_close(nn::bce_with_logits(logits, targets, nn::Reduction::Sum), {total}, 1e-12, 1e-12));
  const Tensor huge = from_vector(std::vector<float>{-500, 500}, {2}, {kFloat32, GetParam()});
  const Tensor labels = from_vector(std::vector<float>{1, 0}, {2}, {kFloat32, GetParam()});
  EXPECT_TRUE(all_close(nn::bce_with_logits(huge, labels, nn::Reduction::None), {500, 500}, 1e-3, 0));
  EXPECT_THROW(nn::bce_with_logits(logits, ones({3}, f64())), Error);
}

TEST_P(LossesTest, CrossEntropyIsLogSoftmaxThenNll) {
  REDES_REQUIRE_DEVICE(GetParam());
  const Tensor logits = testing::random_tensor({5, 3}, 1, f64(), -4, 4);
  const Tensor targets = from_vector(std::vector<std::int64_t>{0, 2, 1, 2, 0}, {5}, {kInt64, GetParam()});
  const std::vector<double> z = host_values(logits);
  const std::vector<std::int64_t> t{0, 2, 1, 2, 0};
  double total = 0;
  for (std::size_t n = 0; n < 5; ++n) {
    double normaliser = 0;
    for (std::size_t c = 0; c < 3; ++c) normaliser += std::exp(z[n * 3 + c]);
    total += std::log(normaliser) - z[n * 3 + static_cast<std::size_t>(t[n])];
  }
  EXPECT_TRUE(all_close(nn::cross_entropy(logits, targets), {total / 5}, 1e-12, 1e-12));
  EXPECT_THROW(nn::cross_entropy(logits, targets.to(kFloat32)), Error);
  EXPECT_THROW(nn::cross_entropy(logits, from_vector(std::vector<std::int64_t>{0, 3, 1, 2, 0}, {5},
                                                     {kInt64, GetParam()})),
               Error);  // class 3 of 3
  EXPECT_THROW(nn::cross_entropy(logits.reshape({15}), targets), Error);
}

TEST_P(LossesTest, MseAndGradients) {
  REDES_REQUIRE_DEVICE(GetParam());
  const Tensor a = testing::random_tensor({3, 2}, 2, f64());
  const Tensor b = testing::random_tensor({3, 2}, 3, f64());
  const std::vector<double> av = host_values(a), bv = host_values(b);
  double total = 0;
  for (std::size_t i = 0; i < av.size(); ++i) total += (av[i] - bv[i]) * (av[i] - bv[i]);
  EXPECT_TRUE(all_close(nn::mse_loss(a, b), {total / 6}, 1e-12, 1e-12));
  const Tensor labels = from_vector(std::vector<std::int64_t>{1, 0, 1}, {3}, {kInt64, GetParam()});
  const Tensor probabilities = testing::random_tensor({3, 2}, 4, f64(), 0, 1);
  EXPECT_TRUE(gradcheck([&](const std::vector<Tensor>& in) { return nn::mse_loss(in[0], b); }, {a}));
  EXPECT_TRUE(gradcheck([&](const std::vector<Tensor>& in) { return nn::bce_with_logits(in[0], probabilities); }, {a}));
  EXPECT_TRUE(gradcheck([&](const std::vector<Tensor>& in) { return nn::cross_entropy(in[0], labels); }, {a}));
  EXPECT_TRUE(gradcheck(
      [&](const std::vector<Tensor>& in) { return nn::nll_loss(in[0], labels, nn::Reduction::None); }, {a}));
}

REDES_INSTANTIATE_FOR_DEVICES(LossesTest);

}  // namespace
}  // namespace redes
