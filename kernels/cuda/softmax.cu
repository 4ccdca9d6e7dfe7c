// Softmax and log-softmax along one dim on CUDA devices, for the same dtypes
// as kernels/cpu/softmax.cpp: one block per row (kernels/cuda/row_reduce.cuh),
// the row's peak and sum of exponentials from block reductions in the CPU's
// types (kernels/arg_reduce_math.h), then every thread writes its elements.
#include <algorithm>
#include <cstdint>

#include "core/cuda/check.h"
#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/row_reduce.cuh"
#include "kernels/params.h"
#include "kernels/reduction_split.h"
#include "kernels/registry.h"

namespace redes {
namespace {

// One block per row (count of them, grid-stride). out_rows / in_rows: the
// tensors without the softmax dim, so strided_offset(r, ...) is where row r
// starts; within a row, elements are out_stride / in_stride apart, `length`
// of them.
template <class T>
__global__ void softmax_kernel(TensorArg out_rows, TensorArg in_rows, T* out, const T* in, std::int64_t out_stride,
                               std::int64_t in_stride, std::int64_t length, std::int64_t count, bool log_output) {
  for (std::int64_t r = blockIdx.x; r < count; r += gridDim.x) {
    const T* row = in + strided_offset(r, in_rows);
    T* out_row = out + strided_offset(r, out_rows);
    const RowExpSum<T> sums = cuda::block_row_exp_sum(row, in_stride, length);
    for (std::int64_t i = threadIdx.x; i < length; i += blockDim.x) {
      out_row[i * out_stride] = softmax_element(row[i * in_stride], sums, log_output);
    }
  }
}

// args: out, in — same sizes, any strides.
template <class T>
void softmax_cuda(const SoftmaxParams& params, const TensorArg* args, int, const ExecContext& ctx) {
  const TensorArg out_rows = drop_dim(args[0], params.dim);
  const TensorArg in_rows = drop_dim(args[1], params.dim);
  const std::int64_t length = args[1].sizes[params.dim];
  const std::int64_t count = in_rows.numel();
  if (count == 0 || length == 0) return;
  REDES_CUDA_CHECK(cuda::launch(softmax_kernel<T>, static_cast<unsigned>(std::min(count, cuda::kMaxBlocks)),
                                cuda::row_block_size(length), 0, cuda::stream_of(ctx), out_rows, in_rows,
                                static_cast<T*>(args[0].data), static_cast<const T*>(args[1].data),
                                args[0].strides[params.dim], args[1].strides[params.dim], length, count, params.log),
                   SoftmaxParams::op);
}

}  // namespace

void register_cuda_softmax(KernelRegistry& registry) {
  registry.add(make_kernel<SoftmaxParams, &softmax_cuda<float>>(DeviceType::CUDA, kFloat32, "cuda.hand"));
  registry.add(make_kernel<SoftmaxParams, &softmax_cuda<double>>(DeviceType::CUDA, kFloat64, "cuda.hand"));
  registry.add(make_kernel<SoftmaxParams, &softmax_cuda<Float16>>(DeviceType::CUDA, kFloat16, "cuda.hand"));
  registry.add(make_kernel<SoftmaxParams, &softmax_cuda<BFloat16>>(DeviceType::CUDA, kBFloat16, "cuda.hand"));
}

}  // namespace redes
