// Views share storage, compute the right geometry, and pass gradients back.
#include <gtest/gtest.h>

#include "support/test_support.h"

namespace redes {
namespace {

using testing::all_close;
using testing::gradcheck;
using testing::host_values;

class ViewsTest : public ::testing::TestWithParam<Device> {
 protected:
  // 0, 1, ..., n-1 shaped `shape`, in float64.
  Tensor iota(const Shape& shape) const {
    return arange(numel_of(shape), {kFloat64, GetParam()}).reshape(shape);
  }
};

TEST_P(ViewsTest, TransposeAndPermuteReorderElements) {
  REDES_REQUIRE_DEVICE(GetParam());
  const Tensor x = iota({2, 3});
  const Tensor t = x.t();
  EXPECT_EQ(t.shape(), (Shape{3, 2}));
  EXPECT_FALSE(t.is_contiguous());
  EXPECT_TRUE(all_close(t, {0, 3, 1, 4, 2, 5}, 0, 0));
  const Tensor p = iota({2, 3, 4}).permute({2, 0, 1});
  EXPECT_EQ(p.shape(), (Shape{4, 2, 3}));
  EXPECT_EQ(host_values(p)[1], 4.0);  // p[0][0][1] = x[0][1][0]
  EXPECT_THROW(x.permute({0, 0}), Error);
  EXPECT_THROW(x.permute({0}), Error);
}

TEST_P(ViewsTest, ViewsShareStorageWithTheirBase) {
  REDES_REQUIRE_DEVICE(GetParam());
  Tensor x = zeros({3, 4}, {kFloat32, GetParam()});
  Tensor row = x.select(0, 1);
  row.fill_(5.0);
  EXPECT_TRUE(all_close(x.sum(), {20.0}, 0, 0));
  EXPECT_EQ(x.version(), row.version());
}

TEST_P(ViewsTest, SliceNarrowSelect) {
  REDES_REQUIRE_DEVICE(GetParam());
  const Tensor x = iota({4, 5});
  EXPECT_TRUE(all_close(x.slice(1, 1, 5, 2), {1, 3, 6, 8, 11, 13, 16, 18}, 0, 0));
  EXPECT_TRUE(all_close(x.narrow(0, 2, 2).select(1, -1), {14, 19}, 0, 0));
  EXPECT_TRUE(all_close(x.slice(0, -1, 4), {15, 16, 17, 18, 19}, 0, 0));
  EXPECT_EQ(x.slice(0, 3, 1).numel(), 0);
  EXPECT_THROW(x.narrow(0, 3, 2), Error);
  EXPECT_THROW(x.select(1, 5), Error);
  EXPECT_THROW(x.slice(0, 0, 2, 0), Error);
}

TEST_P(ViewsTest, ReshapeViewsWhenPossibleAndCopiesOtherwise) {
  REDES_REQUIRE_DEVICE(GetParam());
  const Tensor x = iota({2, 3, 4});
  const Tensor v = x.view({6, -1});
  EXPECT_EQ(v.shape(), (Shape{6, 4}));
  EXPECT_EQ(v.data_ptr(), x.data_ptr());
  const Tensor t = x.transpose(1, 2);  // (2, 4, 3), not viewable as (2, 12)
  EXPECT_THROW(t.view({2, 12}), Error);
  const Tensor r = t.reshape({2, 12});
  EXPECT_NE(r.data_ptr(), x.data_ptr());
  EXPECT_TRUE(all_close(r.select(0, 0).slice(0, 0, 4), {0, 4, 8, 1}, 0, 0));
  // Splitting a dim of a transposed tensor is still a view.
  EXPECT_EQ(t.view({2, 2, 2, 3}).data_ptr(), x.data_ptr());
  EXPECT_THROW(x.view({5, -1}), Error);
  EXPECT_THROW(x.view({-1, -1}), Error);
  EXPECT_EQ(x.flatten().shape(), (Shape{24}));
}

TEST_P(ViewsTest, ExpandRepeatsWithoutCopying) {
  REDES_REQUIRE_DEVICE(GetParam());
  const Tensor x = iota({3, 1});
  const Tensor e = x.expand({2, 3, 4});
  EXPECT_EQ(e.strides(), (Strides{0, 1, 0}));
  EXPECT_TRUE(all_close(e.sum(), {24.0}, 0, 0));
  EXPECT_THROW(x.expand({3, 2, 2}), Error);
  Tensor writable = e;
  EXPECT_THROW(writable.fill_(1.0), Error);  // elements share memory
}

TEST_P(ViewsTest, UnsqueezeSqueeze) {
  REDES_REQUIRE_DEVICE(GetParam());
  const Tensor x = iota({2, 3});
  EXPECT_EQ(x.unsqueeze(0).shape(), (Shape{1, 2, 3}));
  EXPECT_EQ(x.unsqueeze(-1).shape(), (Shape{2, 3, 1}));
  EXPECT_EQ(x.unsqueeze(1).squeeze(1).shape(), (Shape{2, 3}));
  EXPECT_THROW(x.squeeze(0), Error);
}

TEST_P(ViewsTest, GradientsFlowBackThroughEveryView) {
  REDES_REQUIRE_DEVICE(GetParam());
  const Device d = GetParam();
  const Tensor x = testing::random_tensor({3, 4}, 11, {kFloat64, d});
  EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& in) { return in[0].t(); }, {x}));
  EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& in) { return in[0].reshape({2, 6}); }, {x}));
  EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& in) { return in[0].t().reshape({12}); }, {x}));
  EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& in) { return in[0].slice(1, 0, 4, 3); }, {x}));
  EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& in) { return in[0].select(0, 2); }, {x}));
  EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& in) { return in[0].unsqueeze(1).expand({3, 5, 4}); }, {x}));
  EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& in) { return in[0].permute({1, 0}).contiguous(); }, {x}));
  EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& in) { return in[0].to(kFloat32).to(kFloat64); }, {x}, 1e-3,
                        1e-4, 1e-3));
}

REDES_INSTANTIATE_FOR_DEVICES(ViewsTest);

}  // namespace
}  // namespace redes
