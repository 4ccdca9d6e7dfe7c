// cuda::Graph: capture runs nothing, replays repeat the captured work on the
// buffers it captured, memory the body allocated stays the graph's, and
// bodies a graph cannot hold fail with a clear error. Every test skips where
// no CUDA device can be used (and fails with REDES_REQUIRE_CUDA=1).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "support/test_support.h"

namespace redes {
namespace {

const Device kCuda = Device::cuda(0);
using testing::all_close;

std::string capture_error(const std::function<void()>& body) {
  try {
    cuda::Graph::capture(0, body);
  } catch (const Error& error) {
    return error.what();
  }
  return "no error";
}

TEST(CudaGraphTest, CaptureRunsNothingAndEachReplayRunsTheStepOnce) {
  REDES_REQUIRE_DEVICE(kCuda);
  Tensor x = from_vector<float>({1, 2, 3}, {3}, {kFloat32, kCuda});
  Tensor doubled;
  cuda::Graph graph = cuda::Graph::capture(0, [&] {
    EXPECT_TRUE(cuda::capture_in_progress());
    doubled = x * 2.0;   // a tensor the body makes: the graph's memory
    x.mul_(2.0).add_(doubled);  // x = 4x
  });
  EXPECT_FALSE(cuda::capture_in_progress());
  EXPECT_TRUE(all_close(x, {1.0, 2.0, 3.0}, 0, 0));  // nothing ran
  graph.replay();
  EXPECT_TRUE(all_close(x, {4.0, 8.0, 12.0}, 0, 0));
  EXPECT_TRUE(all_close(doubled, {2.0, 4.0, 6.0}, 0, 0));
  graph.replay();
  graph.replay();
  EXPECT_TRUE(all_close(x, {64.0, 128.0, 192.0}, 0, 0));
  EXPECT_TRUE(all_close(doubled, {32.0, 64.0, 96.0}, 0, 0));
  // New data in the captured buffer is what the next replay reads.
  x.copy_(from_vector<float>({-1, 0, 0.5}, {3}));
  graph.replay();
  EXPECT_TRUE(all_close(x, {-4.0, 0.0, 2.0}, 0, 0));
}

TEST(CudaGraphTest, MemoryTheBodyAllocatedIsNotReusedOutsideTheGraph) {
  REDES_REQUIRE_DEVICE(kCuda);
  const Tensor input = testing::random_tensor({64, 64}, 3, {kFloat32, kCuda});
  Tensor result;
  cuda::Graph graph = cuda::Graph::capture(0, [&] {
    // Temporaries freed inside the body; their blocks serve later steps of it.
    const Tensor a = matmul(input, input);
    const Tensor b = relu(a) + 1.0;
    result = sum(b * a, {1});
  });
  // Work outside the graph that allocates and writes many blocks of the sizes the body used.
  std::vector<Tensor> others;
  for (int i = 0; i < 16; ++i) others.push_back(full({64, 64}, 7.0, {kFloat32, kCuda}));
  graph.replay();
  for (Tensor& other : others) other.fill_(-3.0);
  const Tensor a = matmul(input, input);
  const Tensor expected = sum((relu(a) + 1.0) * a, {1});
  EXPECT_TRUE(all_close(result, expected, 1e-5, 1e-5));
  for (const Tensor& other : others) EXPECT_TRUE(all_close(other, full({64, 64}, -3.0), 0, 0));
}

TEST(CudaGraphTest, ABodyThatReadsTheDeviceOrDrawsRandomNumbersFailsClearly) {
  REDES_REQUIRE_DEVICE(kCuda);
  const Tensor x = ones({4}, {kFloat32, kCuda});
  const std::string read = capture_error([&] { (void)(x * 2.0).sum().item(); });
  EXPECT_NE(read.find("Graph::capture"), std::string::npos) << read;
  const std::string drawn = capture_error([&] { (void)dropout(x, 0.5, true); });
  EXPECT_NE(drawn.find("random numbers cannot be drawn inside a CUDA graph capture"), std::string::npos) << drawn;
  const std::string nested = capture_error([&] { cuda::Graph::capture(0, [] {}); });
  EXPECT_NE(nested.find("captures do not nest"), std::string::npos) << nested;
  // The device works as before.
  EXPECT_FALSE(cuda::capture_in_progress());
  EXPECT_DOUBLE_EQ((x * 3.0).sum().item(), 12.0);
}

}  // namespace
}  // namespace redes
