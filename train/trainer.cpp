#include "train/trainer.h"

#include <cerrno>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <cstring>
#include <fstream>
#include <iostream>

#include "core/autocast.h"
#include "core/cuda.h"
#include "core/random.h"
#include "train/checkpoint.h"
#include "train/dist/dist.h"
#include "train/finite_check.h"
#include "train/graphed_step.h"
#include "train/io/safetensors.h"
#include "train/optim/clip.h"
#include "train/progress.h"
#include "train/report.h"
#include "train/run_files.h"

namespace redes::train {

namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Wall time must include the device's queued work.
void wait_for(Device device) {
  if (device.is_cuda()) cuda::synchronize(device.index);
}

// "batch 7" or "batches 3-7".
std::string batch_range(std::int64_t first, std::int64_t last) {
  return first == last ? "batch " + std::to_string(last)
                       : "batches " + std::to_string(first) + "-" + std::to_string(last);
}

std::string kept_checkpoint(const FitOptions& options) {
  return options.checkpoint_path.empty() ? std::string()
                                         : " and " + options.checkpoint_path + " is left as it was";
}

// A loss that is NaN or infinite ends the run before the epoch is saved: the
// checkpoint of the last good epoch is the user's work, and weights that
// produced this loss are not. `loss` is the epoch's running mean, last
// checked finite before first_batch.
void check_finite_loss(double loss, std::int64_t epoch, std::int64_t first_batch, std::int64_t last_batch,
                       const FitOptions& options) {
  if (std::isfinite(loss)) return;
  const char* value = std::isnan(loss) ? "NaN" : (loss > 0 ? "+infinity" : "-infinity");
  detail::fail("Trainer::fit: the training loss is ", value, " in epoch ", epoch, " (",
               batch_range(first_batch, last_batch), "); training stopped before saving the epoch",
               kept_checkpoint(options), ". A smaller learning rate, gradient clipping or checking the data for NaN or "
               "huge values usually helps");
}

std::ostream& warnings(const FitOptions& options) { return options.log != nullptr ? *options.log : std::cerr; }

// Resets a Trainer member when fit returns or throws.
template <class T>
struct ResetOnExit {
  T& member;
  ~ResetOnExit() { member = T(); }
};

}  // namespace

Trainer::Trainer(nn::Module& model, optim::Optimizer& optimizer, LossFn loss, Task task)
    : model_(model), optimizer_(optimizer), loss_(std::move(loss)), task_(task) {
  const std::vector<Tensor> parameters = model.parameters();
  REDES_CHECK(!parameters.empty(), "Trainer: the model has no parameters");
  device_ = parameters.front().device();
}

std::string Trainer::why_no_graph(const FitOptions& options, bool parallel) const {
  if (!device_.is_cuda()) return "the model is on " + device_.str() + ", not a CUDA device";
  if (options.precision == kFloat16) return "float16 training scales the loss by a factor read back every step";
  if (options.on_non_finite == OnNonFinite::SkipBatch) return "skipping non-finite batches reads every step back";
  if (parallel) return "data-parallel steps are not captured";
  return "";
}

Trainer::StepResult Trainer::graphed_step(GraphedStep& graphed, const Tensor& inputs, const Tensor& targets,
                                          double clip_grad_norm) {
  const auto [output, loss] = graphed.run(inputs, targets, [&](const Tensor& x, const Tensor& y) {
    const StepResult result = step(x, y, clip_grad_norm);
    return std::pair{result.output, result.loss};
  });
  graph_replays_ = graphed.replays();
  return {output, loss, true};
}

Tensor Trainer::train_step(const Tensor& inputs, const Tensor& targets, double clip_grad_norm) {
  model_.train();
  return step(inputs, targets, clip_grad_norm).loss;
}

Trainer::StepResult Trainer::forward(const Tensor& inputs, const Tensor& targets) {
  std::optional<autocast> scope;
  if (precision_) scope.emplace(*precision_);
  Tensor output = model_(inputs);
  Tensor loss = loss_(output, targets);
  return {output, loss, true};
}

