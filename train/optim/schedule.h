// Learning-rate schedules. Each sets the optimizer's learning rate to
// base_lr * factor(step); call step() once per epoch or once per batch,
// whichever the schedule's lengths are counted in.
#pragma once

#include <cstdint>

#include "train/optim/optimizer.h"

namespace redes::optim {

class REDES_API LrSchedule {
 public:
  explicit LrSchedule(Optimizer& optimizer);
  virtual ~LrSchedule();
  LrSchedule(const LrSchedule&) = delete;
  LrSchedule& operator=(const LrSchedule&) = delete;

  void step();
  // Jumps to a step count (resuming from a checkpoint) and applies its rate.
  void set_step(std::int64_t step);
  std::int64_t steps_taken() const { return step_; }
  double base_lr() const { return base_lr_; }
  // The multiplier of the base learning rate after `step` calls to step().
  virtual double factor(std::int64_t step) const = 0;

 private:
  Optimizer& optimizer_;
  double base_lr_;
  std::int64_t step_ = 0;
};

// Multiplies the rate by gamma every step_size steps.
class REDES_API StepLR : public LrSchedule {
 public:
  StepLR(Optimizer& optimizer, std::int64_t step_size, double gamma = 0.1);
  double factor(std::int64_t step) const override;

 private:
  std::int64_t step_size_;
  double gamma_;
};

// Cosine from the base rate down to eta_min over t_max steps, then eta_min.
class REDES_API CosineAnnealingLR : public LrSchedule {
 public:
  CosineAnnealingLR(Optimizer& optimizer, std::int64_t t_max, double eta_min = 0.0);
  double factor(std::int64_t step) const override;

 private:
  std::int64_t t_max_;
  double eta_min_;
};

// Linear warm-up from start_factor * base to the base rate over
// warmup_steps, then (when total_steps > warmup_steps) a cosine decay to 0 at
// total_steps; with total_steps = 0 the rate stays at the base after warm-up.
class REDES_API WarmupCosineLR : public LrSchedule {
 public:
  WarmupCosineLR(Optimizer& optimizer, std::int64_t warmup_steps, std::int64_t total_steps = 0,
                 double start_factor = 0.0);
  double factor(std::int64_t step) const override;

 private:
  std::int64_t warmup_steps_;
  std::int64_t total_steps_;
  double start_factor_;
};

}  // namespace redes::optim
