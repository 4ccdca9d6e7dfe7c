// The fused dropout kernel against the composite it replaced (a bernoulli
// mask times the input, scaled), on every compiled device.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "support/test_support.h"

namespace redes {
namespace {

using testing::all_close;
using testing::host_values;

// The composite: the mask bernoulli(1 - p) draws, times x, scaled by 1 / (1 - p).
Tensor composite_dropout(const Tensor& x, double p, Generator& generator) {
  const Tensor keep = bernoulli(x.shape(), 1.0 - p, {x.dtype(), x.device()}, &generator);
  return x * (keep * (1.0 / (1.0 - p)));
}

TEST(FusedDropout, MaskAndValuesAreBitIdenticalToTheCompositeOnCpu) {
  // Sizes that end mid-block, with a generator that has already drawn (offset != 0).
  for (const DType dtype : {kFloat32, kFloat64}) {
    for (const double p : {0.1, 0.3, 0.5, 0.9}) {
      for (const std::int64_t n : {1, 7, 4097, 100003}) {
        SCOPED_TRACE(std::string(dtype_name(dtype)) + " p=" + std::to_string(p) + " n=" + std::to_string(n));
        const Tensor x = testing::random_tensor({n}, 11, {dtype}, -3, 3);
        Generator fused_source(42), composite_source(42);
        (void)rand({5}, {}, &fused_source);
        (void)rand({5}, {}, &composite_source);
        const Tensor fused = dropout(x, p, true, &fused_source);
        const Tensor expected = composite_dropout(x, p, composite_source);
        EXPECT_TRUE(all_close(fused, expected, 0, 0));
        EXPECT_EQ(fused_source.offset(), composite_source.offset());  // later draws stay in step
        // The kept elements are exactly the composite's: ones in, scale or 0 out.
        Generator a(3), b(3);
        const Tensor kept = ne(dropout(ones({n}, {dtype}), p, true, &a), zeros({}, {dtype}));
        const Tensor mask = ne(bernoulli({n}, 1.0 - p, {dtype}, &b), zeros({}, {dtype}));
        EXPECT_TRUE(all_close(kept, mask, 0, 0));
      }
    }
  }
}

TEST(FusedDropout, InfAndNanFollowTheComposite) {
  // A dropped inf becomes inf * 0 = NaN, as in the composite.
  const double inf = std::numeric_limits<double>::infinity();
  const Tensor x = from_vector(std::vector<double>(64, inf), {64}, {kFloat64});
  Generator a(5), b(5);
  const std::vector<double> fused = host_values(dropout(x, 0.5, true, &a));
  const std::vector<double> expected = host_values(composite_dropout(x, 0.5, b));
  std::size_t dropped = 0;
  for (std::size_t i = 0; i < fused.size(); ++i) {
    EXPECT_EQ(std::isnan(fused[i]), std::isnan(expected[i])) << i;
    if (!std::isnan(expected[i])) {
      EXPECT_EQ(fused[i], expected[i]) << i;
    }
    dropped += std::isnan(fused[i]) ? 1 : 0;
  }
  EXPECT_GT(dropped, 0u);
  EXPECT_LT(dropped, 64u);
}

class DropoutDevices : public ::testing::TestWithParam<Device> {};

TEST_P(DropoutDevices, MatchesTheCpuBitForBit) {
  REDES_REQUIRE_DEVICE(GetParam());
  for (const DType dtype : {kFloat32, kFloat64}) {
    const Tensor x = testing::random_tensor({3, 1001}, 2, {dtype});
    Generator cpu_source(17), device_source(17);
    const Tensor expected = dropout(x, 0.4, true, &cpu_source);
    EXPECT_TRUE(all_close(dropout(x.to(GetParam()), 0.4, true, &device_source), expected, 0, 0)) << dtype_name(dtype);
  }
}

TEST_P(DropoutDevices, StridedInputGivesTheContiguousResult) {
  REDES_REQUIRE_DEVICE(GetParam());
  // The mask follows the row-major index of the logical shape, not memory order.
  const Tensor base = testing::random_tensor({9, 13}, 4, {kFloat32, GetParam()});
  const Tensor transposed = base.transpose(0, 1);
  ASSERT_FALSE(transposed.is_contiguous());
  Generator a(8), b(8);
  EXPECT_TRUE(all_close(dropout(transposed, 0.25, true, &a), dropout(transposed.contiguous(), 0.25, true, &b), 0, 0));
  const Tensor every_other = base.slice(1, 0, 13, 2);
  Generator c(8), d(8);
  EXPECT_TRUE(all_close(dropout(every_other, 0.25, true, &c), composite_dropout(every_other, 0.25, d), 0, 0));
}

TEST_P(DropoutDevices, GradientIsTheMaskScaledAsInTheComposite) {
  REDES_REQUIRE_DEVICE(GetParam());
  Tensor x = testing::random_tensor({5, 50}, 6, {kFloat32, GetParam()}).requires_grad_();
  Tensor y = testing::random_tensor({5, 50}, 6, {kFloat32, GetParam()}).requires_grad_();
  Generator a(12), b(12);
  // The summed loss hands backward a broadcast (stride-0) gradient.
  (dropout(x, 0.3, true, &a) * 2.0).sum().backward();
  (composite_dropout(y, 0.3, b) * 2.0).sum().backward();
  EXPECT_TRUE(all_close(x.grad(), y.grad(), 0, 0));
}

TEST_P(DropoutDevices, Gradcheck) {
  REDES_REQUIRE_DEVICE(GetParam());
  const Tensor x = testing::random_tensor({4, 6}, 9, {kFloat64, GetParam()});
  EXPECT_TRUE(testing::gradcheck(
      [](const std::vector<Tensor>& in) {
        Generator source(21);  // the same mask on every call
        return dropout(in[0].transpose(0, 1), 0.35, true, &source);
      },
      {x}));
}

REDES_INSTANTIATE_FOR_DEVICES(DropoutDevices);

}  // namespace
}  // namespace redes
