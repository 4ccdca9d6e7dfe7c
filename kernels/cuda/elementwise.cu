// Elementwise ops on CUDA devices: unary, binary, compare (to bool) and where,
// for the same dtypes as kernels/cpu/elementwise.cpp. The per-element math is
// kernels/elementwise_math.h, shared with the CPU kernels. One thread per
// output element, in grid-stride loops.
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

// out, a: out's sizes, n elements, a strided; b a number (BinaryParams::scalar_b).
template <BinaryKind Kind, class T>
__global__ void binary_scalar_kernel(TensorArg out, TensorArg a, T b, T alpha, std::int64_t n) {
  T* out_data = static_cast<T*>(out.data);
  const T* a_data = static_cast<const T*>(a.data);
  for (std::int64_t i = cuda::first_index(); i < n; i += cuda::grid_stride()) {
    out_data[strided_offset(i, out)] = binary_op<Kind>(a_data[strided_offset(i, a)], b, alpha);
  }
}

// out (bool), a, b: out's sizes, n elements; a and b of dtype T, strided,
// stride 0 where broadcast.
template <CompareKind Kind, class T>
__global__ void compare_kernel(TensorArg out, TensorArg a, TensorArg b, std::int64_t n) {
  bool* out_data = static_cast<bool*>(out.data);
  const T* a_data = static_cast<const T*>(a.data);
  const T* b_data = static_cast<const T*>(b.data);
  for (std::int64_t i = cuda::first_index(); i < n; i += cuda::grid_stride()) {
    out_data[strided_offset(i, out)] = compare_op<Kind>(a_data[strided_offset(i, a)], b_data[strided_offset(i, b)]);
  }
}

// out, condition (bool), a, b: out's sizes, n elements; inputs strided, stride
// 0 where broadcast.
template <class T>
__global__ void where_kernel(TensorArg out, TensorArg condition, TensorArg a, TensorArg b, std::int64_t n) {
  T* out_data = static_cast<T*>(out.data);
  const bool* condition_data = static_cast<const bool*>(condition.data);
  const T* a_data = static_cast<const T*>(a.data);
  const T* b_data = static_cast<const T*>(b.data);
  for (std::int64_t i = cuda::first_index(); i < n; i += cuda::grid_stride()) {
    out_data[strided_offset(i, out)] =
        condition_data[strided_offset(i, condition)] ? a_data[strided_offset(i, a)] : b_data[strided_offset(i, b)];
  }
}

// Kinds that need floating point (exp, log, pow, ...) are never built for
// integer T: the standard library's integer overloads are host-only. The
// registry asks for them only through unary/binary_supported_on_integers, so
// reaching the else branch means a caller bypassed the registry.
template <class T>
void unary_cuda(const UnaryParams& params, const TensorArg* args, int, const ExecContext& ctx) {
  const std::int64_t n = args[0].numel();
  if (n == 0) return;
  dispatch_unary_kind(params.kind, [&]<UnaryKind Kind>() {
    if constexpr (std::is_floating_point_v<T> || unary_defined_for_integers(Kind)) {
      REDES_CUDA_CHECK(cuda::launch(unary_kernel<Kind, T>, cuda::grid_size(n), cuda::kBlockSize, 0,
                                    cuda::stream_of(ctx), args[0], args[1], n),
                       UnaryParams::op);
    } else {
      detail::fail("unary: this kind needs a floating-point tensor, got ", dtype_name(dtype_of_v<T>));
    }
  });
}

template <class T>
void binary_cuda(const BinaryParams& params, const TensorArg* args, int, const ExecContext& ctx) {
  const std::int64_t n = args[0].numel();
  if (n == 0) return;
  const T alpha = static_cast<T>(params.alpha);
  dispatch_binary_kind(params.kind, [&]<BinaryKind Kind>() {
    if constexpr (std::is_floating_point_v<T> || binary_defined_for_integers(Kind)) {
      if (params.scalar_b) {
        REDES_CUDA_CHECK(cuda::launch(binary_scalar_kernel<Kind, T>, cuda::grid_size(n), cuda::kBlockSize, 0,
                                      cuda::stream_of(ctx), args[0], args[1], static_cast<T>(params.b), alpha, n),
                         BinaryParams::op);
        return;
      }
      REDES_CUDA_CHECK(cuda::launch(binary_kernel<Kind, T>, cuda::grid_size(n), cuda::kBlockSize, 0,
                                    cuda::stream_of(ctx), args[0], args[1], args[2], alpha, n),
                       BinaryParams::op);
    } else {
      detail::fail("binary: this kind needs a floating-point tensor, got ", dtype_name(dtype_of_v<T>));
    }
  });
}

// Registered under a's dtype T; out is bool.
template <class T>
void compare_cuda(const CompareParams& params, const TensorArg* args, int, const ExecContext& ctx) {
  const std::int64_t n = args[0].numel();
  if (n == 0) return;
  dispatch_compare_kind(params.kind, [&]<CompareKind Kind>() {
    REDES_CUDA_CHECK(cuda::launch(compare_kernel<Kind, T>, cuda::grid_size(n), cuda::kBlockSize, 0,
                                  cuda::stream_of(ctx), args[0], args[1], args[2], n),
                     CompareParams::op);
  });
}

template <class T>
void where_cuda(const WhereParams&, const TensorArg* args, int, const ExecContext& ctx) {
  const std::int64_t n = args[0].numel();
  if (n == 0) return;
  REDES_CUDA_CHECK(cuda::launch(where_kernel<T>, cuda::grid_size(n), cuda::kBlockSize, 0, cuda::stream_of(ctx), args[0],
                                args[1], args[2], args[3], n),
                   WhereParams::op);
}

bool unary_supported_on_integers(const void* params, const TensorArg*, int) {
  return unary_defined_for_integers(static_cast<const UnaryParams*>(params)->kind);
}

bool binary_supported_on_integers(const void* params, const TensorArg*, int) {
  return binary_defined_for_integers(static_cast<const BinaryParams*>(params)->kind);
}

template <class T>
void register_arithmetic(KernelRegistry& registry) {
  constexpr bool floating = std::is_floating_point_v<T>;
  registry.add(make_kernel<UnaryParams, &unary_cuda<T>>(DeviceType::CUDA, dtype_of_v<T>, "cuda.hand", 0,
                                                        floating ? nullptr : &unary_supported_on_integers));
  registry.add(make_kernel<BinaryParams, &binary_cuda<T>>(DeviceType::CUDA, dtype_of_v<T>, "cuda.hand", 0,
                                                          floating ? nullptr : &binary_supported_on_integers));
}

template <class T>
void register_selection(KernelRegistry& registry) {
  registry.add(make_kernel<CompareParams, &compare_cuda<T>>(DeviceType::CUDA, dtype_of_v<T>, "cuda.hand"));
  registry.add(make_kernel<WhereParams, &where_cuda<T>>(DeviceType::CUDA, dtype_of_v<T>, "cuda.hand"));
}

}  // namespace

void register_cuda_elementwise(KernelRegistry& registry) {
  register_arithmetic<float>(registry);
  register_arithmetic<double>(registry);
  register_arithmetic<std::int64_t>(registry);
  register_arithmetic<std::int32_t>(registry);
  register_selection<float>(registry);
  register_selection<double>(registry);
  register_selection<std::int64_t>(registry);
  register_selection<std::int32_t>(registry);
  register_selection<std::uint8_t>(registry);
  register_selection<bool>(registry);
}

}  // namespace redes
