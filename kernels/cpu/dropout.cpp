// Fused dropout on the CPU (DropoutParams): mask draw, mask and scale in one
// pass, with the per-block logic of kernels/dropout_math.h.
#include <cstdint>

#include "kernels/cpu/parallel.h"
#include "kernels/dropout_math.h"
#include "kernels/params.h"
#include "kernels/registry.h"

namespace redes {
namespace {

// Philox blocks (4 elements each) below which a call stays on one thread.
constexpr std::int64_t kDropoutGrain = 1024;

// out: contiguous; in: out's sizes, any strides. Each element depends on
// (seed, offset, i) alone, so any split over threads gives the same bits.
template <class T>
void dropout_cpu(const DropoutParams& p, const TensorArg* args, int, const ExecContext&) {
  const std::int64_t n = args[0].numel();
  T* out = static_cast<T*>(args[0].data);
  const T* in = static_cast<const T*>(args[1].data);
  const bool in_dense = has_contiguous_strides(args[1]);
  cpu::parallel_for(0, (n + 3) / 4, kDropoutGrain, [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t block = lo; block < hi; ++block) dropout_math::block_at(out, in, args[1], in_dense, block, n, p);
  });
}

}  // namespace

void register_cpu_dropout(KernelRegistry& registry) {
  registry.add(make_kernel<DropoutParams, &dropout_cpu<float>>(DeviceType::CPU, kFloat32, "cpu"));
  registry.add(make_kernel<DropoutParams, &dropout_cpu<double>>(DeviceType::CPU, kFloat64, "cpu"));
  registry.add(make_kernel<DropoutParams, &dropout_cpu<Float16>>(DeviceType::CPU, kFloat16, "cpu"));
  registry.add(make_kernel<DropoutParams, &dropout_cpu<BFloat16>>(DeviceType::CPU, kBFloat16, "cpu"));
}

}  // namespace redes
