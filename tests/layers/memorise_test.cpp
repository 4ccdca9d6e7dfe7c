// Small networks of the zoo must be able to fit their training data: LeNet-5
// overfits 64 images, the W3 CNN memorises 256 randomly labelled ones.
// Minutes on 2 cores, so this file is its own test program labelled "slow".
#include <gtest/gtest.h>

#include "support/test_support.h"

namespace redes {
namespace {

using testing::host_values;

// Trains `model` on fixed data until the accuracy target is reached (or the
// step budget runs out); returns the final training accuracy.
double fit_to_memorise(nn::Module& model, optim::Optimizer& optimizer, const Tensor& images, const Tensor& labels,
                       int max_steps, std::int64_t batch, double target) {
  double accuracy = 0;
  for (int step = 0; step < max_steps; ++step) {
    const std::int64_t start = (step * batch) % images.size(0);
    const Tensor x = images.narrow(0, start, batch), y = labels.narrow(0, start, batch);
    const Tensor loss = nn::cross_entropy(model(x), y);
    optimizer.zero_grad();
    loss.backward();
    optimizer.step();
    const bool pass_done = start + batch == images.size(0);
    if (pass_done && (step + 1) % (4 * (images.size(0) / batch)) == 0) {  // every 4th pass, check in eval mode
      NoGradGuard no_grad;
      model.eval();
      accuracy = host_values(eq(argmax(model(images), 1), labels).to(kFloat32).mean())[0];
      model.train();
      if (accuracy >= target) break;
    }
  }
  return accuracy;
}

TEST(Models, LeNetOverfits64Images) {
  manual_seed(1);
  Generator data(2);
  const Tensor images = rand({64, 1, 28, 28}, {}, &data);
  const Tensor labels = uniform({64}, 0, 10, {kFloat64}, &data).to(kInt64);
  nn::Sequential lenet = models::lenet5();
  // lr 0.05 sat on the edge of stability: a last-bit change in the loss's
  // rounding decided whether the run memorised or collapsed to chance. At 0.02
  // the fused and the composite cross-entropy both memorise by step ~450.
  optim::SGD sgd(lenet.parameters(), {.lr = 0.02, .momentum = 0.9});
  EXPECT_EQ(fit_to_memorise(lenet, sgd, images, labels, 800, 16, 1.0), 1.0);
}

TEST(Models, CifarCnnMemorisesRandomLabels) {
  manual_seed(3);
  Generator data(4);
  const Tensor images = rand({256, 3, 32, 32}, {}, &data);
  const Tensor labels = uniform({256}, 0, 100, {kFloat64}, &data).to(kInt64);
  nn::Sequential cifar = models::cifar_cnn(100);
  optim::Adam adam(cifar.parameters(), {.lr = 1e-3});
  EXPECT_GE(fit_to_memorise(cifar, adam, images, labels, 1200, 64, 0.95), 0.95);
}

}  // namespace
}  // namespace redes
