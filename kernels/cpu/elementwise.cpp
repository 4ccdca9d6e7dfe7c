// Unary and binary elementwise ops on the CPU.
#include <cstdint>

#include "kernels/cpu/strided_loop.h"
#include "kernels/elementwise_math.h"
#include "kernels/registry.h"

namespace redes {
namespace {

// out, in: same sizes; in may be strided.
template <class T>
void unary_cpu(const UnaryParams& params, const TensorArg* args, int, const ExecContext&) {
  T* out = static_cast<T*>(args[0].data);
  const T* in = static_cast<const T*>(args[1].data);
  dispatch_unary_kind(params.kind, [&]<UnaryKind Kind>() {
    cpu::strided_for_each<2>(args, [&](const auto& offsets) {
      out[offsets[0]] = unary_op<Kind>(in[offsets[1]]);
    });
  });
}

// out, a, b: out's sizes; a and b strided, stride 0 where broadcast.
template <class T>
void binary_cpu(const BinaryParams& params, const TensorArg* args, int, const ExecContext&) {
  T* out = static_cast<T*>(args[0].data);
  const T* a = static_cast<const T*>(args[1].data);
  const T* b = static_cast<const T*>(args[2].data);
  const T alpha = static_cast<T>(params.alpha);
  dispatch_binary_kind(params.kind, [&]<BinaryKind Kind>() {
    cpu::strided_for_each<3>(args, [&](const auto& offsets) {
      out[offsets[0]] = binary_op<Kind>(a[offsets[1]], b[offsets[2]], alpha);
    });
  });
}

// Integer tensors have neg and relu, not exp and log.
bool unary_supported_on_integers(const void* params, const TensorArg*, int) {
  const UnaryKind kind = static_cast<const UnaryParams*>(params)->kind;
  return kind == UnaryKind::Neg || kind == UnaryKind::Relu;
}

}  // namespace

void register_cpu_elementwise(KernelRegistry& registry) {
  registry.add(make_kernel<UnaryParams, &unary_cpu<float>>(DeviceType::CPU, kFloat32, "cpu"));
  registry.add(make_kernel<UnaryParams, &unary_cpu<double>>(DeviceType::CPU, kFloat64, "cpu"));
  registry.add(make_kernel<UnaryParams, &unary_cpu<std::int64_t>>(DeviceType::CPU, kInt64, "cpu", 0,
                                                                  &unary_supported_on_integers));
  registry.add(make_kernel<UnaryParams, &unary_cpu<std::int32_t>>(DeviceType::CPU, kInt32, "cpu", 0,
                                                                  &unary_supported_on_integers));
  registry.add(make_kernel<BinaryParams, &binary_cpu<float>>(DeviceType::CPU, kFloat32, "cpu"));
  registry.add(make_kernel<BinaryParams, &binary_cpu<double>>(DeviceType::CPU, kFloat64, "cpu"));
  registry.add(make_kernel<BinaryParams, &binary_cpu<std::int64_t>>(DeviceType::CPU, kInt64, "cpu"));
  registry.add(make_kernel<BinaryParams, &binary_cpu<std::int32_t>>(DeviceType::CPU, kInt32, "cpu"));
}

}  // namespace redes
