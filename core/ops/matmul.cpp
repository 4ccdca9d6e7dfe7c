// Matrix product front-end (2-D).
#include "core/autograd.h"
#include "core/ops.h"
#include "core/ops/dispatch.h"
#include "kernels/params.h"

namespace redes {

namespace {

// GEMM libraries need a unit stride in one of the two dims.
Tensor gemm_ready(const Tensor& x) {
  const bool row_major = x.stride(1) == 1 || x.size(1) == 1;
  const bool column_major = x.stride(0) == 1 || x.size(0) == 1;
  return row_major || column_major ? x : x.contiguous();
}

}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b) {
  detail::check_defined(a, "matmul", "the first operand");
  detail::check_defined(b, "matmul", "the second operand");
  const Device device = detail::common_device("matmul", {&a, &b});
  REDES_CHECK(a.dim() == 2 && b.dim() == 2, "matmul: expected two 2-D tensors, got shapes ",
              shape_str(a.shape()), " and ", shape_str(b.shape()));
  REDES_CHECK(a.size(1) == b.size(0), "matmul: inner dimensions differ: ", shape_str(a.shape()), " @ ",
              shape_str(b.shape()), " (", a.size(1), " vs ", b.size(0), ")");
  REDES_CHECK(a.dtype() == b.dtype(), "matmul: expected operands of one dtype, got ", dtype_name(a.dtype()),
              " and ", dtype_name(b.dtype()));
  REDES_CHECK(is_floating(a.dtype()), "matmul: expected floating-point operands, got ", dtype_name(a.dtype()));
  const Tensor lhs = gemm_ready(a), rhs = gemm_ready(b);
  Tensor out = empty({a.size(0), b.size(1)}, {a.dtype(), device});
  detail::launch(MatmulParams{a.size(0), b.size(1), a.size(1)}, device, a.dtype(),
                 {detail::kernel_arg(out, "matmul"), detail::kernel_arg(lhs, "matmul"),
                  detail::kernel_arg(rhs, "matmul")});
  if (needs_grad({&a, &b})) {
    const bool grad_a = a.requires_grad(), grad_b = b.requires_grad();
    record_op("matmul", out, {&a, &b}, {grad_b ? a : Tensor(), grad_a ? b : Tensor()},
              [grad_a, grad_b](const Tensor& g, const std::vector<Tensor>& saved) {
                return std::vector<Tensor>{grad_a ? matmul(g, saved[1].t()) : Tensor(),
                                           grad_b ? matmul(saved[0].t(), g) : Tensor()};
              });
  }
  return out;
}

}  // namespace redes
