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

enum class UnaryKind : std::uint8_t { Neg, Exp, Log, Relu, Sqrt, Abs, Sigmoid, Tanh, Erf };

// args: out, in — same sizes and dtype; in may be strided.
struct UnaryParams {
  static constexpr const char* op = "unary";
  UnaryKind kind = UnaryKind::Neg;
};

// ReluBackward(grad, output) = grad where output > 0, else 0.
// SigmoidBackward(grad, output s) = grad * s * (1 - s); TanhBackward(grad,
// output t) = grad * (1 - t * t): the backward of an activation from its
// output in one pass (the composite took four kernels and a filled scalar).
// Maximum/Minimum propagate NaN from either side.
enum class BinaryKind : std::uint8_t {
  Add, Sub, Mul, Div, ReluBackward, SigmoidBackward, TanhBackward, Pow, Maximum, Minimum
};

// args: out, a, b — all with out's sizes and dtype; a and b may be strided,
// with stride 0 on broadcast dims (or out, a with scalar_b). out = a (kind)
// b, scaled: for Add/Sub, out = a + alpha * b and a - alpha * b.
struct BinaryParams {
  static constexpr const char* op = "binary";
  BinaryKind kind = BinaryKind::Add;
  double alpha = 1.0;
  // b is this number, converted to the dtype, instead of a tensor: args are
  // then out and a only (a Tensor-number expression makes no 0-d tensor).
  bool scalar_b = false;
  double b = 0.0;
};

// args: out, in — out has in's sizes with 1 on every reduced dim; both may be
// strided. out[j] = sum of in over the reduced dims, accumulated in at least
// float64 for floating types (keeps float32 sums of millions of elements exact
// to float32 rounding).
struct SumParams {
  static constexpr const char* op = "sum";
};

// args: out (batch, m, n) contiguous, a (batch, m, k), b (batch, k, n). The
// batch stride of a and b may be anything, 0 included (a broadcast operand);
// within a batch each of a and b has unit stride in one of its two dims (row-
// or column-major), which the front-end ensures. out = a @ b, or
// out += a @ b when `accumulate` (addmm: out holds the bias beforehand).
struct MatmulParams {
  static constexpr const char* op = "matmul";
  std::int64_t batch = 1;
  std::int64_t m = 0;
  std::int64_t n = 0;
  std::int64_t k = 0;
  bool accumulate = false;
};

// The activation a fused kernel applies to its results (the unary ops'
// per-element math).
enum class Activation : std::uint8_t { None, Relu, Sigmoid, Tanh };

// args: out (m, n) contiguous; x (1, m, k) and weight_t (1, k, n) in GEMM
// layouts (kernels/gemm_layout.h); with `bias`, bias (n) contiguous.
// out = activation(x @ weight_t + bias): a linear layer and the activation
// after it in one kernel, which applies the bias and activation as it stores
// each result.
struct LinearParams {
  static constexpr const char* op = "linear";
  std::int64_t m = 0, n = 0, k = 0;
  Activation activation = Activation::None;
  bool bias = false;
};

// LogicalAnd/LogicalOr treat non-zero as true.
enum class CompareKind : std::uint8_t { Eq, Ne, Lt, Le, Gt, Ge, LogicalAnd, LogicalOr };

// args: out (bool), a, b — out's sizes; a and b of one dtype (the registry
// key), strided, stride 0 where broadcast.
struct CompareParams {
  static constexpr const char* op = "compare";
  CompareKind kind = CompareKind::Eq;
};

// args: out, condition (bool), a, b — out's sizes and (but for condition)
// dtype; inputs strided, stride 0 where broadcast. out = condition ? a : b.
struct WhereParams {
  static constexpr const char* op = "where";
};

// args: values (in's sizes with 1 at `dim`, in's dtype), indices (same sizes,
// int64), in (any strides). The max (or min) along `dim` and the first index
// where it occurs; NaN counts as larger (smaller) than everything.
struct ArgReduceParams {
  static constexpr const char* op = "arg_reduce";
  std::int64_t dim = 0;
  bool max = true;
};

// args: out, in — same sizes and dtype, any strides. Softmax (or log-softmax)
// along `dim`, computed as exp(x - max) / sum for stability.
struct SoftmaxParams {
  static constexpr const char* op = "softmax";
  std::int64_t dim = 0;
  bool log = false;
};

