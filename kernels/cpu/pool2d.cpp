// max_pool2d, avg_pool2d and adaptive_avg_pool2d, forward and backward, on the
// CPU. Each output (and each average-pool input gradient) is computed by the
// kernels/conv_math.h body that the CUDA kernels call, so the two backends
// share their window logic; max pooling's backward scatters through the
// indices its forward saved. Planes (n, c) are independent, so each kernel
// splits them over threads and walks a plane's positions in order.
#include <algorithm>
#include <cstdint>

#include "kernels/cpu/pool2d.h"

#include "kernels/conv_math.h"
#include "kernels/cpu/strided_loop.h"
#include "kernels/cpu/vector_math.h"
#include "kernels/cpu/widened.h"
#include "kernels/params.h"
#include "kernels/registry.h"

namespace redes {
namespace {

// Calls body(linear, position) for every element of an (N, C, H, W) tensor
// of contiguous layout: planes split over threads (each chunk of planes at
// least ~32k elements), positions in order within a plane.
template <class Body>
void for_each_nchw(std::int64_t batch, std::int64_t channels, std::int64_t height, std::int64_t width, Body&& body) {
  const std::int64_t plane = height * width;
  const std::int64_t grain = std::max<std::int64_t>(1, cpu::kElementwiseGrain / std::max<std::int64_t>(1, plane));
  cpu::parallel_for(0, batch * channels, grain, [&](std::int64_t first, std::int64_t last) {
    for (std::int64_t nc = first; nc < last; ++nc) {
      Nchw p{nc / channels, nc % channels, 0, 0};
      std::int64_t linear = nc * plane;
      for (p.h = 0; p.h < height; ++p.h) {
        for (p.w = 0; p.w < width; ++p.w) body(linear++, p);
      }
    }
  });
}

// The 2x2 window of stride 2 without padding (LeNet's and most CNNs'
// pooling) on a contiguous input: every window lies inside the input, so
// each output is four loads and three compares, in max_pool2d_element's
// order (NaN wins, a tie keeps the earlier tap).
bool is_plain_2x2(const Pool2dShape& s, const Window2d& w, const TensorArg& input) {
  return w.kernel_height == 2 && w.kernel_width == 2 && w.stride_height == 2 && w.stride_width == 2 &&
         w.pad_height == 0 && w.pad_width == 0 && w.dilation_height == 1 && w.dilation_width == 1 &&
         2 * s.out_height <= s.in_height && 2 * s.out_width <= s.in_width && has_contiguous_strides(input);
}

// Outputs per block of the 2x2 row kernels: a whole SIMD vector of int64
// indices with AVX-512, two with AVX2.
constexpr std::int64_t kPoolBlock = 8;

// kPoolBlock outputs of one row of the 2x2 window: branch-free, so that the
// loop becomes SIMD code (random data makes the winner unpredictable, and a
// branch per tap mispredicts about every other time). `k` is the winning
// tap: 0, 1 top left and right, 2, 3 bottom left and right. `first_index` is
// the plane position of the block's first top-left tap; `in_width` is the
// plane's width (the taps' own rows may be copies, see max_pool_2x2_row).
template <class T>
REDES_INLINE_IN_CLONES void max_pool_2x2_block(const T* top, const T* bottom, std::int64_t in_width, std::int64_t first_index, T* out,
                               std::int64_t* indices) {
#pragma omp simd
  for (std::int64_t ow = 0; ow < kPoolBlock; ++ow) {
    T best = top[2 * ow];
    std::int64_t k = 0;
    // `|` rather than `||`: both sides are cheap, and a short circuit is a branch.
    const T b = top[2 * ow + 1], c = bottom[2 * ow], d = bottom[2 * ow + 1];
    const bool b_wins = (b > best) | (b != b);
    best = b_wins ? b : best;
    k = b_wins ? 1 : k;
    const bool c_wins = (c > best) | (c != c);
    best = c_wins ? c : best;
    k = c_wins ? 2 : k;
    const bool d_wins = (d > best) | (d != d);
    best = d_wins ? d : best;
    k = d_wins ? 3 : k;
    out[ow] = best;
    indices[ow] = first_index + 2 * ow + (k & 1) + (k >> 1) * in_width;
  }
}

// The first output of each block that covers a row of `out_width` (at least
// kPoolBlock) outputs: whole blocks, then one ending at out_width that
// overlaps the one before (its outputs are computed twice, the same way).
REDES_INLINE_IN_CLONES std::int64_t row_block_start(std::int64_t block, std::int64_t out_width) {
  return std::min(block * kPoolBlock, out_width - kPoolBlock);
}
inline std::int64_t row_blocks(std::int64_t out_width) { return (out_width + kPoolBlock - 1) / kPoolBlock; }

// Copies the first `count` of N values: a loop of fixed length, which the
// compiler turns into masked SIMD stores, where a copy of variable length
// would be a library call per row.
template <std::int64_t N, class T>
REDES_INLINE_IN_CLONES void copy_first(const T* from, std::int64_t count, T* to) {
#pragma omp simd
  for (std::int64_t i = 0; i < N; ++i) {
    if (i < count) to[i] = from[i];
  }
}

// Whether the n values from `first` lie before `end`, the end of their tensor.
template <class T>
REDES_INLINE_IN_CLONES bool readable(const T* first, std::int64_t n, const T* end) {
  return end - first >= n;
}

// One output row: in blocks. A row narrower than a block (LeNet's second
// pooling has rows of 5) is one block into local outputs, of which the first
// out_width are kept; its taps are read in place (the lanes past the row
// read the next row's values) where a whole block lies inside the input
// (`input_end`), else from zero-padded copies.
template <class T>
REDES_INLINE_IN_CLONES void max_pool_2x2_row(const T* top, const T* bottom, std::int64_t out_width,
                                             std::int64_t in_width, std::int64_t row_start, T* out,
                                             std::int64_t* indices, const T* input_end) {
  if (out_width >= kPoolBlock) {
    for (std::int64_t block = 0; block < row_blocks(out_width); ++block) {
      const std::int64_t ow = row_block_start(block, out_width);
      max_pool_2x2_block(top + 2 * ow, bottom + 2 * ow, in_width, row_start + 2 * ow, out + ow, indices + ow);
    }
    return;
  }
  T out_copy[kPoolBlock];
  std::int64_t indices_copy[kPoolBlock];
  if (readable(bottom, 2 * kPoolBlock, input_end)) {
    max_pool_2x2_block(top, bottom, in_width, row_start, out_copy, indices_copy);
  } else {
    T top_copy[2 * kPoolBlock] = {}, bottom_copy[2 * kPoolBlock] = {};
    copy_first<2 * kPoolBlock>(top, 2 * out_width, top_copy);
    copy_first<2 * kPoolBlock>(bottom, 2 * out_width, bottom_copy);
    max_pool_2x2_block(top_copy, bottom_copy, in_width, row_start, out_copy, indices_copy);
  }
  copy_first<kPoolBlock>(out_copy, out_width, out);
  copy_first<kPoolBlock>(indices_copy, out_width, indices);
}

// A plane of the plain 2x2 window (is_plain_2x2), a row at a time.
template <class T>
REDES_INLINE_IN_CLONES void max_pool_2x2_plane(const Pool2dShape& s, const T* plane, T* out, std::int64_t* indices,
                                               const T* input_end) {
  for (std::int64_t oh = 0; oh < s.out_height; ++oh) {
    const T* top = plane + 2 * oh * s.in_width;
    max_pool_2x2_row(top, top + s.in_width, s.out_width, s.in_width, 2 * oh * s.in_width, out + oh * s.out_width,
                     indices + oh * s.out_width, input_end);
  }
}

REDES_VECTOR_CLONES
void max_pool_2x2_planes(const Pool2dShape& s, const float* plane, float* out, std::int64_t* indices,
                         const float* input_end) {
  max_pool_2x2_plane(s, plane, out, indices, input_end);
}

REDES_VECTOR_CLONES
void max_pool_2x2_planes(const Pool2dShape& s, const double* plane, double* out, std::int64_t* indices,
                         const double* input_end) {
  max_pool_2x2_plane(s, plane, out, indices, input_end);
}

// Calls body(plane) for every (n, c) plane, split over threads in chunks of
// about kElementwiseGrain input elements.
template <class Body>
void for_each_plane(const Pool2dShape& s, Body&& body) {
  const std::int64_t in_plane = s.in_height * s.in_width;
  const std::int64_t grain = std::max<std::int64_t>(1, cpu::kElementwiseGrain / std::max<std::int64_t>(1, in_plane));
  cpu::parallel_for(0, s.batch * s.channels, grain, [&](std::int64_t first, std::int64_t last) {
    for (std::int64_t nc = first; nc < last; ++nc) body(nc);
  });
}

template <class T>
void max_pool2d_2x2(const Pool2dShape& s, const T* input, T* out, std::int64_t* indices) {
  const std::int64_t in_plane = s.in_height * s.in_width, out_plane = s.out_height * s.out_width;
  const T* input_end = input + s.batch * s.channels * in_plane;
  for_each_plane(s, [&](std::int64_t nc) {
    max_pool_2x2_planes(s, input + nc * in_plane, out + nc * out_plane, indices + nc * out_plane, input_end);
  });
}

// args: out (N, C, OH, OW) contiguous, indices (int64) contiguous, input any strides.
template <class T>
void max_pool2d_cpu(const MaxPool2dParams& p, const TensorArg* args, int, const ExecContext&) {
  T* out = static_cast<T*>(args[0].data);
  auto* indices = static_cast<std::int64_t*>(args[1].data);
  const Pool2dShape& s = p.shape;
  if (is_plain_2x2(s, p.window, args[2])) {
    max_pool2d_2x2(s, static_cast<const T*>(args[2].data), out, indices);
    return;
  }
  for_each_nchw(s.batch, s.channels, s.out_height, s.out_width, [&](std::int64_t i, const Nchw& o) {
    const PoolMax<T> best = max_pool2d_element<T>(s, p.window, args[2], o.n, o.c, o.h, o.w);
    out[i] = best.value;
    indices[i] = best.index;
  });
}

// kPoolBlock windows of one row of the plain 2x2 window's backward: each tap
// gets its window's gradient where the window's maximum was taken, else 0
// (`0 + g`, as the scatter's sum onto zeros gives, -0 included).
template <class T>
REDES_INLINE_IN_CLONES void max_pool_2x2_backward_block(const T* grads, const std::int64_t* indices, std::int64_t in_width,
                                        std::int64_t first_index, T* top, T* bottom) {
#pragma omp simd
  for (std::int64_t ow = 0; ow < kPoolBlock; ++ow) {
    const std::int64_t at = indices[ow] - (first_index + 2 * ow);
    const T g = T(0) + grads[ow];
    top[2 * ow] = at == 0 ? g : T(0);
    top[2 * ow + 1] = at == 1 ? g : T(0);
    bottom[2 * ow] = at == in_width ? g : T(0);
    bottom[2 * ow + 1] = at == in_width + 1 ? g : T(0);
  }
}

// One row of windows, as max_pool_2x2_row walks them: in blocks, or for a
// narrow row one block from the gradients and indices in place where a
// whole block lies inside them (`grads_end`; the indices have the same
// layout), else from padded copies (index -1 matches no tap).
template <class T>
REDES_INLINE_IN_CLONES void max_pool_2x2_backward_row(const T* grads, const std::int64_t* indices,
                                                      std::int64_t out_width, std::int64_t in_width,
                                                      std::int64_t row_start, T* top, T* bottom, const T* grads_end) {
  if (out_width >= kPoolBlock) {
    for (std::int64_t block = 0; block < row_blocks(out_width); ++block) {
      const std::int64_t ow = row_block_start(block, out_width);
      max_pool_2x2_backward_block(grads + ow, indices + ow, in_width, row_start + 2 * ow, top + 2 * ow,
                                  bottom + 2 * ow);
    }
    return;
  }
  T top_copy[2 * kPoolBlock], bottom_copy[2 * kPoolBlock];
  if (readable(grads, kPoolBlock, grads_end)) {
    max_pool_2x2_backward_block(grads, indices, in_width, row_start, top_copy, bottom_copy);
  } else {
    T grads_copy[kPoolBlock] = {};
    std::int64_t indices_copy[kPoolBlock];
    for (std::int64_t i = 0; i < kPoolBlock; ++i) indices_copy[i] = -1;
    copy_first<kPoolBlock>(grads, out_width, grads_copy);
    copy_first<kPoolBlock>(indices, out_width, indices_copy);
    max_pool_2x2_backward_block(grads_copy, indices_copy, in_width, row_start, top_copy, bottom_copy);
  }
  copy_first<2 * kPoolBlock>(top_copy, 2 * out_width, top);
  copy_first<2 * kPoolBlock>(bottom_copy, 2 * out_width, bottom);
}

// A plane of the plain 2x2 window's backward, a row at a time; rows and
// columns past the last window get 0.
template <class T>
REDES_INLINE_IN_CLONES void max_pool_2x2_backward_plane(const Pool2dShape& s, const T* grads,
                                                        const std::int64_t* indices, T* plane, const T* grads_end) {
  for (std::int64_t oh = 0; oh < s.out_height; ++oh) {
    T* top = plane + 2 * oh * s.in_width;
    T* bottom = top + s.in_width;
    const std::int64_t at = oh * s.out_width;
    max_pool_2x2_backward_row(grads + at, indices + at, s.out_width, s.in_width, 2 * oh * s.in_width, top, bottom,
                              grads_end);
    for (std::int64_t w = 2 * s.out_width; w < s.in_width; ++w) top[w] = bottom[w] = T(0);
  }
  const std::int64_t in_plane = s.in_height * s.in_width;
  for (std::int64_t i = 2 * s.out_height * s.in_width; i < in_plane; ++i) plane[i] = T(0);
}

REDES_VECTOR_CLONES
void max_pool_2x2_backward_planes(const Pool2dShape& s, const float* grads, const std::int64_t* indices, float* plane,
                                  const float* grads_end) {
  max_pool_2x2_backward_plane(s, grads, indices, plane, grads_end);
}

REDES_VECTOR_CLONES
void max_pool_2x2_backward_planes(const Pool2dShape& s, const double* grads, const std::int64_t* indices,
                                  double* plane, const double* grads_end) {
  max_pool_2x2_backward_plane(s, grads, indices, plane, grads_end);
}

// The plain 2x2 window's backward on contiguous gradients and indices.
template <class T>
void max_pool2d_2x2_backward(const Pool2dShape& s, const T* grad_output, const std::int64_t* indices, T* grad_input) {
  const std::int64_t in_plane = s.in_height * s.in_width, out_plane = s.out_height * s.out_width;
  const T* grads_end = grad_output + s.batch * s.channels * out_plane;
  for_each_plane(s, [&](std::int64_t nc) {
    max_pool_2x2_backward_planes(s, grad_output + nc * out_plane, indices + nc * out_plane, grad_input + nc * in_plane,
                                 grads_end);
  });
}

// args: grad_input (N, C, H, W) contiguous, written whole; grad_output and
// indices (N, C, OH, OW) any strides. Disjoint windows gather per input
// element (the plain 2x2 window a row at a time); overlapping ones zero a
// plane and scatter into it, one thread per plane, so windows sharing an
// argmax add up in a fixed order.
template <class T>
void max_pool2d_backward_cpu(const MaxPool2dBackwardParams& p, const TensorArg* args, int, const ExecContext&) {
  T* grad_input = static_cast<T*>(args[0].data);
  const TensorArg& grad_output = args[1];
  const TensorArg& indices = args[2];
  const Pool2dShape& s = p.shape;
  if (is_plain_2x2(s, p.window, grad_output) && has_contiguous_strides(indices)) {
    max_pool2d_2x2_backward(s, static_cast<const T*>(grad_output.data),
                            static_cast<const std::int64_t*>(indices.data), grad_input);
    return;
  }
  if (windows_disjoint(p.window)) {
    for_each_nchw(s.batch, s.channels, s.in_height, s.in_width, [&](std::int64_t i, const Nchw& x) {
      grad_input[i] = T(0) + max_pool2d_disjoint_input_grad_element<T>(s, p.window, grad_output, indices, x.n, x.c,
                                                                       x.h, x.w);
    });
    return;
  }
  const T* grads = static_cast<const T*>(grad_output.data);
  const auto* positions = static_cast<const std::int64_t*>(indices.data);
  const std::int64_t in_plane = s.in_height * s.in_width;
  for_each_plane(s, [&](std::int64_t nc) {
    T* plane = grad_input + nc * in_plane;
    std::fill(plane, plane + in_plane, T(0));
    const std::int64_t n = nc / s.channels, c = nc % s.channels;
    for (std::int64_t oh = 0; oh < s.out_height; ++oh) {
      for (std::int64_t ow = 0; ow < s.out_width; ++ow) {
        const std::int64_t index = positions[nchw_offset(indices, n, c, oh, ow)];
        if (index >= 0) plane[index] += grads[nchw_offset(grad_output, n, c, oh, ow)];
      }
    }
  });
}

// The plain 2x2 window (is_plain_2x2) averaged a row at a time: four taps
// inside the input, summed in avg_pool2d_element's order and divided by 4,
// so the result is the general body's bit for bit.
template <class T>
void avg_pool2d_2x2(const Pool2dShape& s, const T* input, T* out) {
  const std::int64_t in_plane = s.in_height * s.in_width, out_plane = s.out_height * s.out_width;
  for_each_plane(s, [&](std::int64_t nc) {
    for (std::int64_t oh = 0; oh < s.out_height; ++oh) {
      const T* top = input + nc * in_plane + 2 * oh * s.in_width;
      const T* bottom = top + s.in_width;
      T* row = out + nc * out_plane + oh * s.out_width;
      for (std::int64_t ow = 0; ow < s.out_width; ++ow) {
        row[ow] = (((T(0) + top[2 * ow]) + top[2 * ow + 1]) + bottom[2 * ow]) + bottom[2 * ow + 1];
        row[ow] = row[ow] / static_cast<T>(4);
      }
    }
  });
}

// Its gradient for a contiguous output gradient: each input position of a
// window gets a quarter of that window's gradient (as
// avg_pool2d_input_grad_element computes it), positions past the last
// window nothing.
template <class T>
void avg_pool2d_2x2_backward(const Pool2dShape& s, const T* grad_output, T* grad_input) {
  const std::int64_t in_plane = s.in_height * s.in_width, out_plane = s.out_height * s.out_width;
  for_each_plane(s, [&](std::int64_t nc) {
    T* plane = grad_input + nc * in_plane;
    std::fill(plane, plane + in_plane, T(0));
    for (std::int64_t oh = 0; oh < s.out_height; ++oh) {
      const T* grads = grad_output + nc * out_plane + oh * s.out_width;
      T* top = plane + 2 * oh * s.in_width;
      T* bottom = top + s.in_width;
      for (std::int64_t ow = 0; ow < s.out_width; ++ow) {
        const T share = T(0) + grads[ow] / static_cast<T>(4);
        top[2 * ow] = top[2 * ow + 1] = bottom[2 * ow] = bottom[2 * ow + 1] = share;
      }
    }
  });
}

// "cpu.2x2": the two above as kernels, for calls that plain_2x2 accepts.
template <class T>
void avg_pool2d_2x2_cpu(const AvgPool2dParams& p, const TensorArg* args, int, const ExecContext&) {
  avg_pool2d_2x2(p.shape, static_cast<const T*>(args[1].data), static_cast<T*>(args[0].data));
}

template <class T>
void avg_pool2d_2x2_backward_cpu(const AvgPool2dBackwardParams& p, const TensorArg* args, int, const ExecContext&) {
  avg_pool2d_2x2_backward(p.shape, static_cast<const T*>(args[1].data), static_cast<T*>(args[0].data));
}

// Whether a call is the plain 2x2 window on a contiguous input (forward) or
// output gradient (backward).
template <class Params>
bool plain_2x2(const void* params, const TensorArg* args, int) {
  const auto& p = *static_cast<const Params*>(params);
  return is_plain_2x2(p.shape, p.window, args[1]);
}

// args: out (N, C, OH, OW) contiguous, input any strides.
template <class T>
void avg_pool2d_cpu(const AvgPool2dParams& p, const TensorArg* args, int, const ExecContext&) {
  T* out = static_cast<T*>(args[0].data);
  const Pool2dShape& s = p.shape;
  for_each_nchw(s.batch, s.channels, s.out_height, s.out_width, [&](std::int64_t i, const Nchw& o) {
    out[i] = avg_pool2d_element<T>(s, p.window, p.count_include_pad, args[1], o.n, o.c, o.h, o.w);
  });
}

// args: grad_input (N, C, H, W) contiguous, grad_output any strides.
template <class T>
void avg_pool2d_backward_cpu(const AvgPool2dBackwardParams& p, const TensorArg* args, int, const ExecContext&) {
  T* grad_input = static_cast<T*>(args[0].data);
  const Pool2dShape& s = p.shape;
  for_each_nchw(s.batch, s.channels, s.in_height, s.in_width, [&](std::int64_t i, const Nchw& x) {
    grad_input[i] = avg_pool2d_input_grad_element<T>(s, p.window, p.count_include_pad, args[1], x.n, x.c, x.h, x.w);
  });
}

// args: out (N, C, OH, OW) contiguous, input any strides.
template <class T>
void adaptive_avg_pool2d_cpu(const AdaptiveAvgPool2dParams& p, const TensorArg* args, int, const ExecContext&) {
  T* out = static_cast<T*>(args[0].data);
  const Pool2dShape& s = p.shape;
  for_each_nchw(s.batch, s.channels, s.out_height, s.out_width, [&](std::int64_t i, const Nchw& o) {
    out[i] = adaptive_avg_pool2d_element<T>(s, args[1], o.n, o.c, o.h, o.w);
  });
}

// args: grad_input (N, C, H, W) contiguous, grad_output any strides.
template <class T>
void adaptive_avg_pool2d_backward_cpu(const AdaptiveAvgPool2dBackwardParams& p, const TensorArg* args, int,
                                      const ExecContext&) {
  T* grad_input = static_cast<T*>(args[0].data);
  const Pool2dShape& s = p.shape;
  for_each_nchw(s.batch, s.channels, s.in_height, s.in_width, [&](std::int64_t i, const Nchw& x) {
    grad_input[i] = adaptive_avg_pool2d_input_grad_element<T>(s, args[1], x.n, x.c, x.h, x.w);
  });
}

template <class T>
void register_for(KernelRegistry& registry) {
  constexpr DType dtype = dtype_of_v<T>;
  registry.add(make_kernel<MaxPool2dParams, &max_pool2d_cpu<T>>(DeviceType::CPU, dtype, "cpu"));
  registry.add(make_kernel<MaxPool2dBackwardParams, &max_pool2d_backward_cpu<T>>(DeviceType::CPU, dtype, "cpu"));
  registry.add(make_kernel<AvgPool2dParams, &avg_pool2d_cpu<T>>(DeviceType::CPU, dtype, "cpu"));
  registry.add(make_kernel<AvgPool2dBackwardParams, &avg_pool2d_backward_cpu<T>>(DeviceType::CPU, dtype, "cpu"));
  registry.add(make_kernel<AdaptiveAvgPool2dParams, &adaptive_avg_pool2d_cpu<T>>(DeviceType::CPU, dtype, "cpu"));
  registry.add(make_kernel<AdaptiveAvgPool2dBackwardParams, &adaptive_avg_pool2d_backward_cpu<T>>(DeviceType::CPU,
                                                                                                   dtype, "cpu"));
}

// Priority 2, above oneDNN's average pooling (1): on the plain 2x2 window the
// row-at-a-time loops measured faster (bench/pool2d_bench.cpp), and oneDNN
// keeps every other window.
template <void (*Forward)(const AvgPool2dParams&, const TensorArg*, int, const ExecContext&),
          void (*Backward)(const AvgPool2dBackwardParams&, const TensorArg*, int, const ExecContext&)>
void add_plain_2x2_average(KernelRegistry& registry, DType dtype) {
  registry.add(make_kernel<AvgPool2dParams, Forward>(DeviceType::CPU, dtype, "cpu.2x2", 2, &plain_2x2<AvgPool2dParams>));
  registry.add(make_kernel<AvgPool2dBackwardParams, Backward>(DeviceType::CPU, dtype, "cpu.2x2", 2,
                                                              &plain_2x2<AvgPool2dBackwardParams>));
}

}  // namespace

// The 16-bit types pool float32 copies (kernels/cpu/widened.h): max is exact
// either way, and averages sum in float32.
template <class Params, void (*Kernel)(const Params&, const TensorArg*, int, const ExecContext&)>
void add_widened(KernelRegistry& registry) {
  for (DType dtype : {kFloat16, kBFloat16}) {
    registry.add(make_kernel<Params, &cpu::widened<Params, Kernel>>(DeviceType::CPU, dtype, "cpu"));
  }
}

void cpu::max_pool2d_values(const Pool2dShape& shape, const Window2d& window, const TensorArg& out,
                            const TensorArg& input, const ExecContext& ctx) {
  TensorArg args[3] = {out, out, input};
  TensorArg& indices = args[1];
  indices.dtype = DType::Int64;
  indices.data = ctx.workspace->request(static_cast<std::size_t>(out.numel()) * sizeof(std::int64_t));
  const MaxPool2dParams params{shape, window};
  if (out.dtype == DType::Float32) {
    max_pool2d_cpu<float>(params, args, 3, ctx);
  } else {
    cpu::widened<MaxPool2dParams, &max_pool2d_cpu<float>>(params, args, 3, ctx);
  }
}

void register_cpu_pool2d(KernelRegistry& registry) {
  register_for<float>(registry);
  register_for<double>(registry);
  add_plain_2x2_average<&avg_pool2d_2x2_cpu<float>, &avg_pool2d_2x2_backward_cpu<float>>(registry, kFloat32);
  add_plain_2x2_average<&avg_pool2d_2x2_cpu<double>, &avg_pool2d_2x2_backward_cpu<double>>(registry, kFloat64);
  for (DType dtype : {kFloat16, kBFloat16}) {
    add_plain_2x2_average<&cpu::widened<AvgPool2dParams, &avg_pool2d_2x2_cpu<float>>,
                          &cpu::widened<AvgPool2dBackwardParams, &avg_pool2d_2x2_backward_cpu<float>>>(registry, dtype);
  }
  add_widened<MaxPool2dParams, &max_pool2d_cpu<float>>(registry);
  add_widened<MaxPool2dBackwardParams, &max_pool2d_backward_cpu<float>>(registry);
  add_widened<AvgPool2dParams, &avg_pool2d_cpu<float>>(registry);
  add_widened<AvgPool2dBackwardParams, &avg_pool2d_backward_cpu<float>>(registry);
  add_widened<AdaptiveAvgPool2dParams, &adaptive_avg_pool2d_cpu<float>>(registry);
  add_widened<AdaptiveAvgPool2dBackwardParams, &adaptive_avg_pool2d_backward_cpu<float>>(registry);
}

}  // namespace redes
