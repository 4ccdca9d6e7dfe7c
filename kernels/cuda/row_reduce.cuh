// One block per row for the row-wise kernels (softmax, log-softmax, the fused
// cross-entropy, max/argmax): the block's threads share a row's elements,
// and the row's peak and sum of exponentials come from block reductions, in
// the CPU's types (kernels/arg_reduce_math.h: T for the peak, double for the
// sum), so only the order of additions differs from the CPU.
#pragma once

#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "kernels/arg_reduce_math.h"
#include "kernels/cuda/block_reduce.cuh"
#include "kernels/cuda/launch.cuh"

namespace redes::cuda {

// Threads per block for rows of `length` elements: whole warps, no more than
// a row needs, at most kBlockSize.
inline unsigned row_block_size(std::int64_t length) {
  const std::int64_t warps = (length + kWarpSize - 1) / kWarpSize;
  return static_cast<unsigned>(std::clamp<std::int64_t>(warps * kWarpSize, kWarpSize, kBlockSize));
}

struct Max {
  template <class T>
  __device__ __forceinline__ T operator()(T a, T b) const {
    return b > a ? b : a;
  }
};

// A row's peak and sum(exp(x - peak)) (row_exp_sum's), known to every thread
// of the block. A NaN anywhere in the row makes the sum NaN, as on the CPU.
template <class T>
__device__ RowExpSum<T> block_row_exp_sum(const T* row, std::int64_t stride, std::int64_t length) {
  using std::exp;
  using std::log;
  T peak = static_cast<T>(-INFINITY);
  for (std::int64_t i = threadIdx.x; i < length; i += blockDim.x) peak = Max{}(peak, row[i * stride]);
  peak = block_all_reduce(peak, Max{}, static_cast<T>(-INFINITY));
  double total = 0;
  for (std::int64_t i = threadIdx.x; i < length; i += blockDim.x) {
    total += exp(static_cast<double>(row[i * stride] - peak));
  }
  total = block_all_reduce(total, Plus{}, 0.0);
  return {peak, total, log(total)};
}

}  // namespace redes::cuda
