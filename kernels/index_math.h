// Index arithmetic of gather and scatter_add, shared by the CPU and CUDA kernels.
#pragma once

#include <cstdint>

#include "kernels/hd.h"
#include "kernels/tensor_arg.h"

namespace redes {

// `target`'s strides over `index`'s sizes, with the stride of `dim` zeroed:
// strided_offset(i, result) + j * target.strides[dim] addresses the element of
// `target` that position i of `index` selects when index[i] == j.
REDES_HD TensorArg indexed_view(const TensorArg& target, const TensorArg& index, std::int64_t dim) {
  TensorArg view = index;
  view.data = target.data;
  view.dtype = target.dtype;
  for (int d = 0; d < index.ndim; ++d) view.strides[d] = d == dim ? 0 : target.strides[d];
  return view;
}

}  // namespace redes
