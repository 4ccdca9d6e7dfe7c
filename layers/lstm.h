// LSTM over a sequence, with PyTorch's parameter names and layout
// (weight_ih_l{k} (4H, in), weight_hh_l{k} (4H, H), bias_ih_l{k}, bias_hh_l{k};
// gates i, f, g, o), so weights exchange with it.
#pragma once

#include "core/ops.h"
#include "layers/module.h"

namespace redes::nn {

struct LSTMOptions {
  std::int64_t num_layers = 1;
  bool batch_first = false;  // input (N, T, F) instead of (T, N, F)
  bool bias = true;
};

class REDES_API LSTM : public Module {
 public:
  // Every weight and bias uniform on +-1/sqrt(hidden_size), as in PyTorch.
  LSTM(std::int64_t input_size, std::int64_t hidden_size, LSTMOptions options = {});

  struct Result {
    Tensor output;  // hidden states of the last layer at every step: (T, N, H) or (N, T, H)
    Tensor h_n;     // final hidden state of every layer: (num_layers, N, H)
    Tensor c_n;     // final cell state of every layer: (num_layers, N, H)
  };
  // h0, c0: (num_layers, N, H), zeros when undefined.
  Result forward_with_state(const Tensor& input, const Tensor& h0 = Tensor(), const Tensor& c0 = Tensor());
  Tensor forward(const Tensor& input) override { return forward_with_state(input).output; }
  std::string type_name() const override { return "LSTM"; }
  std::string extra_repr() const override;

 private:
  std::int64_t input_size_;
  std::int64_t hidden_size_;
  LSTMOptions options_;
};

}  // namespace redes::nn
