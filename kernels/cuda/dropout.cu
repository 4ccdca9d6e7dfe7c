// Fused dropout on CUDA devices (DropoutParams): one thread per Philox block
// of four elements, with the logic of kernels/dropout_math.h, so the mask is
// bit-identical to the CPU's (Philox and the uniform conversion are integer
// and exact float operations; x * scale is one rounding on both).
#include <cstdint>

#include "core/cuda/check.h"
#include "kernels/cuda/launch.cuh"
#include "kernels/dropout_math.h"
#include "kernels/params.h"
#include "kernels/registry.h"

namespace redes {
namespace {

// out: contiguous, n elements; in: out's sizes, any strides. Thread t writes
// elements 4t .. 4t+3; consecutive threads touch consecutive 16- or 32-byte
// runs when in is dense.
template <class T>
__global__ void dropout_kernel(DropoutParams p, T* out, const T* in, TensorArg in_arg, bool in_dense, std::int64_t n) {
  const std::int64_t blocks = (n + 3) / 4;
  for (std::int64_t block = cuda::first_index(); block < blocks; block += cuda::grid_stride()) {
    dropout_math::block_at(out, in, in_arg, in_dense, block, n, p);
  }
}

template <class T>
void dropout_cuda(const DropoutParams& p, const TensorArg* args, int, const ExecContext& ctx) {
  const std::int64_t n = args[0].numel();
  if (n == 0) return;
  REDES_CUDA_CHECK(cuda::launch(dropout_kernel<T>, cuda::grid_size((n + 3) / 4), cuda::kBlockSize, 0,
                                cuda::stream_of(ctx), p, static_cast<T*>(args[0].data),
                                static_cast<const T*>(args[1].data), args[1], has_contiguous_strides(args[1]), n),
                   DropoutParams::op);
}

}  // namespace

void register_cuda_dropout(KernelRegistry& registry) {
  registry.add(make_kernel<DropoutParams, &dropout_cuda<float>>(DeviceType::CUDA, kFloat32, "cuda.hand"));
  registry.add(make_kernel<DropoutParams, &dropout_cuda<double>>(DeviceType::CUDA, kFloat64, "cuda.hand"));
  registry.add(make_kernel<DropoutParams, &dropout_cuda<Float16>>(DeviceType::CUDA, kFloat16, "cuda.hand"));
  registry.add(make_kernel<DropoutParams, &dropout_cuda<BFloat16>>(DeviceType::CUDA, kBFloat16, "cuda.hand"));
}

}  // namespace redes
