// Elman RNN over a sequence, h' = act(W_ih x + b_ih + W_hh h + b_hh) with act
// tanh or relu, with PyTorch's parameter names and layout (weight_ih_l{k}
// (H, in), weight_hh_l{k} (H, H), bias_ih_l{k}, bias_hh_l{k}, suffix _reverse
// for the backward direction). Options, variable-length batches and the
// parameter layout are described in layers/recurrent_base.h.
#pragma once

#include "layers/recurrent_base.h"

namespace redes::nn {

enum class RNNNonlinearity { Tanh, ReLU };

// RecurrentOptions plus the nonlinearity (fields in the same order, so
// designated initialisers read alike for LSTM, GRU and RNN).
struct RNNOptions {
  std::int64_t num_layers = 1;
  bool batch_first = false;
  bool bias = true;
  double dropout = 0.0;
  bool bidirectional = false;
  RNNNonlinearity nonlinearity = RNNNonlinearity::Tanh;
};

class REDES_API RNN : public RecurrentBase {
 public:
  // Every weight and bias uniform on +-1/sqrt(hidden_size), as in PyTorch.
  RNN(std::int64_t input_size, std::int64_t hidden_size, RNNOptions options = {});

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
  std::string type_name() const override { return "RNN"; }
  std::string extra_repr() const override;
  RNNNonlinearity nonlinearity() const { return nonlinearity_; }

 protected:
  std::vector<Tensor> cell_step(const Tensor& projected, const std::vector<Tensor>& state,
                                const DirectionWeights& weights) const override;

 private:
  RNNNonlinearity nonlinearity_;
};

}  // namespace redes::nn
