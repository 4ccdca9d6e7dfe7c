// Reading per-parameter optimizer state ("<index>.<field>") back into
// vectors, with one error listing every problem. Internal.
#pragma once

#include <string>
#include <vector>

#include "train/optim/optimizer.h"

namespace redes::optim::detail {

// For each field f (fields[k]), fills (*targets[k])[i] from the entry
// "<i>.<f>" with a copy on parameter i's device; entries may be absent for
// parameters that have not stepped yet, but a present entry must match its
// parameter's shape, and every entry must name a known parameter and field.
void read_per_parameter_state(const OptimizerState& state, const char* optimizer, const std::vector<Tensor>& parameters,
                              const std::vector<std::string>& fields, const std::vector<std::vector<Tensor>*>& targets);

}  // namespace redes::optim::detail
