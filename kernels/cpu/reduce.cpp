// Sum over a set of dims on the CPU.
#include <cstdint>
#include <type_traits>

#include "kernels/params.h"
#include "kernels/reduction_split.h"
#include "kernels/registry.h"

namespace redes {
namespace {

// out: in's sizes with 1 on reduced dims; in: any strides.
template <class T>
void sum_cpu(const SumParams&, const TensorArg* args, int, const ExecContext&) {
  using Acc = std::conditional_t<std::is_floating_point_v<T>, double, std::int64_t>;
  T* out_data = static_cast<T*>(args[0].data);
  const T* in_data = static_cast<const T*>(args[1].data);
  const ReductionSplit split = split_reduction(args[0], args[1]);
  const std::int64_t kept_count = split.kept.numel();
  const std::int64_t reduced_count = split.reduced.numel();
  for (std::int64_t k = 0; k < kept_count; ++k) {
    const T* base = in_data + strided_offset(k, split.kept);
    Acc acc = 0;
    for (std::int64_t r = 0; r < reduced_count; ++r) acc += static_cast<Acc>(base[strided_offset(r, split.reduced)]);
    out_data[strided_offset(k, split.out_kept)] = static_cast<T>(acc);
  }
}

}  // namespace

void register_cpu_reduce(KernelRegistry& registry) {
  registry.add(make_kernel<SumParams, &sum_cpu<float>>(DeviceType::CPU, kFloat32, "cpu"));
  registry.add(make_kernel<SumParams, &sum_cpu<double>>(DeviceType::CPU, kFloat64, "cpu"));
  registry.add(make_kernel<SumParams, &sum_cpu<std::int64_t>>(DeviceType::CPU, kInt64, "cpu"));
  registry.add(make_kernel<SumParams, &sum_cpu<std::int32_t>>(DeviceType::CPU, kInt32, "cpu"));
}

}  // namespace redes
