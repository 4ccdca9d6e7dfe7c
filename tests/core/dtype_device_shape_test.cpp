#include <gtest/gtest.h>

#include <redes.h>

namespace redes {
namespace {

TEST(DType, NamesAndSizes) {
  EXPECT_STREQ(dtype_name(kFloat32), "float32");
  EXPECT_STREQ(dtype_name(kBool), "bool");
  EXPECT_EQ(dtype_size(kFloat64), 8u);
  EXPECT_EQ(dtype_size(kInt32), 4u);
  EXPECT_EQ(dtype_size(kUInt8), 1u);
  EXPECT_TRUE(is_floating(kFloat32));
  EXPECT_FALSE(is_floating(kInt64));
}

TEST(DType, PromotionPrefersWiderAndFloat) {
  EXPECT_EQ(promote_types(kFloat32, kFloat64), kFloat64);
  EXPECT_EQ(promote_types(kInt64, kFloat32), kFloat32);
  EXPECT_EQ(promote_types(kInt32, kInt64), kInt64);
  EXPECT_EQ(promote_types(kBool, kUInt8), kUInt8);
}

TEST(DType, SixteenBitTypes) {
  EXPECT_TRUE(is_floating(kBFloat16));
  EXPECT_TRUE(is_floating(kFloat16));
  EXPECT_TRUE(is_low_precision(kFloat16));
  EXPECT_FALSE(is_low_precision(kFloat32));
  EXPECT_EQ(dtype_size(kBFloat16), 2u);
  EXPECT_EQ(promote_types(kBFloat16, kFloat32), kFloat32);
  EXPECT_EQ(promote_types(kInt64, kFloat16), kFloat16);
  EXPECT_EQ(promote_types(kBFloat16, kBFloat16), kBFloat16);
  // Neither 16-bit type holds the other.
  EXPECT_EQ(promote_types(kFloat16, kBFloat16), kFloat32);
  EXPECT_EQ(promote_types(kBFloat16, kFloat16), kFloat32);
  const Tensor t = empty({2}, {kBFloat16});
  EXPECT_EQ(t.dtype(), kBFloat16);
  EXPECT_EQ(t.numel() * static_cast<std::int64_t>(dtype_size(t.dtype())), 4);
}

TEST(Device, ParsesAndPrints) {
  EXPECT_EQ(Device::parse("cpu"), Device::cpu());
  EXPECT_EQ(Device::parse("cuda"), Device::cuda(0));
  EXPECT_EQ(Device::parse("cuda:3"), Device::cuda(3));
  EXPECT_EQ(Device::cuda(2).str(), "cuda:2");
  EXPECT_THROW(Device::parse("gpu"), Error);
  EXPECT_THROW(Device::parse("cuda:"), Error);
  EXPECT_THROW(Device::parse("cuda:-1"), Error);
  EXPECT_THROW(Device::parse("cuda:1x"), Error);
}

TEST(Device, BestIsCudaExactlyWhenAvailable) {
  EXPECT_EQ(Device::best().is_cuda(), cuda::is_available());
  if (!cuda::is_available()) {
    EXPECT_FALSE(cuda::unavailable_reason().empty());
  }
}

TEST(Shape, NumelStridesAndPrinting) {
  EXPECT_EQ(numel_of({2, 3, 4}), 24);
  EXPECT_EQ(numel_of({}), 1);
  EXPECT_EQ(numel_of({3, 0}), 0);
  EXPECT_EQ(contiguous_strides({2, 3, 4}), (Strides{12, 4, 1}));
  EXPECT_EQ(shape_str({2, 3}), "(2, 3)");
  EXPECT_EQ(shape_str({5}), "(5,)");
  EXPECT_THROW(numel_of({-1, 2}), Error);
  EXPECT_THROW(numel_of({1LL << 40, 1LL << 40}), Error);
}

TEST(Shape, BroadcastsLikeNumPy) {
  EXPECT_EQ(broadcast_shapes({3, 1}, {1, 4}, "t"), (Shape{3, 4}));
  EXPECT_EQ(broadcast_shapes({2, 3, 4}, {4}, "t"), (Shape{2, 3, 4}));
  EXPECT_EQ(broadcast_shapes({}, {2}, "t"), (Shape{2}));
  try {
    broadcast_shapes({2, 3}, {4}, "add");
    FAIL() << "expected redes::Error";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("add: shapes (2, 3) and (4,) cannot be broadcast"), std::string::npos)
        << error.what();
  }
}

TEST(Shape, WrapsNegativeDims) {
  EXPECT_EQ(wrap_dim(-1, 3, "t"), 2);
  EXPECT_EQ(wrap_dim(0, 3, "t"), 0);
  EXPECT_THROW(wrap_dim(3, 3, "t"), Error);
  EXPECT_THROW(wrap_dim(-4, 3, "t"), Error);
}

}  // namespace
}  // namespace redes
