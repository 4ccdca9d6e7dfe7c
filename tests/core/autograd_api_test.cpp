// autograd::grad, create_graph (higher derivatives) and custom autograd
// functions (autograd::Function with its context).
#include <gtest/gtest.h>

#include <any>
#include <cmath>

#include "support/test_support.h"

namespace redes {
namespace {

using testing::all_close;
using testing::expect_error;
using testing::host_values;
using testing::random_tensor;

class AutogradApi : public ::testing::TestWithParam<Device> {};

TEST_P(AutogradApi, GradReturnsGradientsWithoutTouchingGradFields) {
  const Device device = GetParam();
  REDES_REQUIRE_DEVICE(device);
  Tensor x = tensor({1.0, -2.0, 3.0}, {kFloat64, device}).requires_grad_();
  Tensor w = tensor({0.5, 0.25, 2.0}, {kFloat64, device}).requires_grad_();
  Tensor y = (x * x * w).sum();
  const std::vector<Tensor> grads = autograd::grad({y}, {x, w});
  ASSERT_EQ(grads.size(), 2u);
  EXPECT_TRUE(all_close(grads[0], {1.0, -1.0, 12.0}, 1e-12, 0));  // 2 x w
  EXPECT_TRUE(all_close(grads[1], {1.0, 4.0, 9.0}, 1e-12, 0));    // x^2
  EXPECT_FALSE(x.grad().defined());
  EXPECT_FALSE(w.grad().defined());
  EXPECT_FALSE(grads[0].requires_grad());
}

TEST_P(AutogradApi, GradWithRespectToAnIntermediateTensor) {
  const Device device = GetParam();
  REDES_REQUIRE_DEVICE(device);
  Tensor x = tensor({1.0, 2.0}, {kFloat64, device}).requires_grad_();
  Tensor h = x * 3.0;
  Tensor y = (h * h).sum() + x.sum();
  const std::vector<Tensor> grads = autograd::grad({y}, {h, x});
  EXPECT_TRUE(all_close(grads[0], {6.0, 12.0}, 1e-12, 0));   // 2 h
  EXPECT_TRUE(all_close(grads[1], {19.0, 37.0}, 1e-12, 0));  // 18 x + 1
}

TEST_P(AutogradApi, GradOutputsSeedNonScalarOutputsAndSeveralOutputsAdd) {
  const Device device = GetParam();
  REDES_REQUIRE_DEVICE(device);
  Tensor x = tensor({1.0, 2.0, 3.0}, {kFloat64, device}).requires_grad_();
  Tensor a = x * 2.0;
  Tensor b = x * x;
  const Tensor seed_a = tensor({1.0, 0.0, 2.0}, {kFloat64, device});
  const Tensor seed_b = tensor({1.0, 1.0, 1.0}, {kFloat64, device});
  const Tensor g = autograd::grad({a, b}, {x}, {seed_a, seed_b})[0];
  EXPECT_TRUE(all_close(g, {2.0 + 2.0, 0.0 + 4.0, 4.0 + 6.0}, 1e-12, 0));
}

TEST_P(AutogradApi, HooksSeeTheCapturedGradient) {
  const Device device = GetParam();
  REDES_REQUIRE_DEVICE(device);
  Tensor x = tensor({1.0, 2.0}, {kFloat64, device}).requires_grad_();
  x.register_hook([](const Tensor& g) { return g * 10.0; });
  const Tensor g = autograd::grad({(x * x).sum()}, {x})[0];
  EXPECT_TRUE(all_close(g, {20.0, 40.0}, 1e-12, 0));
}

TEST(AutogradApiHooks, PostAccumulateHooksSeeTheAccumulatedLeafUntilRemoved) {
  Tensor leaf = from_vector<float>({1, 2, 3}, {3}).requires_grad_();
  std::vector<std::vector<float>> seen;
  const std::uint64_t handle = leaf.register_post_accumulate_grad_hook(
      [&](const Tensor& accumulated) { seen.push_back(accumulated.grad().to_vector<float>()); });
  (leaf * 2.0).sum().backward();
  (leaf * leaf).sum().backward();  // accumulates onto the first gradient
  ASSERT_EQ(seen.size(), 2U);
  EXPECT_EQ(seen[0], (std::vector<float>{2, 2, 2}));
  EXPECT_EQ(seen[1], (std::vector<float>{4, 6, 8}));
  leaf.remove_post_accumulate_grad_hook(handle);
  leaf.sum().backward();
  EXPECT_EQ(seen.size(), 2U);
  // autograd::grad accumulates into no leaf, so the hook has nothing to see.
  leaf.register_post_accumulate_grad_hook([&](const Tensor&) { seen.emplace_back(); });
  autograd::grad({leaf.sum()}, {leaf});
  EXPECT_EQ(seen.size(), 2U);
  EXPECT_THROW((leaf * 2.0).register_post_accumulate_grad_hook([](const Tensor&) {}), Error);
  EXPECT_THROW(from_vector<float>({1}, {1}).register_post_accumulate_grad_hook([](const Tensor&) {}), Error);
}

TEST(AutogradApiErrors, UnusedInputsAndBadArgumentsAreNamed) {
  Tensor x = tensor({1.0, 2.0}, {kFloat64}).requires_grad_();
  Tensor unused = tensor({1.0}, {kFloat64}).requires_grad_();
  expect_error([&] { autograd::grad({(x * x).sum()}, {x, unused}); }, {"input 1", "allow_unused"});
  const std::vector<Tensor> grads =
      autograd::grad({(x * x).sum()}, {x, unused}, {}, {.allow_unused = true});
  EXPECT_TRUE(grads[0].defined());
  EXPECT_FALSE(grads[1].defined());

  const Tensor constant = tensor({1.0, 2.0}, {kFloat64});
  expect_error([&] { autograd::grad({(x * x).sum()}, {constant}); }, {"input 0", "does not require grad"});
  expect_error([&] { autograd::grad({constant.sum()}, {x}); }, "does not require grad");
  expect_error([&] { autograd::grad({x * x}, {x}); }, {"scalar", "(2,)"});
  expect_error([&] { autograd::grad({x * x}, {x}, {tensor({1.0, 2.0, 3.0}, {kFloat64})}); },
               {"(3,)", "(2,)"});
  expect_error([&] { autograd::grad({(x * x).sum()}, {x}, {Tensor(), Tensor()}); }, {"2 gradients", "1 tensors"});
}

TEST(AutogradApiErrors, ASecondPassNeedsTheGraphRetained) {
  Tensor x = tensor({1.0, 2.0}, {kFloat64}).requires_grad_();
  Tensor y = (x.exp() * x).sum();
  autograd::grad({y}, {x});
  expect_error([&] { autograd::grad({y}, {x}); }, "retain_graph");

  Tensor z = (x.exp() * x).sum();
  const Tensor first = autograd::grad({z}, {x}, {}, {.retain_graph = true})[0];
  const Tensor second = autograd::grad({z}, {x})[0];
  EXPECT_TRUE(all_close(first, second, 0, 0));
}

TEST_P(AutogradApi, CreateGraphGivesSecondAndThirdDerivatives) {
  const Device device = GetParam();
  REDES_REQUIRE_DEVICE(device);
  Tensor x = tensor({1.0, -2.0, 0.5}, {kFloat64, device}).requires_grad_();
  Tensor y = (x * x * x).sum();
  const Tensor dy = autograd::grad({y}, {x}, {}, {.create_graph = true})[0];
  EXPECT_TRUE(dy.requires_grad());
  EXPECT_TRUE(all_close(dy, {3.0, 12.0, 0.75}, 1e-12, 0));  // 3 x^2
  const Tensor d2y = autograd::grad({dy.sum()}, {x}, {}, {.create_graph = true})[0];
  EXPECT_TRUE(all_close(d2y, {6.0, -12.0, 3.0}, 1e-12, 0));  // 6 x
  const Tensor d3y = autograd::grad({d2y.sum()}, {x})[0];
  EXPECT_TRUE(all_close(d3y, {6.0, 6.0, 6.0}, 1e-12, 0));
}

TEST_P(AutogradApi, BackwardWithCreateGraphLeavesADifferentiableGrad) {
  const Device device = GetParam();
  REDES_REQUIRE_DEVICE(device);
  // A gradient penalty: d/dw of |d loss / dx|^2.
  Tensor x = tensor({0.3, -0.7}, {kFloat64, device}).requires_grad_();
  Tensor w = tensor({1.5, 0.5}, {kFloat64, device}).requires_grad_();
  Tensor loss = (tanh(x * w)).sum();
  loss.backward(Tensor(), false, /*create_graph=*/true);
  ASSERT_TRUE(x.grad().requires_grad());
  const Tensor penalty = (x.grad() * x.grad()).sum();
  const Tensor d_w = autograd::grad({penalty}, {w})[0];
  // d loss/dx = w (1 - t^2), t = tanh(x w); penalty = sum w^2 (1 - t^2)^2.
  const std::vector<double> xs = {0.3, -0.7}, ws = {1.5, 0.5};
  std::vector<double> expected;
  for (std::size_t i = 0; i < 2; ++i) {
    const double t = std::tanh(xs[i] * ws[i]);
    const double s = 1.0 - t * t;
    // d/dw [w^2 s^2] = 2 w s^2 + w^2 * 2 s * (-2 t s x)
    expected.push_back(2.0 * ws[i] * s * s - 4.0 * ws[i] * ws[i] * s * s * t * xs[i]);
  }
  EXPECT_TRUE(all_close(d_w, expected, 1e-12, 1e-12));
  // grad() now holds a graph that leads back to the leaves: dropping it
  // breaks that cycle (as in PyTorch).
  x.zero_grad();
  w.zero_grad();
}

// Second derivatives, checked numerically: gradcheck differentiates the first
// gradient (computed with create_graph) with respect to every input.
::testing::AssertionResult second_derivatives_match(const std::function<Tensor(const std::vector<Tensor>&)>& f,
                                                    const std::vector<Tensor>& inputs) {
  const auto first_gradient = [&f](const std::vector<Tensor>& in) {
    // gradcheck also calls this without grad mode, for its finite differences.
    GradModeGuard grad_mode(true);
    std::vector<Tensor> args = in;
    if (!args[0].requires_grad()) args[0] = args[0].detach().requires_grad_();
    const Tensor out = f(args);
    const Tensor weights = random_tensor(out.shape(), 99, {kFloat64, out.device()});
    return autograd::grad({(out * weights).sum()}, {args[0]}, {}, {.create_graph = true})[0];
  };
  return testing::gradcheck(first_gradient, inputs, 1e-6, 1e-5, 1e-4);
}

TEST_P(AutogradApi, SecondDerivativesOfElementwiseOpsMatchFiniteDifferences) {
  const Device device = GetParam();
  REDES_REQUIRE_DEVICE(device);
  const TensorOptions f64{kFloat64, device};
  const Tensor x = random_tensor({3, 4}, 1, f64, 0.2, 1.5);
  const Tensor y = random_tensor({3, 4}, 2, f64, -1.0, 1.0);
  EXPECT_TRUE(second_derivatives_match([](const auto& in) { return in[0].exp() * in[1]; }, {x, y}));
  EXPECT_TRUE(second_derivatives_match([](const auto& in) { return log(in[0]) / (in[1] + 3.0); }, {x, y}));
  EXPECT_TRUE(second_derivatives_match([](const auto& in) { return sigmoid(in[0] * in[1]); }, {x, y}));
  EXPECT_TRUE(second_derivatives_match([](const auto& in) { return tanh(in[0]) * tanh(in[1]); }, {x, y}));
  EXPECT_TRUE(second_derivatives_match([](const auto& in) { return sqrt(in[0]) + pow(in[0], 3.0); }, {x}));
  EXPECT_TRUE(second_derivatives_match([](const auto& in) { return gelu(in[0] * in[1]); }, {x, y}));
  EXPECT_TRUE(second_derivatives_match([](const auto& in) { return silu(in[0] - in[1]); }, {x, y}));
  // relu's second derivative is 0, but its first derivative still depends on y.
  EXPECT_TRUE(second_derivatives_match([](const auto& in) { return relu(in[0] - 0.8) * in[1]; }, {x, y}));
}

TEST_P(AutogradApi, SecondDerivativesOfMatmulReductionsAndSoftmaxMatchFiniteDifferences) {
  const Device device = GetParam();
  REDES_REQUIRE_DEVICE(device);
  const TensorOptions f64{kFloat64, device};
  const Tensor x = random_tensor({3, 5}, 3, f64);
  const Tensor w = random_tensor({5, 4}, 4, f64);
  const Tensor b = random_tensor({4}, 5, f64);
  EXPECT_TRUE(second_derivatives_match([](const auto& in) { return tanh(matmul(in[0], in[1])); }, {x, w}));
  EXPECT_TRUE(second_derivatives_match([](const auto& in) { return tanh(addmm(in[2], in[0], in[1])); }, {x, w, b}));
  EXPECT_TRUE(second_derivatives_match([](const auto& in) { return softmax(matmul(in[0], in[1]), 1); }, {x, w}));
  EXPECT_TRUE(second_derivatives_match([](const auto& in) { return log_softmax(in[0], 0) * in[0]; }, {x}));
  EXPECT_TRUE(
      second_derivatives_match([](const auto& in) { return (in[0] * in[0]).sum({1}).unsqueeze(1) * in[0]; }, {x}));
  EXPECT_TRUE(second_derivatives_match([](const auto& in) { return (in[0] * in[0]).mean() * in[0].t(); }, {x}));
  // Views: their backward places the gradient into zeros, recorded here.
  EXPECT_TRUE(second_derivatives_match(
      [](const auto& in) { return in[0].slice(1, 0, 5, 2) * in[0].narrow(1, 1, 3) * in[0].select(0, 1).unsqueeze(0).slice(1, 2, 5); },
      {x}));
  const Tensor targets = from_vector<std::int64_t>({1, 0, 3}, {3}, {kInt64, device});
  EXPECT_TRUE(second_derivatives_match(
      [&targets](const auto& in) { return nn::cross_entropy(matmul(in[0], in[1]), targets, nn::Reduction::None); }, {x, w}));
}

TEST(AutogradApiErrors, AnOpWithoutASecondDerivativeRefusesClearly) {
  // The LSTM cell's backward is one fused kernel; differentiating its result
  // again must fail loudly, not give a silent zero.
  Tensor gates = random_tensor({2, 8}, 6, {kFloat64}).requires_grad_();
  Tensor c = random_tensor({2, 2}, 7, {kFloat64}).requires_grad_();
  const LstmState state = lstm_cell_from_gates(gates, c);
  const Tensor d_gates = autograd::grad({state.h.sum()}, {gates}, {}, {.create_graph = true})[0];
  ASSERT_TRUE(d_gates.requires_grad());
  expect_error([&] { autograd::grad({d_gates.sum()}, {gates}); }, {"lstm_cell backward", "create_graph"});
}

TEST_P(AutogradApi, SecondDerivativesOfConvolutionsAndPoolingMatchFiniteDifferences) {
  // A gradient penalty on a CNN critic differentiates through all of these.
  const Device device = GetParam();
  REDES_REQUIRE_DEVICE(device);
  const TensorOptions f64{kFloat64, device};
  const Tensor x = random_tensor({2, 4, 7, 6}, 14, f64);
  const Tensor w = random_tensor({4, 2, 3, 2}, 15, f64);
  const Tensor b = random_tensor({4}, 16, f64);
  const Conv2dOptions strided{.stride = {2, 1}, .padding = {1, 0}, .dilation = {1, 2}, .groups = 2};
  EXPECT_TRUE(second_derivatives_match(
      [&](const auto& in) { return tanh(conv2d(in[0], in[1], in[2], strided)); }, {x, w, b}));
  EXPECT_TRUE(second_derivatives_match([&](const auto& in) { return tanh(conv2d(in[1], in[0], {}, strided)); },
                                       {w, x}));  // the weight first: its second derivatives
  const Tensor wt = random_tensor({4, 2, 3, 3}, 17, f64);
  EXPECT_TRUE(second_derivatives_match(
      [](const auto& in) {
        return tanh(conv_transpose2d(in[0], in[1], {}, {.stride = {2, 2}, .padding = {1, 0}, .output_padding = {1, 0}}));
      },
      {x, wt}));
  EXPECT_TRUE(second_derivatives_match(
      [](const auto& in) { return tanh(conv1d(in[0], in[1], {}, {.stride = 2, .padding = 1})); },
      {random_tensor({2, 3, 9}, 18, f64), random_tensor({4, 3, 3}, 19, f64)}));
  EXPECT_TRUE(second_derivatives_match([](const auto& in) { return tanh(max_pool2d(in[0] * in[0], 2)); }, {x}));
  EXPECT_TRUE(second_derivatives_match(
      [](const auto& in) { return tanh(avg_pool2d(in[0] * in[0], 3, {.stride = 2, .padding = 1})); }, {x}));
  EXPECT_TRUE(
      second_derivatives_match([](const auto& in) { return tanh(adaptive_avg_pool2d(in[0] * in[0], {3, 4})); }, {x}));
}

struct Cube : autograd::Function<Cube> {
  static constexpr const char* name = "Cube";
  static Tensor forward(autograd::AutogradContext* ctx, const Tensor& x, double scale) {
    ctx->save_for_backward({x});
    ctx->saved_data["scale"] = scale;
    return x * x * x * scale;
  }
  static std::vector<Tensor> backward(autograd::AutogradContext* ctx, std::vector<Tensor> grads) {
    const Tensor x = ctx->get_saved_variables()[0];
    const double scale = std::any_cast<double>(ctx->saved_data["scale"]);
    return {grads[0] * x * x * (3.0 * scale)};
  }
};

TEST_P(AutogradApi, ACustomFunctionRunsItsOwnBackward) {
  const Device device = GetParam();
  REDES_REQUIRE_DEVICE(device);
  Tensor x = tensor({1.0, -2.0}, {kFloat64, device}).requires_grad_();
  Tensor y = Cube::apply(x, 2.0);
  EXPECT_STREQ(y.grad_fn()->name(), "Cube");
  EXPECT_TRUE(all_close(y, {2.0, -16.0}, 1e-12, 0));
  y.sum().backward();
  EXPECT_TRUE(all_close(x.grad(), {6.0, 24.0}, 1e-12, 0));
  EXPECT_TRUE(testing::gradcheck([](const auto& in) { return Cube::apply(in[0], 0.5); },
                                 {random_tensor({3, 2}, 8, {kFloat64, device})}));
  // Its backward is written with differentiable ops, so it differentiates again.
  EXPECT_TRUE(second_derivatives_match([](const auto& in) { return Cube::apply(in[0], 0.5); },
                                       {random_tensor({3, 2}, 9, {kFloat64, device})}));
}

// Two outputs, a saved output, a non-tensor argument between tensors.
struct ScaledExpAndSquare : autograd::Function<ScaledExpAndSquare> {
  static std::vector<Tensor> forward(autograd::AutogradContext* ctx, const Tensor& a, double scale, const Tensor& b) {
    Tensor e = a.exp() * scale;
    ctx->save_for_backward({e, b});
    ctx->saved_data["needs"] = std::vector<bool>{ctx->needs_input_grad(0), ctx->needs_input_grad(1)};
    return {e, b * b};
  }
  static std::vector<Tensor> backward(autograd::AutogradContext* ctx, std::vector<Tensor> grads) {
    const std::vector<Tensor> saved = ctx->get_saved_variables();
    return {grads[0] * saved[0], grads[1] * saved[1] * 2.0};
  }
};

TEST(AutogradApiCustom, SeveralOutputsSavedOutputsAndUnusedOutputs) {
  Tensor a = tensor({0.0, 1.0}, {kFloat64}).requires_grad_();
  Tensor b = tensor({3.0, -1.0}, {kFloat64});  // needs no gradient
  std::vector<Tensor> out = ScaledExpAndSquare::apply(a, 2.0, b);
  ASSERT_EQ(out.size(), 2u);
  // Only the first output is used: the second's gradient arrives as zeros.
  out[0].sum().backward();
  EXPECT_TRUE(all_close(a.grad(), {2.0, 2.0 * std::exp(1.0)}, 1e-12, 0));
  EXPECT_TRUE(testing::gradcheck(
      [](const auto& in) {
        const std::vector<Tensor> r = ScaledExpAndSquare::apply(in[0], 1.5, in[1]);
        return r[0] + r[1];
      },
      {random_tensor({4}, 10, {kFloat64}), random_tensor({4}, 11, {kFloat64})}));
  // The saved output leads back to the function when differentiated again.
  EXPECT_TRUE(second_derivatives_match(
      [](const auto& in) { return ScaledExpAndSquare::apply(in[0], 1.5, in[1])[0]; },
      {random_tensor({4}, 12, {kFloat64}), random_tensor({4}, 13, {kFloat64})}));
}

TEST(AutogradApiCustom, NeedsInputGradFollowsTheArguments) {
  struct Probe : autograd::Function<Probe> {
    static Tensor forward(autograd::AutogradContext* ctx, const Tensor& a, const Tensor& b) {
      ctx->saved_data["a"] = ctx->needs_input_grad(0);
      ctx->saved_data["b"] = ctx->needs_input_grad(1);
      return a + b;
    }
    static std::vector<Tensor> backward(autograd::AutogradContext* ctx, std::vector<Tensor> grads) {
      EXPECT_TRUE(std::any_cast<bool>(ctx->saved_data["a"]));
      EXPECT_FALSE(std::any_cast<bool>(ctx->saved_data["b"]));
      EXPECT_FALSE(ctx->needs_input_grad(1));
      return {grads[0], Tensor()};
    }
  };
  Tensor a = tensor({1.0}, {kFloat64}).requires_grad_();
  Probe::apply(a, tensor({2.0}, {kFloat64})).sum().backward();
  EXPECT_TRUE(all_close(a.grad(), {1.0}, 0, 0));
}

struct WrongCount : autograd::Function<WrongCount> {
  static constexpr const char* name = "WrongCount";
  static Tensor forward(autograd::AutogradContext*, const Tensor& a) { return a * 2.0; }
  static std::vector<Tensor> backward(autograd::AutogradContext*, std::vector<Tensor> grads) {
    return {grads[0], grads[0]};
  }
};
struct WrongShape : autograd::Function<WrongShape> {
  static constexpr const char* name = "WrongShape";
  static Tensor forward(autograd::AutogradContext*, const Tensor& a) { return a.sum(); }
  static std::vector<Tensor> backward(autograd::AutogradContext*, std::vector<Tensor> grads) { return {grads[0]}; }
};

TEST(AutogradApiCustom, MistakesInBackwardAreNamed) {
  Tensor a = tensor({1.0, 2.0}, {kFloat64}).requires_grad_();
  expect_error([&] { WrongCount::apply(a).sum().backward(); }, {"WrongCount", "2 gradients", "(1)"});
  expect_error([&] { WrongShape::apply(a).backward(); }, {"WrongShape", "gradient 0", "(2,)"});
}

struct SaveOther : autograd::Function<SaveOther> {
  static constexpr const char* name = "SaveOther";
  static Tensor forward(autograd::AutogradContext* ctx, const Tensor& x, const Tensor& other) {
    ctx->save_for_backward({other});
    return x * other;
  }
  static std::vector<Tensor> backward(autograd::AutogradContext* ctx, std::vector<Tensor> grads) {
    return {grads[0] * ctx->get_saved_variables()[0], Tensor()};
  }
};

TEST(AutogradApiCustom, SavedTensorsModifiedInPlaceAreDetected) {
  // Saving a tensor the caller then overwrites.
  Tensor source = tensor({1.0, 2.0}, {kFloat64});
  Tensor leaf = tensor({0.5, 0.5}, {kFloat64}).requires_grad_();
  Tensor out = SaveOther::apply(leaf, source);
  source.fill_(5.0);
  expect_error([&] { out.sum().backward(); }, {"SaveOther", "modified in place"});
}

TEST(AutogradApiCustom, ReturningAnInputUnchangedKeepsTheInputALeaf) {
  struct Identity : autograd::Function<Identity> {
    static Tensor forward(autograd::AutogradContext*, const Tensor& x) { return x; }
    static std::vector<Tensor> backward(autograd::AutogradContext*, std::vector<Tensor> grads) {
      return {grads[0] * 3.0};
    }
  };
  Tensor x = tensor({1.0, 2.0}, {kFloat64}).requires_grad_();
  Tensor y = Identity::apply(x);
  EXPECT_TRUE(x.is_leaf());
  EXPECT_FALSE(y.is_leaf());
  y.sum().backward();
  EXPECT_TRUE(all_close(x.grad(), {3.0, 3.0}, 0, 0));
  // Without an input that requires grad, nothing is recorded.
  EXPECT_FALSE(Identity::apply(tensor({1.0}, {kFloat64})).requires_grad());
}

REDES_INSTANTIATE_FOR_DEVICES(AutogradApi);

}  // namespace
}  // namespace redes
