// One LSTM step over a batch of rows on the CPU, shared by the fused cell
// kernel (kernels/cpu/lstm_cell.cpp) and the whole-sequence kernel
// (kernels/cpu/lstm_sequence.cpp). float runs SIMD loops with the
// vectorisable math of kernels/cpu/vector_math.h; double the per-element
// body the CUDA kernel shares (kernels/lstm_math.h). Gate order i, f, g, o.
#pragma once

#include <cstdint>

namespace redes::cpu {

// One step of `rows` sequences. gates and activated are (rows, 4H); c_prev
// is (rows, H) dense; row n's h and c start at h + n * state_stride and
// c + n * state_stride (the fused cell keeps h and c side by side in one
// (rows, 2H) tensor; the sequence kernel keeps them apart).
template <class T>
struct LstmStep {
  std::int64_t rows = 0, hidden = 0;
  std::int64_t state_stride = 0;  // between rows of h, c, dh and dc
  const T* gates = nullptr;
  const T* c_prev = nullptr;
  T* activated = nullptr;
  T* h = nullptr;
  T* c = nullptr;
};

// Forward: activated gates, then c = f c_prev + i g and h = o tanh(c).
template <class T>
void lstm_step_forward(const LstmStep<T>& step);

// Backward of one step, from dh and dc (rows at state_stride) and the
// forward's activated, c_prev and c: the gradients of the pre-activation
// gates (rows, 4H) and of c_prev (rows, H, dense).
template <class T>
struct LstmStepGrad {
  std::int64_t rows = 0, hidden = 0;
  std::int64_t state_stride = 0;
  const T* dh = nullptr;
  const T* dc = nullptr;
  const T* activated = nullptr;
  const T* c_prev = nullptr;
  const T* c = nullptr;
  T* d_gates = nullptr;
  T* dc_prev = nullptr;
};

template <class T>
void lstm_step_backward(const LstmStepGrad<T>& step);

}  // namespace redes::cpu
