// Comparisons, logic, where and masked_fill.
#include <gtest/gtest.h>

#include "support/test_support.h"

namespace redes {
namespace {

using testing::all_close;
using testing::gradcheck;
using testing::host_values;

class CompareTest : public ::testing::TestWithParam<Device> {};

TEST_P(CompareTest, ComparisonsGiveBoolsWithBroadcasting) {
  REDES_REQUIRE_DEVICE(GetParam());
  const Tensor a = from_vector(std::vector<double>{1, 2, 3, 4, 5, 6}, {2, 3}, {kFloat32, GetParam()});
  const Tensor b = from_vector(std::vector<double>{2, 2, 4}, {3}, {kFloat32, GetParam()});
  const Tensor lt_ab = a < b;
  EXPECT_EQ(lt_ab.dtype(), kBool);
  EXPECT_EQ(lt_ab.shape(), (Shape{2, 3}));
  EXPECT_EQ(host_values(lt_ab), (std::vector<double>{1, 0, 1, 0, 0, 0}));
  EXPECT_EQ(host_values(a <= b), (std::vector<double>{1, 1, 1, 0, 0, 0}));
  EXPECT_EQ(host_values(a > b), (std::vector<double>{0, 0, 0, 1, 1, 1}));
  EXPECT_EQ(host_values(a >= b), (std::vector<double>{0, 1, 0, 1, 1, 1}));
  EXPECT_EQ(host_values(a == b), (std::vector<double>{0, 1, 0, 0, 0, 0}));
  EXPECT_EQ(host_values(a != b), (std::vector<double>{1, 0, 1, 1, 1, 1}));
  EXPECT_EQ(host_values(a > 3.5), (std::vector<double>{0, 0, 0, 1, 1, 1}));
  // Mixed dtypes compare in the promoted type: 2 (int64) == 2.0 (float32).
  EXPECT_EQ(host_values(eq(arange(3, {kInt64, GetParam()}), full({3}, 2.0, {kFloat32, GetParam()}))),
            (std::vector<double>{0, 0, 1}));
}

TEST_P(CompareTest, LogicalOps) {
  REDES_REQUIRE_DEVICE(GetParam());
  const Tensor p = from_vector(std::vector<std::uint8_t>{0, 0, 1, 1}, {4}, {kBool, GetParam()});
  const Tensor q = from_vector(std::vector<std::uint8_t>{0, 1, 0, 1}, {4}, {kBool, GetParam()});
  EXPECT_EQ(host_values(logical_and(p, q)), (std::vector<double>{0, 0, 0, 1}));
  EXPECT_EQ(host_values(logical_or(p, q)), (std::vector<double>{0, 1, 1, 1}));
  EXPECT_EQ(host_values(logical_not(p)), (std::vector<double>{1, 1, 0, 0}));
  EXPECT_EQ(host_values(logical_not(arange(3, {kInt64, GetParam()}))), (std::vector<double>{1, 0, 0}));
}

TEST_P(CompareTest, WhereAndMaskedFill) {
  REDES_REQUIRE_DEVICE(GetParam());
  const Tensor x = from_vector(std::vector<double>{-1, 2, -3, 4}, {2, 2}, {kFloat64, GetParam()});
  const Tensor positive = x > 0.0;
  EXPECT_TRUE(all_close(where(positive, x, zeros({}, {kFloat64, GetParam()})), {0, 2, 0, 4}, 0, 0));
  EXPECT_TRUE(all_close(masked_fill(x, positive, 9.0), {-1, 9, -3, 9}, 0, 0));
  // The condition broadcasts: a column mask picks whole rows.
  const Tensor rows = from_vector(std::vector<std::uint8_t>{1, 0}, {2, 1}, {kBool, GetParam()});
  EXPECT_TRUE(all_close(where(rows, x, -x), {-1, 2, 3, -4}, 0, 0));
  EXPECT_THROW(where(x, x, x), Error);  // not a bool condition
  const Tensor a = testing::random_tensor({2, 3}, 1, {kFloat64, GetParam()});
  const Tensor b = testing::random_tensor({3}, 2, {kFloat64, GetParam()});
  const Tensor condition = testing::random_tensor({2, 3}, 3, {kFloat64, GetParam()}) > 0.0;
  EXPECT_TRUE(gradcheck([&](const std::vector<Tensor>& in) { return where(condition, in[0], in[1]); }, {a, b}));
  EXPECT_TRUE(gradcheck([&](const std::vector<Tensor>& in) { return masked_fill(in[0], condition, 2.0); }, {a}));
}

REDES_INSTANTIATE_FOR_DEVICES(CompareTest);

}  // namespace
}  // namespace redes
