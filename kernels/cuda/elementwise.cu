// Unary and binary elementwise ops on CUDA devices; the per-element math is
// kernels/elementwise_math.h, shared with kernels/cpu/elementwise.cpp.
#include <cstdint>
#include <type_traits>

#include "core/cuda/check.h"
#include "kernels/cuda/launch.cuh"
#include "kernels/elementwise_math.h"
#include "kernels/registry.h"

namespace redes {
namespace {

// out, in: same sizes, n elements; in may be strided.
template <UnaryKind Kind, class T>
__global__ void unary_kernel(TensorArg out, TensorArg in, std::int64_t n) {
  T* out_data = static_cast<T*>(out.data);
  const T* in_data = static_cast<const T*>(in.data);
  for (std::int64_t i = cuda::first_index(); i < n; i += cuda::grid_stride()) {
    out_data[strided_offset(i, out)] = unary_op<Kind>(in_data[strided_offset(i, in)]);
  }
}

// out, a, b: out's sizes, n elements; a and b strided, stride 0 where broadcast.
// nvcc fuses a + alpha * b into one FMA, so Add and Sub with alpha != 1 may
// differ from the CPU in the last bit.
template <BinaryKind Kind, class T>
__global__ void binary_kernel(TensorArg out, TensorArg a, TensorArg b, T alpha, std::int64_t n) {
  T* out_data = static_cast<T*>(out.data);
  const T* a_data = static_cast<const T*>(a.data);
  const T* b_data = static_cast<const T*>(b.data);
  for (std::int64_t i = cuda::first_index(); i < n; i += cuda::grid_stride()) {
    const T lhs = a_data[strided_offset(i, a)];
    const T rhs = b_data[strided_offset(i, b)];
    out_data[strided_offset(i, out)] = binary_op<Kind>(lhs, rhs, alpha);
  }
}

// The standard library's exp and log of integers are host-only, so those
// kernels are never built; unary_supported_on_integers keeps the registry
// from asking for them.
template <UnaryKind Kind, class T>
inline constexpr bool kUnaryKernelExists =
    std::is_floating_point_v<T> || Kind == UnaryKind::Neg || Kind == UnaryKind::Relu;

template <class T>
void unary_cuda(const UnaryParams& params, const TensorArg* args, int, const ExecContext& ctx) {
  const std::int64_t n = args[0].numel();
  if (n == 0) return;
  dispatch_unary_kind(params.kind, [&]<UnaryKind Kind>() {
    if constexpr (kUnaryKernelExists<Kind, T>) {
      unary_kernel<Kind, T><<<cuda::grid_size(n), cuda::kBlockSize, 0, cuda::stream_of(ctx)>>>(args[0], args[1], n);
    } else {
      detail::fail("unary: exp and log are not defined for ", dtype_name(dtype_of_v<T>), " tensors");
    }
  });
  REDES_CUDA_CHECK_LAUNCH(UnaryParams::op);
}

template <class T>
void binary_cuda(const BinaryParams& params, const TensorArg* args, int, const ExecContext& ctx) {
  const std::int64_t n = args[0].numel();
  if (n == 0) return;
  const T alpha = static_cast<T>(params.alpha);
  dispatch_binary_kind(params.kind, [&]<BinaryKind Kind>() {
    binary_kernel<Kind, T>
        <<<cuda::grid_size(n), cuda::kBlockSize, 0, cuda::stream_of(ctx)>>>(args[0], args[1], args[2], alpha, n);
  });
  REDES_CUDA_CHECK_LAUNCH(BinaryParams::op);
}

// Integer tensors have neg and relu, not exp and log.
bool unary_supported_on_integers(const void* params, const TensorArg*, int) {
  const UnaryKind kind = static_cast<const UnaryParams*>(params)->kind;
  return kind == UnaryKind::Neg || kind == UnaryKind::Relu;
}

}  // namespace

void register_cuda_elementwise(KernelRegistry& registry) {
  registry.add(make_kernel<UnaryParams, &unary_cuda<float>>(DeviceType::CUDA, kFloat32, "cuda.hand"));
  registry.add(make_kernel<UnaryParams, &unary_cuda<double>>(DeviceType::CUDA, kFloat64, "cuda.hand"));
  registry.add(make_kernel<UnaryParams, &unary_cuda<std::int64_t>>(DeviceType::CUDA, kInt64, "cuda.hand", 0,
                                                                   &unary_supported_on_integers));
  registry.add(make_kernel<UnaryParams, &unary_cuda<std::int32_t>>(DeviceType::CUDA, kInt32, "cuda.hand", 0,
                                                                   &unary_supported_on_integers));
  registry.add(make_kernel<BinaryParams, &binary_cuda<float>>(DeviceType::CUDA, kFloat32, "cuda.hand"));
  registry.add(make_kernel<BinaryParams, &binary_cuda<double>>(DeviceType::CUDA, kFloat64, "cuda.hand"));
  registry.add(make_kernel<BinaryParams, &binary_cuda<std::int64_t>>(DeviceType::CUDA, kInt64, "cuda.hand"));
  registry.add(make_kernel<BinaryParams, &binary_cuda<std::int32_t>>(DeviceType::CUDA, kInt32, "cuda.hand"));
}

}  // namespace redes
