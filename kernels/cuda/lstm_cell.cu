// The fused LSTM cell on CUDA devices: one thread per (row, hidden unit),
// with the per-element math of kernels/lstm_math.h (shared with the CPU).
#include <cstdint>

#include "core/cuda/check.h"
#include "kernels/cuda/launch.cuh"
#include "kernels/lstm_math.h"
#include "kernels/params.h"
#include "kernels/registry.h"

namespace redes {
namespace {

// hc (N, 2H), activated (N, 4H), gates (N, 4H), c_prev (N, H); contiguous.
template <class T>
__global__ void lstm_cell_kernel(T* hc, T* activated, const T* gates, const T* c_prev, std::int64_t rows,
                                 std::int64_t hidden) {
  const std::int64_t total = rows * hidden;
  for (std::int64_t index = cuda::first_index(); index < total; index += cuda::grid_stride()) {
    lstm::cell_forward_at(hc, activated, gates, c_prev, index / hidden, index % hidden, hidden);
  }
}

// d_gates (N, 4H), dc_prev (N, H), d_hc (N, 2H), activated (N, 4H),
// c_prev (N, H), hc (N, 2H); contiguous.
template <class T>
__global__ void lstm_cell_backward_kernel(T* d_gates, T* dc_prev, const T* d_hc, const T* activated, const T* c_prev,
                                          const T* hc, std::int64_t rows, std::int64_t hidden) {
  const std::int64_t total = rows * hidden;
  for (std::int64_t index = cuda::first_index(); index < total; index += cuda::grid_stride()) {
    lstm::cell_backward_at(d_gates, dc_prev, d_hc, activated, c_prev, hc, index / hidden, index % hidden, hidden);
  }
}

template <class T>
void lstm_cell_cuda(const LstmCellParams&, const TensorArg* args, int, const ExecContext& ctx) {
  const std::int64_t rows = args[3].sizes[0], hidden = args[3].sizes[1];
  if (rows * hidden == 0) return;
  REDES_CUDA_CHECK(cuda::launch(lstm_cell_kernel<T>, cuda::grid_size(rows * hidden), cuda::kBlockSize, 0,
                                cuda::stream_of(ctx), static_cast<T*>(args[0].data), static_cast<T*>(args[1].data),
                                static_cast<const T*>(args[2].data), static_cast<const T*>(args[3].data), rows, hidden),
                   LstmCellParams::op);
}

template <class T>
void lstm_cell_backward_cuda(const LstmCellBackwardParams&, const TensorArg* args, int, const ExecContext& ctx) {
  const std::int64_t rows = args[4].sizes[0], hidden = args[4].sizes[1];
  if (rows * hidden == 0) return;
  REDES_CUDA_CHECK(cuda::launch(lstm_cell_backward_kernel<T>, cuda::grid_size(rows * hidden), cuda::kBlockSize, 0,
                                cuda::stream_of(ctx), static_cast<T*>(args[0].data), static_cast<T*>(args[1].data),
                                static_cast<const T*>(args[2].data), static_cast<const T*>(args[3].data),
                                static_cast<const T*>(args[4].data), static_cast<const T*>(args[5].data), rows, hidden),
                   LstmCellBackwardParams::op);
}

template <class T>
void register_for(KernelRegistry& registry) {
  registry.add(make_kernel<LstmCellParams, &lstm_cell_cuda<T>>(DeviceType::CUDA, dtype_of_v<T>, "cuda.hand"));
  registry.add(
      make_kernel<LstmCellBackwardParams, &lstm_cell_backward_cuda<T>>(DeviceType::CUDA, dtype_of_v<T>, "cuda.hand"));
}

}  // namespace

void register_cuda_lstm_cell(KernelRegistry& registry) {
  register_for<float>(registry);
  register_for<double>(registry);
  register_for<BFloat16>(registry);
  register_for<Float16>(registry);
}

}  // namespace redes
