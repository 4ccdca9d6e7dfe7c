// What LSTM, GRU and RNN share: options, PyTorch's parameter names and
// initialisation, input and state checks, the loop over layers and
// directions (with dropout between layers), per-sequence lengths, and the
// step-by-step unrolling of a cell. Each layer supplies only its cell.
//
// Parameters, in PyTorch's order and layout (G gates: LSTM 4, GRU 3, RNN 1;
// D directions; in = input_size for layer 0, else D * hidden_size):
//   weight_ih_l{k}[_reverse] (G*H, in), weight_hh_l{k}[_reverse] (G*H, H),
//   bias_ih_l{k}[_reverse] (G*H), bias_hh_l{k}[_reverse] (G*H).
//
// Variable-length batches: pass the length of every sequence of a padded
// batch to forward_with_state. A sequence's steps past its length change
// nothing: h_n (and c_n) are its state after its last valid step, its
// outputs there are zero, and the reverse direction starts at its own last
// valid step. For example
//
//   nn::GRU gru(8, 16, {.batch_first = true, .bidirectional = true});
//   // x (3, 5, 8): three sequences padded to 5 steps, of lengths 5, 2 and 4.
//   const nn::GRU::Result r = gru.forward_with_state(x, Tensor(), {5, 2, 4});
//   // r.h_n (2, 3, 16) equals running each sequence alone, unpadded.
//
// A PackedSequence (layers/packed_sequence.h) goes in the same way, as in
// PyTorch: forward_with_state(packed, h0) returns the output packed like the
// input and h_n in the original batch order (as h0 is given).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "layers/module.h"
#include "layers/packed_sequence.h"

namespace redes::nn {

struct RecurrentOptions {
  std::int64_t num_layers = 1;
  bool batch_first = false;  // input and output (N, T, F) instead of (T, N, F)
  bool bias = true;
  // Dropout with this probability on the outputs of every layer but the
  // last, in training mode only (as PyTorch).
  double dropout = 0.0;
  // A second set of layers reads each sequence backwards; outputs carry both
  // directions' features (forward first): 2 * hidden_size.
  bool bidirectional = false;
};

// The output and final hidden state of GRU and RNN.
struct RecurrentResult {
  Tensor output;  // last layer, every step: (T, N, D*H) or (N, T, D*H)
  Tensor h_n;     // final hidden state of every layer and direction: (num_layers * D, N, H)
};

// The same for a packed input.
struct RecurrentPackedResult {
  PackedSequence output;  // last layer at every valid step, packed as the input: (sum(lengths), D*H)
  Tensor h_n;             // (num_layers * D, N, H), in the original batch order
};

class REDES_API RecurrentBase : public Module {
 public:
  std::int64_t input_size() const { return input_size_; }
  std::int64_t hidden_size() const { return hidden_size_; }
  const RecurrentOptions& options() const { return options_; }
  std::int64_t num_directions() const { return options_.bidirectional ? 2 : 1; }
  std::string extra_repr() const override;

 protected:
  // The weights of one layer in one direction (biases undefined without bias).
  struct DirectionWeights {
    Tensor w_ih, w_hh, b_ih, b_hh;
    // x W_ih^T + b_ih and h W_hh^T + b_hh (each bias only when there is one).
    Tensor project_input(const Tensor& x) const;
    Tensor project_hidden(const Tensor& h) const;
  };
  // Outputs (T, N, H) of one direction, in the order it read the steps, and
  // its final states (h, then c for the LSTM), each (N, H).
  struct DirectionResult {
    Tensor output;
    std::vector<Tensor> final_states;
  };
  // The result of all layers: output (T, N, D*H) or batch first, and per
  // kind of state (h, c) the final states (num_layers * D, N, H).
  struct StackResult {
    Tensor output;
    std::vector<Tensor> final_states;
  };

  // `type` names the layer in errors; `gates` is G above. Every weight and
  // bias uniform on +-1/sqrt(hidden_size), as in PyTorch.
  RecurrentBase(const char* type, std::int64_t gates, std::int64_t input_size, std::int64_t hidden_size,
                RecurrentOptions options);

  // Checks the input, the initial states (undefined: zeros; `state_names`
  // name them in errors) and the lengths (empty: every sequence is full),
  // then runs every layer and direction.
  StackResult run_stack(const Tensor& input, std::vector<Tensor> initial_states,
                        const std::vector<const char*>& state_names, const std::vector<std::int64_t>& lengths);

  // run_stack on a packed input: unpacked to a padded batch in the original
  // order with its lengths, run, and the output packed like the input.
  // Initial and final states are in the original batch order.
  struct PackedStackResult {
    PackedSequence output;
    std::vector<Tensor> final_states;
  };
  PackedStackResult run_packed_stack(const PackedSequence& input, std::vector<Tensor> initial_states,
                                     const std::vector<const char*>& state_names);

  // One step of the cell: `projected` is x W_ih^T + b_ih (N, G*H) for this
  // step, `state` the states before it; returns the states after it, h first.
  virtual std::vector<Tensor> cell_step(const Tensor& projected, const std::vector<Tensor>& state,
                                        const DirectionWeights& weights) const = 0;

  // One direction of one layer over x (T, N, F), already in the order this
  // direction reads it. `valid` (T, N, 1) bool says which steps belong to
  // their sequence (undefined: all). The default unrolls cell_step after
  // projecting every step's input with one GEMM; a step that is not valid
  // keeps the state and outputs zeros.
  virtual DirectionResult run_direction(const Tensor& x, std::vector<Tensor> state, const DirectionWeights& weights,
                                        const Tensor& valid) const;

  // All layers at once when the stack is unidirectional, every sequence is
  // full and dropout is off: sequence (T, N, F), initial states
  // (num_layers, N, H). Nothing (the default) runs the layers one by one.
  virtual std::optional<StackResult> run_whole_stack(const Tensor& sequence,
                                                     const std::vector<Tensor>& initial_states) const;

  // The weights converted to `dtype` (the input's: autocast may differ from
  // the parameters').
  DirectionWeights direction_weights(std::int64_t layer, std::int64_t direction, DType dtype) const;
  // Parameter name suffix: "_l1", "_l1_reverse".
  static std::string suffix(std::int64_t layer, std::int64_t direction);

 private:
  std::int64_t input_size_;
  std::int64_t hidden_size_;
  RecurrentOptions options_;
};

}  // namespace redes::nn
