// Process-wide settings that decide which kernel implementation runs and how
// cuDNN may compute. Each has a setter, and an environment variable read the
// first time the setting is used, so a program can be steered without
// recompiling:
//   REDES_KERNEL_IMPL=hand|cudnn|auto   which implementation (default hand)
//   REDES_DETERMINISTIC=0|1             only bitwise-reproducible algorithms
//   REDES_ALLOW_TF32=0|1                float32 matmuls (cuBLAS) and
//                                       convolutions (cuDNN) may round through
//                                       TF32 tensor cores, and convolutions may
//                                       use transform-domain (FFT, Winograd)
//                                       algorithms
#pragma once

#include <string>
#include <string_view>

#include "core/export.h"

namespace redes {

// hand: the hand-written kernels (cuDNN only where no hand kernel supports the
// call). cudnn: cuDNN wherever it supports the call. auto: on the first call
// of each shape, every supporting implementation is checked against the
// highest-priority one and timed, and the fastest is kept for that shape.
enum class KernelImpl { Hand, Cudnn, Auto };

// "hand", "cudnn" or "auto"; anything else throws a redes::Error naming the
// accepted values and what was given (`what` says where it came from).
REDES_API KernelImpl parse_kernel_impl(std::string_view text, std::string_view what = "kernel implementation");
REDES_API const char* kernel_impl_name(KernelImpl impl);

REDES_API void set_kernel_impl(KernelImpl impl);
REDES_API KernelImpl kernel_impl();

REDES_API void set_deterministic(bool deterministic);
REDES_API bool deterministic();

REDES_API void set_allow_tf32(bool allow);
REDES_API bool allow_tf32();

}  // namespace redes
