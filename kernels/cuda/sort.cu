// sort and nonzero on CUDA devices. Thrust (kernels/cuda/thrust_algorithms.h)
// sorts and compacts; hand kernels around it turn each dtype into the few
// key types Thrust is instantiated for, gather the sorted values, and turn
// non-zero positions into coordinates.
//
// sort: keys = the input widened to its key type (exact: 16-bit floats to
// float32, uint8 to int32), sorted with their global positions; for several
// rows the positions are then grouped by row, stably; values[i] =
// input[position], indices[i] = position % length.
// nonzero: a flag per element, Thrust's copy_if of the flagged positions,
// then the coordinates.
#include <cstdint>
#include <type_traits>

#include "core/cuda/check.h"
#include "core/low_precision.h"
#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/thrust_algorithms.h"
#include "kernels/params.h"
#include "kernels/registry.h"
#include "kernels/sort_order.h"

namespace redes {
namespace {

// The key type a dtype sorts by: itself, or the wider type that holds every
// value exactly and orders them alike.
template <class T>
using SortKey = std::conditional_t<is_low_precision_v<T>, float,
                                   std::conditional_t<std::is_same_v<T, std::uint8_t>, std::int32_t, T>>;

// In the emulated build Thrust runs on the calling thread, so the stream's
// earlier work must be done first; on a GPU Thrust runs on the stream.
void wait_before_thrust([[maybe_unused]] cudaStream_t stream, [[maybe_unused]] const char* op) {
#if !defined(__CUDACC__)
  REDES_CUDA_CHECK(cudaStreamSynchronize(stream), op);
#endif
}

template <class T>
__global__ void widen_kernel(SortKey<T>* keys, const T* input, std::int64_t n) {
  for (std::int64_t i = cuda::first_index(); i < n; i += cuda::grid_stride()) keys[i] = SortKey<T>(input[i]);
}

// values and indices from the sorted global positions.
template <class T>
__global__ void gather_sorted_kernel(T* values, std::int64_t* indices, const T* input, const std::int64_t* positions,
                                     std::int64_t n, std::int64_t length) {
  for (std::int64_t i = cuda::first_index(); i < n; i += cuda::grid_stride()) {
    const std::int64_t position = positions[i];
    values[i] = input[position];
    indices[i] = position % length;
  }
}

// args: values, indices, input — see SortParams.
template <class T>
void sort_cuda(const SortParams& p, const TensorArg* args, int, const ExecContext& ctx) {
  const char* op = SortParams::op;
  const std::int64_t n = p.rows * p.length;
  if (n == 0) return;
  const cudaStream_t stream = cuda::stream_of(ctx);
  const auto* input = static_cast<const T*>(args[2].data);
  auto* keys = workspace_elements<SortKey<T>>(ctx, n, op);
  auto* positions = workspace_elements<std::int64_t>(ctx, n, op);
  REDES_CUDA_CHECK(cuda::launch(widen_kernel<T>, cuda::grid_size(n), cuda::kBlockSize, 0, stream, keys, input, n), op);
  wait_before_thrust(stream, op);
  cuda::thrust_algorithms::sort_with_positions(keys, positions, n, p.descending, stream);
  if (p.rows > 1) cuda::thrust_algorithms::group_by_row(positions, n, p.length, stream);
  REDES_CUDA_CHECK(cuda::launch(gather_sorted_kernel<T>, cuda::grid_size(n), cuda::kBlockSize, 0, stream,
                                static_cast<T*>(args[0].data), static_cast<std::int64_t*>(args[1].data), input,
                                positions, n, p.length),
                   op);
}

template <class T>
__global__ void flag_nonzero_kernel(std::uint8_t* flags, const T* input, std::int64_t n) {
  for (std::int64_t i = cuda::first_index(); i < n; i += cuda::grid_stride()) flags[i] = is_nonzero_element(input[i]);
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
  const char* op = NonzeroParams::op;
  const TensorArg& input = args[1];
  const std::int64_t n = input.numel();
  *p.count = 0;
  if (n == 0) return;
  const cudaStream_t stream = cuda::stream_of(ctx);
  auto* flags = workspace_elements<std::uint8_t>(ctx, n, op);
  auto* positions = workspace_elements<std::int64_t>(ctx, n, op);
  REDES_CUDA_CHECK(cuda::launch(flag_nonzero_kernel<T>, cuda::grid_size(n), cuda::kBlockSize, 0, stream, flags,
                                static_cast<const T*>(input.data), n),
                   op);
  wait_before_thrust(stream, op);
  const std::int64_t count = cuda::thrust_algorithms::flagged_positions(flags, n, positions, stream);
  *p.count = count;
  if (count == 0) return;
  REDES_CUDA_CHECK(cuda::launch(unravel_kernel, cuda::grid_size(count), cuda::kBlockSize, 0, stream,
                                static_cast<std::int64_t*>(args[0].data), positions, count, input),
                   op);
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
