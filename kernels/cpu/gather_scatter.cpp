// gather and scatter_add along one dim, on the CPU.
#include <cstdint>

#include "core/error.h"
#include "core/low_precision.h"
#include "kernels/index_math.h"
#include "kernels/params.h"
#include "kernels/registry.h"

namespace redes {
namespace {

std::int64_t checked_index(std::int64_t j, std::int64_t size, std::int64_t dim, const char* op) {
  REDES_CHECK(j >= 0 && j < size, op, ": index ", j, " is out of range for dim ", dim, " of size ", size);
  return j;
}

// out (index's sizes), in, index (int64): any strides.
template <class T>
void gather_cpu(const GatherParams& p, const TensorArg* args, int, const ExecContext&) {
  const TensorArg& out = args[0];
  const TensorArg& in = args[1];
  const TensorArg& index = args[2];
  const TensorArg source = indexed_view(in, index, p.dim);
  const auto* index_data = static_cast<const std::int64_t*>(index.data);
  const auto* in_data = static_cast<const T*>(in.data);
  auto* out_data = static_cast<T*>(out.data);
  const std::int64_t n = index.numel();
  for (std::int64_t i = 0; i < n; ++i) {
    const std::int64_t j = checked_index(index_data[strided_offset(i, index)], in.sizes[p.dim], p.dim, "gather");
    out_data[strided_offset(i, out)] = in_data[strided_offset(i, source) + j * in.strides[p.dim]];
  }
}

// out (updated), index (int64), src (index's sizes). Serial: two positions
// may add into the same element.
template <class T>
void scatter_add_cpu(const ScatterAddParams& p, const TensorArg* args, int, const ExecContext&) {
  const TensorArg& out = args[0];
  const TensorArg& index = args[1];
  const TensorArg& src = args[2];
  const TensorArg target = indexed_view(out, index, p.dim);
  const auto* index_data = static_cast<const std::int64_t*>(index.data);
  const auto* src_data = static_cast<const T*>(src.data);
  auto* out_data = static_cast<T*>(out.data);
  const std::int64_t n = index.numel();
  for (std::int64_t i = 0; i < n; ++i) {
    const std::int64_t j =
        checked_index(index_data[strided_offset(i, index)], out.sizes[p.dim], p.dim, "scatter_add");
    // 16-bit sums round after each addition, as they would in the type itself.
    T& sum = out_data[strided_offset(i, target) + j * out.strides[p.dim]];
    sum = static_cast<T>(static_cast<compute_type_t<T>>(sum) + static_cast<compute_type_t<T>>(src_data[strided_offset(i, src)]));
  }
}

template <class T>
void register_for(KernelRegistry& registry) {
  registry.add(make_kernel<GatherParams, &gather_cpu<T>>(DeviceType::CPU, dtype_of_v<T>, "cpu"));
  registry.add(make_kernel<ScatterAddParams, &scatter_add_cpu<T>>(DeviceType::CPU, dtype_of_v<T>, "cpu"));
}

}  // namespace

void register_cpu_gather_scatter(KernelRegistry& registry) {
  register_for<float>(registry);
  register_for<double>(registry);
  register_for<std::int64_t>(registry);
  register_for<std::int32_t>(registry);
  register_for<BFloat16>(registry);
  register_for<Float16>(registry);
}

}  // namespace redes
