// The sliding window of convolution and pooling (kernels/params.h Window2d),
// built from the (height, width) pairs of their options. Internal to the ops.
#pragma once

#include <array>
#include <cstdint>

#include "kernels/params.h"

namespace redes::detail {

using HeightWidth = std::array<std::int64_t, 2>;  // Size2d is one

inline Window2d make_window(const HeightWidth& kernel, const HeightWidth& stride, const HeightWidth& padding,
                            const HeightWidth& dilation) {
  Window2d window;
  window.kernel_height = kernel[0];
  window.kernel_width = kernel[1];
  window.stride_height = stride[0];
  window.stride_width = stride[1];
  window.pad_height = padding[0];
  window.pad_width = padding[1];
  window.dilation_height = dilation[0];
  window.dilation_width = dilation[1];
  return window;
}

}  // namespace redes::detail
