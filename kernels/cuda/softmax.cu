// Softmax and log-softmax along one dim on CUDA devices, for the same dtypes
// as kernels/cpu/softmax.cpp. Each row is softmax_row from
// kernels/arg_reduce_math.h (accumulating in double), shared with the CPU.
//
// First version: one thread per row, each walking its row three times. Rows
// of a few thousand elements leave most of the GPU idle; a block-per-row
// variant belongs in bench/ until a GPU run shows it is both right and faster.
#include <cstdint>

#include "core/cuda/check.h"
#include "kernels/arg_reduce_math.h"
#include "kernels/cuda/launch.cuh"
#include "kernels/params.h"
#include "kernels/reduction_split.h"
#include "kernels/registry.h"

namespace redes {
namespace {

// One thread per row (count of them). out_rows / in_rows: the tensors without
// the softmax dim, so strided_offset(r, ...) is where row r starts; within a
// row, elements are out_stride / in_stride apart, `length` of them.
template <class T>
__global__ void softmax_kernel(TensorArg out_rows, TensorArg in_rows, T* out, const T* in, std::int64_t out_stride,
                               std::int64_t in_stride, std::int64_t length, std::int64_t count, bool log_output) {
  for (std::int64_t r = cuda::first_index(); r < count; r += cuda::grid_stride()) {
    softmax_row(out + strided_offset(r, out_rows), out_stride, in + strided_offset(r, in_rows), in_stride, length,
                log_output);
  }
}

// args: out, in — same sizes, any strides.
template <class T>
void softmax_cuda(const SoftmaxParams& params, const TensorArg* args, int, const ExecContext& ctx) {
  const TensorArg out_rows = drop_dim(args[0], params.dim);
  const TensorArg in_rows = drop_dim(args[1], params.dim);
  const std::int64_t length = args[1].sizes[params.dim];
  const std::int64_t count = in_rows.numel();
  // softmax_row reads a row's first element unconditionally; an empty row
  // means an empty output, so there is nothing to do.
  if (count == 0 || length == 0) return;
  REDES_CUDA_CHECK(cuda::launch(softmax_kernel<T>, cuda::grid_size(count), cuda::kBlockSize, 0, cuda::stream_of(ctx),
                                out_rows, in_rows, static_cast<T*>(args[0].data), static_cast<const T*>(args[1].data),
                                args[0].strides[params.dim], args[1].strides[params.dim], length, count, params.log),
                   SoftmaxParams::op);
}

}  // namespace

void register_cuda_softmax(KernelRegistry& registry) {
  registry.add(make_kernel<SoftmaxParams, &softmax_cuda<float>>(DeviceType::CUDA, kFloat32, "cuda.hand"));
  registry.add(make_kernel<SoftmaxParams, &softmax_cuda<double>>(DeviceType::CUDA, kFloat64, "cuda.hand"));
}

}  // namespace redes