Trainer::StepResult Trainer::step(const Tensor& inputs, const Tensor& targets, double clip_grad_norm,
                                  bool skip_non_finite) {
  const StepResult forwarded = forward(inputs, targets);
  const Tensor& output = forwarded.output;
  const Tensor& loss = forwarded.loss;
  optimizer_.zero_grad();
  (scaler_ ? scaler_->scale(loss) : loss).backward();
  if (replicas_) replicas_->synchronize_gradients();
  if (scaler_) {
    // Overflowing float16 gradients are expected now and then while the
    // scale searches its level: the step is skipped and the scale shrinks.
    // (Replicas hold the same averaged gradients, so they agree.)
    const bool finite = scaler_->unscale_(optimizer_.parameters());
    scaler_->update();
    if (!finite) {
      optimizer_.zero_grad();
      return {output, loss, false};
    }
  }
  if (skip_non_finite) {
    std::vector<Tensor> checked{loss};
    for (const Tensor& parameter : optimizer_.parameters()) checked.push_back(parameter.grad());
    // Replicas skip together, or they would part ways.
    if (!on_every_rank(all_finite(checked))) {
      optimizer_.zero_grad();  // the next check of the gradients sees none of these
      return {output, loss, false};
    }
  }
  if (clip_grad_norm > 0) optim::clip_grad_norm_(optimizer_.parameters(), clip_grad_norm);
  optimizer_.step();
  return {output, loss, true};
}

void Trainer::check_finite_parameters(std::int64_t epoch, std::int64_t first_batch, std::int64_t last_batch,
                                      const FitOptions& options) {
  std::vector<Tensor> checked;
  for (const Tensor& parameter : optimizer_.parameters()) {
    checked.push_back(parameter);
    checked.push_back(parameter.grad());
  }
  if (all_finite(checked)) return;
  std::vector<std::pair<std::string, Tensor>> named;
  for (const auto& [name, parameter] : model_.named_parameters()) {
    named.emplace_back(name, parameter);
    named.emplace_back(name + " (gradient)", parameter.grad());
  }
  const std::vector<std::string> names = non_finite_names(named);
  std::string listed;
  for (std::size_t i = 0; i < names.size() && i < 4; ++i) listed += (i ? ", " : "") + names[i];
  if (names.size() > 4) listed += " and " + std::to_string(names.size() - 4) + " more";
  detail::fail("Trainer::fit: NaN or infinity in ", listed.empty() ? "the optimizer's parameters" : listed,
               " in epoch ", epoch, " (", batch_range(first_batch, last_batch),
               ") while the loss stayed finite (a gradient overflowed); training stopped before saving the epoch",
               kept_checkpoint(options), ". A smaller learning rate or gradient clipping usually helps");
}

MetricSums Trainer::sum_over_ranks(const MetricSums& mine) const {
  if (!replicas_) return mine;
  // Counts stay exact in float64 up to 2^53.
  Tensor sums = from_vector<double>({mine.loss_sum, static_cast<double>(mine.hits), mine.squared_sum,
                                     static_cast<double>(mine.samples), static_cast<double>(mine.elements)},
                                    {5}, {.dtype = kFloat64});
  dist::all_reduce(sums);
  const std::vector<double> all = sums.to_vector<double>();
  return {all[0], static_cast<std::int64_t>(all[1]), all[2], static_cast<std::int64_t>(all[3]),
          static_cast<std::int64_t>(all[4])};
}

Metrics Trainer::metrics_over_ranks(const MetricAccumulator& mine) const {
  if (!replicas_) return mine.read();
  MetricAccumulator all(task_);
  all.restore(sum_over_ranks(mine.sums()));
  return all.read();
}

bool Trainer::on_every_rank(bool mine) const {
  if (!replicas_) return mine;
  Tensor flag = from_vector<std::int64_t>({mine ? 1 : 0}, {1});
  dist::all_reduce(flag, dist::ReduceOp::Min);
  return flag.to_vector<std::int64_t>()[0] == 1;
}

