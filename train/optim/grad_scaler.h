// Dynamic loss scaling for float16 training, as torch.amp.GradScaler: the
// loss is multiplied by a scale before backward so that small gradients do
// not flush to zero in float16, the gradients are divided by it again before
// the optimizer step, and a step whose gradients overflowed is skipped. The
// scale halves after such a step and doubles after `growth_interval` good
// steps in a row. bfloat16 has float32's range and needs none of this.
//
//   const Tensor loss = ...;                      // under autocast(kFloat16)
//   scaler.scale(loss).backward();
//   if (scaler.unscale_(optimizer.parameters())) optimizer.step();
//   scaler.update();                               // after every attempt
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "core/export.h"
#include "core/tensor.h"

namespace redes::optim {

struct GradScalerOptions {
  double init_scale = 65536.0;  // 2^16
  double growth_factor = 2.0;
  double backoff_factor = 0.5;
  std::int64_t growth_interval = 2000;  // good steps in a row before the scale grows
};

class REDES_API GradScaler {
 public:
  explicit GradScaler(GradScalerOptions options = {});

  // loss * scale (recorded, so backward of the result scales every gradient).
  Tensor scale(const Tensor& loss) const;
  // Divides each parameter's gradient by the scale, in place, and returns
  // whether every gradient is finite (the step may be taken). Parameters
  // without a gradient are skipped. Call once per step, after backward.
  bool unscale_(const std::vector<Tensor>& parameters);
  // Adjusts the scale by the last unscale_'s finding: backs off after an
  // overflow, grows after growth_interval finite steps in a row.
  void update();

  double get_scale() const { return scale_; }
  // Finite steps since the last change of the scale.
  std::int64_t growth_tracker() const { return growth_tracker_; }
  // For checkpoints: restores a scale and tracker saved from these getters.
  void load_state(double scale, std::int64_t growth_tracker);

 private:
  GradScalerOptions options_;
  double scale_;
  std::int64_t growth_tracker_ = 0;
  std::optional<bool> last_finite_;  // set by unscale_, consumed by update
};

}  // namespace redes::optim
