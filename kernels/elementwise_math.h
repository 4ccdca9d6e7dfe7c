// Per-element math of the unary and binary ops, shared by the CPU and CUDA
// kernels. The op kind is a template argument so each loop compiles to one
// straight-line body.
#pragma once

#include <cmath>

#include "core/low_precision.h"
#include "kernels/hd.h"
#include "kernels/params.h"

namespace redes {

// Kinds that integer tensors support (the rest need floating point).
REDES_HD constexpr bool unary_defined_for_integers(UnaryKind kind) {
  return kind == UnaryKind::Neg || kind == UnaryKind::Relu || kind == UnaryKind::Abs;
}
REDES_HD constexpr bool binary_defined_for_integers(BinaryKind kind) { return kind != BinaryKind::Pow; }

template <UnaryKind Kind, class T>
REDES_HD T unary_op(T x) {
  using std::erf;
  using std::exp;
  using std::log;
  using std::sqrt;
  using std::tanh;
  if constexpr (Kind == UnaryKind::Neg) return static_cast<T>(-x);
  if constexpr (Kind == UnaryKind::Exp) return static_cast<T>(exp(x));
  if constexpr (Kind == UnaryKind::Log) return static_cast<T>(log(x));
  // NaN stays NaN (x != x), as in PyTorch: a ReLU must not hide a diverged value.
  if constexpr (Kind == UnaryKind::Relu) return (x > T(0) || x != x) ? x : T(0);
  if constexpr (Kind == UnaryKind::Sqrt) return static_cast<T>(sqrt(x));
  if constexpr (Kind == UnaryKind::Abs) return x < T(0) ? static_cast<T>(-x) : x;
  // 1 / (1 + e^-x) overflows harmlessly to 0 for very negative x.
  if constexpr (Kind == UnaryKind::Sigmoid) return static_cast<T>(T(1) / (T(1) + exp(-x)));
  if constexpr (Kind == UnaryKind::Tanh) return static_cast<T>(tanh(x));
  if constexpr (Kind == UnaryKind::Erf) return static_cast<T>(erf(x));
}

template <BinaryKind Kind, class T>
REDES_HD T binary_op(T a, T b, T alpha) {
  using std::pow;
  if constexpr (Kind == BinaryKind::Add) return static_cast<T>(a + alpha * b);
  if constexpr (Kind == BinaryKind::Sub) return static_cast<T>(a - alpha * b);
  if constexpr (Kind == BinaryKind::Mul) return static_cast<T>(a * b);
  if constexpr (Kind == BinaryKind::Div) return static_cast<T>(a / b);
  if constexpr (Kind == BinaryKind::ReluBackward) return b > T(0) ? a : T(0);
  // The composite's order of operations: (g * s) * (1 - s), g * (1 - t * t).
  if constexpr (Kind == BinaryKind::SigmoidBackward) return static_cast<T>(static_cast<T>(a * b) * static_cast<T>(T(1) - b));
  if constexpr (Kind == BinaryKind::TanhBackward) return static_cast<T>(a * static_cast<T>(T(1) - static_cast<T>(b * b)));
  if constexpr (Kind == BinaryKind::Pow) return static_cast<T>(pow(a, b));
  // a != a is true only for NaN: NaN wins so it is never silently dropped.
  if constexpr (Kind == BinaryKind::Maximum) return (a != a || a > b) ? a : b;
  if constexpr (Kind == BinaryKind::Minimum) return (a != a || a < b) ? a : b;
}

template <CompareKind Kind, class T>
REDES_HD bool compare_op(T a, T b) {
  if constexpr (Kind == CompareKind::Eq) return a == b;
  if constexpr (Kind == CompareKind::Ne) return a != b;
  if constexpr (Kind == CompareKind::Lt) return a < b;
  if constexpr (Kind == CompareKind::Le) return a <= b;
  if constexpr (Kind == CompareKind::Gt) return a > b;
  if constexpr (Kind == CompareKind::Ge) return a >= b;
  if constexpr (Kind == CompareKind::LogicalAnd) return a != T(0) && b != T(0);
  if constexpr (Kind == CompareKind::LogicalOr) return a != T(0) || b != T(0);
}

// The ops on elements of a tensor's type T. The 16-bit types compute in
// float32 and round once (core/low_precision.h); numbers that are not tensor
// elements (alpha, a scalar operand) come in that compute type.
template <UnaryKind Kind, class T>
REDES_HD T unary_element(T x) {
  return static_cast<T>(unary_op<Kind>(static_cast<compute_type_t<T>>(x)));
}

// A fused kernel's activation: the unary op's own math, so fused and
// composite results agree.
template <Activation A, class T>
REDES_HD T activate(T x) {
  if constexpr (A == Activation::Relu) return unary_element<UnaryKind::Relu>(x);
  if constexpr (A == Activation::Sigmoid) return unary_element<UnaryKind::Sigmoid>(x);
  if constexpr (A == Activation::Tanh) return unary_element<UnaryKind::Tanh>(x);
  if constexpr (A == Activation::None) return x;
}

// Calls body.template operator()<A>() for the activation `a`.
template <class Body>
void visit_activation(Activation a, Body&& body) {
  switch (a) {
    case Activation::None: body.template operator()<Activation::None>(); return;
    case Activation::Relu: body.template operator()<Activation::Relu>(); return;
    case Activation::Sigmoid: body.template operator()<Activation::Sigmoid>(); return;
    case Activation::Tanh: body.template operator()<Activation::Tanh>(); return;
  }
}

template <BinaryKind Kind, class T>
REDES_HD T binary_element(T a, compute_type_t<T> b, compute_type_t<T> alpha) {
  return static_cast<T>(binary_op<Kind>(static_cast<compute_type_t<T>>(a), b, alpha));
}

template <CompareKind Kind, class T>
REDES_HD bool compare_element(T a, T b) {
  return compare_op<Kind>(static_cast<compute_type_t<T>>(a), static_cast<compute_type_t<T>>(b));
}

// Calls body.template operator()<Kind>() for the runtime kind.
template <class Body>
void dispatch_unary_kind(UnaryKind kind, Body&& body) {
  switch (kind) {
    case UnaryKind::Neg: body.template operator()<UnaryKind::Neg>(); return;
    case UnaryKind::Exp: body.template operator()<UnaryKind::Exp>(); return;
    case UnaryKind::Log: body.template operator()<UnaryKind::Log>(); return;
    case UnaryKind::Relu: body.template operator()<UnaryKind::Relu>(); return;
    case UnaryKind::Sqrt: body.template operator()<UnaryKind::Sqrt>(); return;
    case UnaryKind::Abs: body.template operator()<UnaryKind::Abs>(); return;
    case UnaryKind::Sigmoid: body.template operator()<UnaryKind::Sigmoid>(); return;
    case UnaryKind::Tanh: body.template operator()<UnaryKind::Tanh>(); return;
    case UnaryKind::Erf: body.template operator()<UnaryKind::Erf>(); return;
  }
}

template <class Body>
void dispatch_binary_kind(BinaryKind kind, Body&& body) {
  switch (kind) {
    case BinaryKind::Add: body.template operator()<BinaryKind::Add>(); return;
    case BinaryKind::Sub: body.template operator()<BinaryKind::Sub>(); return;
    case BinaryKind::Mul: body.template operator()<BinaryKind::Mul>(); return;
    case BinaryKind::Div: body.template operator()<BinaryKind::Div>(); return;
    case BinaryKind::ReluBackward: body.template operator()<BinaryKind::ReluBackward>(); return;
    case BinaryKind::SigmoidBackward: body.template operator()<BinaryKind::SigmoidBackward>(); return;
    case BinaryKind::TanhBackward: body.template operator()<BinaryKind::TanhBackward>(); return;
    case BinaryKind::Pow: body.template operator()<BinaryKind::Pow>(); return;
    case BinaryKind::Maximum: body.template operator()<BinaryKind::Maximum>(); return;
    case BinaryKind::Minimum: body.template operator()<BinaryKind::Minimum>(); return;
  }
}

template <class Body>
void dispatch_compare_kind(CompareKind kind, Body&& body) {
  switch (kind) {
    case CompareKind::Eq: body.template operator()<CompareKind::Eq>(); return;
    case CompareKind::Ne: body.template operator()<CompareKind::Ne>(); return;
    case CompareKind::Lt: body.template operator()<CompareKind::Lt>(); return;
    case CompareKind::Le: body.template operator()<CompareKind::Le>(); return;
    case CompareKind::Gt: body.template operator()<CompareKind::Gt>(); return;
    case CompareKind::Ge: body.template operator()<CompareKind::Ge>(); return;
    case CompareKind::LogicalAnd: body.template operator()<CompareKind::LogicalAnd>(); return;
    case CompareKind::LogicalOr: body.template operator()<CompareKind::LogicalOr>(); return;
  }
}

}  // namespace redes
