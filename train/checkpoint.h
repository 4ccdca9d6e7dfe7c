// Training checkpoints: model state, optimizer state, schedule step and the
// position in training, in one safetensors file written atomically (a crash
// mid-save leaves the previous checkpoint intact).
#pragma once

#include <cstdint>
#include <string>

#include "core/export.h"
#include "layers/module.h"
#include "train/optim/optimizer.h"
#include "train/optim/schedule.h"

namespace redes::train {

struct TrainingPosition {
  std::int64_t epochs_done = 0;     // completed epochs
  std::int64_t steps_done = 0;      // optimizer steps taken
  std::int64_t batch_in_epoch = 0;  // batches of the current epoch already used (0 at an epoch boundary)
  std::uint64_t loader_seed = 0;    // the DataLoader's shuffle seed
  std::uint64_t rng_seed = 0;       // the default generator's state (dropout masks, ...)
  std::uint64_t rng_offset = 0;
};

// `schedule` may be null.
REDES_API void save_checkpoint(const std::string& path, const nn::Module& model, const optim::Optimizer& optimizer,
                               const optim::LrSchedule* schedule, const TrainingPosition& position);

// Restores model, optimizer and schedule in place and returns the position.
// Throws naming the file and every mismatch when the checkpoint does not fit.
REDES_API TrainingPosition load_checkpoint(const std::string& path, nn::Module& model, optim::Optimizer& optimizer,
                                           optim::LrSchedule* schedule);

}  // namespace redes::train
