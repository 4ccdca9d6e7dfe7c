// The linear op (LinearParams) on the CPU around any GEMM: the composite's
// steps in one call, so that each CPU implementation gives addmm's and the
// activation op's roundings whatever GEMM it runs.
#pragma once

#include <algorithm>
#include <cstdint>

#include "kernels/cpu/parallel.h"
#include "kernels/cpu/strided_loop.h"
#include "kernels/elementwise_math.h"
#include "kernels/params.h"
#include "kernels/tensor_arg.h"

namespace redes::cpu {

// args: see LinearParams. The bias copied into every row, then
// gemm(product, product_args) adding onto it (MatmulParams::accumulate, as
// addmm), then the activation in place.
template <class T, class Gemm>
void linear_through(const LinearParams& p, const TensorArg* args, Gemm&& gemm) {
  T* out = static_cast<T*>(args[0].data);
  if (p.m == 0 || p.n == 0) return;
  if (p.bias) {
    const T* bias = static_cast<const T*>(args[3].data);
    for (std::int64_t row = 0; row < p.m; ++row) std::copy(bias, bias + p.n, out + row * p.n);
  }
  const MatmulParams product{1, p.m, p.n, p.k, p.bias};
  const TensorArg product_args[] = {args[0], args[1], args[2]};
  gemm(product, product_args);
  visit_activation(p.activation, [&]<Activation A>() {
    if constexpr (A != Activation::None) {
      parallel_for(0, p.m * p.n, kElementwiseGrain, [&](std::int64_t lo, std::int64_t hi) {
        for (std::int64_t i = lo; i < hi; ++i) out[i] = activate<A>(out[i]);
      });
    }
  });
}

}  // namespace redes::cpu
