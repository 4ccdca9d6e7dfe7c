// Per-element logic of the fused dropout kernel (DropoutParams): `apply` is
// shared by kernels/cpu/dropout.cpp and kernels/cuda/dropout.cu, `block_at` is
// the CUDA thread's unit (the CPU draws many blocks at once instead).
//
// Elements 4b .. 4b+3 take the four lanes of Philox block offset + b (the
// contract of kernels/philox.h), so one call of the generator serves four
// outputs: the work unit is a block, not an element. Drawing the mask element
// by element (as bernoulli does) runs the 10 Philox rounds four times per block.
#pragma once

#include <cstdint>

#include "kernels/hd.h"
#include "kernels/params.h"
#include "kernels/philox.h"
#include "kernels/tensor_arg.h"

namespace redes::dropout_math {

// x * scale when kept, x * 0 when dropped: the bits of x * (mask * scale),
// the composite this kernel replaces (also for inf and NaN inputs).
template <class T>
REDES_HD T apply(T x, std::uint32_t bits, float keep, T scale) {
  return x * (philox::bits_to_uniform(bits) < keep ? scale : T(0));
}

// Writes out[i] for the elements i of Philox block `block` below n. out is
// contiguous; in has out's sizes and any strides (dense: unit stride, no
// offset arithmetic).
template <class T>
REDES_HD void block_at(T* out, const T* in, const TensorArg& in_arg, bool in_dense, std::int64_t block,
                       std::int64_t n, const DropoutParams& p) {
  // The 16-bit types scale in float32 and round once.
  using C = compute_type_t<T>;
  const philox::Block bits = philox::stream_block(p.seed, p.offset + static_cast<std::uint64_t>(block));
  const C scale = static_cast<C>(p.scale);
  const std::int64_t first = block * 4;
  const std::int64_t last = first + 4 < n ? first + 4 : n;
  for (std::int64_t i = first; i < last; ++i) {
    const T x = in_dense ? in[i] : in[strided_offset(i, in_arg)];
    out[i] = static_cast<T>(apply(static_cast<C>(x), bits.v[i - first], p.keep, scale));
  }
}

}  // namespace redes::dropout_math
