// The autograd engine: accumulation, grad mode, detach, broadcasting,
// version counters, retain_graph, and freeing of the graph.
#include <gtest/gtest.h>

#include <cmath>

#include "support/test_support.h"

namespace redes {
namespace {

using testing::all_close;

std::string message_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const Error& error) {
    return error.what();
  }
  return "(no redes::Error thrown)";
}

TEST(Autograd, SimpleChainRule) {
  Tensor x = tensor({1.0, 2.0, 3.0}, {kFloat64}).requires_grad_();
  Tensor y = (x * x * 3.0 + x).sum();  // dy/dx = 6x + 1
  y.backward();
  EXPECT_TRUE(all_close(x.grad(), {7, 13, 19}, 1e-12, 0));
  EXPECT_TRUE(x.is_leaf());
  EXPECT_FALSE(y.is_leaf());
  EXPECT_STREQ(y.grad_fn()->name(), "sum");
}

TEST(Autograd, GradientsAccumulateAcrossBackwardCalls) {
  Tensor x = tensor({2.0}, {kFloat64}).requires_grad_();
  (x * 3.0).sum().backward();
  (x * 4.0).sum().backward();
  EXPECT_TRUE(all_close(x.grad(), {7.0}, 0, 0));
  x.zero_grad();
  EXPECT_FALSE(x.grad().defined());
}

TEST(Autograd, ATensorUsedTwiceGetsBothContributions) {
  Tensor x = tensor({1.5, -2.0}, {kFloat64}).requires_grad_();
  Tensor a = x.exp();
  Tensor y = (a * a + a).sum();  // d/dx = 2 e^{2x} + e^x
  y.backward();
  const std::vector<double> values{1.5, -2.0};
  std::vector<double> expected;
  for (double v : values) expected.push_back(2 * std::exp(2 * v) + std::exp(v));
  EXPECT_TRUE(all_close(x.grad(), expected, 1e-12, 1e-12));
}

TEST(Autograd, NoGradRecordsNothing) {
  Tensor x = ones({2}).requires_grad_();
  Tensor y;
  {
    NoGradGuard guard;
    EXPECT_FALSE(is_grad_enabled());
    y = x * 2.0;
  }
  EXPECT_TRUE(is_grad_enabled());
  EXPECT_FALSE(y.requires_grad());
  EXPECT_EQ(y.grad_fn(), nullptr);
}

TEST(Autograd, DetachCutsHistoryButSharesStorage) {
  Tensor x = ones({3}).requires_grad_();
  Tensor y = x * 2.0;
  Tensor d = y.detach();
  EXPECT_FALSE(d.requires_grad());
  EXPECT_EQ(d.data_ptr(), y.data_ptr());
  Tensor z = (d * x).sum();
  z.backward();
  EXPECT_TRUE(all_close(x.grad(), {2, 2, 2}, 0, 0));  // no path through d
}

TEST(Autograd, RequiresGradPropagatesOnlyFromMarkedInputs) {
  Tensor a = ones({2}).requires_grad_();
  Tensor b = ones({2});
  EXPECT_TRUE((a + b).requires_grad());
  EXPECT_FALSE((b + b).requires_grad());
  EXPECT_THROW(arange(3, {kInt64}).requires_grad_(), Error);
  Tensor c = a * 2.0;
  EXPECT_THROW(c.requires_grad_(), Error);  // not a leaf
}

TEST(Autograd, BroadcastInputsGetGradientsOfTheirOwnShape) {
  Tensor row = testing::random_tensor({1, 4}, 3, {kFloat64}).requires_grad_();
  Tensor col = testing::random_tensor({3, 1}, 4, {kFloat64}).requires_grad_();
  Tensor scalar = scalar_tensor(2.0, {kFloat64}).requires_grad_();
  ((row * col + scalar) * 1.0).sum().backward();
  EXPECT_EQ(row.grad().shape(), (Shape{1, 4}));
  EXPECT_EQ(col.grad().shape(), (Shape{3, 1}));
  EXPECT_EQ(scalar.grad().shape(), Shape{});
  EXPECT_TRUE(all_close(scalar.grad(), {12.0}, 0, 0));
  const std::vector<double> c = testing::host_values(col);
  EXPECT_TRUE(all_close(row.grad(), std::vector<double>(4, c[0] + c[1] + c[2]), 1e-12, 0));
}

TEST(Autograd, BackwardNeedsAScalarOrAGradient) {
  Tensor x = ones({3}).requires_grad_();
  Tensor y = x * 2.0;
  const std::string message = message_of([&] { y.backward(); });
  EXPECT_NE(message.find("backward: expected a scalar"), std::string::npos) << message;
  EXPECT_NE(message.find("(3,)"), std::string::npos) << message;
  y.backward(tensor({1.0, 2.0, 3.0}));
  EXPECT_TRUE(all_close(x.grad(), {2, 4, 6}, 0, 0));
  EXPECT_THROW(ones({2}).sum().backward(), Error);  // nothing requires grad
}

