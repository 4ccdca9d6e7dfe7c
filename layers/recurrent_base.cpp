#include "layers/recurrent_base.h"

#include <cmath>
#include <sstream>

#include "core/autocast.h"
#include "core/ops.h"
#include "core/random.h"
#include "layers/init.h"
#include "layers/sequence_lengths.h"

namespace redes::nn {

RecurrentBase::RecurrentBase(const char* type, std::int64_t gates, std::int64_t input_size, std::int64_t hidden_size,
                             RecurrentOptions options)
    : input_size_(input_size), hidden_size_(hidden_size), options_(options) {
  REDES_CHECK(input_size > 0 && hidden_size > 0 && options.num_layers > 0, type,
              ": expected positive sizes, got input_size=", input_size, ", hidden_size=", hidden_size,
              ", num_layers=", options.num_layers);
  REDES_CHECK(options.dropout >= 0.0 && options.dropout <= 1.0, type, ": expected dropout in [0, 1], got ",
              options.dropout);
  const double bound = 1.0 / std::sqrt(static_cast<double>(hidden_size));
  const auto make = [bound](const Shape& shape) {
    Tensor t = empty(shape);
    init::uniform_(t, -bound, bound);
    return t;
  };
  for (std::int64_t layer = 0; layer < options.num_layers; ++layer) {
    const std::int64_t in = layer == 0 ? input_size : num_directions() * hidden_size;
    for (std::int64_t direction = 0; direction < num_directions(); ++direction) {
      const std::string names = suffix(layer, direction);
      register_parameter("weight_ih" + names, make({gates * hidden_size, in}));
      register_parameter("weight_hh" + names, make({gates * hidden_size, hidden_size}));
      if (options.bias) {
        register_parameter("bias_ih" + names, make({gates * hidden_size}));
        register_parameter("bias_hh" + names, make({gates * hidden_size}));
      }
    }
  }
}

std::string RecurrentBase::suffix(std::int64_t layer, std::int64_t direction) {
  return "_l" + std::to_string(layer) + (direction == 1 ? "_reverse" : "");
}

namespace {

// x W^T + b, with the bias folded into the GEMM when there is one.
Tensor affine(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  return bias.defined() ? addmm(bias, x, weight.t()) : matmul(x, weight.t());
}

}  // namespace

Tensor RecurrentBase::DirectionWeights::project_input(const Tensor& x) const { return affine(x, w_ih, b_ih); }
Tensor RecurrentBase::DirectionWeights::project_hidden(const Tensor& h) const { return affine(h, w_hh, b_hh); }

RecurrentBase::DirectionWeights RecurrentBase::direction_weights(std::int64_t layer, std::int64_t direction,
                                                                 DType dtype) const {
  const std::string names = suffix(layer, direction);
  // A recorded conversion where the layer computes in another dtype than its
  // parameters (autocast): the gradients still reach the parameters in theirs.
  const auto get = [&](const std::string& name) { return parameter(name + names).to(dtype); };
  DirectionWeights weights{get("weight_ih"), get("weight_hh"), Tensor(), Tensor()};
  if (options_.bias) {
    weights.b_ih = get("bias_ih");
    weights.b_hh = get("bias_hh");
  }
  return weights;
}

std::optional<RecurrentBase::StackResult> RecurrentBase::run_whole_stack(const Tensor&,
                                                                         const std::vector<Tensor>&) const {
  return std::nullopt;
}

RecurrentBase::DirectionResult RecurrentBase::run_direction(const Tensor& x, std::vector<Tensor> state,
                                                            const DirectionWeights& weights,
                                                            const Tensor& valid) const {
  const std::int64_t steps = x.size(0), batch = x.size(1);
  // The input projection of all steps is one GEMM: (T*N, F) @ (F, G*H).
  const Tensor flat = x.reshape({steps * batch, x.size(2)});
  const Tensor projected = weights.project_input(flat);
  const std::vector<Tensor> projected_steps = unbind(projected.reshape({steps, batch, projected.size(1)}), 0);
  const std::vector<Tensor> valid_steps = valid.defined() ? unbind(valid, 0) : std::vector<Tensor>{};
  const Tensor zero = valid.defined() ? zeros({}, {x.dtype(), x.device()}) : Tensor();
  std::vector<Tensor> outputs;
  outputs.reserve(static_cast<std::size_t>(steps));
  for (std::size_t t = 0; t < static_cast<std::size_t>(steps); ++t) {
    std::vector<Tensor> next = cell_step(projected_steps[t], state, weights);
    if (valid.defined()) {
      // Past its end a sequence keeps its state and outputs zeros.
      for (std::size_t k = 0; k < next.size(); ++k) next[k] = where(valid_steps[t], next[k], state[k]);
      outputs.push_back(where(valid_steps[t], next[0], zero));
    } else {
      outputs.push_back(next[0]);
    }
    state = std::move(next);
  }
  return {stack(outputs, 0), std::move(state)};
}

RecurrentBase::StackResult RecurrentBase::run_stack(const Tensor& input_in, std::vector<Tensor> initial_states,
                                                    const std::vector<const char*>& state_names,
                                                    const std::vector<std::int64_t>& lengths) {
  // Under autocast a float32 layer runs in the autocast dtype, as in
  // PyTorch: the input, the initial states and the weights are cast (the
  // weights by a recorded conversion, so their gradients come back float32),
  // the kernels compute the gates in float32, and the outputs are 16-bit.
  // The scope is off inside the layer, so that every op sees one dtype.
  const Tensor& weight = parameter("weight_ih_l0");
  const std::optional<DType> cast_to = weight.dtype() == kFloat32 ? autocast_dtype() : std::nullopt;
  const DType dtype = cast_to.value_or(weight.dtype());
  const auto cast = [&](const Tensor& t) { return cast_to ? redes::detail::autocast_to_low_precision(t) : t; };
  const Tensor input = cast(input_in);
  for (Tensor& state : initial_states) state = cast(state);
  const autocast one_dtype_inside(kBFloat16, false);
  const std::string type = type_name();
  REDES_CHECK(input.defined() && input.dim() == 3 && input.size(2) == input_size_, type,
              ": expected input of shape ", options_.batch_first ? "(N, T, " : "(T, N, ", input_size_, "), got ",
              input.defined() ? shape_str(input.shape()) : std::string("(undefined)"));
  REDES_CHECK(input.dtype() == dtype && input.device() == weight.device(), type, ": expected input of ",
              dtype_name(dtype), " on ", weight.device().str(),
              cast_to ? " (the autocast dtype)" : " (as the parameters)", ", got ", dtype_name(input.dtype()), " on ",
              input.device().str());
  const Tensor sequence = options_.batch_first ? input.transpose(0, 1) : input;  // (T, N, F)
  const std::int64_t steps = sequence.size(0), batch = sequence.size(1);
  const std::int64_t directions = num_directions();
  const Shape state_shape{options_.num_layers * directions, batch, hidden_size_};
  for (std::size_t k = 0; k < initial_states.size(); ++k) {
    Tensor& state = initial_states[k];
    if (!state.defined()) {
      state = zeros(state_shape, {input.dtype(), input.device()});
      continue;
    }
    REDES_CHECK(state.shape() == state_shape, type, ": initial state ", state_names[k], " should have shape ",
                shape_str(state_shape), " (num_layers", directions == 2 ? " * 2" : "", ", N, hidden_size), got ",
                shape_str(state.shape()));
    REDES_CHECK(state.dtype() == input.dtype() && state.device() == input.device(), type, ": initial state ",
                state_names[k], " should be ", dtype_name(input.dtype()), " on ", input.device().str(),
                " (as the input), got ", dtype_name(state.dtype()), " on ", state.device().str());
  }
  REDES_CHECK(steps > 0, type, ": the input sequence is empty");
  const detail::SequenceLengths sequence_lengths(lengths, steps, batch, type, input.device());
  const bool dropout_active = options_.dropout > 0.0 && is_training() && options_.num_layers > 1;
  const auto batch_layout = [this](const Tensor& output) {
    return options_.batch_first ? output.transpose(0, 1) : output;
  };

  if (directions == 1 && !sequence_lengths.valid().defined() && !dropout_active) {
    if (std::optional<StackResult> whole = run_whole_stack(sequence, initial_states)) {
      whole->output = batch_layout(whole->output);
      return std::move(*whole);
    }
  }

  Tensor layer_input = sequence;
  std::vector<std::vector<Tensor>> finals(initial_states.size());
  for (std::int64_t layer = 0; layer < options_.num_layers; ++layer) {
    std::vector<Tensor> outputs;
    for (std::int64_t direction = 0; direction < directions; ++direction) {
      const bool backwards = direction == 1;
      std::vector<Tensor> state;
      for (const Tensor& initial : initial_states) state.push_back(initial.select(0, layer * directions + direction));
      DirectionResult result =
          run_direction(backwards ? sequence_lengths.reverse(layer_input) : layer_input, std::move(state),
                        direction_weights(layer, direction, dtype), sequence_lengths.valid());
      outputs.push_back(backwards ? sequence_lengths.reverse(result.output) : result.output);
      for (std::size_t k = 0; k < finals.size(); ++k) finals[k].push_back(result.final_states[k]);
    }
    layer_input = outputs.size() == 1 ? outputs[0] : cat(outputs, 2);
    if (dropout_active && layer + 1 < options_.num_layers) layer_input = dropout(layer_input, options_.dropout, true);
  }
  StackResult result{batch_layout(layer_input), {}};
  for (const std::vector<Tensor>& per_layer : finals) result.final_states.push_back(stack(per_layer, 0));
  return result;
}

RecurrentBase::PackedStackResult RecurrentBase::run_packed_stack(const PackedSequence& input,
                                                                std::vector<Tensor> initial_states,
                                                                const std::vector<const char*>& state_names) {
  const std::string type = type_name();
  const Tensor& data = input.data;
  REDES_CHECK(data.defined() && data.dim() == 2 && data.size(1) == input_size_, type,
              ": expected packed data of shape (sum(lengths), ", input_size_, "), got ",
              data.defined() ? shape_str(data.shape()) : std::string("(undefined)"));
  // Unpacked in the layer's own layout, so run_stack reads it as any input.
  const PaddedSequence padded = detail::unpack(input, options_.batch_first, type);
  StackResult result = run_stack(padded.padded, std::move(initial_states), state_names, padded.lengths);
  return {detail::pack_like(result.output, input, options_.batch_first), std::move(result.final_states)};
}

std::string RecurrentBase::extra_repr() const {
  std::ostringstream text;
  text << input_size_ << ", " << hidden_size_;
  if (options_.num_layers != 1) text << ", num_layers=" << options_.num_layers;
  if (options_.batch_first) text << ", batch_first=true";
  if (!options_.bias) text << ", bias=false";
  if (options_.dropout != 0.0) text << ", dropout=" << options_.dropout;
  if (options_.bidirectional) text << ", bidirectional=true";
  return text.str();
}

}  // namespace redes::nn
