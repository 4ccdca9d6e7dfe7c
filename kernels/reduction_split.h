// How a sum sees its input: the kept dims (one output element each) and the
// reduced dims (summed into it). Shared by the CPU and CUDA kernels, so both
// walk the reduced elements in the same order.
#pragma once

#include "kernels/hd.h"
#include "kernels/tensor_arg.h"

namespace redes {

// Sizes and strides only; the data pointers stay with the caller.
struct ReductionSplit {
  TensorArg kept;      // in's sizes/strides on the kept dims
  TensorArg reduced;   // in's sizes/strides on the reduced dims
  TensorArg out_kept;  // out's sizes/strides on the kept dims, in kept's order
};

// out has in's sizes with 1 on every reduced dim; a dim of size 1 in both
// counts as kept, which changes no offsets.
REDES_HD ReductionSplit split_reduction(const TensorArg& out, const TensorArg& in) {
  ReductionSplit split;
  for (int d = 0; d < in.ndim; ++d) {
    const bool reduced = out.sizes[d] == 1 && in.sizes[d] != 1;
    TensorArg& part = reduced ? split.reduced : split.kept;
    part.sizes[part.ndim] = in.sizes[d];
    part.strides[part.ndim] = in.strides[d];
    ++part.ndim;
    if (!reduced) {
      TensorArg& kept_out = split.out_kept;
      kept_out.sizes[kept_out.ndim] = out.sizes[d];
      kept_out.strides[kept_out.ndim] = out.strides[d];
      ++kept_out.ndim;
    }
  }
  return split;
}

// `arg` without dim `dim`: walks the positions of the other dims, e.g. the
// rows of a softmax along `dim`.
REDES_HD TensorArg drop_dim(const TensorArg& arg, std::int64_t dim) {
  TensorArg rest;
  rest.data = arg.data;
  rest.dtype = arg.dtype;
  for (int d = 0; d < arg.ndim; ++d) {
    if (d == dim) continue;
    rest.sizes[rest.ndim] = arg.sizes[d];
    rest.strides[rest.ndim] = arg.strides[d];
    ++rest.ndim;
  }
  return rest;
}

}  // namespace redes
