// The graph is freed after backward: a training loop holds steady memory.
#include <gtest/gtest.h>

#include "support/test_support.h"

namespace redes {
namespace {

class MemoryTest : public ::testing::TestWithParam<Device> {};

TEST_P(MemoryTest, MlpTrainingStepsLeaveLiveBytesUnchanged) {
  REDES_REQUIRE_DEVICE(GetParam());
  const Device device = GetParam();
  const TensorOptions options{kFloat32, device};
  Tensor x = testing::random_tensor({32, 8}, 1, options);
  Tensor y = testing::random_tensor({32, 1}, 2, options);
  Tensor w1 = testing::random_tensor({8, 16}, 3, options, -0.3, 0.3).requires_grad_();
  Tensor b1 = zeros({16}, options).requires_grad_();
  Tensor w2 = testing::random_tensor({16, 1}, 4, options, -0.3, 0.3).requires_grad_();

  double first_loss = 0, last_loss = 0;
  std::size_t live_after_first = 0;
  for (int step = 0; step < 100; ++step) {
    Tensor error = matmul(relu(matmul(x, w1) + b1), w2) - y;
    Tensor loss = (error * error).mean();
    loss.backward();
    {
      NoGradGuard no_grad;
      for (Tensor* p : {&w1, &b1, &w2}) {
        p->add_(p->grad(), -0.05);
        p->zero_grad();
      }
    }
    (step == 0 ? first_loss : last_loss) = loss.item();
    loss = Tensor();
    error = Tensor();
    if (step == 0) live_after_first = allocator_for(device).stats().live_bytes;
  }
  EXPECT_EQ(allocator_for(device).stats().live_bytes, live_after_first);
  EXPECT_LT(last_loss, first_loss);  // and the loop really trains
}

REDES_INSTANTIATE_FOR_DEVICES(MemoryTest);

}  // namespace
}  // namespace redes
