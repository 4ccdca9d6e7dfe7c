// The host-side trainer: epochs of batches from a DataLoader through the
// model, the loss, backward and the optimizer, with evaluation, metrics,
// schedules, gradient clipping, checkpoints and progress display.
//
//   train::Trainer trainer(model, adam, nn::bce_with_logits, train::Task::BinaryClassification);
//   trainer.fit(train_set, {.epochs = 200, .batch_size = 32, .eval = test_set});
#pragma once

#include <functional>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/export.h"
#include "layers/module.h"
#include "train/data/data_loader.h"
#include "train/metrics.h"
#include "train/optim/optimizer.h"
#include "train/optim/schedule.h"

namespace redes::train {

struct FitOptions {
  std::int64_t epochs = 10;
  std::int64_t batch_size = 32;
  bool shuffle = true;
  std::uint64_t seed = 0;  // shuffling order (with the epoch number)
  bool drop_last = false;
  std::shared_ptr<const data::Dataset> eval{};  // evaluated after every epoch when set
  double clip_grad_norm = 0.0;                // > 0: clip the global gradient norm
  optim::LrSchedule* schedule = nullptr;      // stepped per epoch, or per batch when schedule_per_batch
  bool schedule_per_batch = false;
  // Applied to the training inputs of each batch (augmentation), on the batch's device.
  std::function<Tensor(const Tensor& inputs, const data::Batch& batch)> augment{};
  std::string checkpoint_path{};  // written (atomically) after every epoch when set
  bool resume = false;          // continue from checkpoint_path when it exists
  std::int64_t max_batches_per_epoch = 0;  // > 0: stop each epoch early (smoke tests)
  std::ostream* log = nullptr;  // progress output; null: none
  std::string metrics_path{};     // JSON lines, one per epoch, when set
  std::string curves_path{};      // an SVG of loss and accuracy per epoch, when set
};

struct EpochRecord {
  std::int64_t epoch = 0;  // 1-based
  Metrics train;
  std::optional<Metrics> eval;
  double seconds = 0;  // wall time of the training pass (evaluation excluded)
  std::int64_t steps = 0;  // optimizer steps in the pass
  double samples_per_second = 0;
  double learning_rate = 0;
};

class REDES_API Trainer {
 public:
  using LossFn = std::function<Tensor(const Tensor& output, const Tensor& target)>;
  // Batches are moved to the device of the model's first parameter.
  Trainer(nn::Module& model, optim::Optimizer& optimizer, LossFn loss, Task task);

  std::vector<EpochRecord> fit(std::shared_ptr<const data::Dataset> train_set, const FitOptions& options);
  // Loss and accuracy/RMSE over a whole data set, in eval mode and without gradients.
  Metrics evaluate(const data::Dataset& set, std::int64_t batch_size = 256);
  // One training step on one batch (train mode); returns the loss.
  Tensor train_step(const Tensor& inputs, const Tensor& targets, double clip_grad_norm = 0.0);
  Device device() const { return device_; }

 private:
  struct StepResult {
    Tensor output;
    Tensor loss;
  };
  // Forward, loss, backward, clipping and the optimizer step.
  StepResult step(const Tensor& inputs, const Tensor& targets, double clip_grad_norm);

  nn::Module& model_;
  optim::Optimizer& optimizer_;
  LossFn loss_;
  Task task_;
  Device device_;
};

}  // namespace redes::train
