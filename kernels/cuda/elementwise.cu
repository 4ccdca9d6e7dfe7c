// Elementwise ops on CUDA devices: unary, binary, compare (to bool) and where,
// for the same dtypes as kernels/cpu/elementwise.cpp. The per-element math is
// kernels/elementwise_math.h, shared with the CPU kernels.
//
// Two forms of unary and binary kernels: where every operand is dense (element
// i at data + i) and 16-byte aligned, each thread moves 16 bytes per load and
// store (4 floats, 2 doubles, 8 16-bit floats) and computes no offsets; otherwise one thread
// per element computes each operand's strided offset (broadcast dims have
// stride 0). Grid-stride loops in both.
#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <type_traits>

#include "core/cuda/check.h"
#include "kernels/cuda/launch.cuh"
#include "kernels/elementwise_math.h"
#include "kernels/registry.h"

namespace redes {
namespace {

// ---- dense operands -----------------------------------------------------------

// Elements per 16-byte vector.
template <class T>
inline constexpr int kVectorWidth = 16 / sizeof(T);

template <class T>
struct alignas(16) Vector {
  T lanes[kVectorWidth<T>];
};

bool aligned_16(const void* data) { return reinterpret_cast<std::uintptr_t>(data) % 16 == 0; }

// Whether every operand is dense and 16-byte aligned.
bool vectorizable(std::initializer_list<const TensorArg*> operands) {
  for (const TensorArg* operand : operands) {
    if (!has_contiguous_strides(*operand) || !aligned_16(operand->data)) return false;
  }
  return true;
}

// Calls element(i) for the `n` elements: whole vectors by vector(v) (v
// counting vectors), then the last n % width elements one by one.
template <class T, class VectorBody, class ElementBody>
__device__ __forceinline__ void dense_loop(std::int64_t n, VectorBody vector, ElementBody element) {
  constexpr int width = kVectorWidth<T>;
  const std::int64_t vectors = n / width;
  for (std::int64_t v = cuda::first_index(); v < vectors; v += cuda::grid_stride()) vector(v);
  for (std::int64_t i = vectors * width + cuda::first_index(); i < n; i += cuda::grid_stride()) element(i);
}

template <UnaryKind Kind, class T>
__global__ void unary_dense_kernel(T* out, const T* in, std::int64_t n) {
  dense_loop<T>(
      n,
      [&](std::int64_t v) {
        Vector<T> x = reinterpret_cast<const Vector<T>*>(in)[v];
        for (T& lane : x.lanes) lane = unary_element<Kind>(lane);
        reinterpret_cast<Vector<T>*>(out)[v] = x;
      },
      [&](std::int64_t i) { out[i] = unary_element<Kind>(in[i]); });
}

// b == nullptr: b is the number `scalar`.
template <BinaryKind Kind, class T, class C = compute_type_t<T>>
__global__ void binary_dense_kernel(T* out, const T* a, const T* b, C scalar, C alpha, std::int64_t n) {
  dense_loop<T>(
      n,
      [&](std::int64_t v) {
        Vector<T> x = reinterpret_cast<const Vector<T>*>(a)[v];
        if (b == nullptr) {
          for (T& lane : x.lanes) lane = binary_element<Kind>(lane, scalar, alpha);
        } else {
          const Vector<T> y = reinterpret_cast<const Vector<T>*>(b)[v];
          for (int k = 0; k < kVectorWidth<T>; ++k) x.lanes[k] = binary_element<Kind>(x.lanes[k], y.lanes[k], alpha);
        }
        reinterpret_cast<Vector<T>*>(out)[v] = x;
      },
      [&](std::int64_t i) { out[i] = binary_element<Kind>(a[i], b == nullptr ? scalar : C(b[i]), alpha); });
}

// Blocks for n elements moved a vector at a time.
template <class T>
unsigned dense_grid_size(std::int64_t n) {
  return cuda::grid_size(std::max<std::int64_t>(1, n / kVectorWidth<T>));
}

// ---- strided operands ---------------------------------------------------------

// out, in: same sizes, n elements; in may be strided.
template <UnaryKind Kind, class T>
__global__ void unary_kernel(TensorArg out, TensorArg in, std::int64_t n) {
  T* out_data = static_cast<T*>(out.data);
  const T* in_data = static_cast<const T*>(in.data);
  for (std::int64_t i = cuda::first_index(); i < n; i += cuda::grid_stride()) {
    out_data[strided_offset(i, out)] = unary_element<Kind>(in_data[strided_offset(i, in)]);
  }
}

// out, a, b: out's sizes, n elements; a and b strided, stride 0 where broadcast.
// nvcc fuses a + alpha * b into one FMA, so Add and Sub with alpha != 1 may
// differ from the CPU in the last bit.
template <BinaryKind Kind, class T, class C = compute_type_t<T>>
__global__ void binary_kernel(TensorArg out, TensorArg a, TensorArg b, C alpha, std::int64_t n) {
  T* out_data = static_cast<T*>(out.data);
  const T* a_data = static_cast<const T*>(a.data);
  const T* b_data = static_cast<const T*>(b.data);
  for (std::int64_t i = cuda::first_index(); i < n; i += cuda::grid_stride()) {
    const T lhs = a_data[strided_offset(i, a)];
    const T rhs = b_data[strided_offset(i, b)];
    out_data[strided_offset(i, out)] = binary_element<Kind>(lhs, rhs, alpha);
  }
}

// out, a: out's sizes, n elements, a strided; b a number (BinaryParams::scalar_b).
template <BinaryKind Kind, class T, class C = compute_type_t<T>>
__global__ void binary_scalar_kernel(TensorArg out, TensorArg a, C b, C alpha, std::int64_t n) {
  T* out_data = static_cast<T*>(out.data);
  const T* a_data = static_cast<const T*>(a.data);
  for (std::int64_t i = cuda::first_index(); i < n; i += cuda::grid_stride()) {
    out_data[strided_offset(i, out)] = binary_element<Kind>(a_data[strided_offset(i, a)], b, alpha);
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
    out_data[strided_offset(i, out)] = compare_element<Kind>(a_data[strided_offset(i, a)], b_data[strided_offset(i, b)]);
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
    if constexpr (is_floating_element_v<T> || unary_defined_for_integers(Kind)) {
      if (vectorizable({&args[0], &args[1]})) {
        REDES_CUDA_CHECK(
            cuda::launch(unary_dense_kernel<Kind, T>, dense_grid_size<T>(n), cuda::kBlockSize, 0, cuda::stream_of(ctx),
                         static_cast<T*>(args[0].data), static_cast<const T*>(args[1].data), n),
            UnaryParams::op);
        return;
      }
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
  using C = compute_type_t<T>;
  const C alpha = static_cast<C>(params.alpha);
  const C scalar = static_cast<C>(params.b);
  dispatch_binary_kind(params.kind, [&]<BinaryKind Kind>() {
    if constexpr (is_floating_element_v<T> || binary_defined_for_integers(Kind)) {
      const bool dense =
          params.scalar_b ? vectorizable({&args[0], &args[1]}) : vectorizable({&args[0], &args[1], &args[2]});
      if (dense) {
        const T* b = params.scalar_b ? nullptr : static_cast<const T*>(args[2].data);
        REDES_CUDA_CHECK(cuda::launch(binary_dense_kernel<Kind, T>, dense_grid_size<T>(n), cuda::kBlockSize, 0,
                                      cuda::stream_of(ctx), static_cast<T*>(args[0].data),
                                      static_cast<const T*>(args[1].data), b, scalar, alpha, n),
                         BinaryParams::op);
        return;
      }
      if (params.scalar_b) {
        REDES_CUDA_CHECK(cuda::launch(binary_scalar_kernel<Kind, T>, cuda::grid_size(n), cuda::kBlockSize, 0,
                                      cuda::stream_of(ctx), args[0], args[1], scalar, alpha, n),
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
  constexpr bool floating = is_floating_element_v<T>;
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
  register_arithmetic<Float16>(registry);
  register_arithmetic<BFloat16>(registry);
  register_selection<float>(registry);
  register_selection<double>(registry);
  register_selection<std::int64_t>(registry);
  register_selection<std::int32_t>(registry);
  register_selection<std::uint8_t>(registry);
  register_selection<bool>(registry);
  register_selection<Float16>(registry);
  register_selection<BFloat16>(registry);
}

}  // namespace redes
