#include "layers/lstm.h"

#include <vector>

#include "core/ops/lstm_sequence.h"

namespace redes::nn {

LSTM::LSTM(std::int64_t input_size, std::int64_t hidden_size, LSTMOptions options)
    : RecurrentBase("LSTM", 4, input_size, hidden_size, options) {}

namespace {

// The layers of one direction on sequence-major inputs through
// detail::lstm_layers, which chooses how they run.
LSTM::Result run_layers(const Tensor& x, const Tensor& h0, const Tensor& c0, const std::vector<Tensor>& weights,
                        std::int64_t layers, bool bias) {
  const detail::LstmSequenceResult r = detail::lstm_layers(x, h0, c0, weights, layers, bias);
  return {r.output, r.h_n, r.c_n};
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
  std::vector<Tensor> layer_weights{weights.w_ih, weights.w_hh};
  if (options().bias) layer_weights.insert(layer_weights.end(), {weights.b_ih, weights.b_hh});
  const Result r = run_layers(x, state[0].unsqueeze(0), state[1].unsqueeze(0), layer_weights, 1, options().bias);
  return {r.output, {r.h_n.select(0, 0), r.c_n.select(0, 0)}};
}

std::optional<RecurrentBase::StackResult> LSTM::run_whole_stack(const Tensor& sequence,
                                                                const std::vector<Tensor>& initial_states) const {
  std::vector<Tensor> weights;
  for (std::int64_t layer = 0; layer < options().num_layers; ++layer) {
    const DirectionWeights w = direction_weights(layer, 0, sequence.dtype());
    weights.insert(weights.end(), {w.w_ih, w.w_hh});
    if (options().bias) weights.insert(weights.end(), {w.b_ih, w.b_hh});
  }
  const Result r =
      run_layers(sequence, initial_states[0], initial_states[1], weights, options().num_layers, options().bias);
  return StackResult{r.output, {r.h_n, r.c_n}};
}

}  // namespace redes::nn
