#include "kernels/cpu/lstm_rows.h"

#include "kernels/cpu/vector_math.h"
#include "kernels/lstm_math.h"

namespace redes::cpu {
namespace {

REDES_VECTOR_CLONES
void forward_float(const LstmStep<float>& s) {
  const std::int64_t hidden = s.hidden;
  for (std::int64_t n = 0; n < s.rows; ++n) {
    const float* a = s.gates + n * 4 * hidden;
    const float* c_before = s.c_prev + n * hidden;
    float* act = s.activated + n * 4 * hidden;
    float* h = s.h + n * s.state_stride;
    float* c = s.c + n * s.state_stride;
#pragma omp simd
    for (std::int64_t u = 0; u < hidden; ++u) {
      const float i = vecmath::sigmoid(a[u]);
      const float f = vecmath::sigmoid(a[hidden + u]);
      const float g = vecmath::tanh(a[2 * hidden + u]);
      const float o = vecmath::sigmoid(a[3 * hidden + u]);
      const float c_new = f * c_before[u] + i * g;
      act[u] = i;
      act[hidden + u] = f;
      act[2 * hidden + u] = g;
      act[3 * hidden + u] = o;
      h[u] = o * vecmath::tanh(c_new);
      c[u] = c_new;
    }
  }
}

// The same math as lstm::cell_backward, as one SIMD loop per row.
REDES_VECTOR_CLONES
void backward_float(const LstmStepGrad<float>& s) {
  const std::int64_t hidden = s.hidden;
  for (std::int64_t n = 0; n < s.rows; ++n) {
    const float* act = s.activated + n * 4 * hidden;
    const float* dh = s.dh + n * s.state_stride;
    const float* dc = s.dc + n * s.state_stride;
    const float* c_before = s.c_prev + n * hidden;
    const float* c = s.c + n * s.state_stride;
    float* dg = s.d_gates + n * 4 * hidden;
    float* dc_before = s.dc_prev + n * hidden;
#pragma omp simd
    for (std::int64_t u = 0; u < hidden; ++u) {
      const float i = act[u], f = act[hidden + u], g = act[2 * hidden + u], o = act[3 * hidden + u];
      const float tanh_c = vecmath::tanh(c[u]);
      const float dc_total = dc[u] + dh[u] * o * (1.0f - tanh_c * tanh_c);
      dg[u] = dc_total * g * i * (1.0f - i);
      dg[hidden + u] = dc_total * c_before[u] * f * (1.0f - f);
      dg[2 * hidden + u] = dc_total * i * (1.0f - g * g);
      dg[3 * hidden + u] = dh[u] * tanh_c * o * (1.0f - o);
      dc_before[u] = dc_total * f;
    }
  }
}

}  // namespace

template <>
void lstm_step_forward<float>(const LstmStep<float>& step) {
  forward_float(step);
}

template <>
void lstm_step_forward<double>(const LstmStep<double>& s) {
  for (std::int64_t n = 0; n < s.rows; ++n) {
    const double* a = s.gates + n * 4 * s.hidden;
    double* act = s.activated + n * 4 * s.hidden;
    for (std::int64_t u = 0; u < s.hidden; ++u) {
      const lstm::CellForward<double> r = lstm::cell_forward(a[u], a[s.hidden + u], a[2 * s.hidden + u],
                                                             a[3 * s.hidden + u], s.c_prev[n * s.hidden + u]);
      act[u] = r.i;
      act[s.hidden + u] = r.f;
      act[2 * s.hidden + u] = r.g;
      act[3 * s.hidden + u] = r.o;
      s.h[n * s.state_stride + u] = r.h;
      s.c[n * s.state_stride + u] = r.c;
    }
  }
}

template <>
void lstm_step_backward<float>(const LstmStepGrad<float>& step) {
  backward_float(step);
}

template <>
void lstm_step_backward<double>(const LstmStepGrad<double>& s) {
  for (std::int64_t n = 0; n < s.rows; ++n) {
    const double* act = s.activated + n * 4 * s.hidden;
    double* dg = s.d_gates + n * 4 * s.hidden;
    for (std::int64_t u = 0; u < s.hidden; ++u) {
      const std::int64_t at = n * s.state_stride + u;
      const lstm::CellBackward<double> r =
          lstm::cell_backward(s.dh[at], s.dc[at], act[u], act[s.hidden + u], act[2 * s.hidden + u],
                              act[3 * s.hidden + u], s.c_prev[n * s.hidden + u], s.c[at]);
      dg[u] = r.d_i;
      dg[s.hidden + u] = r.d_f;
      dg[2 * s.hidden + u] = r.d_g;
      dg[3 * s.hidden + u] = r.d_o;
      s.dc_prev[n * s.hidden + u] = r.dc_prev;
    }
  }
}

}  // namespace redes::cpu
