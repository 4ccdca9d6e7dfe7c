// Fused optimizer steps: one kernel call reads every parameter's gradient and
// updates the parameters and their state in place, where the composite
// update launched five to nine elementwise kernels per parameter and
// allocated temporaries.
#include "core/ops/optim_step.h"

#include <algorithm>
#include <initializer_list>
#include <tuple>
#include <utility>

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
//
// Built for every step, so it allocates little: the usual step (no parameter
// listed twice, one device and dtype) is one round with one call, whose
// argument list is sized once.
class StepCalls {
 public:
  // `params`: the data of every slot's parameter; `args_per_slot`: the
  // kernel arguments each slot adds.
  StepCalls(std::vector<const void*> params, std::size_t args_per_slot)
      : args_per_call_(params.size() * args_per_slot) {
    std::sort(params.begin(), params.end());
    repeats_ = std::adjacent_find(params.begin(), params.end()) != params.end();
  }

  std::vector<TensorArg>& args_for(const CallKey& key, const void* param_data) {
    std::size_t r = 0;
    if (repeats_) {
      while (r < rounds_.size() && std::find(rounds_[r].params.begin(), rounds_[r].params.end(), param_data) !=
                                       rounds_[r].params.end()) {
        ++r;
      }
    }
    if (r == rounds_.size()) rounds_.emplace_back();
    Round& round = rounds_[r];
    if (repeats_) round.params.push_back(param_data);
    for (auto& [call_key, args] : round.calls) {
      if (call_key == key) return args;
    }
    round.calls.emplace_back(key, std::vector<TensorArg>{});
    round.calls.back().second.reserve(args_per_call_);
    return round.calls.back().second;
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
    std::vector<const void*> params;  // kept only when some parameter repeats
    std::vector<std::pair<CallKey, std::vector<TensorArg>>> calls;
  };
  std::size_t args_per_call_;
  bool repeats_ = false;
  std::vector<Round> rounds_;
};

template <class Slot>
std::vector<const void*> parameter_data(const std::vector<Slot>& slots) {
  std::vector<const void*> data;
  data.reserve(slots.size());
  for (const Slot& slot : slots) data.push_back(slot.param->data_ptr());
  return data;
}

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
  StepCalls calls(parameter_data(slots), 3);
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
  StepCalls calls(parameter_data(slots), 4);
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
