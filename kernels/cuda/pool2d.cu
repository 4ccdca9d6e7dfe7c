// max_pool2d, avg_pool2d and adaptive_avg_pool2d, forward and backward, on
// CUDA devices, for the same dtypes as kernels/cpu/pool2d.cpp. Each output
// (and each average-pool input gradient) is the kernels/conv_math.h body the
// CPU kernels call, one thread per element.
//
// max_pool2d_backward gathers per input element where windows do not overlap
// (the common 2x2 stride-2 pool): each input reads the index of the one
// window it lies in, coalesced, with no atomics. Overlapping windows
// (stride < kernel) can share an argmax, so there it scatters through the
// saved indices with atomicAdd, two threads possibly adding into one input
// element; their order varies from run to run, so float and double
// gradients are not bitwise deterministic (they can differ from the CPU's
// serial sum in the last bits). The average pools gather per input element
// and are deterministic.
#include <cstdint>

#include "core/cuda/check.h"
#include "kernels/conv_math.h"
#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/widened.cuh"
#include "kernels/params.h"
#include "kernels/registry.h"

namespace redes {
namespace {

// out, indices: (N, C, OH, OW) contiguous; input: (N, C, H, W) any strides.
template <class T>
__global__ void max_pool2d_kernel(Pool2dShape s, Window2d win, T* out, std::int64_t* indices, TensorArg input,
                                  std::int64_t count) {
  for (std::int64_t i = cuda::first_index(); i < count; i += cuda::grid_stride()) {
    const Nchw o = nchw_position(i, s.channels, s.out_height, s.out_width);
    const PoolMax<T> best = max_pool2d_element<T>(s, win, input, o.n, o.c, o.h, o.w);
    out[i] = best.value;
    indices[i] = best.index;
  }
}

// grad_input: (N, C, H, W) contiguous, zeroed; grad_output, indices:
// (N, C, OH, OW) any strides. One thread per output element.
template <class T>
__global__ void max_pool2d_backward_kernel(Pool2dShape s, T* grad_input, TensorArg grad_output, TensorArg indices,
                                           std::int64_t count) {
  const T* grads = static_cast<const T*>(grad_output.data);
  const auto* positions = static_cast<const std::int64_t*>(indices.data);
  for (std::int64_t i = cuda::first_index(); i < count; i += cuda::grid_stride()) {
    const Nchw o = nchw_position(i, s.channels, s.out_height, s.out_width);
    const std::int64_t index = positions[nchw_offset(indices, o.n, o.c, o.h, o.w)];
    if (index < 0) continue;
    atomicAdd(grad_input + (o.n * s.channels + o.c) * s.in_height * s.in_width + index,
              grads[nchw_offset(grad_output, o.n, o.c, o.h, o.w)]);
  }
}

// grad_input: (N, C, H, W) contiguous; grad_output, indices: (N, C, OH, OW)
// any strides; windows disjoint. One thread per input element.
template <class T>
__global__ void max_pool2d_disjoint_backward_kernel(Pool2dShape s, Window2d win, T* grad_input, TensorArg grad_output,
                                                    TensorArg indices, std::int64_t count) {
  for (std::int64_t i = cuda::first_index(); i < count; i += cuda::grid_stride()) {
    const Nchw x = nchw_position(i, s.channels, s.in_height, s.in_width);
    grad_input[i] = max_pool2d_disjoint_input_grad_element<T>(s, win, grad_output, indices, x.n, x.c, x.h, x.w);
  }
}

// out: (N, C, OH, OW) contiguous; input: (N, C, H, W) any strides.
template <class T>
__global__ void avg_pool2d_kernel(Pool2dShape s, Window2d win, bool count_include_pad, T* out, TensorArg input,
                                  std::int64_t count) {
  for (std::int64_t i = cuda::first_index(); i < count; i += cuda::grid_stride()) {
    const Nchw o = nchw_position(i, s.channels, s.out_height, s.out_width);
    out[i] = avg_pool2d_element<T>(s, win, count_include_pad, input, o.n, o.c, o.h, o.w);
  }
}

// grad_input: (N, C, H, W) contiguous; grad_output: (N, C, OH, OW) any
// strides. One thread per input element.
template <class T>
__global__ void avg_pool2d_backward_kernel(Pool2dShape s, Window2d win, bool count_include_pad, T* grad_input,
                                           TensorArg grad_output, std::int64_t count) {
  for (std::int64_t i = cuda::first_index(); i < count; i += cuda::grid_stride()) {
    const Nchw x = nchw_position(i, s.channels, s.in_height, s.in_width);
    grad_input[i] = avg_pool2d_input_grad_element<T>(s, win, count_include_pad, grad_output, x.n, x.c, x.h, x.w);
  }
}

// out: (N, C, OH, OW) contiguous; input: (N, C, H, W) any strides.
template <class T>
__global__ void adaptive_avg_pool2d_kernel(Pool2dShape s, T* out, TensorArg input, std::int64_t count) {
  for (std::int64_t i = cuda::first_index(); i < count; i += cuda::grid_stride()) {
    const Nchw o = nchw_position(i, s.channels, s.out_height, s.out_width);
    out[i] = adaptive_avg_pool2d_element<T>(s, input, o.n, o.c, o.h, o.w);
  }
}

// grad_input: (N, C, H, W) contiguous; grad_output: (N, C, OH, OW) any
// strides. One thread per input element.
template <class T>
__global__ void adaptive_avg_pool2d_backward_kernel(Pool2dShape s, T* grad_input, TensorArg grad_output,
                                                    std::int64_t count) {
  for (std::int64_t i = cuda::first_index(); i < count; i += cuda::grid_stride()) {
    const Nchw x = nchw_position(i, s.channels, s.in_height, s.in_width);
    grad_input[i] = adaptive_avg_pool2d_input_grad_element<T>(s, grad_output, x.n, x.c, x.h, x.w);
  }
}

// args: out, indices, input — see MaxPool2dParams.
template <class T>
void max_pool2d_cuda(const MaxPool2dParams& p, const TensorArg* args, int, const ExecContext& ctx) {
  const std::int64_t count = args[0].numel();
  if (count == 0) return;
  REDES_CUDA_CHECK(
      cuda::launch(max_pool2d_kernel<T>, cuda::grid_size(count), cuda::kBlockSize, 0, cuda::stream_of(ctx), p.shape,
                   p.window, static_cast<T*>(args[0].data), static_cast<std::int64_t*>(args[1].data), args[2], count),
      MaxPool2dParams::op);
}

// args: grad_input (written whole), grad_output, indices — see MaxPool2dBackwardParams.
template <class T>
void max_pool2d_backward_cuda(const MaxPool2dBackwardParams& p, const TensorArg* args, int, const ExecContext& ctx) {
  const std::int64_t count = args[1].numel();
  if (count == 0) return;
  if (windows_disjoint(p.window)) {
    const std::int64_t inputs = args[0].numel();
    REDES_CUDA_CHECK(cuda::launch(max_pool2d_disjoint_backward_kernel<T>, cuda::grid_size(inputs), cuda::kBlockSize, 0,
                                  cuda::stream_of(ctx), p.shape, p.window, static_cast<T*>(args[0].data), args[1],
                                  args[2], inputs),
                     MaxPool2dBackwardParams::op);
    return;
  }
  const std::size_t input_bytes = static_cast<std::size_t>(args[0].numel()) * sizeof(T);
  REDES_CUDA_CHECK(cudaMemsetAsync(args[0].data, 0, input_bytes, cuda::stream_of(ctx)), MaxPool2dBackwardParams::op);
  REDES_CUDA_CHECK(cuda::launch(max_pool2d_backward_kernel<T>, cuda::grid_size(count), cuda::kBlockSize, 0,
                                cuda::stream_of(ctx), p.shape, static_cast<T*>(args[0].data), args[1], args[2], count),
                   MaxPool2dBackwardParams::op);
}

// args: out, input — see AvgPool2dParams.
template <class T>
void avg_pool2d_cuda(const AvgPool2dParams& p, const TensorArg* args, int, const ExecContext& ctx) {
  const std::int64_t count = args[0].numel();
  if (count == 0) return;
  REDES_CUDA_CHECK(cuda::launch(avg_pool2d_kernel<T>, cuda::grid_size(count), cuda::kBlockSize, 0, cuda::stream_of(ctx),
                                p.shape, p.window, p.count_include_pad, static_cast<T*>(args[0].data), args[1], count),
                   AvgPool2dParams::op);
}

// args: grad_input, grad_output — see AvgPool2dBackwardParams.
template <class T>
void avg_pool2d_backward_cuda(const AvgPool2dBackwardParams& p, const TensorArg* args, int, const ExecContext& ctx) {
  const std::int64_t count = args[0].numel();
  if (count == 0) return;
  REDES_CUDA_CHECK(
      cuda::launch(avg_pool2d_backward_kernel<T>, cuda::grid_size(count), cuda::kBlockSize, 0, cuda::stream_of(ctx),
                   p.shape, p.window, p.count_include_pad, static_cast<T*>(args[0].data), args[1], count),
      AvgPool2dBackwardParams::op);
}

// args: out, input — see AdaptiveAvgPool2dParams.
template <class T>
void adaptive_avg_pool2d_cuda(const AdaptiveAvgPool2dParams& p, const TensorArg* args, int, const ExecContext& ctx) {
  const std::int64_t count = args[0].numel();
  if (count == 0) return;
  REDES_CUDA_CHECK(cuda::launch(adaptive_avg_pool2d_kernel<T>, cuda::grid_size(count), cuda::kBlockSize, 0,
                                cuda::stream_of(ctx), p.shape, static_cast<T*>(args[0].data), args[1], count),
                   AdaptiveAvgPool2dParams::op);
}

// args: grad_input, grad_output — see AdaptiveAvgPool2dBackwardParams.
template <class T>
void adaptive_avg_pool2d_backward_cuda(const AdaptiveAvgPool2dBackwardParams& p, const TensorArg* args, int,
                                       const ExecContext& ctx) {
  const std::int64_t count = args[0].numel();
  if (count == 0) return;
  REDES_CUDA_CHECK(cuda::launch(adaptive_avg_pool2d_backward_kernel<T>, cuda::grid_size(count), cuda::kBlockSize, 0,
                                cuda::stream_of(ctx), p.shape, static_cast<T*>(args[0].data), args[1], count),
                   AdaptiveAvgPool2dBackwardParams::op);
}

template <class T>
void register_for(KernelRegistry& registry) {
  constexpr DType dtype = dtype_of_v<T>;
  registry.add(make_kernel<MaxPool2dParams, &max_pool2d_cuda<T>>(DeviceType::CUDA, dtype, "cuda.hand"));
  registry.add(
      make_kernel<MaxPool2dBackwardParams, &max_pool2d_backward_cuda<T>>(DeviceType::CUDA, dtype, "cuda.hand"));
  registry.add(make_kernel<AvgPool2dParams, &avg_pool2d_cuda<T>>(DeviceType::CUDA, dtype, "cuda.hand"));
  registry.add(
      make_kernel<AvgPool2dBackwardParams, &avg_pool2d_backward_cuda<T>>(DeviceType::CUDA, dtype, "cuda.hand"));
  registry.add(
      make_kernel<AdaptiveAvgPool2dParams, &adaptive_avg_pool2d_cuda<T>>(DeviceType::CUDA, dtype, "cuda.hand"));
  registry.add(make_kernel<AdaptiveAvgPool2dBackwardParams, &adaptive_avg_pool2d_backward_cuda<T>>(
      DeviceType::CUDA, dtype, "cuda.hand"));
}

// The 16-bit types pool float32 copies (kernels/cuda/widened.cuh).
template <class Params, void (*Kernel)(const Params&, const TensorArg*, int, const ExecContext&)>
void add_widened(KernelRegistry& registry) {
  for (DType dtype : {kFloat16, kBFloat16}) {
    registry.add(make_kernel<Params, &cuda::widened<Params, Kernel>>(DeviceType::CUDA, dtype, "cuda.hand"));
  }
}

}  // namespace

void register_cuda_pool2d(KernelRegistry& registry) {
  register_for<float>(registry);
  register_for<double>(registry);
  add_widened<MaxPool2dParams, &max_pool2d_cuda<float>>(registry);
  add_widened<MaxPool2dBackwardParams, &max_pool2d_backward_cuda<float>>(registry);
  add_widened<AvgPool2dParams, &avg_pool2d_cuda<float>>(registry);
  add_widened<AvgPool2dBackwardParams, &avg_pool2d_backward_cuda<float>>(registry);
  add_widened<AdaptiveAvgPool2dParams, &adaptive_avg_pool2d_cuda<float>>(registry);
  add_widened<AdaptiveAvgPool2dBackwardParams, &adaptive_avg_pool2d_backward_cuda<float>>(registry);
}

}  // namespace redes
