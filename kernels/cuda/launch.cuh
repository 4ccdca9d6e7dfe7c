// How the hand-written CUDA kernels are launched: the one launch form, and
// the geometry of one thread per output element in grid-stride loops.
#pragma once

#include <cuda_runtime.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <utility>

#include "kernels/exec_context.h"

namespace redes::cuda {

inline constexpr int kBlockSize = 256;
// The kernels loop over their elements, so a bigger grid only adds scheduling
// work: this is a few waves of resident blocks on an H100 (132 SMs x 8 blocks).
inline constexpr std::int64_t kMaxBlocks = 4096;

// Blocks for n > 0 elements (a grid of 0 blocks is a launch error).
inline unsigned grid_size(std::int64_t n) {
  return static_cast<unsigned>(std::min((n + kBlockSize - 1) / kBlockSize, kMaxBlocks));
}

inline cudaStream_t stream_of(const ExecContext& ctx) { return static_cast<cudaStream_t>(ctx.stream); }

// The one launch form of every kernel file:
//   REDES_CUDA_CHECK(cuda::launch(kernel, grid, block, shared_bytes, stream, args...), op);
// It is cudaLaunchKernelEx, which nvcc and the emulated CUDA build
// (core/cuda_emulation/) both compile, and which returns the launch's status:
// a configuration the device refuses is reported at the launch site.
template <class... Params, class... Args>
cudaError_t launch(void (*kernel)(Params...), dim3 grid, dim3 block, std::size_t shared_bytes, cudaStream_t stream,
                   Args&&... args) {
  cudaLaunchConfig_t config{};
  config.gridDim = grid;
  config.blockDim = block;
  config.dynamicSmemBytes = shared_bytes;
  config.stream = stream;
  return cudaLaunchKernelEx(&config, kernel, std::forward<Args>(args)...);
}

// Element indices are 64-bit: tensors may hold more than 2^31 elements.
__device__ __forceinline__ std::int64_t first_index() {
  return static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
}

// The smaller of two values in device code (std::min is a host function to
// nvcc without --expt-relaxed-constexpr).
template <class T>
__device__ __forceinline__ T device_min(T a, T b) {
  return b < a ? b : a;
}

// The block's dynamic shared memory (the launch's shared_bytes), as T.
template <class T>
__device__ __forceinline__ T* dynamic_shared() {
#if defined(__CUDACC__)
  extern __shared__ __align__(16) unsigned char dynamic_shared_bytes[];
  return reinterpret_cast<T*>(dynamic_shared_bytes);
#else  // the emulated CUDA build, compiled as C++
  return static_cast<T*>(redes::cuda_emulation::dynamic_shared_memory());
#endif
}

__device__ __forceinline__ std::int64_t grid_stride() { return static_cast<std::int64_t>(gridDim.x) * blockDim.x; }

}  // namespace redes::cuda
