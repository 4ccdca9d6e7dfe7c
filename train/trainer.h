// The host-side trainer: epochs of batches from a DataLoader through the
// model, the loss, backward and the optimizer, with evaluation, metrics,
// schedules, gradient clipping, checkpoints and progress display.
//
//   train::Trainer trainer(model, adam, [](const Tensor& y, const Tensor& t) { return nn::bce_with_logits(y, t); },
//                          train::Task::BinaryClassification);
//   trainer.fit(train_set, {.epochs = 200, .batch_size = 32, .eval = test_set});
#pragma once

#include <atomic>
#include <functional>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/export.h"
#include "layers/module.h"
#include "train/data/data_loader.h"
#include "train/dist/data_parallel.h"
#include "train/metrics.h"
#include "train/optim/grad_scaler.h"
#include "train/optim/optimizer.h"
#include "train/optim/schedule.h"

namespace redes::train {

class GraphedStep;

// What fit does with a batch whose loss or gradients hold NaN or infinity.
enum class OnNonFinite {
  // Stop the run with an error naming the epoch and batches, before the
  // epoch is saved: the checkpoint of the last good epoch stays as it was.
  // The loss is checked a few times per epoch, parameters and gradients
  // once per epoch (a non-finite gradient leaves non-finite parameters
  // behind, so the check also covers the steps before the last).
  Stop,
  // Skip the batch: no optimizer step, not counted in the metrics. Checks
  // every batch (one device synchronisation per step on a GPU). An epoch
  // whose every batch is skipped stops the run.
  SkipBatch,
};

struct FitOptions {
  std::int64_t epochs = 10;
  std::int64_t batch_size = 32;
  bool shuffle = true;
  std::uint64_t seed = 0;  // shuffling order (with the epoch number)
  bool drop_last = false;
  // Threads building batches (DataLoader's num_workers): the batches and so
  // the run are the same for any count. 0 builds them on the training
  // thread, between steps: the fastest for batches gathered from memory.
  // Threads help when Dataset::get is slow (decoding, per-sample work).
  std::int64_t num_workers = 0;
  std::shared_ptr<const data::Dataset> eval{};  // evaluated after every epoch when set
  double clip_grad_norm = 0.0;                // > 0: clip the global gradient norm
  optim::LrSchedule* schedule = nullptr;      // stepped per epoch, or per batch when schedule_per_batch
  bool schedule_per_batch = false;
  // Applied to the training inputs of each batch (augmentation), on the batch's device.
  std::function<Tensor(const Tensor& inputs, const data::Batch& batch)> augment{};
  std::string checkpoint_path{};  // written (atomically) after every epoch when set
  // An existing checkpoint (and metrics file) is never replaced silently:
  bool resume = false;             // continue from checkpoint_path; an error when there is none
  bool resume_if_present = false;  // continue when checkpoint_path exists, else start afresh
  bool overwrite = false;          // a fresh run may replace the checkpoint and metrics there
  OnNonFinite on_non_finite = OnNonFinite::Stop;
  // Read after every batch: once true, the run saves a checkpoint at that
  // batch (when checkpoint_path is set; resuming continues from the next
  // batch), writes its curves and returns. Meant for a signal handler's flag.
  const std::atomic<bool>* stop = nullptr;
  std::int64_t max_batches_per_epoch = 0;  // > 0: stop each epoch early (smoke tests)
  std::ostream* log = nullptr;  // progress output; null: none (warnings then go to std::cerr)
  // JSON lines, one per epoch, when set: emptied by a fresh run, trimmed to
  // the checkpoint's epochs on resume, so no epoch is listed twice.
  std::string metrics_path{};
  std::string curves_path{};  // an SVG of loss and accuracy per epoch (all epochs of a resumed run), when set
  // Data-parallel training across the processes of an MPI job
  // (train/dist/data_parallel.h; `mpirun -np N program`): every rank trains
  // its shard of each epoch with batch_size samples per step, so one step
  // sees world_size x batch_size samples; gradients are averaged across
  // ranks (in buckets of bucket_bytes, overlapping backward), metrics and
  // evaluation are summed over ranks, and only rank 0 writes the
  // checkpoint, metrics and curves and prints progress. To resume, every
  // rank reads checkpoint_path (a shared file system), at any world size.
  // In a process that is not part of a job this trains as usual.
  bool data_parallel = false;
  std::int64_t bucket_bytes = std::int64_t{25} << 20;
  // CUDA devices: the training step is captured once as a CUDA graph
  // (core/cuda_graph.h) and replayed for every batch of the same shapes,
  // one launch instead of one per kernel. The first step runs as usual (it
  // makes the optimizer's state), a batch of other shapes (a short last
  // batch) runs without the graph, and a changed learning rate is captured
  // again. Where a step cannot be captured (on the CPU, float16 loss
  // scaling, skipping non-finite batches, data-parallel runs, or a model
  // that draws random numbers such as dropout) the run says why once on
  // `log` and trains without a graph.
  bool cuda_graph = false;
  // Mixed precision: the forward pass and the loss of training and evaluation
  // run in an autocast scope of this dtype (kBFloat16 or kFloat16;
  // core/autocast.h); parameters and optimizer state stay float32. float16
  // also scales the loss (GradScaler): a step whose gradients overflow is
  // skipped and the scale halved. Unset: float32 throughout.
  std::optional<DType> precision{};
};

struct EpochRecord {
  std::int64_t epoch = 0;  // 1-based
  Metrics train;
  std::optional<Metrics> eval;
  // Wall time and optimizer steps of the training pass (evaluation excluded);
  // an epoch resumed after a stop includes its part before the stop.
  double seconds = 0;
  std::int64_t steps = 0;
  std::int64_t skipped = 0;  // batches skipped for a non-finite loss or gradient (OnNonFinite::SkipBatch)
  double samples_per_second = 0;
  double learning_rate = 0;
};

class REDES_API Trainer {
 public:
  using LossFn = std::function<Tensor(const Tensor& output, const Tensor& target)>;
  // Batches are moved to the device of the model's first parameter.
  Trainer(nn::Module& model, optim::Optimizer& optimizer, LossFn loss, Task task);

