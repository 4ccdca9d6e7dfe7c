// conv2d forward and backward on the CPU: im2col + GEMM (OpenBLAS), one GEMM
// per image and channel group, with the batch split over threads.
//
// Columns: for one image and group, a (C/groups * kh * kw, OH * OW) row-major
// matrix; row (c, i, j) holds, for every output position (oh, ow), the input
// that tap (i, j) of channel c reads there (0 in the padding). Then
//   out_g (K/groups, OH*OW)        = weight_g (K/groups, C/groups*kh*kw) @ columns
//   d columns                      = weight_g^T @ grad_out_g, folded back by col2im
//   grad_weight_g (K/groups, ...) += grad_out_g @ columns^T, over the batch.
// A 1x1 kernel with stride 1 and no padding reads each input once in order,
// so its columns are the input planes themselves and im2col is skipped.
// After an image's GEMMs one pass over its output planes adds the bias and,
// for conv2d_relu_forward, applies the ReLU.
//
// One GEMM over several images (columns side by side, (K, B * OH * OW)
// results copied back to NCHW with the bias) was measured slower here at
// every workload shape: the per-image matrices stay in cache, and the copy
// pass costs more than OpenBLAS gains from the longer rows.
#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "core/error.h"
#include "kernels/conv_math.h"
#include "kernels/cpu/blas.h"
#include "kernels/cpu/parallel.h"
#include "kernels/cpu/widened.h"
#include "kernels/elementwise_math.h"
#include "kernels/params.h"
#include "kernels/registry.h"

namespace redes {
namespace {

using cpu::blas_int;
using cpu::gemm;

// The GEMM sizes of one image and group.
struct ConvMatrices {
  std::int64_t group_in;   // C / groups
  std::int64_t group_out;  // K / groups
  std::int64_t rows;       // C / groups * kh * kw: the columns matrix's rows
  std::int64_t positions;  // OH * OW
  std::int64_t plane;      // H * W
  bool direct;             // 1x1, stride 1, no padding: columns = input planes

