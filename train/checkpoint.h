// Training checkpoints: model state, optimizer state, schedule step and the
// position in training, in one safetensors file written atomically (a crash
// mid-save leaves the previous checkpoint intact).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/export.h"
#include "layers/module.h"
#include "train/metrics.h"
#include "train/optim/optimizer.h"
#include "train/optim/schedule.h"

namespace redes::train {

struct TrainingPosition {
  std::int64_t epochs_done = 0;     // completed epochs
  std::int64_t steps_done = 0;      // optimizer steps taken
  std::int64_t batch_in_epoch = 0;  // batches of the current epoch already used (0 at an epoch boundary)
  // Samples of the current epoch's order already used, by all ranks of a
  // data-parallel run together: where a resumed run continues, at any
  // world size.
  std::int64_t samples_in_epoch = 0;
  std::uint64_t loader_seed = 0;    // the DataLoader's shuffle seed
  std::uint64_t rng_seed = 0;       // the default generator's state (dropout masks, ...)
  std::uint64_t rng_offset = 0;
  // A run stopped in the middle of an epoch: the metric sums and the seconds
  // of that epoch's first batch_in_epoch batches.
  MetricSums partial_sums{};
  double partial_seconds = 0;
  // A float16 run's GradScaler: its scale and good steps since the last
  // change (0: no scaler).
  double loss_scale = 0;
  std::int64_t loss_scale_growth = 0;
};

struct LoadedCheckpoint {
  TrainingPosition position;
  // Names of the loaded model and optimizer tensors that hold NaN or
  // infinity: loaded as they are, for the caller to warn about.
  std::vector<std::string> non_finite;
};

// `schedule` may be null.
REDES_API void save_checkpoint(const std::string& path, const nn::Module& model, const optim::Optimizer& optimizer,
                               const optim::LrSchedule* schedule, const TrainingPosition& position);

// The completed epochs recorded in a checkpoint's metadata; nothing when the
// file is not a readable redes checkpoint.
REDES_API std::optional<std::int64_t> checkpoint_epochs_done(const std::string& path);

// Restores model, optimizer and schedule in place and returns the position.
// Throws naming the file and every mismatch when the checkpoint does not fit.
REDES_API LoadedCheckpoint load_checkpoint(const std::string& path, nn::Module& model, optim::Optimizer& optimizer,
                                           optim::LrSchedule* schedule);

}  // namespace redes::train
