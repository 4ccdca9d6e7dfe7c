// AdamW, gradient clipping and learning-rate schedules.
#include <gtest/gtest.h>

#include <cmath>
#include <numbers>

#include "support/test_support.h"

namespace redes {
namespace {

using testing::all_close;

Tensor parameter_with_grad(const std::vector<double>& values, const std::vector<double>& grad) {
  Tensor p = from_vector(values, {static_cast<std::int64_t>(values.size())}, {kFloat64}).requires_grad_();
  p.set_grad(from_vector(grad, {static_cast<std::int64_t>(grad.size())}, {kFloat64}));
  return p;
}

TEST(AdamW, DecaysWeightsDirectly) {
  Tensor p = parameter_with_grad({2.0}, {0.5});
  optim::AdamW adamw({p}, {.lr = 0.1, .weight_decay = 0.1});
  adamw.step();
  // p = 2 (1 - 0.1 * 0.1) = 1.98, then the Adam step of size lr (first step: m/sqrt(v) = 1).
  EXPECT_TRUE(all_close(p, {1.98 - 0.1 * 0.5 / (0.5 + 1e-8)}, 1e-12, 0));
}

TEST(ClipGradNorm, ScalesOnlyWhenAboveTheLimit) {
  Tensor a = parameter_with_grad({0, 0}, {3, 0});
  Tensor b = parameter_with_grad({0}, {4});
  const Tensor norm = optim::clip_grad_norm_({a, b}, 1.0);
  EXPECT_NEAR(norm.item(), 5.0, 1e-12);
  EXPECT_TRUE(all_close(a.grad(), {3.0 / (5 + 1e-6), 0}, 1e-12, 0));
  EXPECT_TRUE(all_close(b.grad(), {4.0 / (5 + 1e-6)}, 1e-12, 0));
  Tensor small = parameter_with_grad({0}, {0.5});
  optim::clip_grad_norm_({small}, 1.0);
  EXPECT_TRUE(all_close(small.grad(), {0.5}, 0, 0));
  EXPECT_THROW(optim::clip_grad_norm_({small}, 0.0), Error);
}

TEST(Schedules, StepCosineAndWarmup) {
  Tensor p = parameter_with_grad({0}, {0});
  optim::SGD sgd({p}, {.lr = 1.0});
  optim::StepLR step_lr(sgd, 2, 0.5);
  std::vector<double> rates;
  for (int i = 0; i < 5; ++i) {
    step_lr.step();
    rates.push_back(sgd.learning_rate());
  }
  EXPECT_EQ(rates, (std::vector<double>{1.0, 0.5, 0.5, 0.25, 0.25}));

  optim::SGD sgd2({p}, {.lr = 0.2});
  optim::CosineAnnealingLR cosine(sgd2, 4, 0.0);
  cosine.set_step(2);
  EXPECT_NEAR(sgd2.learning_rate(), 0.1, 1e-15);
  cosine.set_step(4);
  EXPECT_NEAR(sgd2.learning_rate(), 0.0, 1e-15);
  cosine.set_step(9);
  EXPECT_NEAR(sgd2.learning_rate(), 0.0, 1e-15);

  optim::SGD sgd3({p}, {.lr = 1.0});
  optim::WarmupCosineLR warmup(sgd3, 4, 8, 0.0);
  EXPECT_NEAR(warmup.factor(0), 0.0, 1e-15);
  EXPECT_NEAR(warmup.factor(2), 0.5, 1e-15);
  EXPECT_NEAR(warmup.factor(4), 1.0, 1e-15);
  EXPECT_NEAR(warmup.factor(6), 0.5, 1e-15);
  EXPECT_NEAR(warmup.factor(8), 0.0, 1e-15);
  EXPECT_THROW(optim::StepLR(sgd, 0), Error);
}

}  // namespace
}  // namespace redes
