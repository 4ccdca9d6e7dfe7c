// The CPU's 16-bit fallback: run_widened (kernels/widened.h) with the
// conversions of kernels/cpu/convert_16bit.h for dense tensors and the
// strided CPU walk otherwise.
#pragma once

#include "kernels/cpu/convert_16bit.h"
#include "kernels/cpu/strided_loop.h"
#include "kernels/widened.h"

namespace redes::cpu {

inline void convert_widening(const TensorArg& to, const TensorArg& from, const ExecContext&) {
  visit_widening(to.dtype, from.dtype, [&]<class To, class From>(To, From) {
    To* out = static_cast<To*>(to.data);
    const From* in = static_cast<const From*>(from.data);
    if (has_contiguous_strides(to) && has_contiguous_strides(from)) return convert_dense(in, out, to.numel());
    const TensorArg pair[2] = {to, from};
    strided_for_each<2>(pair, [&](const auto& offsets) { out[offsets[0]] = static_cast<To>(in[offsets[1]]); });
  });
}

// A kernel function for a 16-bit dtype: float32 `Kernel` through
// run_widened, with `Outputs` output arguments first.
template <class Params, void (*Kernel)(const Params&, const TensorArg*, int, const ExecContext&), int Outputs = 1>
void widened(const Params& params, const TensorArg* args, int nargs, const ExecContext& ctx) {
  run_widened(Kernel, params, args, nargs, Outputs, ctx, &convert_widening);
}

}  // namespace redes::cpu
