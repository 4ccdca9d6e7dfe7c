#include "train/optim/sgd.h"

#include "core/ops.h"
#include "core/ops/optim_step.h"
#include "train/optim/state_io.h"

namespace redes::optim {

SGD::SGD(std::vector<Tensor> parameters, SGDOptions options)
    : Optimizer(std::move(parameters)), options_(options), momentum_buffers_(parameters_.size()) {
  REDES_CHECK(options.lr >= 0, "SGD: expected lr >= 0, got ", options.lr);
  REDES_CHECK(options.momentum >= 0, "SGD: expected momentum >= 0, got ", options.momentum);
  REDES_CHECK(options.weight_decay >= 0, "SGD: expected weight_decay >= 0, got ", options.weight_decay);
  REDES_CHECK(!options.nesterov || (options.momentum > 0 && options.dampening == 0),
              "SGD: Nesterov momentum needs momentum > 0 and dampening = 0");
}

void SGD::step() {
  NoGradGuard no_grad;
  // Contiguous parameters go to one fused kernel call together.
  std::vector<Tensor> grads(parameters_.size());
  std::vector<redes::detail::SgdSlot> fused;
  for (std::size_t i = 0; i < parameters_.size(); ++i) {
    Tensor& p = parameters_[i];
    if (!p.grad().defined()) continue;
    grads[i] = p.grad();
    Tensor g = grads[i];
    follow_parameter(p, {&momentum_buffers_[i]});
    if (redes::detail::fused_step_applies(p, g, {&momentum_buffers_[i]})) {
      fused.push_back({&p, &grads[i], &momentum_buffers_[i]});
      continue;
    }
    // Strided parameters (views into a larger tensor) take the composite update.
    if (options_.weight_decay != 0) g = add(g, p, options_.weight_decay);
    if (options_.momentum != 0) {
      Tensor& buffer = momentum_buffers_[i];
      if (!buffer.defined()) {
        buffer = g.clone();
      } else {
        buffer.mul_(options_.momentum).add_(g, 1.0 - options_.dampening);
      }
      g = options_.nesterov ? add(g, buffer, options_.momentum) : buffer;
    }
    p.add_(g, -options_.lr);
  }
  if (!fused.empty()) {
    redes::detail::sgd_step(fused, {options_.lr, options_.momentum, options_.dampening, options_.weight_decay,
                                    options_.nesterov});
  }
}

OptimizerState SGD::state() const {
  OptimizerState out;
  for (std::size_t i = 0; i < momentum_buffers_.size(); ++i) {
    if (momentum_buffers_[i].defined()) out.emplace_back(std::to_string(i) + ".momentum_buffer", momentum_buffers_[i]);
  }
  return out;
}

void SGD::load_state(const OptimizerState& state) {
  std::vector<Tensor> loaded(parameters_.size());
  detail::read_per_parameter_state(state, "SGD", parameters_, {"momentum_buffer"}, {&loaded});
  momentum_buffers_ = std::move(loaded);
}

}  // namespace redes::optim
