// conv2d forward, backward-data and backward-weights through oneDNN's
// convolution primitives, in float32 and, where the CPU runs oneDNN's
// bfloat16 kernels (AVX-512 and up; natively with AVX512-BF16 or AMX), in
// bfloat16 with float32 accumulation. float64 and float16 stay with the hand
// kernels: oneDNN has no f64 convolution, and f16 only on AVX512-FP16. The tensors are NCHW contiguous as the
// front-end passes them (Conv2dForwardParams); oneDNN chooses its own
// layouts (format_tag::any) and kernels/onednn/onednn.cpp reorders at the
// boundary. The algorithm is always direct convolution, which sums the same
// products as the reference: no Winograd transform domain.
#include <oneapi/dnnl/dnnl.hpp>

#include <string>

#include "kernels/onednn/onednn.h"
#include "kernels/params.h"
#include "kernels/registry.h"

namespace redes {
namespace {

using dnnl::memory;
using Tag = memory::format_tag;

using Type = memory::data_type;

Type data_type(DType dtype) { return dtype == kBFloat16 ? Type::bf16 : Type::f32; }

// The shapes of one convolution as oneDNN states them: grouped weights get
// a leading groups dim, and a dilation of 1 (PyTorch) is 0 in oneDNN. The
// padding is the same on both sides, so oneDNN's output size formula is
// PyTorch's.
struct ConvShapes {
  memory::dims src, weights, bias, dst, strides, dilates, padding;
  Tag weights_tag;
  Type type;

  ConvShapes(const Conv2dGeometry& g, DType dtype) : type(data_type(dtype)) {
    const Window2d& w = g.window;
    src = {g.batch, g.in_channels, g.in_height, g.in_width};
    dst = {g.batch, g.out_channels, g.out_height, g.out_width};
    bias = {g.out_channels};
    if (g.groups == 1) {
      weights = {g.out_channels, g.in_channels, w.kernel_height, w.kernel_width};
      weights_tag = Tag::oihw;
    } else {
      weights = {g.groups, g.out_channels / g.groups, g.in_channels / g.groups, w.kernel_height, w.kernel_width};
      weights_tag = Tag::goihw;
    }
    strides = {w.stride_height, w.stride_width};
    dilates = {w.dilation_height - 1, w.dilation_width - 1};
    padding = {w.pad_height, w.pad_width};
  }

