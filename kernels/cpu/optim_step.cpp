// Fused optimizer steps on the CPU (SgdStepParams, AdamStepParams): every
// parameter of a group in one call, one pass over each tensor with the
// per-element updates of kernels/optim_math.h.
#include <cstdint>

#include "kernels/cpu/parallel.h"
#include "kernels/optim_math.h"
#include "kernels/params.h"
#include "kernels/registry.h"

namespace redes {
namespace {

// Elements below which a step stays on one thread.
constexpr std::int64_t kStepGrain = 16384;

// One group's elements with the form known at compile time: a loop without
// branches, which the compiler vectorises.
template <unsigned Form, class T>
void sgd_group(const TensorArg* group, const optim_math::SgdNumbers<compute_type_t<T>>& numbers) {
  T* param = static_cast<T*>(group[0].data);
  const T* grad = static_cast<const T*>(group[1].data);
  T* buffer = static_cast<T*>(group[2].data);  // null without momentum, and then never read
  cpu::parallel_for(0, group[0].numel(), kStepGrain, [&](std::int64_t lo, std::int64_t hi) {
    if constexpr ((Form & optim_math::kSgdMomentum) != 0) {
      for (std::int64_t i = lo; i < hi; ++i) optim_math::sgd_update<Form>(param[i], grad[i], buffer[i], numbers);
    } else {
      T unused{};
      for (std::int64_t i = lo; i < hi; ++i) optim_math::sgd_update<Form>(param[i], grad[i], unused, numbers);
    }
  });
}

// Groups of (param, grad, momentum_buffer): contiguous, one size per group.
template <class T>
void sgd_step_cpu(const SgdStepParams& p, const TensorArg* args, int nargs, const ExecContext&) {
  const auto numbers = optim_math::sgd_numbers<compute_type_t<T>>(p);
  for (int g = 0; g + 2 < nargs; g += 3) {
    optim_math::visit_sgd_form(optim_math::sgd_form(p),
                               [&](auto form) { sgd_group<decltype(form)::value, T>(args + g, numbers); });
  }
}

// One group's elements with the decay known at compile time: a loop without
// branches, which the compiler vectorises (this file is compiled without
// errno for sqrt, so the square root is one instruction too).
template <optim_math::AdamDecay Decay, class T>
void adam_group(const TensorArg* group, const optim_math::AdamNumbers<compute_type_t<T>>& numbers) {
  T* param = static_cast<T*>(group[0].data);
  const T* grad = static_cast<const T*>(group[1].data);
  T* m = static_cast<T*>(group[2].data);
  T* v = static_cast<T*>(group[3].data);
  cpu::parallel_for(0, group[0].numel(), kStepGrain, [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t i = lo; i < hi; ++i) optim_math::adam_element<Decay>(param[i], grad[i], m[i], v[i], numbers);
  });
}

// Groups of (param, grad, exp_avg, exp_avg_sq): contiguous, one size per group.
template <class T>
void adam_step_cpu(const AdamStepParams& p, const TensorArg* args, int nargs, const ExecContext&) {
  const auto numbers = optim_math::adam_numbers<compute_type_t<T>>(p);
  for (int g = 0; g + 3 < nargs; g += 4) {
    optim_math::visit_adam_decay(p, [&](auto decay) { adam_group<decltype(decay)::value, T>(args + g, numbers); });
  }
}

template <class T>
void register_for(KernelRegistry& registry) {
  registry.add(make_kernel<SgdStepParams, &sgd_step_cpu<T>>(DeviceType::CPU, dtype_of_v<T>, "cpu"));
  registry.add(make_kernel<AdamStepParams, &adam_step_cpu<T>>(DeviceType::CPU, dtype_of_v<T>, "cpu"));
}

}  // namespace

void register_cpu_optim_step(KernelRegistry& registry) {
  register_for<float>(registry);
  register_for<double>(registry);
  register_for<BFloat16>(registry);
  register_for<Float16>(registry);
}

}  // namespace redes
