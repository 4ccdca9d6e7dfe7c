// Image augmentations on the CPU (AugmentParams): every output element is
// augment_math::output_element, the function the CUDA kernel calls too.
#include <cstdint>

#include "kernels/augment_math.h"
#include "kernels/cpu/parallel.h"
#include "kernels/params.h"
#include "kernels/registry.h"

namespace redes {
namespace {

// Elements below which a call stays on one thread.
constexpr std::int64_t kAugmentGrain = 16384;

// out, in: (N, C, H, W) contiguous; per_sample: (N, 2) contiguous, int64 or float64 by kind.
template <class Real>
void augment_cpu(const AugmentParams& p, const TensorArg* args, int, const ExecContext&) {
  Real* out = static_cast<Real*>(args[0].data);
  const Real* in = static_cast<const Real*>(args[1].data);
  const bool real_parameters = p.kind == AugmentKind::Rotate;
  const auto* ints = real_parameters ? nullptr : static_cast<const std::int64_t*>(args[2].data);
  const auto* reals = real_parameters ? static_cast<const double*>(args[2].data) : nullptr;
  const data::augment_math::ImageGeometry geometry{args[1].sizes[1], args[1].sizes[2], args[1].sizes[3]};
  cpu::parallel_for(0, args[0].numel(), kAugmentGrain, [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t i = lo; i < hi; ++i) out[i] = data::augment_math::output_element(p, in, ints, reals, geometry, i);
  });
}

}  // namespace

void register_cpu_augment(KernelRegistry& registry) {
  registry.add(make_kernel<AugmentParams, &augment_cpu<float>>(DeviceType::CPU, kFloat32, "cpu"));
  registry.add(make_kernel<AugmentParams, &augment_cpu<double>>(DeviceType::CPU, kFloat64, "cpu"));
}

}  // namespace redes
