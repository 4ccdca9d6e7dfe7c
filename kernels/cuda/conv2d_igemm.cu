// conv2d forward, backward-data and backward-weight on CUDA devices as
// implicit GEMMs: the im2col matrix is never built; the tiled GEMM core
// (kernels/cuda/tiled_gemm.cuh) loads tiles of the two operands into shared
// memory straight from the NCHW tensors (zero where a window reaches into the
// padding), and each thread keeps a small tile of results in registers.
// Registered as "cuda.hand.igemm" ahead of the one-thread-per-element kernels
// of kernels/cuda/conv2d.cu, so the hand setting picks it and auto times it
// against them and cuDNN. Tile shapes and split counts come from
// kernels/conv2d_igemm_plan.h.
//
// The three passes as GEMMs, per group g (Cg = C / groups input channels,
// Kg = K / groups output channels, taps = kh * kw):
//   forward          out (N*OH*OW x Kg)  = im2col(input) (N*OH*OW x Cg*taps) * weight^T
//   backward-data    dinput (N*H*W x Cg) = col(dout) (N*H*W x Kg*taps) * weight (Kg*taps x Cg)
//   backward-weight  dweight (Kg x Cg*taps) = dout (Kg x N*OH*OW) * im2col(input)
// Backward-weight's inner dimension is the whole batch, so it is split over
// blocks (split-K): each writes a partial product to the workspace, and a
// second kernel adds a weight's partials in split order, in double. Every
// sum runs in an order fixed by the shapes: the same bits on every run.
//
// Indices are 32-bit (supports_int32 refuses larger tensors, which the
// direct kernels then serve).
#include <algorithm>
#include <cstdint>
#include <limits>

#include "core/cuda/check.h"
#include "kernels/conv2d_igemm_plan.h"
#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/tiled_gemm.cuh"
#include "kernels/params.h"
#include "kernels/registry.h"

