// Per-element updates of the fused optimizer steps (SgdStepParams,
// AdamStepParams), shared by kernels/cpu/optim_step.cpp and
// kernels/cuda/optim_step.cu.
//
// Each line is one op of the composite update in train/optim (scalars
// rounded to T first, one rounding per op), so the fused step gives the
// composite's numbers up to the compiler contracting a * b + c into an FMA.
#pragma once

#include <cmath>
#include <cstdint>

#include "kernels/hd.h"
#include "kernels/params.h"

namespace redes::optim_math {

template <class T>
REDES_HD void sgd_element(T& param, T grad, T& buffer, const SgdStepParams& p) {
  T g = grad;
  if (p.weight_decay != 0) g = static_cast<T>(g + static_cast<T>(p.weight_decay) * param);
  if (p.momentum != 0) {
    const T momentum = static_cast<T>(p.momentum);
    T b = g;
    if (!p.first_step) {
      b = static_cast<T>(buffer * momentum);
      b = static_cast<T>(b + static_cast<T>(1.0 - p.dampening) * g);
    }
    buffer = b;
    g = p.nesterov ? static_cast<T>(g + momentum * b) : b;
  }
  param = static_cast<T>(param + static_cast<T>(-p.lr) * g);
}

template <class T>
REDES_HD void adam_element(T& param, T grad, T& m, T& v, const AdamStepParams& p) {
  using std::sqrt;
  T g = grad;
  if (p.weight_decay != 0) {
    if (p.decoupled_weight_decay) {
      param = static_cast<T>(param * static_cast<T>(1.0 - p.lr * p.weight_decay));
    } else {
      g = static_cast<T>(g + static_cast<T>(p.weight_decay) * param);
    }
  }
  m = static_cast<T>(m * static_cast<T>(p.beta1));
  m = static_cast<T>(m + static_cast<T>(1.0 - p.beta1) * g);
  const T g2 = static_cast<T>(g * g);
  v = static_cast<T>(v * static_cast<T>(p.beta2));
  v = static_cast<T>(v + static_cast<T>(1.0 - p.beta2) * g2);
  T denominator = static_cast<T>(sqrt(v) / static_cast<T>(sqrt(p.correction2)));
  denominator = static_cast<T>(denominator + static_cast<T>(p.eps));
  param = static_cast<T>(param + static_cast<T>(-p.lr / p.correction1) * static_cast<T>(m / denominator));
}

}  // namespace redes::optim_math
