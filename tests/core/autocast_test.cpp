// The autocast scope: which ops run in 16 bits, which return to float32,
// master weights, backward outside the scope, nesting.
#include <gtest/gtest.h>

#include "layers/models.h"
#include "layers/normalization.h"
#include "support/test_support.h"

namespace redes {
namespace {

using testing::all_close;
using testing::host_values;

class AutocastTest : public ::testing::TestWithParam<testing::LowPrecisionCase> {
 protected:
  Device device() const { return GetParam().device; }
  DType dtype() const { return GetParam().dtype; }
  Tensor random(const Shape& shape, std::uint64_t seed, DType type = kFloat32) const {
    return testing::random_tensor(shape, seed, {type, device()});
  }
};

TEST_P(AutocastTest, MatrixOpsRunInSixteenBitsAndLossesInFloat32) {
  REDES_REQUIRE_DEVICE(device());
  const Tensor a = random({4, 8}, 1), b = random({8, 3}, 2), bias = random({3}, 3);
  EXPECT_FALSE(autocast_dtype().has_value());
  {
    const autocast scope(dtype());
    ASSERT_EQ(autocast_dtype(), dtype());
    const Tensor product = matmul(a, b);
    EXPECT_EQ(product.dtype(), dtype());
    EXPECT_EQ(addmm(bias, a, b).dtype(), dtype());
    // The same as converting by hand.
    EXPECT_EQ(host_values(product), host_values(matmul(a.to(dtype()), b.to(dtype()))));
    // float64 and integers are left alone.
    EXPECT_EQ(matmul(a.to(kFloat64), b.to(kFloat64)).dtype(), kFloat64);
    // The float32 ops take 16-bit inputs back to float32.
    EXPECT_EQ(softmax(product, 1).dtype(), kFloat32);
    EXPECT_EQ(log_softmax(product, 1).dtype(), kFloat32);
    const Tensor targets = from_vector(std::vector<std::int64_t>{0, 2, 1, 0}, {4}, {kInt64, device()});
    EXPECT_EQ(nn::cross_entropy(product, targets).dtype(), kFloat32);
    EXPECT_EQ(nn::mse_loss(product, zeros({4, 3}, {kFloat32, device()})).dtype(), kFloat32);
  }
  EXPECT_FALSE(autocast_dtype().has_value());
  EXPECT_EQ(matmul(a, b).dtype(), kFloat32);
  // Outside a scope a 16-bit loss input stays 16-bit.
  EXPECT_EQ(softmax(a.to(dtype()), 1).dtype(), dtype());
}

TEST_P(AutocastTest, ConvolutionRunsInSixteenBits) {
  REDES_REQUIRE_DEVICE(device());
  const autocast scope(dtype());
  const Tensor out = conv2d(random({1, 2, 5, 5}, 4), random({3, 2, 3, 3}, 5), random({3}, 6));
  EXPECT_EQ(out.dtype(), dtype());
}

TEST_P(AutocastTest, ReductionsAndNormalisationRunInFloat32) {
  REDES_REQUIRE_DEVICE(device());
  const Tensor x = random({4, 3, 5, 5}, 8).to(dtype());
  nn::BatchNorm2d batch_norm(3);
  nn::LayerNorm layer_norm({5, 5});
  batch_norm.to(device());
  layer_norm.to(device());
  const autocast scope(dtype());
  // The values the 16-bit input holds, summed in float32 and not rounded back.
  const Tensor total = sum(x);
  EXPECT_EQ(total.dtype(), kFloat32);
  EXPECT_DOUBLE_EQ(total.item(), sum(x.to(kFloat32)).item());
  EXPECT_EQ(sum(x, {0, 2, 3}).dtype(), kFloat32);
  EXPECT_EQ(mean(x, {1}).dtype(), kFloat32);
  EXPECT_EQ(var(x, {0}).dtype(), kFloat32);
  const Tensor normalised = batch_norm.forward(x);
  EXPECT_EQ(normalised.dtype(), kFloat32);
  EXPECT_EQ(layer_norm.forward(x).dtype(), kFloat32);
  // The same as normalising the float32 values.
  nn::BatchNorm2d reference(3);
  EXPECT_TRUE(all_close(host_values(normalised), host_values(reference.forward(x.to(Device::cpu()).to(kFloat32))),
                        1e-5, 1e-5));
  // float64 is left alone.
  EXPECT_EQ(sum(x.to(kFloat64)).dtype(), kFloat64);
}

// A float32 model trained one step under autocast: its gradients are float32
// and close to the float32 step's, and backward outside the scope is the
// same as inside it.
TEST_P(AutocastTest, MasterWeightsGetFloat32GradientsNearTheFloat32Ones) {
  REDES_REQUIRE_DEVICE(device());
  nn::Sequential model = models::mlp({6, 16, 4});
  model.to(device());
  const Tensor x = random({32, 6}, 7);
  const Tensor targets = from_vector(std::vector<std::int64_t>(32, 1), {32}, {kInt64, device()});
  const auto gradients = [&](bool mixed, bool backward_inside) {
    model.zero_grad();
    {
      std::optional<autocast> scope;
      if (mixed) scope.emplace(dtype());
      const Tensor loss = nn::cross_entropy(model.forward(x), targets);
      EXPECT_EQ(loss.dtype(), kFloat32);
      if (backward_inside) loss.backward();
      scope.reset();
      if (!backward_inside) loss.backward();
    }
    std::vector<Tensor> grads;
    for (const Tensor& parameter : model.parameters()) grads.push_back(parameter.grad().clone());
    return grads;
  };
  const std::vector<Tensor> reference = gradients(false, false);
  const std::vector<Tensor> mixed = gradients(true, false);
  const std::vector<Tensor> mixed_inside = gradients(true, true);
  ASSERT_EQ(mixed.size(), reference.size());
  for (std::size_t i = 0; i < mixed.size(); ++i) {
    EXPECT_EQ(mixed[i].dtype(), kFloat32) << i;
    EXPECT_EQ(host_values(mixed[i]), host_values(mixed_inside[i])) << i;
    // 16-bit activations and products: a few percent of the largest gradient.
    double largest = 0;
    for (double v : host_values(reference[i])) largest = std::max(largest, std::abs(v));
    const double tolerance = (dtype() == kBFloat16 ? 0.05 : 0.01) * largest;
    EXPECT_TRUE(all_close(host_values(mixed[i]), host_values(reference[i]), tolerance, 0)) << i;
  }
}

TEST(Autocast, ScopesNestAndRestore) {
  {
    const autocast outer(kBFloat16);
    {
      const autocast inner(kFloat16);
      EXPECT_EQ(autocast_dtype(), kFloat16);
      const autocast off(kFloat16, false);
      EXPECT_FALSE(autocast_dtype().has_value());
    }
    EXPECT_EQ(autocast_dtype(), kBFloat16);
  }
  EXPECT_FALSE(autocast_dtype().has_value());
  testing::expect_error([] { const autocast bad(kFloat32); }, "autocast: expected bfloat16 or float16, got float32");
}

INSTANTIATE_TEST_SUITE_P(Devices, AutocastTest, ::testing::ValuesIn(testing::low_precision_cases()),
                         testing::low_precision_case_name);

}  // namespace
}  // namespace redes
