// sort, argsort, nonzero, masked_select and randperm on every device: against
// std::stable_sort and plain loops on the host, with ties, NaN, odd sizes,
// strided inputs and empty tensors; gradients checked numerically.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <numeric>
#include <string>
#include <vector>

#include "support/test_support.h"

namespace redes {
namespace {

using testing::all_close;
using testing::gradcheck;
using testing::host_values;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

class SortTest : public ::testing::TestWithParam<Device> {
 protected:
  Tensor values(const std::vector<double>& v, const Shape& shape, DType dtype = kFloat64) const {
    return from_vector(v, shape, {kFloat64, GetParam()}).to(dtype);
  }
};

// The host's answer for one row: std::stable_sort of the positions with NaN
// greatest; returns (values, positions).
std::pair<std::vector<double>, std::vector<std::int64_t>> reference_row(const std::vector<double>& row,
                                                                         bool descending) {
  std::vector<std::int64_t> order(row.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::int64_t a, std::int64_t b) {
    const double x = row[static_cast<std::size_t>(a)], y = row[static_cast<std::size_t>(b)];
    if (std::isnan(x) || std::isnan(y)) return descending ? std::isnan(x) && !std::isnan(y) : std::isnan(y) && !std::isnan(x);
    return descending ? y < x : x < y;
  });
  std::vector<double> sorted;
  for (std::int64_t i : order) sorted.push_back(row[static_cast<std::size_t>(i)]);
  return {sorted, order};
}

bool same_values(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::isnan(a[i]) != std::isnan(b[i]) || (!std::isnan(a[i]) && a[i] != b[i])) return false;
  }
  return true;
}

TEST_P(SortTest, KnownExampleWithTiesAndNaN) {
  REDES_REQUIRE_DEVICE(GetParam());
  const Tensor x = values({3, kNaN, 1, 3, 2}, {5});
  const ValuesIndices up = sort(x);
  EXPECT_TRUE(same_values(host_values(up.values), {1, 2, 3, 3, kNaN}));
  EXPECT_TRUE(all_close(up.indices, {2, 4, 0, 3, 1}, 0, 0)) << "equal values keep their order";
  const ValuesIndices down = sort(x, 0, true);
  EXPECT_TRUE(same_values(host_values(down.values), {kNaN, 3, 3, 2, 1}));
  EXPECT_TRUE(all_close(down.indices, {1, 0, 3, 4, 2}, 0, 0));
  EXPECT_EQ(argsort(x).dtype(), kInt64);
  EXPECT_TRUE(all_close(argsort(x, -1, true), {1, 0, 3, 4, 2}, 0, 0));
}

// Random rows with many ties (integers in a small range, some NaN), every
// dim of 1-, 2- and 3-D shapes (odd sizes, a dim of 1), strided inputs, in
// several dtypes, both directions.
TEST_P(SortTest, MatchesStableSortOnTheHost) {
  REDES_REQUIRE_DEVICE(GetParam());
  std::uint64_t seed = 500;
  for (const Shape& shape : {Shape{7}, Shape{1, 9}, Shape{5, 1}, Shape{3, 17}, Shape{4, 3, 6}, Shape{2, 33, 5}}) {
    for (DType dtype : {kFloat32, kFloat64, kInt64, kInt32, kBFloat16}) {
      for (std::int64_t dim = 0; dim < static_cast<std::int64_t>(shape.size()); ++dim) {
        for (bool descending : {false, true}) {
          for (bool strided : {false, true}) {
            SCOPED_TRACE(shape_str(shape) + " " + dtype_name(dtype) + " dim " + std::to_string(dim) +
                         (descending ? " descending" : "") + (strided ? " strided" : ""));
            // Whole numbers in [-3, 3]: many ties.
            Tensor draws = testing::random_tensor(shape, seed++, {kFloat64}, -4, 4).to(kInt64).to(kFloat64);
            if (is_floating(dtype)) {
              // A NaN in some rows, where the dtype has one.
              draws = where(testing::random_tensor(shape, seed++, {kFloat64}) > 0.8, full(shape, kNaN, {kFloat64}),
                            draws);
            }
            Tensor x = draws.to(dtype).to(GetParam());
            if (strided) x = x.transpose(0, x.dim() - 1).contiguous().transpose(0, x.dim() - 1);
            const ValuesIndices result = sort(x, dim, descending);
            ASSERT_EQ(result.values.shape(), shape);
            ASSERT_EQ(result.indices.shape(), shape);
            // Each row along dim against the host, through the same transposition.
            const Tensor rows_in = x.transpose(dim, x.dim() - 1).contiguous();
            const std::vector<double> in = host_values(rows_in);
            const std::vector<double> got = host_values(result.values.transpose(dim, x.dim() - 1).contiguous());
            const std::vector<double> got_index =
                host_values(result.indices.transpose(dim, x.dim() - 1).contiguous());
            const std::size_t length = static_cast<std::size_t>(shape[static_cast<std::size_t>(dim)]);
            for (std::size_t start = 0; start < in.size(); start += length) {
              const std::vector<double> row(in.begin() + static_cast<std::ptrdiff_t>(start),
                                            in.begin() + static_cast<std::ptrdiff_t>(start + length));
              const auto [want, order] = reference_row(row, descending);
              const std::vector<double> have(got.begin() + static_cast<std::ptrdiff_t>(start),
                                             got.begin() + static_cast<std::ptrdiff_t>(start + length));
              ASSERT_TRUE(same_values(have, want)) << "row starting at " << start;
              for (std::size_t i = 0; i < length; ++i) {
                ASSERT_EQ(got_index[start + i], static_cast<double>(order[i])) << "row starting at " << start;
              }
            }
          }
        }
      }
    }
  }
}

