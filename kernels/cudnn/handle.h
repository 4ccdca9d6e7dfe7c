// cuDNN handles: one per (device, stream), created on first use and bound to
// that stream, because a cuDNN handle is not safe to share between streams
// that run at the same time.
#pragma once

#include <cudnn.h>

#include "kernels/exec_context.h"

namespace redes::cudnn {

// True when cuDNN can run here (see cudnn_unusable_reason()).
bool usable();
// The handle for the context's device and stream; `op` names the caller in errors.
cudnnHandle_t handle(const ExecContext& ctx, const char* op);

}  // namespace redes::cudnn
