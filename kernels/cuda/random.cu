// Random draws on CUDA devices by the Philox contract of kernels/philox.h:
// element i gets the same bits as on the CPU (kernels/cpu/random.cpp).
#include <cstdint>
#include <type_traits>

#include "core/cuda/check.h"
#include "kernels/cuda/launch.cuh"
#include "kernels/params.h"
#include "kernels/philox.h"
#include "kernels/registry.h"

namespace redes {
namespace {

// low + scale * x rounded twice, as the CPU computes it: nvcc would fuse it
// into one FMA, and uniform draws are promised bit-identical across devices.
template <class T>
__device__ T scale_shift(T low, T scale, T x) {
  if constexpr (std::is_same_v<T, float>) {
    return __fadd_rn(low, __fmul_rn(scale, x));
  } else if constexpr (std::is_same_v<T, double>) {
    return __dadd_rn(low, __dmul_rn(scale, x));
  } else {
    return static_cast<T>(low + scale * x);
  }
}

// out: contiguous, n elements; the same per-element expressions as the CPU.
template <class T>
__global__ void random_kernel(RandomParams p, T* out, std::int64_t n) {
  using Real = std::conditional_t<std::is_same_v<T, double>, double, float>;
  for (std::int64_t i = cuda::first_index(); i < n; i += cuda::grid_stride()) {
    const auto index = static_cast<std::uint64_t>(i);
    switch (p.distribution) {
      case Distribution::Bits:
        out[i] = static_cast<T>(philox::bits(p.seed, p.offset, index));
        break;
      case Distribution::Uniform: {
        const T u = static_cast<T>(philox::uniform(p.seed, p.offset, index));
        out[i] = scale_shift(static_cast<T>(p.a), static_cast<T>(p.b - p.a), u);
        break;
      }
      case Distribution::Normal: {
        const Real z = philox::normal<Real>(p.seed, p.offset, index);
        out[i] = static_cast<T>(scale_shift(static_cast<Real>(p.a), static_cast<Real>(p.b), z));
        break;
      }
      case Distribution::Bernoulli:
        out[i] = static_cast<T>(philox::bernoulli(p.seed, p.offset, index, static_cast<float>(p.a)) ? 1 : 0);
        break;
    }
  }
}

template <class T>
void random_cuda(const RandomParams& p, const TensorArg* args, int, const ExecContext& ctx) {
  const std::int64_t n = args[0].numel();
  if (n == 0) return;
  REDES_CUDA_CHECK(cuda::launch(random_kernel<T>, cuda::grid_size(n), cuda::kBlockSize, 0, cuda::stream_of(ctx), p,
                                static_cast<T*>(args[0].data), n),
                   RandomParams::op);
}

// Integer tensors take raw bits and Bernoulli draws only.
bool integer_distribution(const void* params, const TensorArg*, int) {
  const Distribution d = static_cast<const RandomParams*>(params)->distribution;
  return d == Distribution::Bits || d == Distribution::Bernoulli;
}

}  // namespace

void register_cuda_random(KernelRegistry& registry) {
  registry.add(make_kernel<RandomParams, &random_cuda<float>>(DeviceType::CUDA, kFloat32, "cuda.hand"));
  registry.add(make_kernel<RandomParams, &random_cuda<double>>(DeviceType::CUDA, kFloat64, "cuda.hand"));
  registry.add(make_kernel<RandomParams, &random_cuda<std::int64_t>>(DeviceType::CUDA, kInt64, "cuda.hand", 0,
                                                                     &integer_distribution));
}

}  // namespace redes
