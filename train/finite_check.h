// Cheap checks that tensors hold no NaN or infinity, for the trainer's guards
// against a diverged run and for loaded checkpoints.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "core/tensor.h"

namespace redes::train {

// A 0-d float64 tensor on the tensors' device: 0 when every element of every
// floating tensor is finite, NaN otherwise. x * 0 is 0 for finite x and NaN
// for NaN or infinity, and a sum of zeros cannot overflow, so the result is
// exact whatever the values; reading it is the one synchronisation.
// Undefined tensors and integer tensors are skipped.
Tensor non_finite_flag(const std::vector<Tensor>& tensors);

bool all_finite(const std::vector<Tensor>& tensors);

// The names of the tensors that hold NaN or infinity, in order.
std::vector<std::string> non_finite_names(const std::vector<std::pair<std::string, Tensor>>& tensors);

}  // namespace redes::train
