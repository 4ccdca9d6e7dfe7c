// sort and nonzero on CUDA devices. Thrust (kernels/cuda/thrust_algorithms.h)
// sorts the rows and compacts the non-zero positions; a hand kernel turns
// those positions into coordinates.
#include <cstdint>

#include "core/cuda/check.h"
#include "core/low_precision.h"
#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/thrust_algorithms.h"
#include "kernels/params.h"
#include "kernels/registry.h"

namespace redes {
namespace {

// In the emulated build Thrust runs on the calling thread, so the stream's
// earlier work must be done first; on a GPU Thrust runs on the stream.
void wait_before_thrust([[maybe_unused]] cudaStream_t stream, [[maybe_unused]] const char* op) {
#if !defined(__CUDACC__)
  REDES_CUDA_CHECK(cudaStreamSynchronize(stream), op);
#endif
}

template <class T>
T* scratch(const ExecContext& ctx, std::int64_t elements, const char* op) {
  REDES_CHECK(ctx.workspace != nullptr, op, ": the CUDA kernel needs a workspace for its scratch buffer");
  return static_cast<T*>(
      ctx.workspace->request(static_cast<std::size_t>(elements > 0 ? elements : 1) * sizeof(T)));
}

// args: values, indices, input — see SortParams.
template <class T>
void sort_cuda(const SortParams& p, const TensorArg* args, int, const ExecContext& ctx) {
  const std::int64_t n = p.rows * p.length;
  if (n == 0) return;
  const cudaStream_t stream = cuda::stream_of(ctx);
  auto* values = static_cast<T*>(args[0].data);
  REDES_CUDA_CHECK(cudaMemcpyAsync(values, args[2].data, static_cast<std::size_t>(n) * sizeof(T),
                                   cudaMemcpyDeviceToDevice, stream),
                   SortParams::op);
  std::int64_t* rows = p.rows > 1 ? scratch<std::int64_t>(ctx, n, SortParams::op) : nullptr;
  wait_before_thrust(stream, SortParams::op);
  cuda::thrust_algorithms::sort_rows<T>(values, static_cast<std::int64_t*>(args[1].data), rows, p.rows, p.length,
                                        p.descending, stream);
}

// out (count, ndim) contiguous: the coordinates of positions[0..count) in a
// tensor of `sizes`.
__global__ void unravel_kernel(std::int64_t* out, const std::int64_t* positions, std::int64_t count, TensorArg sizes) {
  for (std::int64_t i = cuda::first_index(); i < count; i += cuda::grid_stride()) {
    std::int64_t rest = positions[i];
    for (int d = sizes.ndim - 1; d >= 0; --d) {
      out[i * sizes.ndim + d] = rest % sizes.sizes[d];
      rest /= sizes.sizes[d];
    }
  }
}

// args: out, input — see NonzeroParams.
template <class T>
void nonzero_cuda(const NonzeroParams& p, const TensorArg* args, int, const ExecContext& ctx) {
  const TensorArg& input = args[1];
  const std::int64_t n = input.numel();
  *p.count = 0;
  if (n == 0) return;
  const cudaStream_t stream = cuda::stream_of(ctx);
  std::int64_t* positions = scratch<std::int64_t>(ctx, n, NonzeroParams::op);
  wait_before_thrust(stream, NonzeroParams::op);
  const std::int64_t count =
      cuda::thrust_algorithms::nonzero_positions<T>(static_cast<const T*>(input.data), n, positions, stream);
  *p.count = count;
  if (count == 0) return;
  REDES_CUDA_CHECK(cuda::launch(unravel_kernel, cuda::grid_size(count), cuda::kBlockSize, 0, stream,
                                static_cast<std::int64_t*>(args[0].data), positions, count, input),
                   NonzeroParams::op);
}

template <class T>
void register_for(KernelRegistry& registry) {
  registry.add(make_kernel<NonzeroParams, &nonzero_cuda<T>>(DeviceType::CUDA, dtype_of_v<T>, "cuda.thrust"));
  if constexpr (!std::is_same_v<T, bool>) {
    registry.add(make_kernel<SortParams, &sort_cuda<T>>(DeviceType::CUDA, dtype_of_v<T>, "cuda.thrust"));
  }
}

}  // namespace

void register_cuda_sort(KernelRegistry& registry) {
  register_for<float>(registry);
  register_for<double>(registry);
  register_for<Float16>(registry);
  register_for<BFloat16>(registry);
  register_for<std::int64_t>(registry);
  register_for<std::int32_t>(registry);
  register_for<std::uint8_t>(registry);
  register_for<bool>(registry);
}

}  // namespace redes
