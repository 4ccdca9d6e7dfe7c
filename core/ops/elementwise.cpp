// Elementwise front-ends: add, sub, mul, div, neg, exp, log, relu.
#include <cmath>

#include "core/autograd.h"
#include "core/ops.h"
#include "core/ops/dispatch.h"
#include "kernels/params.h"

namespace redes {

namespace {

// Runs the binary kernel on a and b converted to their promoted dtype and
// broadcast to a common shape. Records nothing.
Tensor binary_kernel(BinaryKind kind, const char* op, const Tensor& a, const Tensor& b, double alpha) {
  const DType dtype = promote_types(a.dtype(), b.dtype());
  const Shape shape = broadcast_shapes(a.shape(), b.shape(), op);
  Tensor out = empty(shape, {dtype, a.device()});
  detail::launch(BinaryParams{kind, alpha}, a.device(), dtype,
                 {detail::kernel_arg(out, op), detail::broadcast_arg(a, shape, op),
                  detail::broadcast_arg(b, shape, op)});
  return out;
}

Tensor unary_kernel(UnaryKind kind, const char* op, const Tensor& x) {
  REDES_CHECK(is_floating(x.dtype()) || kind == UnaryKind::Neg || kind == UnaryKind::Relu, op,
              ": expected a floating-point tensor, got ", dtype_name(x.dtype()));
  Tensor out = empty(x.shape(), {x.dtype(), x.device()});
  detail::launch(UnaryParams{kind}, x.device(), x.dtype(), {detail::kernel_arg(out, op), detail::kernel_arg(x, op)});
  return out;
}

// Operands converted to the promoted dtype (conversions are recorded ops, so
// gradients flow back in each input's own dtype).
struct Operands {
  Tensor a;
  Tensor b;
};

Operands prepare(const Tensor& a, const Tensor& b, const char* op) {
  detail::check_defined(a, op, "the first operand");
  detail::check_defined(b, op, "the second operand");
  detail::common_device(op, {&a, &b});
  const DType dtype = promote_types(a.dtype(), b.dtype());
  return {a.to(dtype), b.to(dtype)};
}

}  // namespace

Tensor scalar_like(double value, const Tensor& other) {
  detail::check_defined(other, "scalar operand", "the tensor operand");
  DType dtype = other.dtype();
  if (!is_floating(dtype) && std::trunc(value) != value) dtype = kFloat32;
  return scalar_tensor(value, {dtype, other.device()});
}

Tensor add(const Tensor& a_in, const Tensor& b_in, double alpha) {
  const auto [a, b] = prepare(a_in, b_in, "add");
  Tensor out = binary_kernel(BinaryKind::Add, "add", a, b, alpha);
  if (needs_grad({&a, &b})) {
    record_op("add", out, {&a, &b}, {},
              [sa = a.shape(), sb = b.shape(), alpha](const Tensor& g, const std::vector<Tensor>&) {
                return std::vector<Tensor>{sum_to(g, sa), sum_to(alpha == 1.0 ? g : g * alpha, sb)};
              });
  }
  return out;
}

Tensor sub(const Tensor& a_in, const Tensor& b_in, double alpha) {
  const auto [a, b] = prepare(a_in, b_in, "sub");
  Tensor out = binary_kernel(BinaryKind::Sub, "sub", a, b, alpha);
  if (needs_grad({&a, &b})) {
    record_op("sub", out, {&a, &b}, {},
              [sa = a.shape(), sb = b.shape(), alpha](const Tensor& g, const std::vector<Tensor>&) {
                return std::vector<Tensor>{sum_to(g, sa), sum_to(g * -alpha, sb)};
              });
  }
  return out;
}

Tensor mul(const Tensor& a_in, const Tensor& b_in) {
  const auto [a, b] = prepare(a_in, b_in, "mul");
  Tensor out = binary_kernel(BinaryKind::Mul, "mul", a, b, 1.0);
  if (needs_grad({&a, &b})) {
    const bool grad_a = a.requires_grad(), grad_b = b.requires_grad();
    // Save only what the needed gradients use: dL/da needs b, dL/db needs a.
    record_op("mul", out, {&a, &b}, {grad_b ? a : Tensor(), grad_a ? b : Tensor()},
              [sa = a.shape(), sb = b.shape(), grad_a, grad_b](const Tensor& g, const std::vector<Tensor>& saved) {
                return std::vector<Tensor>{grad_a ? sum_to(g * saved[1], sa) : Tensor(),
                                           grad_b ? sum_to(g * saved[0], sb) : Tensor()};
              });
  }
  return out;
}

Tensor div(const Tensor& a_in, const Tensor& b_in) {
  const auto [a, b] = prepare(a_in, b_in, "div");
  Tensor out = binary_kernel(BinaryKind::Div, "div", a, b, 1.0);
  if (needs_grad({&a, &b})) {
    const bool grad_b = b.requires_grad();
    record_op("div", out, {&a, &b}, {grad_b ? a : Tensor(), b},
              [sa = a.shape(), sb = b.shape(), grad_b](const Tensor& g, const std::vector<Tensor>& saved) {
                const Tensor& divisor = saved[1];
                const Tensor grad_a = g / divisor;
                // d(a/b)/db = -a / b^2 = -(g / b) * a / b
                return std::vector<Tensor>{sum_to(grad_a, sa),
                                           grad_b ? sum_to(-(grad_a * saved[0] / divisor), sb) : Tensor()};
              });
  }
  return out;
}

Tensor neg(const Tensor& x) {
  detail::check_defined(x, "neg", "the input");
  Tensor out = unary_kernel(UnaryKind::Neg, "neg", x);
  if (needs_grad({&x})) {
    record_op("neg", out, {&x}, {}, [](const Tensor& g, const std::vector<Tensor>&) {
      return std::vector<Tensor>{neg(g)};
    });
  }
  return out;
}

Tensor exp(const Tensor& x) {
  detail::check_defined(x, "exp", "the input");
  Tensor out = unary_kernel(UnaryKind::Exp, "exp", x);
  if (needs_grad({&x})) {
    record_op("exp", out, {&x}, {out}, [](const Tensor& g, const std::vector<Tensor>& saved) {
      return std::vector<Tensor>{g * saved[0]};
    });
  }
  return out;
}

Tensor log(const Tensor& x) {
  detail::check_defined(x, "log", "the input");
  Tensor out = unary_kernel(UnaryKind::Log, "log", x);
  if (needs_grad({&x})) {
    record_op("log", out, {&x}, {x}, [](const Tensor& g, const std::vector<Tensor>& saved) {
      return std::vector<Tensor>{g / saved[0]};
    });
  }
  return out;
}

Tensor relu(const Tensor& x) {
  detail::check_defined(x, "relu", "the input");
  Tensor out = unary_kernel(UnaryKind::Relu, "relu", x);
  if (needs_grad({&x})) {
    record_op("relu", out, {&x}, {out}, [](const Tensor& g, const std::vector<Tensor>& saved) {
      return std::vector<Tensor>{binary_kernel(BinaryKind::ReluBackward, "relu backward", g, saved[0], 1.0)};
    });
  }
  return out;
}

}  // namespace redes
