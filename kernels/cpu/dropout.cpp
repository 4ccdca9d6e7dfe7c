// Fused dropout on the CPU (DropoutParams): mask draw, mask and scale in one
// pass. The Philox blocks are drawn many at a time (kernels/cpu/philox_blocks.h)
// and applied with dropout_math::apply, the per-element rule the CUDA kernel
// shares.
#include <algorithm>
#include <cstdint>

#include "kernels/cpu/parallel.h"
#include "kernels/cpu/philox_blocks.h"
#include "kernels/cpu/vector_math.h"
#include "kernels/dropout_math.h"
#include "kernels/params.h"
#include "kernels/registry.h"

namespace redes {
namespace {

// Philox blocks (4 elements each) below which a call stays on one thread.
constexpr std::int64_t kDropoutGrain = 1024;

// Elements [4 * lo, min(4 * hi, n)) of the output: blocks lo .. hi - 1.
template <class T>
REDES_INLINE_IN_CLONES void dropout_blocks(const DropoutParams& p, T* out, const T* in, const TensorArg& in_arg,
                                           bool in_dense, std::int64_t n, std::int64_t lo, std::int64_t hi) {
  using C = compute_type_t<T>;
  const C scale = static_cast<C>(p.scale);
  std::uint32_t bits[4 * cpu::kPhiloxBatch];
  for (std::int64_t block = lo; block < hi; block += cpu::kPhiloxBatch) {
    const int count = static_cast<int>(std::min<std::int64_t>(cpu::kPhiloxBatch, hi - block));
    cpu::philox_blocks(p.seed, p.offset + static_cast<std::uint64_t>(block), count, bits);
    const std::int64_t first = 4 * block;
    const std::int64_t size = std::min<std::int64_t>(4 * count, n - first);
    if (in_dense) {
      const T* x = in + first;
      T* y = out + first;
      for (std::int64_t i = 0; i < size; ++i) {
        y[i] = static_cast<T>(dropout_math::apply(static_cast<C>(x[i]), bits[i], p.keep, scale));
      }
    } else {
      for (std::int64_t i = 0; i < size; ++i) {
        const T x = in[strided_offset(first + i, in_arg)];
        out[first + i] = static_cast<T>(dropout_math::apply(static_cast<C>(x), bits[i], p.keep, scale));
      }
    }
  }
}

REDES_VECTOR_CLONES void dropout_range(const DropoutParams& p, float* out, const float* in, const TensorArg& in_arg,
                                       bool in_dense, std::int64_t n, std::int64_t lo, std::int64_t hi) {
  dropout_blocks(p, out, in, in_arg, in_dense, n, lo, hi);
}

REDES_VECTOR_CLONES void dropout_range(const DropoutParams& p, double* out, const double* in,
                                       const TensorArg& in_arg, bool in_dense, std::int64_t n, std::int64_t lo,
                                       std::int64_t hi) {
  dropout_blocks(p, out, in, in_arg, in_dense, n, lo, hi);
}

// The 16-bit types: SIMD clones buy little for their conversions.
template <class T>
void dropout_range(const DropoutParams& p, T* out, const T* in, const TensorArg& in_arg, bool in_dense,
                   std::int64_t n, std::int64_t lo, std::int64_t hi) {
  dropout_blocks(p, out, in, in_arg, in_dense, n, lo, hi);
}

// out: contiguous; in: out's sizes, any strides. Each element depends on
// (seed, offset, i) alone, so any split over threads gives the same bits.
template <class T>
void dropout_cpu(const DropoutParams& p, const TensorArg* args, int, const ExecContext&) {
  const std::int64_t n = args[0].numel();
  T* out = static_cast<T*>(args[0].data);
  const T* in = static_cast<const T*>(args[1].data);
  const bool in_dense = has_contiguous_strides(args[1]);
  cpu::parallel_for(0, (n + 3) / 4, kDropoutGrain, [&](std::int64_t lo, std::int64_t hi) {
    dropout_range(p, out, in, args[1], in_dense, n, lo, hi);
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