// args: out (index's sizes), in, index (int64) — all with in's ndim, any
// strides. out[..., i_dim, ...] = in[..., index[..., i_dim, ...], ...].
// Kernels reject an index outside [0, in.sizes[dim]) with an error.
struct GatherParams {
  static constexpr const char* op = "gather";
  std::int64_t dim = 0;
};

// args: out (updated in place), index (int64), src (index's sizes) — all with
// out's ndim. out[..., index[..., j, ...], ...] += src[..., j, ...]. Indices
// are checked as in gather.
struct ScatterAddParams {
  static constexpr const char* op = "scatter_add";
  std::int64_t dim = 0;
};

// args: values (rows, length), indices (int64, rows x length), input (rows,
// length); all contiguous. Each row of input sorted stably (equal values keep
// their order) into values, ascending or descending, NaN greater than every
// number; indices[r][i] is the position in row r of values[r][i].
struct SortParams {
  static constexpr const char* op = "sort";
  std::int64_t rows = 0, length = 0;
  bool descending = false;
};

// args: out (int64, (n, ndim) contiguous), input (n elements, contiguous, with
// its sizes). Writes the coordinates of input's non-zero elements in
// row-major order into the first rows of out, and their number to *count
// (host memory; the caller sizes its result by it).
struct NonzeroParams {
  static constexpr const char* op = "nonzero";
  std::int64_t* count = nullptr;
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

// Sliding-window geometry along H and W, shared by conv2d and the 2-D pools:
// output position o reads input positions o * stride - pad + t * dilation for
// taps t in [0, kernel); positions outside the input are padding.
struct Window2d {
  std::int64_t kernel_height = 1, kernel_width = 1;
  std::int64_t stride_height = 1, stride_width = 1;
  std::int64_t pad_height = 0, pad_width = 0;
  std::int64_t dilation_height = 1, dilation_width = 1;
};

// Output length of a sliding window along one dim, PyTorch's formula:
// (size + 2 pad - dilation (kernel - 1) - 1) / stride + 1, rounded down (up
// with ceil_mode); with ceil_mode a last window that would start past the
// input and its left padding is dropped. Below 1 when the kernel does not fit.
constexpr std::int64_t window_output_size(std::int64_t size, std::int64_t kernel, std::int64_t stride,
                                          std::int64_t pad, std::int64_t dilation, bool ceil_mode) {
  const std::int64_t span = size + 2 * pad - dilation * (kernel - 1) - 1 + (ceil_mode ? stride - 1 : 0);
  // Rounds down for a negative span too (a kernel larger than the padded input).
  std::int64_t out = (span >= 0 ? span / stride : -((-span + stride - 1) / stride)) + 1;
  if (ceil_mode && (out - 1) * stride >= size + pad) --out;
  return out;
}

// conv2d's sizes: input (batch, in_channels, in_height, in_width), weight
// (out_channels, in_channels / groups, kernel_height, kernel_width), output
// (batch, out_channels, out_height, out_width). Input channel group g
// (in_channels / groups channels from g * in_channels / groups) feeds output
// channels g * out_channels / groups onwards.
struct Conv2dGeometry {
  std::int64_t batch = 0, in_channels = 0, in_height = 0, in_width = 0;
  std::int64_t out_channels = 0, out_height = 0, out_width = 0;
  std::int64_t groups = 1;
  Window2d window;
};

// args: out (N, K, OH, OW), input (N, C, H, W), weight (K, C/groups, kh, kw)
// and optionally bias (K) — all contiguous: the front-end calls contiguous()
// on its inputs, because the CPU kernel's im2col and GEMM want dense planes.
// out = cross-correlation of input with weight (as PyTorch's conv2d) + bias.
struct Conv2dForwardParams {
  static constexpr const char* op = "conv2d_forward";
  Conv2dGeometry geometry;
};

// conv2d forward and a ReLU in one kernel: the args of Conv2dForwardParams,
// out = relu(conv2d + bias). Implemented where a library fuses it (oneDNN's
// eltwise post-op); the front-end uses it only with the implementation
// conv2d_forward itself would run.
struct Conv2dReluForwardParams {
  static constexpr const char* op = "conv2d_relu_forward";
  Conv2dGeometry geometry;
};

// args: grad_input (N, C, H, W), grad_output (N, K, OH, OW), weight
// (K, C/groups, kh, kw) — all contiguous. Overwrites grad_input with the
// gradient of conv2d_forward's out with respect to its input.
struct Conv2dBackwardInputParams {
  static constexpr const char* op = "conv2d_backward_input";
  Conv2dGeometry geometry;
};

// args: grad_weight (K, C/groups, kh, kw), grad_output (N, K, OH, OW), input
// (N, C, H, W) — all contiguous. Overwrites grad_weight with the gradient
// with respect to the weight, summed over the batch.
struct Conv2dBackwardWeightParams {
  static constexpr const char* op = "conv2d_backward_weight";
  Conv2dGeometry geometry;
};

// A 2-D pooling's sizes: input (batch, channels, in_height, in_width), output
// (batch, channels, out_height, out_width).
struct Pool2dShape {
  std::int64_t batch = 0, channels = 0, in_height = 0, in_width = 0;
  std::int64_t out_height = 0, out_width = 0;
};

// args: out (N, C, OH, OW) contiguous, indices (int64, out's sizes,
// contiguous), input (N, C, H, W) any strides. The max of each window's taps
// inside the input and its position h * W + w within the plane (PyTorch's
// indices). NaN counts as the max; a window with no tap inside the input
// (possible with dilation) gives -inf and index -1.
struct MaxPool2dParams {
  static constexpr const char* op = "max_pool2d";
  Pool2dShape shape;
  Window2d window;
};

// args: grad_input (N, C, H, W) contiguous, which the kernel writes whole,
// grad_output (N, C, OH, OW) any strides, indices (int64, grad_output's
// sizes, any strides) from max_pool2d with `window`. grad_input is zero
// except grad_input[plane][indices[i]] += grad_output[i]; index -1 passes
// nothing on. Since each index lies in its window, where windows do not
// overlap an implementation may gather per input element instead of
// zeroing and scattering.
struct MaxPool2dBackwardParams {
  static constexpr const char* op = "max_pool2d_backward";
  Pool2dShape shape;
  Window2d window;
};

// args: out (N, C, OH, OW) contiguous, input (N, C, H, W) any strides. The
// max of each window without its position, for max_pool2d when no indices
// are asked for; only cuDNN implements it, for dilation 1, no padding and
// the floor output size. NaN propagates.
struct MaxPool2dValuesParams {
  static constexpr const char* op = "max_pool2d_values";
  Pool2dShape shape;
  Window2d window;
};

// args: grad_input (N, C, H, W) contiguous (overwritten), grad_output,
// input and output (the forward's) with any strides. Each window's gradient
// goes to one position of its maximum (with tied maxima, cuDNN's choice of
// position may differ from max_pool2d_with_indices' first one).
struct MaxPool2dValuesBackwardParams {
  static constexpr const char* op = "max_pool2d_values_backward";
  Pool2dShape shape;
  Window2d window;
};

// args: out (N, C, OH, OW) contiguous, input (N, C, H, W) any strides. The
// mean of each window (dilation 1), divided, as in PyTorch, by the window
// clipped to the input plus padding (count_include_pad) or to the input.
struct AvgPool2dParams {
  static constexpr const char* op = "avg_pool2d";
  Pool2dShape shape;
  Window2d window;
  bool count_include_pad = true;
};

// args: grad_input (N, C, H, W) contiguous (overwritten), grad_output
// (N, C, OH, OW) any strides. The gradient of avg_pool2d with the same params.
struct AvgPool2dBackwardParams {
  static constexpr const char* op = "avg_pool2d_backward";
  Pool2dShape shape;
  Window2d window;
  bool count_include_pad = true;
};

// args: out (N, C, OH, OW) contiguous, input (N, C, H, W) any strides. Output
// o along a dim of size H averages inputs [floor(o H / OH), ceil((o + 1) H / OH)).
struct AdaptiveAvgPool2dParams {
  static constexpr const char* op = "adaptive_avg_pool2d";
  Pool2dShape shape;
};

// args: grad_input (N, C, H, W) contiguous (overwritten), grad_output
// (N, C, OH, OW) any strides. The gradient of adaptive_avg_pool2d.
struct AdaptiveAvgPool2dBackwardParams {
  static constexpr const char* op = "adaptive_avg_pool2d_backward";
  Pool2dShape shape;
};

}  // namespace redes

