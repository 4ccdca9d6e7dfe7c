// Params of the whole-sequence LSTM ops (core/ops/lstm_sequence.cpp),
// implemented by cuDNN on CUDA (kernels/cudnn/lstm_sequence.cpp) and by a
// hand kernel on the CPU (kernels/cpu/lstm_sequence.cpp). Kept apart from
// kernels/params.h because only these files use them. Layers stacked
// unidirectionally, gate order i, f, g, o, PyTorch's parameter layout.
#pragma once

#include <cstdint>

#include "kernels/exec_context.h"

namespace redes {

struct LstmSequenceShape {
  std::int64_t steps = 0, batch = 0, input_size = 0, hidden_size = 0, layers = 1;
  bool bias = true;
};

// Number of weight tensors: per layer w_ih (4H, in), w_hh (4H, H) and, with
// bias, b_ih (4H), b_hh (4H); in = input_size for layer 0, else hidden_size.
constexpr std::int64_t lstm_sequence_weight_count(const LstmSequenceShape& s) {
  return s.layers * (s.bias ? 4 : 2);
}

// args: y (T, N, H), h_n (L, N, H), c_n (L, N, H), x (T, N, F), h0 (L, N, H),
// c0 (L, N, H), then the weights as above. All contiguous. When `reserve` is
// set (training), the kernel requests from it the memory the backward pass
// needs and fills it; the caller keeps that memory for the backward call.
struct LstmSequenceParams {
  static constexpr const char* op = "lstm_sequence";
  LstmSequenceShape shape;
  Workspace* reserve = nullptr;
};

// args: dx (T, N, F), dh0, dc0, then one gradient per weight (the weights'
// shapes) — all overwritten — then y, dy, dh_n, dc_n, x, h0, c0, reserve
// (uint8, from the forward call), then the weights. All contiguous.
struct LstmSequenceBackwardParams {
  static constexpr const char* op = "lstm_sequence_backward";
  LstmSequenceShape shape;
};

}  // namespace redes