TEST(Autograd, ModifyingASavedTensorIsDetected) {
  Tensor x = ones({3}).requires_grad_();
  Tensor c = full({3}, 2.0);
  Tensor y = (x * c).sum();  // mul saves c for dL/dx
  c.add_(ones({3}));
  const std::string message = message_of([&] { y.backward(); });
  EXPECT_NE(message.find("modified in place"), std::string::npos) << message;
  EXPECT_NE(message.find("mul"), std::string::npos) << message;
}

TEST(Autograd, ModifyingASavedOutputUnderNoGradIsDetected) {
  Tensor x = ones({2}).requires_grad_();
  Tensor e = x.exp();  // exp saves its output
  Tensor y = e.sum();
  {
    NoGradGuard guard;
    e.mul_(2.0);
  }
  EXPECT_THROW(y.backward(), Error);
}

TEST(Autograd, InPlaceOnTensorsThatNeedGradIsRefused) {
  Tensor w = ones({2}).requires_grad_();
  const std::string message = message_of([&] { w.add_(ones({2})); });
  EXPECT_NE(message.find("add_"), std::string::npos) << message;
  EXPECT_NE(message.find("NoGradGuard"), std::string::npos) << message;
  Tensor plain = zeros({2});
  EXPECT_THROW(plain.add_(w), Error);  // would silently drop w's history
  {
    NoGradGuard guard;
    w.add_(ones({2}), -0.5);  // an optimizer step
  }
  EXPECT_TRUE(all_close(w, {0.5, 0.5}, 0, 0));
}

TEST(Autograd, SecondBackwardNeedsRetainGraph) {
  Tensor x = tensor({3.0}, {kFloat64}).requires_grad_();
  Tensor y = (x * x).sum();
  y.backward(Tensor(), /*retain_graph=*/true);
  y.backward();
  EXPECT_TRUE(all_close(x.grad(), {12.0}, 0, 0));
  const std::string message = message_of([&] { y.backward(); });
  EXPECT_NE(message.find("retain_graph"), std::string::npos) << message;
}

TEST(Autograd, SavedOutputsDoNotKeepTheirGraphAlive) {
  std::weak_ptr<Node> node;
  Tensor x = ones({4}).requires_grad_();
  {
    Tensor e = x.exp();  // exp saves its own output: a cycle if saved with its grad_fn
    node = e.grad_fn();
    EXPECT_FALSE(node.expired());
  }
  EXPECT_TRUE(node.expired());
}

TEST(Autograd, GradientOfIntermediateIsNotStored) {
  Tensor x = ones({2}).requires_grad_();
  Tensor h = x * 2.0;
  h.sum().backward();
  EXPECT_FALSE(h.grad().defined());
  EXPECT_TRUE(x.grad().defined());
}

TEST(Autograd, ALeafKeepsOneGradientAccumulatorAcrossGraphs) {
  Tensor x = ones({3}).requires_grad_();
  const std::shared_ptr<Node> first = (x * 2.0).grad_fn()->next_edges[0].node;
  const std::shared_ptr<Node> second = (x * 3.0).grad_fn()->next_edges[0].node;
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(first, second);
  EXPECT_STREQ(first->name(), "AccumulateGrad");
  // The accumulator does not keep its leaf alive, so the two form no cycle.
  std::weak_ptr<Node> accumulator = first;
  Tensor y;
  {
    Tensor leaf = ones({3}).requires_grad_();
    accumulator = (leaf * 2.0).grad_fn()->next_edges[0].node;
    y = (leaf * 2.0).sum();
  }
  EXPECT_FALSE(accumulator.expired());  // the graph of y still holds it
  y.backward();                         // the gradient of a leaf nobody holds goes nowhere
  y = Tensor();
  EXPECT_TRUE(accumulator.expired());
}

TEST(Autograd, APassInsideAHookRunsOnItsOwn) {
  // A hook that runs a second backward pass while the first is under way:
  // each pass keeps its own bookkeeping.
  Tensor x = tensor({2.0}, {kFloat64}).requires_grad_();
  Tensor w = tensor({5.0}, {kFloat64}).requires_grad_();
  Tensor h = x * 3.0;
  h.register_hook([&](const Tensor& g) {
    const GradModeGuard recording(true);  // a pass runs with grad mode off
    (w * w).sum().backward();             // dw = 2w = 10
    return g * 2.0;
  });
  (h * h).sum().backward();  // dh = 2h = 12, doubled by the hook; dx = 3 * 24
  EXPECT_TRUE(all_close(x.grad(), {72.0}, 0, 0));
  EXPECT_TRUE(all_close(w.grad(), {10.0}, 0, 0));
  // The thread's next passes start clean.
  x.zero_grad();
  (x * x).sum().backward();
  EXPECT_TRUE(all_close(x.grad(), {4.0}, 0, 0));
}

TEST(Autograd, LongChainsDoNotOverflowTheStack) {
  Tensor x = tensor({1.0}, {kFloat64}).requires_grad_();
  Tensor y = x;
  for (int i = 0; i < 20000; ++i) y = y + 0.0;
  y.sum().backward();
  EXPECT_TRUE(all_close(x.grad(), {1.0}, 0, 0));
  // Each node holding the one before through two edges.
  Tensor z = x;
  for (int i = 0; i < 100000; ++i) z = z + z;
  z = Tensor();  // dropping the chain must not recurse once per node
}

}  // namespace
}  // namespace redes
