#include "layers/gru.h"

#include "core/ops.h"

namespace redes::nn {

GRU::GRU(std::int64_t input_size, std::int64_t hidden_size, GRUOptions options)
    : RecurrentBase("GRU", 3, input_size, hidden_size, options) {}

GRU::Result GRU::forward_with_state(const Tensor& input, const Tensor& h0, const std::vector<std::int64_t>& lengths) {
  StackResult r = run_stack(input, {h0}, {"h0"}, lengths);
  return {r.output, r.final_states[0]};
}

GRU::PackedResult GRU::forward_with_state(const PackedSequence& input, const Tensor& h0) {
  PackedStackResult r = run_packed_stack(input, {h0}, {"h0"});
  return {std::move(r.output), r.final_states[0]};
}

std::vector<Tensor> GRU::cell_step(const Tensor& projected, const std::vector<Tensor>& state,
                                   const DirectionWeights& weights) const {
  const Tensor& h = state[0];
  const std::int64_t hidden = h.size(1);
  const Tensor recurrent = weights.project_hidden(h);
  // r and z in one sigmoid; n keeps its recurrent part apart, to be gated by r.
  const std::vector<Tensor> reset_update =
      chunk(sigmoid(projected.narrow(1, 0, 2 * hidden) + recurrent.narrow(1, 0, 2 * hidden)), 2, 1);
  const Tensor candidate =
      tanh(projected.narrow(1, 2 * hidden, hidden) + reset_update[0] * recurrent.narrow(1, 2 * hidden, hidden));
  return {candidate + reset_update[1] * (h - candidate)};
}

}  // namespace redes::nn
