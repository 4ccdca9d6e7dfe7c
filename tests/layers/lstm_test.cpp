// The fused LSTM cell and the LSTM layer: forward against composed ops,
// float64 gradchecks, and PyTorch fixtures.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <string>

#include "core/ops/lstm_sequence.h"
#include "kernels/backend_status.h"
#include "kernels/kernel_settings.h"
#include "kernels/lstm_sequence_plan.h"
#include "kernels/registry.h"
#include "support/forced_impl.h"
#include "support/test_support.h"

namespace redes {
namespace {

using testing::all_close;
using testing::gradcheck;

// The cell written with separate ops: the reference for the fused kernel.
LstmState composed_cell(const Tensor& x, const LstmState& s, const Tensor& w_ih, const Tensor& w_hh,
                        const Tensor& b_ih, const Tensor& b_hh) {
  const Tensor gates = matmul(x, w_ih.t()) + b_ih + matmul(s.h, w_hh.t()) + b_hh;
  const std::vector<Tensor> parts = chunk(gates, 4, 1);
  const Tensor i = sigmoid(parts[0]), f = sigmoid(parts[1]), g = tanh(parts[2]), o = sigmoid(parts[3]);
  const Tensor c = f * s.c + i * g;
  return {o * tanh(c), c};
}

class LstmTest : public ::testing::TestWithParam<Device> {
 protected:
  Tensor random(const Shape& shape, std::uint64_t seed) const {
    return testing::random_tensor(shape, seed, {kFloat64, GetParam()});
  }
};

TEST_P(LstmTest, FusedCellMatchesComposedOps) {
  REDES_REQUIRE_DEVICE(GetParam());
  for (std::int64_t batch : {1, 3}) {
    for (std::int64_t hidden : {1, 5}) {
      const Tensor x = random({batch, 4}, 1), h = random({batch, hidden}, 2), c = random({batch, hidden}, 3);
      const Tensor w_ih = random({4 * hidden, 4}, 4), w_hh = random({4 * hidden, hidden}, 5);
      const Tensor b_ih = random({4 * hidden}, 6), b_hh = random({4 * hidden}, 7);
      const LstmState fused = lstm_cell(x, {h, c}, w_ih, w_hh, b_ih, b_hh);
      const LstmState reference = composed_cell(x, {h, c}, w_ih, w_hh, b_ih, b_hh);
      EXPECT_TRUE(all_close(fused.h, reference.h, 1e-14, 1e-13));
      EXPECT_TRUE(all_close(fused.c, reference.c, 1e-14, 1e-13));
    }
  }
}

TEST_P(LstmTest, CellGradcheck) {
  REDES_REQUIRE_DEVICE(GetParam());
  const std::int64_t hidden = 3;
  EXPECT_TRUE(gradcheck(
      [](const std::vector<Tensor>& in) {
        const LstmState s = lstm_cell(in[0], {in[1], in[2]}, in[3], in[4], in[5], in[6]);
        return cat({s.h, s.c * 0.5}, 1);  // both outputs feed the objective
      },
      {random({2, 4}, 1), random({2, hidden}, 2), random({2, hidden}, 3), random({4 * hidden, 4}, 4),
       random({4 * hidden, hidden}, 5), random({4 * hidden}, 6), random({4 * hidden}, 7)}));
}

TEST_P(LstmTest, ThreeStepTwoLayerGradcheck) {
  REDES_REQUIRE_DEVICE(GetParam());
  const std::int64_t hidden = 2;
  // Inputs: x (3 steps, batch 2, 3 features), then per layer w_ih, w_hh, b_ih, b_hh.
  const auto unrolled = [hidden](const std::vector<Tensor>& in) {
    Tensor layer_input = in[0];
    std::vector<Tensor> finals;
    for (std::size_t layer = 0; layer < 2; ++layer) {
      const Tensor* w = &in[1 + 4 * layer];
      LstmState s{zeros({2, hidden}, {kFloat64, in[0].device()}), zeros({2, hidden}, {kFloat64, in[0].device()})};
      std::vector<Tensor> outputs;
      for (std::int64_t t = 0; t < 3; ++t) {
        s = lstm_cell(layer_input.select(0, t), s, w[0], w[1], w[2], w[3]);
        outputs.push_back(s.h);
      }
      layer_input = stack(outputs, 0);
      finals.push_back(s.c);
    }
    return cat({layer_input.reshape({-1}), finals[0].reshape({-1}), finals[1].reshape({-1})}, 0);
  };
  EXPECT_TRUE(gradcheck(unrolled, {random({3, 2, 3}, 1), random({8, 3}, 2), random({8, 2}, 3), random({8}, 4),
                                   random({8}, 5), random({8, 2}, 6), random({8, 2}, 7), random({8}, 8),
                                   random({8}, 9)}));
}

TEST_P(LstmTest, LayerMatchesPyTorchFixture) {
  REDES_REQUIRE_DEVICE(GetParam());
  std::map<std::string, Tensor> fixture;
  for (auto& [key, value] : load_safetensors(::redes::testing::fixture_path("lstm.safetensors"))) {
    fixture[key] = value.to(GetParam());
  }
  nn::LSTM lstm(3, 4, {.num_layers = 2, .batch_first = true});
  lstm.to(kFloat64);
  nn::StateDict state;
  for (const auto& [key, value] : fixture) {
    if (key.rfind("state.", 0) == 0) state.emplace_back(key.substr(6), value);
  }
  lstm.load_state_dict(state);  // PyTorch's names load as they are
  lstm.to(GetParam());
  Tensor x = fixture["input"].clone().requires_grad_();
  Tensor h0 = fixture["h0"].clone().requires_grad_();
  Tensor c0 = fixture["c0"].clone().requires_grad_();
  const nn::LSTM::Result result = lstm.forward_with_state(x, h0, c0);
  EXPECT_TRUE(all_close(result.output, fixture["output"], 1e-12, 1e-12));
  EXPECT_TRUE(all_close(result.h_n, fixture["h_n"], 1e-12, 1e-12));
  EXPECT_TRUE(all_close(result.c_n, fixture["c_n"], 1e-12, 1e-12));
  const Tensor objective = (result.output * fixture["weight_output"]).sum() + (result.h_n * fixture["weight_h_n"]).sum() +
                           (result.c_n * fixture["weight_c_n"]).sum();
  objective.backward();
  EXPECT_TRUE(all_close(x.grad(), fixture["grad_input"], 1e-12, 1e-12));
  EXPECT_TRUE(all_close(h0.grad(), fixture["grad_h0"], 1e-12, 1e-12));
  EXPECT_TRUE(all_close(c0.grad(), fixture["grad_c0"], 1e-12, 1e-12));
  for (const auto& [name, parameter] : lstm.named_parameters()) {
    EXPECT_TRUE(all_close(parameter.grad(), fixture["grad." + name], 1e-12, 1e-12)) << name;
  }
}

TEST(Lstm, ShapesNamesAndErrors) {
  nn::LSTM lstm(28, 16, {.num_layers = 2});
  std::vector<std::string> names;
  for (const auto& [name, value] : lstm.named_parameters()) names.push_back(name);
  EXPECT_EQ(names, (std::vector<std::string>{"weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0",
                                             "weight_ih_l1", "weight_hh_l1", "bias_ih_l1", "bias_hh_l1"}));
  const nn::LSTM::Result r = lstm.forward_with_state(zeros({7, 3, 28}));
  EXPECT_EQ(r.output.shape(), (Shape{7, 3, 16}));
  EXPECT_EQ(r.h_n.shape(), (Shape{2, 3, 16}));
  EXPECT_THROW(lstm(zeros({7, 3, 27})), Error);
  EXPECT_THROW(lstm.forward_with_state(zeros({7, 3, 28}), zeros({1, 3, 16})), Error);
  EXPECT_EQ(lstm.str(), "LSTM(28, 16, num_layers=2)");
}

REDES_INSTANTIATE_FOR_DEVICES(LstmTest);

// Output, final states and the gradients of the input, both initial states
// and every parameter, for one weighted sum of the three results.
std::vector<Tensor> lstm_results(nn::LSTM& lstm, const std::vector<Tensor>& values, Device device) {
  // Fresh leaves: on the CPU `to` returns the tensor itself, which must not
  // come to require grad (a later call moves it to another device).
  Tensor x = values[0].detach().to(device).requires_grad_(true);
  Tensor h0 = values[1].detach().to(device).requires_grad_(true);
  Tensor c0 = values[2].detach().to(device).requires_grad_(true);
  const nn::LSTM::Result r = lstm.forward_with_state(x, h0, c0);
  ((r.output * values[3].to(device)).sum() + (r.h_n * values[4].to(device)).sum() +
   (r.c_n * values[5].to(device)).sum())
      .backward();
  std::vector<Tensor> results{r.output, r.h_n, r.c_n, x.grad(), h0.grad(), c0.grad()};
  for (const auto& [name, parameter] : lstm.named_parameters()) results.push_back(parameter.grad());
  return results;
}

// The LSTM over a whole sequence, unrolled into fused cells (each checked
// against composed ops and gradchecked above): x (T, N, F), h0 and c0
// (L, N, H), weights per layer w_ih, w_hh[, b_ih, b_hh]. Returns y, h_n, c_n.
std::vector<Tensor> unrolled_lstm(const Tensor& x, const Tensor& h0, const Tensor& c0,
                                  const std::vector<Tensor>& weights, std::int64_t layers, bool bias) {
  Tensor layer_input = x;
  std::vector<Tensor> final_h, final_c;
  const std::size_t per_layer = bias ? 4 : 2;
  for (std::int64_t layer = 0; layer < layers; ++layer) {
    const Tensor* w = &weights[static_cast<std::size_t>(layer) * per_layer];
    LstmState s{h0.select(0, layer), c0.select(0, layer)};
    std::vector<Tensor> outputs;
    for (std::int64_t t = 0; t < x.size(0); ++t) {
      s = lstm_cell(layer_input.select(0, t), s, w[0], w[1], bias ? w[2] : Tensor(), bias ? w[3] : Tensor());
      outputs.push_back(s.h);
    }
    layer_input = stack(outputs, 0);
    final_h.push_back(s.h);
    final_c.push_back(s.c);
  }
  return {layer_input, stack(final_h, 0), stack(final_c, 0)};
}

// On the CPU, nn::LSTM runs the whole-sequence kernel; it must match the
// unrolled cells in every output and gradient: several layers, batch 1,
// batch_first, without bias, odd sizes, random initial states.
TEST(LstmSequence, CpuSequenceMatchesTheUnrolledCells) {
  struct Case {
    std::int64_t input, hidden, layers, batch, steps;
    bool batch_first, bias;
  };
  std::uint64_t seed = 1300;
  for (const Case& c : {Case{5, 7, 2, 3, 4, true, true}, Case{3, 4, 1, 1, 6, false, false},
                        Case{9, 16, 3, 5, 11, false, true}, Case{1, 64, 1, 64, 24, true, true}}) {
    for (DType dtype : {kFloat64, kFloat32}) {
      SCOPED_TRACE(std::to_string(c.layers) + " layers, hidden " + std::to_string(c.hidden) + " " + dtype_name(dtype));
      nn::LSTM lstm(c.input, c.hidden, {.num_layers = c.layers, .batch_first = c.batch_first, .bias = c.bias});
      lstm.to(dtype);
      const Shape x_shape = c.batch_first ? Shape{c.batch, c.steps, c.input} : Shape{c.steps, c.batch, c.input};
      const Shape y_shape = c.batch_first ? Shape{c.batch, c.steps, c.hidden} : Shape{c.steps, c.batch, c.hidden};
      const Shape state{c.layers, c.batch, c.hidden};
      std::vector<Tensor> values;
      for (const Shape& shape : {x_shape, state, state, y_shape, state, state}) {
        values.push_back(testing::random_tensor(shape, seed++, {dtype}));
      }
      ASSERT_TRUE(detail::lstm_sequence_available(Device::cpu(), dtype, c.hidden));
      // The hand kernel, and oneDNN's LSTM where the build has it (float32 only).
      std::vector<std::string> implementations{"cpu"};
      if (build_info().onednn && dtype == kFloat32) implementations.push_back("onednn");
      std::vector<std::vector<Tensor>> per_implementation;
      for (const std::string& implementation : implementations) {
        testing::ForcedImpl forced({"lstm_sequence", "lstm_sequence_backward"}, implementation);
        lstm.zero_grad();
        std::vector<Tensor> fresh;  // inputs whose gradients start empty
        for (const Tensor& v : values) fresh.push_back(v.detach().clone());
        per_implementation.push_back(lstm_results(lstm, fresh, Device::cpu()));
      }
      std::vector<Tensor> weights;
      for (const auto& [name, parameter] : lstm.named_parameters()) {
        weights.push_back(parameter.detach().clone().requires_grad_(true));
      }
      Tensor x = values[0].detach().clone().requires_grad_(true);
      Tensor h0 = values[1].detach().clone().requires_grad_(true);
      Tensor c0 = values[2].detach().clone().requires_grad_(true);
      const Tensor sequence_x = c.batch_first ? x.transpose(0, 1) : x;
      std::vector<Tensor> r = unrolled_lstm(sequence_x, h0, c0, weights, c.layers, c.bias);
      if (c.batch_first) r[0] = r[0].transpose(0, 1);
      ((r[0] * values[3]).sum() + (r[1] * values[4]).sum() + (r[2] * values[5]).sum()).backward();
      std::vector<Tensor> expected{r[0], r[1], r[2], x.grad(), h0.grad(), c0.grad()};
      for (const Tensor& w : weights) expected.push_back(w.grad());
      const double tolerance = dtype == kFloat64 ? 1e-12 : 2e-5;
      for (std::size_t k = 0; k < implementations.size(); ++k) {
        SCOPED_TRACE(implementations[k]);
        const std::vector<Tensor>& actual = per_implementation[k];
        ASSERT_EQ(actual.size(), expected.size());
        for (std::size_t i = 0; i < expected.size(); ++i) {
          EXPECT_TRUE(all_close(actual[i], expected[i], tolerance, tolerance)) << "result " << i;
        }
      }
    }
  }
}

// The whole-sequence op's gradients, two layers, checked numerically: the
// CPU's hand kernel, and the CUDA one where a device can run (oneDNN's LSTM
// has no float64).
TEST(LstmSequence, SequenceGradcheck) {
  std::vector<std::pair<Device, std::string>> runs{{Device::cpu(), "cpu"}};
  if (!testing::unusable_reason(Device::cuda(0))) runs.emplace_back(Device::cuda(0), "cuda.hand");
  for (const auto& [device, implementation] : runs) {
    SCOPED_TRACE(device.str() + " " + implementation);
    const auto random = [device = device](const Shape& shape, std::uint64_t seed) {
      return testing::random_tensor(shape, seed, {kFloat64, device});
    };
    std::vector<Tensor> inputs{random({3, 2, 3}, 1), random({2, 2, 2}, 2), random({2, 2, 2}, 3)};
    for (std::uint64_t layer = 0; layer < 2; ++layer) {
      const std::int64_t in = layer == 0 ? 3 : 2;
      for (const Shape& shape : {Shape{8, in}, Shape{8, 2}, Shape{8}, Shape{8}}) {
        inputs.push_back(random(shape, 10 + inputs.size()));
      }
    }
    EXPECT_TRUE(testing::gradcheck(
        [implementation = implementation](const std::vector<Tensor>& in) {
          const detail::LstmSequenceResult r = detail::lstm_sequence(
              in[0], in[1], in[2], std::vector<Tensor>(in.begin() + 3, in.end()), 2, true, implementation);
          return cat({r.output.reshape({-1}), r.h_n.reshape({-1}), (r.c_n * 0.5).reshape({-1})}, 0);
        },
        inputs));
  }
}

// lstm_layers, the op nn::LSTM calls, says what computed its result.
TEST(LstmSequence, LstmLayersNamesWhatRan) {
  const auto run = [](Device device, DType dtype) {
    const TensorOptions options{dtype, device};
    // Drawn in float32 (random_tensor has no 16-bit dtypes), then converted.
    const auto random = [&](const Shape& shape, std::uint64_t seed) {
      return testing::random_tensor(shape, seed, {kFloat32, device}).to(dtype);
    };
    std::vector<Tensor> weights{random({12, 2}, 1), random({12, 3}, 2)};
    return detail::lstm_layers(random({4, 2, 2}, 3), zeros({1, 2, 3}, options), zeros({1, 2, 3}, options), weights, 1,
                               false)
        .implementation;
  };
  {
    const testing::ForcedImpl forced({"lstm_sequence"}, "cpu");
    EXPECT_EQ(run(Device::cpu(), kFloat32), "cpu");
  }
  if (build_info().onednn) {
    const testing::ImplScope vendor(KernelImpl::Vendor);
    EXPECT_EQ(run(Device::cpu(), kFloat32), "onednn");
  }
  if (testing::unusable_reason(Device::cuda(0))) return;
  const testing::ImplScope hand(KernelImpl::Hand);
  EXPECT_EQ(run(Device::cuda(0), kFloat32), "cuda.hand");
  EXPECT_EQ(run(Device::cuda(0), kBFloat16), "cuda.hand.cells") << "16-bit CUDA LSTMs run the cells";
}

// The hand CUDA LSTM's plan on an H100 (132 SMs, 227 KiB per block) for the
// workloads' shapes, and its cost model.
TEST(LstmSequencePlan, LaysOutTheWorkloadRecurrences) {
  constexpr std::size_t kShared = 227 << 10;
  // W4: hidden 64, W_hh is 64 KiB: in shared memory, one sequence per block.
  const LstmRecurrencePlan w4 = plan_lstm_recurrence(64, 64, sizeof(float), 132, kShared);
  EXPECT_TRUE(w4.weights_in_shared);
  EXPECT_EQ(w4.rows_per_block, 1);
  EXPECT_EQ(w4.blocks, 64);
  EXPECT_EQ(w4.threads, 256);
  EXPECT_EQ(w4.shared_bytes, (4 * 64 * 64 + 6 * 64) * sizeof(float));
  // More sequences than SMs: two per block.
  EXPECT_EQ(plan_lstm_recurrence(200, 64, sizeof(float), 132, kShared).rows_per_block, 2);
  // W5: hidden 128, W_hh is 256 KiB: read every step, so eight sequences per
  // block share each read.
  const LstmRecurrencePlan w5 = plan_lstm_recurrence(128, 128, sizeof(float), 132, kShared);
  EXPECT_FALSE(w5.weights_in_shared);
  EXPECT_EQ(w5.rows_per_block, 8);
  EXPECT_EQ(w5.blocks, 16);
  EXPECT_EQ(w5.threads, kLstmMaxThreads);
  EXPECT_EQ(w5.shared_bytes, 8 * 6 * 128 * sizeof(float));
  EXPECT_EQ(plan_lstm_recurrence(3, 128, sizeof(float), 132, kShared).rows_per_block, 4) << "a batch of 3";
  // Tiles beyond 48 KiB take fewer sequences per block.
  EXPECT_EQ(plan_lstm_recurrence(1000, 1024, sizeof(float), 132, kShared).rows_per_block, 2);
  EXPECT_EQ(plan_lstm_recurrence(1000, 1500, sizeof(float), 132, kShared).rows_per_block, 1);

  const LstmSequenceShape shape{.steps = 28, .batch = 128, .input_size = 28, .hidden_size = 128};
  const KernelCost forward = lstm_sequence_cost(shape, w5, sizeof(float), false);
  const KernelCost both = lstm_sequence_cost(shape, w5, sizeof(float), true);
  const double gate_flops = 2.0 * 28 * 128 * 4 * 128 * (28 + 128);
  EXPECT_DOUBLE_EQ(forward.flops, gate_flops) << "the input projection and the recurrent products";
  EXPECT_DOUBLE_EQ(both.flops, 3 * gate_flops) << "forward, and the same products twice more in the backward";
  // W_hh read by 16 blocks at each of 28 steps is the bulk of the forward's bytes.
  EXPECT_GT(forward.bytes, 16.0 * 28 * 4 * 128 * 128 * sizeof(float));
  EXPECT_GT(both.bytes, 2 * forward.bytes);
}

// Hidden sizes whose per-sequence tiles do not fit the shared memory every
// block has leave the hand sequence kernel out of the implementations
// nn::LSTM chooses from (it then runs the per-step cells under hand).
TEST(LstmSequence, HandSequenceKernelStatesTheHiddenSizesItServes) {
  REDES_REQUIRE_DEVICE(Device::cuda(0));
  const auto has_hand = [](DType dtype, std::int64_t hidden) {
    const std::vector<std::string> names = detail::lstm_sequence_implementations(Device::cuda(0), dtype, hidden);
    return std::find(names.begin(), names.end(), "cuda.hand") != names.end();
  };
  EXPECT_TRUE(has_hand(kFloat32, 1));
  EXPECT_TRUE(has_hand(kFloat32, 2048));
  EXPECT_FALSE(has_hand(kFloat32, 2049));
  EXPECT_TRUE(has_hand(kFloat64, 1024));
  EXPECT_FALSE(has_hand(kFloat64, 1025));
  EXPECT_FALSE(has_hand(kBFloat16, 16)) << "16-bit LSTMs on CUDA run the per-step cells";
}

// Under auto, nn::LSTM times its per-step path against each implementation
// of the sequence op once per shape (on copies, so the module's gradients
// see one backward only), caches the choice like kernel choices, and
// whichever runs matches the CPU.
TEST(LstmSequence, AutoTimesEveryPathOncePerShapeAndMatchesTheCpu) {
  REDES_REQUIRE_DEVICE(Device::cuda(0));
  const auto lstm_choices = [] {
    std::vector<std::pair<std::string, std::string>> found;
    for (const auto& choice : KernelRegistry::instance().tuned()) {
      if (choice.first.rfind("lstm cuda:0 float32", 0) == 0) found.push_back(choice);
    }
    return found;
  };
  const std::size_t before = lstm_choices().size();
  nn::LSTM cpu_lstm(6, 10, {.num_layers = 2});
  nn::LSTM cuda_lstm(6, 10, {.num_layers = 2});
  cuda_lstm.load_state_dict(cpu_lstm.state_dict());
  cuda_lstm.to(Device::cuda(0));
  std::uint64_t seed = 950;
  const Shape x_shape{7, 3, 6}, y_shape{7, 3, 10}, state{2, 3, 10};
  std::vector<Tensor> values;
  for (const Shape& shape : {x_shape, state, state, y_shape, state, state}) {
    values.push_back(testing::random_tensor(shape, seed++));
  }
  const std::vector<Tensor> expected = lstm_results(cpu_lstm, values, Device::cpu());
  std::vector<Tensor> actual, again;
  std::size_t after_first = 0;
  {
    testing::ImplScope scope(KernelImpl::Auto);
    actual = lstm_results(cuda_lstm, values, Device::cuda(0));
    after_first = lstm_choices().size();
    cuda_lstm.zero_grad();
    again = lstm_results(cuda_lstm, values, Device::cuda(0));
  }
  ASSERT_EQ(actual.size(), expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_TRUE(all_close(actual[i], expected[i], 1e-4, 1e-4)) << "result " << i;
    EXPECT_TRUE(all_close(again[i], expected[i], 1e-4, 1e-4)) << "result " << i << ", second call";
  }
  EXPECT_EQ(after_first, before + 1) << "one timing for the new shape";
  EXPECT_EQ(lstm_choices().size(), after_first) << "the same shape again is not timed again";
  const auto choices = lstm_choices();
  ASSERT_FALSE(choices.empty());
  bool found = false;
  for (const auto& [key, name] : choices) {
    if (key.find("steps=7 batch=3 input=6 hidden=10 layers=2 bias=1 forward+backward") == std::string::npos) continue;
    found = true;
    EXPECT_TRUE(name == "cuda.hand.cells" || name == "cuda.hand" || (name == "cudnn" && build_info().cudnn)) << name;
  }
  EXPECT_TRUE(found) << "no choice recorded for this shape";
}

}  // namespace
}  // namespace redes

namespace redes {
namespace {

// An LSTM learns to add up a short sequence of numbers.
TEST(Lstm, LearnsToSumASequence) {
  manual_seed(11);
  nn::LSTM lstm(1, 16, {.batch_first = true});
  nn::Linear head(16, 1);
  std::vector<Tensor> parameters = lstm.parameters();
  for (const Tensor& p : head.parameters()) parameters.push_back(p);
  optim::Adam adam(parameters, {.lr = 0.01});
  Generator data(12);
  double loss_value = 0;
  for (int step = 0; step < 300; ++step) {
    const Tensor x = uniform({32, 5, 1}, -1, 1, {}, &data);
    const Tensor target = x.sum({1});  // (32, 1)
    const Tensor prediction = head(lstm(x).select(1, -1));
    const Tensor loss = nn::mse_loss(prediction, target);
    adam.zero_grad();
    loss.backward();
    adam.step();
    loss_value = loss.item();
  }
  EXPECT_LT(loss_value, 0.02);  // the variance of the sums is 5/3: the LSTM explains > 98% of it
}

}  // namespace
}  // namespace redes