  // The epochs trained by this call (not those a resumed checkpoint held).
  std::vector<EpochRecord> fit(std::shared_ptr<const data::Dataset> train_set, const FitOptions& options);
  // Whether the last fit returned early because options.stop was set.
  bool stopped() const { return stopped_; }
  // Loss and accuracy/RMSE over a whole data set, in eval mode and without
  // gradients (during a data-parallel fit: each rank a shard, summed).
  Metrics evaluate(const data::Dataset& set, std::int64_t batch_size = 256);
  // One training step on one batch (train mode); returns the loss.
  Tensor train_step(const Tensor& inputs, const Tensor& targets, double clip_grad_norm = 0.0);
  Device device() const { return device_; }
  // Steps of the last fit that ran as a replay of its captured graph.
  std::int64_t graph_replays() const { return graph_replays_; }

 private:
  struct StepResult {
    Tensor output;
    Tensor loss;
    bool applied = true;  // false: skipped for a non-finite loss or gradient
  };
  // Forward, loss, backward, clipping and the optimizer step; with
  // skip_non_finite, no step when the loss or a gradient is not finite.
  StepResult step(const Tensor& inputs, const Tensor& targets, double clip_grad_norm, bool skip_non_finite = false);
  // Stops the run when a parameter or gradient holds NaN or infinity.
  void check_finite_parameters(std::int64_t epoch, std::int64_t first_batch, std::int64_t last_batch,
                               const FitOptions& options);
  // The sums of every rank (this rank's alone outside a data-parallel fit).
  MetricSums sum_over_ranks(const MetricSums& mine) const;
  // The metrics of every rank's batches together (this rank's alone outside
  // a data-parallel fit).
  Metrics metrics_over_ranks(const MetricAccumulator& mine) const;
  // Whether `mine` holds on every rank (of a data-parallel fit).
  bool on_every_rank(bool mine) const;

  // Runs the model and the loss (in the fit's autocast scope, if any).
  StepResult forward(const Tensor& inputs, const Tensor& targets);
  // FitOptions::cuda_graph: why this fit cannot capture its step ("" when it may try).
  std::string why_no_graph(const FitOptions& options, bool parallel) const;
  StepResult graphed_step(GraphedStep& graphed, const Tensor& inputs, const Tensor& targets,
                          double clip_grad_norm);

  nn::Module& model_;
  optim::Optimizer& optimizer_;
  LossFn loss_;
  Task task_;
  Device device_;
  bool stopped_ = false;
  // Set while a data-parallel fit runs.
  std::unique_ptr<dist::DataParallel> replicas_;
  std::optional<DType> precision_;            // the fit's FitOptions::precision
  std::optional<optim::GradScaler> scaler_;   // float16 fits: the loss scaling
  std::int64_t graph_replays_ = 0;
};

}  // namespace redes::train
