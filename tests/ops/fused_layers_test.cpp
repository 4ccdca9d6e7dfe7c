// The fused layer ops against the layer and the activation run one after the
// other: linear_activation (a GEMM with the bias and activation applied as
// its results are stored) on every device, its gradients checked
// numerically; conv2d_relu (oneDNN's ReLU post-op on the CPU); and
// nn::Sequential's fusion of Linear and Conv2d with the activation after it.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/autograd.h"
#include "core/ops/fused.h"
#include "kernels/kernel_settings.h"
#include "support/forced_impl.h"
#include "support/test_support.h"

namespace redes {
namespace {

using testing::all_close;
using testing::gradcheck;

class FusedLayersTest : public ::testing::TestWithParam<Device> {};

constexpr Activation kActivations[] = {Activation::None, Activation::Relu, Activation::Sigmoid, Activation::Tanh};

std::string activation_label(Activation a) {
  switch (a) {
    case Activation::None:
      return "none";
    case Activation::Relu:
      return "relu";
    case Activation::Sigmoid:
      return "sigmoid";
    case Activation::Tanh:
      return "tanh";
  }
  return "?";
}

// What the fused op must equal: addmm (or matmul) and the activation op.
Tensor composite(const Tensor& x, const Tensor& w, const Tensor& b, Activation a) {
  const Tensor pre = b.defined() ? addmm(b, x, w.t()) : matmul(x, w.t());
  switch (a) {
    case Activation::Relu:
      return relu(pre);
    case Activation::Sigmoid:
      return sigmoid(pre);
    case Activation::Tanh:
      return tanh(pre);
    case Activation::None:
      break;
  }
  return pre;
}

// Odd sizes, batch 1, sizes past one tile, no bias, strided inputs and
// weights; outputs and every gradient against the composite. The CPU kernel
// computes the composite's roundings exactly; the CUDA kernel sums in its
// own order (float32 within 1e-5 of the result's scale).
TEST_P(FusedLayersTest, MatchesAddmmAndTheActivation) {
  REDES_REQUIRE_DEVICE(GetParam());
  struct Case {
    std::int64_t m, k, n;
    bool bias, strided;
  };
  std::uint64_t seed = 300;
  for (const Case& c : {Case{1, 9, 64, true, false}, Case{32, 9, 64, true, false}, Case{7, 13, 5, false, false},
                        Case{70, 33, 129, true, true}, Case{3, 1, 2, true, true}}) {
    for (DType dtype : {kFloat32, kFloat64}) {
      for (Activation a : kActivations) {
        SCOPED_TRACE(std::to_string(c.m) + "x" + std::to_string(c.k) + "x" + std::to_string(c.n) + " " +
                     dtype_name(dtype) + " " + activation_label(a) + (c.bias ? "" : " no bias") +
                     (c.strided ? " strided" : ""));
        const TensorOptions options{dtype, GetParam()};
        Tensor x = testing::random_tensor({c.m, c.k}, seed++, options);
        Tensor w = testing::random_tensor({c.n, c.k}, seed++, options);
        if (c.strided) {
          x = x.t().contiguous().t();
          w = w.t().contiguous().t();
        }
        const Tensor b = c.bias ? testing::random_tensor({c.n}, seed++, options) : Tensor();
        const Tensor g = testing::random_tensor({c.m, c.n}, seed++, options);
        const auto run = [&](bool fused) {
          Tensor xl = x.detach().clone().requires_grad_(true), wl = w.detach().clone().requires_grad_(true);
          Tensor bl = c.bias ? b.detach().clone().requires_grad_(true) : Tensor();
          const Tensor out = fused ? detail::linear_activation(xl, wl, bl, a) : composite(xl, wl, bl, a);
          (out * g).sum().backward();
          std::vector<Tensor> r{out, xl.grad(), wl.grad()};
          if (c.bias) r.push_back(bl.grad());
          return r;
        };
        // On CUDA the fused hand kernel against the default composite. On
        // the CPU each setting's GEMMs (OpenBLAS under hand, oneDNN's for
        // large products under auto) in both, which must then agree exactly.
        for (KernelImpl setting : GetParam().is_cpu() ? std::vector<KernelImpl>{KernelImpl::Hand, KernelImpl::Auto}
                                                      : std::vector<KernelImpl>{KernelImpl::Hand}) {
          SCOPED_TRACE(kernel_impl_name(setting));
          std::vector<Tensor> expected, actual;
          {
            const testing::ImplScope composite_setting(GetParam().is_cpu() ? setting : kernel_impl());
            expected = run(false);
          }
          {
            const testing::ImplScope fused_setting(setting);
            actual = run(true);
          }
          const double tolerance = GetParam().is_cpu() ? 0.0 : dtype == kFloat64 ? 1e-12 : 1e-5;
          ASSERT_EQ(actual.size(), expected.size());
          for (std::size_t i = 0; i < expected.size(); ++i) {
            EXPECT_TRUE(all_close(actual[i], expected[i], tolerance, tolerance)) << "result " << i;
          }
        }
      }
    }
  }
}

TEST_P(FusedLayersTest, Gradcheck) {
  REDES_REQUIRE_DEVICE(GetParam());
  const TensorOptions options{kFloat64, GetParam()};
  const testing::ImplScope hand(KernelImpl::Hand);
  for (Activation a : kActivations) {
    SCOPED_TRACE(activation_label(a));
    EXPECT_TRUE(gradcheck(
        [a](const std::vector<Tensor>& in) { return detail::linear_activation(in[0], in[1], in[2], a); },
        {testing::random_tensor({4, 3}, 1, options), testing::random_tensor({5, 3}, 2, options),
         testing::random_tensor({5}, 3, options)}));
  }
}

TEST_P(FusedLayersTest, ErrorsNameWhatWasExpected) {
  REDES_REQUIRE_DEVICE(GetParam());
  const TensorOptions options{kFloat32, GetParam()};
  const Tensor x = zeros({2, 3}, options), w = zeros({4, 3}, options);
  try {
    detail::linear_activation(x, zeros({4, 2}, options), Tensor(), Activation::Relu);
    FAIL() << "mismatched inner sizes were accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("linear: expected a weight of shape (4, 3)"), std::string::npos) << e.what();
  }
  EXPECT_THROW(detail::linear_activation(x, w, zeros({3}, options), Activation::Relu), Error);
  EXPECT_THROW(detail::linear_activation(x, w.to(kFloat64), Tensor(), Activation::Relu), Error);
}

// nn::Sequential runs a Linear followed by ReLU, Sigmoid or Tanh as one fused
// op; its outputs and parameter gradients equal the layers run one by one.
TEST_P(FusedLayersTest, SequentialFusesLinearWithTheNextActivation) {
  REDES_REQUIRE_DEVICE(GetParam());
  nn::Sequential fused;
  fused.push_back(std::make_shared<nn::Linear>(9, 16));
  fused.push_back(std::make_shared<nn::ReLU>());
  fused.push_back(std::make_shared<nn::Linear>(16, 8));
  fused.push_back(std::make_shared<nn::Tanh>());
  fused.push_back(std::make_shared<nn::Linear>(8, 1));
  fused.push_back(std::make_shared<nn::Sigmoid>());
  fused.to(GetParam());
  const Tensor x = testing::random_tensor({5, 9}, 11, {kFloat32, GetParam()});
  const testing::ImplScope hand(KernelImpl::Hand);
  const Tensor out = fused.forward(x);
  ASSERT_TRUE(out.grad_fn() != nullptr);
  EXPECT_STREQ(out.grad_fn()->name(), "linear") << "the last Linear and Sigmoid ran as one op";
  out.sum().backward();
  Tensor by_layers = x;
  for (std::size_t i = 0; i < fused.size(); ++i) by_layers = fused.ptr(i)->forward(by_layers);
  const double tolerance = GetParam().is_cpu() ? 0.0 : 1e-5;
  EXPECT_TRUE(all_close(out, by_layers, tolerance, tolerance));
  std::vector<Tensor> fused_grads;
  for (const Tensor& p : fused.parameters()) fused_grads.push_back(p.grad().clone());
  fused.zero_grad();
  by_layers.sum().backward();
  const std::vector<Tensor> params = fused.parameters();
  for (std::size_t i = 0; i < params.size(); ++i) {
    EXPECT_TRUE(all_close(fused_grads[i], params[i].grad(), tolerance, tolerance)) << "parameter " << i;
  }
}

// conv2d_relu equals relu(conv2d) in outputs and gradients: odd sizes,
// stride, padding, dilation, groups, batch 1, no bias. Where oneDNN serves
// conv2d (the CPU under auto) the ReLU runs inside the convolution: one
// autograd node, named conv2d; elsewhere the two ops run.
TEST_P(FusedLayersTest, Conv2dReluMatchesConvThenRelu) {
  REDES_REQUIRE_DEVICE(GetParam());
  struct Case {
    Shape input, weight;
    Conv2dOptions options;
    bool bias;
  };
  std::uint64_t seed = 700;
  const Case cases[] = {{{3, 1, 28, 28}, {6, 1, 5, 5}, {.padding = {2, 2}}, true},
                        {{1, 6, 14, 13}, {16, 6, 5, 5}, {}, true},
                        {{2, 4, 9, 11}, {6, 2, 3, 3}, {.stride = {2, 1}, .padding = {1, 2}, .dilation = {1, 2}, .groups = 2},
                         false}};
  for (const Case& c : cases) {
    SCOPED_TRACE(shape_str(c.input) + " " + shape_str(c.weight));
    const TensorOptions options{kFloat32, GetParam()};
    const Tensor x = testing::random_tensor(c.input, seed++, options);
    const Tensor w = testing::random_tensor(c.weight, seed++, options);
    const Tensor b = c.bias ? testing::random_tensor({c.weight[0]}, seed++, options) : Tensor();
    const auto run = [&](bool fused) {
      Tensor xl = x.detach().clone().requires_grad_(true), wl = w.detach().clone().requires_grad_(true);
      Tensor bl = c.bias ? b.detach().clone().requires_grad_(true) : Tensor();
      const Tensor out = fused ? detail::conv2d_relu(xl, wl, bl, c.options) : relu(conv2d(xl, wl, bl, c.options));
      const std::string node = out.grad_fn()->name();
      (out * testing::random_tensor(out.shape(), 99, options)).sum().backward();
      std::vector<Tensor> r{out, xl.grad(), wl.grad()};
      if (c.bias) r.push_back(bl.grad());
      return std::make_pair(r, node);
    };
    const auto [expected, composite_node] = run(false);
    const auto [actual, fused_node] = run(true);
    EXPECT_EQ(composite_node, "relu");
    // Both CPU implementations (oneDNN's and the hand kernel) fuse the ReLU;
    // on CUDA the fused op runs as the two ops.
    EXPECT_EQ(fused_node, GetParam().is_cpu() ? "conv2d" : "relu");
    ASSERT_EQ(actual.size(), expected.size());
    for (std::size_t i = 0; i < expected.size(); ++i) {
      EXPECT_TRUE(all_close(actual[i], expected[i], 0, 0)) << "result " << i;
    }
  }
}

REDES_INSTANTIATE_FOR_DEVICES(FusedLayersTest);

// LeNet-5 (conv-ReLU-pool twice, then Linear-ReLU twice and a Linear) through
// nn::Sequential's fusions equals its layers run one by one, bit for bit.
TEST(FusedLayers, LeNetThroughSequentialMatchesItsLayersOneByOne) {
  nn::Sequential model = models::lenet5(10);
  const Tensor x = testing::random_tensor({3, 1, 28, 28}, 5);
  const Tensor out = model.forward(x);
  out.sum().backward();
  std::vector<Tensor> fused_grads;
  for (const Tensor& p : model.parameters()) fused_grads.push_back(p.grad().clone());
  model.zero_grad();
  Tensor by_layers = x;
  for (std::size_t i = 0; i < model.size(); ++i) by_layers = model.ptr(i)->forward(by_layers);
  by_layers.sum().backward();
  EXPECT_TRUE(all_close(out, by_layers, 0, 0));
  const std::vector<Tensor> params = model.parameters();
  for (std::size_t i = 0; i < params.size(); ++i) {
    EXPECT_TRUE(all_close(fused_grads[i], params[i].grad(), 0, 0)) << "parameter " << i;
  }
}

}  // namespace
}  // namespace redes
