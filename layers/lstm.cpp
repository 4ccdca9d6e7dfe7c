#include "layers/lstm.h"

#include <cmath>

#include "core/ops/lstm_sequence.h"
#include "layers/init.h"

namespace redes::nn {

LSTM::LSTM(std::int64_t input_size, std::int64_t hidden_size, LSTMOptions options)
    : input_size_(input_size), hidden_size_(hidden_size), options_(options) {
  REDES_CHECK(input_size > 0 && hidden_size > 0 && options.num_layers > 0, "LSTM: expected positive sizes, got "
              "input_size=", input_size, ", hidden_size=", hidden_size, ", num_layers=", options.num_layers);
  const double bound = 1.0 / std::sqrt(static_cast<double>(hidden_size));
  for (std::int64_t layer = 0; layer < options.num_layers; ++layer) {
    const std::string suffix = "_l" + std::to_string(layer);
    const std::int64_t in = layer == 0 ? input_size : hidden_size;
    const auto make = [&](const Shape& shape) {
      Tensor t = empty(shape);
      init::uniform_(t, -bound, bound);
      return t;
    };
    register_parameter("weight_ih" + suffix, make({4 * hidden_size, in}));
    register_parameter("weight_hh" + suffix, make({4 * hidden_size, hidden_size}));
    if (options.bias) {
      register_parameter("bias_ih" + suffix, make({4 * hidden_size}));
      register_parameter("bias_hh" + suffix, make({4 * hidden_size}));
    }
  }
}

LSTM::Result LSTM::forward_with_state(const Tensor& input, const Tensor& h0, const Tensor& c0) {
  REDES_CHECK(input.defined() && input.dim() == 3 && input.size(2) == input_size_, "LSTM: expected input of shape ",
              options_.batch_first ? "(N, T, " : "(T, N, ", input_size_, "), got ",
              input.defined() ? shape_str(input.shape()) : std::string("(undefined)"));
  const Tensor sequence = options_.batch_first ? input.transpose(0, 1) : input;  // (T, N, F)
  const std::int64_t steps = sequence.size(0), batch = sequence.size(1), hidden = hidden_size_;
  const Shape state_shape{options_.num_layers, batch, hidden};
  for (const Tensor* state : {&h0, &c0}) {
    REDES_CHECK(!state->defined() || state->shape() == state_shape, "LSTM: initial state should have shape ",
                shape_str(state_shape), ", got ", shape_str(state->shape()));
  }
  REDES_CHECK(steps > 0, "LSTM: the input sequence is empty");
  const TensorOptions like{input.dtype(), input.device()};
  if (detail::use_lstm_sequence(input.device(), input.dtype())) {
    // All layers and steps in one call (cuDNN's RNN).
    std::vector<Tensor> weights;
    for (std::int64_t layer = 0; layer < options_.num_layers; ++layer) {
      const std::string suffix = "_l" + std::to_string(layer);
      for (const char* name : {"weight_ih", "weight_hh", "bias_ih", "bias_hh"}) {
        if (options_.bias || name[0] == 'w') weights.push_back(parameter(name + suffix));
      }
    }
    const detail::LstmSequenceResult r =
        detail::lstm_sequence(sequence, h0.defined() ? h0 : zeros(state_shape, like),
                              c0.defined() ? c0 : zeros(state_shape, like), weights, options_.num_layers, options_.bias);
    return {options_.batch_first ? r.output.transpose(0, 1) : r.output, r.h_n, r.c_n};
  }
  Tensor layer_input = sequence;
  std::vector<Tensor> final_h, final_c;
  for (std::int64_t layer = 0; layer < options_.num_layers; ++layer) {
    const std::string suffix = "_l" + std::to_string(layer);
    const Tensor& w_ih = parameter("weight_ih" + suffix);
    const Tensor& w_hh = parameter("weight_hh" + suffix);
    const Tensor b_ih = options_.bias ? parameter("bias_ih" + suffix) : Tensor();
    const Tensor b_hh = options_.bias ? parameter("bias_hh" + suffix) : Tensor();
    // The input projection of all steps is one GEMM: (T*N, F) @ (F, 4H).
    const std::int64_t features = layer_input.size(2);
    Tensor projected = matmul(layer_input.reshape({steps * batch, features}), w_ih.t());
    if (b_ih.defined()) projected = projected + b_ih;
    const std::vector<Tensor> projected_steps = unbind(projected.reshape({steps, batch, 4 * hidden}), 0);

    LstmState state{h0.defined() ? h0.select(0, layer) : zeros({batch, hidden}, like),
                    c0.defined() ? c0.select(0, layer) : zeros({batch, hidden}, like)};
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
  Tensor output = options_.batch_first ? layer_input.transpose(0, 1) : layer_input;
  return {output, stack(final_h, 0), stack(final_c, 0)};
}

std::string LSTM::extra_repr() const {
  std::string text = std::to_string(input_size_) + ", " + std::to_string(hidden_size_);
  if (options_.num_layers != 1) text += ", num_layers=" + std::to_string(options_.num_layers);
  if (options_.batch_first) text += ", batch_first=true";
  if (!options_.bias) text += ", bias=false";
  return text;
}

}  // namespace redes::nn
