// Linear, activations, Flatten, Dropout and the initialisers.
#include <gtest/gtest.h>

#include <cmath>

#include "support/test_support.h"

namespace redes {
namespace {

using testing::all_close;
using testing::host_values;

TEST(Linear, ComputesXWTransposePlusBias) {
  nn::Linear layer(3, 2);
  const Tensor x = testing::random_tensor({4, 3}, 1);
  EXPECT_TRUE(all_close(layer(x), matmul(x, layer.weight().t()) + layer.bias(), 1e-6, 1e-6));
  const Tensor batch = testing::random_tensor({2, 5, 3}, 2);  // any leading dims
  EXPECT_EQ(layer(batch).shape(), (Shape{2, 5, 2}));
  EXPECT_TRUE(all_close(layer(batch).select(0, 1), layer(batch.select(0, 1)), 1e-6, 1e-6));
  nn::Linear no_bias(3, 2, false);
  EXPECT_EQ(no_bias.named_parameters().size(), 1u);
  EXPECT_THROW(layer(ones({4, 5})), Error);
}

TEST(Linear, DefaultInitialisationBounds) {
  manual_seed(3);
  nn::Linear layer(100, 50);
  const double bound = 1.0 / std::sqrt(100.0);
  double largest = 0;
  for (double w : host_values(layer.weight())) largest = std::max(largest, std::fabs(w));
  EXPECT_LE(largest, bound);
  EXPECT_GT(largest, 0.9 * bound);  // really uniform over the whole range
  for (double b : host_values(layer.bias())) EXPECT_LE(std::fabs(b), bound);
  manual_seed(3);
  nn::Linear again(100, 50);
  EXPECT_TRUE(all_close(again.weight(), layer.weight(), 0, 0));  // seeded
}

TEST(Init, FansAndBounds) {
  Tensor conv = empty({8, 4, 3, 3});
  EXPECT_EQ(nn::init::fan_in(conv), 36);
  EXPECT_EQ(nn::init::fan_out(conv), 72);
  nn::init::xavier_uniform_(conv);
  const double bound = std::sqrt(6.0 / (36 + 72));
  for (double v : host_values(conv)) EXPECT_LE(std::fabs(v), bound);
  nn::init::constant_(conv, 2.5);
  EXPECT_TRUE(all_close(conv, std::vector<double>(288, 2.5), 0, 0));
  Tensor vector = empty({3});
  EXPECT_THROW(nn::init::kaiming_uniform_(vector), Error);
}

TEST(Activations, MatchTheOps) {
  const Tensor x = testing::random_tensor({3, 4}, 4, {}, -3, 3);
  EXPECT_TRUE(all_close(nn::ReLU()(x), relu(x), 0, 0));
  EXPECT_TRUE(all_close(nn::Sigmoid()(x), sigmoid(x), 0, 0));
  EXPECT_TRUE(all_close(nn::Tanh()(x), tanh(x), 0, 0));
  const Tensor images = zeros({2, 3, 4, 5});
  EXPECT_EQ(nn::Flatten()(images).shape(), (Shape{2, 60}));
  EXPECT_EQ(nn::Flatten(0, 1)(images).shape(), (Shape{6, 4, 5}));
  EXPECT_THROW(nn::Flatten(2, 1)(images), Error);
}

TEST(Dropout, TrainingMaskScalingAndEval) {
  Generator generator(9);
  nn::Dropout layer(0.25, &generator);
  const Tensor x = ones({100000});
  const std::vector<double> out = host_values(layer(x));
  double kept = 0;
  for (double v : out) {
    EXPECT_TRUE(v == 0.0 || std::fabs(v - 1.0 / 0.75) < 1e-6) << v;
    kept += v != 0.0 ? 1 : 0;
  }
  EXPECT_NEAR(kept / 1e5, 0.75, 0.01);
  layer.eval();
  EXPECT_TRUE(all_close(layer(x), x, 0, 0));
  EXPECT_TRUE(all_close(nn::Dropout(0.0)(x), x, 0, 0));
  EXPECT_TRUE(all_close(nn::Dropout(1.0)(x), std::vector<double>(100000, 0.0), 0, 0));
  EXPECT_THROW(nn::Dropout(1.5), Error);
}

TEST(Dropout, MaskIsReproducibleFromTheGeneratorStateAndGradientFollowsIt) {
  Generator first(4), second(4);
  Tensor x = testing::random_tensor({64}, 1).requires_grad_();
  const Tensor y = dropout(x, 0.5, true, &first);
  EXPECT_TRUE(all_close(dropout(x, 0.5, true, &second), y, 0, 0));
  y.sum().backward();
  const std::vector<double> out = host_values(y), grad = host_values(x.grad());
  for (std::size_t i = 0; i < out.size(); ++i) EXPECT_EQ(grad[i], out[i] == 0.0 ? 0.0 : 2.0) << i;
}

}  // namespace
}  // namespace redes
