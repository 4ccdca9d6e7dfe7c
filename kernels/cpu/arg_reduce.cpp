// Max/min with indices along one dim, on the CPU.
#include <cstdint>

#include "kernels/arg_reduce_math.h"
#include "kernels/params.h"
#include "kernels/reduction_split.h"
#include "kernels/registry.h"

namespace redes {
namespace {

// values, indices: in's sizes with 1 at dim; in: any strides.
template <class T>
void arg_reduce_cpu(const ArgReduceParams& params, const TensorArg* args, int, const ExecContext&) {
  T* values = static_cast<T*>(args[0].data);
  std::int64_t* indices = static_cast<std::int64_t*>(args[1].data);
  const T* in = static_cast<const T*>(args[2].data);
  const ReductionSplit split = split_reduction(args[0], args[2]);
  const ReductionSplit index_split = split_reduction(args[1], args[2]);
  const std::int64_t length = args[2].sizes[params.dim];
  const std::int64_t stride = args[2].strides[params.dim];
  const std::int64_t kept_count = split.kept.numel();
  for (std::int64_t k = 0; k < kept_count; ++k) {
    const ArgBest<T> best = arg_best(in + strided_offset(k, split.kept), length, stride, params.max);
    values[strided_offset(k, split.out_kept)] = best.value;
    indices[strided_offset(k, index_split.out_kept)] = best.index;
  }
}

}  // namespace

void register_cpu_arg_reduce(KernelRegistry& registry) {
  registry.add(make_kernel<ArgReduceParams, &arg_reduce_cpu<float>>(DeviceType::CPU, kFloat32, "cpu"));
  registry.add(make_kernel<ArgReduceParams, &arg_reduce_cpu<double>>(DeviceType::CPU, kFloat64, "cpu"));
  registry.add(make_kernel<ArgReduceParams, &arg_reduce_cpu<std::int64_t>>(DeviceType::CPU, kInt64, "cpu"));
  registry.add(make_kernel<ArgReduceParams, &arg_reduce_cpu<std::int32_t>>(DeviceType::CPU, kInt32, "cpu"));
  registry.add(make_kernel<ArgReduceParams, &arg_reduce_cpu<Float16>>(DeviceType::CPU, kFloat16, "cpu"));
  registry.add(make_kernel<ArgReduceParams, &arg_reduce_cpu<BFloat16>>(DeviceType::CPU, kBFloat16, "cpu"));
}

}  // namespace redes
