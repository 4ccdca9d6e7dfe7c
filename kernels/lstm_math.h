// The LSTM cell's per-element math (gate order i, f, g, o as in PyTorch),
// shared by the CPU and CUDA kernels.
#pragma once

#include <cmath>
#include <cstdint>

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

// Unit u of row n on contiguous buffers: gates and activated (N, 4H), c_prev
// (N, H), hc (N, 2H: h then c). The CPU loop and the CUDA thread both call this,
// so the CPU tests cover the CUDA kernel's indexing too.
template <class T>
REDES_HD void cell_forward_at(T* hc, T* activated, const T* gates, const T* c_prev, std::int64_t n, std::int64_t u,
                              std::int64_t hidden) {
  const T* a = gates + n * 4 * hidden;
  const CellForward<T> r = cell_forward(a[u], a[hidden + u], a[2 * hidden + u], a[3 * hidden + u], c_prev[n * hidden + u]);
  T* act = activated + n * 4 * hidden;
  act[u] = r.i;
  act[hidden + u] = r.f;
  act[2 * hidden + u] = r.g;
  act[3 * hidden + u] = r.o;
  hc[n * 2 * hidden + u] = r.h;
  hc[n * 2 * hidden + hidden + u] = r.c;
}

// The backward of unit u of row n: d_gates (N, 4H), dc_prev (N, H), d_hc
// (N, 2H), and the forward's activated, c_prev and hc; contiguous.
template <class T>
REDES_HD void cell_backward_at(T* d_gates, T* dc_prev, const T* d_hc, const T* activated, const T* c_prev, const T* hc,
                               std::int64_t n, std::int64_t u, std::int64_t hidden) {
  const T* act = activated + n * 4 * hidden;
  const CellBackward<T> r =
      cell_backward(d_hc[n * 2 * hidden + u], d_hc[n * 2 * hidden + hidden + u], act[u], act[hidden + u],
                    act[2 * hidden + u], act[3 * hidden + u], c_prev[n * hidden + u], hc[n * 2 * hidden + hidden + u]);
  T* dg = d_gates + n * 4 * hidden;
  dg[u] = r.d_i;
  dg[hidden + u] = r.d_f;
  dg[2 * hidden + u] = r.d_g;
  dg[3 * hidden + u] = r.d_o;
  dc_prev[n * hidden + u] = r.dc_prev;
}

}  // namespace redes::lstm
