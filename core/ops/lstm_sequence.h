// The whole-sequence LSTM op: every step of every layer in one kernel call
// (on the CPU a hand kernel or oneDNN's LSTM, on CUDA a hand kernel or
// cuDNN's RNN). nn::LSTM uses it on the CPU always, on CUDA under the hand
// and vendor settings, and under auto when it is the faster. Internal.
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

}  // namespace redes::detail
