// The whole-sequence LSTM op: every step of every layer in one kernel call
// (on the CPU a hand kernel or oneDNN's LSTM, on CUDA a hand kernel or
// cuDNN's RNN), and lstm_layers, the op nn::LSTM calls, which chooses
// between it and per-step cells. Internal.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/export.h"
#include "core/tensor.h"

namespace redes::detail {

struct LstmSequenceResult {
  Tensor output;  // (T, N, H): the last layer's h at every step
  Tensor h_n;     // (L, N, H)
  Tensor c_n;     // (L, N, H)
  // What computed it: the registry's implementation of lstm_sequence
  // ("cpu", "onednn", "cuda.hand", "cudnn"), or "cuda.hand.cells" for
  // lstm_layers' per-step path.
  std::string implementation;
};

// x (T, N, F); h0, c0 (L, N, H); weights per layer w_ih (4H, in), w_hh (4H, H)
// and, with bias, b_ih (4H), b_hh (4H). Gradients flow to all of them.
// `implementation` names the registry's implementation to run ("cuda.hand",
// "cudnn"); empty, the registry chooses by the implementation setting.
REDES_API LstmSequenceResult lstm_sequence(const Tensor& x, const Tensor& h0, const Tensor& c0,
                                           const std::vector<Tensor>& weights, std::int64_t layers, bool bias,
                                           const std::string& implementation = "");

// The implementations of lstm_sequence that can run for tensors of `dtype`
// on `device` with this hidden size, in the registry's priority order: on
// CUDA the hand kernel (float32 and float64, hidden sizes whose per-sequence
// tiles fit a block's shared memory) and cuDNN where it is usable.
REDES_API std::vector<std::string> lstm_sequence_implementations(Device device, DType dtype,
                                                                 std::int64_t hidden_size);

// Whether any implementation can (lstm_sequence_implementations is not empty).
REDES_API bool lstm_sequence_available(Device device, DType dtype, std::int64_t hidden_size);

// The LSTM op of nn::LSTM: lstm_sequence's arguments and result, computed
// by the way the implementation setting picks. On the CPU, lstm_sequence.
// On CUDA, hand and vendor take lstm_sequence (the registry's hand kernel or
// cuDNN's RNN; hand keeps to the per-step path where only cuDNN serves),
// and auto times once per shape the per-step path (the reference: per layer
// one GEMM for every step's input projection, then per step the recurrent
// GEMM and the fused cell) against each implementation of lstm_sequence
// (detail::choose_path). Without any implementation (16-bit CUDA LSTMs),
// the per-step path. The result names what ran.
REDES_API LstmSequenceResult lstm_layers(const Tensor& x, const Tensor& h0, const Tensor& c0,
                                         const std::vector<Tensor>& weights, std::int64_t layers, bool bias);

}  // namespace redes::detail
