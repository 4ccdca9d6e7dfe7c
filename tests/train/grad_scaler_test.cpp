// GradScaler: scaling, unscaling, skipping on overflow, backing off and
// growing, and its argument checks.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "support/test_support.h"

namespace redes {
namespace {

using testing::host_values;

TEST(GradScaler, ScalesTheLossAndUnscalesTheGradients) {
  optim::GradScaler scaler({.init_scale = 1024.0});
  const Tensor w = from_vector(std::vector<float>{1.0f, -2.0f}, {2}).requires_grad_(true);
  const Tensor unused = zeros({3}).requires_grad_(true);  // no gradient: skipped
  const Tensor loss = (w * w).sum();
  const Tensor scaled = scaler.scale(loss);
  EXPECT_EQ(scaled.item(), 5.0 * 1024);
  scaled.backward();
  EXPECT_EQ(host_values(w.grad()), (std::vector<double>{2.0 * 1024, -4.0 * 1024}));
  EXPECT_TRUE(scaler.unscale_({w, unused}));
  EXPECT_EQ(host_values(w.grad()), (std::vector<double>{2.0, -4.0}));
  scaler.update();
  EXPECT_EQ(scaler.get_scale(), 1024.0);
  EXPECT_EQ(scaler.growth_tracker(), 1);
}

TEST(GradScaler, AnOverflowSkipsTheStepAndHalvesTheScale) {
  optim::GradScaler scaler({.init_scale = 256.0, .growth_interval = 3});
  const Tensor w = ones({2}).requires_grad_(true);
  optim::SGD sgd({w}, {.lr = 0.5});
  // Two good steps, then an injected infinite gradient.
  for (int step = 0; step < 2; ++step) {
    sgd.zero_grad();
    scaler.scale((w * 1.0).sum()).backward();
    ASSERT_TRUE(scaler.unscale_({w}));
    sgd.step();
    scaler.update();
  }
  EXPECT_EQ(scaler.growth_tracker(), 2);
  const std::vector<double> before = host_values(w);
  sgd.zero_grad();
  scaler.scale((w * std::numeric_limits<double>::infinity()).sum()).backward();
  EXPECT_FALSE(scaler.unscale_({w}));
  scaler.update();
  EXPECT_EQ(scaler.get_scale(), 128.0);
  EXPECT_EQ(scaler.growth_tracker(), 0);
  EXPECT_EQ(host_values(w), before);  // no step was taken
}

TEST(GradScaler, GrowsAfterTheIntervalOfGoodSteps) {
  optim::GradScaler scaler({.init_scale = 8.0, .growth_interval = 3});
  Tensor w = ones({1}).requires_grad_(true);
  for (int step = 0; step < 3; ++step) {
    w.zero_grad();
    scaler.scale(w.sum()).backward();
    ASSERT_TRUE(scaler.unscale_({w}));
    scaler.update();
  }
  EXPECT_EQ(scaler.get_scale(), 16.0);
  EXPECT_EQ(scaler.growth_tracker(), 0);
}

TEST(GradScaler, RefusesBadSettingsAndMisuse) {
  testing::expect_error([] { optim::GradScaler({.init_scale = 0.0}); }, "init_scale");
  testing::expect_error([] { optim::GradScaler({.backoff_factor = 1.5}); }, "backoff_factor");
  testing::expect_error([] { optim::GradScaler({.growth_interval = 0}); }, "growth_interval");
  optim::GradScaler scaler;
  testing::expect_error([&] { scaler.update(); }, "call unscale_ first");
  testing::expect_error([&] { scaler.load_state(-1.0, 0); }, "positive scale");
  scaler.load_state(512.0, 7);
  EXPECT_EQ(scaler.get_scale(), 512.0);
  EXPECT_EQ(scaler.growth_tracker(), 7);
}

}  // namespace
}  // namespace redes
