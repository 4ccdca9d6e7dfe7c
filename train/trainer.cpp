#include "train/trainer.h"

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "core/cuda.h"
#include "core/random.h"
#include "train/checkpoint.h"
#include "train/io/safetensors.h"
#include "train/optim/clip.h"
#include "train/progress.h"
#include "train/report.h"

namespace redes::train {

namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Wall time must include the device's queued work.
void wait_for(Device device) {
  if (device.is_cuda()) cuda::synchronize(device.index);
}

// A loss that is NaN or infinite ends the run before the epoch is saved: the
// checkpoint of the last good epoch is the user's work, and weights that
// produced this loss are not. `loss` is the epoch's running mean, last
// checked finite before first_batch.
void check_finite_loss(double loss, std::int64_t epoch, std::int64_t first_batch, std::int64_t last_batch,
                       const FitOptions& options) {
  if (std::isfinite(loss)) return;
  const std::string batches = first_batch == last_batch ? "batch " + std::to_string(last_batch)
                                                        : "batches " + std::to_string(first_batch) + "-" +
                                                              std::to_string(last_batch);
  const std::string kept = options.checkpoint_path.empty()
                               ? std::string()
                               : " and " + options.checkpoint_path + " is left as it was";
  const char* value = std::isnan(loss) ? "NaN" : (loss > 0 ? "+infinity" : "-infinity");
  detail::fail("Trainer::fit: the training loss is ", value, " in epoch ", epoch, " (", batches,
               "); training stopped before saving the epoch", kept, ". A smaller learning rate, gradient clipping "
               "or checking the data for NaN or huge values usually helps");
}

}  // namespace

Trainer::Trainer(nn::Module& model, optim::Optimizer& optimizer, LossFn loss, Task task)
    : model_(model), optimizer_(optimizer), loss_(std::move(loss)), task_(task) {
  const std::vector<Tensor> parameters = model.parameters();
  REDES_CHECK(!parameters.empty(), "Trainer: the model has no parameters");
  device_ = parameters.front().device();
}

Tensor Trainer::train_step(const Tensor& inputs, const Tensor& targets, double clip_grad_norm) {
  model_.train();
  return step(inputs, targets, clip_grad_norm).loss;
}

Trainer::StepResult Trainer::step(const Tensor& inputs, const Tensor& targets, double clip_grad_norm) {
  const Tensor output = model_(inputs);
  const Tensor loss = loss_(output, targets);
  optimizer_.zero_grad();
  loss.backward();
  if (clip_grad_norm > 0) optim::clip_grad_norm_(optimizer_.parameters(), clip_grad_norm);
  optimizer_.step();
  return {output, loss};
}

Metrics Trainer::evaluate(const data::Dataset& set, std::int64_t batch_size) {
  NoGradGuard no_grad;
  const bool was_training = model_.is_training();
  model_.eval();
  MetricAccumulator accumulator(task_);
  std::vector<std::int64_t> indices;
  for (std::int64_t start = 0; start < set.size(); start += batch_size) {
    indices.clear();
    for (std::int64_t i = start; i < std::min(set.size(), start + batch_size); ++i) indices.push_back(i);
    const std::vector<Tensor> batch = set.get(indices);
    const Tensor inputs = batch.at(0).to(device_), targets = batch.at(1).to(device_);
    const Tensor output = model_(inputs);
    accumulator.add(loss_(output, targets), output, targets);
  }
  model_.train(was_training);
  return accumulator.read();
}

