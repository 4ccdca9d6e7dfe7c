// gather and scatter_add along one dim on CUDA devices, for the same dtypes as
// kernels/cpu/gather_scatter.cpp. The index arithmetic is indexed_view from
// kernels/index_math.h, shared with the CPU.
//
// Out-of-range indices: a kernel never touches memory through one. It skips
// that position and records it in a device word; after the launch the host
// copies the word back and throws the CPU's message, naming the first bad
// position in row-major order, as the CPU loop does. Positions with valid
// indices are still written, so on error `out` is partly updated (the CPU
// stops at the bad position instead; either way its contents are unspecified).
//
// Cost: reading the word back is a cudaStreamSynchronize per call, which
// stalls the host until all work queued on the stream is done and leaves the
// GPU idle until the host queues more. That is the price of a catchable
// redes::Error instead of a device-side assert (which would poison the CUDA
// context for the rest of the process).
#include <cstdint>
#include <type_traits>

#include "core/cuda/check.h"
#include "core/low_precision.h"
#include "kernels/cuda/launch.cuh"
#include "kernels/index_math.h"
#include "kernels/params.h"
#include "kernels/registry.h"

namespace redes {
namespace {

// The bad-index word holds max over bad positions i of (n - i): 0 when every
// index is valid, else n minus the first bad position.
__device__ __forceinline__ void record_bad_position(unsigned long long* first_bad, std::int64_t i, std::int64_t n) {
  atomicMax(first_bad, static_cast<unsigned long long>(n - i));
}

// One thread per index element (n of them). out, index: index's sizes, any
// strides; source: in's data and strides over index's sizes with dim's stride
// 0 (indexed_view), so element i reads source[i] + j * in_dim_stride for
// j = index[i] in [0, dim_size).
template <class T>
__global__ void gather_kernel(TensorArg out, TensorArg source, TensorArg index, std::int64_t in_dim_stride,
                              std::int64_t dim_size, std::int64_t n, unsigned long long* first_bad) {
  T* out_data = static_cast<T*>(out.data);
  const T* in_data = static_cast<const T*>(source.data);
  const auto* index_data = static_cast<const std::int64_t*>(index.data);
  for (std::int64_t i = cuda::first_index(); i < n; i += cuda::grid_stride()) {
    const std::int64_t j = index_data[strided_offset(i, index)];
    if (j < 0 || j >= dim_size) {
      record_bad_position(first_bad, i, n);
      continue;
    }
    out_data[strided_offset(i, out)] = in_data[strided_offset(i, source) + j * in_dim_stride];
  }
}

// A 16-bit atomic add: compare-and-swap on the aligned 32-bit word that holds
// the element, replacing only its half (the sum computed in float32, rounded
// once, as CUDA's own 16-bit atomicAdd does).
template <class T>
__device__ __forceinline__ void atomic_add_16bit(T* address, T value) {
  const auto at = reinterpret_cast<std::uintptr_t>(address);
  auto* word = reinterpret_cast<unsigned int*>(at & ~std::uintptr_t{3});
  const unsigned int shift = (at & 2) != 0 ? 16u : 0u;
  unsigned int old = *word;
  unsigned int assumed = 0;
  do {
    assumed = old;
    const T current = T::from_bits(static_cast<std::uint16_t>(assumed >> shift));
    const T sum(static_cast<float>(current) + static_cast<float>(value));
    const unsigned int replaced = (assumed & ~(0xffffu << shift)) | (static_cast<unsigned int>(sum.bits) << shift);
    old = atomicCAS(word, assumed, replaced);
  } while (old != assumed);
}

// atomicAdd for the registered dtypes. int64 goes through the unsigned 64-bit
// overload: two's-complement addition is the same bit operation for signed
// and unsigned operands, so the wrapped sum is the signed sum.
template <class T>
__device__ __forceinline__ void atomic_add(T* address, T value) {
  if constexpr (is_low_precision_v<T>) {
    atomic_add_16bit(address, value);
  } else if constexpr (std::is_same_v<T, std::int64_t>) {
    static_assert(sizeof(std::int64_t) == sizeof(unsigned long long));
    atomicAdd(reinterpret_cast<unsigned long long*>(address), static_cast<unsigned long long>(value));
  } else {
    atomicAdd(address, value);  // float, double (sm_60+), int
  }
}

// One thread per index element (n of them). index, src: index's sizes, any
// strides; target: out's data and strides over index's sizes with dim's
// stride 0 (indexed_view). Two positions may add into the same element, hence
// the atomics; their order varies from run to run, so float and double sums
// are not bitwise deterministic (they differ from the CPU's serial order in
// the last bits). Integer sums are exact.
template <class T>
__global__ void scatter_add_kernel(TensorArg target, TensorArg index, TensorArg src, std::int64_t out_dim_stride,
                                   std::int64_t dim_size, std::int64_t n, unsigned long long* first_bad) {
  T* out_data = static_cast<T*>(target.data);
  const auto* index_data = static_cast<const std::int64_t*>(index.data);
  const T* src_data = static_cast<const T*>(src.data);
  for (std::int64_t i = cuda::first_index(); i < n; i += cuda::grid_stride()) {
    const std::int64_t j = index_data[strided_offset(i, index)];
    if (j < 0 || j >= dim_size) {
      record_bad_position(first_bad, i, n);
      continue;
    }
    atomic_add(out_data + strided_offset(i, target) + j * out_dim_stride, src_data[strided_offset(i, src)]);
  }
}

// The bad-index word, from the call's workspace, zeroed in stream order.
unsigned long long* bad_index_word(const ExecContext& ctx, const char* op) {
  REDES_CHECK(ctx.workspace != nullptr, op, ": the CUDA kernel needs a workspace for its index check");
  auto* word = static_cast<unsigned long long*>(ctx.workspace->request(sizeof(unsigned long long)));
  REDES_CUDA_CHECK(cudaMemsetAsync(word, 0, sizeof(unsigned long long), cuda::stream_of(ctx)), op);
  return word;
}

// Waits for the kernel (see the cost note at the top) and throws the CPU's
// message if it recorded a bad index. The index value is read back from
// `index` itself, at the recorded position.
void check_bad_index(const unsigned long long* word, const TensorArg& index, std::int64_t n, std::int64_t dim,
                     std::int64_t dim_size, const ExecContext& ctx, const char* op) {
  const cudaStream_t stream = cuda::stream_of(ctx);
  unsigned long long recorded = 0;
  REDES_CUDA_CHECK(cudaMemcpyAsync(&recorded, word, sizeof recorded, cudaMemcpyDeviceToHost, stream), op);
  REDES_CUDA_CHECK(cudaStreamSynchronize(stream), op);
  if (recorded == 0) return;
  const std::int64_t position = n - static_cast<std::int64_t>(recorded);
  const auto* index_data = static_cast<const std::int64_t*>(index.data);
  std::int64_t j = 0;
  REDES_CUDA_CHECK(cudaMemcpyAsync(&j, index_data + strided_offset(position, index), sizeof j,
                                   cudaMemcpyDeviceToHost, stream),
                   op);
  REDES_CUDA_CHECK(cudaStreamSynchronize(stream), op);
  detail::fail(op, ": index ", j, " is out of range for dim ", dim, " of size ", dim_size);
}

// args: out (index's sizes), in, index (int64) — all with in's ndim, any strides.
template <class T>
void gather_cuda(const GatherParams& p, const TensorArg* args, int, const ExecContext& ctx) {
  const TensorArg& out = args[0];
  const TensorArg& in = args[1];
  const TensorArg& index = args[2];
  const std::int64_t n = index.numel();
  if (n == 0) return;
  const std::int64_t dim_size = in.sizes[p.dim];
  unsigned long long* bad = bad_index_word(ctx, GatherParams::op);
  REDES_CUDA_CHECK(cuda::launch(gather_kernel<T>, cuda::grid_size(n), cuda::kBlockSize, 0, cuda::stream_of(ctx), out,
                                indexed_view(in, index, p.dim), index, in.strides[p.dim], dim_size, n, bad),
                   GatherParams::op);
  check_bad_index(bad, index, n, p.dim, dim_size, ctx, GatherParams::op);
}

// args: out (updated in place), index (int64), src (index's sizes) — all with
// out's ndim, any strides.
template <class T>
void scatter_add_cuda(const ScatterAddParams& p, const TensorArg* args, int, const ExecContext& ctx) {
  const TensorArg& out = args[0];
  const TensorArg& index = args[1];
  const TensorArg& src = args[2];
  const std::int64_t n = index.numel();
  if (n == 0) return;
  const std::int64_t dim_size = out.sizes[p.dim];
  unsigned long long* bad = bad_index_word(ctx, ScatterAddParams::op);
  REDES_CUDA_CHECK(cuda::launch(scatter_add_kernel<T>, cuda::grid_size(n), cuda::kBlockSize, 0, cuda::stream_of(ctx),
                                indexed_view(out, index, p.dim), index, src, out.strides[p.dim], dim_size, n, bad),
                   ScatterAddParams::op);
  check_bad_index(bad, index, n, p.dim, dim_size, ctx, ScatterAddParams::op);
}

template <class T>
void register_for(KernelRegistry& registry) {
  registry.add(make_kernel<GatherParams, &gather_cuda<T>>(DeviceType::CUDA, dtype_of_v<T>, "cuda.hand"));
  registry.add(make_kernel<ScatterAddParams, &scatter_add_cuda<T>>(DeviceType::CUDA, dtype_of_v<T>, "cuda.hand"));
}

}  // namespace

void register_cuda_gather_scatter(KernelRegistry& registry) {
  register_for<float>(registry);
  register_for<double>(registry);
  register_for<std::int64_t>(registry);
  register_for<std::int32_t>(registry);
  register_for<BFloat16>(registry);
  register_for<Float16>(registry);
}

}  // namespace redes
