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
    for (std::int64_t u = 0; u < hidden; ++u) lstm::cell_forward_at(hc, activated, gates, c_prev, n, u, hidden);
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
    for (std::int64_t u = 0; u < hidden; ++u) {
      lstm::cell_backward_at(d_gates, dc_prev, d_hc, activated, c_prev, hc, n, u, hidden);
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
