#include "train/optim/grad_scaler.h"

#include <cmath>

#include "core/error.h"
#include "core/ops.h"
#include "train/finite_check.h"

namespace redes::optim {

GradScaler::GradScaler(GradScalerOptions options) : options_(options), scale_(options.init_scale) {
  REDES_CHECK(std::isfinite(options.init_scale) && options.init_scale > 0, "GradScaler: expected a finite, positive "
              "init_scale, got ", options.init_scale);
  REDES_CHECK(options.growth_factor > 1, "GradScaler: expected growth_factor > 1, got ", options.growth_factor);
  REDES_CHECK(options.backoff_factor > 0 && options.backoff_factor < 1,
              "GradScaler: expected backoff_factor in (0, 1), got ", options.backoff_factor);
  REDES_CHECK(options.growth_interval > 0, "GradScaler: expected growth_interval > 0, got ", options.growth_interval);
}

Tensor GradScaler::scale(const Tensor& loss) const { return loss * scale_; }

bool GradScaler::unscale_(const std::vector<Tensor>& parameters) {
  NoGradGuard no_grad;
  std::vector<Tensor> grads;
  for (const Tensor& parameter : parameters) {
    Tensor grad = parameter.grad();
    if (!grad.defined()) continue;
    grad.mul_(1.0 / scale_);
    grads.push_back(grad);
  }
  last_finite_ = train::all_finite(grads);
  return *last_finite_;
}

void GradScaler::update() {
  REDES_CHECK(last_finite_.has_value(), "GradScaler::update: call unscale_ first, once per step");
  if (!*last_finite_) {
    scale_ *= options_.backoff_factor;
    growth_tracker_ = 0;
  } else if (++growth_tracker_ == options_.growth_interval) {
    // A scale that would overflow float32 stays where it is.
    if (std::isfinite(static_cast<float>(scale_ * options_.growth_factor))) scale_ *= options_.growth_factor;
    growth_tracker_ = 0;
  }
  last_finite_.reset();
}

void GradScaler::load_state(double scale, std::int64_t growth_tracker) {
  REDES_CHECK(std::isfinite(scale) && scale > 0, "GradScaler: expected a finite, positive scale, got ", scale);
  REDES_CHECK(growth_tracker >= 0 && growth_tracker < options_.growth_interval, "GradScaler: expected a growth "
              "tracker in [0, ", options_.growth_interval, "), got ", growth_tracker);
  scale_ = scale;
  growth_tracker_ = growth_tracker;
}

}  // namespace redes::optim
