#include "train/optim/schedule.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "core/error.h"

namespace redes::optim {

LrSchedule::LrSchedule(Optimizer& optimizer) : optimizer_(optimizer), base_lr_(optimizer.learning_rate()) {}

LrSchedule::~LrSchedule() = default;

void LrSchedule::step() { set_step(step_ + 1); }

void LrSchedule::set_step(std::int64_t step) {
  REDES_CHECK(step >= 0, "learning-rate schedule: expected a step >= 0, got ", step);
  step_ = step;
  optimizer_.set_learning_rate(base_lr_ * factor(step_));
}

StepLR::StepLR(Optimizer& optimizer, std::int64_t step_size, double gamma)
    : LrSchedule(optimizer), step_size_(step_size), gamma_(gamma) {
  REDES_CHECK(step_size > 0, "StepLR: expected step_size > 0, got ", step_size);
}

double StepLR::factor(std::int64_t step) const {
  return std::pow(gamma_, static_cast<double>(step / step_size_));
}

CosineAnnealingLR::CosineAnnealingLR(Optimizer& optimizer, std::int64_t t_max, double eta_min)
    : LrSchedule(optimizer), t_max_(t_max), eta_min_(eta_min) {
  REDES_CHECK(t_max > 0, "CosineAnnealingLR: expected t_max > 0, got ", t_max);
}

double CosineAnnealingLR::factor(std::int64_t step) const {
  const double progress = static_cast<double>(std::min(step, t_max_)) / static_cast<double>(t_max_);
  const double floor = eta_min_ / base_lr();
  return floor + (1.0 - floor) * 0.5 * (1.0 + std::cos(std::numbers::pi * progress));
}

WarmupCosineLR::WarmupCosineLR(Optimizer& optimizer, std::int64_t warmup_steps, std::int64_t total_steps,
                               double start_factor)
    : LrSchedule(optimizer), warmup_steps_(warmup_steps), total_steps_(total_steps), start_factor_(start_factor) {
  REDES_CHECK(warmup_steps >= 0 && total_steps >= 0 && start_factor >= 0 && start_factor <= 1,
              "WarmupCosineLR: expected warmup_steps, total_steps >= 0 and start_factor in [0, 1]");
}

double WarmupCosineLR::factor(std::int64_t step) const {
  if (step < warmup_steps_) {
    return start_factor_ + (1.0 - start_factor_) * static_cast<double>(step) / static_cast<double>(warmup_steps_);
  }
  if (total_steps_ <= warmup_steps_) return 1.0;
  const double progress = static_cast<double>(std::min(step, total_steps_) - warmup_steps_) /
                          static_cast<double>(total_steps_ - warmup_steps_);
  return 0.5 * (1.0 + std::cos(std::numbers::pi * progress));
}

}  // namespace redes::optim
