// Loss functions. Each takes predictions and targets and reduces to a mean
// (default), a sum, or returns the per-element losses.
#pragma once

#include "core/export.h"
#include "core/tensor.h"

namespace redes::nn {

enum class Reduction { Mean, Sum, None };

// Binary cross-entropy on logits, in the stable form
// max(x, 0) - x * y + log(1 + exp(-|x|)); targets in [0, 1], logits' shape.
REDES_API Tensor bce_with_logits(const Tensor& logits, const Tensor& targets, Reduction reduction = Reduction::Mean);
// Cross-entropy of class logits (N, C) against int64 class indices (N):
// log-softmax then negative log-likelihood.
REDES_API Tensor cross_entropy(const Tensor& logits, const Tensor& targets, Reduction reduction = Reduction::Mean);
// Negative log-likelihood of log-probabilities (N, C) at int64 targets (N).
REDES_API Tensor nll_loss(const Tensor& log_probs, const Tensor& targets, Reduction reduction = Reduction::Mean);
// Mean squared error; predictions and targets of one shape.
REDES_API Tensor mse_loss(const Tensor& predictions, const Tensor& targets, Reduction reduction = Reduction::Mean);

}  // namespace redes::nn
