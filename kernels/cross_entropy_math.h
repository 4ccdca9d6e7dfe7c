// Per-row logic of the fused cross-entropy kernels (CrossEntropyParams and
// its backward), shared by kernels/cpu/cross_entropy.cpp and
// kernels/cuda/cross_entropy.cu.
#pragma once

#include <cmath>
#include <cstdint>

#include "kernels/arg_reduce_math.h"
#include "kernels/hd.h"

namespace redes::cross_entropy_math {

REDES_HD bool valid_target(std::int64_t target, std::int64_t classes) { return target >= 0 && target < classes; }

// The loss and log-sum-exp of a row from its sums and its target's logit.
template <class T>
REDES_HD void finish_row(const RowExpSum<T>& sums, T target_logit, T& loss, double& lse) {
  loss = static_cast<T>(sums.log_total - static_cast<double>(target_logit - sums.peak));
  lse = static_cast<double>(sums.peak) + sums.log_total;
}

// Loss of one row of `classes` logits `stride` apart, for a valid target.
// The steps and roundings are softmax_row's (row_exp_sum serves both)
// followed by picking and negating, so the loss has the bits of the composite
// -log_softmax(x)[target]: T(log_total - shifted) = -T(shifted - log_total).
template <class T>
REDES_HD void forward_row(const T* row, std::int64_t stride, std::int64_t classes, std::int64_t target, T& loss,
                          double& lse) {
  finish_row(row_exp_sum(row, stride, classes), row[target * stride], loss, lse);
}

// d loss / d logit for one element: grad (softmax - one_hot), in double.
template <class T>
REDES_HD T backward_element(T logit, double lse, bool is_target, T grad) {
  using std::exp;
  const double softmax = exp(static_cast<double>(logit) - lse);
  return static_cast<T>(static_cast<double>(grad) * (softmax - (is_target ? 1.0 : 0.0)));
}

}  // namespace redes::cross_entropy_math