Metrics Trainer::evaluate(const data::Dataset& set, std::int64_t batch_size) {
  NoGradGuard no_grad;
  const bool was_training = model_.is_training();
  model_.eval();
  MetricAccumulator accumulator(task_);
  // A data-parallel fit evaluates rank r's share: batches r, r + world, ...
  const std::int64_t shard = replicas_ ? dist::rank() : 0, shards = replicas_ ? dist::world_size() : 1;
  std::vector<std::int64_t> indices;
  for (std::int64_t start = shard * batch_size; start < set.size(); start += shards * batch_size) {
    indices.clear();
    for (std::int64_t i = start; i < std::min(set.size(), start + batch_size); ++i) indices.push_back(i);
    const std::vector<Tensor> batch = set.get(indices);
    const Tensor inputs = batch.at(0).to(device_), targets = batch.at(1).to(device_);
    const StepResult forwarded = forward(inputs, targets);
    accumulator.add(forwarded.loss, forwarded.output, targets);
  }
  model_.train(was_training);
  return metrics_over_ranks(accumulator);
}

std::vector<EpochRecord> Trainer::fit(std::shared_ptr<const data::Dataset> train_set, const FitOptions& options) {
  REDES_CHECK(train_set != nullptr, "Trainer::fit: no training set");
  REDES_CHECK(options.epochs >= 0 && options.batch_size > 0, "Trainer::fit: expected epochs >= 0 and batch_size > 0, "
              "got ", options.epochs, " and ", options.batch_size);
  stopped_ = options.stop != nullptr && options.stop->load();
  if (stopped_) return {};
  // A data-parallel run in a job of several processes: this rank's shard,
  // and files and progress from rank 0 alone.
  const bool parallel = options.data_parallel && (dist::init(), dist::world_size() > 1);
  const std::int64_t rank = parallel ? dist::rank() : 0, world = parallel ? dist::world_size() : 1;
  FitOptions run = options;
  if (rank != 0) {
    run.log = nullptr;
    run.metrics_path.clear();
    run.curves_path.clear();
  }
  data::DataLoader loader(train_set, {.batch_size = options.batch_size,
                                      .shuffle = options.shuffle,
                                      .seed = options.seed,
                                      .drop_last = options.drop_last,
                                      .num_workers = options.num_workers,
                                      .shard_rank = rank,
                                      .shard_count = world,
                                      .device = device_});
  const std::int64_t batches = options.max_batches_per_epoch > 0
                                   ? std::min(options.max_batches_per_epoch, loader.batches_per_epoch())
                                   : loader.batches_per_epoch();
  REDES_CHECK(batches > 0, "Trainer::fit: the training set's ", train_set->size(), " samples make no batch of ",
              options.batch_size, options.drop_last ? " (drop_last is set)" : "",
              "; expected a batch size of at most ", train_set->size());

  const bool resuming = decide_resume(options);
  if (parallel) {
    // The minimum of (r, -r) over ranks is (min r, -max r).
    Tensor decisions = from_vector<std::int64_t>({resuming ? 1 : 0, resuming ? -1 : 0}, {2});
    dist::all_reduce(decisions, dist::ReduceOp::Min);
    const std::vector<std::int64_t> agreed = decisions.to_vector<std::int64_t>();
    REDES_CHECK(agreed[0] == -agreed[1], "Trainer::fit: some ranks find ", options.checkpoint_path,
                " and others do not; every rank of a data-parallel run must see the same checkpoint (a shared file "
                "system)");
  }
  // Temporaries of a run killed while saving would otherwise pile up.
  if (!options.checkpoint_path.empty() && rank == 0) remove_stale_temporaries(options.checkpoint_path);
  REDES_CHECK(!options.precision || is_low_precision(*options.precision), "Trainer::fit: precision must be bfloat16 "
              "or float16 (unset for float32), got ", dtype_name(*options.precision));
  precision_ = options.precision;
  const ResetOnExit<std::optional<DType>> end_precision{precision_};
  if (options.precision == kFloat16) scaler_.emplace();
  const ResetOnExit<std::optional<optim::GradScaler>> end_scaler{scaler_};
  TrainingPosition position{
      .loader_seed = options.seed, .rng_seed = default_generator().seed(), .rng_offset = default_generator().offset()};
  if (resuming) {
    const LoadedCheckpoint loaded = load_checkpoint(options.checkpoint_path, model_, optimizer_, options.schedule);
    position = loaded.position;
    // A float16 run continues with the loss scale it had reached.
    if (scaler_ && position.loss_scale > 0) scaler_->load_state(position.loss_scale, position.loss_scale_growth);
    for (const std::string& name : loaded.non_finite) {
      warnings(run) << "warning: " << options.checkpoint_path << ": " << name
                        << " holds NaN or infinity; training continues from it as it is\n";
    }
    REDES_CHECK(position.loader_seed == options.seed, "Trainer::fit: the checkpoint was trained with seed ",
                position.loader_seed, ", this run uses ", options.seed, "; resume with the same seed");
    REDES_CHECK(position.epochs_done < options.epochs || (position.epochs_done == options.epochs &&
                                                          position.batch_in_epoch == 0),
                "Trainer::fit: ", options.checkpoint_path, " holds ", position.epochs_done,
                " completed epochs, more than the ", options.epochs, " asked for; ask for more epochs to continue it");
    default_generator().set_state(position.rng_seed, position.rng_offset);
    if (run.log != nullptr) {
      if (position.epochs_done == options.epochs) {
        *run.log << options.checkpoint_path << " already holds all " << options.epochs
                     << " epochs; nothing to train\n";
      } else {
        *run.log << "resuming after epoch " << position.epochs_done;
        if (position.batch_in_epoch > 0) *run.log << ", batch " << position.batch_in_epoch;
        *run.log << "\n";
      }
    }
  }

  std::vector<EpochRecord> curve_history;  // earlier epochs of a resumed run, then this call's
  std::unique_ptr<std::ofstream> metrics_file;
  if (!run.metrics_path.empty()) {
    curve_history = keep_metrics_up_to(run.metrics_path, resuming ? position.epochs_done : 0);
    metrics_file = std::make_unique<std::ofstream>(run.metrics_path, std::ios::app);
    REDES_CHECK(metrics_file->is_open(), "Trainer::fit: cannot open ", run.metrics_path,
                " for writing: ", std::strerror(errno));
  }
  ProgressDisplay progress(run.log);
  std::vector<EpochRecord> history;
  // Progress updates read the device's loss sum: a few per epoch, not one per step.
  const std::int64_t log_interval = std::max<std::int64_t>(1, batches / 10);
  const bool skip_non_finite = options.on_non_finite == OnNonFinite::SkipBatch;
  // Replicas stop together: a signal may reach the ranks at different batches.
  const auto stop_requested = [&] {
    return options.stop != nullptr &&
           !on_every_rank(!options.stop->load(std::memory_order_relaxed));
  };
  // The random stream's state goes with the position, so a resume draws the
  // same dropout masks.
  const auto save_position = [&] {
    position.rng_seed = default_generator().seed();
    position.rng_offset = default_generator().offset();
    if (scaler_) {
      position.loss_scale = scaler_->get_scale();
      position.loss_scale_growth = scaler_->growth_tracker();
    }
    if (!options.checkpoint_path.empty() && rank == 0) {
      save_checkpoint(options.checkpoint_path, model_, optimizer_, options.schedule, position);
    }
  };

  // Every rank starts from rank 0's parameters (the same checkpoint, or
  // different initial draws), and averages gradients from here on.
  if (parallel) replicas_ = std::make_unique<dist::DataParallel>(model_, dist::DataParallelOptions{options.bucket_bytes});
  const ResetOnExit<std::unique_ptr<dist::DataParallel>> end_replicas{replicas_};
  std::optional<GraphedStep> graphed;
  if (options.cuda_graph) graphed.emplace(optimizer_, device_, why_no_graph(options, parallel), run.log);
  graph_replays_ = 0;

  // Samples of the epoch's order one step takes, all ranks together.
  const std::int64_t samples_per_step = options.batch_size * world;

  for (std::int64_t epoch = position.epochs_done; epoch < options.epochs && !stopped_; ++epoch) {
    model_.train();
    MetricAccumulator accumulator(task_);
    // A run stopped mid-epoch continues after the samples it had used
    // (checkpoints from before samples_in_epoch count batches of one process).
    const std::int64_t first_sample = position.samples_in_epoch > 0 ? position.samples_in_epoch
                                                                     : position.batch_in_epoch * options.batch_size;
    const std::int64_t resume_batch = first_sample / samples_per_step;
    const double earlier_seconds = first_sample > 0 ? position.partial_seconds : 0.0;
    // The sums so far, counted once: on rank 0.
    if (first_sample > 0 && rank == 0) accumulator.restore(position.partial_sums);
    wait_for(device_);
    const auto start = std::chrono::steady_clock::now();
    std::int64_t batch_number = resume_batch, last_checked = resume_batch, skipped = 0;
    for (data::Batch& batch : loader.epoch(static_cast<std::uint64_t>(epoch), first_sample)) {
      if (batch_number >= batches) break;
      const Tensor inputs = options.augment ? options.augment(batch[0], batch) : batch[0];
      const StepResult result =
          graphed ? graphed_step(*graphed, inputs, batch[1], options.clip_grad_norm)
                  : step(inputs, batch[1], options.clip_grad_norm, skip_non_finite);
      ++batch_number;
      if (result.applied) {
        accumulator.add(result.loss, result.output, batch[1]);
        ++position.steps_done;
        if (options.schedule != nullptr && options.schedule_per_batch) options.schedule->step();
      } else {
        ++skipped;
        if (run.log != nullptr && skipped <= 3) {
          *run.log << "epoch " << epoch + 1 << ", batch " << batch_number
                       << ": NaN or infinity in the loss or a gradient; batch skipped\n";
        }
      }
      // The running loss is read (a device synchronisation) a few times per
      // epoch: for the progress display and to stop a run that diverged.
      if (batch_number % log_interval == 0 || batch_number == batches) {
        const Metrics so_far = accumulator.read();
        check_finite_loss(so_far.loss, epoch + 1, last_checked + 1, batch_number, run);
        last_checked = batch_number;
        progress.batch(epoch + 1, options.epochs, batch_number, batches, so_far, earlier_seconds + seconds_since(start));
      }
      if (batch_number < batches && stop_requested()) {
        stopped_ = true;
        break;
      }
    }
    wait_for(device_);
    REDES_CHECK(!(skip_non_finite && skipped > 0 && skipped == batch_number - resume_batch),
                "Trainer::fit: every batch of epoch ", epoch + 1, " had NaN or infinity in its loss or gradients; "
                "training stopped", kept_checkpoint(run));
    // Once per epoch, before anything is saved: a gradient that overflowed
    // while the loss stayed finite leaves non-finite parameters behind.
    check_finite_parameters(epoch + 1, resume_batch + 1, batch_number, run);
    if (stopped_) {
      // Mid-epoch: the position within the epoch and its metrics so far.
      position.batch_in_epoch = batch_number;
      position.samples_in_epoch = std::min(train_set->size(),
                                           first_sample + (batch_number - resume_batch) * samples_per_step);
      position.partial_sums = sum_over_ranks(accumulator.sums());
      position.partial_seconds = earlier_seconds + seconds_since(start);
      save_position();
      if (run.log != nullptr) {
        *run.log << "stopped in epoch " << epoch + 1 << " after batch " << batch_number << " of " << batches;
        if (!options.checkpoint_path.empty()) *run.log << "; saved " << options.checkpoint_path << " (resume continues)";
        *run.log << "\n";
      }
      break;
    }
    EpochRecord record;
    record.epoch = epoch + 1;
    record.seconds = earlier_seconds + seconds_since(start);
    record.steps = batch_number - skipped;
    record.skipped = skipped;
    record.train = metrics_over_ranks(accumulator);
    record.samples_per_second = static_cast<double>(record.train.samples) / std::max(record.seconds, 1e-9);
    record.learning_rate = optimizer_.learning_rate();
    if (options.schedule != nullptr && !options.schedule_per_batch) options.schedule->step();
    if (options.eval) record.eval = evaluate(*options.eval, std::max<std::int64_t>(options.batch_size, 256));
    history.push_back(record);
    curve_history.push_back(record);
    progress.epoch_done(record, options.epochs);
    if (metrics_file) *metrics_file << epoch_json(record) << "\n" << std::flush;

    position.epochs_done = epoch + 1;
    position.batch_in_epoch = 0;
    position.samples_in_epoch = 0;
    position.partial_sums = {};
    position.partial_seconds = 0;
    save_position();
    stopped_ = stop_requested();
  }
  if (!run.curves_path.empty() && !curve_history.empty()) write_training_curves(run.curves_path, curve_history);
  return history;
}

}  // namespace redes::train
