#include "layers/rnn.h"

#include "core/ops.h"

namespace redes::nn {

RNN::RNN(std::int64_t input_size, std::int64_t hidden_size, RNNOptions options)
    : RecurrentBase("RNN", 1, input_size, hidden_size,
                    {options.num_layers, options.batch_first, options.bias, options.dropout, options.bidirectional}),
      nonlinearity_(options.nonlinearity) {}

RNN::Result RNN::forward_with_state(const Tensor& input, const Tensor& h0, const std::vector<std::int64_t>& lengths) {
  StackResult r = run_stack(input, {h0}, {"h0"}, lengths);
  return {r.output, r.final_states[0]};
}

RNN::PackedResult RNN::forward_with_state(const PackedSequence& input, const Tensor& h0) {
  PackedStackResult r = run_packed_stack(input, {h0}, {"h0"});
  return {std::move(r.output), r.final_states[0]};
}

std::vector<Tensor> RNN::cell_step(const Tensor& projected, const std::vector<Tensor>& state,
                                   const DirectionWeights& weights) const {
  const Tensor pre_activation = projected + weights.project_hidden(state[0]);
  return {nonlinearity_ == RNNNonlinearity::Tanh ? tanh(pre_activation) : relu(pre_activation)};
}

std::string RNN::extra_repr() const {
  std::string text = RecurrentBase::extra_repr();
  if (nonlinearity_ == RNNNonlinearity::ReLU) text += ", nonlinearity=relu";
  return text;
}

}  // namespace redes::nn
