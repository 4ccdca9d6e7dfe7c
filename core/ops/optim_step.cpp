// Fused optimizer steps: one kernel per parameter tensor reads the gradient
// and updates the parameter and its state in place, where the composite
// update launched five to nine elementwise kernels and allocated temporaries.
#include "core/ops/optim_step.h"

#include "core/ops.h"
#include "core/ops/dispatch.h"
#include "core/tensor_impl.h"

namespace redes::detail {

bool fused_step_applies(const Tensor& param, const Tensor& grad, std::initializer_list<const Tensor*> state) {
  const auto matches = [&](const Tensor& t) {
    return t.is_contiguous() && t.dtype() == param.dtype() && t.device() == param.device() &&
           t.shape() == param.shape();
  };
  if (param.dtype() != kFloat32 && param.dtype() != kFloat64) return false;
  if (!matches(param) || !matches(grad)) return false;
  for (const Tensor* t : state) {
    if (t->defined() && !matches(*t)) return false;
  }
  return true;
}

void sgd_step(Tensor& param, const Tensor& grad, Tensor& momentum_buffer, SgdStepParams params) {
  const char* op = "sgd_step";
  params.first_step = params.momentum != 0 && !momentum_buffer.defined();
  if (params.first_step) momentum_buffer = empty(param.shape(), {param.dtype(), param.device()});
  // Without momentum the kernel never touches its third argument.
  const TensorArg buffer = kernel_arg(params.momentum != 0 ? momentum_buffer : param, op);
  launch(params, param.device(), param.dtype(), {kernel_arg(param, op), kernel_arg(grad, op), buffer});
  param.impl()->storage->bump_version();
  if (params.momentum != 0) momentum_buffer.impl()->storage->bump_version();
}

void adam_step(Tensor& param, const Tensor& grad, Tensor& exp_avg, Tensor& exp_avg_sq, const AdamStepParams& params) {
  const char* op = "adam_step";
  if (!exp_avg.defined()) {
    exp_avg = zeros(param.shape(), {param.dtype(), param.device()});
    exp_avg_sq = zeros(param.shape(), {param.dtype(), param.device()});
  }
  launch(params, param.device(), param.dtype(),
         {kernel_arg(param, op), kernel_arg(grad, op), kernel_arg(exp_avg, op), kernel_arg(exp_avg_sq, op)});
  param.impl()->storage->bump_version();
  exp_avg.impl()->storage->bump_version();
  exp_avg_sq.impl()->storage->bump_version();
}

}  // namespace redes::detail
