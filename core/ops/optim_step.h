// Fused optimizer steps, for train/optim: every parameter of an optimizer
// in one kernel call per device and dtype. Internal.
#pragma once

#include <initializer_list>
#include <vector>

#include "core/tensor.h"
#include "kernels/params.h"

namespace redes::detail {

// True when the fused kernels can update `param` from `grad` with these state
// tensors (undefined ones are created by the step): all contiguous, of one
// float dtype, size and device. Otherwise the optimizer composes public ops.
bool fused_step_applies(const Tensor& param, const Tensor& grad, std::initializer_list<const Tensor*> state);

// One parameter of a fused SGD step: its gradient and momentum buffer
// (created from the gradient on the first step when momentum != 0).
struct SgdSlot {
  Tensor* param;
  const Tensor* grad;
  Tensor* momentum_buffer;
};
// One SGD step in place on every slot, one kernel call per device and dtype
// (and per first step, for buffers made now).
void sgd_step(const std::vector<SgdSlot>& slots, SgdStepParams params);

// One parameter of a fused Adam step: its gradient and moments (zeros when undefined).
struct AdamSlot {
  Tensor* param;
  const Tensor* grad;
  Tensor* exp_avg;
  Tensor* exp_avg_sq;
};
// One Adam step in place on every slot, one kernel call per device and dtype.
void adam_step(const std::vector<AdamSlot>& slots, const AdamStepParams& params);

}  // namespace redes::detail
