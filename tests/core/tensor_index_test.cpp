// x.index({...}) and index_put_ as libtorch writes them: integers, Slice,
// None, "...", integer tensors and bool masks.
#include <gtest/gtest.h>

#include "support/test_support.h"

namespace redes {
namespace {

using namespace redes::indexing;
using testing::all_close;
using testing::expect_error;
using testing::host_values;

// x[i, j, k] = 100 i + 10 j + k: every value names its position.
Tensor positional(Device device = Device::cpu()) {
  std::vector<double> values;
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 4; ++k) values.push_back(100.0 * i + 10.0 * j + k);
  return from_vector(values, {2, 3, 4}, {kFloat64, device});
}

class Indexing : public ::testing::TestWithParam<Device> {};

TEST_P(Indexing, IntegersSlicesNoneAndEllipsisGiveViews) {
  const Device device = GetParam();
  REDES_REQUIRE_DEVICE(device);
  const Tensor x = positional(device);
  // x[1:, 2] -> (1, 4)
  const Tensor a = x.index({Slice(1, None), 2});
  EXPECT_EQ(a.shape(), (Shape{1, 4}));
  EXPECT_TRUE(all_close(a, {120, 121, 122, 123}, 0, 0));
  // x[-1, ::2, -3:-1]
  const Tensor b = x.index({-1, Slice(None, None, 2), Slice(-3, -1)});
  EXPECT_EQ(b.shape(), (Shape{2, 2}));
  EXPECT_TRUE(all_close(b, {101, 102, 121, 122}, 0, 0));
  // x[..., 3] and x[Ellipsis, 3]; x[0, ...]
  EXPECT_TRUE(all_close(x.index({"...", 3}), {3, 13, 23, 103, 113, 123}, 0, 0));
  EXPECT_TRUE(all_close(x.index({Ellipsis, 3}), x.index({"...", 3}), 0, 0));
  EXPECT_EQ(x.index({0, "..."}).shape(), (Shape{3, 4}));
  // x[None, 0, :, None]
  EXPECT_EQ(x.index({None, 0, Slice(), None}).shape(), (Shape{1, 3, 1, 4}));
  // Out-of-range slice bounds clamp, as in Python.
  EXPECT_EQ(x.index({Slice(1, 10)}).shape(), (Shape{1, 3, 4}));
  EXPECT_EQ(x.index({Slice(5, None)}).shape(), (Shape{0, 3, 4}));
  // A view: writing through it changes x.
  Tensor y = x.clone();
  y.index({Slice(1, None), 2}).fill_(-1.0);
  EXPECT_EQ(host_values(y)[12 + 2 * 4], -1.0);
  EXPECT_EQ(host_values(y)[2 * 4], 20.0);
}

TEST_P(Indexing, IntegerTensorsPickPositionsAlongADim) {
  const Device device = GetParam();
  REDES_REQUIRE_DEVICE(device);
  const Tensor x = positional(device);
  const Tensor rows = from_vector<std::int64_t>({2, 0, 2}, {3}, {kInt64, device});
  const Tensor picked = x.index({Slice(), rows, 1});  // x[:, [2, 0, 2], 1]
  EXPECT_EQ(picked.shape(), (Shape{2, 3}));
  EXPECT_TRUE(all_close(picked, {21, 1, 21, 121, 101, 121}, 0, 0));
  // A 2-D index replaces the dim by its own two dims.
  const Tensor grid = from_vector<std::int64_t>({3, 0, 1, 1}, {2, 2}, {kInt64, device});
  const Tensor g = x.index({0, 0, grid});
  EXPECT_EQ(g.shape(), (Shape{2, 2}));
  EXPECT_TRUE(all_close(g, {3, 0, 1, 1}, 0, 0));
}

TEST_P(Indexing, BoolMasksSelectElementsInRowMajorOrder) {
  const Device device = GetParam();
  REDES_REQUIRE_DEVICE(device);
  const Tensor x = positional(device);
  const Tensor row_mask = from_vector<std::int64_t>({1, 0, 1}, {3}, {kInt64, device}) != 0;
  const Tensor rows = x.index({0, row_mask});
  EXPECT_EQ(rows.shape(), (Shape{2, 4}));
  EXPECT_TRUE(all_close(rows, {0, 1, 2, 3, 20, 21, 22, 23}, 0, 0));
  // A mask over two dims: the selected (i, j) in row-major order.
  const Tensor mask = x.index({Slice(), Slice(), 0}) > 15.0;  // (2, 3)
  const Tensor selected = x.index({mask});
  EXPECT_EQ(selected.shape(), (Shape{4, 4}));
  EXPECT_EQ(host_values(selected.index({Slice(), 0})), (std::vector<double>{20, 100, 110, 120}));
}

TEST_P(Indexing, IndexPutWritesThroughTheView) {
  const Device device = GetParam();
  REDES_REQUIRE_DEVICE(device);
  Tensor x = zeros({2, 3}, {kFloat64, device});
  x.index_put_({Slice(), 0}, 1.0);
  x.index_put_({1, Slice(1, None)}, from_vector<double>({5, 6}, {2}, {kFloat64, device}));
  x.index_put_({0, Slice(1, None)}, scalar_tensor(7.0, {kFloat64, device}));  // broadcast
  EXPECT_TRUE(all_close(x, {1, 7, 7, 1, 5, 6}, 0, 0));
}

TEST_P(Indexing, EveryFormIsDifferentiable) {
  const Device device = GetParam();
  REDES_REQUIRE_DEVICE(device);
  const Tensor x = testing::random_tensor({3, 4, 5}, 21, {kFloat64, device});
  const Tensor positions = from_vector<std::int64_t>({4, 0, 4, 2}, {4}, {kInt64, device});
  const Tensor mask = testing::random_tensor({3, 4}, 22, {kFloat64, device}) > 0.0;
  EXPECT_TRUE(testing::gradcheck(
      [](const auto& in) { return in[0].index({Slice(1, None), None, -1, Slice(None, None, 2)}); }, {x}));
  EXPECT_TRUE(testing::gradcheck([&](const auto& in) { return in[0].index({"...", positions}); }, {x}));
  EXPECT_TRUE(testing::gradcheck([&](const auto& in) { return in[0].index({mask}); }, {x}));
}

TEST(IndexingErrors, MistakesAreNamed) {
  const Tensor x = positional();
  expect_error([&] { x.index({0, 0, 0, 0}); }, {"too many indices", "dimension 3"});
  expect_error([&] { x.index({0, 3}); }, {"index 1", "3", "out of range", "size 3"});
  expect_error([&] { x.index({"...", "..."}); }, "at most one \"...\"");
  expect_error([&] { x.index({"::"}); }, {"\"...\"", "\"::\""});
  expect_error([&] { Slice(0, 2, 0); }, {"positive step", "0"});
  expect_error([&] { Slice(None, None, -1); }, {"positive step", "flip"});
  const Tensor positions = from_vector<std::int64_t>({0}, {1}, {kInt64});
  expect_error([&] { x.index({positions, positions}); }, "at most one tensor index");
  expect_error([&] { x.index({zeros({1}, {kFloat32})}); }, {"index 0", "float32", "int64"});
  expect_error([&] { x.index({ones({2, 2}, {kFloat32}) > 0.0}); }, {"mask", "(2, 2)", "(2, 3)"});
  Tensor y = x.clone();
  expect_error([&] { y.index_put_({positions}, 1.0); }, {"index_put_", "tensor indices"});
}

REDES_INSTANTIATE_FOR_DEVICES(Indexing);

}  // namespace
}  // namespace redes
