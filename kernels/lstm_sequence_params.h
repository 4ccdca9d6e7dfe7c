// Params of the whole-sequence LSTM ops (core/ops/lstm_sequence.cpp),
// implemented by cuDNN or a hand kernel on CUDA (kernels/cudnn/,
// kernels/cuda/lstm_sequence.*) and by oneDNN or a hand kernel on the CPU
// (kernels/onednn/, kernels/cpu/lstm_sequence.cpp), and what the hand
// kernels share: their args by name, the weights of a layer, the layout of
// their reserve. Kept apart from kernels/params.h because only these files
// use them. Layers stacked
// unidirectionally, gate order i, f, g, o, PyTorch's parameter layout.
#pragma once

#include <cstdint>

#include "kernels/exec_context.h"
#include "kernels/tensor_arg.h"

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

// The forward call's args by name, as element type T.
template <class T>
struct LstmSequenceArgs {
  T* y;
  T* h_n;
  T* c_n;
  const T* x;
  const T* h0;
  const T* c0;
  const TensorArg* weights;  // the first weight arg
};

template <class T>
LstmSequenceArgs<T> lstm_sequence_args(const TensorArg* args) {
  return {static_cast<T*>(args[0].data),
          static_cast<T*>(args[1].data),
          static_cast<T*>(args[2].data),
          static_cast<const T*>(args[3].data),
          static_cast<const T*>(args[4].data),
          static_cast<const T*>(args[5].data),
          args + 6};
}

// The backward call's args by name, as element type T (y is not read).
template <class T>
struct LstmSequenceBackwardArgs {
  T* dx;
  T* dh0;
  T* dc0;
  const TensorArg* weight_grads;  // the first weight gradient arg
  const T* dy;
  const T* dh_n;
  const T* dc_n;
  const T* x;
  const T* h0;
  const T* c0;
  T* reserve;
  const TensorArg* weights;  // the first weight arg
};

template <class T>
LstmSequenceBackwardArgs<T> lstm_sequence_backward_args(const LstmSequenceShape& s, const TensorArg* args) {
  const TensorArg* after = args + 3 + lstm_sequence_weight_count(s);  // y, dy, ...
  return {static_cast<T*>(args[0].data),        static_cast<T*>(args[1].data),
          static_cast<T*>(args[2].data),        args + 3,
          static_cast<const T*>(after[1].data), static_cast<const T*>(after[2].data),
          static_cast<const T*>(after[3].data), static_cast<const T*>(after[4].data),
          static_cast<const T*>(after[5].data), static_cast<const T*>(after[6].data),
          static_cast<T*>(after[7].data),       after + 8};
}

// Weight k (0 w_ih, 1 w_hh, 2 b_ih, 3 b_hh) of `layer`, from the first weight arg.
template <class T>
const T* lstm_weight(const TensorArg* weights, const LstmSequenceShape& s, std::int64_t layer, int k) {
  return static_cast<const T*>(weights[layer * (s.bias ? 4 : 2) + k].data);
}

// The reserve of the hand kernels (CPU and CUDA): per layer the activated
// gates (T, N, 4H), then h and c (T, N, H each) at every step.
template <class T>
struct LstmLayerState {
  T* activated;
  T* h;
  T* c;
};

// Elements of one layer's part of that reserve.
constexpr std::int64_t lstm_layer_reserve_elements(const LstmSequenceShape& s) {
  return s.steps * s.batch * 6 * s.hidden_size;
}

template <class T>
LstmLayerState<T> lstm_layer_state(T* reserve, const LstmSequenceShape& s, std::int64_t layer) {
  const std::int64_t rows = s.steps * s.batch;
  T* base = reserve + layer * lstm_layer_reserve_elements(s);
  return {base, base + rows * 4 * s.hidden_size, base + rows * 5 * s.hidden_size};
}

}  // namespace redes
