// conv2d forward and backward on CUDA devices, for the same dtypes as
// kernels/cpu/conv2d.cpp. Each element is a body from kernels/conv_math.h,
// which the CPU tests check against a direct reference.
//
// The first version, correctness first, registered as "cuda.hand" below the
// implicit GEMM (kernels/cuda/conv2d_igemm.cu) and beside cuDNN: one thread
// per output element (forward), per input element (backward input, gathering
// from the windows that read it, so no atomics) and per weight element
// (backward weight, looping over the batch and every output position). Auto
// still picks it for some small layers (docs/results.md, "On a GPU").
#include <cstdint>

#include "core/cuda/check.h"
#include "kernels/conv_math.h"
#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/widened.cuh"
#include "kernels/params.h"
#include "kernels/registry.h"

namespace redes {
namespace {

// out: (N, K, OH, OW); input: (N, C, H, W); weight: (K, C/groups, kh, kw);
// bias: (K) or null — all contiguous. One thread per output element.
template <class T>
__global__ void conv2d_forward_kernel(Conv2dGeometry g, T* out, const T* input, const T* weight, const T* bias,
                                      std::int64_t count) {
  for (std::int64_t i = cuda::first_index(); i < count; i += cuda::grid_stride()) {
    const Nchw o = nchw_position(i, g.out_channels, g.out_height, g.out_width);
    const T value = conv2d_output_element(g, input, weight, o.n, o.c, o.h, o.w);
    out[i] = bias == nullptr ? value : value + bias[o.c];
  }
}

// grad_input: (N, C, H, W); grad_output: (N, K, OH, OW); weight — contiguous.
// One thread per input element.
template <class T>
__global__ void conv2d_backward_input_kernel(Conv2dGeometry g, T* grad_input, const T* grad_output, const T* weight,
                                             std::int64_t count) {
  for (std::int64_t i = cuda::first_index(); i < count; i += cuda::grid_stride()) {
    const Nchw x = nchw_position(i, g.in_channels, g.in_height, g.in_width);
    grad_input[i] = conv2d_input_grad_element(g, grad_output, weight, x.n, x.c, x.h, x.w);
  }
}

// grad_weight: (K, C/groups, kh, kw); grad_output: (N, K, OH, OW); input:
// (N, C, H, W) — contiguous. One thread per weight element, each summing
// N * OH * OW products: few threads for small layers, but no atomics.
template <class T>
__global__ void conv2d_backward_weight_kernel(Conv2dGeometry g, T* grad_weight, const T* grad_output, const T* input,
                                              std::int64_t count) {
  const std::int64_t group_in = g.in_channels / g.groups;
  for (std::int64_t i = cuda::first_index(); i < count; i += cuda::grid_stride()) {
    // Weight element i is (k, c, tap row, tap column) in the weight's 4-D layout.
    const Nchw w = nchw_position(i, group_in, g.window.kernel_height, g.window.kernel_width);
    grad_weight[i] = conv2d_weight_grad_element(g, grad_output, input, w.n, w.c, w.h, w.w);
  }
}

// args: out, input, weight [, bias] — see Conv2dForwardParams.
template <class T>
void conv2d_forward_cuda(const Conv2dForwardParams& p, const TensorArg* args, int nargs, const ExecContext& ctx) {
  const std::int64_t count = args[0].numel();
  if (count == 0) return;
  const T* bias = nargs > 3 ? static_cast<const T*>(args[3].data) : nullptr;
  REDES_CUDA_CHECK(cuda::launch(conv2d_forward_kernel<T>, cuda::grid_size(count), cuda::kBlockSize, 0,
                                cuda::stream_of(ctx), p.geometry, static_cast<T*>(args[0].data),
                                static_cast<const T*>(args[1].data), static_cast<const T*>(args[2].data), bias, count),
                   Conv2dForwardParams::op);
}

// args: grad_input, grad_output, weight — see Conv2dBackwardInputParams.
template <class T>
void conv2d_backward_input_cuda(const Conv2dBackwardInputParams& p, const TensorArg* args, int,
                                const ExecContext& ctx) {
  const std::int64_t count = args[0].numel();
  if (count == 0) return;
  REDES_CUDA_CHECK(cuda::launch(conv2d_backward_input_kernel<T>, cuda::grid_size(count), cuda::kBlockSize, 0,
                                cuda::stream_of(ctx), p.geometry, static_cast<T*>(args[0].data),
                                static_cast<const T*>(args[1].data), static_cast<const T*>(args[2].data), count),
                   Conv2dBackwardInputParams::op);
}

// args: grad_weight, grad_output, input — see Conv2dBackwardWeightParams.
template <class T>
void conv2d_backward_weight_cuda(const Conv2dBackwardWeightParams& p, const TensorArg* args, int,
                                 const ExecContext& ctx) {
  const std::int64_t count = args[0].numel();
  if (count == 0) return;
  REDES_CUDA_CHECK(cuda::launch(conv2d_backward_weight_kernel<T>, cuda::grid_size(count), cuda::kBlockSize, 0,
                                cuda::stream_of(ctx), p.geometry, static_cast<T*>(args[0].data),
                                static_cast<const T*>(args[1].data), static_cast<const T*>(args[2].data), count),
                   Conv2dBackwardWeightParams::op);
}

template <class T>
void register_for(KernelRegistry& registry) {
  constexpr DType dtype = dtype_of_v<T>;
  registry.add(make_kernel<Conv2dForwardParams, &conv2d_forward_cuda<T>>(DeviceType::CUDA, dtype, "cuda.hand"));
  registry.add(make_kernel<Conv2dBackwardInputParams, &conv2d_backward_input_cuda<T>>(DeviceType::CUDA, dtype,
                                                                                       "cuda.hand"));
  registry.add(make_kernel<Conv2dBackwardWeightParams, &conv2d_backward_weight_cuda<T>>(DeviceType::CUDA, dtype,
                                                                                         "cuda.hand"));
}

}  // namespace

void register_cuda_conv2d(KernelRegistry& registry) {
  register_for<float>(registry);
  register_for<double>(registry);
  // The 16-bit types convolve float32 copies (kernels/cuda/widened.cuh).
  for (DType dtype : {kFloat16, kBFloat16}) {
    registry.add(make_kernel<Conv2dForwardParams, &cuda::widened<Conv2dForwardParams, &conv2d_forward_cuda<float>>>(
        DeviceType::CUDA, dtype, "cuda.hand"));
    registry.add(make_kernel<Conv2dBackwardInputParams,
                             &cuda::widened<Conv2dBackwardInputParams, &conv2d_backward_input_cuda<float>>>(
        DeviceType::CUDA, dtype, "cuda.hand"));
    registry.add(make_kernel<Conv2dBackwardWeightParams,
                             &cuda::widened<Conv2dBackwardWeightParams, &conv2d_backward_weight_cuda<float>>>(
        DeviceType::CUDA, dtype, "cuda.hand"));
  }
}

}  // namespace redes
