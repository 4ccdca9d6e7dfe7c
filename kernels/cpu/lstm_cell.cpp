// The fused LSTM cell on the CPU: gate nonlinearities and the c/h update in
// one pass, and its backward. float runs SIMD loops over each row's units
// with the vectorisable math of kernels/cpu/vector_math.h; double keeps the
// per-element body the CUDA kernel shares (kernels/lstm_math.h).
#include <cstdint>
#include <type_traits>

#include "kernels/cpu/vector_math.h"
#include "kernels/lstm_math.h"
#include "kernels/params.h"
#include "kernels/registry.h"

namespace redes {
namespace {

REDES_VECTOR_CLONES
void cell_forward_rows(float* hc, float* activated, const float* gates, const float* c_prev, std::int64_t rows,
                       std::int64_t hidden) {
  for (std::int64_t n = 0; n < rows; ++n) {
    const float* a = gates + n * 4 * hidden;
    const float* c_before = c_prev + n * hidden;
    float* act = activated + n * 4 * hidden;
    float* h = hc + n * 2 * hidden;
    float* c = h + hidden;
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
void cell_backward_rows(float* d_gates, float* dc_prev, const float* d_hc, const float* activated, const float* c_prev,
                        const float* hc, std::int64_t rows, std::int64_t hidden) {
  for (std::int64_t n = 0; n < rows; ++n) {
    const float* act = activated + n * 4 * hidden;
    const float* dh = d_hc + n * 2 * hidden;
    const float* dc = dh + hidden;
    const float* c_before = c_prev + n * hidden;
    const float* c = hc + n * 2 * hidden + hidden;
    float* dg = d_gates + n * 4 * hidden;
    float* dc_before = dc_prev + n * hidden;
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

// hc (N, 2H), activated (N, 4H), gates (N, 4H), c_prev (N, H); contiguous.
template <class T>
void lstm_cell_cpu(const LstmCellParams&, const TensorArg* args, int, const ExecContext&) {
  T* hc = static_cast<T*>(args[0].data);
  T* activated = static_cast<T*>(args[1].data);
  const T* gates = static_cast<const T*>(args[2].data);
  const T* c_prev = static_cast<const T*>(args[3].data);
  const std::int64_t rows = args[3].sizes[0], hidden = args[3].sizes[1];
  if constexpr (std::is_same_v<T, float>) {
    cell_forward_rows(hc, activated, gates, c_prev, rows, hidden);
  } else {
    for (std::int64_t n = 0; n < rows; ++n) {
      for (std::int64_t u = 0; u < hidden; ++u) lstm::cell_forward_at(hc, activated, gates, c_prev, n, u, hidden);
    }
  }
}

// d_gates (N, 4H), dc_prev (N, H), d_hc (N, 2H), activated (N, 4H),
// c_prev (N, H), hc (N, 2H); contiguous.
template <class T>
void lstm_cell_backward_cpu(const LstmCellBackwardParams&, const TensorArg* args, int, const ExecContext&) {
  T* d_gates = static_cast<T*>(args[0].data);
  T* dc_prev = static_cast<T*>(args[1].data);
  const T* d_hc = static_cast<const T*>(args[2].data);
  const T* activated = static_cast<const T*>(args[3].data);
  const T* c_prev = static_cast<const T*>(args[4].data);
  const T* hc = static_cast<const T*>(args[5].data);
  const std::int64_t rows = args[4].sizes[0], hidden = args[4].sizes[1];
  if constexpr (std::is_same_v<T, float>) {
    cell_backward_rows(d_gates, dc_prev, d_hc, activated, c_prev, hc, rows, hidden);
  } else {
    for (std::int64_t n = 0; n < rows; ++n) {
      for (std::int64_t u = 0; u < hidden; ++u) {
        lstm::cell_backward_at(d_gates, dc_prev, d_hc, activated, c_prev, hc, n, u, hidden);
      }
    }
  }
}

}  // namespace

void register_cpu_lstm_cell(KernelRegistry& registry) {
  registry.add(make_kernel<LstmCellParams, &lstm_cell_cpu<float>>(DeviceType::CPU, kFloat32, "cpu"));
  registry.add(make_kernel<LstmCellParams, &lstm_cell_cpu<double>>(DeviceType::CPU, kFloat64, "cpu"));
  registry.add(make_kernel<LstmCellBackwardParams, &lstm_cell_backward_cpu<float>>(DeviceType::CPU, kFloat32, "cpu"));
  registry.add(make_kernel<LstmCellBackwardParams, &lstm_cell_backward_cpu<double>>(DeviceType::CPU, kFloat64, "cpu"));
}

}  // namespace redes
