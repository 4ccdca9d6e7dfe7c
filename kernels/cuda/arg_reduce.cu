// Max/min with indices along one dim on CUDA devices, for the same dtypes as
// kernels/cpu/arg_reduce.cpp. Both devices pick the same element: the first
// occurrence of the best value, and the first NaN when there is one
// (arg_best in kernels/arg_reduce_math.h, shared with the CPU).
//
// Two layouts, as in kernels/cuda/reduce.cu: one thread per position running
// arg_best (many positions whose rows lie far apart, e.g. a max over the
// batch), or one block per position whose threads scan every blockDim.x-th
// element and combine (value, index) pairs by block_reduce
// (kernels/cuda/block_reduce.cuh). The pair combination is associative and
// commutative, so the block finds the element arg_best's scan finds.
#include <algorithm>
#include <cstdint>

#include "core/cuda/check.h"
#include "kernels/arg_reduce_math.h"
#include "kernels/cuda/block_reduce.cuh"
#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/row_reduce.cuh"
#include "kernels/params.h"
#include "kernels/reduction_split.h"
#include "kernels/registry.h"

namespace redes {
namespace {

// Positions from which one thread per position keeps the device busy.
constexpr std::int64_t kMinColumns = 2048;

// One thread per kept position (kept_count of them), scanning its `length`
// inputs `stride` apart. in: geometry of the kept dims in in_kept; values and
// indices: geometry of their kept dims in values_kept / indices_kept, in the
// same order.
template <class T>
__global__ void arg_reduce_columns_kernel(TensorArg in_kept, TensorArg values_kept, TensorArg indices_kept, T* values,
                                          std::int64_t* indices, const T* in, std::int64_t kept_count,
                                          std::int64_t length, std::int64_t stride, bool max) {
  for (std::int64_t k = cuda::first_index(); k < kept_count; k += cuda::grid_stride()) {
    const ArgBest<T> best = arg_best(in + strided_offset(k, in_kept), length, stride, max);
    values[strided_offset(k, values_kept)] = best.value;
    indices[strided_offset(k, indices_kept)] = best.index;
  }
}

// The better of two candidates from disjoint index sets: a NaN first, then
// the larger (max) or smaller value, then the smaller index. An index of -1
// marks "no candidate" (a thread past the row's end).
template <class T>
__device__ __forceinline__ ArgBest<T> better(ArgBest<T> a, ArgBest<T> b, bool max) {
  if (a.index < 0) return b;
  if (b.index < 0) return a;
  const bool a_nan = a.value != a.value, b_nan = b.value != b.value;
  if (a_nan || b_nan) return (a_nan && (!b_nan || a.index < b.index)) ? a : b;
  if (a.value == b.value) return a.index < b.index ? a : b;
  return (max ? a.value > b.value : a.value < b.value) ? a : b;
}

// better() as the combination of a block reduction.
template <class T>
struct Better {
  bool max;
  __device__ ArgBest<T> operator()(ArgBest<T> a, ArgBest<T> b) const { return better(a, b, max); }
};

// One block per kept position (grid-stride); the geometry as above.
template <class T>
__global__ void arg_reduce_blocks_kernel(TensorArg in_kept, TensorArg values_kept, TensorArg indices_kept, T* values,
                                         std::int64_t* indices, const T* in, std::int64_t kept_count,
                                         std::int64_t length, std::int64_t stride, bool max) {
  const ArgBest<T> none{T{}, -1};
  for (std::int64_t k = blockIdx.x; k < kept_count; k += gridDim.x) {
    const T* row = in + strided_offset(k, in_kept);
    ArgBest<T> best = none;
    for (std::int64_t i = threadIdx.x; i < length; i += blockDim.x) {
      best = better(best, ArgBest<T>{row[i * stride], i}, max);
    }
    best = cuda::block_reduce(best, Better<T>{max}, none);
    if (threadIdx.x == 0) {
      values[strided_offset(k, values_kept)] = best.value;
      indices[strided_offset(k, indices_kept)] = best.index;
    }
  }
}

// args: values (in's sizes with 1 at dim, in's dtype), indices (same sizes,
// int64), in (any strides).
template <class T>
void arg_reduce_cuda(const ArgReduceParams& params, const TensorArg* args, int, const ExecContext& ctx) {
  const ReductionSplit split = split_reduction(args[0], args[2]);
  const ReductionSplit index_split = split_reduction(args[1], args[2]);
  const std::int64_t length = args[2].sizes[params.dim];
  const std::int64_t stride = args[2].strides[params.dim];
  const std::int64_t kept_count = split.kept.numel();
  if (kept_count == 0) return;
  // arg_best reads the first element unconditionally; on the device that
  // would be a fault, not a readable error.
  REDES_CHECK(length > 0, "arg_reduce: cannot reduce dim ", params.dim, " of size 0");
  const bool columns = kept_count >= kMinColumns && stride != 1;
  auto* kernel = columns ? arg_reduce_columns_kernel<T> : arg_reduce_blocks_kernel<T>;
  const unsigned grid =
      columns ? cuda::grid_size(kept_count) : static_cast<unsigned>(std::min(kept_count, cuda::kMaxBlocks));
  const unsigned block = columns ? cuda::kBlockSize : cuda::row_block_size(length);
  REDES_CUDA_CHECK(
      cuda::launch(kernel, grid, block, 0, cuda::stream_of(ctx), split.kept, split.out_kept, index_split.out_kept,
                   static_cast<T*>(args[0].data), static_cast<std::int64_t*>(args[1].data),
                   static_cast<const T*>(args[2].data), kept_count, length, stride, params.max),
      ArgReduceParams::op);
}

}  // namespace

void register_cuda_arg_reduce(KernelRegistry& registry) {
  registry.add(make_kernel<ArgReduceParams, &arg_reduce_cuda<float>>(DeviceType::CUDA, kFloat32, "cuda.hand"));
  registry.add(make_kernel<ArgReduceParams, &arg_reduce_cuda<double>>(DeviceType::CUDA, kFloat64, "cuda.hand"));
  registry.add(make_kernel<ArgReduceParams, &arg_reduce_cuda<std::int64_t>>(DeviceType::CUDA, kInt64, "cuda.hand"));
  registry.add(make_kernel<ArgReduceParams, &arg_reduce_cuda<std::int32_t>>(DeviceType::CUDA, kInt32, "cuda.hand"));
  registry.add(make_kernel<ArgReduceParams, &arg_reduce_cuda<Float16>>(DeviceType::CUDA, kFloat16, "cuda.hand"));
  registry.add(make_kernel<ArgReduceParams, &arg_reduce_cuda<BFloat16>>(DeviceType::CUDA, kBFloat16, "cuda.hand"));
}

}  // namespace redes
