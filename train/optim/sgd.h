// Stochastic gradient descent with momentum, Nesterov momentum and weight
// decay, following PyTorch's update rule:
//   g = grad + weight_decay * p
//   b = g (first step) or momentum * b + (1 - dampening) * g
//   g = g + momentum * b (Nesterov) or b
//   p = p - lr * g
#pragma once

#include "train/optim/optimizer.h"

namespace redes::optim {

struct SGDOptions {
  double lr = 0.01;
  double momentum = 0.0;
  double dampening = 0.0;
  double weight_decay = 0.0;
  bool nesterov = false;
};

class REDES_API SGD : public Optimizer {
 public:
  SGD(std::vector<Tensor> parameters, SGDOptions options = {});
  void step() override;
  double learning_rate() const override { return options_.lr; }
  void set_learning_rate(double lr) override { options_.lr = lr; }
  const SGDOptions& options() const { return options_; }
  OptimizerState state() const override;
  void load_state(const OptimizerState& state) override;

 private:
  SGDOptions options_;
  std::vector<Tensor> momentum_buffers_;  // undefined until a parameter's first step
};

}  // namespace redes::optim
