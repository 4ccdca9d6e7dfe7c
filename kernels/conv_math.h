// Index math and per-element bodies of conv2d and the 2-D pools, shared by the
// CPU and CUDA kernels (and called directly by the CPU tests), so the logic of
// the hand-written CUDA kernels is tested where no GPU is present.
//
// Layouts: (N, C, H, W) tensors; `plane` below means one (H, W) slice of one
// image and channel. Conv tensors are contiguous (the front-end ensures it);
// pool inputs may have any strides and are read through nchw_offset.
#pragma once

#include <cmath>
#include <cstdint>

#include "kernels/hd.h"
#include "kernels/params.h"
#include "kernels/tensor_arg.h"

namespace redes {

// Position of element `linear` (row-major) of an (N, C, H, W) tensor.
struct Nchw {
  std::int64_t n, c, h, w;
};

REDES_HD Nchw nchw_position(std::int64_t linear, std::int64_t channels, std::int64_t height, std::int64_t width) {
  Nchw p;
  p.w = linear % width;
  linear /= width;
  p.h = linear % height;
  linear /= height;
  p.c = linear % channels;
  p.n = linear / channels;
  return p;
}

// Offset in elements of (n, c, h, w) in a 4-D tensor with any strides.
REDES_HD std::int64_t nchw_offset(const TensorArg& arg, std::int64_t n, std::int64_t c, std::int64_t h,
                                  std::int64_t w) {
  return n * arg.strides[0] + c * arg.strides[1] + h * arg.strides[2] + w * arg.strides[3];
}

// floor(a / b) for b > 0 (C++ division truncates towards zero).
REDES_HD std::int64_t floor_div(std::int64_t a, std::int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

// Input position that tap `tap` of output position `out` reads (may lie in
// the padding: < 0 or >= the input size).
REDES_HD std::int64_t window_input_index(std::int64_t out, std::int64_t tap, std::int64_t stride, std::int64_t pad,
                                         std::int64_t dilation) {
  return out * stride - pad + tap * dilation;
}

// The output position whose tap `tap` reads input position `in`, or -1 when
// no output in [0, out_size) does: the inverse of window_input_index.
REDES_HD std::int64_t window_output_index(std::int64_t in, std::int64_t tap, std::int64_t stride, std::int64_t pad,
                                          std::int64_t dilation, std::int64_t out_size) {
  const std::int64_t shifted = in + pad - tap * dilation;
  if (shifted < 0 || shifted % stride != 0) return -1;
  const std::int64_t out = shifted / stride;
  return out < out_size ? out : -1;
}

// Half-open range [begin, end) of output positions.
struct IndexRange {
  std::int64_t begin, end;
};

// The outputs whose (undilated) window [o * stride - pad, + kernel) contains
// input position `in`: begin is the first o with o * stride - pad + kernel >
// in, end follows the last o with o * stride - pad <= in; clipped to
// [0, out_size).
REDES_HD IndexRange covering_outputs(std::int64_t in, std::int64_t kernel, std::int64_t stride, std::int64_t pad,
                                     std::int64_t out_size) {
  std::int64_t begin = floor_div(in + pad - kernel, stride) + 1;
  std::int64_t end = floor_div(in + pad, stride) + 1;
  begin = begin < 0 ? 0 : begin;
  end = end > out_size ? out_size : end;
  return {begin, end};
}

// Adaptive pooling's window of output o along a dim of `in_size` inputs and
// `out_size` outputs: [floor(o * in / out), ceil((o + 1) * in / out)).
REDES_HD IndexRange adaptive_window(std::int64_t o, std::int64_t in_size, std::int64_t out_size) {
  return {o * in_size / out_size, ((o + 1) * in_size + out_size - 1) / out_size};
}

// The adaptive outputs whose window contains input i: from floor(i * out /
// in) (the first o whose window ends after i) to ceil((i + 1) * out / in)
// (past the last o whose window starts at or before i). Both window bounds
// grow with o, so these outputs are contiguous.
REDES_HD IndexRange adaptive_covering_outputs(std::int64_t i, std::int64_t in_size, std::int64_t out_size) {
  const std::int64_t end = ((i + 1) * out_size + in_size - 1) / in_size;
  return {i * out_size / in_size, end > out_size ? out_size : end};
}

// ---- conv2d: input (N, C, H, W), weight (K, C/groups, kh, kw), output (N, K, OH, OW), all contiguous.

// out[n, k, oh, ow] without bias. Sums C/groups * kh * kw products in T,
// as a GEMM would.
template <class T>
REDES_HD T conv2d_output_element(const Conv2dGeometry& g, const T* input, const T* weight, std::int64_t n,
                                 std::int64_t k, std::int64_t oh, std::int64_t ow) {
  const Window2d& win = g.window;
  const std::int64_t group_in = g.in_channels / g.groups;
  const std::int64_t first_channel = k / (g.out_channels / g.groups) * group_in;
  T total = T(0);
  for (std::int64_t c = 0; c < group_in; ++c) {
    const T* plane = input + ((n * g.in_channels + first_channel + c) * g.in_height) * g.in_width;
    const T* taps = weight + (k * group_in + c) * win.kernel_height * win.kernel_width;
    for (std::int64_t i = 0; i < win.kernel_height; ++i) {
      const std::int64_t h = window_input_index(oh, i, win.stride_height, win.pad_height, win.dilation_height);
      if (h < 0 || h >= g.in_height) continue;
      for (std::int64_t j = 0; j < win.kernel_width; ++j) {
        const std::int64_t w = window_input_index(ow, j, win.stride_width, win.pad_width, win.dilation_width);
        if (w < 0 || w >= g.in_width) continue;
        total += plane[h * g.in_width + w] * taps[i * win.kernel_width + j];
      }
    }
  }
  return total;
}

// d out / d input at input[n, c, h, w]: the sum, over the taps that read this
// position and the output channels of its group, of grad_output * weight.
template <class T>
REDES_HD T conv2d_input_grad_element(const Conv2dGeometry& g, const T* grad_output, const T* weight, std::int64_t n,
                                     std::int64_t c, std::int64_t h, std::int64_t w) {
  const Window2d& win = g.window;
  const std::int64_t group_in = g.in_channels / g.groups;
  const std::int64_t group_out = g.out_channels / g.groups;
  const std::int64_t first_out = c / group_in * group_out;
  const std::int64_t c_in_group = c % group_in;
  T total = T(0);
  for (std::int64_t i = 0; i < win.kernel_height; ++i) {
    const std::int64_t oh =
        window_output_index(h, i, win.stride_height, win.pad_height, win.dilation_height, g.out_height);
    if (oh < 0) continue;
    for (std::int64_t j = 0; j < win.kernel_width; ++j) {
      const std::int64_t ow = window_output_index(w, j, win.stride_width, win.pad_width, win.dilation_width, g.out_width);
      if (ow < 0) continue;
      for (std::int64_t k = first_out; k < first_out + group_out; ++k) {
        const T grad = grad_output[((n * g.out_channels + k) * g.out_height + oh) * g.out_width + ow];
        total += grad * weight[((k * group_in + c_in_group) * win.kernel_height + i) * win.kernel_width + j];
      }
    }
  }
  return total;
}

// d out / d weight at weight[k, c, i, j] (c within the group): the sum over
// the batch and all output positions of grad_output * the input the tap read.
// Accumulates in double: the sum runs over N * OH * OW terms, often 10^5 or more.
template <class T>
REDES_HD T conv2d_weight_grad_element(const Conv2dGeometry& g, const T* grad_output, const T* input, std::int64_t k,
                                      std::int64_t c, std::int64_t i, std::int64_t j) {
  const Window2d& win = g.window;
  const std::int64_t group_in = g.in_channels / g.groups;
  const std::int64_t channel = k / (g.out_channels / g.groups) * group_in + c;
  double total = 0.0;
  for (std::int64_t n = 0; n < g.batch; ++n) {
    const T* plane = input + ((n * g.in_channels + channel) * g.in_height) * g.in_width;
    const T* grads = grad_output + ((n * g.out_channels + k) * g.out_height) * g.out_width;
    for (std::int64_t oh = 0; oh < g.out_height; ++oh) {
      const std::int64_t h = window_input_index(oh, i, win.stride_height, win.pad_height, win.dilation_height);
      if (h < 0 || h >= g.in_height) continue;
      for (std::int64_t ow = 0; ow < g.out_width; ++ow) {
        const std::int64_t w = window_input_index(ow, j, win.stride_width, win.pad_width, win.dilation_width);
        if (w < 0 || w >= g.in_width) continue;
        total += static_cast<double>(grads[oh * g.out_width + ow]) * static_cast<double>(plane[h * g.in_width + w]);
      }
    }
  }
  return static_cast<T>(total);
}

// ---- pools: input (N, C, H, W) any strides; outputs and grad_input contiguous.

template <class T>
struct PoolMax {
  T value;
  std::int64_t index;  // h * W + w within the plane; -1 when no tap lies inside the input
};

// Max over the taps of window (oh, ow) that lie inside the input (padding
// never wins). NaN counts as the max: `v != v` is true only for NaN, and a
// later NaN replaces an earlier one, as in PyTorch. A window whose taps all
// fall in the padding (possible with dilation) gives -inf and index -1.
template <class T>
REDES_HD PoolMax<T> max_pool2d_element(const Pool2dShape& s, const Window2d& win, const TensorArg& input,
                                       std::int64_t n, std::int64_t c, std::int64_t oh, std::int64_t ow) {
  const T* data = static_cast<const T*>(input.data);
  PoolMax<T> best{static_cast<T>(-HUGE_VAL), -1};
  for (std::int64_t i = 0; i < win.kernel_height; ++i) {
    const std::int64_t h = window_input_index(oh, i, win.stride_height, win.pad_height, win.dilation_height);
    if (h < 0 || h >= s.in_height) continue;
    for (std::int64_t j = 0; j < win.kernel_width; ++j) {
      const std::int64_t w = window_input_index(ow, j, win.stride_width, win.pad_width, win.dilation_width);
      if (w < 0 || w >= s.in_width) continue;
      const T v = data[nchw_offset(input, n, c, h, w)];
      if (best.index < 0 || v > best.value || v != v) best = {v, h * s.in_width + w};
    }
  }
  return best;
}

// avg_pool2d's divisor for window (oh, ow), as PyTorch: the window clipped to
// the input plus its padding when count_include_pad, to the input otherwise.
REDES_HD std::int64_t avg_pool2d_divisor(const Pool2dShape& s, const Window2d& win, bool count_include_pad,
                                         std::int64_t oh, std::int64_t ow) {
  const std::int64_t h0 = oh * win.stride_height - win.pad_height;
  const std::int64_t w0 = ow * win.stride_width - win.pad_width;
  std::int64_t h1 = h0 + win.kernel_height, w1 = w0 + win.kernel_width;
  if (count_include_pad) {
    h1 = h1 < s.in_height + win.pad_height ? h1 : s.in_height + win.pad_height;
    w1 = w1 < s.in_width + win.pad_width ? w1 : s.in_width + win.pad_width;
    return (h1 - h0) * (w1 - w0);
  }
  h1 = h1 < s.in_height ? h1 : s.in_height;
  w1 = w1 < s.in_width ? w1 : s.in_width;
  return (h1 - (h0 > 0 ? h0 : 0)) * (w1 - (w0 > 0 ? w0 : 0));
}

// Mean of window (oh, ow) (dilation 1). The front-end's checks (padding at
// most half the kernel, ceil_mode windows starting inside the input or left
// padding) keep every window overlapping the input, so the divisor is >= 1.
template <class T>
REDES_HD T avg_pool2d_element(const Pool2dShape& s, const Window2d& win, bool count_include_pad,
                              const TensorArg& input, std::int64_t n, std::int64_t c, std::int64_t oh,
                              std::int64_t ow) {
  const T* data = static_cast<const T*>(input.data);
  const std::int64_t h0 = oh * win.stride_height - win.pad_height;
  const std::int64_t w0 = ow * win.stride_width - win.pad_width;
  const std::int64_t h_begin = h0 > 0 ? h0 : 0, w_begin = w0 > 0 ? w0 : 0;
  const std::int64_t h_end = h0 + win.kernel_height < s.in_height ? h0 + win.kernel_height : s.in_height;
  const std::int64_t w_end = w0 + win.kernel_width < s.in_width ? w0 + win.kernel_width : s.in_width;
  T total = T(0);
  for (std::int64_t h = h_begin; h < h_end; ++h) {
    for (std::int64_t w = w_begin; w < w_end; ++w) total += data[nchw_offset(input, n, c, h, w)];
  }
  return total / static_cast<T>(avg_pool2d_divisor(s, win, count_include_pad, oh, ow));
}

// grad_input[n, c, h, w] of avg_pool2d: each window containing (h, w) passes
// on its gradient over its divisor. Gathering per input element (rather than
// scattering per window) needs no atomics and sums in a fixed order.
// Whether no input element lies in two windows (dilation 1, stride at least
// the kernel): max pooling's backward can then gather.
REDES_HD bool windows_disjoint(const Window2d& win) {
  return win.dilation_height == 1 && win.dilation_width == 1 && win.stride_height >= win.kernel_height &&
         win.stride_width >= win.kernel_width;
}

// grad_input[n, c, h, w] of max_pool2d with disjoint windows: the gradient
// of the one window containing (h, w) where its maximum was taken there,
// else 0. Gathering per input element needs no atomics and sums nothing, so
// it is the same on every run.
template <class T>
REDES_HD T max_pool2d_disjoint_input_grad_element(const Pool2dShape& s, const Window2d& win,
                                                  const TensorArg& grad_output, const TensorArg& indices,
                                                  std::int64_t n, std::int64_t c, std::int64_t h, std::int64_t w) {
  const IndexRange rows = covering_outputs(h, win.kernel_height, win.stride_height, win.pad_height, s.out_height);
  const IndexRange cols = covering_outputs(w, win.kernel_width, win.stride_width, win.pad_width, s.out_width);
  if (rows.begin >= rows.end || cols.begin >= cols.end) return T(0);
  const auto* positions = static_cast<const std::int64_t*>(indices.data);
  if (positions[nchw_offset(indices, n, c, rows.begin, cols.begin)] != h * s.in_width + w) return T(0);
  return static_cast<const T*>(grad_output.data)[nchw_offset(grad_output, n, c, rows.begin, cols.begin)];
}

template <class T>
REDES_HD T avg_pool2d_input_grad_element(const Pool2dShape& s, const Window2d& win, bool count_include_pad,
                                         const TensorArg& grad_output, std::int64_t n, std::int64_t c, std::int64_t h,
                                         std::int64_t w) {
  const T* grads = static_cast<const T*>(grad_output.data);
  const IndexRange rows = covering_outputs(h, win.kernel_height, win.stride_height, win.pad_height, s.out_height);
  const IndexRange cols = covering_outputs(w, win.kernel_width, win.stride_width, win.pad_width, s.out_width);
  T total = T(0);
  for (std::int64_t oh = rows.begin; oh < rows.end; ++oh) {
    for (std::int64_t ow = cols.begin; ow < cols.end; ++ow) {
      total += grads[nchw_offset(grad_output, n, c, oh, ow)] /
               static_cast<T>(avg_pool2d_divisor(s, win, count_include_pad, oh, ow));
    }
  }
  return total;
}

// Mean of adaptive window (oh, ow).
template <class T>
REDES_HD T adaptive_avg_pool2d_element(const Pool2dShape& s, const TensorArg& input, std::int64_t n, std::int64_t c,
                                       std::int64_t oh, std::int64_t ow) {
  const T* data = static_cast<const T*>(input.data);
  const IndexRange rows = adaptive_window(oh, s.in_height, s.out_height);
  const IndexRange cols = adaptive_window(ow, s.in_width, s.out_width);
  T total = T(0);
  for (std::int64_t h = rows.begin; h < rows.end; ++h) {
    for (std::int64_t w = cols.begin; w < cols.end; ++w) total += data[nchw_offset(input, n, c, h, w)];
  }
  return total / static_cast<T>((rows.end - rows.begin) * (cols.end - cols.begin));
}

// grad_input[n, c, h, w] of adaptive_avg_pool2d, gathered as in avg pooling.
template <class T>
REDES_HD T adaptive_avg_pool2d_input_grad_element(const Pool2dShape& s, const TensorArg& grad_output, std::int64_t n,
                                                  std::int64_t c, std::int64_t h, std::int64_t w) {
  const T* grads = static_cast<const T*>(grad_output.data);
  const IndexRange rows = adaptive_covering_outputs(h, s.in_height, s.out_height);
  const IndexRange cols = adaptive_covering_outputs(w, s.in_width, s.out_width);
  T total = T(0);
  for (std::int64_t oh = rows.begin; oh < rows.end; ++oh) {
    const IndexRange window_rows = adaptive_window(oh, s.in_height, s.out_height);
    for (std::int64_t ow = cols.begin; ow < cols.end; ++ow) {
      const IndexRange window_cols = adaptive_window(ow, s.in_width, s.out_width);
      const std::int64_t count = (window_rows.end - window_rows.begin) * (window_cols.end - window_cols.begin);
      total += grads[nchw_offset(grad_output, n, c, oh, ow)] / static_cast<T>(count);
    }
  }
  return total;
}

}  // namespace redes