TEST_P(SortTest, EmptyAndZeroDimensionalAndErrors) {
  REDES_REQUIRE_DEVICE(GetParam());
  const Tensor empty_rows = zeros({3, 0}, {kFloat32, GetParam()});
  EXPECT_EQ(sort(empty_rows, 1).values.shape(), (Shape{3, 0}));
  EXPECT_EQ(sort(empty_rows, 0).indices.shape(), (Shape{3, 0}));
  const ValuesIndices scalar = sort(full({}, 2.5, {kFloat64, GetParam()}));
  EXPECT_EQ(scalar.values.item(), 2.5);
  EXPECT_EQ(scalar.indices.item(), 0);
  EXPECT_THROW(sort(values({1, 2}, {2}), 1), Error);
  try {
    sort(zeros({2}, {kBool, GetParam()}));
    FAIL() << "sorted a bool tensor";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("sort: expected a numeric tensor, got bool"), std::string::npos) << e.what();
  }
}

TEST_P(SortTest, SortGradientGoesBackToEachValuesPosition) {
  REDES_REQUIRE_DEVICE(GetParam());
  const Tensor x = testing::random_tensor({4, 5}, 77, {kFloat64, GetParam()});
  for (std::int64_t dim : {0, 1}) {
    for (bool descending : {false, true}) {
      EXPECT_TRUE(gradcheck([dim, descending](const std::vector<Tensor>& in) { return sort(in[0], dim, descending).values; },
                            {x}));
    }
  }
}

