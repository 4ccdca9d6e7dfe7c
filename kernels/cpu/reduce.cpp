// Sum over a set of dims on the CPU; floating types (16-bit ones included)
// accumulate in double.
#include <algorithm>
#include <cstdint>
#include <type_traits>

#include "kernels/cpu/convert_16bit.h"
#include "kernels/cpu/parallel.h"
#include "kernels/cpu/strided_loop.h"
#include "kernels/params.h"
#include "kernels/reduction_split.h"
#include "kernels/registry.h"

namespace redes {
namespace {

// Input elements below which a sum stays on one thread.
constexpr std::int64_t kSumGrain = 65536;

// The sum of reduced elements [lo, hi) (row-major over the reduced dims) of
// the kept element whose first reduced element is at `base`.
template <class Acc, class T>
Acc sum_reduced(const T* base, const TensorArg& reduced, std::int64_t lo, std::int64_t hi) {
  Acc acc = 0;
  cpu::for_each_run<1>(&reduced, lo, hi, [&](const cpu::Offsets<1>& first, const cpu::Offsets<1>& step,
                                             std::int64_t count) {
    const T* run = base + first[0];
    if constexpr (is_low_precision_v<T>) {
      if (step[0] == 1) {
        // Widened a block at a time by the vectorised conversion, so the
        // sum below runs in SIMD lanes as float32's does.
        float block[cpu::kWidenBlock];
        for (std::int64_t done = 0; done < count; done += cpu::kWidenBlock) {
          const std::int64_t size = std::min(cpu::kWidenBlock, count - done);
          cpu::widen_dense(run + done, block, size);
#pragma omp simd reduction(+ : acc)
          for (std::int64_t j = 0; j < size; ++j) acc += static_cast<Acc>(block[j]);
        }
        return;
      }
    }
    if (step[0] == 1) {
      // Vector lanes keep their own partial sums: a fixed order for a given
      // build, and memory bandwidth instead of one add's latency per element.
#pragma omp simd reduction(+ : acc)
      for (std::int64_t j = 0; j < count; ++j) acc += static_cast<Acc>(run[j]);
    } else {
      for (std::int64_t j = 0; j < count; ++j) acc += static_cast<Acc>(run[j * step[0]]);
    }
  });
  return acc;
}

// out: in's sizes with 1 on reduced dims; in: any strides.
template <class T>
void sum_cpu(const SumParams&, const TensorArg* args, int, const ExecContext&) {
  using Acc = std::conditional_t<is_floating_element_v<T>, double, std::int64_t>;
  T* out_data = static_cast<T*>(args[0].data);
  const T* in_data = static_cast<const T*>(args[1].data);
  const ReductionSplit split = split_reduction(args[0], args[1]);
  const std::int64_t kept_count = split.kept.numel();
  const std::int64_t reduced_count = split.reduced.numel();

  if (kept_count == 1) {
    // One output: the reduced range is cut into per-thread partial sums,
    // added in chunk order (deterministic for a fixed thread count).
    const T* base = in_data + strided_offset(0, split.kept);
    const Acc total = cpu::parallel_sum<Acc>(0, reduced_count, kSumGrain, [&](std::int64_t lo, std::int64_t hi) {
      return sum_reduced<Acc>(base, split.reduced, lo, hi);
    });
    out_data[strided_offset(0, split.out_kept)] = static_cast<T>(total);
    return;
  }
  // Many outputs: each thread takes whole outputs, each summed in the same
  // order whatever the thread count.
  const std::int64_t grain = std::max<std::int64_t>(1, kSumGrain / std::max<std::int64_t>(1, reduced_count));
  cpu::parallel_for(0, kept_count, grain, [&](std::int64_t first, std::int64_t last) {
    for (std::int64_t k = first; k < last; ++k) {
      const Acc acc = sum_reduced<Acc>(in_data + strided_offset(k, split.kept), split.reduced, 0, reduced_count);
      out_data[strided_offset(k, split.out_kept)] = static_cast<T>(acc);
    }
  });
}

}  // namespace

void register_cpu_reduce(KernelRegistry& registry) {
  registry.add(make_kernel<SumParams, &sum_cpu<float>>(DeviceType::CPU, kFloat32, "cpu"));
  registry.add(make_kernel<SumParams, &sum_cpu<double>>(DeviceType::CPU, kFloat64, "cpu"));
  registry.add(make_kernel<SumParams, &sum_cpu<std::int64_t>>(DeviceType::CPU, kInt64, "cpu"));
  registry.add(make_kernel<SumParams, &sum_cpu<std::int32_t>>(DeviceType::CPU, kInt32, "cpu"));
  registry.add(make_kernel<SumParams, &sum_cpu<Float16>>(DeviceType::CPU, kFloat16, "cpu"));
  registry.add(make_kernel<SumParams, &sum_cpu<BFloat16>>(DeviceType::CPU, kBFloat16, "cpu"));
}

}  // namespace redes