// LSTM cell, gate order i, f, g, o. args: hc (N, 2H: h then c), activated
// (N, 4H: the gates after their nonlinearities, kept for backward), gates
// (N, 4H pre-activations), c_prev (N, H). All contiguous.
struct LstmCellParams {
  static constexpr const char* op = "lstm_cell";
};

// args: d_gates (N, 4H), dc_prev (N, H), d_hc (N, 2H: dh then dc),
// activated (N, 4H), c_prev (N, H), hc (N, 2H). All contiguous.
struct LstmCellBackwardParams {
  static constexpr const char* op = "lstm_cell_backward";
};

namespace redes {

// args: out (contiguous), in (out's sizes, any strides). Inverted dropout in
// one pass: row-major element i is kept when philox::bernoulli(seed, offset, i,
// keep) holds (the mask that bernoulli(1 - p) draws at (seed, offset)) and
// becomes in * scale, else in * 0. The same params applied to the output's
// gradient give the input's gradient, so backward regenerates the mask.
struct DropoutParams {
  static constexpr const char* op = "dropout";
  float keep = 1.0f;   // P(kept) = 1 - p, compared as bernoulli(1 - p) compares it
  double scale = 1.0;  // 1 / (1 - p), rounded to the tensor's dtype
  std::uint64_t seed = 0;
  std::uint64_t offset = 0;
};

}  // namespace redes

