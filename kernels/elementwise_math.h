// Per-element math of the unary and binary ops, shared by the CPU and CUDA
// kernels. The op kind is a template argument so each loop compiles to one
// straight-line body.
#pragma once

#include <cmath>

#include "kernels/hd.h"
#include "kernels/params.h"

namespace redes {

template <UnaryKind Kind, class T>
REDES_HD T unary_op(T x) {
  using std::exp;
  using std::log;
  if constexpr (Kind == UnaryKind::Neg) return static_cast<T>(-x);
  if constexpr (Kind == UnaryKind::Exp) return static_cast<T>(exp(x));
  if constexpr (Kind == UnaryKind::Log) return static_cast<T>(log(x));
  if constexpr (Kind == UnaryKind::Relu) return x > T(0) ? x : T(0);
}

template <BinaryKind Kind, class T>
REDES_HD T binary_op(T a, T b, T alpha) {
  if constexpr (Kind == BinaryKind::Add) return static_cast<T>(a + alpha * b);
  if constexpr (Kind == BinaryKind::Sub) return static_cast<T>(a - alpha * b);
  if constexpr (Kind == BinaryKind::Mul) return static_cast<T>(a * b);
  if constexpr (Kind == BinaryKind::Div) return static_cast<T>(a / b);
  if constexpr (Kind == BinaryKind::ReluBackward) return b > T(0) ? a : T(0);
}

// Calls body.template operator()<Kind>() for the runtime kind.
template <class Body>
void dispatch_unary_kind(UnaryKind kind, Body&& body) {
  switch (kind) {
    case UnaryKind::Neg: body.template operator()<UnaryKind::Neg>(); return;
    case UnaryKind::Exp: body.template operator()<UnaryKind::Exp>(); return;
    case UnaryKind::Log: body.template operator()<UnaryKind::Log>(); return;
    case UnaryKind::Relu: body.template operator()<UnaryKind::Relu>(); return;
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
  }
}

}  // namespace redes
