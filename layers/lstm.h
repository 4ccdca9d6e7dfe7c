// LSTM over a sequence, with PyTorch's parameter names and layout
// (weight_ih_l{k} (4H, in), weight_hh_l{k} (4H, H), bias_ih_l{k}, bias_hh_l{k},
// with suffix _reverse for the backward direction; gates i, f, g, o), so
// weights exchange with it. Options, variable-length batches and the
// parameter layout are described in layers/recurrent_base.h.
#pragma once

#include "core/ops.h"
#include "layers/recurrent_base.h"

namespace redes::nn {

using LSTMOptions = RecurrentOptions;

class REDES_API LSTM : public RecurrentBase {
 public:
  // Every weight and bias uniform on +-1/sqrt(hidden_size), as in PyTorch.
  LSTM(std::int64_t input_size, std::int64_t hidden_size, LSTMOptions options = {});

  struct Result {
    Tensor output;  // hidden states of the last layer at every step: (T, N, D*H) or (N, T, D*H)
    Tensor h_n;     // final hidden state of every layer and direction: (num_layers * D, N, H)
    Tensor c_n;     // final cell state of every layer and direction: (num_layers * D, N, H)
  };
  // h0, c0: (num_layers * D, N, H), zeros when undefined. lengths: one per
  // sequence of a padded batch, or empty when every sequence is full.
  Result forward_with_state(const Tensor& input, const Tensor& h0 = Tensor(), const Tensor& c0 = Tensor(),
                            const std::vector<std::int64_t>& lengths = {});
  struct PackedResult {
    PackedSequence output;  // last layer at every valid step, packed as the input: (sum(lengths), D*H)
    Tensor h_n;             // (num_layers * D, N, H), in the original batch order
    Tensor c_n;             // (num_layers * D, N, H), in the original batch order
  };
  // A packed batch (layers/packed_sequence.h); h0, c0 in the original batch
  // order, as in PyTorch.
  PackedResult forward_with_state(const PackedSequence& input, const Tensor& h0 = Tensor(),
                                  const Tensor& c0 = Tensor());
  Tensor forward(const Tensor& input) override { return forward_with_state(input).output; }
  std::string type_name() const override { return "LSTM"; }

 protected:
  std::vector<Tensor> cell_step(const Tensor& projected, const std::vector<Tensor>& state,
                                const DirectionWeights& weights) const override;
  // Without lengths: the whole-sequence op (or the per-step fused cells) of
  // one layer.
  DirectionResult run_direction(const Tensor& x, std::vector<Tensor> state, const DirectionWeights& weights,
                                const Tensor& valid) const override;
  std::optional<StackResult> run_whole_stack(const Tensor& sequence,
                                             const std::vector<Tensor>& initial_states) const override;
};

}  // namespace redes::nn
