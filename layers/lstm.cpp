#include "layers/lstm.h"

#include <cmath>
#include <sstream>

#include "core/ops/lstm_sequence.h"
#include "core/ops/path_choice.h"
#include "kernels/kernel_settings.h"
#include "layers/init.h"

namespace redes::nn {

LSTM::LSTM(std::int64_t input_size, std::int64_t hidden_size, LSTMOptions options)
    : input_size_(input_size), hidden_size_(hidden_size), options_(options) {
  REDES_CHECK(input_size > 0 && hidden_size > 0 && options.num_layers > 0,
              "LSTM: expected positive sizes, got input_size=", input_size, ", hidden_size=", hidden_size,
              ", num_layers=", options.num_layers);
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

namespace {

// One LSTM computation on sequence-major tensors: x (T, N, F); h0, c0
// (L, N, H); weights per layer w_ih, w_hh and, with bias, b_ih, b_hh.
struct LstmInputs {
  Tensor x, h0, c0;
  std::vector<Tensor> weights;
};

// All layers and steps in one call (cuDNN's RNN).
LSTM::Result run_sequence(const LstmInputs& in, std::int64_t layers, bool bias) {
  const detail::LstmSequenceResult r = detail::lstm_sequence(in.x, in.h0, in.c0, in.weights, layers, bias);
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

// Under auto: which of the two paths is faster for this shape
// (detail::choose_path times both once per shape; the per-step path is the
// reference the sequence op is checked against).
bool sequence_is_faster(const LstmInputs& in, std::int64_t layers, bool bias) {
  std::vector<Tensor> inputs{in.x, in.h0, in.c0};
  inputs.insert(inputs.end(), in.weights.begin(), in.weights.end());
  const auto as_path = [layers, bias](LSTM::Result (*path)(const LstmInputs&, std::int64_t, bool)) {
    return [path, layers, bias](const std::vector<Tensor>& v) {
      const LSTM::Result r = path({v[0], v[1], v[2], std::vector<Tensor>(v.begin() + 3, v.end())}, layers, bias);
      return std::vector<Tensor>{r.output, r.h_n, r.c_n};
    };
  };
  std::ostringstream key;
  key << "steps=" << in.x.size(0) << " batch=" << in.x.size(1) << " input=" << in.x.size(2)
      << " hidden=" << in.h0.size(2) << " layers=" << layers << " bias=" << bias;
  return detail::choose_path("lstm", key.str(), inputs,
                             {{"cuda.hand", as_path(&run_steps)}, {"cudnn", as_path(&run_sequence)}}) == "cudnn";
}

bool use_sequence(const LstmInputs& in, std::int64_t layers, bool bias) {
  if (!detail::lstm_sequence_available(in.x.device(), in.x.dtype())) return false;
  // On the CPU the sequence op is a hand kernel, faster than the steps
  // under every setting (one GEMM per layer for the weight gradients
  // instead of one per step, one autograd node instead of dozens).
  if (in.x.device().is_cpu()) return true;
  switch (kernel_impl()) {
    case KernelImpl::Vendor:
      return true;
    case KernelImpl::Auto:
      return sequence_is_faster(in, layers, bias);
    case KernelImpl::Hand:
      break;
  }
  return false;
}

}  // namespace

LSTM::Result LSTM::forward_with_state(const Tensor& input, const Tensor& h0, const Tensor& c0) {
  REDES_CHECK(input.defined() && input.dim() == 3 && input.size(2) == input_size_, "LSTM: expected input of shape ",
              options_.batch_first ? "(N, T, " : "(T, N, ", input_size_, "), got ",
              input.defined() ? shape_str(input.shape()) : std::string("(undefined)"));
  const Tensor sequence = options_.batch_first ? input.transpose(0, 1) : input;  // (T, N, F)
  const Shape state_shape{options_.num_layers, sequence.size(1), hidden_size_};
  for (const Tensor* state : {&h0, &c0}) {
    REDES_CHECK(!state->defined() || state->shape() == state_shape, "LSTM: initial state should have shape ",
                shape_str(state_shape), ", got ", shape_str(state->shape()));
  }
  REDES_CHECK(sequence.size(0) > 0, "LSTM: the input sequence is empty");
  const TensorOptions like{input.dtype(), input.device()};
  LstmInputs in{
      sequence, h0.defined() ? h0 : zeros(state_shape, like), c0.defined() ? c0 : zeros(state_shape, like), {}};
  for (std::int64_t layer = 0; layer < options_.num_layers; ++layer) {
    const std::string suffix = "_l" + std::to_string(layer);
    for (const char* name : {"weight_ih", "weight_hh", "bias_ih", "bias_hh"}) {
      if (options_.bias || name[0] == 'w') in.weights.push_back(parameter(name + suffix));
    }
  }
  const Result r = use_sequence(in, options_.num_layers, options_.bias)
                       ? run_sequence(in, options_.num_layers, options_.bias)
                       : run_steps(in, options_.num_layers, options_.bias);
  return {options_.batch_first ? r.output.transpose(0, 1) : r.output, r.h_n, r.c_n};
}

std::string LSTM::extra_repr() const {
  std::string text = std::to_string(input_size_) + ", " + std::to_string(hidden_size_);
  if (options_.num_layers != 1) text += ", num_layers=" + std::to_string(options_.num_layers);
  if (options_.batch_first) text += ", batch_first=true";
  if (!options_.bias) text += ", bias=false";
  return text;
}

}  // namespace redes::nn
