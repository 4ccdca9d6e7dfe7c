// The LSTM cell's per-element math (gate order i, f, g, o as in PyTorch),
// shared by the CPU and CUDA kernels.
#pragma once

#include <cmath>

#include "kernels/hd.h"

namespace redes::lstm {

template <class T>
REDES_HD T sigmoid(T x) {
  using std::exp;
  return T(1) / (T(1) + exp(-x));
}

// Forward for one (row, unit): pre-activation gates a_i, a_f, a_g, a_o and
// the previous cell c_prev give the activated gates, the new cell and h.
template <class T>
struct CellForward {
  T i, f, g, o, c, h;
};

template <class T>
REDES_HD CellForward<T> cell_forward(T a_i, T a_f, T a_g, T a_o, T c_prev) {
  using std::tanh;
  CellForward<T> r;
  r.i = sigmoid(a_i);
  r.f = sigmoid(a_f);
  r.g = tanh(a_g);
  r.o = sigmoid(a_o);
  r.c = r.f * c_prev + r.i * r.g;
  r.h = r.o * tanh(r.c);
  return r;
}

// Backward for one (row, unit): from dh and dc (gradients of h and c), the
// activated gates, c_prev and c, the gradients of the four pre-activations
// and of c_prev.
template <class T>
struct CellBackward {
  T d_i, d_f, d_g, d_o, dc_prev;
};

template <class T>
REDES_HD CellBackward<T> cell_backward(T dh, T dc, T i, T f, T g, T o, T c_prev, T c) {
  using std::tanh;
  const T tanh_c = tanh(c);
  const T dc_total = dc + dh * o * (T(1) - tanh_c * tanh_c);
  CellBackward<T> r;
  r.d_i = dc_total * g * i * (T(1) - i);
  r.d_f = dc_total * c_prev * f * (T(1) - f);
  r.d_g = dc_total * i * (T(1) - g * g);
  r.d_o = dh * tanh_c * o * (T(1) - o);
  r.dc_prev = dc_total * f;
  return r;
}

}  // namespace redes::lstm