TEST_P(SortTest, NonzeroKnownExampleAndHostReference) {
  REDES_REQUIRE_DEVICE(GetParam());
  const Tensor x = values({0, 1, 0, 2, -0.0, kNaN}, {2, 3});
  EXPECT_EQ(nonzero(x).shape(), (Shape{3, 2}));
  EXPECT_TRUE(all_close(nonzero(x), {0, 1, 1, 0, 1, 2}, 0, 0)) << "-0 is zero, NaN is not";
  EXPECT_TRUE(all_close(nonzero(x.t()), {0, 1, 1, 0, 2, 1}, 0, 0)) << "row-major order of the strided view";
  std::uint64_t seed = 900;
  for (const Shape& shape : {Shape{1}, Shape{13}, Shape{3, 1, 7}, Shape{2, 5, 4, 3}}) {
    for (DType dtype : {kBool, kFloat32, kInt32, kUInt8, kFloat16}) {
      SCOPED_TRACE(shape_str(shape) + " " + dtype_name(dtype));
      const Tensor draws = testing::random_tensor(shape, seed++, {kFloat64}) > 0.3;
      const Tensor x_host = draws.to(dtype);
      const std::vector<double> flat = host_values(x_host);
      std::vector<double> want;
      for (std::size_t i = 0; i < flat.size(); ++i) {
        if (flat[i] == 0) continue;
        std::int64_t rest = static_cast<std::int64_t>(i);
        std::vector<double> coordinate(shape.size());
        for (std::size_t d = shape.size(); d-- > 0;) {
          coordinate[d] = static_cast<double>(rest % shape[d]);
          rest /= shape[d];
        }
        want.insert(want.end(), coordinate.begin(), coordinate.end());
      }
      const Tensor got = nonzero(x_host.to(GetParam()));
      ASSERT_EQ(got.shape(), (Shape{static_cast<std::int64_t>(want.size() / shape.size()),
                                    static_cast<std::int64_t>(shape.size())}));
      EXPECT_TRUE(all_close(got, want, 0, 0));
    }
  }
  EXPECT_EQ(nonzero(zeros({0, 3}, {kFloat32, GetParam()})).shape(), (Shape{0, 2}));
  EXPECT_EQ(nonzero(zeros({4}, {kFloat32, GetParam()})).shape(), (Shape{0, 1}));
  EXPECT_EQ(nonzero(full({}, 3.0, {kFloat32, GetParam()})).shape(), (Shape{1, 0}));
}

TEST_P(SortTest, MaskedSelectWithBroadcastAndGradient) {
  REDES_REQUIRE_DEVICE(GetParam());
  const Tensor x = values({1, 2, 3, 4, 5, 6}, {2, 3});
  const Tensor mask = from_vector(std::vector<double>{1, 0, 1}, {3}, {kFloat64, GetParam()}) > 0.5;
  EXPECT_TRUE(all_close(masked_select(x, mask), {1, 3, 4, 6}, 0, 0)) << "the mask broadcast over rows";
  EXPECT_TRUE(all_close(masked_select(x.t(), mask.reshape({3, 1})), {1, 4, 3, 6}, 0, 0));
  EXPECT_EQ(masked_select(x, logical_and(mask, x < 0)).shape(), (Shape{0}));
  EXPECT_TRUE(gradcheck([mask](const std::vector<Tensor>& in) { return masked_select(in[0], mask); },
                        {testing::random_tensor({2, 3}, 5, {kFloat64, GetParam()})}));
  try {
    masked_select(x, x);
    FAIL() << "a float mask was taken";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("masked_select: expected a bool mask, got float64"), std::string::npos)
        << e.what();
  }
  EXPECT_THROW(masked_select(x, zeros({2}, {kBool, GetParam()})), Error) << "shapes that do not broadcast";
}

TEST_P(SortTest, RandpermIsAPermutationTheSameOnEveryDevice) {
  REDES_REQUIRE_DEVICE(GetParam());
  for (std::int64_t n : {0, 1, 2, 17, 1000}) {
    Generator on_cpu(42), here(42);
    const Tensor expected = randperm(n, {kInt64}, &on_cpu);
    const Tensor p = randperm(n, {kInt64, GetParam()}, &here);
    ASSERT_EQ(p.shape(), (Shape{n}));
    EXPECT_EQ(p.device(), GetParam());
    EXPECT_TRUE(all_close(p, host_values(expected), 0, 0)) << "n = " << n;
    std::vector<double> sorted = host_values(p);
    std::sort(sorted.begin(), sorted.end());
    for (std::int64_t i = 0; i < n; ++i) ASSERT_EQ(sorted[static_cast<std::size_t>(i)], static_cast<double>(i));
  }
  // Successive draws differ, and all six orders of three appear about equally
  // often (each has probability 1/6: about 1000 +- 29 of 6000).
  Generator generator(7);
  std::map<std::vector<double>, int> counts;
  for (int draw = 0; draw < 6000; ++draw) ++counts[host_values(randperm(3, {kInt64, GetParam()}, &generator))];
  ASSERT_EQ(counts.size(), 6u);
  for (const auto& [order, count] : counts) EXPECT_NEAR(count, 1000, 150);
  EXPECT_THROW(randperm(-1), Error);
  EXPECT_THROW(randperm(3, {kFloat32}), Error);
}

REDES_INSTANTIATE_FOR_DEVICES(SortTest);

}  // namespace
}  // namespace redes
