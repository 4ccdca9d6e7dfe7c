// GRU over a sequence, with PyTorch's parameter names, layout and gate order
// r, z, n (weight_ih_l{k} (3H, in), weight_hh_l{k} (3H, H), bias_ih_l{k},
// bias_hh_l{k}, suffix _reverse for the backward direction):
//   r = sigmoid(W_ir x + b_ir + W_hr h + b_hr)
//   z = sigmoid(W_iz x + b_iz + W_hz h + b_hz)
//   n = tanh(W_in x + b_in + r * (W_hn h + b_hn))
//   h' = (1 - z) * n + z * h
// Options, variable-length batches and the parameter layout are described in
// layers/recurrent_base.h.
#pragma once

#include "layers/recurrent_base.h"

namespace redes::nn {

using GRUOptions = RecurrentOptions;

class REDES_API GRU : public RecurrentBase {
 public:
  // Every weight and bias uniform on +-1/sqrt(hidden_size), as in PyTorch.
  GRU(std::int64_t input_size, std::int64_t hidden_size, GRUOptions options = {});

  using Result = RecurrentResult;
  // h0: (num_layers * D, N, H), zeros when undefined. lengths: one per
  // sequence of a padded batch, or empty when every sequence is full.
  Result forward_with_state(const Tensor& input, const Tensor& h0 = Tensor(),
                            const std::vector<std::int64_t>& lengths = {});
  using PackedResult = RecurrentPackedResult;
  // A packed batch (layers/packed_sequence.h); h0 in the original batch
  // order, as in PyTorch.
  PackedResult forward_with_state(const PackedSequence& input, const Tensor& h0 = Tensor());
  Tensor forward(const Tensor& input) override { return forward_with_state(input).output; }
  std::string type_name() const override { return "GRU"; }

 protected:
  std::vector<Tensor> cell_step(const Tensor& projected, const std::vector<Tensor>& state,
                                const DirectionWeights& weights) const override;
};

}  // namespace redes::nn
