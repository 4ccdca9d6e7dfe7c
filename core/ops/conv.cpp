// conv2d, conv1d and conv_transpose2d: checks, the conv2d kernels, and
// backward rules that run the kernels (so they work on any device with those
// kernels). conv1d is conv2d over a height of one; conv_transpose2d is
// conv2d's input gradient, so its forward and backward swap the roles of the
// three conv2d kernels.
#include <algorithm>
#include <array>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "core/autocast.h"
#include "core/autograd.h"
#include "core/ops.h"
#include "core/ops/activation_backward.h"
#include "core/ops/dispatch.h"
#include "core/ops/fused.h"
#include "core/ops/window.h"
#include "kernels/params.h"

namespace redes {

Size2d::Size2d(std::initializer_list<std::int64_t> values) : std::array<std::int64_t, 2>{0, 0} {
  REDES_CHECK(values.size() == 1 || values.size() == 2, "expected 1 or 2 values (height, width; one value means "
              "both), got ", values.size());
  (*this)[0] = *values.begin();
  (*this)[1] = *(values.end() - 1);
}

namespace {

// How a front-end names itself in errors. conv1d runs as conv2d over a height
// of one, and reports its sizes as single lengths, not (height, width) pairs.
struct ConvNames {
  const char* op;
  bool one_d;
};

constexpr ConvNames kConv2d{"conv2d", false};
constexpr ConvNames kConv1d{"conv1d", true};
constexpr ConvNames kConvTranspose2d{"conv_transpose2d", false};

// "(h, w)", or "w" for conv1d.
std::string pair_str(const ConvNames& names, std::int64_t h, std::int64_t w) {
  if (names.one_d) return std::to_string(w);
  return "(" + std::to_string(h) + ", " + std::to_string(w) + ")";
}
std::string pair_str(const ConvNames& names, const Size2d& value) { return pair_str(names, value[0], value[1]); }
// "hxw", or "w" for conv1d.
std::string extent_str(const ConvNames& names, std::int64_t h, std::int64_t w) {
  if (names.one_d) return std::to_string(w);
  return std::to_string(h) + "x" + std::to_string(w);
}

// The checks every convolution makes of its tensors: defined, of one
// floating-point dtype, on one device, `dims`-D input and weight, no empty weight dim.
void check_conv_operands(const ConvNames& names, const Tensor& input, const Tensor& weight, const Tensor& bias,
                         std::int64_t dims, const char* input_layout, const char* weight_layout) {
  const char* op = names.op;
  detail::check_defined(input, op, "the input");
  detail::check_defined(weight, op, "the weight");
  REDES_CHECK(is_floating(input.dtype()), op, ": expected a floating-point input, got ", dtype_name(input.dtype()));
  REDES_CHECK(weight.dtype() == input.dtype(), op, ": the weight is ", dtype_name(weight.dtype()),
              ", the input ", dtype_name(input.dtype()), " (convert one with .to(dtype))");
  REDES_CHECK(!bias.defined() || bias.dtype() == input.dtype(), op, ": the bias is ", dtype_name(bias.dtype()),
              ", the input ", dtype_name(input.dtype()), " (convert one with .to(dtype))");
  detail::common_device(op, {&input, &weight, &bias});
  REDES_CHECK(input.dim() == dims, op, ": expected a ", dims, "-D input ", input_layout, ", got shape ",
              shape_str(input.shape()));
  REDES_CHECK(weight.dim() == dims, op, ": expected a ", dims, "-D weight ", weight_layout, ", got shape ",
              shape_str(weight.shape()));
  REDES_CHECK(weight.numel() > 0, op, ": expected a weight with no empty dim, got shape ",
              shape_str(weight.shape()));
}

void check_conv_window(const ConvNames& names, const Size2d& stride, const Size2d& padding, const Size2d& dilation,
                       std::int64_t groups) {
  const char* op = names.op;
  REDES_CHECK(groups > 0, op, ": expected groups > 0, got ", groups);
  for (std::size_t i = 0; i < 2; ++i) {
    REDES_CHECK(stride[i] > 0 && dilation[i] > 0, op, ": expected positive stride and dilation, got stride ",
                pair_str(names, stride), " and dilation ", pair_str(names, dilation));
    REDES_CHECK(padding[i] >= 0, op, ": expected non-negative padding, got ", pair_str(names, padding));
  }
}

void check_bias(const ConvNames& names, const Tensor& bias, std::int64_t out_channels) {
  REDES_CHECK(!bias.defined() || (bias.dim() == 1 && bias.size(0) == out_channels), names.op,
              ": expected a bias of shape ", shape_str({out_channels}), " (one per output channel), got ",
              shape_str(bias.shape()));
}


// Checks the rest of what conv2d needs of 4-D operands (check_conv_operands
// has run) and returns the geometry.
Conv2dGeometry conv2d_geometry(const ConvNames& names, const Tensor& input, const Tensor& weight, const Tensor& bias,
                               const Conv2dOptions& options) {
  const char* op = names.op;
  const std::int64_t groups = options.groups;
  check_conv_window(names, options.stride, options.padding, options.dilation, groups);
  const std::int64_t channels = input.size(1), out_channels = weight.size(0);
  REDES_CHECK(out_channels % groups == 0, op, ": groups = ", groups, " does not divide the weight's ",
              out_channels, " output channels");
  REDES_CHECK(channels % groups == 0, op, ": groups = ", groups, " does not divide the input's ", channels,
              " channels");
  REDES_CHECK(channels == weight.size(1) * groups, op, ": input has ", channels, " channels, weight expects ",
              weight.size(1) * groups, " (in_channels/groups = ", weight.size(1), ", groups = ", groups, ")");
  check_bias(names, bias, out_channels);

  const Window2d window = detail::make_window({weight.size(2), weight.size(3)}, options.stride, options.padding,
                                                      options.dilation);
  const std::int64_t span_h = window.dilation_height * (window.kernel_height - 1) + 1;
  const std::int64_t span_w = window.dilation_width * (window.kernel_width - 1) + 1;
  const std::int64_t padded_h = input.size(2) + 2 * window.pad_height;
  const std::int64_t padded_w = input.size(3) + 2 * window.pad_width;
  REDES_CHECK(span_h <= padded_h && span_w <= padded_w, op, ": the kernel ",
              extent_str(names, window.kernel_height, window.kernel_width), " with dilation ",
              extent_str(names, window.dilation_height, window.dilation_width), " spans ",
              extent_str(names, span_h, span_w), ", larger than the padded input ",
              extent_str(names, padded_h, padded_w), " (input ", extent_str(names, input.size(2), input.size(3)),
              ", padding ", extent_str(names, window.pad_height, window.pad_width), ")");

  Conv2dGeometry g;
  g.batch = input.size(0);
  g.in_channels = channels;
  g.in_height = input.size(2);
  g.in_width = input.size(3);
  g.out_channels = out_channels;
  g.out_height = window_output_size(g.in_height, window.kernel_height, window.stride_height, window.pad_height,
                                    window.dilation_height, false);
  g.out_width = window_output_size(g.in_width, window.kernel_width, window.stride_width, window.pad_width,
                                   window.dilation_width, false);
  g.groups = groups;
  g.window = window;
  return g;
}

// out (N, K, OH, OW) = conv2d of the input (contiguous) with the weight
// (contiguous) plus an optional bias.
Tensor conv2d_forward(const Tensor& input, const Tensor& weight, const Tensor& bias, const Conv2dGeometry& g,
                      const char* op) {
  Tensor out = empty({g.batch, g.out_channels, g.out_height, g.out_width}, {input.dtype(), input.device()});
  if (out.numel() == 0) return out;
  const Conv2dForwardParams params{g};
  if (bias.defined()) {
    detail::launch(params, input.device(), input.dtype(),
                   {detail::kernel_arg(out, op), detail::kernel_arg(input, op), detail::kernel_arg(weight, op),
                    detail::kernel_arg(bias.contiguous(), op)});
  } else {
    detail::launch(params, input.device(), input.dtype(),
                   {detail::kernel_arg(out, op), detail::kernel_arg(input, op), detail::kernel_arg(weight, op)});
  }
  return out;
}

// d loss / d input from the output gradient (contiguous) and the weight.
Tensor conv2d_backward_input(const Tensor& grad_output, const Tensor& weight, const Conv2dGeometry& g,
                             const char* op) {
  Tensor grad_input = empty({g.batch, g.in_channels, g.in_height, g.in_width}, {weight.dtype(), weight.device()});
  if (grad_input.numel() > 0) {
    detail::launch(Conv2dBackwardInputParams{g}, weight.device(), weight.dtype(),
                   {detail::kernel_arg(grad_input, op), detail::kernel_arg(grad_output, op),
                    detail::kernel_arg(weight, op)});
  }
  return grad_input;
}

// d loss / d weight from the output gradient (contiguous) and the input,
// summed over the batch (zero for an empty batch), and with `with_bias` the
// bias gradient (the output gradient summed over N, OH and OW). Where the
// implementation the registry selects for the weight gradient is oneDNN's,
// one primitive computes both and reads the output gradient once; otherwise
// the bias gradient is a sum.
std::pair<Tensor, Tensor> conv2d_backward_weight_and_bias(const Tensor& grad_output, const Tensor& input,
                                                          const Conv2dGeometry& g, bool with_bias, const char* op) {
  Tensor grad_weight = empty({g.out_channels, g.in_channels / g.groups, g.window.kernel_height, g.window.kernel_width},
                             {input.dtype(), input.device()});
  const Conv2dBackwardWeightParams params{g};
  std::vector<TensorArg> args{detail::kernel_arg(grad_weight, op), detail::kernel_arg(grad_output, op),
                              detail::kernel_arg(input, op)};
  if (with_bias && input.device().is_cpu() &&
      KernelRegistry::instance()
              .select(Conv2dBackwardWeightParams::op, input.device(), input.dtype(), &params, args.data(), 3)
              .name == "onednn") {
    Tensor grad_bias = empty({g.out_channels}, {input.dtype(), input.device()});
    args.push_back(detail::kernel_arg(grad_bias, op));
    detail::run_kernel_named("onednn", Conv2dBackwardWeightParams::op, &params, input.device(), input.dtype(), args);
    return {grad_weight, grad_bias};
  }
  detail::run_kernel(Conv2dBackwardWeightParams::op, &params, input.device(), input.dtype(), args);
  return {grad_weight, with_bias ? grad_output.sum({0, 2, 3}) : Tensor()};
}

Tensor conv2d_backward_weight(const Tensor& grad_output, const Tensor& input, const Conv2dGeometry& g,
                              const char* op) {
  return conv2d_backward_weight_and_bias(grad_output, input, g, false, op).first;
}

// The options of the convolution a geometry describes, and of the transposed
// convolution that maps its output back onto its input's size.
Conv2dOptions conv2d_options(const Conv2dGeometry& g) {
  const Window2d& w = g.window;
  return {.stride = {w.stride_height, w.stride_width},
          .padding = {w.pad_height, w.pad_width},
          .dilation = {w.dilation_height, w.dilation_width},
          .groups = g.groups};
}

ConvTranspose2dOptions conv2d_adjoint_options(const Conv2dGeometry& g) {
  const Window2d& w = g.window;
  const auto rows_short = [](std::int64_t in, std::int64_t out, std::int64_t kernel, std::int64_t stride,
                             std::int64_t pad, std::int64_t dilation) {
    return in - ((out - 1) * stride - 2 * pad + dilation * (kernel - 1) + 1);
  };
  return {.stride = {w.stride_height, w.stride_width},
          .padding = {w.pad_height, w.pad_width},
          .output_padding = {rows_short(g.in_height, g.out_height, w.kernel_height, w.stride_height, w.pad_height,
                                        w.dilation_height),
                             rows_short(g.in_width, g.out_width, w.kernel_width, w.stride_width, w.pad_width,
                                        w.dilation_width)},
          .dilation = {w.dilation_height, w.dilation_width},
          .groups = g.groups};
}

// The weight gradient as a recorded op, for passes with create_graph: it is
// bilinear in (grad_output, input), and its own gradients are a convolution
// of the input and a transposed convolution of the output gradient, both
// recorded ops themselves, so any order of derivative works.
Tensor conv2d_weight_gradient(const Tensor& grad_output, const Tensor& input, const Conv2dGeometry& g,
                              const char* op) {
  Tensor grad_weight;
  {
    NoGradGuard no_grad;
    grad_weight = conv2d_backward_weight(grad_output.contiguous(), input.contiguous(), g, op);
  }
  if (needs_grad({&grad_output, &input})) {
    record_op("conv2d weight gradient", grad_weight, {&grad_output, &input}, {grad_output, input},
              [g](const Tensor& gg, const std::vector<Tensor>& saved) {
                return std::vector<Tensor>{conv2d(saved[1], gg, Tensor(), conv2d_options(g)),
                                           conv_transpose2d(saved[0], gg, Tensor(), conv2d_adjoint_options(g))};
              });
  }
  return grad_weight;
}

// relu(conv2d) in one kernel call where the implementation conv2d_forward
// would run for this call also implements conv2d_relu_forward (oneDNN's
// post-op); an undefined tensor where none does.
Tensor conv2d_relu_forward(const Tensor& input, const Tensor& weight, const Tensor& bias, const Conv2dGeometry& g,
                           const char* op) {
  KernelRegistry& registry = KernelRegistry::instance();
  const std::vector<const KernelEntry*> fused = registry.candidates(Conv2dReluForwardParams::op, input.device().type,
                                                                    input.dtype());
  if (fused.empty()) return Tensor();
  Tensor out = empty({g.batch, g.out_channels, g.out_height, g.out_width}, {input.dtype(), input.device()});
  const Tensor dense_bias = bias.defined() ? bias.contiguous() : Tensor();
  std::vector<TensorArg> args{detail::kernel_arg(out, op), detail::kernel_arg(input, op),
                              detail::kernel_arg(weight, op)};
  if (bias.defined()) args.push_back(detail::kernel_arg(dense_bias, op));
  const int nargs = static_cast<int>(args.size());
  const Conv2dForwardParams plain{g};
  const Conv2dReluForwardParams with_relu{g};
  if (!registry.supports(Conv2dForwardParams::op, input.device(), input.dtype(), &plain, args.data(), nargs)) {
    return Tensor();
  }
  const std::string name =
      registry.select(Conv2dForwardParams::op, input.device(), input.dtype(), &plain, args.data(), nargs).name;
  const bool implemented = std::any_of(fused.begin(), fused.end(), [&](const KernelEntry* entry) {
    return entry->name == name &&
           (entry->supports == nullptr || entry->supports(&with_relu, args.data(), nargs));
  });
  if (!implemented) return Tensor();
  detail::run_kernel_named(name, Conv2dReluForwardParams::op, &with_relu, input.device(), input.dtype(), args);
  return out;
}

// conv2d on checked 4-D operands, and the ReLU after it with `relu`;
// conv1d comes here with its views.
Tensor conv2d_checked(const ConvNames& names, const Tensor& input, const Tensor& weight, const Tensor& bias,
                      const Conv2dOptions& options, bool relu = false) {
  const char* op = names.op;
  const Conv2dGeometry g = conv2d_geometry(names, input, weight, bias, options);
  // The kernels want dense (N, C, H, W) planes; the copies are the kernel's,
  // not the graph's.
  Tensor x, w, out;
  bool fused = false;
  {
    NoGradGuard no_grad;
    x = input.contiguous();
    w = weight.contiguous();
    if (relu) {
      out = conv2d_relu_forward(x, w, bias, g, op);
      fused = out.defined();
    }
    if (!fused) out = conv2d_forward(x, w, bias, g, op);
  }
  if (needs_grad({&input, &weight, &bias})) {
    const bool grad_input = input.requires_grad(), grad_weight = weight.requires_grad();
    const bool grad_bias = bias.defined() && bias.requires_grad();
    // The input gradient needs only the weight, the weight gradient only the
    // input; the operands are saved as given (with their history, for
    // create_graph) and made dense in backward when they are not.
    // Fused, the node's output is the ReLU's: its backward comes first.
    record_op(op, out, {&input, &weight, &bias},
              {grad_weight ? input : Tensor(), grad_input ? weight : Tensor(), fused ? out : Tensor()},
              [g, op, grad_input, grad_weight, grad_bias, fused](const Tensor& grad, const std::vector<Tensor>& saved) {
                const Tensor g_out = (fused ? detail::relu_backward(grad, saved[2].detach()) : grad).contiguous();
                if (is_grad_enabled()) {
                  // create_graph: the same gradients through recorded ops.
                  return std::vector<Tensor>{
                      grad_input ? conv_transpose2d(g_out, saved[1], Tensor(), conv2d_adjoint_options(g)) : Tensor(),
                      grad_weight ? conv2d_weight_gradient(g_out, saved[0], g, op) : Tensor(),
                      grad_bias ? g_out.sum({0, 2, 3}) : Tensor()};
                }
                Tensor weight_grad, bias_grad;
                if (grad_weight) {
                  std::tie(weight_grad, bias_grad) =
                      conv2d_backward_weight_and_bias(g_out, saved[0].contiguous(), g, grad_bias, op);
                } else if (grad_bias) {
                  bias_grad = g_out.sum({0, 2, 3});
                }
                return std::vector<Tensor>{
                    grad_input ? conv2d_backward_input(g_out, saved[1].contiguous(), g, op) : Tensor(), weight_grad,
                    bias_grad};
              });
  }
  return relu && !fused ? redes::relu(out) : out;
}

// conv_transpose2d as the input gradient of a convolution `conv` (input
// (N, K, OH, OW), weight (C, K / groups, kh, kw), output (N, C, H', W')).
// H' >= H: with output_padding >= stride (possible when dilation > stride)
// the convolution's output has rows past the transposed input's H, which
// take zeros.
struct TransposedGeometry {
  Conv2dGeometry conv;
  std::int64_t in_height = 0, in_width = 0;  // H, W of the transposed input
};

TransposedGeometry conv_transpose2d_geometry(const Tensor& input, const Tensor& weight, const Tensor& bias,
                                             const ConvTranspose2dOptions& options) {
  const ConvNames& names = kConvTranspose2d;
  const char* op = names.op;
  check_conv_operands(names, input, weight, bias, 4, "(N, C, H, W)",
                      "(in_channels, out_channels/groups, kernel_h, kernel_w)");
  const std::int64_t groups = options.groups;
  check_conv_window(names, options.stride, options.padding, options.dilation, groups);
  const Size2d& output_padding = options.output_padding;
  for (std::size_t i = 0; i < 2; ++i) {
    REDES_CHECK(output_padding[i] >= 0 &&
                    output_padding[i] < std::max(options.stride[i], options.dilation[i]),
                op, ": expected 0 <= output_padding < max(stride, dilation) on each side, got output_padding ",
                pair_str(names, output_padding), " with stride ", pair_str(names, options.stride), " and dilation ",
                pair_str(names, options.dilation));
  }
  const std::int64_t channels = input.size(1);
  REDES_CHECK(channels == weight.size(0), op, ": input has ", channels, " channels, weight expects ",
              weight.size(0), " (the weight is (in_channels, out_channels/groups, kernel_h, kernel_w))");
  REDES_CHECK(channels % groups == 0, op, ": groups = ", groups, " does not divide the input's ", channels,
              " channels");
  const std::int64_t out_channels = weight.size(1) * groups;
  check_bias(names, bias, out_channels);
  REDES_CHECK(input.size(2) > 0 && input.size(3) > 0, op, ": expected non-empty (H, W) planes, got shape ",
              shape_str(input.shape()));

  const Window2d window = detail::make_window({weight.size(2), weight.size(3)}, options.stride, options.padding,
                                                      options.dilation);
  const auto transposed_size = [](std::int64_t in, std::int64_t kernel, std::int64_t stride, std::int64_t pad,
                                  std::int64_t dilation, std::int64_t extra) {
    return (in - 1) * stride - 2 * pad + dilation * (kernel - 1) + extra + 1;
  };
  const std::int64_t out_h = transposed_size(input.size(2), window.kernel_height, window.stride_height,
                                             window.pad_height, window.dilation_height, output_padding[0]);
  const std::int64_t out_w = transposed_size(input.size(3), window.kernel_width, window.stride_width,
                                             window.pad_width, window.dilation_width, output_padding[1]);
  REDES_CHECK(out_h > 0 && out_w > 0, op, ": the output would be ", out_h, "x", out_w, " (input ", input.size(2), "x",
              input.size(3), ", kernel ", window.kernel_height, "x", window.kernel_width, ", stride ",
              pair_str(names, options.stride), ", padding ", pair_str(names, options.padding), ", dilation ",
              pair_str(names, options.dilation), ", output_padding ", pair_str(names, output_padding),
              "); expected a positive size (less padding?)");

  TransposedGeometry t;
  t.in_height = input.size(2);
  t.in_width = input.size(3);
  Conv2dGeometry& g = t.conv;
  g.batch = input.size(0);
  g.in_channels = out_channels;
  g.in_height = out_h;
  g.in_width = out_w;
  g.out_channels = channels;
  g.out_height = window_output_size(out_h, window.kernel_height, window.stride_height, window.pad_height,
                                    window.dilation_height, false);
  g.out_width = window_output_size(out_w, window.kernel_width, window.stride_width, window.pad_width,
                                   window.dilation_width, false);
  g.groups = groups;
  g.window = window;
  return t;
}

}  // namespace

namespace {

// conv2d and conv2d_relu: the operands in the autocast dtype, checked.
Tensor conv2d_entry(const Tensor& input_in, const Tensor& weight_in, const Tensor& bias_in,
                    const Conv2dOptions& options, bool relu) {
  const Tensor input = detail::autocast_to_low_precision(input_in), weight = detail::autocast_to_low_precision(weight_in);
  const Tensor bias = detail::autocast_to_low_precision(bias_in);
  check_conv_operands(kConv2d, input, weight, bias, 4, "(N, C, H, W)",
                      "(out_channels, in_channels/groups, kernel_h, kernel_w)");
  return conv2d_checked(kConv2d, input, weight, bias, options, relu);
}

}  // namespace

Tensor conv2d(const Tensor& input, const Tensor& weight, const Tensor& bias, Conv2dOptions options) {
  return conv2d_entry(input, weight, bias, options, false);
}

namespace detail {

Tensor conv2d_relu(const Tensor& input, const Tensor& weight, const Tensor& bias, Conv2dOptions options) {
  return conv2d_entry(input, weight, bias, options, true);
}

}  // namespace detail

Tensor conv1d(const Tensor& input_in, const Tensor& weight_in, const Tensor& bias_in, Conv1dOptions options) {
  const Tensor input = detail::autocast_to_low_precision(input_in), weight = detail::autocast_to_low_precision(weight_in);
  const Tensor bias = detail::autocast_to_low_precision(bias_in);
  check_conv_operands(kConv1d, input, weight, bias, 3, "(N, C, L)", "(out_channels, in_channels/groups, kernel_size)");
  const Conv2dOptions options2d{.stride = {1, options.stride},
                                .padding = {0, options.padding},
                                .dilation = {1, options.dilation},
                                .groups = options.groups};
  // (N, C, 1, L) and (K, C / groups, 1, k) views: one row, a kernel one tap high.
  return conv2d_checked(kConv1d, input.unsqueeze(2), weight.unsqueeze(2), bias, options2d).squeeze(2);
}

Tensor conv_transpose2d(const Tensor& input, const Tensor& weight, const Tensor& bias,
                        ConvTranspose2dOptions options) {
  const char* op = kConvTranspose2d.op;
  const TransposedGeometry t = conv_transpose2d_geometry(input, weight, bias, options);
  const Conv2dGeometry& g = t.conv;
  const std::int64_t extra_h = g.out_height - t.in_height, extra_w = g.out_width - t.in_width;
  // The input in the role of conv2d's output gradient, (N, C, H', W').
  Tensor x, w, out;
  {
    NoGradGuard no_grad;
    x = input.contiguous();
    if (extra_h > 0 || extra_w > 0) x = pad(x, {0, extra_w, 0, extra_h});
    w = weight.contiguous();
    out = conv2d_backward_input(x, w, g, op);
    if (bias.defined()) out.add_(bias.reshape({1, g.in_channels, 1, 1}));
  }
  if (needs_grad({&input, &weight, &bias})) {
    const bool grad_input = input.requires_grad(), grad_weight = weight.requires_grad();
    const bool grad_bias = bias.defined() && bias.requires_grad();
    record_op(op, out, {&input, &weight, &bias}, {grad_weight ? input : Tensor(), grad_input ? weight : Tensor()},
              [t, op, grad_input, grad_weight, grad_bias](const Tensor& grad, const std::vector<Tensor>& saved) {
                const Tensor g_out = grad.contiguous();
                const bool cut = t.conv.out_height > t.in_height || t.conv.out_width > t.in_width;
                const auto padded_input = [&t, cut](const Tensor& in) {
                  return cut ? pad(in, {0, t.conv.out_width - t.in_width, 0, t.conv.out_height - t.in_height}) : in;
                };
                if (is_grad_enabled()) {
                  // create_graph: the same gradients through recorded ops.
                  Tensor g_in_graph;
                  if (grad_input) {
                    g_in_graph = conv2d(g_out, saved[1], Tensor(), conv2d_options(t.conv));
                    if (cut) g_in_graph = g_in_graph.narrow(2, 0, t.in_height).narrow(3, 0, t.in_width);
                  }
                  return std::vector<Tensor>{
                      g_in_graph, grad_weight ? conv2d_weight_gradient(padded_input(saved[0]), g_out, t.conv, op) : Tensor(),
                      grad_bias ? g_out.sum({0, 2, 3}) : Tensor()};
                }
                Tensor g_in;
                if (grad_input) {
                  // The convolution of the output gradient, cut back to H x W.
                  g_in = conv2d_forward(g_out, saved[1].contiguous(), Tensor(), t.conv, op);
                  if (t.conv.out_height > t.in_height || t.conv.out_width > t.in_width) {
                    g_in = g_in.narrow(2, 0, t.in_height).narrow(3, 0, t.in_width).contiguous();
                  }
                }
                // Roles swapped: the transposed input is the convolution's
                // output gradient, the transposed output gradient its input.
                return std::vector<Tensor>{g_in,
                                           grad_weight ? conv2d_backward_weight(
                                                             padded_input(saved[0]).contiguous(), g_out, t.conv, op)
                                                       : Tensor(),
                                           grad_bias ? g_out.sum({0, 2, 3}) : Tensor()};
              });
  }
  return out;
}

}  // namespace redes
