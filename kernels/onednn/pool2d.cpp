// Max and average pooling through oneDNN's pooling primitives, in float32 and
// (where the CPU runs oneDNN's bfloat16 kernels) in bfloat16 without float32
// copies. Max pooling serves the values-only ops (max_pool2d_values and its
// backward, as cuDNN does on CUDA): oneDNN's backward needs the positions its
// training forward records in a workspace of its own, so the backward runs
// that forward again on the saved input (a pass over the input, cheaper than
// keeping int64 indices) and then the backward. Average pooling serves
// avg_pool2d and its backward directly.
//
// The tensors are NCHW and contiguous (supports() sends others to the hand
// kernels); oneDNN's dilation is redes' minus one, and its right padding is
// whatever makes its output size redes' (ceil_mode adds to it).
#include <oneapi/dnnl/dnnl.hpp>

#include <algorithm>
#include <string>

#include "core/low_precision.h"
#include "kernels/cpu/parallel.h"
#include "kernels/cpu/pool2d.h"
#include "kernels/cpu/strided_loop.h"
#include "kernels/onednn/onednn.h"
#include "kernels/params.h"
#include "kernels/registry.h"
#include "kernels/tensor_arg.h"

namespace redes {
namespace {

using dnnl::memory;
using Tag = memory::format_tag;
using Type = memory::data_type;

// The padding after the last input element along one dim that makes
// oneDNN's floor formula give `out` windows (0 where redes' floor size
// leaves trailing elements uncovered).
std::int64_t right_padding(std::int64_t in, std::int64_t out, std::int64_t extent, std::int64_t stride,
                           std::int64_t pad) {
  return std::max<std::int64_t>(0, (out - 1) * stride + extent - in - pad);
}

// One pooling as oneDNN states it.
struct PoolShapes {
  memory::dims src, dst, strides, kernel, dilation, padding_l, padding_r;
  Type type;
  bool agrees = true;  // oneDNN's output size is redes' with this padding

  PoolShapes(const Pool2dShape& s, const Window2d& w, DType dtype)
      : src{s.batch, s.channels, s.in_height, s.in_width},
        dst{s.batch, s.channels, s.out_height, s.out_width},
        strides{w.stride_height, w.stride_width},
        kernel{w.kernel_height, w.kernel_width},
        dilation{w.dilation_height - 1, w.dilation_width - 1},
        padding_l{w.pad_height, w.pad_width},
        type(dtype == kBFloat16 ? Type::bf16 : Type::f32) {
    const std::int64_t extent_h = w.dilation_height * (w.kernel_height - 1) + 1;
    const std::int64_t extent_w = w.dilation_width * (w.kernel_width - 1) + 1;
    padding_r = {right_padding(s.in_height, s.out_height, extent_h, w.stride_height, w.pad_height),
                 right_padding(s.in_width, s.out_width, extent_w, w.stride_width, w.pad_width)};
    agrees = (s.in_height + w.pad_height + padding_r[0] - extent_h) / w.stride_height + 1 == s.out_height &&
             (s.in_width + w.pad_width + padding_r[1] - extent_w) / w.stride_width + 1 == s.out_width;
  }

