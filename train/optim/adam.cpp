#include "train/optim/adam.h"

#include <cmath>

#include "core/cuda_graph.h"
#include "core/ops.h"
#include "core/ops/optim_step.h"
#include "train/optim/state_io.h"

namespace redes::optim {

Adam::Adam(std::vector<Tensor> parameters, AdamOptions options)
    : Optimizer(std::move(parameters)), options_(options), first_moments_(parameters_.size()),
      second_moments_(parameters_.size()) {
  REDES_CHECK(options.lr >= 0, "Adam: expected lr >= 0, got ", options.lr);
  REDES_CHECK(options.beta1 >= 0 && options.beta1 < 1 && options.beta2 >= 0 && options.beta2 < 1,
              "Adam: expected betas in [0, 1), got ", options.beta1, " and ", options.beta2);
  REDES_CHECK(options.eps >= 0, "Adam: expected eps >= 0, got ", options.eps);
}

void Adam::step() {
  NoGradGuard no_grad;
  ++step_;
  if (device_step_.defined()) device_step_.add_(device_one_);
  const double correction1 = 1.0 - std::pow(options_.beta1, static_cast<double>(step_));
  const double correction2 = 1.0 - std::pow(options_.beta2, static_cast<double>(step_));
  // Contiguous parameters go to one fused kernel call together.
  std::vector<Tensor> grads(parameters_.size());
  std::vector<redes::detail::AdamSlot> fused;
  for (std::size_t i = 0; i < parameters_.size(); ++i) {
    Tensor& p = parameters_[i];
    if (!p.grad().defined()) continue;
    grads[i] = p.grad();
    Tensor g = grads[i];
    follow_parameter(p, {&first_moments_[i], &second_moments_[i]});
    if (redes::detail::fused_step_applies(p, g, {&first_moments_[i], &second_moments_[i]})) {
      fused.push_back({&p, &grads[i], &first_moments_[i], &second_moments_[i]});
      continue;
    }
    // Strided parameters (views into a larger tensor) take the composite update.
    REDES_CHECK(!cuda::capture_in_progress(), "Adam: parameter ", i, " is not contiguous (or its gradient or "
                "state is not), so it takes the composite update, whose bias correction a CUDA graph would freeze "
                "at the captured step");
    if (options_.weight_decay != 0) {
      if (options_.decoupled_weight_decay) {
        p.mul_(1.0 - options_.lr * options_.weight_decay);
      } else {
        g = add(g, p, options_.weight_decay);
      }
    }
    Tensor& m = first_moments_[i];
    Tensor& v = second_moments_[i];
    if (!m.defined()) {
      m = zeros_like(p);
      v = zeros_like(p);
    }
    m.mul_(options_.beta1).add_(g, 1.0 - options_.beta1);
    v.mul_(options_.beta2).add_(g * g, 1.0 - options_.beta2);
    const Tensor denominator = sqrt(v) / std::sqrt(correction2) + options_.eps;
    p.add_(m / denominator, -options_.lr / correction1);
  }
  if (!fused.empty()) {
    AdamStepParams params{options_.lr,           options_.beta1,
                          options_.beta2,        options_.eps,
                          options_.weight_decay, options_.decoupled_weight_decay,
                          correction1,           correction2};
    if (device_step_.defined()) params.step_count = static_cast<const double*>(device_step_.data_ptr());
    redes::detail::adam_step(fused, params);
  }
}

std::int64_t Adam::steps_taken() const {
  return device_step_.defined() ? static_cast<std::int64_t>(device_step_.item()) : step_;
}

void Adam::keep_step_on_device() {
  if (device_step_.defined() || parameters_.empty()) return;
  const TensorOptions where{kFloat64, parameters_.front().device()};
  device_step_ = scalar_tensor(static_cast<double>(step_), where);
  device_one_ = scalar_tensor(1.0, where);
}

OptimizerState Adam::state() const {
  OptimizerState out;
  out.emplace_back("step", scalar_tensor(static_cast<double>(steps_taken()), {kInt64}));
  for (std::size_t i = 0; i < parameters_.size(); ++i) {
    if (!first_moments_[i].defined()) continue;
    out.emplace_back(std::to_string(i) + ".exp_avg", first_moments_[i]);
    out.emplace_back(std::to_string(i) + ".exp_avg_sq", second_moments_[i]);
  }
  return out;
}

void Adam::load_state(const OptimizerState& state) {
  std::int64_t step = -1;
  for (const auto& [name, value] : state) {
    if (name == "step") step = static_cast<std::int64_t>(value.item());
  }
  REDES_CHECK(step >= 0, "Adam: the optimizer state has no \"step\" entry");
  std::vector<Tensor> first(parameters_.size()), second(parameters_.size());
  detail::read_per_parameter_state(state, "Adam", parameters_, {"exp_avg", "exp_avg_sq"}, {&first, &second});
  step_ = step;
  if (device_step_.defined()) device_step_.fill_(static_cast<double>(step));
  first_moments_ = std::move(first);
  second_moments_ = std::move(second);
}

AdamW::AdamW(std::vector<Tensor> parameters, AdamOptions options)
    : Adam(std::move(parameters), [&options] {
        options.decoupled_weight_decay = true;
        return options;
      }()) {}

}  // namespace redes::optim
