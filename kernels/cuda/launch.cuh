// Launch geometry shared by the hand-written CUDA kernels: one thread per
// output element, in grid-stride loops.
#pragma once

#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>

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

// Element indices are 64-bit: tensors may hold more than 2^31 elements.
__device__ __forceinline__ std::int64_t first_index() {
  return static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
}

__device__ __forceinline__ std::int64_t grid_stride() { return static_cast<std::int64_t>(gridDim.x) * blockDim.x; }

}  // namespace redes::cuda