  explicit ConvMatrices(const Conv2dGeometry& g)
      : group_in(g.in_channels / g.groups),
        group_out(g.out_channels / g.groups),
        rows(group_in * g.window.kernel_height * g.window.kernel_width),
        positions(g.out_height * g.out_width),
        plane(g.in_height * g.in_width),
        direct(g.window.kernel_height == 1 && g.window.kernel_width == 1 && g.window.stride_height == 1 &&
               g.window.stride_width == 1 && g.window.pad_height == 0 && g.window.pad_width == 0) {}
};

// in: one image's group of C/groups planes; columns: (rows, OH * OW).
template <class T>
void im2col(const Conv2dGeometry& g, const ConvMatrices& m, const T* in, T* columns) {
  const Window2d& win = g.window;
  for (std::int64_t c = 0; c < m.group_in; ++c) {
    const T* plane = in + c * m.plane;
    for (std::int64_t i = 0; i < win.kernel_height; ++i) {
      for (std::int64_t j = 0; j < win.kernel_width; ++j) {
        T* row = columns + ((c * win.kernel_height + i) * win.kernel_width + j) * m.positions;
        for (std::int64_t oh = 0; oh < g.out_height; ++oh) {
          T* out = row + oh * g.out_width;
          const std::int64_t h = window_input_index(oh, i, win.stride_height, win.pad_height, win.dilation_height);
          if (h < 0 || h >= g.in_height) {
            std::fill(out, out + g.out_width, T(0));
            continue;
          }
          for (std::int64_t ow = 0; ow < g.out_width; ++ow) {
            const std::int64_t w = window_input_index(ow, j, win.stride_width, win.pad_width, win.dilation_width);
            out[ow] = w >= 0 && w < g.in_width ? plane[h * g.in_width + w] : T(0);
          }
        }
      }
    }
  }
}

// The adjoint of im2col: in (one image's group of planes) = sum of the column
// entries that were read from each position.
template <class T>
void col2im(const Conv2dGeometry& g, const ConvMatrices& m, const T* columns, T* in) {
  const Window2d& win = g.window;
  std::fill(in, in + m.group_in * m.plane, T(0));
  for (std::int64_t c = 0; c < m.group_in; ++c) {
    T* plane = in + c * m.plane;
    for (std::int64_t i = 0; i < win.kernel_height; ++i) {
      for (std::int64_t j = 0; j < win.kernel_width; ++j) {
        const T* row = columns + ((c * win.kernel_height + i) * win.kernel_width + j) * m.positions;
        for (std::int64_t oh = 0; oh < g.out_height; ++oh) {
          const std::int64_t h = window_input_index(oh, i, win.stride_height, win.pad_height, win.dilation_height);
          if (h < 0 || h >= g.in_height) continue;
          for (std::int64_t ow = 0; ow < g.out_width; ++ow) {
            const std::int64_t w = window_input_index(ow, j, win.stride_width, win.pad_width, win.dilation_width);
            if (w >= 0 && w < g.in_width) plane[h * g.in_width + w] += row[oh * g.out_width + ow];
          }
        }
      }
    }
  }
}

// Images per chunk below which waking a thread team does not pay: a chunk
// should hold about 2^18 GEMM multiply-adds (over all groups of an image,
// K * rows * OH * OW of them).
std::int64_t image_grain(const Conv2dGeometry& g, const ConvMatrices& m) {
  const std::int64_t work = std::max<std::int64_t>(1, g.out_channels * m.rows * m.positions);
  return std::max<std::int64_t>(1, (std::int64_t{1} << 18) / work);
}

// Scratch from the call's workspace: `count` blocks of `elements` each.
template <class T>
T* scratch(std::int64_t count, std::int64_t elements, const ExecContext& ctx, const char* op) {
  return workspace_elements<T>(ctx, count * elements, op);
}

// Each chunk of images (kernels/cpu/parallel.h) gets its own columns matrix.
// A chunk's GEMMs run on its thread alone (OpenBLAS stays serial inside a
// parallel region); with a single chunk, OpenBLAS threads each GEMM instead.
template <class T>
T* chunk_columns(const ConvMatrices& m, int chunks, const ExecContext& ctx, const char* op) {
  return m.direct ? nullptr : scratch<T>(chunks, m.rows * m.positions, ctx, op);
}

// The bias (where there is one) and the ReLU (with Relu) on image n's
// output planes in place: loops without branches, which vectorise.
template <bool Relu, class T>
void finish_outputs(const Conv2dGeometry& g, const ConvMatrices& m, std::int64_t n, const T* bias, T* out) {
  for (std::int64_t k = 0; k < g.out_channels; ++k) {
    T* plane = out + (n * g.out_channels + k) * m.positions;
    if (bias != nullptr) {
      const T shift = bias[k];
      for (std::int64_t i = 0; i < m.positions; ++i) plane[i] += shift;
    }
    if constexpr (Relu) {
      for (std::int64_t i = 0; i < m.positions; ++i) plane[i] = activate<Activation::Relu>(plane[i]);
    }
  }
}

// args: out (N, K, OH, OW), input (N, C, H, W), weight (K, C/groups, kh, kw)
// [, bias (K)] — contiguous. out = conv2d(input) + bias, through a ReLU when `relu`.
template <class T>
void conv2d_forward(const Conv2dGeometry& g, bool relu, const TensorArg* args, int nargs, const ExecContext& ctx,
                    const char* op) {
  const ConvMatrices m(g);
  T* out = static_cast<T*>(args[0].data);
  const T* input = static_cast<const T*>(args[1].data);
  const T* weight = static_cast<const T*>(args[2].data);
  const T* bias = nargs > 3 ? static_cast<const T*>(args[3].data) : nullptr;
  const int rows = blas_int(m.rows, op), positions = blas_int(m.positions, op), group_out = blas_int(m.group_out, op);
  const int chunks = cpu::chunk_count(g.batch, image_grain(g, m));
  T* columns = chunk_columns<T>(m, chunks, ctx, op);
  cpu::run_chunks(0, g.batch, chunks, [&](int chunk, std::int64_t first, std::int64_t last) {
    T* own_columns = m.direct ? nullptr : columns + chunk * m.rows * m.positions;
    for (std::int64_t n = first; n < last; ++n) {
      for (std::int64_t group = 0; group < g.groups; ++group) {
        const T* in = input + (n * g.in_channels + group * m.group_in) * m.plane;
        if (!m.direct) im2col(g, m, in, own_columns);
        gemm<T>(CblasNoTrans, CblasNoTrans, group_out, positions, rows, weight + group * m.group_out * m.rows, rows,
                m.direct ? in : own_columns, positions, T(0),
                out + (n * g.out_channels + group * m.group_out) * m.positions, positions);
      }
      if (relu) {
        finish_outputs<true>(g, m, n, bias, out);
      } else if (bias != nullptr) {
        finish_outputs<false>(g, m, n, bias, out);
      }
    }
  });
}

template <class T>
void conv2d_forward_cpu(const Conv2dForwardParams& p, const TensorArg* args, int nargs, const ExecContext& ctx) {
  conv2d_forward<T>(p.geometry, false, args, nargs, ctx, Conv2dForwardParams::op);
}

template <class T>
void conv2d_relu_forward_cpu(const Conv2dReluForwardParams& p, const TensorArg* args, int nargs,
                             const ExecContext& ctx) {
  conv2d_forward<T>(p.geometry, true, args, nargs, ctx, Conv2dReluForwardParams::op);
}

// args: grad_input (N, C, H, W), grad_output (N, K, OH, OW), weight — contiguous.
template <class T>
void conv2d_backward_input_cpu(const Conv2dBackwardInputParams& p, const TensorArg* args, int,
                               const ExecContext& ctx) {
  const Conv2dGeometry& g = p.geometry;
  const ConvMatrices m(g);
  T* grad_input = static_cast<T*>(args[0].data);
  const T* grad_output = static_cast<const T*>(args[1].data);
  const T* weight = static_cast<const T*>(args[2].data);
  const char* op = Conv2dBackwardInputParams::op;
  const int rows = blas_int(m.rows, op), positions = blas_int(m.positions, op), group_out = blas_int(m.group_out, op);
  const int chunks = cpu::chunk_count(g.batch, image_grain(g, m));
  T* columns = chunk_columns<T>(m, chunks, ctx, op);
  cpu::run_chunks(0, g.batch, chunks, [&](int chunk, std::int64_t first, std::int64_t last) {
    T* own_columns = m.direct ? nullptr : columns + chunk * m.rows * m.positions;
    for (std::int64_t n = first; n < last; ++n) {
      for (std::int64_t group = 0; group < g.groups; ++group) {
        T* in = grad_input + (n * g.in_channels + group * m.group_in) * m.plane;
        gemm<T>(CblasTrans, CblasNoTrans, rows, positions, group_out, weight + group * m.group_out * m.rows, rows,
                grad_output + (n * g.out_channels + group * m.group_out) * m.positions, positions, T(0),
                m.direct ? in : own_columns, positions);
        if (!m.direct) col2im(g, m, own_columns, in);
      }
    }
  });
}

// args: grad_weight (K, C/groups, kh, kw), grad_output (N, K, OH, OW), input
// (N, C, H, W) — contiguous.
template <class T>
void conv2d_backward_weight_cpu(const Conv2dBackwardWeightParams& p, const TensorArg* args, int,
                                const ExecContext& ctx) {
  const Conv2dGeometry& g = p.geometry;
  const ConvMatrices m(g);
  T* grad_weight = static_cast<T*>(args[0].data);
  const T* grad_output = static_cast<const T*>(args[1].data);
  const T* input = static_cast<const T*>(args[2].data);
  const char* op = Conv2dBackwardWeightParams::op;
  const int rows = blas_int(m.rows, op), positions = blas_int(m.positions, op), group_out = blas_int(m.group_out, op);
  const std::int64_t weight_count = g.out_channels * m.rows;
  // An empty batch contributes nothing; no GEMM below would write.
  if (g.batch == 0) std::fill(grad_weight, grad_weight + weight_count, T(0));
  const int chunks = cpu::chunk_count(g.batch, image_grain(g, m));
  T* columns = chunk_columns<T>(m, chunks, ctx, op);
  // Chunk 0 sums its images into grad_weight, every later chunk into its own
  // partial; the partials are added in chunk order afterwards, so the result
  // depends on the thread count but never on which thread finished first.
  T* partials = chunks > 1 ? scratch<T>(chunks - 1, weight_count, ctx, op) : nullptr;
  cpu::run_chunks(0, g.batch, chunks, [&](int chunk, std::int64_t first, std::int64_t last) {
    T* own_columns = m.direct ? nullptr : columns + chunk * m.rows * m.positions;
    T* target = chunk == 0 ? grad_weight : partials + (chunk - 1) * weight_count;
    for (std::int64_t n = first; n < last; ++n) {
      for (std::int64_t group = 0; group < g.groups; ++group) {
        const T* in = input + (n * g.in_channels + group * m.group_in) * m.plane;
        if (!m.direct) im2col(g, m, in, own_columns);
        // The chunk's first image overwrites, the rest accumulate.
        gemm<T>(CblasNoTrans, CblasTrans, group_out, rows, positions,
                grad_output + (n * g.out_channels + group * m.group_out) * m.positions, positions,
                m.direct ? in : own_columns, positions, n == first ? T(0) : T(1),
                target + group * m.group_out * m.rows, rows);
      }
    }
  });
  for (int chunk = 1; chunk < chunks; ++chunk) {
    const T* partial = partials + (chunk - 1) * weight_count;
    for (std::int64_t i = 0; i < weight_count; ++i) grad_weight[i] += partial[i];
  }
}

template <class T>
void register_for(KernelRegistry& registry) {
  registry.add(make_kernel<Conv2dForwardParams, &conv2d_forward_cpu<T>>(DeviceType::CPU, dtype_of_v<T>, "cpu.blas"));
  registry.add(make_kernel<Conv2dReluForwardParams, &conv2d_relu_forward_cpu<T>>(DeviceType::CPU, dtype_of_v<T>,
                                                                                  "cpu.blas"));
  registry.add(make_kernel<Conv2dBackwardInputParams, &conv2d_backward_input_cpu<T>>(DeviceType::CPU, dtype_of_v<T>,
                                                                                      "cpu.blas"));
  registry.add(make_kernel<Conv2dBackwardWeightParams, &conv2d_backward_weight_cpu<T>>(DeviceType::CPU,
                                                                                        dtype_of_v<T>, "cpu.blas"));
}

}  // namespace

void register_cpu_conv2d(KernelRegistry& registry) {
  register_for<float>(registry);
  register_for<double>(registry);
  for (DType dtype : {kFloat16, kBFloat16}) {
    registry.add(make_kernel<Conv2dForwardParams,
                             &cpu::widened<Conv2dForwardParams, &conv2d_forward_cpu<float>>>(DeviceType::CPU, dtype,
                                                                                             "cpu.blas"));
    registry.add(make_kernel<Conv2dReluForwardParams,
                             &cpu::widened<Conv2dReluForwardParams, &conv2d_relu_forward_cpu<float>>>(
        DeviceType::CPU, dtype, "cpu.blas"));
    registry.add(make_kernel<Conv2dBackwardInputParams,
                             &cpu::widened<Conv2dBackwardInputParams, &conv2d_backward_input_cpu<float>>>(
        DeviceType::CPU, dtype, "cpu.blas"));
    registry.add(make_kernel<Conv2dBackwardWeightParams,
                             &cpu::widened<Conv2dBackwardWeightParams, &conv2d_backward_weight_cpu<float>>>(
        DeviceType::CPU, dtype, "cpu.blas"));
  }
}

}  // namespace redes
