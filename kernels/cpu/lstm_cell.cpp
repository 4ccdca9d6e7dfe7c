// The fused LSTM cell on the CPU: gate nonlinearities and the c/h update in
// one pass, and its backward.
#include <cstdint>

#include "kernels/lstm_math.h"
#include "kernels/params.h"
#include "kernels/registry.h"

namespace redes {
namespace {

// hc (N, 2H), activated (N, 4H), gates (N, 4H), c_prev (N, H); contiguous.
template <class T>
void lstm_cell_cpu(const LstmCellParams&, const TensorArg* args, int, const ExecContext&) {
  T* hc = static_cast<T*>(args[0].data);
  T* activated = static_cast<T*>(args[1].data);
  const T* gates = static_cast<const T*>(args[2].data);
  const T* c_prev = static_cast<const T*>(args[3].data);
  const std::int64_t rows = args[3].sizes[0], hidden = args[3].sizes[1];
  for (std::int64_t n = 0; n < rows; ++n) {
    const T* a = gates + n * 4 * hidden;
    T* act = activated + n * 4 * hidden;
    for (std::int64_t u = 0; u < hidden; ++u) {
      const auto r = lstm::cell_forward(a[u], a[hidden + u], a[2 * hidden + u], a[3 * hidden + u], c_prev[n * hidden + u]);
      act[u] = r.i;
      act[hidden + u] = r.f;
      act[2 * hidden + u] = r.g;
      act[3 * hidden + u] = r.o;
      hc[n * 2 * hidden + u] = r.h;
      hc[n * 2 * hidden + hidden + u] = r.c;
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
  for (std::int64_t n = 0; n < rows; ++n) {
    const T* act = activated + n * 4 * hidden;
    T* dg = d_gates + n * 4 * hidden;
    for (std::int64_t u = 0; u < hidden; ++u) {
      const auto r = lstm::cell_backward(d_hc[n * 2 * hidden + u], d_hc[n * 2 * hidden + hidden + u], act[u],
                                         act[hidden + u], act[2 * hidden + u], act[3 * hidden + u],
                                         c_prev[n * hidden + u], hc[n * 2 * hidden + hidden + u]);
      dg[u] = r.d_i;
      dg[hidden + u] = r.d_f;
      dg[2 * hidden + u] = r.d_g;
      dg[3 * hidden + u] = r.d_o;
      dc_prev[n * hidden + u] = r.dc_prev;
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
