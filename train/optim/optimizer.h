// Optimizers update parameters in place from their gradients. Each keeps
// per-parameter state (momentum buffers, moments, step count) that it can
// export for checkpoints and load back.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

#include "core/export.h"
#include "core/tensor.h"

namespace redes::optim {

// Named state tensors ("0.momentum_buffer", "step", ...), in a stable order.
using OptimizerState = std::vector<std::pair<std::string, Tensor>>;

class REDES_API Optimizer {
 public:
  // `parameters`: leaf tensors that require grad (Module::parameters()).
  explicit Optimizer(std::vector<Tensor> parameters);
  virtual ~Optimizer();
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  // One update from the current gradients; parameters without a gradient are skipped.
  virtual void step() = 0;
  // Drops every parameter's gradient.
  void zero_grad();
  const std::vector<Tensor>& parameters() const { return parameters_; }

  virtual double learning_rate() const = 0;
  virtual void set_learning_rate(double lr) = 0;

  virtual OptimizerState state() const = 0;
  // Keeps in device memory what a step reads that changes from step to step
  // (Adam's step count), so that a step captured in a cuda::Graph replays
  // correctly; from then on every step uses it. The Trainer calls it before
  // it captures a step. Optimizers whose steps read no such value need
  // nothing.
  virtual void keep_step_on_device() {}
  // Restores what state() exported; throws naming every missing or mismatched entry.
  virtual void load_state(const OptimizerState& state) = 0;

 protected:
  // Per-parameter state (moments, momentum) follows its parameter: after
  // Module::to moved the model, the next step converts the state to the
  // parameter's device and dtype instead of mixing them.
  static void follow_parameter(const Tensor& parameter, std::initializer_list<Tensor*> state);

  std::vector<Tensor> parameters_;
};

}  // namespace redes::optim
