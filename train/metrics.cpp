#include "train/metrics.h"

#include <cmath>

#include "core/ops.h"

namespace redes::train {

void MetricAccumulator::add(const Tensor& loss, const Tensor& output, const Tensor& target) {
  NoGradGuard no_grad;
  const std::int64_t batch = output.dim() > 0 ? output.size(0) : 1;
  const Tensor weighted = loss.detach().to(kFloat64) * static_cast<double>(batch);
  loss_sum_ = loss_sum_.defined() ? loss_sum_ + weighted : weighted;
  samples_ += batch;
  if (task_ == Task::Regression) {
    const Tensor error = output.detach().to(kFloat64) - target.to(kFloat64).reshape(output.shape());
    const Tensor squared = (error * error).sum();
    squared_sum_ = squared_sum_.defined() ? squared_sum_ + squared : squared;
    elements_ += output.numel();
    return;
  }
  const Tensor hits = task_ == Task::BinaryClassification
                          ? eq(output.detach() > 0.0, target.reshape(output.shape()) > 0.5).to(kInt64).sum()
                          : eq(argmax(output.detach(), 1), target).to(kInt64).sum();
  hit_count_ = hit_count_.defined() ? hit_count_ + hits : hits;
}

Metrics MetricAccumulator::read() const {
  Metrics metrics;
  metrics.samples = samples_;
  if (samples_ == 0) return metrics;
  metrics.loss = loss_sum_.item() / static_cast<double>(samples_);
  if (task_ == Task::Regression) {
    metrics.rmse = std::sqrt(squared_sum_.item() / static_cast<double>(elements_));
  } else {
    metrics.accuracy = hit_count_.item() / static_cast<double>(samples_);
  }
  return metrics;
}

void MetricAccumulator::reset() {
  loss_sum_ = Tensor();
  hit_count_ = Tensor();
  squared_sum_ = Tensor();
  samples_ = 0;
  elements_ = 0;
}

}  // namespace redes::train