std::vector<EpochRecord> Trainer::fit(std::shared_ptr<const data::Dataset> train_set, const FitOptions& options) {
  REDES_CHECK(train_set != nullptr, "Trainer::fit: no training set");
  REDES_CHECK(options.epochs >= 0 && options.batch_size > 0, "Trainer::fit: expected epochs >= 0 and batch_size > 0, "
              "got ", options.epochs, " and ", options.batch_size);
  data::DataLoader loader(train_set, {.batch_size = options.batch_size,
                                      .shuffle = options.shuffle,
                                      .seed = options.seed,
                                      .drop_last = options.drop_last,
                                      .device = device_});
  // Temporaries of a run killed while saving would otherwise pile up.
  if (!options.checkpoint_path.empty()) remove_stale_temporaries(options.checkpoint_path);
  TrainingPosition position{0, 0, 0, options.seed, default_generator().seed(), default_generator().offset()};
  if (options.resume && !options.checkpoint_path.empty() && std::filesystem::exists(options.checkpoint_path)) {
    position = load_checkpoint(options.checkpoint_path, model_, optimizer_, options.schedule);
    REDES_CHECK(position.loader_seed == options.seed, "Trainer::fit: the checkpoint was trained with seed ",
                position.loader_seed, ", this run uses ", options.seed, "; resume with the same seed");
    default_generator().set_state(position.rng_seed, position.rng_offset);
    if (options.log != nullptr) *options.log << "resuming after epoch " << position.epochs_done << "\n";
  }

  std::unique_ptr<std::ofstream> metrics_file;
  if (!options.metrics_path.empty()) {
    metrics_file = std::make_unique<std::ofstream>(options.metrics_path, std::ios::app);
    REDES_CHECK(metrics_file->is_open(), "Trainer::fit: cannot open ", options.metrics_path, " for writing");
  }
  ProgressDisplay progress(options.log);
  std::vector<EpochRecord> history;
  const std::int64_t batches = options.max_batches_per_epoch > 0
                                   ? std::min(options.max_batches_per_epoch, loader.batches_per_epoch())
                                   : loader.batches_per_epoch();
  // Progress updates read the device's loss sum: a few per epoch, not one per step.
  const std::int64_t log_interval = std::max<std::int64_t>(1, batches / 10);

  for (std::int64_t epoch = position.epochs_done; epoch < options.epochs; ++epoch) {
    model_.train();
    MetricAccumulator accumulator(task_);
    wait_for(device_);
    const auto start = std::chrono::steady_clock::now();
    std::int64_t batch_number = 0, last_checked = 0;
    for (data::Batch& batch : loader.epoch(static_cast<std::uint64_t>(epoch))) {
      if (batch_number == batches) break;
      const Tensor inputs = options.augment ? options.augment(batch[0], batch) : batch[0];
      const StepResult result = step(inputs, batch[1], options.clip_grad_norm);
      accumulator.add(result.loss, result.output, batch[1]);
      ++position.steps_done;
      ++batch_number;
      if (options.schedule != nullptr && options.schedule_per_batch) options.schedule->step();
      // The running loss is read (a device synchronisation) a few times per
      // epoch: for the progress display and to stop a run that diverged.
      if (batch_number % log_interval == 0 || batch_number == batches) {
        const Metrics so_far = accumulator.read();
        check_finite_loss(so_far.loss, epoch + 1, last_checked + 1, batch_number, options);
        last_checked = batch_number;
        progress.batch(epoch + 1, options.epochs, batch_number, batches, so_far, seconds_since(start));
      }
    }
    wait_for(device_);
    EpochRecord record;
    record.epoch = epoch + 1;
    record.seconds = seconds_since(start);
    record.steps = batch_number;
    record.train = accumulator.read();
    record.samples_per_second = static_cast<double>(record.train.samples) / std::max(record.seconds, 1e-9);
    record.learning_rate = optimizer_.learning_rate();
    if (options.schedule != nullptr && !options.schedule_per_batch) options.schedule->step();
    if (options.eval) record.eval = evaluate(*options.eval, std::max<std::int64_t>(options.batch_size, 256));
    history.push_back(record);
    progress.epoch_done(record, options.epochs);
    if (metrics_file) *metrics_file << epoch_json(record) << "\n" << std::flush;

    position.epochs_done = epoch + 1;
    position.batch_in_epoch = 0;
    position.rng_seed = default_generator().seed();
    position.rng_offset = default_generator().offset();
    if (!options.checkpoint_path.empty()) {
      save_checkpoint(options.checkpoint_path, model_, optimizer_, options.schedule, position);
    }
  }
  if (!options.curves_path.empty() && !history.empty()) write_training_curves(options.curves_path, history);
  return history;
}

}  // namespace redes::train
