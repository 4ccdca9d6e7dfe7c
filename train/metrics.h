// Training and evaluation metrics, accumulated on the device where the
// batches live and read back once per log interval, so a GPU training loop
// never waits for the host after each step.
#pragma once

#include <cstdint>
#include <optional>

#include "core/export.h"
#include "core/tensor.h"

namespace redes::train {

enum class Task {
  BinaryClassification,  // one logit per sample, targets 0/1: accuracy of logit > 0
  Classification,        // class logits (N, C), int64 targets: accuracy of argmax
  Regression,            // any shape: root mean squared error
};

struct Metrics {
  double loss = 0;                  // mean loss per sample
  std::optional<double> accuracy;   // classification tasks
  std::optional<double> rmse;       // regression, in the targets' units
  std::int64_t samples = 0;
};

// The sums behind Metrics, on the host: what a checkpoint taken in the middle
// of an epoch keeps, so the resumed epoch reports all of its batches.
struct MetricSums {
  double loss_sum = 0;     // loss per batch times its samples
  std::int64_t hits = 0;   // correct predictions (classification)
  double squared_sum = 0;  // summed squared error (regression)
  std::int64_t samples = 0;
  std::int64_t elements = 0;  // regression: target elements
};

class REDES_API MetricAccumulator {
 public:
  explicit MetricAccumulator(Task task) : task_(task) {}
  // `loss` is the batch's mean loss (0-d); output and target as the task says.
  void add(const Tensor& loss, const Tensor& output, const Tensor& target);
  // Copies the sums to the host: the one synchronisation point.
  Metrics read() const;
  // The sums so far (a synchronisation, like read()).
  MetricSums sums() const;
  // Starts from `base` instead of zero.
  void restore(const MetricSums& base);
  void reset();
  Task task() const { return task_; }

 private:
  Task task_;
  Tensor loss_sum_;     // float64, 0-d
  Tensor hit_count_;    // int64, 0-d: correct predictions
  Tensor squared_sum_;  // float64, 0-d: summed squared error (regression)
  std::int64_t samples_ = 0;
  std::int64_t elements_ = 0;  // regression: target elements
  MetricSums base_;            // restored sums, added on the host
};

}  // namespace redes::train
