// The fused log-softmax + NLL op behind nn::cross_entropy. Internal.
#pragma once

#include "core/tensor.h"

namespace redes::detail {

// Per-sample losses (N) of logits (N, C) against int64 class indices (N):
// log sum_c exp(logits[n, c]) - logits[n, targets[n]], one kernel for the
// forward pass and one for the backward. Checks only what the kernels need
// (dims, dtypes, devices); a target outside [0, C) throws from the kernel.
Tensor cross_entropy_per_sample(const Tensor& logits, const Tensor& targets);

}  // namespace redes::detail
