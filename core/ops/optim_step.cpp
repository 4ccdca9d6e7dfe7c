// Fused optimizer steps: one kernel call reads every parameter's gradient and
// updates the parameters and their state in place, where the composite
// update launched five to nine elementwise kernels per parameter and
// allocated temporaries.
#include "core/ops/optim_step.h"

#include <initializer_list>
#include <map>
#include <set>
#include <tuple>

#include "core/ops.h"
#include "core/ops/dispatch.h"
#include "core/tensor_impl.h"

namespace redes::detail {

namespace {

// Slots grouped by what one kernel call needs in common: device, dtype and
// (for SGD) whether the step starts the momentum buffers.
using CallKey = std::tuple<DeviceType, int, DType, bool>;

template <class Slot>
CallKey call_key(const Slot& slot, bool first_step) {
  const Device device = slot.param->device();
  return {device.type, device.index, slot.param->dtype(), first_step};
}

void bump(const Tensor& tensor) { tensor.impl()->storage->bump_version(); }

// The kernel calls of one step: a parameter listed twice (the same storage)
// goes to a later call than its first listing, so that its updates run one
// after the other, as separate steps would, and never side by side.
class StepCalls {
 public:
  std::vector<TensorArg>& args_for(const CallKey& key, const void* param_data) {
    for (Round& round : rounds_) {
      if (round.params.insert(param_data).second) return round.calls[key];
    }
    rounds_.emplace_back();
    rounds_.back().params.insert(param_data);
    return rounds_.back().calls[key];
  }
  template <class Params>
  void run(Params& params, bool set_first_step) {
    for (const Round& round : rounds_) {
      for (const auto& [key, args] : round.calls) {
        if constexpr (requires { params.first_step; }) {
          if (set_first_step) params.first_step = std::get<3>(key);
        }
        run_kernel(Params::op, &params, Device{std::get<0>(key), std::get<1>(key)}, std::get<2>(key), args);
      }
    }
  }

 private:
  struct Round {
    std::set<const void*> params;
    std::map<CallKey, std::vector<TensorArg>> calls;
  };
  std::vector<Round> rounds_;
};

}  // namespace

bool fused_step_applies(const Tensor& param, const Tensor& grad, std::initializer_list<const Tensor*> state) {
  const auto matches = [&](const Tensor& t) {
    return t.is_contiguous() && t.dtype() == param.dtype() && t.device() == param.device() &&
           t.shape() == param.shape();
  };
  if (!is_floating(param.dtype())) return false;
  if (!matches(param) || !matches(grad)) return false;
  for (const Tensor* t : state) {
    if (t->defined() && !matches(*t)) return false;
  }
  return true;
}

void sgd_step(const std::vector<SgdSlot>& slots, SgdStepParams params) {
  const char* op = SgdStepParams::op;
  const bool momentum = params.momentum != 0;
  StepCalls calls;
  for (const SgdSlot& slot : slots) {
    const bool first_step = momentum && !slot.momentum_buffer->defined();
    if (first_step) *slot.momentum_buffer = empty(slot.param->shape(), {slot.param->dtype(), slot.param->device()});
    std::vector<TensorArg>& args = calls.args_for(call_key(slot, first_step), slot.param->data_ptr());
    args.push_back(kernel_arg(*slot.param, op));
    args.push_back(kernel_arg(*slot.grad, op));
    // Without momentum the kernel never touches its third argument.
    args.push_back(kernel_arg(momentum ? *slot.momentum_buffer : *slot.param, op));
  }
  calls.run(params, true);
  for (const SgdSlot& slot : slots) {
    bump(*slot.param);
    if (momentum) bump(*slot.momentum_buffer);
  }
}

void adam_step(const std::vector<AdamSlot>& slots, const AdamStepParams& params) {
  const char* op = AdamStepParams::op;
  StepCalls calls;
  for (const AdamSlot& slot : slots) {
    if (!slot.exp_avg->defined()) {
      *slot.exp_avg = zeros(slot.param->shape(), {slot.param->dtype(), slot.param->device()});
      *slot.exp_avg_sq = zeros(slot.param->shape(), {slot.param->dtype(), slot.param->device()});
    }
    std::vector<TensorArg>& args = calls.args_for(call_key(slot, false), slot.param->data_ptr());
    for (const Tensor* tensor : std::initializer_list<const Tensor*>{slot.param, slot.grad, slot.exp_avg,
                                                                      slot.exp_avg_sq}) {
      args.push_back(kernel_arg(*tensor, op));
    }
  }
  AdamStepParams step = params;
  calls.run(step, false);
  for (const AdamSlot& slot : slots) {
    bump(*slot.param);
    bump(*slot.exp_avg);
    bump(*slot.exp_avg_sq);
  }
}

}  // namespace redes::detail
