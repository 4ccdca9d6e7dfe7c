// softmax and log_softmax along one dim.
#include "core/autocast.h"
#include "core/autograd.h"
#include "core/ops.h"
#include "core/ops/dispatch.h"
#include "kernels/params.h"

namespace redes {

namespace {

Tensor softmax_kernel(const Tensor& x, std::int64_t dim, bool log_output) {
  const char* op = log_output ? "log_softmax" : "softmax";
  detail::check_defined(x, op, "the input");
  REDES_CHECK(is_floating(x.dtype()), op, ": expected a floating-point tensor, got ", dtype_name(x.dtype()));
  const Tensor input = x.dim() == 0 ? x.reshape({1}) : x;
  const std::int64_t axis = wrap_dim(dim, x.dim(), op);
  Tensor out = empty(input.shape(), {x.dtype(), x.device()});
  if (out.numel() > 0) {
    detail::launch(SoftmaxParams{axis, log_output}, x.device(), x.dtype(),
                   {detail::kernel_arg(out, op), detail::kernel_arg(input, op)});
  }
  return x.dim() == 0 ? out.reshape({}) : out;
}

}  // namespace

Tensor softmax(const Tensor& x_in, std::int64_t dim) {
  const Tensor x = detail::autocast_to_float32(x_in);
  Tensor out = softmax_kernel(x, dim, false);
  if (needs_grad({&x})) {
    record_op("softmax", out, {&x}, {out}, [dim](const Tensor& g, const std::vector<Tensor>& saved) {
      // ds_i = s_i (g_i - sum_j g_j s_j)
      const Tensor& s = saved[0];
      return std::vector<Tensor>{s * (g - (g * s).sum({dim}, true))};
    });
  }
  return out;
}

Tensor log_softmax(const Tensor& x_in, std::int64_t dim) {
  const Tensor x = detail::autocast_to_float32(x_in);
  Tensor out = softmax_kernel(x, dim, true);
  if (needs_grad({&x})) {
    record_op("log_softmax", out, {&x}, {out}, [dim](const Tensor& g, const std::vector<Tensor>& saved) {
      // d/dx_i = g_i - softmax_i * sum_j g_j
      return std::vector<Tensor>{g - exp(saved[0]) * g.sum({dim}, true)};
    });
  }
  return out;
}

}  // namespace redes
