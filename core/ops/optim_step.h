// Fused optimizer steps on one parameter tensor, for train/optim. Internal.
#pragma once

#include <initializer_list>

#include "core/tensor.h"
#include "kernels/params.h"

namespace redes::detail {

// True when the fused kernels can update `param` from `grad` with these state
// tensors (undefined ones are created by the step): all contiguous, of one
// float dtype, size and device. Otherwise the optimizer composes public ops.
bool fused_step_applies(const Tensor& param, const Tensor& grad, std::initializer_list<const Tensor*> state);

// One SGD step in place on param (and the momentum buffer, created from the
// gradient on the first step when momentum != 0).
void sgd_step(Tensor& param, const Tensor& grad, Tensor& momentum_buffer, SgdStepParams params);

// One Adam step in place on param, exp_avg and exp_avg_sq (zeros when undefined).
void adam_step(Tensor& param, const Tensor& grad, Tensor& exp_avg, Tensor& exp_avg_sq, const AdamStepParams& params);

}  // namespace redes::detail