namespace redes {
namespace {

// The geometry in 32-bit fields.
struct ConvSizes {
  int batch, channels, height, width;
  int out_channels, out_height, out_width;
  int groups, group_in, group_out;
  int kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w, dilation_h, dilation_w;
  int taps;  // kernel_h * kernel_w
};

ConvSizes conv_sizes(const Conv2dGeometry& g) {
  const Window2d& w = g.window;
  const auto i32 = [](std::int64_t v) { return static_cast<int>(v); };
  return {i32(g.batch),
          i32(g.in_channels),
          i32(g.in_height),
          i32(g.in_width),
          i32(g.out_channels),
          i32(g.out_height),
          i32(g.out_width),
          i32(g.groups),
          i32(g.in_channels / g.groups),
          i32(g.out_channels / g.groups),
          i32(w.kernel_height),
          i32(w.kernel_width),
          i32(w.stride_height),
          i32(w.stride_width),
          i32(w.pad_height),
          i32(w.pad_width),
          i32(w.dilation_height),
          i32(w.dilation_width),
          i32(w.kernel_height * w.kernel_width)};
}

// A window of the input: output position p = (n, oh, ow) of group `group`,
// as the start of image n's group channels and the window's top-left corner
// (in the padded frame). Decomposing p once per thread spares the divisions
// on every element (kernels/cuda/tiled_gemm.cuh).
template <class T>
struct Window {
  const T* image;
  int top, left;
};

template <class T>
__device__ __forceinline__ Window<T> input_window(const ConvSizes& s, const T* input, int group, int p) {
  const int plane = s.out_height * s.out_width;
  const int n = p / plane, rest = p - n * plane;
  const int oh = rest / s.out_width, ow = rest - oh * s.out_width;
  return {input + (n * s.channels + group * s.group_in) * s.height * s.width, oh * s.stride_h - s.pad_h,
          ow * s.stride_w - s.pad_w};
}

// im2col(input)[p, r] for the window of p: r = (c, i, j) a channel of the
// group and a tap; 0 in the padding.
template <class T>
__device__ __forceinline__ T window_element(const ConvSizes& s, const Window<T>& window, int r) {
  const int c = r / s.taps, tap = r - c * s.taps;
  const int i = tap / s.kernel_w, j = tap - i * s.kernel_w;
  const int h = window.top + i * s.dilation_h, w = window.left + j * s.dilation_w;
  if (h < 0 || h >= s.height || w < 0 || w >= s.width) return T(0);
  return window.image[(c * s.height + h) * s.width + w];
}

// ---- the three problems: sizes, operand elements, where results go --------

// forward: A = im2col(input) (M = N*OH*OW, K = Cg*taps), B[r, k] = weight[k, r].
template <class T>
struct ForwardProblem {
  static constexpr bool a_k_fastest = false;  // neighbouring p: neighbouring ow
  static constexpr bool b_k_fastest = true;   // a weight row is contiguous in r
  ConvSizes s;
  T* out;
  const T* input;
  const T* weight;
  const T* bias;
  __device__ int group_count() const { return s.groups; }
  __device__ Window<T> a_line(int group, int p) const { return input_window(s, input, group, p); }
  __device__ T a_at(const Window<T>& window, int r) const { return window_element(s, window, r); }
  // Column r of the group's weights; b_at steps over output channels.
  __device__ const T* b_line(int group, int r) const { return weight + group * s.group_out * s.group_in * s.taps + r; }
  __device__ T b_at(const T* column, int k) const { return column[k * s.group_in * s.taps]; }
  __device__ void store(int group, int p, int k, T value) const {
    const int plane = s.out_height * s.out_width;
    const int n = p / plane, rest = p - n * plane;
    const int channel = group * s.group_out + k;
    out[(n * s.out_channels + channel) * plane + rest] = bias == nullptr ? value : value + bias[channel];
  }
};

// backward-data: A[x, q] = dout at the output position that tap (i, j) of
// x = (n, h, w) feeds, for q = (k, i, j) (0 where none does); B[q, c] =
// weight[k, c, i, j].
template <class T>
struct BackwardDataProblem {
  static constexpr bool a_k_fastest = false;  // neighbouring x: neighbouring w
  static constexpr bool b_k_fastest = true;   // neighbouring taps are contiguous
  // Input position x = (n, h, w): the output gradient of image n's group
  // channels, and (h, w) shifted by the padding.
  struct Position {
    const T* grads;
    int h, w;
  };
  ConvSizes s;
  T* grad_input;
  const T* grad_output;
  const T* weight;
  __device__ int group_count() const { return s.groups; }
  __device__ Position a_line(int group, int x) const {
    const int plane = s.height * s.width;
    const int n = x / plane, rest = x - n * plane;
    const int h = rest / s.width, w = rest - h * s.width;
    return {grad_output + (n * s.out_channels + group * s.group_out) * s.out_height * s.out_width, h + s.pad_h,
            w + s.pad_w};
  }
  __device__ T a_at(const Position& x, int q) const {
    const int k = q / s.taps, tap = q - k * s.taps;
    const int i = tap / s.kernel_w, j = tap - i * s.kernel_w;
    const int shifted_h = x.h - i * s.dilation_h, shifted_w = x.w - j * s.dilation_w;
    if (shifted_h < 0 || shifted_w < 0) return T(0);
    int oh = shifted_h, ow = shifted_w;
    if (s.stride_h != 1 || s.stride_w != 1) {  // the same branch for every thread
      if (shifted_h % s.stride_h != 0 || shifted_w % s.stride_w != 0) return T(0);
      oh = shifted_h / s.stride_h, ow = shifted_w / s.stride_w;
    }
    if (oh >= s.out_height || ow >= s.out_width) return T(0);
    return x.grads[(k * s.out_height + oh) * s.out_width + ow];
  }
  // Row q = (k, tap) of B: weight[k, 0, tap] of the group; b_at steps over channels.
  __device__ const T* b_line(int group, int q) const {
    const int k = q / s.taps, tap = q - k * s.taps;
    return weight + (group * s.group_out + k) * s.group_in * s.taps + tap;
  }
  __device__ T b_at(const T* row, int c) const { return row[c * s.taps]; }
  __device__ void store(int group, int x, int c, T value) const {
    const int plane = s.height * s.width;
    const int n = x / plane, rest = x - n * plane;
    grad_input[(n * s.channels + group * s.group_in + c) * plane + rest] = value;
  }
};

// backward-weight: A[k, p] = dout[n, k, oh, ow], B = im2col(input); results
// go to partials[split][group][k][r] (one split: the weight gradient itself).
template <class T>
struct BackwardWeightProblem {
  static constexpr bool a_k_fastest = true;  // neighbouring p: neighbouring ow
  static constexpr bool b_k_fastest = true;
  ConvSizes s;
  T* partials;
  const T* grad_output;
  const T* input;
  __device__ int group_count() const { return s.groups; }
  // Output position p: the group's first channel there; a_at steps over channels.
  __device__ const T* a_line(int group, int p) const {
    const int plane = s.out_height * s.out_width;
    const int n = p / plane, rest = p - n * plane;
    return grad_output + (n * s.out_channels + group * s.group_out) * plane + rest;
  }
  __device__ T a_at(const T* position, int k) const { return position[k * s.out_height * s.out_width]; }
  __device__ Window<T> b_line(int group, int p) const { return input_window(s, input, group, p); }
  __device__ T b_at(const Window<T>& window, int r) const { return window_element(s, window, r); }
  __device__ void store(int group, int k, int r, T value) const {
    const int weights = s.out_channels * s.group_in * s.taps;
    partials[blockIdx.z / s.groups * weights + (group * s.group_out + k) * (s.group_in * s.taps) + r] = value;
  }
};

// One thread per weight: the sum of its `splits` partials, in split order.
template <class T>
__global__ void add_splits_kernel(T* grad_weight, const T* partials, int weights, int splits) {
  for (std::int64_t w = cuda::first_index(); w < weights; w += cuda::grid_stride()) {
    double total = 0;
    for (int s = 0; s < splits; ++s) total += static_cast<double>(partials[static_cast<std::int64_t>(s) * weights + w]);
    grad_weight[w] = static_cast<T>(total);
  }
}

// args: out, input, weight [, bias] — see Conv2dForwardParams.
template <class T>
void forward(const Conv2dForwardParams& p, const TensorArg* args, int nargs, const ExecContext& ctx) {
  const ForwardProblem<T> problem{conv_sizes(p.geometry), static_cast<T*>(args[0].data),
                                  static_cast<const T*>(args[1].data), static_cast<const T*>(args[2].data),
                                  nargs > 3 ? static_cast<const T*>(args[3].data) : nullptr};
  if (args[0].numel() == 0) return;
  REDES_CUDA_CHECK(cuda::launch_tiled_gemm<T>(problem, plan_igemm(p.geometry, ConvPass::Forward), cuda::stream_of(ctx)),
                   Conv2dForwardParams::op);
}

// args: grad_input, grad_output, weight — see Conv2dBackwardInputParams.
template <class T>
void backward_data(const Conv2dBackwardInputParams& p, const TensorArg* args, int, const ExecContext& ctx) {
  const BackwardDataProblem<T> problem{conv_sizes(p.geometry), static_cast<T*>(args[0].data),
                                       static_cast<const T*>(args[1].data), static_cast<const T*>(args[2].data)};
  if (args[0].numel() == 0) return;
  REDES_CUDA_CHECK(
      cuda::launch_tiled_gemm<T>(problem, plan_igemm(p.geometry, ConvPass::BackwardData), cuda::stream_of(ctx)),
      Conv2dBackwardInputParams::op);
}

// args: grad_weight, grad_output, input — see Conv2dBackwardWeightParams.
template <class T>
void backward_weight(const Conv2dBackwardWeightParams& p, const TensorArg* args, int, const ExecContext& ctx) {
  const char* op = Conv2dBackwardWeightParams::op;
  T* grad_weight = static_cast<T*>(args[0].data);
  const int weights = static_cast<int>(args[0].numel());
  if (weights == 0) return;
  const cudaStream_t stream = cuda::stream_of(ctx);
  const IgemmPlan plan = plan_igemm(p.geometry, ConvPass::BackwardWeight);
  if (plan.k == 0) {  // an empty batch: the gradient is zero
    REDES_CUDA_CHECK(cudaMemsetAsync(grad_weight, 0, static_cast<std::size_t>(weights) * sizeof(T), stream), op);
    return;
  }
  // One split writes the gradient; several write partials to the workspace.
  const int splits = static_cast<int>(plan.splits);
  T* partials = grad_weight;
  if (splits > 1) {
    REDES_CHECK(ctx.workspace != nullptr, op, ": the CUDA kernel needs a workspace for its partial sums");
    partials = static_cast<T*>(
        ctx.workspace->request(static_cast<std::size_t>(splits) * static_cast<std::size_t>(weights) * sizeof(T)));
  }
  const BackwardWeightProblem<T> problem{conv_sizes(p.geometry), partials, static_cast<const T*>(args[1].data),
                                         static_cast<const T*>(args[2].data)};
  REDES_CUDA_CHECK(cuda::launch_tiled_gemm<T>(problem, plan, stream), op);
  if (splits == 1) return;
  REDES_CUDA_CHECK(cuda::launch(add_splits_kernel<T>, cuda::grid_size(weights), cuda::kBlockSize, 0, stream,
                                grad_weight, static_cast<const T*>(partials), weights, splits),
                   op);
}

// Every tensor and every GEMM dimension indexable with 32-bit ints.
bool supports_int32(const void* params, const TensorArg* args, int nargs) {
  const Conv2dGeometry& g = *static_cast<const Conv2dGeometry*>(params);
  constexpr std::int64_t limit = std::numeric_limits<int>::max();
  for (int i = 0; i < nargs; ++i) {
    if (args[i].numel() > limit) return false;
  }
  const std::int64_t taps = g.window.kernel_height * g.window.kernel_width;
  return g.batch * g.out_height * g.out_width <= limit && g.batch * g.in_height * g.in_width <= limit &&
         g.in_channels * taps <= limit && g.out_channels * taps <= limit;
}

// Every conv params struct is a Conv2dGeometry and nothing else, which
// supports_int32 relies on.
static_assert(sizeof(Conv2dForwardParams) == sizeof(Conv2dGeometry));
static_assert(sizeof(Conv2dBackwardInputParams) == sizeof(Conv2dGeometry));
static_assert(sizeof(Conv2dBackwardWeightParams) == sizeof(Conv2dGeometry));

// Ahead of the direct kernels (priority 0) under the hand setting.
constexpr int kPriority = 1;

template <class T>
void register_for(KernelRegistry& registry) {
  constexpr DType dtype = dtype_of_v<T>;
  constexpr const char* name = "cuda.hand.igemm";
  registry.add(
      make_kernel<Conv2dForwardParams, &forward<T>>(DeviceType::CUDA, dtype, name, kPriority, &supports_int32));
  registry.add(make_kernel<Conv2dBackwardInputParams, &backward_data<T>>(DeviceType::CUDA, dtype, name, kPriority,
                                                                         &supports_int32));
  registry.add(make_kernel<Conv2dBackwardWeightParams, &backward_weight<T>>(DeviceType::CUDA, dtype, name, kPriority,
                                                                            &supports_int32));
}

}  // namespace

void register_cuda_conv2d_igemm(KernelRegistry& registry) {
  register_for<float>(registry);
  register_for<double>(registry);
}

}  // namespace redes
