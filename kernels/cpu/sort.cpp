// sort and nonzero on the CPU: std::stable_sort per row (rows in parallel),
// and one pass over the elements.
#include <algorithm>
#include <cstdint>
#include <numeric>

#include "core/low_precision.h"
#include "kernels/cpu/parallel.h"
#include "kernels/params.h"
#include "kernels/registry.h"
#include "kernels/sort_order.h"

namespace redes {
namespace {

// args: values, indices, input — see SortParams.
template <class T>
void sort_cpu(const SortParams& p, const TensorArg* args, int, const ExecContext&) {
  auto* values = static_cast<T*>(args[0].data);
  auto* indices = static_cast<std::int64_t*>(args[1].data);
  const auto* input = static_cast<const T*>(args[2].data);
  const SortBefore<T> before{p.descending};
  // A row per chunk at least; long rows are worth a chunk each.
  const std::int64_t grain = std::max<std::int64_t>(1, 4096 / std::max<std::int64_t>(p.length, 1));
  cpu::parallel_for(0, p.rows, grain, [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t r = lo; r < hi; ++r) {
      const T* row = input + r * p.length;
      std::int64_t* order = indices + r * p.length;
      std::iota(order, order + p.length, std::int64_t{0});
      std::stable_sort(order, order + p.length, [&](std::int64_t a, std::int64_t b) { return before(row[a], row[b]); });
      for (std::int64_t i = 0; i < p.length; ++i) values[r * p.length + i] = row[order[i]];
    }
  });
}

// args: out, input — see NonzeroParams.
template <class T>
void nonzero_cpu(const NonzeroParams& p, const TensorArg* args, int, const ExecContext&) {
  auto* out = static_cast<std::int64_t*>(args[0].data);
  const TensorArg& input = args[1];
  const auto* data = static_cast<const T*>(input.data);
  const std::int64_t n = input.numel();
  std::int64_t count = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    if (!is_nonzero_element(data[i])) continue;
    std::int64_t rest = i;
    for (int d = input.ndim - 1; d >= 0; --d) {
      out[count * input.ndim + d] = rest % input.sizes[d];
      rest /= input.sizes[d];
    }
    ++count;
  }
  *p.count = count;
}

template <class T>
void register_for(KernelRegistry& registry) {
  registry.add(make_kernel<NonzeroParams, &nonzero_cpu<T>>(DeviceType::CPU, dtype_of_v<T>, "cpu"));
  if constexpr (!std::is_same_v<T, bool>) {
    registry.add(make_kernel<SortParams, &sort_cpu<T>>(DeviceType::CPU, dtype_of_v<T>, "cpu"));
  }
}

}  // namespace

void register_cpu_sort(KernelRegistry& registry) {
  register_for<float>(registry);
  register_for<double>(registry);
  register_for<Float16>(registry);
  register_for<BFloat16>(registry);
  register_for<std::int64_t>(registry);
  register_for<std::int32_t>(registry);
  register_for<std::uint8_t>(registry);
  register_for<bool>(registry);
}

}  // namespace redes
