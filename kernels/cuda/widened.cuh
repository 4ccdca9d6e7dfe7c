// The CUDA 16-bit fallback: run_widened (kernels/widened.h) with the
// conversions as kernels on the call's stream.
#pragma once

#include "core/cuda/check.h"
#include "kernels/cuda/launch.cuh"
#include "kernels/widened.h"

namespace redes::cuda {

// to, from: same sizes, any strides; n elements.
template <class To, class From>
__global__ void widening_kernel(TensorArg to, TensorArg from, std::int64_t n) {
  To* out = static_cast<To*>(to.data);
  const From* in = static_cast<const From*>(from.data);
  for (std::int64_t i = first_index(); i < n; i += grid_stride()) {
    out[strided_offset(i, to)] = static_cast<To>(in[strided_offset(i, from)]);
  }
}

inline void convert_widening(const TensorArg& to, const TensorArg& from, const ExecContext& ctx) {
  const std::int64_t n = to.numel();
  if (n == 0) return;
  visit_widening(to.dtype, from.dtype, [&]<class To, class From>(To, From) {
    REDES_CUDA_CHECK(launch(widening_kernel<To, From>, grid_size(n), kBlockSize, 0, stream_of(ctx), to, from, n),
                     "16-bit conversion");
  });
}

// A kernel function for a 16-bit dtype: float32 `Kernel` through
// run_widened, with `Outputs` output arguments first.
template <class Params, void (*Kernel)(const Params&, const TensorArg*, int, const ExecContext&), int Outputs = 1>
void widened(const Params& params, const TensorArg* args, int nargs, const ExecContext& ctx) {
  run_widened(Kernel, params, args, nargs, Outputs, ctx, &convert_widening);
}

}  // namespace redes::cuda
