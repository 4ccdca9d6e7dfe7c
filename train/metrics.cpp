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

MetricSums MetricAccumulator::sums() const {
  MetricSums sums = base_;
  sums.samples += samples_;
  sums.elements += elements_;
  if (loss_sum_.defined()) sums.loss_sum += loss_sum_.item();
  if (hit_count_.defined()) sums.hits += static_cast<std::int64_t>(hit_count_.item());
  if (squared_sum_.defined()) sums.squared_sum += squared_sum_.item();
  return sums;
}

void MetricAccumulator::restore(const MetricSums& base) {
  reset();
  base_ = base;
}

Metrics MetricAccumulator::read() const {
  const MetricSums total = sums();
  Metrics metrics;
  metrics.samples = total.samples;
  if (total.samples == 0) return metrics;
  metrics.loss = total.loss_sum / static_cast<double>(total.samples);
  if (task_ == Task::Regression) {
    metrics.rmse = std::sqrt(total.squared_sum / static_cast<double>(total.elements));
  } else {
    metrics.accuracy = static_cast<double>(total.hits) / static_cast<double>(total.samples);
  }
  return metrics;
}

void MetricAccumulator::reset() {
  loss_sum_ = Tensor();
  hit_count_ = Tensor();
  squared_sum_ = Tensor();
  samples_ = 0;
  elements_ = 0;
  base_ = MetricSums();
}

}  // namespace redes::train
