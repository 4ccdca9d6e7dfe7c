// Factories, copies, conversions, item and printing, on every compiled device.
#include <gtest/gtest.h>

#include "support/test_support.h"

namespace redes {
namespace {

using testing::all_close;
using testing::host_values;

class TensorTest : public ::testing::TestWithParam<Device> {};

TEST_P(TensorTest, FactoriesFillEveryElement) {
  REDES_REQUIRE_DEVICE(GetParam());
  const Device device = GetParam();
  EXPECT_TRUE(all_close(zeros({2, 3}, {kFloat32, device}), std::vector<double>(6, 0.0), 0, 0));
  EXPECT_TRUE(all_close(ones({3}, {kFloat64, device}), std::vector<double>(3, 1.0), 0, 0));
  EXPECT_TRUE(all_close(full({2, 2}, -2.5, {kFloat32, device}), std::vector<double>(4, -2.5), 0, 0));
  EXPECT_TRUE(all_close(arange(5, {kInt64, device}), {0, 1, 2, 3, 4}, 0, 0));
  const Tensor s = scalar_tensor(7.0, {kInt32, device});
  EXPECT_EQ(s.dim(), 0);
  EXPECT_EQ(s.numel(), 1);
  EXPECT_EQ(s.item(), 7.0);
  EXPECT_EQ(zeros({0, 4}, {kFloat32, device}).numel(), 0);
}

TEST_P(TensorTest, FromVectorRoundTripsAndConverts) {
  REDES_REQUIRE_DEVICE(GetParam());
  const Tensor t = from_vector(std::vector<float>{1.5f, -2.0f, 3.25f, 0.0f}, {2, 2}, {kFloat32, GetParam()});
  EXPECT_EQ(t.shape(), (Shape{2, 2}));
  EXPECT_EQ(t.device(), GetParam());
  EXPECT_EQ(t.to_vector<float>(), (std::vector<float>{1.5f, -2.0f, 3.25f, 0.0f}));
  EXPECT_EQ(t.to(kInt64).to_vector<std::int64_t>(), (std::vector<std::int64_t>{1, -2, 3, 0}));
  EXPECT_EQ(t.to(kBool).to(kUInt8).to_vector<std::uint8_t>(), (std::vector<std::uint8_t>{1, 1, 1, 0}));
  EXPECT_THROW(t.to_vector<double>(), Error);
  EXPECT_THROW(from_vector(std::vector<float>{1, 2, 3}, {2, 2}), Error);
}

TEST_P(TensorTest, ClonesAreIndependentCopies) {
  REDES_REQUIRE_DEVICE(GetParam());
  Tensor a = testing::random_tensor({3, 5}, 1, {kFloat32, GetParam()});
  Tensor b = a.clone();
  EXPECT_TRUE(all_close(b, a, 0, 0));
  b.fill_(9.0);
  EXPECT_FALSE(all_close(a, b, 0, 0));
  Tensor alias = a;  // value semantics over shared storage: a copy is a handle
  alias.zero_();
  EXPECT_TRUE(all_close(a, std::vector<double>(15, 0.0), 0, 0));
}

TEST_P(TensorTest, MovesBetweenDevicesKeepValues) {
  REDES_REQUIRE_DEVICE(GetParam());
  const Tensor host = testing::random_tensor({4, 7}, 2, {kFloat64});
  const Tensor there = host.to(GetParam());
  EXPECT_EQ(there.device(), GetParam());
  EXPECT_TRUE(all_close(there.to(Device::cpu()), host, 0, 0));
  // A non-contiguous view crosses devices with its logical order intact.
  EXPECT_TRUE(all_close(host.t().to(GetParam()), host.t(), 0, 0));
}

TEST_P(TensorTest, ItemNeedsExactlyOneElement) {
  REDES_REQUIRE_DEVICE(GetParam());
  EXPECT_DOUBLE_EQ(full({1, 1}, 3.5, {kFloat32, GetParam()}).item(), 3.5);
  EXPECT_THROW(zeros({2}, {kFloat32, GetParam()}).item(), Error);
}

TEST_P(TensorTest, CopyBroadcastsAndConverts) {
  REDES_REQUIRE_DEVICE(GetParam());
  Tensor target = zeros({2, 3}, {kFloat64, GetParam()});
  target.copy_(from_vector(std::vector<float>{1, 2, 3}, {3}, {kFloat32, Device::cpu()}));
  EXPECT_TRUE(all_close(target, {1, 2, 3, 1, 2, 3}, 0, 0));
  EXPECT_THROW(target.copy_(zeros({4})), Error);
}

TEST(TensorPrint, ShowsValuesDtypeAndHistory) {
  const Tensor t = from_vector(std::vector<double>{1, 2.5, -3, 4}, {2, 2});
  EXPECT_EQ(t.str(), "tensor([[1.0000, 2.5000],\n        [-3.0000, 4.0000]], dtype=float32)");
  EXPECT_EQ(arange(3, {kInt64}).str(), "tensor([0, 1, 2], dtype=int64)");
  Tensor w = ones({2}).requires_grad_();
  EXPECT_NE(w.str().find("requires_grad=true"), std::string::npos);
  EXPECT_NE((w * 2.0).str().find("grad_fn=<mul>"), std::string::npos);
  const std::string big = zeros({100, 100}).str();
  EXPECT_NE(big.find("..."), std::string::npos);
  EXPECT_NE(big.find("shape=(100, 100)"), std::string::npos);
  EXPECT_LT(big.size(), 1000u);
  EXPECT_EQ(Tensor().str(), "tensor(undefined)");
}

TEST(TensorUndefined, AccessThrowsInsteadOfCrashing) {
  const Tensor undefined;
  EXPECT_FALSE(undefined.defined());
  EXPECT_THROW(undefined.shape(), Error);
  EXPECT_THROW(undefined + ones({1}), Error);
}

TEST(TensorCuda, UnavailableDeviceGivesClearError) {
  if (cuda::is_available()) GTEST_SKIP() << "a CUDA device is present; this checks the no-GPU message";
  try {
    zeros({2}, {kFloat32, Device::cuda(0)});
    FAIL() << "expected redes::Error";
  } catch (const Error& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find("cuda:0"), std::string::npos) << message;
    EXPECT_NE(message.find(cuda::unavailable_reason()), std::string::npos) << message;
  }
}

REDES_INSTANTIATE_FOR_DEVICES(TensorTest);

}  // namespace
}  // namespace redes
