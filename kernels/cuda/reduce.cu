// Sum over a set of dims on CUDA devices. The split into kept and reduced dims
// is kernels/reduction_split.h, shared with kernels/cpu/reduce.cpp, and each
// output element adds its inputs in the CPU's order with the CPU's accumulator,
// so both devices give the same sums.
#include <cstdint>
#include <type_traits>

#include "core/cuda/check.h"
#include "kernels/cuda/launch.cuh"
#include "kernels/params.h"
#include "kernels/reduction_split.h"
#include "kernels/registry.h"

namespace redes {
namespace {

// One thread per output element (kept_count of them), looping over its
// reduced_count inputs. in: geometry in split.kept / split.reduced; out:
// geometry in split.out_kept.
template <class T>
__global__ void sum_kernel(ReductionSplit split, T* out, const T* in, std::int64_t kept_count,
                           std::int64_t reduced_count) {
  using Acc = std::conditional_t<std::is_floating_point_v<T>, double, std::int64_t>;
  for (std::int64_t k = cuda::first_index(); k < kept_count; k += cuda::grid_stride()) {
    const T* base = in + strided_offset(k, split.kept);
    Acc acc = 0;
    for (std::int64_t r = 0; r < reduced_count; ++r) acc += static_cast<Acc>(base[strided_offset(r, split.reduced)]);
    out[strided_offset(k, split.out_kept)] = static_cast<T>(acc);
  }
}

// args: out (in's sizes with 1 on reduced dims, any strides), in (any strides).
template <class T>
void sum_cuda(const SumParams&, const TensorArg* args, int, const ExecContext& ctx) {
  const ReductionSplit split = split_reduction(args[0], args[1]);
  const std::int64_t kept_count = split.kept.numel();
  if (kept_count == 0) return;
  REDES_CUDA_CHECK(cuda::launch(sum_kernel<T>, cuda::grid_size(kept_count), cuda::kBlockSize, 0, cuda::stream_of(ctx),
                                split, static_cast<T*>(args[0].data), static_cast<const T*>(args[1].data), kept_count,
                                split.reduced.numel()),
                   SumParams::op);
}

}  // namespace

void register_cuda_reduce(KernelRegistry& registry) {
  registry.add(make_kernel<SumParams, &sum_cuda<float>>(DeviceType::CUDA, kFloat32, "cuda.hand"));
  registry.add(make_kernel<SumParams, &sum_cuda<double>>(DeviceType::CUDA, kFloat64, "cuda.hand"));
  registry.add(make_kernel<SumParams, &sum_cuda<std::int64_t>>(DeviceType::CUDA, kInt64, "cuda.hand"));
  registry.add(make_kernel<SumParams, &sum_cuda<std::int32_t>>(DeviceType::CUDA, kInt32, "cuda.hand"));
}

}  // namespace redes
