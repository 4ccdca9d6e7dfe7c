// conv2d: checks, the forward kernel, and a backward rule that runs the
// backward kernels (so it works on any device with those kernels).
#include <array>

#include "core/autograd.h"
#include "core/ops.h"
#include "core/ops/dispatch.h"
#include "kernels/params.h"

namespace redes {

Size2d::Size2d(std::initializer_list<std::int64_t> values) : std::array<std::int64_t, 2>{0, 0} {
  REDES_CHECK(values.size() == 1 || values.size() == 2, "expected 1 or 2 values (height, width; one value means "
              "both), got ", values.size());
  (*this)[0] = *values.begin();
  (*this)[1] = *(values.end() - 1);
}

namespace {

constexpr const char* kOp = "conv2d";

// Checks everything conv2d needs of its arguments and returns the geometry.
Conv2dGeometry conv2d_geometry(const Tensor& input, const Tensor& weight, const Tensor& bias,
                               const Conv2dOptions& options) {
  detail::check_defined(input, kOp, "the input");
  detail::check_defined(weight, kOp, "the weight");
  REDES_CHECK(input.dtype() == kFloat32 || input.dtype() == kFloat64, kOp,
              ": expected a float32 or float64 input, got ", dtype_name(input.dtype()));
  REDES_CHECK(weight.dtype() == input.dtype(), kOp, ": the weight is ", dtype_name(weight.dtype()),
              ", the input ", dtype_name(input.dtype()), " (convert one with .to(dtype))");
  REDES_CHECK(!bias.defined() || bias.dtype() == input.dtype(), kOp, ": the bias is ", dtype_name(bias.dtype()),
              ", the input ", dtype_name(input.dtype()), " (convert one with .to(dtype))");
  detail::common_device(kOp, {&input, &weight, &bias});
  REDES_CHECK(input.dim() == 4, kOp, ": expected a 4-D input (N, C, H, W), got shape ", shape_str(input.shape()));
  REDES_CHECK(weight.dim() == 4, kOp,
              ": expected a 4-D weight (out_channels, in_channels/groups, kernel_h, kernel_w), got shape ",
              shape_str(weight.shape()));
  REDES_CHECK(weight.numel() > 0, kOp, ": expected a weight with no empty dim, got shape ",
              shape_str(weight.shape()));
  const std::int64_t groups = options.groups;
  REDES_CHECK(groups > 0, kOp, ": expected groups > 0, got ", groups);
  for (int d = 0; d < 2; ++d) {
    const auto i = static_cast<std::size_t>(d);
    REDES_CHECK(options.stride[i] > 0 && options.dilation[i] > 0, kOp,
                ": expected positive stride and dilation, got stride (", options.stride[0], ", ",
                options.stride[1], ") and dilation (", options.dilation[0], ", ", options.dilation[1], ")");
    REDES_CHECK(options.padding[i] >= 0, kOp, ": expected non-negative padding, got (", options.padding[0], ", ",
                options.padding[1], ")");
  }
  const std::int64_t channels = input.size(1), out_channels = weight.size(0);
  REDES_CHECK(out_channels % groups == 0, kOp, ": groups = ", groups, " does not divide the weight's ",
              out_channels, " output channels");
  REDES_CHECK(channels % groups == 0, kOp, ": groups = ", groups, " does not divide the input's ", channels,
              " channels");
  REDES_CHECK(channels == weight.size(1) * groups, kOp, ": input has ", channels, " channels, weight expects ",
              weight.size(1) * groups, " (in_channels/groups = ", weight.size(1), ", groups = ", groups, ")");
  REDES_CHECK(!bias.defined() || (bias.dim() == 1 && bias.size(0) == out_channels), kOp,
              ": expected a bias of shape ", shape_str({out_channels}), " (one per output channel), got ",
              shape_str(bias.shape()));

  Window2d window;
  window.kernel_height = weight.size(2);
  window.kernel_width = weight.size(3);
  window.stride_height = options.stride[0];
  window.stride_width = options.stride[1];
  window.pad_height = options.padding[0];
  window.pad_width = options.padding[1];
  window.dilation_height = options.dilation[0];
  window.dilation_width = options.dilation[1];
  const std::int64_t span_h = window.dilation_height * (window.kernel_height - 1) + 1;
  const std::int64_t span_w = window.dilation_width * (window.kernel_width - 1) + 1;
  const std::int64_t padded_h = input.size(2) + 2 * window.pad_height;
  const std::int64_t padded_w = input.size(3) + 2 * window.pad_width;
  REDES_CHECK(span_h <= padded_h && span_w <= padded_w, kOp, ": the kernel ", window.kernel_height, "x",
              window.kernel_width, " with dilation ", window.dilation_height, "x", window.dilation_width, " spans ",
              span_h, "x", span_w, ", larger than the padded input ", padded_h, "x", padded_w, " (input ",
              input.size(2), "x", input.size(3), ", padding ", window.pad_height, "x", window.pad_width, ")");

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

// d loss / d input from the output gradient (contiguous) and the weight.
Tensor conv2d_backward_input(const Tensor& grad_output, const Tensor& weight, const Conv2dGeometry& g) {
  Tensor grad_input = empty({g.batch, g.in_channels, g.in_height, g.in_width}, {weight.dtype(), weight.device()});
  if (grad_input.numel() > 0) {
    detail::launch(Conv2dBackwardInputParams{g}, weight.device(), weight.dtype(),
                   {detail::kernel_arg(grad_input, kOp), detail::kernel_arg(grad_output, kOp),
                    detail::kernel_arg(weight, kOp)});
  }
  return grad_input;
}

// d loss / d weight from the output gradient (contiguous) and the input,
// summed over the batch (zero for an empty batch).
Tensor conv2d_backward_weight(const Tensor& grad_output, const Tensor& input, const Conv2dGeometry& g) {
  Tensor grad_weight = empty({g.out_channels, g.in_channels / g.groups, g.window.kernel_height, g.window.kernel_width},
                             {input.dtype(), input.device()});
  detail::launch(Conv2dBackwardWeightParams{g}, input.device(), input.dtype(),
                 {detail::kernel_arg(grad_weight, kOp), detail::kernel_arg(grad_output, kOp),
                  detail::kernel_arg(input, kOp)});
  return grad_weight;
}

}  // namespace

Tensor conv2d(const Tensor& input, const Tensor& weight, const Tensor& bias, Conv2dOptions options) {
  const Conv2dGeometry g = conv2d_geometry(input, weight, bias, options);
  Tensor out = empty({g.batch, g.out_channels, g.out_height, g.out_width}, {input.dtype(), input.device()});
  // The kernels want dense (N, C, H, W) planes; the copies are the kernel's,
  // not the graph's.
  Tensor x, w;
  {
    NoGradGuard no_grad;
    x = input.contiguous();
    w = weight.contiguous();
    if (out.numel() > 0) {
      const Conv2dForwardParams params{g};
      if (bias.defined()) {
        detail::launch(params, input.device(), input.dtype(),
                       {detail::kernel_arg(out, kOp), detail::kernel_arg(x, kOp), detail::kernel_arg(w, kOp),
                        detail::kernel_arg(bias.contiguous(), kOp)});
      } else {
        detail::launch(params, input.device(), input.dtype(),
                       {detail::kernel_arg(out, kOp), detail::kernel_arg(x, kOp), detail::kernel_arg(w, kOp)});
      }
    }
  }
  if (needs_grad({&input, &weight, &bias})) {
    const bool grad_input = input.requires_grad(), grad_weight = weight.requires_grad();
    const bool grad_bias = bias.defined() && bias.requires_grad();
    // The input gradient needs only the weight, the weight gradient only the input.
    record_op(kOp, out, {&input, &weight, &bias}, {grad_weight ? x : Tensor(), grad_input ? w : Tensor()},
              [g, grad_input, grad_weight, grad_bias](const Tensor& grad, const std::vector<Tensor>& saved) {
                const Tensor g_out = grad.contiguous();
                return std::vector<Tensor>{grad_input ? conv2d_backward_input(g_out, saved[1], g) : Tensor(),
                                           grad_weight ? conv2d_backward_weight(g_out, saved[0], g) : Tensor(),
                                           grad_bias ? g_out.sum({0, 2, 3}) : Tensor()};
              });
  }
  return out;
}

}  // namespace redes
