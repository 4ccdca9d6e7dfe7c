// Comparisons, logic and selection: eq..ge, logical_and/or/not, where, masked_fill.
#include "core/autograd.h"
#include "core/ops.h"
#include "core/ops/dispatch.h"
#include "kernels/params.h"

namespace redes {

namespace {

Tensor compare(CompareKind kind, const char* op, const Tensor& a_in, const Tensor& b_in) {
  detail::check_defined(a_in, op, "the first operand");
  detail::check_defined(b_in, op, "the second operand");
  const Device device = detail::common_device(op, {&a_in, &b_in});
  const DType dtype = result_type(a_in, b_in);
  NoGradGuard no_grad;  // comparisons have no gradient
  const Tensor a = a_in.to(dtype), b = b_in.to(dtype);
  const Shape shape = broadcast_shapes(a.shape(), b.shape(), op);
  Tensor out = empty(shape, {kBool, device});
  detail::launch(CompareParams{kind}, device, dtype,
                 {detail::kernel_arg(out, op), detail::broadcast_arg(a, shape, op), detail::broadcast_arg(b, shape, op)});
  return out;
}

}  // namespace

Tensor eq(const Tensor& a, const Tensor& b) { return compare(CompareKind::Eq, "eq", a, b); }
Tensor ne(const Tensor& a, const Tensor& b) { return compare(CompareKind::Ne, "ne", a, b); }
Tensor lt(const Tensor& a, const Tensor& b) { return compare(CompareKind::Lt, "lt", a, b); }
Tensor le(const Tensor& a, const Tensor& b) { return compare(CompareKind::Le, "le", a, b); }
Tensor gt(const Tensor& a, const Tensor& b) { return compare(CompareKind::Gt, "gt", a, b); }
Tensor ge(const Tensor& a, const Tensor& b) { return compare(CompareKind::Ge, "ge", a, b); }
Tensor logical_and(const Tensor& a, const Tensor& b) { return compare(CompareKind::LogicalAnd, "logical_and", a, b); }
Tensor logical_or(const Tensor& a, const Tensor& b) { return compare(CompareKind::LogicalOr, "logical_or", a, b); }

Tensor logical_not(const Tensor& x) {
  detail::check_defined(x, "logical_not", "the input");
  return compare(CompareKind::Eq, "logical_not", x, zeros({}, {x.dtype(), x.device()}));
}

Tensor where(const Tensor& condition, const Tensor& a_in, const Tensor& b_in) {
  detail::check_defined(condition, "where", "the condition");
  detail::check_defined(a_in, "where", "the first choice");
  detail::check_defined(b_in, "where", "the second choice");
  const Device device = detail::common_device("where", {&condition, &a_in, &b_in});
  REDES_CHECK(condition.dtype() == kBool, "where: expected a bool condition, got ", dtype_name(condition.dtype()),
              " (compare first, e.g. x > 0)");
  const DType dtype = result_type(a_in, b_in);
  const Tensor a = a_in.to(dtype), b = b_in.to(dtype);
  const Shape shape = broadcast_shapes(broadcast_shapes(condition.shape(), a.shape(), "where"), b.shape(), "where");
  Tensor out = empty(shape, {dtype, device});
  detail::launch(WhereParams{}, device, dtype,
                 {detail::kernel_arg(out, "where"), detail::broadcast_arg(condition, shape, "where"),
                  detail::broadcast_arg(a, shape, "where"), detail::broadcast_arg(b, shape, "where")});
  if (needs_grad({&a, &b})) {
    record_op("where", out, {&a, &b}, {condition},
              [sa = a.shape(), sb = b.shape()](const Tensor& g, const std::vector<Tensor>& saved) {
                const Tensor zero = zeros({}, {g.dtype(), g.device()});
                return std::vector<Tensor>{sum_to(where(saved[0], g, zero), sa), sum_to(where(saved[0], zero, g), sb)};
              });
  }
  return out;
}

Tensor masked_fill(const Tensor& x, const Tensor& mask, double value) {
  detail::check_defined(x, "masked_fill", "the input");
  return where(mask, scalar_like(value, x).to(x.dtype()), x);
}

}  // namespace redes
