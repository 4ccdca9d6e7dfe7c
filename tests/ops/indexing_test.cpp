// index_select, gather, scatter_add, one_hot: values, bad indices, gradients.
#include <gtest/gtest.h>

#include "support/test_support.h"

namespace redes {
namespace {

using testing::all_close;
using testing::gradcheck;
using testing::host_values;

class IndexingTest : public ::testing::TestWithParam<Device> {
 protected:
  Tensor index(const std::vector<std::int64_t>& values, const Shape& shape) const {
    return from_vector(values, shape, {kInt64, GetParam()});
  }
  Tensor iota(const Shape& shape) const { return arange(numel_of(shape), {kFloat64, GetParam()}).reshape(shape); }
};

TEST_P(IndexingTest, IndexSelectPicksSlices) {
  REDES_REQUIRE_DEVICE(GetParam());
  const Tensor x = iota({3, 4});
  EXPECT_TRUE(all_close(index_select(x, 0, index({2, 0, 2}, {3})), {8, 9, 10, 11, 0, 1, 2, 3, 8, 9, 10, 11}, 0, 0));
  EXPECT_TRUE(all_close(index_select(x, 1, index({3, 1}, {2})), {3, 1, 7, 5, 11, 9}, 0, 0));
  EXPECT_TRUE(all_close(index_select(x.t(), 0, index({1}, {1})), {1, 5, 9}, 0, 0));
  EXPECT_THROW(index_select(x, 0, index({3}, {1})), Error);
  EXPECT_THROW(index_select(x, 0, index({-1}, {1})), Error);
  EXPECT_THROW(index_select(x, 0, full({1}, 0.0, {kFloat32, GetParam()})), Error);
}

TEST_P(IndexingTest, GatherAndScatterAdd) {
  REDES_REQUIRE_DEVICE(GetParam());
  const Tensor x = iota({2, 3});
  const Tensor positions = index({2, 0, 1, 1}, {2, 2});
  EXPECT_TRUE(all_close(gather(x, 1, positions), {2, 0, 4, 4}, 0, 0));
  const Tensor src = ones({2, 2}, {kFloat64, GetParam()});
  // Repeated positions add up: row 1 gets 2 at column 1.
  EXPECT_TRUE(all_close(scatter_add(zeros({2, 3}, {kFloat64, GetParam()}), 1, positions, src),
                        {1, 0, 1, 0, 2, 0}, 0, 0));
  EXPECT_TRUE(all_close(scatter_add(x, 0, index({1, 0, 1}, {1, 3}), full({1, 3}, 10.0, {kFloat64, GetParam()})),
                        {0, 11, 2, 13, 4, 15}, 0, 0));
  try {
    gather(x, 1, index({3}, {1, 1}));
    ADD_FAILURE() << "expected redes::Error";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("gather: index 3 is out of range for dim 1 of size 3"),
              std::string::npos) << error.what();
  }
  EXPECT_THROW(gather(x, 1, index({0, 0, 0}, {3, 1})), Error);  // index larger than input outside dim
}

TEST_P(IndexingTest, OneHot) {
  REDES_REQUIRE_DEVICE(GetParam());
  const Tensor labels = index({2, 0, 1}, {3});
  const Tensor encoded = one_hot(labels, 4);
  EXPECT_EQ(encoded.shape(), (Shape{3, 4}));
  EXPECT_EQ(encoded.dtype(), kInt64);
  EXPECT_EQ(host_values(encoded), (std::vector<double>{0, 0, 1, 0, 1, 0, 0, 0, 0, 1, 0, 0}));
  EXPECT_THROW(one_hot(labels, 2), Error);
}

TEST_P(IndexingTest, Gradients) {
  REDES_REQUIRE_DEVICE(GetParam());
  const Tensor x = testing::random_tensor({3, 4}, 1, {kFloat64, GetParam()});
  const Tensor repeated = index({1, 1, 0, 2, 1}, {5});
  const Tensor positions = index({3, 0, 3, 1, 2, 2}, {3, 2});
  const Tensor src = testing::random_tensor({3, 2}, 2, {kFloat64, GetParam()});
  EXPECT_TRUE(gradcheck([&](const std::vector<Tensor>& in) { return index_select(in[0], 0, repeated); }, {x}));
  EXPECT_TRUE(gradcheck([&](const std::vector<Tensor>& in) { return gather(in[0], 1, positions); }, {x}));
  EXPECT_TRUE(gradcheck([&](const std::vector<Tensor>& in) { return scatter_add(in[0], 1, positions, in[1]); },
                        {x, src}));
}

REDES_INSTANTIATE_FOR_DEVICES(IndexingTest);

}  // namespace
}  // namespace redes
