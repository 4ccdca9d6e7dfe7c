// Matrix products: matmul (NumPy semantics, batched, broadcast), addmm, and
// the fused linear op (core/ops/fused.h).
#include <sstream>
#include <string>

#include "core/autocast.h"
#include "core/autograd.h"
#include "core/ops.h"
#include "core/ops/activation_backward.h"
#include "core/ops/dispatch.h"
#include "core/ops/fused.h"
#include "core/ops/path_choice.h"
#include "kernels/kernel_settings.h"
#include "kernels/gemm_layout.h"
#include "kernels/params.h"

namespace redes {

namespace {

// x as a GEMM library can read each of its matrices (kernels/gemm_layout.h):
// itself when it already is, else a contiguous copy.
Tensor gemm_ready(const Tensor& x) {
  return gemm_layout(x.size(-2), x.size(-1), x.stride(-2), x.stride(-1)) ? x : x.contiguous();
}

void check_operands(const Tensor& a, const Tensor& b, const char* op) {
  detail::check_defined(a, op, "the first operand");
  detail::check_defined(b, op, "the second operand");
  detail::common_device(op, {&a, &b});
  REDES_CHECK(a.dtype() == b.dtype(), op, ": expected operands of one dtype, got ", dtype_name(a.dtype()), " and ",
              dtype_name(b.dtype()));
  REDES_CHECK(is_floating(a.dtype()), op, ": expected floating-point operands, got ", dtype_name(a.dtype()));
}

// Whether the 2-D `b` is the transpose of a contiguous matrix, as a linear
// layer's w.t() is.
bool is_transposed_matrix(const Tensor& b) {
  return b.dim() == 2 && b.size(0) > 1 && b.size(1) > 1 && b.stride(0) == 1 && b.stride(1) == b.size(0);
}

// The gradient of w in a @ w.t() (a linear layer's product): g^T a, made
// directly in w's layout when w is contiguous (`w_contiguous`, what
// is_transposed_matrix says of w.t()), so the leaf keeps it without a copy
// (as PyTorch's mm_mat2_backward does); else (a^T g)^T.
Tensor transposed_operand_grad(const Tensor& a, const Tensor& g, bool w_contiguous) {
  return w_contiguous ? matmul(g.t(), a) : matmul(a.t(), g).t();
}

// The gradient of the 2-D `b` in a @ b, laid out as b is: for a transposed b
// (b = w.t()), the transpose of w's gradient.
Tensor right_operand_grad(const Tensor& a, const Tensor& g, bool b_transposed) {
  return b_transposed ? transposed_operand_grad(a, g, true).t() : matmul(a.t(), g);
}

// The 2-D x as the (1, rows, cols) operand a GEMM kernel takes, without a
// view tensor (x.unsqueeze(0)'s geometry).
TensorArg batch_of_one(const Tensor& x, const char* op) {
  TensorArg arg = detail::kernel_arg(x, op);
  arg.ndim = 3;
  arg.sizes[2] = arg.sizes[1];
  arg.sizes[1] = arg.sizes[0];
  arg.sizes[0] = 1;
  arg.strides[2] = arg.strides[1];
  arg.strides[1] = arg.strides[0];
  arg.strides[0] = arg.strides[1] * arg.sizes[1];
  return arg;
}

// The GEMM kernel on 2-D operands: out (m, n) contiguous, a (m, k), b (k, n);
// `accumulate`: out already holds the addend.
void run_gemm_2d(Tensor& out, const Tensor& a, const Tensor& b, bool accumulate, const char* op) {
  const MatmulParams params{1, a.size(0), b.size(1), a.size(1), accumulate};
  detail::launch(params, out.device(), out.dtype(),
                 {batch_of_one(out, op), batch_of_one(gemm_ready(a), op), batch_of_one(gemm_ready(b), op)});
}

// Runs the GEMM kernel on (batch, m, k) @ (batch, k, n) views; `out` is
// (batch, m, n) contiguous and, when `accumulate`, already holds the addend.
void run_gemm(Tensor& out, const Tensor& a, const Tensor& b, bool accumulate, const char* op) {
  const MatmulParams params{a.size(0), a.size(1), b.size(2), a.size(2), accumulate};
  detail::launch(params, out.device(), out.dtype(),
                 {detail::kernel_arg(out, op), detail::kernel_arg(gemm_ready(a), op),
                  detail::kernel_arg(gemm_ready(b), op)});
}

// (..., m, k) @ (..., k, n) with at least 2 dims each; batch dims broadcast.
Tensor batched_matmul(const Tensor& a, const Tensor& b) {
  REDES_CHECK(a.size(-1) == b.size(-2), "matmul: inner dimensions differ: ", shape_str(a.shape()), " @ ",
              shape_str(b.shape()), " (", a.size(-1), " vs ", b.size(-2), ")");
  const Shape batch_a(a.shape().begin(), a.shape().end() - 2), batch_b(b.shape().begin(), b.shape().end() - 2);
  const Shape batch = broadcast_shapes(batch_a, batch_b, "matmul");
  const std::int64_t m = a.size(-2), k = a.size(-1), n = b.size(-1), count = numel_of(batch);
  Shape a_full = batch, b_full = batch, out_shape = batch;
  a_full.insert(a_full.end(), {m, k});
  b_full.insert(b_full.end(), {k, n});
  out_shape.insert(out_shape.end(), {m, n});
  Tensor out = empty(out_shape, {a.dtype(), a.device()});
  {
    NoGradGuard no_grad;  // the views below are the kernel's, not the graph's
    if (a.dim() == 2 && b.dim() == 2) {
      run_gemm_2d(out, a, b, false, "matmul");
    } else if (count > 0) {
      Tensor out3 = out.view({count, m, n});
      run_gemm(out3, a.expand(a_full).reshape({count, m, k}), b.expand(b_full).reshape({count, k, n}), false,
               "matmul");
    }
  }
  if (needs_grad({&a, &b})) {
    const bool grad_a = a.requires_grad(), grad_b = b.requires_grad();
    const bool matrices = a.dim() == 2, b_transposed = matrices && is_transposed_matrix(b);
    record_op("matmul", out, {&a, &b}, {grad_b ? a : Tensor(), grad_a ? b : Tensor()},
              [grad_a, grad_b, matrices, b_transposed, sa = a.shape(), sb = b.shape()](
                  const Tensor& g, const std::vector<Tensor>& saved) {
                Tensor da = grad_a ? sum_to(matmul(g, saved[1].transpose(-2, -1)), sa) : Tensor();
                if (!grad_b) return std::vector<Tensor>{da, Tensor()};
                Tensor db = matrices && sb.size() == 2 ? right_operand_grad(saved[0], g, b_transposed)
                                                       : sum_to(matmul(saved[0].transpose(-2, -1), g), sb);
                return std::vector<Tensor>{da, db};
              });
  }
  return out;
}

}  // namespace

Tensor matmul(const Tensor& a_in, const Tensor& b_in) {
  const Tensor a = detail::autocast_to_low_precision(a_in), b = detail::autocast_to_low_precision(b_in);
  check_operands(a, b, "matmul");
  REDES_CHECK(a.dim() >= 1 && b.dim() >= 1, "matmul: expected operands of at least 1 dim, got shapes ",
              shape_str(a.shape()), " and ", shape_str(b.shape()));
  // A 1-D left operand is a row, a 1-D right operand a column; the added dim
  // is removed from the result.
  const Tensor lhs = a.dim() == 1 ? a.unsqueeze(0) : a;
  const Tensor rhs = b.dim() == 1 ? b.unsqueeze(1) : b;
  Tensor out = batched_matmul(lhs, rhs);
  if (b.dim() == 1) out = out.squeeze(-1);
  if (a.dim() == 1) out = out.squeeze(b.dim() == 1 ? -1 : -2);
  return out;
}

Tensor addmm(const Tensor& bias_in, const Tensor& a_in, const Tensor& b_in) {
  const Tensor bias = detail::autocast_to_low_precision(bias_in);
  const Tensor a = detail::autocast_to_low_precision(a_in), b = detail::autocast_to_low_precision(b_in);
  check_operands(a, b, "addmm");
  detail::check_defined(bias, "addmm", "the bias");
  detail::common_device("addmm", {&bias, &a});
  REDES_CHECK(a.dim() == 2 && b.dim() == 2, "addmm: expected 2-D matrices, got shapes ", shape_str(a.shape()),
              " and ", shape_str(b.shape()));
  REDES_CHECK(a.size(1) == b.size(0), "addmm: inner dimensions differ: ", shape_str(a.shape()), " @ ",
              shape_str(b.shape()));
  const Shape out_shape{a.size(0), b.size(1)};
  Tensor out = empty(out_shape, {a.dtype(), a.device()});
  {
    NoGradGuard no_grad;
    out.copy_(bias.expand(out_shape));  // the GEMM adds a @ b onto the bias (beta = 1)
    run_gemm_2d(out, a, b, true, "addmm");
  }
  if (needs_grad({&bias, &a, &b})) {
    const bool grad_a = a.requires_grad(), grad_b = b.requires_grad(), b_transposed = is_transposed_matrix(b);
    record_op("addmm", out, {&bias, &a, &b}, {grad_b ? a : Tensor(), grad_a ? b : Tensor()},
              [grad_a, grad_b, b_transposed, sbias = bias.shape()](const Tensor& g, const std::vector<Tensor>& saved) {
                return std::vector<Tensor>{sum_to(g, sbias), grad_a ? matmul(g, saved[1].t()) : Tensor(),
                                           grad_b ? right_operand_grad(saved[0], g, b_transposed) : Tensor()};
              });
  }
  return out;
}

namespace detail {
namespace {

Tensor activation_op(const Tensor& x, Activation activation) {
  switch (activation) {
    case Activation::Relu:
      return relu(x);
    case Activation::Sigmoid:
      return sigmoid(x);
    case Activation::Tanh:
      return tanh(x);
    case Activation::None:
      break;
  }
  return x;
}

// The gradient before the activation, from the activation's output.
Tensor activation_backward(const Tensor& g, const Tensor& out, Activation activation) {
  switch (activation) {
    case Activation::Relu:
      return relu_backward(g, out.detach());
    case Activation::Sigmoid:
      return sigmoid_backward(g, out);
    case Activation::Tanh:
      return tanh_backward(g, out);
    case Activation::None:
      break;
  }
  return g;
}

Tensor composite_linear(const Tensor& x, const Tensor& w, const Tensor& b, Activation activation) {
  return activation_op(b.defined() ? addmm(b, x, w.t()) : matmul(x, w.t()), activation);
}

// One "linear" kernel call, and a backward rule with the composite's products
// (so fused and composite gradients agree bit for bit on the CPU).
Tensor fused_linear(const Tensor& x, const Tensor& w, const Tensor& b, Activation activation) {
  const char* op = "linear";
  const std::int64_t m = x.size(0), k = x.size(1), n = w.size(0);
  Tensor out = empty({m, n}, {x.dtype(), x.device()});
  {
    NoGradGuard no_grad;  // the views below are the kernel's, not the graph's
    const Tensor x_ready = gemm_ready(x), wt_ready = gemm_ready(w.t());  // alive while the kernel runs
    const TensorArg a3 = batch_of_one(x_ready, op), b3 = batch_of_one(wt_ready, op);
    const Tensor bias = b.defined() ? b.contiguous() : Tensor();
    const LinearParams params{m, n, k, activation, b.defined()};
    if (b.defined()) {
      launch(params, x.device(), x.dtype(), {kernel_arg(out, op), a3, b3, kernel_arg(bias, op)});
    } else {
      launch(params, x.device(), x.dtype(), {kernel_arg(out, op), a3, b3});
    }
  }
  std::vector<const Tensor*> inputs{&x, &w};
  if (b.defined()) inputs.push_back(&b);
  if (needs_grad({&x, &w}) || (b.defined() && needs_grad({&b}))) {
    const bool grad_x = x.requires_grad(), grad_w = w.requires_grad(), with_bias = b.defined();
    const bool wt_transposed = is_transposed_matrix(w.t());
    record_op(op, out, inputs, {x, w, out},
              [activation, grad_x, grad_w, with_bias, wt_transposed, n](const Tensor& g,
                                                                       const std::vector<Tensor>& saved) {
                const Tensor pre = activation_backward(g, saved[2], activation);
                // w's gradient with the GEMM the composite's right_operand_grad uses for w.t().
                std::vector<Tensor> grads{grad_x ? matmul(pre, saved[1]) : Tensor(),
                                          grad_w ? transposed_operand_grad(saved[0], pre, wt_transposed) : Tensor()};
                if (with_bias) grads.push_back(sum_to(pre, {n}));
                return grads;
              });
  }
  return out;
}

}  // namespace

Tensor linear_activation(const Tensor& x_in, const Tensor& w_in, const Tensor& b_in, Activation activation) {
  const char* op = "linear";
  const Tensor x = autocast_to_low_precision(x_in), w = autocast_to_low_precision(w_in);
  const Tensor b = b_in.defined() ? autocast_to_low_precision(b_in) : Tensor();
  check_operands(x, w, op);
  REDES_CHECK(x.dim() == 2, "linear: expected a 2-D input (rows, in_features), got shape ", shape_str(x.shape()));
  REDES_CHECK(w.dim() == 2 && w.size(1) == x.size(1), "linear: expected a weight of shape (",
              w.dim() > 0 ? w.size(0) : 0, ", ", x.size(1), ") for an input of shape ", shape_str(x.shape()),
              ", got ", shape_str(w.shape()));
  if (b.defined()) {
    REDES_CHECK(b.dim() == 1 && b.size(0) == w.size(0), "linear: expected a bias of shape (", w.size(0), "), got ",
                shape_str(b.shape()));
    REDES_CHECK(b.dtype() == x.dtype(), "linear: expected a ", dtype_name(x.dtype()), " bias, got ",
                dtype_name(b.dtype()));
    common_device(op, {&x, &b});
  }
  if (!KernelRegistry::instance().has_candidates(op, x.device().type, x.dtype())) {
    return composite_linear(x, w, b, activation);
  }
  if (x.device().is_cpu()) return fused_linear(x, w, b, activation);
  switch (kernel_impl()) {
    case KernelImpl::Hand:
      return fused_linear(x, w, b, activation);
    case KernelImpl::Vendor:
      return composite_linear(x, w, b, activation);
    case KernelImpl::Auto:
      break;
  }
  // Auto on CUDA: cuBLAS and the activation op (the reference), or the
  // fused hand kernel, whichever is faster for this shape.
  std::ostringstream key;
  key << "m=" << x.size(0) << " k=" << x.size(1) << " n=" << w.size(0) << " bias=" << b.defined()
      << " activation=" << static_cast<int>(activation);
  std::vector<Tensor> inputs{x, w};
  if (b.defined()) inputs.push_back(b);
  const auto bias_of = [](const std::vector<Tensor>& v) { return v.size() > 2 ? v[2] : Tensor(); };
  const std::string path = choose_path(
      op, key.str(), inputs,
      {{"cublas", [&](const std::vector<Tensor>& v) { return std::vector<Tensor>{composite_linear(v[0], v[1], bias_of(v), activation)}; }},
       {"cuda.hand", [&](const std::vector<Tensor>& v) { return std::vector<Tensor>{fused_linear(v[0], v[1], bias_of(v), activation)}; }}});
  return path == "cuda.hand" ? fused_linear(x, w, b, activation) : composite_linear(x, w, b, activation);
}

}  // namespace detail

}  // namespace redes
