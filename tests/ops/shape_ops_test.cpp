// cat, stack, split, chunk, pad, flip.
#include <gtest/gtest.h>

#include "support/test_support.h"

namespace redes {
namespace {

using testing::all_close;
using testing::gradcheck;
using testing::host_values;

class ShapeOpsTest : public ::testing::TestWithParam<Device> {
 protected:
  Tensor iota(const Shape& shape, DType dtype = kFloat64) const {
    return arange(numel_of(shape), {dtype, GetParam()}).reshape(shape);
  }
};

TEST_P(ShapeOpsTest, CatAndStack) {
  REDES_REQUIRE_DEVICE(GetParam());
  const Tensor a = iota({2, 2});
  const Tensor b = iota({2, 1}) + 10.0;
  EXPECT_TRUE(all_close(cat({a, b}, 1), {0, 1, 10, 2, 3, 11}, 0, 0));
  EXPECT_TRUE(all_close(cat({a, a}, 0), {0, 1, 2, 3, 0, 1, 2, 3}, 0, 0));
  EXPECT_TRUE(all_close(cat({a.t(), iota({1, 2})}, -2), {0, 2, 1, 3, 0, 1}, 0, 0));
  EXPECT_EQ(cat({a, iota({2, 2}, kFloat32)}, 0).dtype(), kFloat64);
  const Tensor s = stack({a, a * 2.0}, 1);
  EXPECT_EQ(s.shape(), (Shape{2, 2, 2}));
  EXPECT_TRUE(all_close(s, {0, 1, 0, 2, 2, 3, 4, 6}, 0, 0));
  EXPECT_THROW(cat({a, iota({3, 3})}, 0), Error);
  EXPECT_THROW(cat({}, 0), Error);
  EXPECT_THROW(stack({a, b}, 0), Error);
}

TEST_P(ShapeOpsTest, SplitAndChunkAreViews) {
  REDES_REQUIRE_DEVICE(GetParam());
  const Tensor x = iota({7, 2});
  const std::vector<Tensor> pieces = split(x, 3, 0);
  ASSERT_EQ(pieces.size(), 3u);
  EXPECT_EQ(pieces[2].shape(), (Shape{1, 2}));
  EXPECT_TRUE(all_close(pieces[1], {6, 7, 8, 9, 10, 11}, 0, 0));
  EXPECT_EQ(pieces[1].data_ptr(), x.narrow(0, 3, 1).data_ptr());
  const std::vector<Tensor> chunks = chunk(x, 2, 1);
  ASSERT_EQ(chunks.size(), 2u);
  EXPECT_TRUE(all_close(chunks[1], {1, 3, 5, 7, 9, 11, 13}, 0, 0));
  EXPECT_EQ(chunk(x, 3, 0).size(), 3u);  // sizes 3, 3, 1
  EXPECT_THROW(split(x, 0, 0), Error);
}

TEST_P(ShapeOpsTest, UnbindGivesViewsWithOneBackwardNode) {
  REDES_REQUIRE_DEVICE(GetParam());
  const Tensor x = iota({3, 2});
  const std::vector<Tensor> rows = unbind(x, 0);
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_TRUE(all_close(rows[2], {4, 5}, 0, 0));
  EXPECT_EQ(rows[1].data_ptr(), x.select(0, 1).data_ptr());
  EXPECT_TRUE(all_close(unbind(x, 1)[1], {1, 3, 5}, 0, 0));
  // Only some slices used: the others get zero gradient.
  Tensor leaf = testing::random_tensor({3, 2}, 5, {kFloat64, GetParam()}).requires_grad_();
  const std::vector<Tensor> parts = unbind(leaf, 0);
  EXPECT_EQ(parts[0].grad_fn(), parts[2].grad_fn());
  (parts[0] * 2.0 + parts[2]).sum().backward();
  EXPECT_TRUE(all_close(leaf.grad(), {2, 2, 0, 0, 1, 1}, 0, 0));
  EXPECT_TRUE(gradcheck(
      [](const std::vector<Tensor>& in) {
        const std::vector<Tensor> cols = unbind(in[0], 1);
        return cat({cols[2] * 3.0, cols[0], cols[0] * cols[1]}, 0);
      },
      {testing::random_tensor({2, 3}, 6, {kFloat64, GetParam()})}));
}

TEST_P(ShapeOpsTest, PadWithAConstant) {
  REDES_REQUIRE_DEVICE(GetParam());
  const Tensor x = iota({2, 2}) + 1.0;
  const Tensor padded = pad(x, {1, 0, 0, 1}, -1.0);  // left 1 on the last dim, bottom 1 on the first
  EXPECT_EQ(padded.shape(), (Shape{3, 3}));
  EXPECT_TRUE(all_close(padded, {-1, 1, 2, -1, 3, 4, -1, -1, -1}, 0, 0));
  EXPECT_THROW(pad(x, {1}), Error);
  EXPECT_THROW(pad(x, {-1, 0}), Error);
}

TEST_P(ShapeOpsTest, Flip) {
  REDES_REQUIRE_DEVICE(GetParam());
  const Tensor x = iota({2, 3});
  EXPECT_TRUE(all_close(flip(x, {1}), {2, 1, 0, 5, 4, 3}, 0, 0));
  EXPECT_TRUE(all_close(flip(x, {0, 1}), {5, 4, 3, 2, 1, 0}, 0, 0));
  EXPECT_TRUE(flip(x, {0}).is_contiguous());
  EXPECT_TRUE(all_close(flip(flip(x.t(), {0}), {0}), x.t(), 0, 0));
  EXPECT_THROW(flip(x, {1, -1}), Error);
}

TEST_P(ShapeOpsTest, Gradients) {
  REDES_REQUIRE_DEVICE(GetParam());
  const Tensor a = testing::random_tensor({2, 3}, 1, {kFloat64, GetParam()});
  const Tensor b = testing::random_tensor({2, 2}, 2, {kFloat64, GetParam()});
  EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& in) { return cat({in[0], in[1], in[0]}, 1); }, {a, b}));
  EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& in) { return stack({in[0], in[0] * 2.0}, 2); }, {a}));
  EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& in) { return split(in[0], 2, 1)[1] * 3.0; }, {a}));
  EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& in) { return pad(in[0], {2, 1, 1, 0}, 5.0); }, {a}));
  EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& in) { return flip(in[0], {0, 1}); }, {a}));
}

REDES_INSTANTIATE_FOR_DEVICES(ShapeOpsTest);

}  // namespace
}  // namespace redes
