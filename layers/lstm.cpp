#include "layers/lstm.h"

#include <algorithm>
#include <sstream>
#include <string>

#include "core/ops/lstm_sequence.h"
#include "core/ops/path_choice.h"
#include "kernels/kernel_settings.h"
#include "kernels/select.h"

namespace redes::nn {

LSTM::LSTM(std::int64_t input_size, std::int64_t hidden_size, LSTMOptions options)
    : RecurrentBase("LSTM", 4, input_size, hidden_size, options) {}

namespace {

// One LSTM computation on sequence-major tensors: x (T, N, F); h0, c0
// (L, N, H); weights per layer w_ih, w_hh and, with bias, b_ih, b_hh.
struct LstmInputs {
  Tensor x, h0, c0;
  std::vector<Tensor> weights;
};

// All layers and steps in one call (lstm_sequence), by `implementation`
// ("": the registry's choice).
LSTM::Result run_sequence(const LstmInputs& in, std::int64_t layers, bool bias,
                          const std::string& implementation = "") {
  const detail::LstmSequenceResult r =
      detail::lstm_sequence(in.x, in.h0, in.c0, in.weights, layers, bias, implementation);
  return {r.output, r.h_n, r.c_n};
}

// Layer by layer: one GEMM for every step's input projection, then per step
// the recurrent GEMM and the fused cell.
LSTM::Result run_steps(const LstmInputs& in, std::int64_t layers, bool bias) {
  const std::int64_t steps = in.x.size(0), batch = in.x.size(1), hidden = in.h0.size(2);
  const std::size_t per_layer = bias ? 4 : 2;
  Tensor layer_input = in.x;
  std::vector<Tensor> final_h, final_c;
  for (std::int64_t layer = 0; layer < layers; ++layer) {
    const Tensor* w = &in.weights[static_cast<std::size_t>(layer) * per_layer];
    const Tensor& w_ih = w[0];
    const Tensor& w_hh = w[1];
    const Tensor b_ih = bias ? w[2] : Tensor();
    const Tensor b_hh = bias ? w[3] : Tensor();
    // The input projection of all steps is one GEMM: (T*N, F) @ (F, 4H).
    const std::int64_t features = layer_input.size(2);
    Tensor projected = matmul(layer_input.reshape({steps * batch, features}), w_ih.t());
    if (b_ih.defined()) projected = projected + b_ih;
    const std::vector<Tensor> projected_steps = unbind(projected.reshape({steps, batch, 4 * hidden}), 0);

    LstmState state{in.h0.select(0, layer), in.c0.select(0, layer)};
    std::vector<Tensor> outputs;
    outputs.reserve(static_cast<std::size_t>(steps));
    for (std::int64_t t = 0; t < steps; ++t) {
      const Tensor recurrent = b_hh.defined() ? addmm(b_hh, state.h, w_hh.t()) : matmul(state.h, w_hh.t());
      state = lstm_cell_from_gates(projected_steps[static_cast<std::size_t>(t)] + recurrent, state.c);
      outputs.push_back(state.h);
    }
    final_h.push_back(state.h);
    final_c.push_back(state.c);
    layer_input = stack(outputs, 0);
  }
  return {layer_input, stack(final_h, 0), stack(final_c, 0)};
}

// The name of the per-step path among the ways auto times.
constexpr const char* kStepsPath = "cuda.hand.cells";

// Under auto on CUDA: the fastest way for this shape among the per-step
// cells and each implementation of the sequence op (detail::choose_path
// times them once per shape; the per-step path is the reference the others
// are checked against).
std::string fastest_path(const LstmInputs& in, std::int64_t layers, bool bias,
                         const std::vector<std::string>& sequence_implementations) {
  std::vector<Tensor> inputs{in.x, in.h0, in.c0};
  inputs.insert(inputs.end(), in.weights.begin(), in.weights.end());
  const auto unpack = [](const std::vector<Tensor>& v) {
    return LstmInputs{v[0], v[1], v[2], std::vector<Tensor>(v.begin() + 3, v.end())};
  };
  const auto pack = [](const LSTM::Result& r) { return std::vector<Tensor>{r.output, r.h_n, r.c_n}; };
  std::vector<detail::ComputePath> paths{
      {kStepsPath, [=](const std::vector<Tensor>& v) { return pack(run_steps(unpack(v), layers, bias)); }}};
  for (const std::string& name : sequence_implementations) {
    paths.push_back(
        {name, [=](const std::vector<Tensor>& v) { return pack(run_sequence(unpack(v), layers, bias, name)); }});
  }
  std::ostringstream key;
  key << "steps=" << in.x.size(0) << " batch=" << in.x.size(1) << " input=" << in.x.size(2)
      << " hidden=" << in.h0.size(2) << " layers=" << layers << " bias=" << bias;
  return detail::choose_path("lstm", key.str(), inputs, paths);
}

// Layers of one direction on sequence-major inputs. On the CPU the sequence
// op always serves: faster than the steps under every setting (one GEMM per
// layer for the weight gradients instead of one per step, one autograd node
// instead of dozens). On CUDA, hand and vendor take the sequence op (the
// registry picks the hand kernel or cuDNN's RNN; hand keeps to the hand
// cells where only cuDNN serves), and auto the fastest way.
LSTM::Result run_layers(const LstmInputs& in, std::int64_t layers, bool bias) {
  const std::vector<std::string> implementations =
      detail::lstm_sequence_implementations(in.x.device(), in.x.dtype(), in.h0.size(2));
  const bool hand_sequence = std::any_of(implementations.begin(), implementations.end(),
                                         [](const std::string& name) { return !is_vendor_implementation(name); });
  if (implementations.empty() || (kernel_impl() == KernelImpl::Hand && !hand_sequence)) {
    return run_steps(in, layers, bias);
  }
  if (in.x.device().is_cpu() || kernel_impl() != KernelImpl::Auto) return run_sequence(in, layers, bias);
  const std::string path = fastest_path(in, layers, bias, implementations);
  return path == kStepsPath ? run_steps(in, layers, bias) : run_sequence(in, layers, bias, path);
}

}  // namespace

LSTM::Result LSTM::forward_with_state(const Tensor& input, const Tensor& h0, const Tensor& c0,
                                      const std::vector<std::int64_t>& lengths) {
  StackResult r = run_stack(input, {h0, c0}, {"h0", "c0"}, lengths);
  return {r.output, r.final_states[0], r.final_states[1]};
}

LSTM::PackedResult LSTM::forward_with_state(const PackedSequence& input, const Tensor& h0, const Tensor& c0) {
  PackedStackResult r = run_packed_stack(input, {h0, c0}, {"h0", "c0"});
  return {std::move(r.output), r.final_states[0], r.final_states[1]};
}

std::vector<Tensor> LSTM::cell_step(const Tensor& projected, const std::vector<Tensor>& state,
                                    const DirectionWeights& weights) const {
  const LstmState next = lstm_cell_from_gates(projected + weights.project_hidden(state[0]), state[1]);
  return {next.h, next.c};
}

RecurrentBase::DirectionResult LSTM::run_direction(const Tensor& x, std::vector<Tensor> state,
                                                   const DirectionWeights& weights, const Tensor& valid) const {
  if (valid.defined()) return RecurrentBase::run_direction(x, std::move(state), weights, valid);
  LstmInputs in{x, state[0].unsqueeze(0), state[1].unsqueeze(0), {weights.w_ih, weights.w_hh}};
  if (options().bias) in.weights.insert(in.weights.end(), {weights.b_ih, weights.b_hh});
  const Result r = run_layers(in, 1, options().bias);
  return {r.output, {r.h_n.select(0, 0), r.c_n.select(0, 0)}};
}

std::optional<RecurrentBase::StackResult> LSTM::run_whole_stack(const Tensor& sequence,
                                                                const std::vector<Tensor>& initial_states) const {
  LstmInputs in{sequence, initial_states[0], initial_states[1], {}};
  for (std::int64_t layer = 0; layer < options().num_layers; ++layer) {
    const DirectionWeights w = direction_weights(layer, 0, sequence.dtype());
    in.weights.insert(in.weights.end(), {w.w_ih, w.w_hh});
    if (options().bias) in.weights.insert(in.weights.end(), {w.b_ih, w.b_hh});
  }
  const Result r = run_layers(in, options().num_layers, options().bias);
  return StackResult{r.output, {r.h_n, r.c_n}};
}

}  // namespace redes::nn
