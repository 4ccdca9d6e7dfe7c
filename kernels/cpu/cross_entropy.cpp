// Fused log-softmax + NLL on the CPU (CrossEntropyParams and its backward),
// with the per-row logic of kernels/cross_entropy_math.h.
#include <cstdint>

#include "core/error.h"
#include "kernels/cpu/parallel.h"
#include "kernels/cross_entropy_math.h"
#include "kernels/params.h"
#include "kernels/registry.h"

namespace redes {
namespace {

namespace math = cross_entropy_math;

// Rows below which a call stays on one thread (a row costs C exps).
constexpr std::int64_t kRowGrain = 64;

// Throws for the first target outside [0, classes), before any work.
void check_targets(const TensorArg& targets, std::int64_t classes) {
  const auto* data = static_cast<const std::int64_t*>(targets.data);
  const std::int64_t rows = targets.sizes[0];
  for (std::int64_t n = 0; n < rows; ++n) {
    const std::int64_t t = data[n * targets.strides[0]];
    if (!math::valid_target(t, classes)) {
      detail::fail("cross_entropy: target ", t, " of sample ", n, " is out of range; expected a class index in [0, ",
                   classes, ")");
    }
  }
}

// losses (N), lse (N, double): contiguous; logits (N, C), targets (N): any strides.
template <class T>
void cross_entropy_cpu(const CrossEntropyParams&, const TensorArg* args, int, const ExecContext&) {
  const TensorArg& logits = args[2];
  const TensorArg& targets = args[3];
  const std::int64_t rows = logits.sizes[0], classes = logits.sizes[1];
  check_targets(targets, classes);
  T* losses = static_cast<T*>(args[0].data);
  auto* lse = static_cast<double*>(args[1].data);
  const T* x = static_cast<const T*>(logits.data);
  const auto* t = static_cast<const std::int64_t*>(targets.data);
  cpu::parallel_for(0, rows, kRowGrain, [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t n = lo; n < hi; ++n) {
      math::forward_row(x + n * logits.strides[0], logits.strides[1], classes, t[n * targets.strides[0]], losses[n],
                        lse[n]);
    }
  });
}

// grad_logits (N, C) contiguous; logits (N, C), targets (N), lse (N, double), grad (N): any strides.
template <class T>
void cross_entropy_backward_cpu(const CrossEntropyBackwardParams&, const TensorArg* args, int, const ExecContext&) {
  const TensorArg &logits = args[1], &targets = args[2], &lse = args[3], &grad = args[4];
  const std::int64_t rows = logits.sizes[0], classes = logits.sizes[1];
  T* out = static_cast<T*>(args[0].data);
  const T* x = static_cast<const T*>(logits.data);
  const auto* t = static_cast<const std::int64_t*>(targets.data);
  const auto* l = static_cast<const double*>(lse.data);
  const T* g = static_cast<const T*>(grad.data);
  cpu::parallel_for(0, rows, kRowGrain, [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t n = lo; n < hi; ++n) {
      const std::int64_t target = t[n * targets.strides[0]];
      const double row_lse = l[n * lse.strides[0]];
      const T row_grad = g[n * grad.strides[0]];
      const T* row = x + n * logits.strides[0];
      for (std::int64_t c = 0; c < classes; ++c) {
        out[n * classes + c] = math::backward_element(row[c * logits.strides[1]], row_lse, c == target, row_grad);
      }
    }
  });
}

template <class T>
void register_for(KernelRegistry& registry) {
  registry.add(make_kernel<CrossEntropyParams, &cross_entropy_cpu<T>>(DeviceType::CPU, dtype_of_v<T>, "cpu"));
  registry.add(
      make_kernel<CrossEntropyBackwardParams, &cross_entropy_backward_cpu<T>>(DeviceType::CPU, dtype_of_v<T>, "cpu"));
}

}  // namespace

// The 16-bit types read their logits into float32 and sum in double, as the others.
void register_cpu_cross_entropy(KernelRegistry& registry) {
  register_for<float>(registry);
  register_for<double>(registry);
  register_for<BFloat16>(registry);
  register_for<Float16>(registry);
}

}  // namespace redes
