// max_pool2d, avg_pool2d, adaptive_avg_pool2d and adaptive_max_pool2d over
// (N, C, H, W) tensors, with backward rules that run the backward kernels (any
// device); adaptive_max_pool2d is a composition of other ops.
#include <algorithm>
#include <array>
#include <sstream>

#include "core/autograd.h"
#include "core/ops.h"
#include "core/ops/dispatch.h"
#include "core/ops/path_choice.h"
#include "core/ops/window.h"
#include "kernels/kernel_settings.h"
#include "kernels/params.h"
#include "kernels/registry.h"

namespace redes {

namespace {

using Pair = std::array<std::int64_t, 2>;

void check_pool_input(const Tensor& input, const char* op) {
  detail::check_defined(input, op, "the input");
  REDES_CHECK(is_floating(input.dtype()), op, ": expected a floating-point input, got ", dtype_name(input.dtype()));
  REDES_CHECK(input.dim() == 4, op, ": expected a 4-D input (N, C, H, W), got shape ", shape_str(input.shape()));
  REDES_CHECK(input.size(2) > 0 && input.size(3) > 0, op, ": expected non-empty (H, W) planes, got shape ",
              shape_str(input.shape()));
}

// The window of a max or average pooling, checked as PyTorch checks it, and
// the output shape it gives (ceil_mode included).
Pool2dShape pool_shape(const Tensor& input, const Window2d& win, bool ceil_mode, const char* op) {
  REDES_CHECK(win.kernel_height > 0 && win.kernel_width > 0, op, ": expected a positive kernel size, got (",
              win.kernel_height, ", ", win.kernel_width, ")");
  REDES_CHECK(win.stride_height > 0 && win.stride_width > 0, op, ": expected a positive stride, got (",
              win.stride_height, ", ", win.stride_width, ")");
  REDES_CHECK(win.dilation_height > 0 && win.dilation_width > 0, op, ": expected a positive dilation, got (",
              win.dilation_height, ", ", win.dilation_width, ")");
  REDES_CHECK(win.pad_height >= 0 && win.pad_width >= 0, op, ": expected non-negative padding, got (", win.pad_height,
              ", ", win.pad_width, ")");
  REDES_CHECK(win.pad_height <= win.kernel_height / 2 && win.pad_width <= win.kernel_width / 2, op, ": padding (",
              win.pad_height, ", ", win.pad_width, ") must be at most half the kernel size (", win.kernel_height, ", ",
              win.kernel_width, ")");
  Pool2dShape s;
  s.batch = input.size(0);
  s.channels = input.size(1);
  s.in_height = input.size(2);
  s.in_width = input.size(3);
  s.out_height = window_output_size(s.in_height, win.kernel_height, win.stride_height, win.pad_height,
                                    win.dilation_height, ceil_mode);
  s.out_width =
      window_output_size(s.in_width, win.kernel_width, win.stride_width, win.pad_width, win.dilation_width, ceil_mode);
  REDES_CHECK(s.out_height > 0 && s.out_width > 0, op, ": the input planes ", s.in_height, "x", s.in_width,
              " are too small for kernel ", win.kernel_height, "x", win.kernel_width, " with padding ", win.pad_height,
              "x", win.pad_width, " and dilation ", win.dilation_height, "x", win.dilation_width, " (output would be ",
              s.out_height, "x", s.out_width, ")");
  return s;
}

Window2d pool_window(const Pair& kernel, const std::optional<Pair>& stride, const Pair& padding, const Pair& dilation) {
  return detail::make_window(kernel, stride.value_or(kernel), padding, dilation);
}

Shape input_shape(const Pool2dShape& s) { return {s.batch, s.channels, s.in_height, s.in_width}; }
Shape output_shape(const Pool2dShape& s) { return {s.batch, s.channels, s.out_height, s.out_width}; }

// The pooling backward kernels are linear in the gradient, and each is the
// adjoint of a forward kernel: recorded (in a pass with create_graph) with
// that forward as their own backward, they differentiate to any order.

Tensor max_pool2d_backward(const Tensor& grad, const Tensor& indices, const Pool2dShape& s, const Window2d& win) {
  Tensor grad_input = empty(input_shape(s), {grad.dtype(), grad.device()});
  if (grad.numel() == 0) {
    grad_input.zero_();
  } else {
    detail::launch(MaxPool2dBackwardParams{s, win}, grad.device(), grad.dtype(),
                   {detail::kernel_arg(grad_input, "max_pool2d"), detail::kernel_arg(grad, "max_pool2d"),
                    detail::kernel_arg(indices, "max_pool2d")});
  }
  if (needs_grad({&grad})) {
    // The adjoint of scattering to the maxima is reading them back.
    record_op("max_pool2d backward", grad_input, {&grad}, {indices}, [s](const Tensor& gg, const std::vector<Tensor>& saved) {
      const Tensor flat_indices = saved[0].reshape({s.batch, s.channels, s.out_height * s.out_width});
      const Tensor picked = gather(gg.reshape({s.batch, s.channels, s.in_height * s.in_width}), 2, flat_indices);
      return std::vector<Tensor>{picked.reshape(output_shape(s))};
    });
  }
  return grad_input;
}

Tensor avg_pool2d_backward(const Tensor& grad, const Pool2dShape& s, const Window2d& win, bool count_include_pad);

// The averaging kernel as a recorded op.
Tensor avg_pool2d_kernel(const Tensor& input, const Pool2dShape& s, const Window2d& win, bool count_include_pad) {
  const char* op = "avg_pool2d";
  Tensor out = empty(output_shape(s), {input.dtype(), input.device()});
  if (out.numel() > 0) {
    detail::launch(AvgPool2dParams{s, win, count_include_pad}, input.device(), input.dtype(),
                   {detail::kernel_arg(out, op), detail::kernel_arg(input, op)});
  }
  if (needs_grad({&input})) {
    record_op(op, out, {&input}, {}, [s, win, count_include_pad](const Tensor& grad, const std::vector<Tensor>&) {
      return std::vector<Tensor>{avg_pool2d_backward(grad, s, win, count_include_pad)};
    });
  }
  return out;
}

Tensor avg_pool2d_backward(const Tensor& grad, const Pool2dShape& s, const Window2d& win, bool count_include_pad) {
  Tensor grad_input = empty(input_shape(s), {grad.dtype(), grad.device()});
  if (grad_input.numel() > 0) {
    detail::launch(AvgPool2dBackwardParams{s, win, count_include_pad}, grad.device(), grad.dtype(),
                   {detail::kernel_arg(grad_input, "avg_pool2d"), detail::kernel_arg(grad, "avg_pool2d")});
  }
  if (needs_grad({&grad})) {
    record_op("avg_pool2d backward", grad_input, {&grad}, {},
              [s, win, count_include_pad](const Tensor& gg, const std::vector<Tensor>&) {
                return std::vector<Tensor>{avg_pool2d_kernel(gg, s, win, count_include_pad)};
              });
  }
  return grad_input;
}

Tensor adaptive_avg_pool2d_backward(const Tensor& grad, const Pool2dShape& s);

Tensor adaptive_avg_pool2d_kernel(const Tensor& input, const Pool2dShape& s) {
  const char* op = "adaptive_avg_pool2d";
  Tensor out = empty(output_shape(s), {input.dtype(), input.device()});
  if (out.numel() > 0) {
    detail::launch(AdaptiveAvgPool2dParams{s}, input.device(), input.dtype(),
                   {detail::kernel_arg(out, op), detail::kernel_arg(input, op)});
  }
  if (needs_grad({&input})) {
    record_op(op, out, {&input}, {}, [s](const Tensor& grad, const std::vector<Tensor>&) {
      return std::vector<Tensor>{adaptive_avg_pool2d_backward(grad, s)};
    });
  }
  return out;
}

Tensor adaptive_avg_pool2d_backward(const Tensor& grad, const Pool2dShape& s) {
  Tensor grad_input = empty(input_shape(s), {grad.dtype(), grad.device()});
  if (grad_input.numel() > 0) {
    detail::launch(
        AdaptiveAvgPool2dBackwardParams{s}, grad.device(), grad.dtype(),
        {detail::kernel_arg(grad_input, "adaptive_avg_pool2d"), detail::kernel_arg(grad, "adaptive_avg_pool2d")});
  }
  if (needs_grad({&grad})) {
    record_op("adaptive_avg_pool2d backward", grad_input, {&grad}, {}, [s](const Tensor& gg, const std::vector<Tensor>&) {
      return std::vector<Tensor>{adaptive_avg_pool2d_kernel(gg, s)};
    });
  }
  return grad_input;
}

// max_pool2d_with_indices once its window and shape are checked.
ValuesIndices max_pool2d_indexed(const Tensor& input, const Pool2dShape& s, const Window2d& win) {
  const char* op = "max_pool2d";
  Tensor values = empty(output_shape(s), {input.dtype(), input.device()});
  Tensor indices = empty(output_shape(s), {kInt64, input.device()});
  if (values.numel() > 0) {
    detail::launch(MaxPool2dParams{s, win}, input.device(), input.dtype(),
                   {detail::kernel_arg(values, op), detail::kernel_arg(indices, op), detail::kernel_arg(input, op)});
  }
  if (needs_grad({&input})) {
    record_op(op, values, {&input}, {indices}, [s, win](const Tensor& grad, const std::vector<Tensor>& saved) {
      return std::vector<Tensor>{max_pool2d_backward(grad, saved[0], s, win)};
    });
  }
  return {values, indices};
}

// max_pool2d through max_pool2d_values (cuDNN, oneDNN): no indices; the
// backward reads the forward's input and output instead.
Tensor max_pool2d_values(const Tensor& input, const Pool2dShape& s, const Window2d& win) {
  const char* op = "max_pool2d";
  Tensor out = empty(output_shape(s), {input.dtype(), input.device()});
  detail::launch(MaxPool2dValuesParams{s, win}, input.device(), input.dtype(),
                 {detail::kernel_arg(out, op), detail::kernel_arg(input, op)});
  if (needs_grad({&input})) {
    record_op(op, out, {&input}, {input, out}, [s, win](const Tensor& grad, const std::vector<Tensor>& saved) {
      Tensor grad_input = empty(input_shape(s), {grad.dtype(), grad.device()});
      // cuDNN refuses stride-0 dims (the gradient of a sum is one number
      // broadcast), and this path has no other implementation: such a
      // gradient is made dense first. A layer's gradient already is.
      const Tensor dense_grad = grad.contiguous();
      detail::launch(MaxPool2dValuesBackwardParams{s, win}, grad.device(), grad.dtype(),
                     {detail::kernel_arg(grad_input, "max_pool2d"), detail::kernel_arg(dense_grad, "max_pool2d"),
                      detail::kernel_arg(saved[0], "max_pool2d"), detail::kernel_arg(saved[1], "max_pool2d")});
      return std::vector<Tensor>{once_differentiable("max_pool2d", grad_input, {&grad, &saved[0]})};
    });
  }
  return out;
}

// Whether max_pool2d should take max_pool2d_values: an implementation
// supports the call (cuDNN usable, no padding, dilation 1, floor size; on
// the CPU oneDNN for contiguous float32 and bfloat16) and the setting is
// vendor, or auto on the CPU for bfloat16 (oneDNN pools it without float32
// copies; in float32 it measured no faster than the indices kernel), or
// auto on CUDA found it the faster (the indices kernel is the reference it
// is checked against).
bool use_max_pool2d_values(const Tensor& input, const Pool2dShape& s, const Window2d& win) {
  const KernelImpl impl = kernel_impl();
  if (impl == KernelImpl::Hand) return false;
  const Shape out_shape = output_shape(s);
  TensorArg args[2] = {TensorArg{}, detail::kernel_arg(input, "max_pool2d")};
  args[0].dtype = input.dtype();
  args[0].ndim = 4;
  const Shape out_strides = contiguous_strides(out_shape);
  for (int d = 0; d < 4; ++d) {
    args[0].sizes[d] = out_shape[static_cast<std::size_t>(d)];
    args[0].strides[d] = out_strides[static_cast<std::size_t>(d)];
  }
  const MaxPool2dValuesParams params{s, win};
  if (!KernelRegistry::instance().supports(MaxPool2dValuesParams::op, input.device(), input.dtype(), &params, args,
                                           2)) {
    return false;
  }
  if (impl == KernelImpl::Vendor) return true;
  if (input.device().is_cpu()) return input.dtype() == kBFloat16;
  std::ostringstream key;
  key << "input=" << shape_str(input.shape()) << " contiguous=" << input.is_contiguous()
      << " kernel=" << win.kernel_height << "x" << win.kernel_width << " stride=" << win.stride_height << "x"
      << win.stride_width;
  const auto first = [&s, &win](const std::vector<Tensor>& v) {
    return std::vector<Tensor>{max_pool2d_indexed(v[0], s, win).values};
  };
  const auto second = [&s, &win](const std::vector<Tensor>& v) {
    return std::vector<Tensor>{max_pool2d_values(v[0], s, win)};
  };
  return detail::choose_path("max_pool2d", key.str(), {input}, {{"cuda.hand", first}, {"cudnn", second}}) == "cudnn";
}

}  // namespace

ValuesIndices max_pool2d_with_indices(const Tensor& input, Size2d kernel_size,
                                      MaxPool2dOptions options) {
  const char* op = "max_pool2d";
  check_pool_input(input, op);
  const Window2d win = pool_window(kernel_size, options.stride, options.padding, options.dilation);
  return max_pool2d_indexed(input, pool_shape(input, win, options.ceil_mode, op), win);
}

Tensor max_pool2d(const Tensor& input, Size2d kernel_size, MaxPool2dOptions options) {
  const char* op = "max_pool2d";
  check_pool_input(input, op);
  const Window2d win = pool_window(kernel_size, options.stride, options.padding, options.dilation);
  const Pool2dShape s = pool_shape(input, win, options.ceil_mode, op);
  if (input.numel() > 0 && use_max_pool2d_values(input, s, win)) return max_pool2d_values(input, s, win);
  return max_pool2d_indexed(input, s, win).values;
}

Tensor avg_pool2d(const Tensor& input, Size2d kernel_size, AvgPool2dOptions options) {
  const char* op = "avg_pool2d";
  check_pool_input(input, op);
  const Window2d win = pool_window(kernel_size, options.stride, options.padding, {1, 1});
  return avg_pool2d_kernel(input, pool_shape(input, win, options.ceil_mode, op), win, options.count_include_pad);
}

Tensor adaptive_avg_pool2d(const Tensor& input, Size2d output_size) {
  const char* op = "adaptive_avg_pool2d";
  check_pool_input(input, op);
  REDES_CHECK(output_size[0] > 0 && output_size[1] > 0, op, ": expected a positive output size, got (", output_size[0],
              ", ", output_size[1], ")");
  return adaptive_avg_pool2d_kernel(
      input, {input.size(0), input.size(1), input.size(2), input.size(3), output_size[0], output_size[1]});
}

namespace {

// The max over adaptive bins along one dim (2 or 3) of x: bin i covers
// [floor(i n / out), ceil((i + 1) n / out)). One index_select gathers every
// bin's positions, each bin padded to the widest by repeating its last
// position (a repeat leaves the max alone and, coming after the original,
// never takes the gradient), and one max reduces them. Two ops whatever the
// number of bins, and the gradient flows to each bin's first max.
Tensor adaptive_max_along(const Tensor& x, std::int64_t dim, std::int64_t out_size) {
  const std::int64_t n = x.size(dim);
  if (n == out_size) return x;
  const auto bin_start = [n, out_size](std::int64_t i) { return i * n / out_size; };
  const auto bin_end = [n, out_size](std::int64_t i) { return ((i + 1) * n + out_size - 1) / out_size; };
  std::int64_t widest = 0;
  for (std::int64_t i = 0; i < out_size; ++i) widest = std::max(widest, bin_end(i) - bin_start(i));
  std::vector<std::int64_t> positions;
  positions.reserve(static_cast<std::size_t>(out_size * widest));
  for (std::int64_t i = 0; i < out_size; ++i) {
    for (std::int64_t k = 0; k < widest; ++k) positions.push_back(std::min(bin_start(i) + k, bin_end(i) - 1));
  }
  const Tensor index = from_vector(positions, {out_size * widest}, {kInt64, x.device()});
  Shape binned = x.shape();
  binned[static_cast<std::size_t>(dim)] = out_size;
  binned.insert(binned.begin() + dim + 1, widest);
  return max(index_select(x, dim, index).view(binned), dim + 1).values;
}

}  // namespace

// Composed from max_pool2d (bins of equal size, which tile the plane) or
// from index_select and max along each dim (the max over a bin, a product
// of an H range and a W range, is the max over its rows of the max over its
// columns), so it needs no kernel of its own and runs on every device. W is
// reduced first so that ties resolve as PyTorch's kernel resolves them: the
// first row holding the max, and in it the first column.
Tensor adaptive_max_pool2d(const Tensor& input, Size2d output_size) {
  const char* op = "adaptive_max_pool2d";
  check_pool_input(input, op);
  REDES_CHECK(output_size[0] > 0 && output_size[1] > 0, op, ": expected a positive output size, got (", output_size[0],
              ", ", output_size[1], ")");
  const std::int64_t height = input.size(2), width = input.size(3);
  if (height % output_size[0] == 0 && width % output_size[1] == 0) {
    return max_pool2d(input, {height / output_size[0], width / output_size[1]});
  }
  return adaptive_max_along(adaptive_max_along(input, 3, output_size[1]), 2, output_size[0]);
}

}  // namespace redes
