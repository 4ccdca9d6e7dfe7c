// Gradient clipping by global norm.
#pragma once

#include <vector>

#include "core/export.h"
#include "core/tensor.h"

namespace redes::optim {

// Scales all gradients together so their global L2 norm is at most
// `max_norm` (factor max_norm / (norm + 1e-6) when the norm is larger).
// Returns the norm before clipping as a 0-d tensor on the gradients' device;
// nothing is copied to the host, so a training step on a GPU does not wait.
REDES_API Tensor clip_grad_norm_(const std::vector<Tensor>& parameters, double max_norm);

}  // namespace redes::optim