namespace redes {

// Fused log-softmax + NLL over rows. args: losses (N) contiguous, lse (N,
// float64) contiguous, logits (N, C) any strides, targets (N, int64) any
// strides. losses[n] = log sum_c exp(logits[n, c]) - logits[n, targets[n]]
// (accumulated in double as softmax does); lse[n] is that log-sum-exp, kept
// for backward. Kernels reject a target outside [0, C) with an error.
struct CrossEntropyParams {
  static constexpr const char* op = "cross_entropy";
};

// args: grad_logits (N, C) contiguous, logits (N, C) any strides, targets (N,
// int64), lse (N, float64), grad (N) any strides (stride 0 when a reduction
// broadcast it). grad_logits[n, c] = grad[n] (softmax[n, c] - [c == targets[n]]).
// Targets were checked by the forward kernel.
struct CrossEntropyBackwardParams {
  static constexpr const char* op = "cross_entropy_backward";
};

}  // namespace redes

namespace redes {

// One SGD step on any number of parameter tensors, in place, in one call.
// args: groups of three, param (updated), grad, momentum_buffer (updated;
// unused when momentum is 0) — one dtype, all contiguous, one size within a
// group. The update of train/optim/sgd.h, element by element with the
// composite's roundings; first_step: the buffers start as the gradients.
struct SgdStepParams {
  static constexpr const char* op = "sgd_step";
  double lr = 0.01;
  double momentum = 0.0;
  double dampening = 0.0;
  double weight_decay = 0.0;
  bool nesterov = false;
  bool first_step = false;
};

// One Adam/AdamW step on any number of parameter tensors, in place, in one
// call. args: groups of four, param (updated), grad, exp_avg, exp_avg_sq
// (both updated) — one dtype, all contiguous, one size within a group. The
// update of train/optim/adam.h with the composite's roundings;
// correction1/2 = 1 - beta^t for this step t.
struct AdamStepParams {
  static constexpr const char* op = "adam_step";
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.0;
  bool decoupled_weight_decay = false;
  double correction1 = 1.0;
  double correction2 = 1.0;
  // When set: the step count, in the memory of the parameters' device, from
  // which the kernel computes both corrections (1 - beta^t) itself, so that a
  // captured step (cuda::Graph) corrects by the count of each replay.
  const double* step_count = nullptr;
};

}  // namespace redes

namespace redes {

enum class AugmentKind : std::uint8_t { Flip, Shift, Rotate, Noise };

// One augmentation of an image batch (kernels/augment_math.h). args: out
// (N, C, H, W) contiguous, in (N, C, H, W) contiguous, per_sample (N, 2)
// contiguous with each sample's parameters, drawn or given on the host:
//   Flip:   int64, [n, 0] != 0 mirrors sample n left-right ([n, 1] unused)
//   Shift:  int64, (dx, dy)
//   Rotate: float64, (sin, cos) of the angle (the centre follows from H, W)
//   Noise:  int64, [n, 0] is sample n's Philox key (the bits of a uint64);
//           out = in + noise_std * normal(key, noise block, element)
struct AugmentParams {
  static constexpr const char* op = "augment";
  AugmentKind kind = AugmentKind::Flip;
  double noise_std = 0.0;
};

}  // namespace redes