  memory::desc src_desc() const { return {src, type, Tag::nchw}; }
  memory::desc dst_desc() const { return {dst, type, Tag::nchw}; }
};

std::string shape_key(const char* what, const Pool2dShape& s, const Window2d& w, DType dtype, dnnl::algorithm kind) {
  std::string key = std::string(what) + ' ' + dtype_name(dtype) + ' ' + std::to_string(static_cast<int>(kind));
  for (std::int64_t v : {s.batch, s.channels, s.in_height, s.in_width, s.out_height, s.out_width, w.kernel_height,
                         w.kernel_width, w.stride_height, w.stride_width, w.pad_height, w.pad_width,
                         w.dilation_height, w.dilation_width}) {
    key += ' ' + std::to_string(v);
  }
  return key;
}

dnnl::pooling_v2_forward::primitive_desc forward_pd(const PoolShapes& p, dnnl::algorithm kind, bool training) {
  const dnnl::pooling_v2_forward::desc desc(
      training ? dnnl::prop_kind::forward_training : dnnl::prop_kind::forward_inference, kind, p.src_desc(),
      p.dst_desc(), p.strides, p.kernel, p.dilation, p.padding_l, p.padding_r);
  return {desc, onednn::user_scratchpad(), onednn::engine()};
}

// Operands: src, dst[, workspace] (the workspace only for max pooling in training).
const onednn::Prepared& forward_for(const Pool2dShape& s, const Window2d& w, DType dtype, dnnl::algorithm kind,
                                    bool training) {
  return onednn::cached(shape_key(training ? "pool forward training" : "pool forward", s, w, dtype, kind), [&] {
    const PoolShapes p(s, w, dtype);
    const auto pd = forward_pd(p, kind, training);
    onednn::Prepared prepared{dnnl::pooling_v2_forward(pd), pd.scratchpad_desc(),
                              {onednn::input(DNNL_ARG_SRC, p.src_desc(), pd.src_desc()),
                               onednn::output(DNNL_ARG_DST, p.dst_desc(), pd.dst_desc())}};
    if (training && kind == dnnl::algorithm::pooling_max) {
      prepared.operands.push_back(onednn::output(DNNL_ARG_WORKSPACE, pd.workspace_desc(), pd.workspace_desc()));
    }
    return prepared;
  });
}

// Operands: diff_dst[, workspace], diff_src.
const onednn::Prepared& backward_for(const Pool2dShape& s, const Window2d& w, DType dtype, dnnl::algorithm kind) {
  return onednn::cached(shape_key("pool backward", s, w, dtype, kind), [&] {
    const PoolShapes p(s, w, dtype);
    const auto hint = forward_pd(p, kind, true);
    const dnnl::pooling_v2_backward::desc desc(kind, p.src_desc(), p.dst_desc(), p.strides, p.kernel, p.dilation,
                                               p.padding_l, p.padding_r);
    const dnnl::pooling_v2_backward::primitive_desc pd(desc, onednn::user_scratchpad(), onednn::engine(), hint);
    onednn::Prepared prepared{dnnl::pooling_v2_backward(pd), pd.scratchpad_desc(),
                              {onednn::input(DNNL_ARG_DIFF_DST, p.dst_desc(), pd.diff_dst_desc())}};
    if (kind == dnnl::algorithm::pooling_max) {
      prepared.operands.push_back(onednn::input(DNNL_ARG_WORKSPACE, hint.workspace_desc(), pd.workspace_desc()));
    }
    prepared.operands.push_back(onednn::output(DNNL_ARG_DIFF_SRC, p.src_desc(), pd.diff_src_desc()));
    return prepared;
  });
}

dnnl::algorithm average_kind(bool count_include_pad) {
  return count_include_pad ? dnnl::algorithm::pooling_avg_include_padding
                           : dnnl::algorithm::pooling_avg_exclude_padding;
}

// Whether any of the n float32 or bfloat16 values at `data` is NaN.
bool any_nan(const void* data, DType dtype, std::int64_t n) {
  const auto count_in = [&](std::int64_t lo, std::int64_t hi) {
    std::int64_t found = 0;
    if (dtype == kBFloat16) {
      const auto* values = static_cast<const BFloat16*>(data);
#pragma omp simd reduction(+ : found)
      for (std::int64_t i = lo; i < hi; ++i) found += (values[i].bits & 0x7fffu) > 0x7f80u ? 1 : 0;
    } else {
      const auto* values = static_cast<const float*>(data);
#pragma omp simd reduction(+ : found)
      for (std::int64_t i = lo; i < hi; ++i) found += values[i] != values[i] ? 1 : 0;
    }
    return found;
  };
  return cpu::parallel_sum<std::int64_t>(0, n, cpu::kElementwiseGrain, count_in) > 0;
}

// args: out, input. oneDNN's max lets a NaN lose to a number, where redes'
// max pooling (as PyTorch's) keeps it: an input with a NaN is pooled again
// by the hand kernel (a scan of the input, the price of not hiding a
// diverged value).
void max_forward(const MaxPool2dValuesParams& p, const TensorArg* args, int, const ExecContext& ctx) {
  onednn::translate_errors(MaxPool2dValuesParams::op, [&] {
    onednn::run(forward_for(p.shape, p.window, args[0].dtype, dnnl::algorithm::pooling_max, false),
                {args[1].data, args[0].data}, *ctx.workspace);
  });
  if (any_nan(args[1].data, args[1].dtype, args[1].numel())) cpu::max_pool2d_values(p.shape, p.window, args[0], args[1], ctx);
}

// args: grad_input, grad_output, input, output (the forward's).
void max_backward(const MaxPool2dValuesBackwardParams& p, const TensorArg* args, int, const ExecContext& ctx) {
  onednn::translate_errors(MaxPool2dValuesBackwardParams::op, [&] {
    const DType dtype = args[0].dtype;
    const onednn::Prepared& forward = forward_for(p.shape, p.window, dtype, dnnl::algorithm::pooling_max, true);
    void* values = ctx.workspace->request(forward.operands[1].user.get_size());
    void* positions = ctx.workspace->request(forward.operands[2].user.get_size());
    onednn::run(forward, {args[2].data, values, positions}, *ctx.workspace);
    onednn::run(backward_for(p.shape, p.window, dtype, dnnl::algorithm::pooling_max),
                {args[1].data, positions, args[0].data}, *ctx.workspace);
  });
}

// args: out, input.
void avg_forward(const AvgPool2dParams& p, const TensorArg* args, int, const ExecContext& ctx) {
  onednn::translate_errors(AvgPool2dParams::op, [&] {
    onednn::run(forward_for(p.shape, p.window, args[0].dtype, average_kind(p.count_include_pad), false),
                {args[1].data, args[0].data}, *ctx.workspace);
  });
}

// args: grad_input, grad_output.
void avg_backward(const AvgPool2dBackwardParams& p, const TensorArg* args, int, const ExecContext& ctx) {
  onednn::translate_errors(AvgPool2dBackwardParams::op, [&] {
    onednn::run(backward_for(p.shape, p.window, args[0].dtype, average_kind(p.count_include_pad)),
                {args[1].data, args[0].data}, *ctx.workspace);
  });
}

// Contiguous operands, a nonempty input, bfloat16 only where oneDNN runs it,
// and output sizes oneDNN's formula can state.
bool supported(const Pool2dShape& s, const Window2d& w, const TensorArg* args, int nargs) {
  for (int i = 0; i < nargs; ++i) {
    if (!has_contiguous_strides(args[i])) return false;
  }
  if (s.batch * s.channels * s.in_height * s.in_width == 0 || s.out_height < 1 || s.out_width < 1) return false;
  if (args[0].dtype == kBFloat16 && !onednn::has_bf16()) return false;
  return PoolShapes(s, w, args[0].dtype).agrees;
}

// PyTorch divides a window that reaches past the input by the part of it
// inside the input and its padding (count_include_pad), where oneDNN counts
// the whole kernel: they agree unless ceil_mode made a window reach past the
// right padding.
bool average_divisors_agree(const Pool2dShape& s, const Window2d& w, bool count_include_pad) {
  if (!count_include_pad) return true;
  return (s.out_height - 1) * w.stride_height - w.pad_height + w.kernel_height <= s.in_height + w.pad_height &&
         (s.out_width - 1) * w.stride_width - w.pad_width + w.kernel_width <= s.in_width + w.pad_width;
}

template <class Params>
bool supports_max(const void* params, const TensorArg* args, int nargs) {
  const auto& p = *static_cast<const Params*>(params);
  return supported(p.shape, p.window, args, nargs);
}

template <class Params>
bool supports_average(const void* params, const TensorArg* args, int nargs) {
  const auto& p = *static_cast<const Params*>(params);
  return supported(p.shape, p.window, args, nargs) && average_divisors_agree(p.shape, p.window, p.count_include_pad);
}

}  // namespace

// Priority 1: above the hand kernels, which `hand` still picks. The
// values-only max pooling has no hand CPU kernel: max_pool2d takes it only
// when this one supports the call.
void register_onednn_pool2d(KernelRegistry& registry) {
  for (DType dtype : {kFloat32, kBFloat16}) {
    registry.add(make_kernel<MaxPool2dValuesParams, &max_forward>(DeviceType::CPU, dtype, "onednn", 1,
                                                                   &supports_max<MaxPool2dValuesParams>));
    registry.add(make_kernel<MaxPool2dValuesBackwardParams, &max_backward>(
        DeviceType::CPU, dtype, "onednn", 1, &supports_max<MaxPool2dValuesBackwardParams>));
    registry.add(make_kernel<AvgPool2dParams, &avg_forward>(DeviceType::CPU, dtype, "onednn", 1,
                                                             &supports_average<AvgPool2dParams>));
    registry.add(make_kernel<AvgPool2dBackwardParams, &avg_backward>(DeviceType::CPU, dtype, "onednn", 1,
                                                                      &supports_average<AvgPool2dBackwardParams>));
  }
}

}  // namespace redes
