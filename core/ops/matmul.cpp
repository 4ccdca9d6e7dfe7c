// Matrix products: matmul (NumPy semantics, batched, broadcast) and addmm.
#include "core/autocast.h"
#include "core/autograd.h"
#include "core/ops.h"
#include "core/ops/dispatch.h"
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
    Tensor out3 = out.view({count, m, n});
    if (count > 0) run_gemm(out3, a.expand(a_full).reshape({count, m, k}), b.expand(b_full).reshape({count, k, n}), false, "matmul");
  }
  if (needs_grad({&a, &b})) {
    const bool grad_a = a.requires_grad(), grad_b = b.requires_grad();
    record_op("matmul", out, {&a, &b}, {grad_b ? a : Tensor(), grad_a ? b : Tensor()},
              [grad_a, grad_b, sa = a.shape(), sb = b.shape()](const Tensor& g, const std::vector<Tensor>& saved) {
                return std::vector<Tensor>{
                    grad_a ? sum_to(matmul(g, saved[1].transpose(-2, -1)), sa) : Tensor(),
                    grad_b ? sum_to(matmul(saved[0].transpose(-2, -1), g), sb) : Tensor()};
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
    Tensor out3 = out.unsqueeze(0);
    run_gemm(out3, a.unsqueeze(0), b.unsqueeze(0), true, "addmm");
  }
  if (needs_grad({&bias, &a, &b})) {
    const bool grad_a = a.requires_grad(), grad_b = b.requires_grad();
    record_op("addmm", out, {&bias, &a, &b}, {grad_b ? a : Tensor(), grad_a ? b : Tensor()},
              [grad_a, grad_b, sbias = bias.shape()](const Tensor& g, const std::vector<Tensor>& saved) {
                return std::vector<Tensor>{sum_to(g, sbias), grad_a ? matmul(g, saved[1].t()) : Tensor(),
                                           grad_b ? matmul(saved[0].t(), g) : Tensor()};
              });
  }
  return out;
}

}  // namespace redes
