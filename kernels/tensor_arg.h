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

}  // namespace redes
