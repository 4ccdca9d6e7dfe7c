// SGD and Adam against hand-computed updates; state export/import; XOR.
#include <gtest/gtest.h>

#include <cmath>

#include "support/test_support.h"

namespace redes {
namespace {

using testing::all_close;
using testing::host_values;

// A parameter whose gradient is set by hand.
Tensor parameter_with_grad(const std::vector<double>& values, const std::vector<double>& grad) {
  Tensor p = from_vector(values, {static_cast<std::int64_t>(values.size())}, {kFloat64}).requires_grad_();
  p.set_grad(from_vector(grad, {static_cast<std::int64_t>(grad.size())}, {kFloat64}));
  return p;
}

TEST(SGD, PlainMomentumNesterovAndWeightDecay) {
  Tensor p = parameter_with_grad({1.0, -2.0}, {0.5, 1.0});
  optim::SGD plain({p}, {.lr = 0.1});
  plain.step();
  EXPECT_TRUE(all_close(p, {0.95, -2.1}, 1e-15, 0));

  Tensor q = parameter_with_grad({1.0}, {1.0});
  optim::SGD momentum({q}, {.lr = 0.1, .momentum = 0.9, .weight_decay = 0.5});
  momentum.step();  // g = 1 + 0.5 = 1.5, b = 1.5, q = 1 - 0.15
  EXPECT_TRUE(all_close(q, {0.85}, 1e-15, 0));
  q.set_grad(from_vector(std::vector<double>{1.0}, {1}, {kFloat64}));
  momentum.step();  // g = 1 + 0.425 = 1.425, b = 0.9 * 1.5 + 1.425 = 2.775, q = 0.85 - 0.2775
  EXPECT_TRUE(all_close(q, {0.5725}, 1e-14, 0));

  Tensor r = parameter_with_grad({0.0}, {1.0});
  optim::SGD nesterov({r}, {.lr = 0.1, .momentum = 0.5, .nesterov = true});
  nesterov.step();  // b = 1, g = 1 + 0.5 * 1 = 1.5
  EXPECT_TRUE(all_close(r, {-0.15}, 1e-15, 0));
  EXPECT_THROW(optim::SGD({r}, {.lr = 0.1, .nesterov = true}), Error);
}

TEST(Adam, FirstStepsWithBiasCorrection) {
  Tensor p = parameter_with_grad({1.0}, {0.5});
  optim::Adam adam({p}, {.lr = 0.01});
  double m = 0, v = 0, value = 1.0;
  const std::vector<double> grads{0.5, -0.25, 2.0};
  for (std::size_t t = 1; t <= grads.size(); ++t) {
    p.set_grad(from_vector(std::vector<double>{grads[t - 1]}, {1}, {kFloat64}));
    adam.step();
    m = 0.9 * m + 0.1 * grads[t - 1];
    v = 0.999 * v + 0.001 * grads[t - 1] * grads[t - 1];
    const double c1 = 1 - std::pow(0.9, static_cast<double>(t)), c2 = 1 - std::pow(0.999, static_cast<double>(t));
    value -= 0.01 / c1 * m / (std::sqrt(v) / std::sqrt(c2) + 1e-8);
    EXPECT_TRUE(all_close(p, {value}, 1e-14, 1e-14)) << "step " << t;
  }
  EXPECT_EQ(adam.steps_taken(), 3);
}

TEST(Optimizers, SkipParametersWithoutGradientsAndZeroGrad) {
  Tensor with = parameter_with_grad({1.0}, {1.0});
  Tensor without = from_vector(std::vector<double>{5.0}, {1}, {kFloat64}).requires_grad_();
  optim::Adam adam({with, without});
  adam.step();
  EXPECT_TRUE(all_close(without, {5.0}, 0, 0));
  adam.zero_grad();
  EXPECT_FALSE(with.grad().defined());
  EXPECT_THROW(optim::SGD({ones({1})}), Error);  // not requiring grad
}

TEST(Optimizers, StateRoundTripsAndContinuesIdentically) {
  const auto make = [] { return parameter_with_grad({1.0, 2.0}, {0.3, -0.7}); };
  Tensor a = make(), b = make();
  optim::Adam first({a}, {.lr = 0.1});
  first.step();
  optim::Adam second({b}, {.lr = 0.1});
  {
    NoGradGuard no_grad;
    b.copy_(a.detach());
  }
  second.load_state(first.state());
  first.step();
  second.step();
  EXPECT_TRUE(all_close(a, b, 0, 0));
  optim::OptimizerState broken = first.state();
  broken.emplace_back("7.exp_avg", zeros({2}, {kFloat64}));
  broken[1].second = zeros({3}, {kFloat64});
  try {
    second.load_state(broken);
    FAIL() << "expected redes::Error";
  } catch (const Error& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find("unexpected entry \"7.exp_avg\""), std::string::npos) << message;
    EXPECT_NE(message.find("\"0.exp_avg\" is (3,) float64, parameter 0 is (2,) float64"), std::string::npos) << message;
  }
}

TEST(Training, TwoLayerMlpLearnsXor) {
  manual_seed(0);
  nn::Sequential model(nn::Linear(2, 8), nn::Tanh(), nn::Linear(8, 1));
  optim::Adam adam(model.parameters(), {.lr = 0.05});
  const Tensor x = from_vector(std::vector<float>{0, 0, 0, 1, 1, 0, 1, 1}, {4, 2});
  const Tensor y = from_vector(std::vector<float>{0, 1, 1, 0}, {4, 1});
  double loss_value = 1;
  for (int step = 0; step < 500; ++step) {
    const Tensor loss = nn::bce_with_logits(model(x), y);
    adam.zero_grad();
    loss.backward();
    adam.step();
    loss_value = loss.item();
  }
  EXPECT_LT(loss_value, 0.05);
  EXPECT_EQ(host_values(model(x) > 0.0), (std::vector<double>{0, 1, 1, 0}));
}

}  // namespace
}  // namespace redes
