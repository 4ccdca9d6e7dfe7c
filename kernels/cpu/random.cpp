// Random draws on the CPU by the Philox contract of kernels/philox.h.
#include <cstdint>

#include "kernels/cpu/parallel.h"
#include "kernels/params.h"
#include "kernels/philox.h"
#include "kernels/registry.h"

namespace redes {
namespace {

// Elements below which a draw stays on one thread (Philox costs tens of
// nanoseconds per element).
constexpr std::int64_t kRandomGrain = 4096;

// out: contiguous. Element i is a function of (seed, offset, i) alone, so any
// split over threads gives bit-identical numbers.
template <class T>
void random_cpu(const RandomParams& p, const TensorArg* args, int, const ExecContext&) {
  T* out = static_cast<T*>(args[0].data);
  cpu::parallel_for(0, args[0].numel(), kRandomGrain, [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t i = lo; i < hi; ++i) {
      const auto index = static_cast<std::uint64_t>(i);
      switch (p.distribution) {
        case Distribution::Bits:
          out[i] = static_cast<T>(philox::bits(p.seed, p.offset, index));
          break;
        case Distribution::Uniform: {
          const T u = static_cast<T>(philox::uniform(p.seed, p.offset, index));
          out[i] = static_cast<T>(static_cast<T>(p.a) + u * static_cast<T>(p.b - p.a));
          break;
        }
        case Distribution::Normal: {
          using Real = std::conditional_t<std::is_same_v<T, double>, double, float>;
          const Real z = philox::normal<Real>(p.seed, p.offset, index);
          out[i] = static_cast<T>(static_cast<Real>(p.a) + static_cast<Real>(p.b) * z);
          break;
        }
        case Distribution::Bernoulli:
          out[i] = static_cast<T>(philox::bernoulli(p.seed, p.offset, index, static_cast<float>(p.a)) ? 1 : 0);
          break;
      }
    }
  });
}

// Integer tensors take raw bits and Bernoulli draws only.
bool integer_distribution(const void* params, const TensorArg*, int) {
  const Distribution d = static_cast<const RandomParams*>(params)->distribution;
  return d == Distribution::Bits || d == Distribution::Bernoulli;
}

}  // namespace

void register_cpu_random(KernelRegistry& registry) {
  registry.add(make_kernel<RandomParams, &random_cpu<float>>(DeviceType::CPU, kFloat32, "cpu"));
  registry.add(make_kernel<RandomParams, &random_cpu<double>>(DeviceType::CPU, kFloat64, "cpu"));
  registry.add(make_kernel<RandomParams, &random_cpu<std::int64_t>>(DeviceType::CPU, kInt64, "cpu", 0,
                                                                    &integer_distribution));
}

}  // namespace redes
