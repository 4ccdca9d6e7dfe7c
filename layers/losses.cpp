#include "layers/losses.h"

#include "core/autocast.h"
#include "core/ops.h"
#include "core/ops/cross_entropy.h"

namespace redes::nn {

namespace {

Tensor reduce(const Tensor& losses, Reduction reduction) {
  switch (reduction) {
    case Reduction::Mean: return losses.mean();
    case Reduction::Sum: return losses.sum();
    case Reduction::None: return losses;
  }
  return losses;
}

void check_same_shape(const Tensor& predictions, const Tensor& targets, const char* op) {
  REDES_CHECK(predictions.defined() && targets.defined(), op, ": undefined predictions or targets");
  REDES_CHECK(predictions.shape() == targets.shape(), op, ": predictions have shape ", shape_str(predictions.shape()),
              ", targets have shape ", shape_str(targets.shape()), "; expected the same shape");
  REDES_CHECK(is_floating(predictions.dtype()), op, ": expected floating-point predictions, got ",
              dtype_name(predictions.dtype()));
}

void check_class_targets(const Tensor& scores, const Tensor& targets, const char* op) {
  REDES_CHECK(scores.defined() && targets.defined(), op, ": undefined scores or targets");
  REDES_CHECK(scores.dim() == 2, op, ": expected scores of shape (N, C), got ", shape_str(scores.shape()));
  REDES_CHECK(targets.dtype() == kInt64, op, ": expected int64 class indices, got ", dtype_name(targets.dtype()));
  REDES_CHECK(targets.dim() == 1 && targets.size(0) == scores.size(0), op, ": expected ", scores.size(0),
              " targets of shape (", scores.size(0), ",), got ", shape_str(targets.shape()));
}

}  // namespace

Tensor bce_with_logits(const Tensor& logits_in, const Tensor& targets, Reduction reduction) {
  const Tensor logits = detail::autocast_to_float32(logits_in);
  check_same_shape(logits, targets, "bce_with_logits");
  const Tensor y = targets.to(logits.dtype());
  const Tensor zero = zeros({}, {logits.dtype(), logits.device()});
  // Never exponentiates a positive number, so large logits of either sign are safe.
  const Tensor losses = maximum(logits, zero) - logits * y + log(1.0 + exp(-abs(logits)));
  return reduce(losses, reduction);
}

Tensor nll_loss(const Tensor& log_probs_in, const Tensor& targets, Reduction reduction) {
  const Tensor log_probs = detail::autocast_to_float32(log_probs_in);
  check_class_targets(log_probs, targets, "nll_loss");
  const Tensor picked = gather(log_probs, 1, targets.unsqueeze(1)).squeeze(1);
  return reduce(-picked, reduction);
}

Tensor cross_entropy(const Tensor& logits_in, const Tensor& targets, Reduction reduction) {
  const Tensor logits = detail::autocast_to_float32(logits_in);
  check_class_targets(logits, targets, "cross_entropy");
  // One fused kernel instead of log_softmax then nll_loss (same values; the
  // reduction stays the float64-accumulating sum/mean).
  return reduce(detail::cross_entropy_per_sample(logits, targets), reduction);
}

Tensor mse_loss(const Tensor& predictions_in, const Tensor& targets, Reduction reduction) {
  const Tensor predictions = detail::autocast_to_float32(predictions_in);
  check_same_shape(predictions, targets, "mse_loss");
  const Tensor error = predictions - targets.to(predictions.dtype());
  return reduce(error * error, reduction);
}

}  // namespace redes::nn
