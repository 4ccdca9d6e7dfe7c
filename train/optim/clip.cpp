#include "train/optim/clip.h"

#include "core/ops.h"

namespace redes::optim {

Tensor clip_grad_norm_(const std::vector<Tensor>& parameters, double max_norm) {
  REDES_CHECK(max_norm > 0, "clip_grad_norm_: expected max_norm > 0, got ", max_norm);
  NoGradGuard no_grad;
  Tensor squared;
  for (const Tensor& p : parameters) {
    const Tensor g = p.grad();
    if (!g.defined()) continue;
    const Tensor part = (g * g).sum().to(kFloat64);
    squared = squared.defined() ? squared + part : part;
  }
  if (!squared.defined()) return scalar_tensor(0.0, {kFloat64});
  const Tensor norm = sqrt(squared);
  // min(1, max_norm / (norm + eps)) computed on the device: no host round trip.
  const Tensor factor = clamp(max_norm / (norm + 1e-6), std::nullopt, 1.0);
  for (const Tensor& p : parameters) {
    Tensor g = p.grad();
    if (g.defined()) g.mul_(factor.to(g.dtype()));
  }
  return norm;
}

}  // namespace redes::optim
