// Max/min with indices along one dim on CUDA devices, for the same dtypes as
// kernels/cpu/arg_reduce.cpp. The scan is arg_best from
// kernels/arg_reduce_math.h and the geometry split_reduction from
// kernels/reduction_split.h, both shared with the CPU, so both devices pick
// the same element (first occurrence, NaN wins).
#include <cstdint>

#include "core/cuda/check.h"
#include "kernels/arg_reduce_math.h"
#include "kernels/cuda/launch.cuh"
#include "kernels/params.h"
#include "kernels/reduction_split.h"
#include "kernels/registry.h"

namespace redes {
namespace {

// One thread per kept position (kept_count of them), scanning its `length`
// inputs `stride` apart. in: geometry of the kept dims in in_kept; values and
// indices: geometry of their kept dims in values_kept / indices_kept, in the
// same order.
template <class T>
__global__ void arg_reduce_kernel(TensorArg in_kept, TensorArg values_kept, TensorArg indices_kept, T* values,
                                  std::int64_t* indices, const T* in, std::int64_t kept_count, std::int64_t length,
                                  std::int64_t stride, bool max) {
  for (std::int64_t k = cuda::first_index(); k < kept_count; k += cuda::grid_stride()) {
    const ArgBest<T> best = arg_best(in + strided_offset(k, in_kept), length, stride, max);
    values[strided_offset(k, values_kept)] = best.value;
    indices[strided_offset(k, indices_kept)] = best.index;
  }
}

// args: values (in's sizes with 1 at dim, in's dtype), indices (same sizes,
// int64), in (any strides).
template <class T>
void arg_reduce_cuda(const ArgReduceParams& params, const TensorArg* args, int, const ExecContext& ctx) {
  const ReductionSplit split = split_reduction(args[0], args[2]);
  const ReductionSplit index_split = split_reduction(args[1], args[2]);
  const std::int64_t length = args[2].sizes[params.dim];
  const std::int64_t kept_count = split.kept.numel();
  if (kept_count == 0) return;
  // arg_best reads the first element unconditionally; on the device that
  // would be a fault, not a readable error.
  REDES_CHECK(length > 0, "arg_reduce: cannot reduce dim ", params.dim, " of size 0");
  REDES_CUDA_CHECK(
      cuda::launch(arg_reduce_kernel<T>, cuda::grid_size(kept_count), cuda::kBlockSize, 0, cuda::stream_of(ctx),
                   split.kept, split.out_kept, index_split.out_kept, static_cast<T*>(args[0].data),
                   static_cast<std::int64_t*>(args[1].data), static_cast<const T*>(args[2].data), kept_count, length,
                   args[2].strides[params.dim], params.max),
      ArgReduceParams::op);
}

}  // namespace

void register_cuda_arg_reduce(KernelRegistry& registry) {
  registry.add(make_kernel<ArgReduceParams, &arg_reduce_cuda<float>>(DeviceType::CUDA, kFloat32, "cuda.hand"));
  registry.add(make_kernel<ArgReduceParams, &arg_reduce_cuda<double>>(DeviceType::CUDA, kFloat64, "cuda.hand"));
  registry.add(make_kernel<ArgReduceParams, &arg_reduce_cuda<std::int64_t>>(DeviceType::CUDA, kInt64, "cuda.hand"));
  registry.add(make_kernel<ArgReduceParams, &arg_reduce_cuda<std::int32_t>>(DeviceType::CUDA, kInt32, "cuda.hand"));
}

}  // namespace redes
