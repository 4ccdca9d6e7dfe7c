// The op front-ends: each checks its arguments, allocates the output, runs
// the kernel the registry selects for the device and dtype, and records its
// backward rule when autograd needs it.
#pragma once

#include <array>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <type_traits>
#include <vector>

#include "core/export.h"
#include "core/tensor.h"

namespace redes {

// Elementwise arithmetic with NumPy broadcasting and type promotion.
REDES_API Tensor add(const Tensor& a, const Tensor& b, double alpha = 1.0);  // a + alpha * b
REDES_API Tensor sub(const Tensor& a, const Tensor& b, double alpha = 1.0);  // a - alpha * b
REDES_API Tensor mul(const Tensor& a, const Tensor& b);
REDES_API Tensor div(const Tensor& a, const Tensor& b);
// a (op) a number, the number handed to the kernel as a parameter: for a
// floating-point `a` no 0-d tensor is made and filled; other dtypes take
// the tensor form with scalar_operand(b, a). The Tensor-number operators
// below call these.
REDES_API Tensor add_scalar(const Tensor& a, double b);
REDES_API Tensor sub_scalar(const Tensor& a, double b);
REDES_API Tensor mul_scalar(const Tensor& a, double b);
REDES_API Tensor div_scalar(const Tensor& a, double b);
REDES_API Tensor neg(const Tensor& x);
REDES_API Tensor exp(const Tensor& x);
REDES_API Tensor log(const Tensor& x);
REDES_API Tensor relu(const Tensor& x);
REDES_API Tensor sqrt(const Tensor& x);
REDES_API Tensor abs(const Tensor& x);
REDES_API Tensor sigmoid(const Tensor& x);
REDES_API Tensor tanh(const Tensor& x);
REDES_API Tensor erf(const Tensor& x);
// The activations of modern networks, as in PyTorch. GELU is x * Phi(x)
// (Phi: the standard normal CDF, through erf), or with Tanh its tanh
// approximation 0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3))).
enum class GeluApproximation { None, Tanh };
REDES_API Tensor gelu(const Tensor& x, GeluApproximation approximate = GeluApproximation::None);
REDES_API Tensor silu(const Tensor& x);  // x * sigmoid(x)
// x for x > 0, else negative_slope * x (NaN stays NaN).
REDES_API Tensor leaky_relu(const Tensor& x, double negative_slope = 0.01);
REDES_API Tensor pow(const Tensor& base, double exponent);
REDES_API Tensor pow(const Tensor& base, const Tensor& exponent);
// Elementwise larger/smaller of two tensors; NaN propagates; at ties the
// gradient is split evenly between the inputs.
REDES_API Tensor maximum(const Tensor& a, const Tensor& b);
REDES_API Tensor minimum(const Tensor& a, const Tensor& b);
// Limits x to [low, high]; either bound may be omitted. The gradient passes
// where low <= x <= high.
REDES_API Tensor clamp(const Tensor& x, std::optional<double> low, std::optional<double> high);

// Comparisons and logic, giving bool tensors (not differentiable).
REDES_API Tensor eq(const Tensor& a, const Tensor& b);
REDES_API Tensor ne(const Tensor& a, const Tensor& b);
REDES_API Tensor lt(const Tensor& a, const Tensor& b);
REDES_API Tensor le(const Tensor& a, const Tensor& b);
REDES_API Tensor gt(const Tensor& a, const Tensor& b);
REDES_API Tensor ge(const Tensor& a, const Tensor& b);
REDES_API Tensor logical_and(const Tensor& a, const Tensor& b);
REDES_API Tensor logical_or(const Tensor& a, const Tensor& b);
REDES_API Tensor logical_not(const Tensor& x);
// condition ? a : b elementwise, with broadcasting; differentiable in a and b.
REDES_API Tensor where(const Tensor& condition, const Tensor& a, const Tensor& b);
// x with `value` wherever mask is true.
REDES_API Tensor masked_fill(const Tensor& x, const Tensor& mask, double value);

// Reductions. An empty `dims` means all dims.
REDES_API Tensor sum(const Tensor& x);
REDES_API Tensor sum(const Tensor& x, const std::vector<std::int64_t>& dims, bool keepdim = false);
REDES_API Tensor mean(const Tensor& x);
REDES_API Tensor mean(const Tensor& x, const std::vector<std::int64_t>& dims, bool keepdim = false);
// Sums `x` down to `shape` (the reverse of broadcasting `shape` up to x's shape).
REDES_API Tensor sum_to(const Tensor& x, const Shape& shape);

struct ValuesIndices {
  Tensor values;
  Tensor indices;  // int64, the first position of each extreme
};
// Largest/smallest element of all of x (0-d), or along `dim` with indices.
// NaN counts as the extreme.
REDES_API Tensor max(const Tensor& x);
REDES_API Tensor min(const Tensor& x);
REDES_API ValuesIndices max(const Tensor& x, std::int64_t dim, bool keepdim = false);
REDES_API ValuesIndices min(const Tensor& x, std::int64_t dim, bool keepdim = false);
REDES_API Tensor argmax(const Tensor& x, std::int64_t dim, bool keepdim = false);
REDES_API Tensor argmin(const Tensor& x, std::int64_t dim, bool keepdim = false);
// Variance and standard deviation over `dims` (all when empty), dividing by
// N - correction (1: the unbiased estimate).
REDES_API Tensor var(const Tensor& x, const std::vector<std::int64_t>& dims = {}, std::int64_t correction = 1,
                     bool keepdim = false);
REDES_API Tensor std(const Tensor& x, const std::vector<std::int64_t>& dims = {}, std::int64_t correction = 1,
                     bool keepdim = false);

// Softmax and log-softmax along `dim`, numerically stable.
REDES_API Tensor softmax(const Tensor& x, std::int64_t dim);
REDES_API Tensor log_softmax(const Tensor& x, std::int64_t dim);

// Matrix product with NumPy matmul semantics: 1-D operands are promoted to a
// row (left) or column (right) and the added dim removed; operands of more
// than 2 dims are batches of matrices with broadcast batch dims.
REDES_API Tensor matmul(const Tensor& a, const Tensor& b);
// bias + a @ b for 2-D a and b, with the bias (broadcast to the result) added
// by the GEMM itself.
REDES_API Tensor addmm(const Tensor& bias, const Tensor& a, const Tensor& b);

// Joining and splitting.
REDES_API Tensor cat(const std::vector<Tensor>& tensors, std::int64_t dim = 0);
REDES_API Tensor stack(const std::vector<Tensor>& tensors, std::int64_t dim = 0);
// Pieces of `size` along dim (the last may be smaller); views of x.
REDES_API std::vector<Tensor> split(const Tensor& x, std::int64_t size, std::int64_t dim = 0);
// `chunks` pieces of equal size (the last may be smaller); views of x.
REDES_API std::vector<Tensor> chunk(const Tensor& x, std::int64_t chunks, std::int64_t dim = 0);
// The slices of x along dim, as views; one autograd node takes all their
// gradients at once (a loop over select() would build a full-size gradient per slice).
REDES_API std::vector<Tensor> unbind(const Tensor& x, std::int64_t dim = 0);
// Constant padding; `pads` lists (before, after) pairs starting from the last
// dim, as in PyTorch: {left, right, top, bottom, ...}.
REDES_API Tensor pad(const Tensor& x, const std::vector<std::int64_t>& pads, double value = 0.0);
REDES_API Tensor flip(const Tensor& x, const std::vector<std::int64_t>& dims);

// Indexing with int64 index tensors.
REDES_API Tensor index_select(const Tensor& x, std::int64_t dim, const Tensor& index);
REDES_API Tensor gather(const Tensor& x, std::int64_t dim, const Tensor& index);
// x with src added at the positions index names along dim (out of place).
REDES_API Tensor scatter_add(const Tensor& x, std::int64_t dim, const Tensor& index, const Tensor& src);
// int64 tensor of index's shape plus a last dim of `classes`.
REDES_API Tensor one_hot(const Tensor& index, std::int64_t classes);

// Sorting and selection.
// x sorted along dim, stably (equal values keep their order), NaN greater
// than every number (last ascending, first descending); indices (int64) give
// each value's position along dim in x. The gradient flows back to those
// positions.
REDES_API ValuesIndices sort(const Tensor& x, std::int64_t dim = -1, bool descending = false);
// sort's indices alone.
REDES_API Tensor argsort(const Tensor& x, std::int64_t dim = -1, bool descending = false);
// The coordinates of x's non-zero elements (NaN counts), (count, x.dim())
// int64, in row-major order. Waits for the device: the count sizes the result.
REDES_API Tensor nonzero(const Tensor& x);
// The elements of x where the bool mask is true (the two broadcast
// together), as a 1-D tensor in row-major order; the gradient flows back to
// those elements. Waits for the device, as nonzero.
REDES_API Tensor masked_select(const Tensor& x, const Tensor& mask);

// A scalar operand becomes a 0-d tensor of the other operand's dtype (float32
// when that is an integer type and the scalar is not a whole number).
REDES_API Tensor scalar_like(double value, const Tensor& other);

// The dtype of a binary op's result, by PyTorch's rules: categories bool <
// integer < floating; among dimensioned tensors (or among 0-d ones) the
// wider type wins; a 0-d tensor decides only when its category is higher
// than every dimensioned operand's (float32 tensor * 0-d float64 -> float32,
// int64 tensor * 0-d float64 -> float64).
REDES_API DType result_type(const Tensor& a, const Tensor& b);

// A C++ number as an operand, as PyTorch treats a Python number: a floating
// one makes an integer or bool tensor float32 (7 / 2.0 == 3.5) and leaves a
// floating tensor's dtype alone; an integral one keeps the tensor's dtype
// (int64 for a bool tensor).
REDES_API Tensor scalar_operand(double value, const Tensor& other);
REDES_API Tensor scalar_operand(std::int64_t value, const Tensor& other);
template <class Number>
concept ScalarNumber = std::is_arithmetic_v<Number>;
template <ScalarNumber Number>
Tensor scalar_operand(Number value, const Tensor& other) {
  if constexpr (std::is_floating_point_v<Number>) {
    return scalar_operand(static_cast<double>(value), other);
  } else {
    return scalar_operand(static_cast<std::int64_t>(value), other);
  }
}

inline Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
inline Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
inline Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
inline Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
inline Tensor operator-(const Tensor& x) { return neg(x); }
inline Tensor operator==(const Tensor& a, const Tensor& b) { return eq(a, b); }
inline Tensor operator!=(const Tensor& a, const Tensor& b) { return ne(a, b); }
inline Tensor operator<(const Tensor& a, const Tensor& b) { return lt(a, b); }
inline Tensor operator<=(const Tensor& a, const Tensor& b) { return le(a, b); }
inline Tensor operator>(const Tensor& a, const Tensor& b) { return gt(a, b); }
inline Tensor operator>=(const Tensor& a, const Tensor& b) { return ge(a, b); }
// Tensor-number operators; see scalar_operand for the resulting dtype.
template <ScalarNumber Number>
inline Tensor operator<(const Tensor& a, Number b) { return lt(a, scalar_operand(b, a)); }
template <ScalarNumber Number>
inline Tensor operator<=(const Tensor& a, Number b) { return le(a, scalar_operand(b, a)); }
template <ScalarNumber Number>
inline Tensor operator>(const Tensor& a, Number b) { return gt(a, scalar_operand(b, a)); }
template <ScalarNumber Number>
inline Tensor operator>=(const Tensor& a, Number b) { return ge(a, scalar_operand(b, a)); }
template <ScalarNumber Number>
inline Tensor operator==(const Tensor& a, Number b) { return eq(a, scalar_operand(b, a)); }
template <ScalarNumber Number>
inline Tensor operator!=(const Tensor& a, Number b) { return ne(a, scalar_operand(b, a)); }
namespace detail {
// Integers on integer tensors keep the exact int64 form; everything else
// goes through the scalar-parameter ops.
template <ScalarNumber Number>
bool integer_operands(const Tensor& a) {
  return std::is_integral_v<Number> && !(a.defined() && is_floating(a.dtype()));
}
}  // namespace detail
template <ScalarNumber Number>
inline Tensor operator+(const Tensor& a, Number b) {
  return detail::integer_operands<Number>(a) ? add(a, scalar_operand(b, a)) : add_scalar(a, static_cast<double>(b));
}
template <ScalarNumber Number>
inline Tensor operator-(const Tensor& a, Number b) {
  return detail::integer_operands<Number>(a) ? sub(a, scalar_operand(b, a)) : sub_scalar(a, static_cast<double>(b));
}
template <ScalarNumber Number>
inline Tensor operator*(const Tensor& a, Number b) {
  return detail::integer_operands<Number>(a) ? mul(a, scalar_operand(b, a)) : mul_scalar(a, static_cast<double>(b));
}
template <ScalarNumber Number>
inline Tensor operator/(const Tensor& a, Number b) {
  return detail::integer_operands<Number>(a) ? div(a, scalar_operand(b, a)) : div_scalar(a, static_cast<double>(b));
}
// Addition and multiplication commute exactly in IEEE arithmetic.
template <ScalarNumber Number>
inline Tensor operator+(Number a, const Tensor& b) { return b + a; }
template <ScalarNumber Number>
inline Tensor operator-(Number a, const Tensor& b) { return sub(scalar_operand(a, b), b); }
template <ScalarNumber Number>
inline Tensor operator*(Number a, const Tensor& b) { return b * a; }
template <ScalarNumber Number>
inline Tensor operator/(Number a, const Tensor& b) { return div(scalar_operand(a, b), b); }
template <ScalarNumber Number>
inline Tensor& operator+=(Tensor& a, Number b) { return a.add_(scalar_operand(b, a)); }
template <ScalarNumber Number>
inline Tensor& operator-=(Tensor& a, Number b) { return a.sub_(scalar_operand(b, a)); }
template <ScalarNumber Number>
inline Tensor& operator*=(Tensor& a, Number b) { return a.mul_(scalar_operand(b, a)); }
template <ScalarNumber Number>
inline Tensor& operator/=(Tensor& a, Number b) { return a.div_(scalar_operand(b, a)); }

// Convolution and pooling over (N, C, H, W) tensors of float32 or float64.
// Sizes, strides, padding and dilation come as (height, width) pairs; a
// window reads input positions o * stride - padding + t * dilation for taps
// t in [0, kernel), with zeros (or nothing, for the pools) outside the input.
//
// Size2d is such a pair. One value means both sides, as in PyTorch:
// {.padding = 1}, {.padding = {1}} and {.padding = {1, 1}} are the same;
// more than two values, or none, throw.
struct REDES_API Size2d : std::array<std::int64_t, 2> {
  constexpr Size2d(std::int64_t both) : std::array<std::int64_t, 2>{both, both} {}  // NOLINT: implicit by design
  constexpr Size2d(std::int64_t height, std::int64_t width) : std::array<std::int64_t, 2>{height, width} {}
  constexpr Size2d(const std::array<std::int64_t, 2>& pair) : std::array<std::int64_t, 2>(pair) {}  // NOLINT
  Size2d(std::initializer_list<std::int64_t> values);
};

struct Conv2dOptions {
  Size2d stride{1, 1};
  Size2d padding{0, 0};   // zeros on both sides
  Size2d dilation{1, 1};  // spacing of the kernel taps
  std::int64_t groups = 1;  // channel groups convolved independently (groups = C: depthwise)
};
// Cross-correlation, as PyTorch's conv2d: input (N, C, H, W), weight
// (K, C / groups, kh, kw), optional bias (K) -> (N, K, OH, OW) with
// OH = (H + 2 padding - dilation (kh - 1) - 1) / stride + 1 (rounded down).
REDES_API Tensor conv2d(const Tensor& input, const Tensor& weight, const Tensor& bias = Tensor(),
                        Conv2dOptions options = {});

struct Conv1dOptions {
  std::int64_t stride = 1;
  std::int64_t padding = 0;   // zeros on both sides
  std::int64_t dilation = 1;
  std::int64_t groups = 1;
};
// PyTorch's conv1d: input (N, C, L), weight (K, C / groups, k), optional bias
// (K) -> (N, K, OL), OL = (L + 2 padding - dilation (k - 1) - 1) / stride + 1.
// Runs as conv2d on the input viewed as (N, C, 1, L), so every conv2d kernel
// (and its backward) serves it.
REDES_API Tensor conv1d(const Tensor& input, const Tensor& weight, const Tensor& bias = Tensor(),
                        Conv1dOptions options = {});

struct ConvTranspose2dOptions {
  Size2d stride{1, 1};
  Size2d padding{0, 0};         // removed from both sides of the output
  Size2d output_padding{0, 0};  // added to one side of the output; < max(stride, dilation)
  Size2d dilation{1, 1};
  std::int64_t groups = 1;
};
// PyTorch's conv_transpose2d (the input gradient of conv2d with the same
// weight and options): input (N, C, H, W), weight (C, K / groups, kh, kw),
// optional bias (K) -> (N, K, OH, OW) with
// OH = (H - 1) stride - 2 padding + dilation (kh - 1) + output_padding + 1.
// The forward runs conv2d's input-gradient kernel, the input gradient conv2d's
// forward kernel and the weight gradient conv2d's weight-gradient kernel.
REDES_API Tensor conv_transpose2d(const Tensor& input, const Tensor& weight, const Tensor& bias = Tensor(),
                                  ConvTranspose2dOptions options = {});

struct MaxPool2dOptions {
  std::optional<Size2d> stride = std::nullopt;  // default: the kernel size
  Size2d padding{0, 0};  // at most half the kernel; padding never wins
  Size2d dilation{1, 1};
  // Round the output size up instead of down; a last window must still start
  // inside the input or its left padding.
  bool ceil_mode = false;
};
// The max of each window and its int64 position h * W + w within its (H, W)
// plane (as PyTorch's indices). NaN counts as the max. The gradient flows to
// each window's max (summed where windows share one).
REDES_API ValuesIndices max_pool2d_with_indices(const Tensor& input, Size2d kernel_size,
                                                MaxPool2dOptions options = {});
REDES_API Tensor max_pool2d(const Tensor& input, Size2d kernel_size,
                            MaxPool2dOptions options = {});

struct AvgPool2dOptions {
  std::optional<Size2d> stride = std::nullopt;  // default: the kernel size
  Size2d padding{0, 0};  // at most half the kernel
  bool ceil_mode = false;  // as in MaxPool2dOptions
  // Divide by the window clipped to the input plus padding (true) or by the
  // number of input elements in it (false).
  bool count_include_pad = true;
};
REDES_API Tensor avg_pool2d(const Tensor& input, Size2d kernel_size,
                            AvgPool2dOptions options = {});
// (N, C, H, W) -> (N, C, OH, OW): output i along H averages inputs
// [floor(i H / OH), ceil((i + 1) H / OH)), likewise along W.
REDES_API Tensor adaptive_avg_pool2d(const Tensor& input, Size2d output_size);
// The max over the same bins as adaptive_avg_pool2d. NaN counts as the max;
// the gradient flows to each bin's first max in row-major order. Composed of
// existing ops (no kernel of its own), so it runs on every device.
REDES_API Tensor adaptive_max_pool2d(const Tensor& input, Size2d output_size);

// LSTM cell (gate order i, f, g, o; PyTorch's parameter layout):
//   gates = x W_ih^T + b_ih + h W_hh^T + b_hh,  c' = f c + i g,  h' = o tanh(c').
// The nonlinearities and the c/h update run as one fused kernel.
struct LstmState {
  Tensor h;  // (N, H)
  Tensor c;  // (N, H)
};
REDES_API LstmState lstm_cell(const Tensor& x, const LstmState& state, const Tensor& w_ih, const Tensor& w_hh,
                              const Tensor& b_ih = Tensor(), const Tensor& b_hh = Tensor());
// The fused part alone, from pre-activation gates (N, 4H) and c (N, H).
REDES_API LstmState lstm_cell_from_gates(const Tensor& gates, const Tensor& c_prev);

}  // namespace redes
