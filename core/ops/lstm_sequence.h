// The whole-sequence LSTM op: every step of every layer in one kernel call
// (cuDNN's RNN API on CUDA, a hand kernel on the CPU). nn::LSTM uses it on
// the CPU always, and on CUDA under the vendor setting, and under auto when
// it is the faster. Internal.
#pragma once

#include <cstdint>
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
REDES_API LstmSequenceResult lstm_sequence(const Tensor& x, const Tensor& h0, const Tensor& c0,
                                           const std::vector<Tensor>& weights, std::int64_t layers, bool bias);

// Whether lstm_sequence can run for tensors of `dtype` on `device`: the CPU,
// or a CUDA device with cuDNN usable.
REDES_API bool lstm_sequence_available(Device device, DType dtype);

}  // namespace redes::detail
