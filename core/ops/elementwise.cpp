// Elementwise front-ends: add, sub, mul, div, neg, exp, log, relu.
#include <cmath>
#include <limits>

#include "core/autograd.h"
#include "core/ops.h"
#include "core/ops/activation_backward.h"
#include "core/ops/dispatch.h"
#include "kernels/elementwise_math.h"

namespace redes {

namespace {

// Runs the binary kernel on a and b converted to their promoted dtype and
// broadcast to a common shape. Records nothing.
Tensor binary_kernel(BinaryKind kind, const char* op, const Tensor& a, const Tensor& b, double alpha) {
  const DType dtype = result_type(a, b);
  const Shape shape = broadcast_shapes(a.shape(), b.shape(), op);
  Tensor out = empty(shape, {dtype, a.device()});
  detail::launch(BinaryParams{kind, alpha}, a.device(), dtype,
                 {detail::kernel_arg(out, op), detail::broadcast_arg(a.to(dtype), shape, op),
                  detail::broadcast_arg(b.to(dtype), shape, op)});
  return out;
}

Tensor unary_kernel(UnaryKind kind, const char* op, const Tensor& x) {
  detail::check_defined(x, op, "the input");
  REDES_CHECK(is_floating(x.dtype()) || unary_defined_for_integers(kind), op,
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

// `floating`: the op divides, so integer operands compute in float32 (true
// division, as PyTorch's `/`).
Operands prepare(const Tensor& a, const Tensor& b, const char* op, bool floating = false) {
  detail::check_defined(a, op, "the first operand");
  detail::check_defined(b, op, "the second operand");
  detail::common_device(op, {&a, &b});
  DType dtype = result_type(a, b);
  if (floating && !is_floating(dtype)) dtype = kFloat32;
  return {a.to(dtype), b.to(dtype)};
}

}  // namespace

Tensor scalar_like(double value, const Tensor& other) {
  detail::check_defined(other, "scalar operand", "the tensor operand");
  DType dtype = other.dtype();
  if (!is_floating(dtype) && std::trunc(value) != value) dtype = kFloat32;
  return scalar_tensor(value, {dtype, other.device()});
}

DType result_type(const Tensor& a, const Tensor& b) {
  const bool a_scalar = a.dim() == 0, b_scalar = b.dim() == 0;
  if (a_scalar == b_scalar) return promote_types(a.dtype(), b.dtype());
  const Tensor& dimensioned = a_scalar ? b : a;
  const Tensor& zero_dim = a_scalar ? a : b;
  return can_cast(zero_dim.dtype(), dimensioned.dtype()) ? dimensioned.dtype() : zero_dim.dtype();
}

Tensor scalar_operand(double value, const Tensor& other) {
  detail::check_defined(other, "scalar operand", "the tensor operand");
  return scalar_tensor(value, {is_floating(other.dtype()) ? other.dtype() : kFloat32, other.device()});
}

Tensor scalar_operand(std::int64_t value, const Tensor& other) {
  detail::check_defined(other, "scalar operand", "the tensor operand");
  const DType dtype = other.dtype() == kBool ? kInt64 : other.dtype();
  // Integer tensors hold the value exactly: scalar_tensor takes a double.
  if (is_floating(dtype)) return scalar_tensor(static_cast<double>(value), {dtype, other.device()});
  return from_vector(std::vector<std::int64_t>{value}, {}, {dtype, other.device()});
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

namespace {

// Whether `a` takes the scalar-parameter kernel (else the tensor form).
bool scalar_applies(const Tensor& a, const char* op) {
  detail::check_defined(a, op, "the tensor operand");
  return is_floating(a.dtype());
}

// a (kind) b for a floating-point a and the number b, passed to the kernel
// as a parameter. `gradient` gives a's gradient from the output's and b
// (null: the output's gradient itself).
Tensor scalar_op(BinaryKind kind, const char* op, const Tensor& a, double b,
                 Tensor (*gradient)(const Tensor& g, double b)) {
  Tensor out = empty(a.shape(), {a.dtype(), a.device()});
  BinaryParams params{kind, 1.0};
  params.scalar_b = true;
  params.b = b;
  detail::launch(params, a.device(), a.dtype(), {detail::kernel_arg(out, op), detail::kernel_arg(a, op)});
  if (needs_grad({&a})) {
    record_op(op, out, {&a}, {}, [b, gradient](const Tensor& g, const std::vector<Tensor>&) {
      return std::vector<Tensor>{gradient != nullptr ? gradient(g, b) : g};
    });
  }
  return out;
}

}  // namespace

Tensor add_scalar(const Tensor& a, double b) {
  if (!scalar_applies(a, "add")) return add(a, scalar_operand(b, a));
  return scalar_op(BinaryKind::Add, "add", a, b, nullptr);
}

Tensor sub_scalar(const Tensor& a, double b) {
  if (!scalar_applies(a, "sub")) return sub(a, scalar_operand(b, a));
  return scalar_op(BinaryKind::Sub, "sub", a, b, nullptr);
}

Tensor mul_scalar(const Tensor& a, double b) {
  if (!scalar_applies(a, "mul")) return mul(a, scalar_operand(b, a));
  return scalar_op(BinaryKind::Mul, "mul", a, b, &mul_scalar);
}

Tensor div_scalar(const Tensor& a, double b) {
  if (!scalar_applies(a, "div")) return div(a, scalar_operand(b, a));
  return scalar_op(BinaryKind::Div, "div", a, b, &div_scalar);
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
  const auto [a, b] = prepare(a_in, b_in, "div", /*floating=*/true);
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
  Tensor out = unary_kernel(UnaryKind::Neg, "neg", x);
  if (needs_grad({&x})) {
    record_op("neg", out, {&x}, {}, [](const Tensor& g, const std::vector<Tensor>&) {
      return std::vector<Tensor>{neg(g)};
    });
  }
  return out;
}

Tensor exp(const Tensor& x) {
  Tensor out = unary_kernel(UnaryKind::Exp, "exp", x);
  if (needs_grad({&x})) {
    record_op("exp", out, {&x}, {out}, [](const Tensor& g, const std::vector<Tensor>& saved) {
      return std::vector<Tensor>{g * saved[0]};
    });
  }
  return out;
}

Tensor log(const Tensor& x) {
  Tensor out = unary_kernel(UnaryKind::Log, "log", x);
  if (needs_grad({&x})) {
    record_op("log", out, {&x}, {x}, [](const Tensor& g, const std::vector<Tensor>& saved) {
      return std::vector<Tensor>{g / saved[0]};
    });
  }
  return out;
}

namespace detail {

// g where relu's output is positive, else 0: linear in g, so its own
// gradient (for create_graph) is the same masking; the mask has none.
Tensor relu_backward(const Tensor& g, const Tensor& out) {
  Tensor grad = binary_kernel(BinaryKind::ReluBackward, "relu backward", g, out, 1.0);
  if (needs_grad({&g})) {
    record_op("relu backward", grad, {&g}, {out}, [](const Tensor& gg, const std::vector<Tensor>& saved) {
      return std::vector<Tensor>{relu_backward(gg, saved[0])};
    });
  }
  return grad;
}

}  // namespace detail

Tensor relu(const Tensor& x) {
  Tensor out = unary_kernel(UnaryKind::Relu, "relu", x);
  if (needs_grad({&x})) {
    record_op("relu", out, {&x}, {out}, [](const Tensor& g, const std::vector<Tensor>& saved) {
      return std::vector<Tensor>{detail::relu_backward(g, saved[0].detach())};
    });
  }
  return out;
}

Tensor sqrt(const Tensor& x) {
  Tensor out = unary_kernel(UnaryKind::Sqrt, "sqrt", x);
  if (needs_grad({&x})) {
    record_op("sqrt", out, {&x}, {out}, [](const Tensor& g, const std::vector<Tensor>& saved) {
      return std::vector<Tensor>{g / (saved[0] * 2.0)};
    });
  }
  return out;
}

Tensor abs(const Tensor& x) {
  Tensor out = unary_kernel(UnaryKind::Abs, "abs", x);
  if (needs_grad({&x})) {
    record_op("abs", out, {&x}, {x}, [](const Tensor& g, const std::vector<Tensor>& saved) {
      // sign(x), with 0 at 0 (the subgradient PyTorch also picks).
      const Tensor sign = gt(saved[0], zeros_like(saved[0])).to(g.dtype()) - lt(saved[0], zeros_like(saved[0])).to(g.dtype());
      return std::vector<Tensor>{g * sign};
    });
  }
  return out;
}

namespace detail {

// g * s * (1 - s) for sigmoid's output s, in one kernel. Differentiable in
// both (create_graph): d/dg = s (1 - s), d/ds = g (1 - 2 s).
Tensor sigmoid_backward(const Tensor& g, const Tensor& s) {
  Tensor grad = binary_kernel(BinaryKind::SigmoidBackward, "sigmoid backward", g, s, 1.0);
  if (needs_grad({&g, &s})) {
    record_op("sigmoid backward", grad, {&g, &s}, {g, s}, [](const Tensor& gg, const std::vector<Tensor>& saved) {
      return std::vector<Tensor>{sigmoid_backward(gg, saved[1]), gg * saved[0] * (1.0 - saved[1] * 2.0)};
    });
  }
  return grad;
}

// g * (1 - t * t) for tanh's output t, in one kernel: d/dg = 1 - t^2, d/dt = -2 g t.
Tensor tanh_backward(const Tensor& g, const Tensor& t) {
  Tensor grad = binary_kernel(BinaryKind::TanhBackward, "tanh backward", g, t, 1.0);
  if (needs_grad({&g, &t})) {
    record_op("tanh backward", grad, {&g, &t}, {g, t}, [](const Tensor& gg, const std::vector<Tensor>& saved) {
      return std::vector<Tensor>{tanh_backward(gg, saved[1]), gg * saved[0] * saved[1] * -2.0};
    });
  }
  return grad;
}

}  // namespace detail

Tensor sigmoid(const Tensor& x) {
  Tensor out = unary_kernel(UnaryKind::Sigmoid, "sigmoid", x);
  if (needs_grad({&x})) {
    record_op("sigmoid", out, {&x}, {out}, [](const Tensor& g, const std::vector<Tensor>& saved) {
      return std::vector<Tensor>{detail::sigmoid_backward(g, saved[0])};
    });
  }
  return out;
}

Tensor tanh(const Tensor& x) {
  Tensor out = unary_kernel(UnaryKind::Tanh, "tanh", x);
  if (needs_grad({&x})) {
    record_op("tanh", out, {&x}, {out}, [](const Tensor& g, const std::vector<Tensor>& saved) {
      return std::vector<Tensor>{detail::tanh_backward(g, saved[0])};
    });
  }
  return out;
}

Tensor erf(const Tensor& x) {
  Tensor out = unary_kernel(UnaryKind::Erf, "erf", x);
  if (needs_grad({&x})) {
    record_op("erf", out, {&x}, {x}, [](const Tensor& g, const std::vector<Tensor>& saved) {
      // d erf(x) / dx = 2 / sqrt(pi) * exp(-x^2)
      return std::vector<Tensor>{g * exp(-(saved[0] * saved[0])) * 1.1283791670955126};
    });
  }
  return out;
}

// Composites: their gradients come from the ops they are made of.
Tensor gelu(const Tensor& x, GeluApproximation approximate) {
  if (approximate == GeluApproximation::Tanh) {
    const Tensor inner = (x + x * x * x * 0.044715) * 0.7978845608028654;  // sqrt(2 / pi)
    return x * 0.5 * (tanh(inner) + 1.0);
  }
  return x * 0.5 * (erf(x * 0.7071067811865476) + 1.0);  // 1 / sqrt(2)
}

Tensor silu(const Tensor& x) { return x * sigmoid(x); }

Tensor leaky_relu(const Tensor& x, double negative_slope) {
  detail::check_defined(x, "leaky_relu", "the input");
  REDES_CHECK(is_floating(x.dtype()), "leaky_relu: expected a floating-point tensor, got ", dtype_name(x.dtype()));
  // where() takes the second branch for NaN, and NaN * slope stays NaN.
  return where(x > 0.0, x, x * negative_slope);
}

Tensor pow(const Tensor& base, double exponent) {
  detail::check_defined(base, "pow", "the base");
  REDES_CHECK(is_floating(base.dtype()), "pow: expected a floating-point base, got ", dtype_name(base.dtype()));
  Tensor out = binary_kernel(BinaryKind::Pow, "pow", base, scalar_like(exponent, base), 1.0);
  if (needs_grad({&base})) {
    record_op("pow", out, {&base}, {base}, [exponent](const Tensor& g, const std::vector<Tensor>& saved) {
      if (exponent == 0.0) return std::vector<Tensor>{zeros_like(g)};
      return std::vector<Tensor>{g * pow(saved[0], exponent - 1.0) * exponent};
    });
  }
  return out;
}

Tensor pow(const Tensor& base_in, const Tensor& exponent_in) {
  const auto [base, exponent] = prepare(base_in, exponent_in, "pow");
  REDES_CHECK(is_floating(base.dtype()), "pow: expected floating-point operands, got ", dtype_name(base.dtype()));
  Tensor out = binary_kernel(BinaryKind::Pow, "pow", base, exponent, 1.0);
  if (needs_grad({&base, &exponent})) {
    const bool grad_exponent = exponent.requires_grad();
    record_op("pow", out, {&base, &exponent}, {base, exponent, grad_exponent ? out : Tensor()},
              [sb = base.shape(), se = exponent.shape(), grad_exponent](const Tensor& g,
                                                                        const std::vector<Tensor>& saved) {
                // d(b^e)/db = e b^(e-1); d(b^e)/de = b^e ln b.
                const Tensor grad_base = g * saved[1] * pow(saved[0], saved[1] - 1.0);
                return std::vector<Tensor>{sum_to(grad_base, sb),
                                           grad_exponent ? sum_to(g * saved[2] * log(saved[0]), se) : Tensor()};
              });
  }
  return out;
}

namespace {

// maximum/minimum: the gradient goes to the winner, split evenly at ties.
Tensor extreme(BinaryKind kind, const char* op, const Tensor& a_in, const Tensor& b_in) {
  const auto [a, b] = prepare(a_in, b_in, op);
  Tensor out = binary_kernel(kind, op, a, b, 1.0);
  if (needs_grad({&a, &b})) {
    const bool is_max = kind == BinaryKind::Maximum;
    record_op(op, out, {&a, &b}, {a, b},
              [sa = a.shape(), sb = b.shape(), is_max](const Tensor& g, const std::vector<Tensor>& saved) {
                const Tensor wins = (is_max ? gt(saved[0], saved[1]) : lt(saved[0], saved[1])).to(g.dtype());
                const Tensor ties = eq(saved[0], saved[1]).to(g.dtype());
                const Tensor share_a = wins + ties * 0.5;
                return std::vector<Tensor>{sum_to(g * share_a, sa), sum_to(g * (1.0 - share_a), sb)};
              });
  }
  return out;
}

}  // namespace

Tensor maximum(const Tensor& a, const Tensor& b) { return extreme(BinaryKind::Maximum, "maximum", a, b); }
Tensor minimum(const Tensor& a, const Tensor& b) { return extreme(BinaryKind::Minimum, "minimum", a, b); }

Tensor clamp(const Tensor& x, std::optional<double> low, std::optional<double> high) {
  detail::check_defined(x, "clamp", "the input");
  REDES_CHECK(!low || !high || *low <= *high, "clamp: expected low <= high, got [", *low, ", ", *high, "]");
  Tensor out = x;
  {
    NoGradGuard no_grad;
    if (low) out = binary_kernel(BinaryKind::Maximum, "clamp", out, scalar_like(*low, x), 1.0);
    if (high) out = binary_kernel(BinaryKind::Minimum, "clamp", out, scalar_like(*high, x), 1.0);
    if (!low && !high) out = x.clone();
  }
  if (needs_grad({&x})) {
    const double lo = low.value_or(-std::numeric_limits<double>::infinity());
    const double hi = high.value_or(std::numeric_limits<double>::infinity());
    record_op("clamp", out, {&x}, {x}, [lo, hi](const Tensor& g, const std::vector<Tensor>& saved) {
      const Tensor inside = logical_and(saved[0] >= lo, saved[0] <= hi);
      return std::vector<Tensor>{g * inside.to(g.dtype())};
    });
  }
  return out;
}

}  // namespace redes
