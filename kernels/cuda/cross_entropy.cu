// Fused log-softmax + NLL on CUDA devices (CrossEntropyParams and its
// backward), with the per-row logic of kernels/cross_entropy_math.h shared
// with the CPU.
//
// Bad targets: a thread never reads through one. It records its row in a
// device word (max of N - n, so the word names the first bad row) and writes
// nothing; after the launch the host reads the word back and throws the CPU's
// message. That read is a cudaStreamSynchronize per forward call, the same
// price the composite paid in gather (see kernels/cuda/gather_scatter.cu) for
// a catchable redes::Error instead of a device-side assert.
//
// The forward takes one block per row (kernels/cuda/row_reduce.cuh), the
// backward one thread per element.
#include <algorithm>
#include <cstdint>

#include "core/cuda/check.h"
#include "core/error.h"
#include "kernels/cross_entropy_math.h"
#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/row_reduce.cuh"
#include "kernels/params.h"
#include "kernels/registry.h"

namespace redes {
namespace {

namespace math = cross_entropy_math;

// One block per row (grid-stride). losses (N), lse (N): contiguous; logits
// (N, C) with strides (row, col); targets strided by target_stride. The
// target is read by every thread, so the whole block skips a bad row.
template <class T>
__global__ void cross_entropy_kernel(T* losses, double* lse, const T* logits, std::int64_t row_stride,
                                     std::int64_t col_stride, const std::int64_t* targets, std::int64_t target_stride,
                                     std::int64_t rows, std::int64_t classes, unsigned long long* first_bad) {
  for (std::int64_t n = blockIdx.x; n < rows; n += gridDim.x) {
    const std::int64_t target = targets[n * target_stride];
    if (!math::valid_target(target, classes)) {
      if (threadIdx.x == 0) atomicMax(first_bad, static_cast<unsigned long long>(rows - n));
      continue;
    }
    const T* row = logits + n * row_stride;
    const RowExpSum<T> sums = cuda::block_row_exp_sum(row, col_stride, classes);
    if (threadIdx.x == 0) math::finish_row(sums, row[target * col_stride], losses[n], lse[n]);
  }
}

// grad_logits (N, C) contiguous, one thread per element; the other arguments as in the CPU kernel.
template <class T>
__global__ void cross_entropy_backward_kernel(T* out, TensorArg logits, TensorArg targets, TensorArg lse,
                                              TensorArg grad, std::int64_t rows, std::int64_t classes) {
  const T* x = static_cast<const T*>(logits.data);
  const auto* t = static_cast<const std::int64_t*>(targets.data);
  const auto* l = static_cast<const double*>(lse.data);
  const T* g = static_cast<const T*>(grad.data);
  for (std::int64_t i = cuda::first_index(); i < rows * classes; i += cuda::grid_stride()) {
    const std::int64_t n = i / classes, c = i % classes;
    out[i] = math::backward_element(x[n * logits.strides[0] + c * logits.strides[1]], l[n * lse.strides[0]],
                                    c == t[n * targets.strides[0]], g[n * grad.strides[0]]);
  }
}

// Waits for the kernel and throws the CPU's message when it recorded a bad target.
void check_targets(const unsigned long long* word, const TensorArg& targets, std::int64_t rows, std::int64_t classes,
                   cudaStream_t stream) {
  const char* op = CrossEntropyParams::op;
  unsigned long long recorded = 0;
  REDES_CUDA_CHECK(cudaMemcpyAsync(&recorded, word, sizeof recorded, cudaMemcpyDeviceToHost, stream), op);
  REDES_CUDA_CHECK(cudaStreamSynchronize(stream), op);
  if (recorded == 0) return;
  const std::int64_t n = rows - static_cast<std::int64_t>(recorded);
  std::int64_t target = 0;
  REDES_CUDA_CHECK(cudaMemcpyAsync(&target, static_cast<const std::int64_t*>(targets.data) + n * targets.strides[0],
                                   sizeof target, cudaMemcpyDeviceToHost, stream),
                   op);
  REDES_CUDA_CHECK(cudaStreamSynchronize(stream), op);
  detail::fail("cross_entropy: target ", target, " of sample ", n, " is out of range; expected a class index in [0, ",
               classes, ")");
}

template <class T>
void cross_entropy_cuda(const CrossEntropyParams&, const TensorArg* args, int, const ExecContext& ctx) {
  const TensorArg &logits = args[2], &targets = args[3];
  const std::int64_t rows = logits.sizes[0], classes = logits.sizes[1];
  if (rows == 0) return;
  const cudaStream_t stream = cuda::stream_of(ctx);
  REDES_CHECK(ctx.workspace != nullptr, "cross_entropy: the CUDA kernel needs a workspace for its target check");
  auto* bad = static_cast<unsigned long long*>(ctx.workspace->request(sizeof(unsigned long long)));
  REDES_CUDA_CHECK(cudaMemsetAsync(bad, 0, sizeof(unsigned long long), stream), CrossEntropyParams::op);
  REDES_CUDA_CHECK(cuda::launch(cross_entropy_kernel<T>, static_cast<unsigned>(std::min(rows, cuda::kMaxBlocks)),
                                cuda::row_block_size(classes), 0, stream,
                                static_cast<T*>(args[0].data), static_cast<double*>(args[1].data),
                                static_cast<const T*>(logits.data), logits.strides[0], logits.strides[1],
                                static_cast<const std::int64_t*>(targets.data), targets.strides[0], rows, classes, bad),
                   CrossEntropyParams::op);
  check_targets(bad, targets, rows, classes, stream);
}

template <class T>
void cross_entropy_backward_cuda(const CrossEntropyBackwardParams&, const TensorArg* args, int,
                                 const ExecContext& ctx) {
  const std::int64_t rows = args[1].sizes[0], classes = args[1].sizes[1];
  if (rows * classes == 0) return;
  REDES_CUDA_CHECK(cuda::launch(cross_entropy_backward_kernel<T>, cuda::grid_size(rows * classes), cuda::kBlockSize, 0,
                                cuda::stream_of(ctx), static_cast<T*>(args[0].data), args[1], args[2], args[3], args[4],
                                rows, classes),
                   CrossEntropyBackwardParams::op);
}

template <class T>
void register_for(KernelRegistry& registry) {
  registry.add(make_kernel<CrossEntropyParams, &cross_entropy_cuda<T>>(DeviceType::CUDA, dtype_of_v<T>, "cuda.hand"));
  registry.add(make_kernel<CrossEntropyBackwardParams, &cross_entropy_backward_cuda<T>>(DeviceType::CUDA,
                                                                                        dtype_of_v<T>, "cuda.hand"));
}

}  // namespace

// The 16-bit types read their logits into float32 and sum in double, as the others.
void register_cuda_cross_entropy(KernelRegistry& registry) {
  register_for<float>(registry);
  register_for<double>(registry);
  register_for<BFloat16>(registry);
  register_for<Float16>(registry);
}

}  // namespace redes
