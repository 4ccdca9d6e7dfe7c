// The LSTM cell's per-element math (gate order i, f, g, o as in PyTorch),
// shared by the CPU and CUDA kernels. 16-bit buffers are read into float32,
// computed there, and each result rounds once when it is stored.
#pragma once

#include <cmath>
#include <cstdint>

#include "core/low_precision.h"
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
  using C = compute_type_t<T>;
  const T* a = gates + n * 4 * hidden;
  const CellForward<C> r = cell_forward(C(a[u]), C(a[hidden + u]), C(a[2 * hidden + u]), C(a[3 * hidden + u]),
                                        C(c_prev[n * hidden + u]));
  T* act = activated + n * 4 * hidden;
  act[u] = T(r.i);
  act[hidden + u] = T(r.f);
  act[2 * hidden + u] = T(r.g);
  act[3 * hidden + u] = T(r.o);
  hc[n * 2 * hidden + u] = T(r.h);
  hc[n * 2 * hidden + hidden + u] = T(r.c);
}

// The backward of unit u of row n: d_gates (N, 4H), dc_prev (N, H), d_hc
// (N, 2H), and the forward's activated, c_prev and hc; contiguous.
template <class T>
REDES_HD void cell_backward_at(T* d_gates, T* dc_prev, const T* d_hc, const T* activated, const T* c_prev, const T* hc,
                               std::int64_t n, std::int64_t u, std::int64_t hidden) {
  using C = compute_type_t<T>;
  const T* act = activated + n * 4 * hidden;
  const CellBackward<C> r =
      cell_backward(C(d_hc[n * 2 * hidden + u]), C(d_hc[n * 2 * hidden + hidden + u]), C(act[u]), C(act[hidden + u]),
                    C(act[2 * hidden + u]), C(act[3 * hidden + u]), C(c_prev[n * hidden + u]),
                    C(hc[n * 2 * hidden + hidden + u]));
  T* dg = d_gates + n * 4 * hidden;
  dg[u] = T(r.d_i);
  dg[hidden + u] = T(r.d_f);
  dg[2 * hidden + u] = T(r.d_g);
  dg[3 * hidden + u] = T(r.d_o);
  dc_prev[n * hidden + u] = T(r.dc_prev);
}

}  // namespace redes::lstm
