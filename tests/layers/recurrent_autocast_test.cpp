// The recurrent layers under autocast: float32 layers run in the autocast
// dtype (the whole-sequence LSTM, the per-step paths with lengths and both
// directions, GRU), return 16-bit outputs, and give their float32 parameters
// float32 gradients close to the float32 ones.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <optional>

#include "layers/gru.h"
#include "layers/lstm.h"
#include "support/forced_impl.h"
#include "support/test_support.h"

namespace redes {
namespace {

using testing::host_values;

// Results and gradients of one run: the layer's outputs, then the input's
// gradient and every parameter's.
using LayerRun = std::function<std::vector<Tensor>(nn::Module&, const Tensor&)>;

class RecurrentAutocastTest : public ::testing::TestWithParam<testing::LowPrecisionCase> {
 protected:
  Device device() const { return GetParam().device; }
  DType dtype() const { return GetParam().dtype; }

  // `run` with and without autocast; the 16-bit run's outputs are in the
  // autocast dtype, its gradients float32, and all within `tolerance` of the
  // largest float32 value of each.
  void expect_close_to_float32(nn::Module& layer, const Shape& input_shape, const LayerRun& run, std::size_t outputs) const {
    layer.to(device());
    const Tensor input = testing::random_tensor(input_shape, 5, {kFloat32, device()});
    const auto results = [&](bool mixed) {
      layer.zero_grad();
      std::optional<autocast> scope;
      if (mixed) scope.emplace(dtype());
      const Tensor x = input.detach().requires_grad_(true);
      std::vector<Tensor> out = run(layer, x);
      scope.reset();
      for (std::size_t i = 0; i < outputs; ++i) {
        EXPECT_EQ(out[i].dtype(), mixed ? dtype() : kFloat32) << "output " << i;
      }
      // The same weighted sum of every output, outside the scope.
      Tensor total;
      for (std::size_t i = 0; i < outputs; ++i) {
        const Tensor weights = testing::random_tensor(out[i].shape(), 90 + i, {kFloat32, device()});
        const Tensor term = (out[i].to(kFloat32) * weights).sum();
        total = total.defined() ? total + term : term;
      }
      total.backward();
      out.push_back(x.grad());
      for (const Tensor& parameter : layer.parameters()) out.push_back(parameter.grad());
      return out;
    };
    const std::vector<Tensor> reference = results(false), mixed = results(true);
    ASSERT_EQ(mixed.size(), reference.size());
    // Sequences of 16-bit states and products: a few units in the last
    // place of the largest value (bfloat16 2^-7, float16 2^-10).
    const double relative = dtype() == kBFloat16 ? 0.04 : 0.005;
    for (std::size_t i = 0; i < mixed.size(); ++i) {
      ASSERT_TRUE(mixed[i].defined()) << i;
      if (i >= outputs) {
        EXPECT_EQ(mixed[i].dtype(), kFloat32) << "gradient " << i - outputs;
      }
      const std::vector<double> got = host_values(mixed[i]), expected = host_values(reference[i]);
      double largest = 0, error = 0;
      for (std::size_t k = 0; k < expected.size(); ++k) {
        largest = std::max(largest, std::abs(expected[k]));
        error = std::max(error, std::abs(got[k] - expected[k]));
      }
      EXPECT_LE(error, relative * largest) << "result " << i << " (largest " << largest << ")";
    }
  }
};

std::vector<Tensor> lstm_outputs(nn::Module& layer, const Tensor& x, const std::vector<std::int64_t>& lengths) {
  const nn::LSTM::Result r = dynamic_cast<nn::LSTM&>(layer).forward_with_state(x, Tensor(), Tensor(), lengths);
  return {r.output, r.h_n, r.c_n};
}

TEST_P(RecurrentAutocastTest, WholeSequenceLstm) {
  REDES_REQUIRE_DEVICE(device());
  // Two layers, batch first, 11 steps: the whole-sequence op on the CPU
  // (each implementation that takes the dtype), per-step cells on CUDA.
  std::vector<std::string> implementations{""};
  if (device().is_cpu()) {
    implementations = {"cpu"};
    const bool native_bfloat16 = build_info().onednn && build_info().onednn_cpu.find("no bfloat16") == std::string::npos;
    if (dtype() == kBFloat16 && native_bfloat16) implementations.push_back("onednn");
  }
  for (const std::string& implementation : implementations) {
    SCOPED_TRACE(implementation);
    std::optional<testing::ForcedImpl> forced;
    if (!implementation.empty()) forced.emplace({"lstm_sequence", "lstm_sequence_backward"}, implementation);
    nn::LSTM lstm(5, 16, {.num_layers = 2, .batch_first = true});
    expect_close_to_float32(
        lstm, {3, 11, 5}, [](nn::Module& m, const Tensor& x) { return lstm_outputs(m, x, {}); }, 3);
  }
}

TEST_P(RecurrentAutocastTest, BidirectionalLstmWithLengths) {
  REDES_REQUIRE_DEVICE(device());
  // Per-step cells, the reversed direction gathered by lengths, batch 1 too.
  nn::LSTM lstm(4, 9, {.bidirectional = true});
  expect_close_to_float32(
      lstm, {7, 3, 4}, [](nn::Module& m, const Tensor& x) { return lstm_outputs(m, x, {7, 2, 5}); }, 3);
  nn::LSTM single(4, 9, {.bidirectional = true});
  expect_close_to_float32(
      single, {6, 1, 4}, [](nn::Module& m, const Tensor& x) { return lstm_outputs(m, x, {}); }, 3);
}

TEST_P(RecurrentAutocastTest, Gru) {
  REDES_REQUIRE_DEVICE(device());
  nn::GRU gru(6, 10, {.num_layers = 2});
  expect_close_to_float32(
      gru, {8, 4, 6},
      [](nn::Module& m, const Tensor& x) {
        const nn::GRU::Result r = dynamic_cast<nn::GRU&>(m).forward_with_state(x);
        return std::vector<Tensor>{r.output, r.h_n};
      },
      2);
}

TEST(RecurrentAutocast, LeavesFloat64LayersAloneAndNamesTheDtype) {
  nn::LSTM lstm(3, 4);
  lstm.to(kFloat64);
  const autocast scope(kBFloat16);
  EXPECT_EQ(lstm.forward(testing::random_tensor({2, 1, 3}, 1, {kFloat64})).dtype(), kFloat64);
  nn::LSTM single(3, 4);
  testing::expect_error([&] { single.forward(testing::random_tensor({2, 1, 3}, 1, {kFloat64})); },
                        "LSTM: expected input of bfloat16 on cpu (the autocast dtype), got float64 on cpu");
}

INSTANTIATE_TEST_SUITE_P(Devices, RecurrentAutocastTest, ::testing::ValuesIn(testing::low_precision_cases()),
                         testing::low_precision_case_name);

}  // namespace
}  // namespace redes
