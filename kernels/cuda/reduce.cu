// Sum over a set of dims on CUDA devices. The split into kept and reduced dims
// is kernels/reduction_split.h, shared with kernels/cpu/reduce.cpp, and the
// accumulators are the CPU's (double for floating types, int64 for integers).
//
// Two layouts of the work, chosen per call from the geometry:
// - columns: the reduced elements of one output lie far apart and
//   neighbouring outputs lie side by side (a sum over the batch, such as a
//   bias gradient): one thread per output, so a warp reads consecutive
//   addresses at each step;
// - blocks: otherwise each output gets a block of threads striding over its
//   reduced elements, combined by block_reduce; a long reduction with few
//   outputs (a whole-tensor sum) is split over several blocks per output,
//   and a second kernel adds each output's partial sums in block order.
// Every combination happens in an order fixed by the launch geometry, which
// depends only on the shapes: the same bits on every run, without atomics.
#include <algorithm>
#include <cstdint>
#include <type_traits>

#include "core/cuda/check.h"
#include "kernels/cuda/block_reduce.cuh"
#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/sum_into.h"
#include "kernels/params.h"
#include "kernels/reduction_split.h"
#include "kernels/registry.h"

namespace redes {
namespace {

template <class T>
using SumAccumulator = std::conditional_t<is_floating_element_v<T>, double, std::int64_t>;

// Blocks the whole launch aims for when it splits reductions: a few per SM
// of an H100 (132 SMs), enough to keep every SM reading.
constexpr std::int64_t kTargetBlocks = 4 * 132;
// A split part is at least this many elements per thread of its block.
constexpr std::int64_t kMinElementsPerThread = 8;
// Outputs from which the column layout alone keeps the device busy.
constexpr std::int64_t kMinColumns = 2048;

// Columns: one thread per output element (kept_count of them), looping over
// its reduced_count inputs.
template <class T>
__global__ void sum_columns_kernel(ReductionSplit split, T* out, const T* in, std::int64_t kept_count,
                                   std::int64_t reduced_count) {
  using Acc = SumAccumulator<T>;
  for (std::int64_t k = cuda::first_index(); k < kept_count; k += cuda::grid_stride()) {
    const T* base = in + strided_offset(k, split.kept);
    Acc acc = 0;
    for (std::int64_t r = 0; r < reduced_count; ++r) acc += static_cast<Acc>(base[strided_offset(r, split.reduced)]);
    out[strided_offset(k, split.out_kept)] = static_cast<T>(acc);
  }
}

// The sum of reduced elements [begin, end) of the output whose first reduced
// element is `base`, this thread's share (every blockDim.x-th element).
template <class T>
__device__ SumAccumulator<T> thread_share(const T* base, const TensorArg& reduced, std::int64_t begin,
                                          std::int64_t end) {
  SumAccumulator<T> acc = 0;
  if (reduced.ndim == 1) {
    const std::int64_t stride = reduced.strides[0];
    for (std::int64_t r = begin + threadIdx.x; r < end; r += blockDim.x) {
      acc += static_cast<SumAccumulator<T>>(base[r * stride]);
    }
  } else {
    for (std::int64_t r = begin + threadIdx.x; r < end; r += blockDim.x) {
      acc += static_cast<SumAccumulator<T>>(base[strided_offset(r, reduced)]);
    }
  }
  return acc;
}

// Blocks: grid (outputs, parts). Block (x, y) sums part y, `part_length`
// elements long, of outputs x, x + gridDim.x, ...; with one part it writes
// the output, with several it writes partials[k * parts + y].
template <class T>
__global__ void sum_blocks_kernel(ReductionSplit split, T* out, SumAccumulator<T>* partials, const T* in,
                                  std::int64_t kept_count, std::int64_t reduced_count, std::int64_t part_length) {
  using Acc = SumAccumulator<T>;
  const std::int64_t begin = static_cast<std::int64_t>(blockIdx.y) * part_length;
  const std::int64_t end = cuda::device_min(begin + part_length, reduced_count);
  for (std::int64_t k = blockIdx.x; k < kept_count; k += gridDim.x) {
    const Acc total = cuda::block_reduce(thread_share(in + strided_offset(k, split.kept), split.reduced, begin, end),
                                         cuda::Plus{}, Acc{0});
    if (threadIdx.x != 0) continue;
    if (partials == nullptr) {
      out[strided_offset(k, split.out_kept)] = static_cast<T>(total);
    } else {
      partials[k * gridDim.y + blockIdx.y] = total;
    }
  }
}

// One thread per output: adds its `parts` partial sums in part order.
template <class T>
__global__ void sum_partials_kernel(ReductionSplit split, T* out, const SumAccumulator<T>* partials,
                                    std::int64_t kept_count, std::int64_t parts) {
  for (std::int64_t k = cuda::first_index(); k < kept_count; k += cuda::grid_stride()) {
    SumAccumulator<T> acc = 0;
    for (std::int64_t p = 0; p < parts; ++p) acc += partials[k * parts + p];
    out[strided_offset(k, split.out_kept)] = static_cast<T>(acc);
  }
}

// The reduced elements are far apart in memory while neighbouring outputs
// are not, and there are enough outputs to fill the device.
bool columns_layout(const ReductionSplit& split, std::int64_t kept_count) {
  const TensorArg& reduced = split.reduced;
  const TensorArg& kept = split.kept;
  return kept_count >= kMinColumns && reduced.ndim > 0 && reduced.strides[reduced.ndim - 1] != 1 && kept.ndim > 0 &&
         kept.strides[kept.ndim - 1] == 1;
}

}  // namespace

namespace cuda {

template <class T>
void sum_into(const TensorArg& out_arg, const TensorArg& in_arg, const ExecContext& ctx) {
  using Acc = SumAccumulator<T>;
  ReductionSplit split = split_reduction(out_arg, in_arg);
  split.reduced = merge_dims(split.reduced);
  const std::int64_t kept_count = split.kept.numel();
  const std::int64_t reduced_count = split.reduced.numel();
  if (kept_count == 0) return;
  T* out = static_cast<T*>(out_arg.data);
  const T* in = static_cast<const T*>(in_arg.data);
  const cudaStream_t stream = cuda::stream_of(ctx);

  if (columns_layout(split, kept_count)) {
    REDES_CUDA_CHECK(cuda::launch(sum_columns_kernel<T>, cuda::grid_size(kept_count), cuda::kBlockSize, 0, stream,
                                  split, out, in, kept_count, reduced_count),
                     SumParams::op);
    return;
  }
  // Parts per output: enough blocks in all for the device, no part shorter
  // than kMinElementsPerThread per thread, at most 65535 (grid's y limit).
  const std::int64_t longest_split =
      std::max<std::int64_t>(1, reduced_count / (kMinElementsPerThread * cuda::kBlockSize));
  const std::int64_t wanted = (kTargetBlocks + kept_count - 1) / kept_count;
  const std::int64_t parts = std::clamp<std::int64_t>(std::min(wanted, longest_split), 1, 65535);
  const std::int64_t part_length = (reduced_count + parts - 1) / parts;
  const dim3 grid(static_cast<unsigned>(std::min(kept_count, cuda::kMaxBlocks)), static_cast<unsigned>(parts));
  Acc* partials = nullptr;
  if (parts > 1) {
    REDES_CHECK(ctx.workspace != nullptr, "sum: the CUDA kernel needs a workspace for its partial sums");
    partials = static_cast<Acc*>(ctx.workspace->request(static_cast<std::size_t>(kept_count * parts) * sizeof(Acc)));
  }
  REDES_CUDA_CHECK(cuda::launch(sum_blocks_kernel<T>, grid, cuda::kBlockSize, 0, stream, split, out, partials, in,
                                kept_count, reduced_count, part_length),
                   SumParams::op);
  if (parts == 1) return;
  REDES_CUDA_CHECK(cuda::launch(sum_partials_kernel<T>, cuda::grid_size(kept_count), cuda::kBlockSize, 0, stream, split,
                                out, partials, kept_count, parts),
                   SumParams::op);
}

template void sum_into<float>(const TensorArg&, const TensorArg&, const ExecContext&);
template void sum_into<double>(const TensorArg&, const TensorArg&, const ExecContext&);

}  // namespace cuda

namespace {

// args: out (in's sizes with 1 on reduced dims, any strides), in (any strides).
template <class T>
void sum_cuda(const SumParams&, const TensorArg* args, int, const ExecContext& ctx) {
  cuda::sum_into<T>(args[0], args[1], ctx);
}

}  // namespace

void register_cuda_reduce(KernelRegistry& registry) {
  registry.add(make_kernel<SumParams, &sum_cuda<float>>(DeviceType::CUDA, kFloat32, "cuda.hand"));
  registry.add(make_kernel<SumParams, &sum_cuda<double>>(DeviceType::CUDA, kFloat64, "cuda.hand"));
  registry.add(make_kernel<SumParams, &sum_cuda<std::int64_t>>(DeviceType::CUDA, kInt64, "cuda.hand"));
  registry.add(make_kernel<SumParams, &sum_cuda<std::int32_t>>(DeviceType::CUDA, kInt32, "cuda.hand"));
  registry.add(make_kernel<SumParams, &sum_cuda<Float16>>(DeviceType::CUDA, kFloat16, "cuda.hand"));
  registry.add(make_kernel<SumParams, &sum_cuda<BFloat16>>(DeviceType::CUDA, kBFloat16, "cuda.hand"));
}

}  // namespace redes
