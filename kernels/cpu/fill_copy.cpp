// fill and copy on the CPU, for every implemented dtype.
#include <cstdint>

#include "kernels/cpu/convert_16bit.h"
#include "kernels/cpu/strided_loop.h"
#include "kernels/params.h"
#include "kernels/registry.h"

namespace redes {
namespace {

template <class T>
void fill_cpu(const FillParams& params, const TensorArg* args, int, const ExecContext&) {
  T* out = static_cast<T*>(args[0].data);
  const T value = static_cast<T>(params.value);
  cpu::strided_for_each<1>(args, [&](const auto& offsets) { out[offsets[0]] = value; });
}

template <class Out, class In>
void copy_typed(const TensorArg* args) {
  Out* out = static_cast<Out*>(args[0].data);
  const In* in = static_cast<const In*>(args[1].data);
  if constexpr (cpu::is_widening_pair_v<Out, In>) {
    if (has_contiguous_strides(args[0]) && has_contiguous_strides(args[1])) {
      cpu::convert_dense(in, out, args[0].numel());
      return;
    }
  }
  cpu::strided_for_each<2>(args, [&](const auto& offsets) {
    out[offsets[0]] = static_cast<Out>(in[offsets[1]]);
  });
}

// out: any strides; in: same sizes, any strides and dtype.
template <class Out>
void copy_cpu(const CopyParams&, const TensorArg* args, int, const ExecContext&) {
  visit_dtype(args[1].dtype, [&]<class In>(In) { copy_typed<Out, In>(args); });
}

template <class T>
void register_for(KernelRegistry& registry) {
  registry.add(make_kernel<FillParams, &fill_cpu<T>>(DeviceType::CPU, dtype_of_v<T>, "cpu"));
  registry.add(make_kernel<CopyParams, &copy_cpu<T>>(DeviceType::CPU, dtype_of_v<T>, "cpu"));
}

}  // namespace

void register_cpu_fill_copy(KernelRegistry& registry) {
  register_for<float>(registry);
  register_for<double>(registry);
  register_for<std::int64_t>(registry);
  register_for<std::int32_t>(registry);
  register_for<std::uint8_t>(registry);
  register_for<bool>(registry);
  register_for<Float16>(registry);
  register_for<BFloat16>(registry);
}

}  // namespace redes
