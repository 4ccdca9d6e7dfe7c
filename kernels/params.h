// Plain parameter structs of every op, shared by all backends and the
// front-end checks. Each names its registry key in `op`; the tensor arguments
// a kernel receives are listed next to it (outputs first).
#pragma once

#include <cstdint>

namespace redes {

// args: out. Sets every element to `value` (converted to out's dtype).
struct FillParams {
  static constexpr const char* op = "fill";
  double value = 0.0;
};

// args: out, in — same sizes, any strides, any dtypes (converts to out's dtype).
struct CopyParams {
  static constexpr const char* op = "copy";
};

enum class UnaryKind : std::uint8_t { Neg, Exp, Log, Relu };

// args: out, in — same sizes and dtype; in may be strided.
struct UnaryParams {
  static constexpr const char* op = "unary";
  UnaryKind kind = UnaryKind::Neg;
};

// ReluBackward(grad, output) = grad where output > 0, else 0.
enum class BinaryKind : std::uint8_t { Add, Sub, Mul, Div, ReluBackward };

// args: out, a, b — all with out's sizes and dtype; a and b may be strided,
// with stride 0 on broadcast dims. out = a (kind) b, scaled: for Add/Sub,
// out = a + alpha * b and a - alpha * b.
struct BinaryParams {
  static constexpr const char* op = "binary";
  BinaryKind kind = BinaryKind::Add;
  double alpha = 1.0;
};

// args: out, in — out has in's sizes with 1 on every reduced dim; both may be
// strided. out[j] = sum of in over the reduced dims, accumulated in at least
// float64 for floating types (keeps float32 sums of millions of elements exact
// to float32 rounding).
struct SumParams {
  static constexpr const char* op = "sum";
};

// args: out (m x n, contiguous), a (m x k), b (k x n). a and b each have unit
// stride in one of their two dims (row- or column-major); the front-end makes
// them so. out = a @ b.
struct MatmulParams {
  static constexpr const char* op = "matmul";
  std::int64_t m = 0;
  std::int64_t n = 0;
  std::int64_t k = 0;
};

enum class Distribution : std::uint8_t { Bits, Uniform, Normal, Bernoulli };

// args: out (contiguous). Draws by the Philox contract of kernels/philox.h:
// Bits (uint32 in an int64/int32 tensor), Uniform on [a, b), Normal with mean a
// and std b, Bernoulli with P(1) = a. Counter offset `offset` is the first
// Philox block used.
struct RandomParams {
  static constexpr const char* op = "random";
  Distribution distribution = Distribution::Uniform;
  double a = 0.0;
  double b = 1.0;
  std::uint64_t seed = 0;
  std::uint64_t offset = 0;
};

}  // namespace redes
