// Image augmentations on CUDA devices (AugmentParams): one thread per output
// element running augment_math::output_element, the CPU kernel's function.
// Flip and shift are copies, so bit-identical to the CPU; rotation may differ
// in the last bits where nvcc contracts the bilinear sums into FMAs; noise
// uses the device's log/sqrt/sin/cos (the Philox normal contract's few ulp).
#include <cstdint>

#include "core/cuda/check.h"
#include "kernels/augment_math.h"
#include "kernels/cuda/launch.cuh"
#include "kernels/params.h"
#include "kernels/registry.h"

namespace redes {
namespace {

// out, in: (N, C, H, W) contiguous, n elements; consecutive threads write
// consecutive pixels of a row. ints / reals: (N, 2) per-sample parameters.
template <class Real>
__global__ void augment_kernel(AugmentParams p, Real* out, const Real* in, const std::int64_t* ints,
                               const double* reals, data::augment_math::ImageGeometry geometry, std::int64_t n) {
  for (std::int64_t i = cuda::first_index(); i < n; i += cuda::grid_stride()) {
    out[i] = data::augment_math::output_element(p, in, ints, reals, geometry, i);
  }
}

template <class Real>
void augment_cuda(const AugmentParams& p, const TensorArg* args, int, const ExecContext& ctx) {
  const std::int64_t n = args[0].numel();
  if (n == 0) return;
  const bool real_parameters = p.kind == AugmentKind::Rotate;
  const auto* ints = real_parameters ? nullptr : static_cast<const std::int64_t*>(args[2].data);
  const auto* reals = real_parameters ? static_cast<const double*>(args[2].data) : nullptr;
  const data::augment_math::ImageGeometry geometry{args[1].sizes[1], args[1].sizes[2], args[1].sizes[3]};
  REDES_CUDA_CHECK(
      cuda::launch(augment_kernel<Real>, cuda::grid_size(n), cuda::kBlockSize, 0, cuda::stream_of(ctx), p,
                   static_cast<Real*>(args[0].data), static_cast<const Real*>(args[1].data), ints, reals, geometry, n),
      AugmentParams::op);
}

}  // namespace

void register_cuda_augment(KernelRegistry& registry) {
  registry.add(make_kernel<AugmentParams, &augment_cuda<float>>(DeviceType::CUDA, kFloat32, "cuda.hand"));
  registry.add(make_kernel<AugmentParams, &augment_cuda<double>>(DeviceType::CUDA, kFloat64, "cuda.hand"));
}

}  // namespace redes
