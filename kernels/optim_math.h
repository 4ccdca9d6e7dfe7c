// Per-element updates of the fused optimizer steps (SgdStepParams,
// AdamStepParams), shared by kernels/cpu/optim_step.cpp and
// kernels/cuda/optim_step.cu.
//
// Each line is one op of the composite update in train/optim (scalars
// rounded to S, the type the op computes in, and one rounding to T per op),
// so the fused step gives the composite's numbers up to the compiler
// contracting a * b + c into an FMA. S is T itself, or float32 for the
// 16-bit types, whose number operands enter in float32 as in the elementwise
// ops.
#pragma once

#include <cmath>
#include <cstdint>
#include <type_traits>

#include "core/low_precision.h"
#include "kernels/hd.h"
#include "kernels/params.h"

namespace redes::optim_math {

// The numbers of one SGD step in S, rounded once per call.
template <class S>
struct SgdNumbers {
  S weight_decay, momentum, one_minus_dampening, minus_lr;
};

template <class S>
REDES_HD SgdNumbers<S> sgd_numbers(const SgdStepParams& p) {
  return {static_cast<S>(p.weight_decay), static_cast<S>(p.momentum), static_cast<S>(1.0 - p.dampening),
          static_cast<S>(-p.lr)};
}

// What an SGD step does besides the plain update, as bits of a template
// argument of sgd_update, so that the CPU's loop over elements has no branch
// in it and vectorises (as AdamDecay below).
inline constexpr unsigned kSgdDecay = 1, kSgdMomentum = 2, kSgdFirstStep = 4, kSgdNesterov = 8, kSgdForms = 16;

REDES_HD unsigned sgd_form(const SgdStepParams& p) {
  return (p.weight_decay != 0 ? kSgdDecay : 0u) | (p.momentum != 0 ? kSgdMomentum : 0u) |
         (p.first_step ? kSgdFirstStep : 0u) | (p.nesterov ? kSgdNesterov : 0u);
}

// Calls body(std::integral_constant<unsigned, F>{}) for the form F == form.
template <unsigned F = 0, class Body>
REDES_HD void visit_sgd_form(unsigned form, Body&& body) {
  if constexpr (F < kSgdForms) {
    if (form == F) return body(std::integral_constant<unsigned, F>{});
    visit_sgd_form<F + 1>(form, body);
  }
}

// `buffer` is read and written only with kSgdMomentum.
template <unsigned Form, class T>
REDES_HD void sgd_update(T& param, T grad, T& buffer, const SgdNumbers<compute_type_t<T>>& n) {
  T g = grad;
  if constexpr ((Form & kSgdDecay) != 0) g = static_cast<T>(g + n.weight_decay * param);
  if constexpr ((Form & kSgdMomentum) != 0) {
    T b = g;
    if constexpr ((Form & kSgdFirstStep) == 0) {
      b = static_cast<T>(buffer * n.momentum);
      b = static_cast<T>(b + n.one_minus_dampening * g);
    }
    buffer = b;
    g = (Form & kSgdNesterov) != 0 ? static_cast<T>(g + n.momentum * b) : b;
  }
  param = static_cast<T>(param + n.minus_lr * g);
}

// The numbers of one Adam step in S, each rounded from the double the
// composite computes: computed once per call, not per element (a square root
// of a double per element cost more than the rest of the update).
template <class S>
struct AdamNumbers {
  S decay, weight_decay, beta1, one_minus_beta1, beta2, one_minus_beta2, root_correction2, eps, step;
};

template <class S>
REDES_HD AdamNumbers<S> adam_numbers(const AdamStepParams& p) {
  using std::pow;
  using std::sqrt;
  // The host's corrections, or those of the count in device memory (the
  // host computes 1 - pow(beta, t) the same way).
  const double correction1 = p.step_count == nullptr ? p.correction1 : 1.0 - pow(p.beta1, *p.step_count);
  const double correction2 = p.step_count == nullptr ? p.correction2 : 1.0 - pow(p.beta2, *p.step_count);
  return {static_cast<S>(1.0 - p.lr * p.weight_decay), static_cast<S>(p.weight_decay), static_cast<S>(p.beta1),
          static_cast<S>(1.0 - p.beta1),              static_cast<S>(p.beta2),        static_cast<S>(1.0 - p.beta2),
          static_cast<S>(sqrt(correction2)),          static_cast<S>(p.eps),          static_cast<S>(-p.lr / correction1)};
}

// Which weight decay a step applies. A template argument of adam_element, so
// that the CPU's loop over elements has no branch in it and vectorises.
enum class AdamDecay { None, L2, Decoupled };

REDES_HD AdamDecay adam_decay(const AdamStepParams& p) {
  if (p.weight_decay == 0) return AdamDecay::None;
  return p.decoupled_weight_decay ? AdamDecay::Decoupled : AdamDecay::L2;
}

// Calls body(std::integral_constant<AdamDecay, D>{}) for the decay D of `p`.
template <class Body>
REDES_HD void visit_adam_decay(const AdamStepParams& p, Body&& body) {
  switch (adam_decay(p)) {
    case AdamDecay::None: return body(std::integral_constant<AdamDecay, AdamDecay::None>{});
    case AdamDecay::L2: return body(std::integral_constant<AdamDecay, AdamDecay::L2>{});
    case AdamDecay::Decoupled: return body(std::integral_constant<AdamDecay, AdamDecay::Decoupled>{});
  }
}

template <AdamDecay Decay, class T>
REDES_HD void adam_element(T& param, T grad, T& m, T& v, const AdamNumbers<compute_type_t<T>>& n) {
  using std::sqrt;
  using S = compute_type_t<T>;
  T g = grad;
  if constexpr (Decay == AdamDecay::Decoupled) param = static_cast<T>(param * n.decay);
  if constexpr (Decay == AdamDecay::L2) g = static_cast<T>(g + n.weight_decay * param);
  m = static_cast<T>(m * n.beta1);
  m = static_cast<T>(m + n.one_minus_beta1 * g);
  const T g2 = static_cast<T>(g * g);
  v = static_cast<T>(v * n.beta2);
  v = static_cast<T>(v + n.one_minus_beta2 * g2);
  const T root = static_cast<T>(sqrt(static_cast<S>(v)));
  T denominator = static_cast<T>(root / n.root_correction2);
  denominator = static_cast<T>(denominator + n.eps);
  param = static_cast<T>(param + n.step * static_cast<T>(m / denominator));
}

}  // namespace redes::optim_math
