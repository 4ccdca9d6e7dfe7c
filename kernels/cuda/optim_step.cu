// Fused optimizer steps on CUDA devices (SgdStepParams, AdamStepParams): one
// thread per parameter element, coalesced over contiguous tensors, with the
// per-element updates of kernels/optim_math.h (shared with the CPU).
#include <cstdint>

#include "core/cuda/check.h"
#include "kernels/cuda/launch.cuh"
#include "kernels/optim_math.h"
#include "kernels/params.h"
#include "kernels/registry.h"

namespace redes {
namespace {

// param, grad, buffer: contiguous, n elements; buffer is null when momentum is 0.
template <class T>
__global__ void sgd_step_kernel(SgdStepParams p, T* param, const T* grad, T* buffer, std::int64_t n) {
  for (std::int64_t i = cuda::first_index(); i < n; i += cuda::grid_stride()) {
    T unused = 0;
    optim_math::sgd_element(param[i], grad[i], buffer != nullptr ? buffer[i] : unused, p);
  }
}

// param, grad, m, v: contiguous, n elements.
template <class T>
__global__ void adam_step_kernel(AdamStepParams p, T* param, const T* grad, T* m, T* v, std::int64_t n) {
  for (std::int64_t i = cuda::first_index(); i < n; i += cuda::grid_stride()) {
    optim_math::adam_element(param[i], grad[i], m[i], v[i], p);
  }
}

template <class T>
void sgd_step_cuda(const SgdStepParams& p, const TensorArg* args, int, const ExecContext& ctx) {
  const std::int64_t n = args[0].numel();
  if (n == 0) return;
  T* buffer = p.momentum != 0 ? static_cast<T*>(args[2].data) : nullptr;
  REDES_CUDA_CHECK(cuda::launch(sgd_step_kernel<T>, cuda::grid_size(n), cuda::kBlockSize, 0, cuda::stream_of(ctx), p,
                                static_cast<T*>(args[0].data), static_cast<const T*>(args[1].data), buffer, n),
                   SgdStepParams::op);
}

template <class T>
void adam_step_cuda(const AdamStepParams& p, const TensorArg* args, int, const ExecContext& ctx) {
  const std::int64_t n = args[0].numel();
  if (n == 0) return;
  REDES_CUDA_CHECK(cuda::launch(adam_step_kernel<T>, cuda::grid_size(n), cuda::kBlockSize, 0, cuda::stream_of(ctx), p,
                                static_cast<T*>(args[0].data), static_cast<const T*>(args[1].data),
                                static_cast<T*>(args[2].data), static_cast<T*>(args[3].data), n),
                   AdamStepParams::op);
}

}  // namespace

void register_cuda_optim_step(KernelRegistry& registry) {
  registry.add(make_kernel<SgdStepParams, &sgd_step_cuda<float>>(DeviceType::CUDA, kFloat32, "cuda.hand"));
  registry.add(make_kernel<SgdStepParams, &sgd_step_cuda<double>>(DeviceType::CUDA, kFloat64, "cuda.hand"));
  registry.add(make_kernel<AdamStepParams, &adam_step_cuda<float>>(DeviceType::CUDA, kFloat32, "cuda.hand"));
  registry.add(make_kernel<AdamStepParams, &adam_step_cuda<double>>(DeviceType::CUDA, kFloat64, "cuda.hand"));
}

}  // namespace redes
