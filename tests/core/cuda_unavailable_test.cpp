// Where no CUDA device can be used (a build without the backend, a machine
// without a driver or GPU), streams, events and pinned memory say why
// instead of crashing; pinned-memory queries and non-blocking copies that
// stay on the host work everywhere.
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "support/test_support.h"

namespace redes {
namespace {

using testing::expect_error;

class CudaUnavailableTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (cuda::is_available()) GTEST_SKIP() << "a CUDA device is available; cuda_stream_test covers the API";
    reason_ = cuda::unavailable_reason();
    ASSERT_FALSE(reason_.empty());
  }
  std::string reason_;
};

TEST_F(CudaUnavailableTest, StreamsSayWhyTheyCannotBeMade) {
  expect_error([] { cuda::Stream::create(); }, {"Stream::create: cannot use cuda:0: ", reason_});
  expect_error([] { cuda::Stream::create(3); }, {"Stream::create: cannot use cuda:3: ", reason_});
  expect_error([] { cuda::Stream::default_stream(); }, {"Stream::default_stream: cannot use cuda:0: ", reason_});
  expect_error([] { cuda::Stream::current(1); }, {"Stream::current: cannot use cuda:1: ", reason_});
}

TEST_F(CudaUnavailableTest, EventsSayWhyTheyCannotBeMade) {
  expect_error([] { cuda::Event event; }, {"Event: cannot use cuda:0: ", reason_});
  expect_error([] { cuda::Event event(0, true); }, {"Event: cannot use cuda:0: ", reason_});
}

TEST_F(CudaUnavailableTest, PinMemorySaysItNeedsACudaDevice) {
  const Tensor host = arange(6, {kFloat32}).view({2, 3});
  expect_error([&] { host.pin_memory(); },
               {"pin_memory: page-locked host memory needs a usable CUDA device: ", reason_});
  EXPECT_FALSE(host.is_pinned());
  expect_error([&] { pinned_memory_allocator(); },
               {"pin_memory: page-locked host memory needs a usable CUDA device: ", reason_});
}

TEST_F(CudaUnavailableTest, NonBlockingCopyToCudaSaysWhy) {
  expect_error([] { ones({2}).to(Device::cuda(0), true); }, {"to: cannot use cuda:0: ", reason_});
}

TEST_F(CudaUnavailableTest, SynchronizeWithNothingQueuedReturns) {
  // Nothing can have been queued without a device, as cuda.h promises.
  EXPECT_NO_THROW(cuda::synchronize(0));
}

TEST(PinnedMemoryTest, OrdinaryTensorsAreNotPinned) {
  EXPECT_FALSE(ones({3}).is_pinned());
  EXPECT_FALSE(ones({3, 4}).t().is_pinned());
  EXPECT_FALSE(zeros({0}).is_pinned());
}

TEST(PinnedMemoryTest, NonBlockingCopyToTheSameDeviceIsTheTensorItself) {
  const Tensor host = arange(4, {kFloat64});
  const Tensor same = host.to(Device::cpu(), true);
  EXPECT_EQ(same.data_ptr(), host.data_ptr());
}

}  // namespace
}  // namespace redes