  // A tensor as redes holds it (plain, `tag`) or in the layout oneDNN picks.
  memory::desc plain(const memory::dims& dims, Tag tag) const { return {dims, type, tag}; }
  memory::desc any(const memory::dims& dims) const { return {dims, type, Tag::any}; }
};

std::string shape_key(const char* op, const Conv2dGeometry& g, bool bias, DType dtype) {
  const Window2d& w = g.window;
  std::string key = std::string(op) + ' ' + dtype_name(dtype);
  for (std::int64_t v : {g.batch, g.in_channels, g.in_height, g.in_width, g.out_channels, g.out_height, g.out_width,
                         g.groups, w.kernel_height, w.kernel_width, w.stride_height, w.stride_width, w.pad_height,
                         w.pad_width, w.dilation_height, w.dilation_width}) {
    key += ' ' + std::to_string(v);
  }
  return bias ? key + " bias" : key;
}

// With `relu`, the primitive applies a ReLU to each result as it stores it
// (an eltwise post-op; NaN stays NaN, as redes's relu keeps it).
dnnl::convolution_forward::primitive_desc forward_pd(const Conv2dGeometry& g, bool bias, DType dtype,
                                                     bool relu = false) {
  const ConvShapes s(g, dtype);
  using dnnl::convolution_forward;
  const auto desc =
      bias ? convolution_forward::desc(dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_direct,
                                       s.any(s.src), s.any(s.weights), s.plain(s.bias, Tag::x), s.any(s.dst),
                                       s.strides, s.dilates, s.padding, s.padding)
           : convolution_forward::desc(dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_direct,
                                       s.any(s.src), s.any(s.weights), s.any(s.dst), s.strides, s.dilates,
                                       s.padding, s.padding);
  dnnl::primitive_attr attr = onednn::user_scratchpad();
  if (relu) {
    dnnl::post_ops ops;
    ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_relu, 0.0f, 0.0f);
    attr.set_post_ops(ops);
  }
  return {desc, attr, onednn::engine()};
}

onednn::Prepared prepare_forward(const Conv2dGeometry& g, bool bias, DType dtype, bool relu) {
  const ConvShapes s(g, dtype);
  const auto pd = forward_pd(g, bias, dtype, relu);
  onednn::Prepared p{dnnl::convolution_forward(pd), pd.scratchpad_desc(),
                     {onednn::output(DNNL_ARG_DST, s.plain(s.dst, Tag::nchw), pd.dst_desc()),
                      onednn::input(DNNL_ARG_SRC, s.plain(s.src, Tag::nchw), pd.src_desc()),
                      onednn::input(DNNL_ARG_WEIGHTS, s.plain(s.weights, s.weights_tag), pd.weights_desc())}};
  if (bias) p.operands.push_back(onednn::input(DNNL_ARG_BIAS, s.plain(s.bias, Tag::x), pd.bias_desc()));
  return p;
}

onednn::Prepared prepare_backward_data(const Conv2dGeometry& g, DType dtype) {
  const ConvShapes s(g, dtype);
  const dnnl::convolution_backward_data::desc desc(dnnl::algorithm::convolution_direct, s.any(s.src),
                                                   s.any(s.weights), s.any(s.dst), s.strides, s.dilates, s.padding,
                                                   s.padding);
  const dnnl::convolution_backward_data::primitive_desc pd(desc, onednn::user_scratchpad(), onednn::engine(),
                                                           forward_pd(g, false, dtype));
  return {dnnl::convolution_backward_data(pd), pd.scratchpad_desc(),
          {onednn::output(DNNL_ARG_DIFF_SRC, s.plain(s.src, Tag::nchw), pd.diff_src_desc()),
           onednn::input(DNNL_ARG_DIFF_DST, s.plain(s.dst, Tag::nchw), pd.diff_dst_desc()),
           onednn::input(DNNL_ARG_WEIGHTS, s.plain(s.weights, s.weights_tag), pd.weights_desc())}};
}

// With `bias`, the primitive also sums the output gradient into the bias
// gradient (a fourth operand), reading it once for both.
onednn::Prepared prepare_backward_weights(const Conv2dGeometry& g, bool bias, DType dtype) {
  const ConvShapes s(g, dtype);
  using dnnl::convolution_backward_weights;
  const auto desc =
      bias ? convolution_backward_weights::desc(dnnl::algorithm::convolution_direct, s.any(s.src), s.any(s.weights),
                                                s.plain(s.bias, Tag::x), s.any(s.dst), s.strides, s.dilates,
                                                s.padding, s.padding)
           : convolution_backward_weights::desc(dnnl::algorithm::convolution_direct, s.any(s.src), s.any(s.weights),
                                                s.any(s.dst), s.strides, s.dilates, s.padding, s.padding);
  const convolution_backward_weights::primitive_desc pd(desc, onednn::user_scratchpad(), onednn::engine(),
                                                        forward_pd(g, bias, dtype));
  onednn::Prepared p{convolution_backward_weights(pd), pd.scratchpad_desc(),
                     {onednn::output(DNNL_ARG_DIFF_WEIGHTS, s.plain(s.weights, s.weights_tag), pd.diff_weights_desc()),
                      onednn::input(DNNL_ARG_DIFF_DST, s.plain(s.dst, Tag::nchw), pd.diff_dst_desc()),
                      onednn::input(DNNL_ARG_SRC, s.plain(s.src, Tag::nchw), pd.src_desc())}};
  if (bias) p.operands.push_back(onednn::output(DNNL_ARG_DIFF_BIAS, s.plain(s.bias, Tag::x), pd.diff_bias_desc()));
  return p;
}

std::vector<void*> buffers(const TensorArg* args, int nargs) {
  std::vector<void*> data;
  for (int i = 0; i < nargs; ++i) data.push_back(args[i].data);
  return data;
}

// Runs the primitive cached for `op` on this geometry, built by `prepare`
// on the first call.
template <class Prepare>
void run_cached(const char* op, const Conv2dGeometry& g, bool bias, const TensorArg* args, int nargs,
                const ExecContext& ctx, Prepare prepare) {
  onednn::translate_errors(op, [&] {
    const onednn::Prepared& prepared = onednn::cached(shape_key(op, g, bias, args[0].dtype), prepare);
    onednn::run(prepared, buffers(args, nargs), *ctx.workspace);
  });
}

void forward(const Conv2dForwardParams& p, const TensorArg* args, int nargs, const ExecContext& ctx) {
  const bool bias = nargs > 3;
  run_cached(Conv2dForwardParams::op, p.geometry, bias, args, nargs, ctx,
             [&] { return prepare_forward(p.geometry, bias, args[0].dtype, false); });
}

void forward_relu(const Conv2dReluForwardParams& p, const TensorArg* args, int nargs, const ExecContext& ctx) {
  const bool bias = nargs > 3;
  run_cached(Conv2dReluForwardParams::op, p.geometry, bias, args, nargs, ctx,
             [&] { return prepare_forward(p.geometry, bias, args[0].dtype, true); });
}

void backward_data(const Conv2dBackwardInputParams& p, const TensorArg* args, int nargs, const ExecContext& ctx) {
  run_cached(Conv2dBackwardInputParams::op, p.geometry, false, args, nargs, ctx,
             [&] { return prepare_backward_data(p.geometry, args[0].dtype); });
}

// args: grad_weight, grad_output, input[, grad_bias]: the op passes the
// bias gradient only to this implementation (conv2d_backward_weight_and_bias
// in core/ops/conv.cpp), which computes it in the same primitive.
void backward_weights(const Conv2dBackwardWeightParams& p, const TensorArg* args, int nargs, const ExecContext& ctx) {
  const bool bias = nargs > 3;
  run_cached(Conv2dBackwardWeightParams::op, p.geometry, bias, args, nargs, ctx,
             [&] { return prepare_backward_weights(p.geometry, bias, args[0].dtype); });
}

// oneDNN refuses empty tensors; the hand kernels handle them. bfloat16 also
// needs a CPU that oneDNN has bfloat16 kernels for.
template <class Params>
bool supports(const void* params, const TensorArg* args, int) {
  const Conv2dGeometry& g = static_cast<const Params*>(params)->geometry;
  const bool nonempty = g.batch > 0 && g.in_channels > 0 && g.out_channels > 0 && g.out_height > 0 && g.out_width > 0;
  return nonempty && (args[0].dtype != kBFloat16 || onednn::has_bf16());
}

}  // namespace

// Priority 1: above the hand kernels, so `auto` on the CPU (which is not
// timed) takes oneDNN; `hand` still picks the hand kernels.
void register_onednn_conv2d(KernelRegistry& registry) {
  for (DType dtype : {kFloat32, kBFloat16}) {
    registry.add(make_kernel<Conv2dForwardParams, &forward>(DeviceType::CPU, dtype, "onednn", 1,
                                                            &supports<Conv2dForwardParams>));
    registry.add(make_kernel<Conv2dReluForwardParams, &forward_relu>(DeviceType::CPU, dtype, "onednn", 1,
                                                                     &supports<Conv2dReluForwardParams>));
    registry.add(make_kernel<Conv2dBackwardInputParams, &backward_data>(DeviceType::CPU, dtype, "onednn", 1,
                                                                        &supports<Conv2dBackwardInputParams>));
    registry.add(make_kernel<Conv2dBackwardWeightParams, &backward_weights>(DeviceType::CPU, dtype, "onednn", 1,
                                                                            &supports<Conv2dBackwardWeightParams>));
  }
}

}  // namespace redes
