// How kernels see a tensor: a raw pointer, its element type and its strided
// geometry. Kernels never see the Tensor class.
#pragma once

#include <cstdint>

#include "core/dtype.h"
#include "kernels/hd.h"

namespace redes {

inline constexpr int kMaxDims = 8;

struct TensorArg {
  void* data = nullptr;  // address of element 0
  DType dtype = DType::Float32;
  int ndim = 0;
  std::int64_t sizes[kMaxDims] = {};
  std::int64_t strides[kMaxDims] = {};  // in elements; 0 on broadcast dims

  REDES_HD std::int64_t numel() const {
    std::int64_t count = 1;
    for (int d = 0; d < ndim; ++d) count *= sizes[d];
    return count;
  }
};

// Offset in elements of the element with row-major linear index `linear`
// in a tensor of the given sizes and strides.
REDES_HD std::int64_t strided_offset(std::int64_t linear, const std::int64_t* sizes,
                                     const std::int64_t* strides, int ndim) {
  std::int64_t offset = 0;
  for (int d = ndim - 1; d >= 0; --d) {
    const std::int64_t size = sizes[d];
    offset += (linear % size) * strides[d];
    linear /= size;
  }
  return offset;
}

REDES_HD std::int64_t strided_offset(std::int64_t linear, const TensorArg& arg) {
  return strided_offset(linear, arg.sizes, arg.strides, arg.ndim);
}

// The same elements in the same row-major order with the fewest dims: size-1
// dims dropped, and neighbours merged where the outer one steps over exactly
// the inner one (stride[d] == stride[d + 1] * size[d + 1]). A dense tensor
// becomes one dim of stride 1, so kernels can skip the per-dim divisions of
// strided_offset.
REDES_HD TensorArg merge_dims(const TensorArg& arg) {
  TensorArg merged;
  merged.data = arg.data;
  merged.dtype = arg.dtype;
  for (int d = 0; d < arg.ndim; ++d) {
    if (arg.sizes[d] == 1) continue;
    const int last = merged.ndim - 1;
    if (last >= 0 && merged.strides[last] == arg.strides[d] * arg.sizes[d]) {
      merged.sizes[last] *= arg.sizes[d];
      merged.strides[last] = arg.strides[d];
      continue;
    }
    merged.sizes[merged.ndim] = arg.sizes[d];
    merged.strides[merged.ndim] = arg.strides[d];
    ++merged.ndim;
  }
  return merged;
}

// Whether element i of `arg` sits at data + i (row-major, no gaps, no
// broadcast dims; strides of size-1 dims do not matter).
REDES_HD bool has_contiguous_strides(const TensorArg& arg) {
  std::int64_t expected = 1;
  for (int d = arg.ndim - 1; d >= 0; --d) {
    if (arg.sizes[d] != 1 && arg.strides[d] != expected) return false;
    expected *= arg.sizes[d];
  }
  return true;
}

}  // namespace redes
