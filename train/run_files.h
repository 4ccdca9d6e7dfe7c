// What a training run does with the files an earlier run left behind: resume
// and overwrite are explicit choices, and the metrics file lists every epoch
// exactly once, whether the run is fresh, resumed, or follows a killed one.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "train/trainer.h"

namespace redes::train {

// Whether fit continues from options.checkpoint_path. Throws, before any
// file is touched, when the options and the files disagree: resume without a
// checkpoint, a fresh run onto a checkpoint or a non-empty metrics file
// without overwrite, resume together with overwrite.
bool decide_resume(const FitOptions& options);

// Rewrites the metrics file (atomically) to hold only its lines for epochs
// 1..epochs_done (none for a fresh run; a torn last line is dropped) and
// returns those epochs' records, so the curves cover the whole run.
std::vector<EpochRecord> keep_metrics_up_to(const std::string& path, std::int64_t epochs_done);

}  // namespace redes::train
