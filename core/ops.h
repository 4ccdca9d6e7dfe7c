// The op front-ends: each checks its arguments, allocates the output, runs
// the kernel the registry selects for the device and dtype, and records its
// backward rule when autograd needs it.
#pragma once

#include <cstdint>
#include <vector>

#include "core/export.h"
#include "core/tensor.h"

namespace redes {

// Elementwise arithmetic with NumPy broadcasting and type promotion.
REDES_API Tensor add(const Tensor& a, const Tensor& b, double alpha = 1.0);  // a + alpha * b
REDES_API Tensor sub(const Tensor& a, const Tensor& b, double alpha = 1.0);  // a - alpha * b
REDES_API Tensor mul(const Tensor& a, const Tensor& b);
REDES_API Tensor div(const Tensor& a, const Tensor& b);
REDES_API Tensor neg(const Tensor& x);
REDES_API Tensor exp(const Tensor& x);
REDES_API Tensor log(const Tensor& x);
REDES_API Tensor relu(const Tensor& x);

// Reductions. An empty `dims` means all dims.
REDES_API Tensor sum(const Tensor& x);
REDES_API Tensor sum(const Tensor& x, const std::vector<std::int64_t>& dims, bool keepdim = false);
REDES_API Tensor mean(const Tensor& x);
REDES_API Tensor mean(const Tensor& x, const std::vector<std::int64_t>& dims, bool keepdim = false);
// Sums `x` down to `shape` (the reverse of broadcasting `shape` up to x's shape).
REDES_API Tensor sum_to(const Tensor& x, const Shape& shape);

// Matrix product of two 2-D tensors.
REDES_API Tensor matmul(const Tensor& a, const Tensor& b);

// A scalar operand becomes a 0-d tensor of the other operand's dtype (float32
// when that is an integer type and the scalar is not a whole number).
REDES_API Tensor scalar_like(double value, const Tensor& other);

inline Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
inline Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
inline Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
inline Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
inline Tensor operator-(const Tensor& x) { return neg(x); }
inline Tensor operator+(const Tensor& a, double b) { return add(a, scalar_like(b, a)); }
inline Tensor operator-(const Tensor& a, double b) { return sub(a, scalar_like(b, a)); }
inline Tensor operator*(const Tensor& a, double b) { return mul(a, scalar_like(b, a)); }
inline Tensor operator/(const Tensor& a, double b) { return div(a, scalar_like(b, a)); }
inline Tensor operator+(double a, const Tensor& b) { return add(scalar_like(a, b), b); }
inline Tensor operator-(double a, const Tensor& b) { return sub(scalar_like(a, b), b); }
inline Tensor operator*(double a, const Tensor& b) { return mul(scalar_like(a, b), b); }
inline Tensor operator/(double a, const Tensor& b) { return div(scalar_like(a, b), b); }

}  // namespace redes
