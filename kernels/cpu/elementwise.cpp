// Elementwise ops on the CPU: unary, binary, compare (to bool) and where.
#include <cstdint>
#include <type_traits>

#include "kernels/cpu/convert_16bit.h"
#include "kernels/cpu/strided_loop.h"
#include "kernels/elementwise_math.h"
#include "kernels/registry.h"

namespace redes {
namespace {

// out, in: same sizes; in may be strided.
// Dense 16-bit operands widen a block at a time (kernels/cpu/convert_16bit.h)
// so that the float32 math runs in SIMD lanes; the results are those of
// unary_element / binary_element, which the strided walks use.
template <class T>
void unary_cpu(const UnaryParams& params, const TensorArg* args, int, const ExecContext&) {
  T* out = static_cast<T*>(args[0].data);
  const T* in = static_cast<const T*>(args[1].data);
  dispatch_unary_kind(params.kind, [&]<UnaryKind Kind>() {
    if constexpr (is_low_precision_v<T>) {
      if (has_contiguous_strides(args[0]) && has_contiguous_strides(args[1])) {
        cpu::for_widen_blocks(args[0].numel(), [&](std::int64_t first, std::int64_t size) {
          float x[cpu::kWidenBlock];
          cpu::widen_dense(in + first, x, size);
          for (std::int64_t j = 0; j < size; ++j) x[j] = unary_op<Kind>(x[j]);
          cpu::narrow_dense(x, out + first, size);
        });
        return;
      }
    }
    if constexpr (is_floating_element_v<T> || unary_defined_for_integers(Kind)) {
      cpu::strided_for_each<2>(args, [&](const auto& offsets) {
        out[offsets[0]] = unary_element<Kind>(in[offsets[1]]);
      });
    }
  });
}

// out, a, b: out's sizes; a and b strided, stride 0 where broadcast.
template <class T>
void binary_cpu(const BinaryParams& params, const TensorArg* args, int, const ExecContext&) {
  using C = compute_type_t<T>;
  T* out = static_cast<T*>(args[0].data);
  const T* a = static_cast<const T*>(args[1].data);
  const C alpha = static_cast<C>(params.alpha);
  dispatch_binary_kind(params.kind, [&]<BinaryKind Kind>() {
    if constexpr (is_low_precision_v<T>) {
      const bool dense = has_contiguous_strides(args[0]) && has_contiguous_strides(args[1]) &&
                         (params.scalar_b || has_contiguous_strides(args[2]));
      if (dense) {
        const T* b = params.scalar_b ? nullptr : static_cast<const T*>(args[2].data);
        const float number = static_cast<float>(params.b);
        cpu::for_widen_blocks(args[0].numel(), [&](std::int64_t first, std::int64_t size) {
          float x[cpu::kWidenBlock], y[cpu::kWidenBlock];
          cpu::widen_dense(a + first, x, size);
          if (b != nullptr) {
            cpu::widen_dense(b + first, y, size);
            for (std::int64_t j = 0; j < size; ++j) x[j] = binary_op<Kind>(x[j], y[j], alpha);
          } else {
            for (std::int64_t j = 0; j < size; ++j) x[j] = binary_op<Kind>(x[j], number, alpha);
          }
          cpu::narrow_dense(x, out + first, size);
        });
        return;
      }
    }
    if constexpr (is_floating_element_v<T> || binary_defined_for_integers(Kind)) {
      if (params.scalar_b) {
        // The number enters in the compute type, as PyTorch's does: a 16-bit
        // tensor times 0.1 is multiplied by 0.1f, not by 0.1 rounded to 16 bits.
        const C b = static_cast<C>(params.b);
        cpu::strided_for_each<2>(args, [&](const auto& offsets) {
          out[offsets[0]] = binary_element<Kind>(a[offsets[1]], b, alpha);
        });
        return;
      }
      const T* b = static_cast<const T*>(args[2].data);
      cpu::strided_for_each<3>(args, [&](const auto& offsets) {
        out[offsets[0]] = binary_element<Kind>(a[offsets[1]], b[offsets[2]], alpha);
      });
    }
  });
}

// out (bool), a, b: out's sizes; a and b strided, of dtype T.
template <class T>
void compare_cpu(const CompareParams& params, const TensorArg* args, int, const ExecContext&) {
  bool* out = static_cast<bool*>(args[0].data);
  const T* a = static_cast<const T*>(args[1].data);
  const T* b = static_cast<const T*>(args[2].data);
  dispatch_compare_kind(params.kind, [&]<CompareKind Kind>() {
    cpu::strided_for_each<3>(args, [&](const auto& offsets) {
      out[offsets[0]] = compare_element<Kind>(a[offsets[1]], b[offsets[2]]);
    });
  });
}

// out, condition (bool), a, b: out's sizes; inputs strided.
template <class T>
void where_cpu(const WhereParams&, const TensorArg* args, int, const ExecContext&) {
  T* out = static_cast<T*>(args[0].data);
  const bool* condition = static_cast<const bool*>(args[1].data);
  const T* a = static_cast<const T*>(args[2].data);
  const T* b = static_cast<const T*>(args[3].data);
  cpu::strided_for_each<4>(args, [&](const auto& offsets) {
    out[offsets[0]] = condition[offsets[1]] ? a[offsets[2]] : b[offsets[3]];
  });
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
  registry.add(make_kernel<UnaryParams, &unary_cpu<T>>(DeviceType::CPU, dtype_of_v<T>, "cpu", 0,
                                                       floating ? nullptr : &unary_supported_on_integers));
  registry.add(make_kernel<BinaryParams, &binary_cpu<T>>(DeviceType::CPU, dtype_of_v<T>, "cpu", 0,
                                                         floating ? nullptr : &binary_supported_on_integers));
}

template <class T>
void register_selection(KernelRegistry& registry) {
  registry.add(make_kernel<CompareParams, &compare_cpu<T>>(DeviceType::CPU, dtype_of_v<T>, "cpu"));
  registry.add(make_kernel<WhereParams, &where_cpu<T>>(DeviceType::CPU, dtype_of_v<T>, "cpu"));
}

}  // namespace

void register_cpu_elementwise(KernelRegistry& registry) {
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
