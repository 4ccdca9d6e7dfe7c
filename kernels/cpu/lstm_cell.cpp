// The fused LSTM cell on the CPU: gate nonlinearities and the c/h update in
// one pass, and its backward (the row loops are kernels/cpu/lstm_rows.h).
#include <cstdint>

#include "kernels/cpu/lstm_rows.h"
#include "kernels/cpu/widened.h"
#include "kernels/params.h"
#include "kernels/registry.h"

namespace redes {
namespace {

// hc (N, 2H: h then c), activated (N, 4H), gates (N, 4H), c_prev (N, H); contiguous.
template <class T>
void lstm_cell_cpu(const LstmCellParams&, const TensorArg* args, int, const ExecContext&) {
  T* hc = static_cast<T*>(args[0].data);
  const std::int64_t hidden = args[3].sizes[1];
  cpu::lstm_step_forward<T>({.rows = args[3].sizes[0],
                             .hidden = hidden,
                             .state_stride = 2 * hidden,
                             .gates = static_cast<const T*>(args[2].data),
                             .c_prev = static_cast<const T*>(args[3].data),
                             .activated = static_cast<T*>(args[1].data),
                             .h = hc,
                             .c = hc + hidden});
}

// d_gates (N, 4H), dc_prev (N, H), d_hc (N, 2H), activated (N, 4H),
// c_prev (N, H), hc (N, 2H); contiguous.
template <class T>
void lstm_cell_backward_cpu(const LstmCellBackwardParams&, const TensorArg* args, int, const ExecContext&) {
  const T* d_hc = static_cast<const T*>(args[2].data);
  const T* hc = static_cast<const T*>(args[5].data);
  const std::int64_t hidden = args[4].sizes[1];
  cpu::lstm_step_backward<T>({.rows = args[4].sizes[0],
                              .hidden = hidden,
                              .state_stride = 2 * hidden,
                              .dh = d_hc,
                              .dc = d_hc + hidden,
                              .activated = static_cast<const T*>(args[3].data),
                              .c_prev = static_cast<const T*>(args[4].data),
                              .c = hc + hidden,
                              .d_gates = static_cast<T*>(args[0].data),
                              .dc_prev = static_cast<T*>(args[1].data)});
}

}  // namespace

void register_cpu_lstm_cell(KernelRegistry& registry) {
  registry.add(make_kernel<LstmCellParams, &lstm_cell_cpu<float>>(DeviceType::CPU, kFloat32, "cpu"));
  registry.add(make_kernel<LstmCellParams, &lstm_cell_cpu<double>>(DeviceType::CPU, kFloat64, "cpu"));
  registry.add(make_kernel<LstmCellBackwardParams, &lstm_cell_backward_cpu<float>>(DeviceType::CPU, kFloat32, "cpu"));
  registry.add(make_kernel<LstmCellBackwardParams, &lstm_cell_backward_cpu<double>>(DeviceType::CPU, kFloat64, "cpu"));
  // 16-bit cells run the float32 rows (vectorised) on float32 copies: the
  // forward writes hc and activated, the backward d_gates and dc_prev.
  for (DType dtype : {kBFloat16, kFloat16}) {
    registry.add(make_kernel<LstmCellParams, &cpu::widened<LstmCellParams, &lstm_cell_cpu<float>, 2>>(
        DeviceType::CPU, dtype, "cpu"));
    registry.add(
        make_kernel<LstmCellBackwardParams, &cpu::widened<LstmCellBackwardParams, &lstm_cell_backward_cpu<float>, 2>>(
            DeviceType::CPU, dtype, "cpu"));
  }
}

}  // namespace redes
