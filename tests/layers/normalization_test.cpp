// BatchNorm (training/eval, running statistics), LayerNorm, Embedding.
#include <gtest/gtest.h>

#include <cmath>

#include "support/test_support.h"

namespace redes {
namespace {

using testing::all_close;
using testing::gradcheck;
using testing::host_values;

TEST(BatchNorm, TrainingNormalisesPerChannelAndUpdatesRunningStats) {
  nn::BatchNorm2d bn(3);
  const Tensor x = testing::random_tensor({4, 3, 5, 5}, 1, {}, -2, 6);
  const Tensor y = bn(x);
  // Every channel of the output has mean 0 and (biased) variance 1.
  EXPECT_TRUE(all_close(y.mean({0, 2, 3}), {0, 0, 0}, 1e-5, 0));
  EXPECT_TRUE(all_close(var(y, {0, 2, 3}, 0), {1, 1, 1}, 1e-3, 0));
  const nn::StateDict state = bn.state_dict();
  const Tensor batch_mean = x.mean({0, 2, 3});
  const Tensor batch_var = var(x, {0, 2, 3}, 1);  // running_var uses the unbiased estimate
  EXPECT_TRUE(all_close(state[2].second, host_values(batch_mean * 0.1), 1e-6, 1e-5));           // running_mean
  EXPECT_TRUE(all_close(state[3].second, host_values(batch_var * 0.1 + 0.9), 1e-5, 1e-5));      // running_var
  EXPECT_EQ(state[4].first, "num_batches_tracked");
  EXPECT_EQ(state[4].second.item(), 1.0);
}

TEST(BatchNorm, EvalUsesRunningStatistics) {
  nn::BatchNorm1d bn(2, {.momentum = 1.0});  // running stats = the last batch's
  const Tensor x = testing::random_tensor({16, 2}, 2);
  bn(x);
  bn.eval();
  const Tensor probe = testing::random_tensor({3, 2}, 3);
  const Tensor expected = (probe - x.mean({0}, true)) / sqrt(var(x, {0}, 1, true) + 1e-5);
  EXPECT_TRUE(all_close(bn(probe), expected, 1e-5, 1e-5));
  EXPECT_THROW(bn(zeros({3, 4})), Error);
  EXPECT_THROW(nn::BatchNorm2d(2)(zeros({1, 2, 1, 1})), Error);  // one value per channel in training
}

TEST(BatchNorm, GradcheckInTrainingAndEval) {
  nn::BatchNorm2d bn(2);
  bn.to(kFloat64);
  EXPECT_TRUE(gradcheck([&](const std::vector<Tensor>& in) { return bn(in[0]); },
                        {testing::random_tensor({3, 2, 2, 2}, 4, {kFloat64})}));
  bn.eval();
  EXPECT_TRUE(gradcheck([&](const std::vector<Tensor>& in) { return bn(in[0]); },
                        {testing::random_tensor({3, 2, 2, 2}, 5, {kFloat64})}));
}

TEST(LayerNorm, NormalisesTrailingDims) {
  nn::LayerNorm ln({4});
  const Tensor x = testing::random_tensor({3, 4}, 5, {}, -3, 3);
  const Tensor y = ln(x);
  EXPECT_TRUE(all_close(y.mean({1}), {0, 0, 0}, 1e-6, 0));
  EXPECT_TRUE(all_close(var(y, {1}, 0), {1, 1, 1}, 1e-4, 0));
  EXPECT_THROW(ln(zeros({3, 5})), Error);
  nn::LayerNorm ln64({2, 3});
  ln64.to(kFloat64);
  EXPECT_TRUE(gradcheck([&](const std::vector<Tensor>& in) { return ln64(in[0]); },
                        {testing::random_tensor({2, 2, 3}, 6, {kFloat64})}));
}

TEST(Embedding, LooksUpRowsForAnyIndexShape) {
  nn::Embedding table(10, 3);
  const Tensor indices = from_vector(std::vector<std::int64_t>{4, 0, 4, 9}, {2, 2}, {kInt64});
  const Tensor out = table(indices);
  EXPECT_EQ(out.shape(), (Shape{2, 2, 3}));
  const Tensor weight = table.state_dict()[0].second;
  EXPECT_TRUE(all_close(out.select(0, 1).select(0, 1), weight.select(0, 9), 0, 0));
  out.sum().backward();
  const std::vector<double> grad = host_values(table.parameters()[0].grad());
  EXPECT_EQ(grad[4 * 3], 2.0);  // row 4 used twice
  EXPECT_EQ(grad[1 * 3], 0.0);
  EXPECT_THROW(table(from_vector(std::vector<std::int64_t>{10}, {1}, {kInt64})), Error);
  // The lookup's gradient, checked numerically against the table as input.
  EXPECT_TRUE(gradcheck([&](const std::vector<Tensor>& in) { return index_select(in[0], 0, indices.reshape({-1})); },
                        {testing::random_tensor({10, 3}, 8, {kFloat64})}));
  EXPECT_THROW(table(zeros({2})), Error);
}

}  // namespace
}  // namespace redes
