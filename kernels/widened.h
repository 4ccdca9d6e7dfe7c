// float16 and bfloat16 through a float32 kernel, for ops that have no 16-bit
// arithmetic of their own (the convolutions, pooling): correct (each result
// is computed in float32 and rounds once) but not faster than float32, and
// the copies cost memory traffic. Vendor kernels with native 16-bit math
// (oneDNN's bfloat16) are registered above these.
//
// The backends supply the element conversion: kernels/cpu/widened.h and
// kernels/cuda/widened.cuh.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "kernels/exec_context.h"
#include "kernels/tensor_arg.h"

namespace redes {

// Runs float32 `kernel` on `args`: each 16-bit argument becomes a dense
// float32 copy in the call's workspace (outputs too, so that kernels that add
// into their output see its values), and the first `outputs` arguments are
// rounded back into the caller's tensors afterwards. convert(to, from, ctx)
// copies between a 16-bit and a float32 tensor of the same sizes.
template <class Params, class Convert>
void run_widened(void (*kernel)(const Params&, const TensorArg*, int, const ExecContext&), const Params& params,
                 const TensorArg* args, int nargs, int outputs, const ExecContext& ctx, Convert convert) {
  std::vector<TensorArg> wide(args, args + nargs);
  for (int i = 0; i < nargs; ++i) {
    if (!is_low_precision(args[i].dtype)) continue;
    TensorArg& w = wide[static_cast<std::size_t>(i)];
    w.dtype = DType::Float32;
    std::int64_t stride = 1;
    for (int d = w.ndim - 1; d >= 0; --d) {
      w.strides[d] = stride;
      stride *= w.sizes[d];
    }
    w.data = ctx.workspace->request(static_cast<std::size_t>(w.numel()) * sizeof(float));
    convert(w, args[i], ctx);
  }
  kernel(params, wide.data(), nargs, ctx);
  for (int i = 0; i < outputs; ++i) {
    if (is_low_precision(args[i].dtype)) convert(args[i], wide[static_cast<std::size_t>(i)], ctx);
  }
}

// Calls body(To{}, From{}) for a conversion between a 16-bit type and float32.
template <class Body>
void visit_widening(DType to, DType from, Body&& body) {
  if (to == DType::Float32) {
    if (from == DType::BFloat16) return body(float{}, BFloat16{});
    return body(float{}, Float16{});
  }
  if (to == DType::BFloat16) return body(BFloat16{}, float{});
  return body(Float16{}, float{});
}

}  // namespace redes
