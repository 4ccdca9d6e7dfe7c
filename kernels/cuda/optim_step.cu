// Fused optimizer steps on CUDA devices (SgdStepParams, AdamStepParams): every
// parameter of a group in one launch (or one per kMaxTensors parameters),
// one thread per element of all of them, with the per-element updates of
// kernels/optim_math.h (shared with the CPU).
#include <cstdint>

#include "core/cuda/check.h"
#include "kernels/cuda/launch.cuh"
#include "kernels/optim_math.h"
#include "kernels/params.h"
#include "kernels/registry.h"

namespace redes {
namespace {

// Parameters per launch: their pointers travel in the kernel's parameter
// block, which CUDA limits to 4 KB (48 x 4 pointers and an offset: 1.9 KB).
constexpr int kMaxTensors = 48;

// The tensors of one launch: group g's tensors at data[g], its elements at
// global indices [end[g - 1], end[g]).
template <class T, int Arity>
struct TensorTable {
  T* data[kMaxTensors][Arity];
  std::int64_t end[kMaxTensors];
  int count;
};

// The group holding global element i (binary search of the ends).
template <class T, int Arity>
__device__ int group_of(const TensorTable<T, Arity>& table, std::int64_t i) {
  int lo = 0, hi = table.count - 1;
  while (lo < hi) {
    const int mid = (lo + hi) / 2;
    if (table.end[mid] > i) {
      hi = mid;
    } else {
      lo = mid + 1;
    }
  }
  return lo;
}

// Groups of (param, grad, buffer); buffer is null when momentum is 0, and
// then never read (sgd_update touches it only with kSgdMomentum).
template <class T>
__global__ void sgd_step_kernel(SgdStepParams p, TensorTable<T, 3> table) {
  const std::int64_t total = table.end[table.count - 1];
  const auto numbers = optim_math::sgd_numbers<compute_type_t<T>>(p);
  // The same form, so the same branch, in every thread of the launch.
  optim_math::visit_sgd_form(optim_math::sgd_form(p), [&](auto form) {
    for (std::int64_t i = cuda::first_index(); i < total; i += cuda::grid_stride()) {
      const int g = group_of(table, i);
      const std::int64_t k = i - (g == 0 ? 0 : table.end[g - 1]);
      T unused{};
      T* buffer = table.data[g][2];
      optim_math::sgd_update<decltype(form)::value>(table.data[g][0][k], table.data[g][1][k],
                                                    buffer != nullptr ? buffer[k] : unused, numbers);
    }
  });
}

// Groups of (param, grad, m, v).
template <class T>
__global__ void adam_step_kernel(AdamStepParams p, TensorTable<T, 4> table) {
  const std::int64_t total = table.end[table.count - 1];
  const auto numbers = optim_math::adam_numbers<compute_type_t<T>>(p);
  // The same decay, so the same branch, in every thread of the launch.
  optim_math::visit_adam_decay(p, [&](auto decay) {
    for (std::int64_t i = cuda::first_index(); i < total; i += cuda::grid_stride()) {
      const int g = group_of(table, i);
      const std::int64_t k = i - (g == 0 ? 0 : table.end[g - 1]);
      T* const* data = table.data[g];
      optim_math::adam_element<decltype(decay)::value>(data[0][k], data[1][k], data[2][k], data[3][k], numbers);
    }
  });
}

// Launches `kernel` over the groups of `args` (Arity tensors each), up to
// kMaxTensors groups at a time; `with_buffer` false leaves slot 2 null.
template <class T, int Arity, class Params, class Kernel>
void launch_groups(Kernel kernel, const Params& p, const TensorArg* args, int nargs, const ExecContext& ctx,
                   bool with_buffer = true) {
  TensorTable<T, Arity> table{};
  const auto flush = [&] {
    if (table.count == 0 || table.end[table.count - 1] == 0) {
      table = {};
      return;
    }
    const std::int64_t total = table.end[table.count - 1];
    REDES_CUDA_CHECK(cuda::launch(kernel, cuda::grid_size(total), cuda::kBlockSize, 0, cuda::stream_of(ctx), p, table),
                     Params::op);
    table = {};
  };
  for (int g = 0; g + Arity - 1 < nargs; g += Arity) {
    const std::int64_t before = table.count == 0 ? 0 : table.end[table.count - 1];
    for (int t = 0; t < Arity; ++t) table.data[table.count][t] = static_cast<T*>(args[g + t].data);
    if (!with_buffer) table.data[table.count][2] = nullptr;
    table.end[table.count] = before + args[g].numel();
    if (++table.count == kMaxTensors) flush();
  }
  flush();
}

template <class T>
void sgd_step_cuda(const SgdStepParams& p, const TensorArg* args, int nargs, const ExecContext& ctx) {
  launch_groups<T, 3>(sgd_step_kernel<T>, p, args, nargs, ctx, p.momentum != 0);
}

template <class T>
void adam_step_cuda(const AdamStepParams& p, const TensorArg* args, int nargs, const ExecContext& ctx) {
  launch_groups<T, 4>(adam_step_kernel<T>, p, args, nargs, ctx);
}

template <class T>
void register_for(KernelRegistry& registry) {
  registry.add(make_kernel<SgdStepParams, &sgd_step_cuda<T>>(DeviceType::CUDA, dtype_of_v<T>, "cuda.hand"));
  registry.add(make_kernel<AdamStepParams, &adam_step_cuda<T>>(DeviceType::CUDA, dtype_of_v<T>, "cuda.hand"));
}

}  // namespace

void register_cuda_optim_step(KernelRegistry& registry) {
  register_for<float>(registry);
  register_for<double>(registry);
  register_for<BFloat16>(registry);
  register_for<Float16>(registry);
}

}  // namespace redes
