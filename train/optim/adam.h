// Adam (Kingma & Ba) with bias correction, following PyTorch's update:
//   m = beta1 m + (1 - beta1) g,  v = beta2 v + (1 - beta2) g^2
//   p = p - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
// weight_decay adds weight_decay * p to the gradient (L2); AdamW instead
// decays the weights directly, p = p - lr * weight_decay * p, before the step
// (Loshchilov & Hutter, decoupled weight decay).
#pragma once

#include "train/optim/optimizer.h"

namespace redes::optim {

struct AdamOptions {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.0;
  bool decoupled_weight_decay = false;  // true: AdamW
};

class REDES_API Adam : public Optimizer {
 public:
  Adam(std::vector<Tensor> parameters, AdamOptions options = {});
  void step() override;
  double learning_rate() const override { return options_.lr; }
  void set_learning_rate(double lr) override { options_.lr = lr; }
  const AdamOptions& options() const { return options_; }
  // The steps taken (read from the device, a synchronisation, once the count
  // lives there).
  std::int64_t steps_taken() const;
  OptimizerState state() const override;
  void load_state(const OptimizerState& state) override;
  void keep_step_on_device() override;

 private:
  AdamOptions options_;
  std::int64_t step_ = 0;  // the count until keep_step_on_device()
  // After keep_step_on_device(): the count as float64 on the parameters'
  // device, raised by one (device_one_) in each step's own kernel queue.
  Tensor device_step_, device_one_;
  std::vector<Tensor> first_moments_;   // undefined until a parameter's first step
  std::vector<Tensor> second_moments_;
};

// Adam with decoupled weight decay (default 0.01, as in PyTorch).
class REDES_API AdamW : public Adam {
 public:
  AdamW(std::vector<Tensor> parameters, AdamOptions options = {.weight_decay = 0.01});
};

}  // namespace redes::optim
