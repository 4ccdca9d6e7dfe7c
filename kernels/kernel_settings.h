// Process-wide settings that decide which kernel implementation runs and how
// cuDNN may compute. Each has a setter, and an environment variable read the
// first time the setting is used, so a program can be steered without
// recompiling:
//   REDES_KERNEL_IMPL=hand|vendor|auto  which implementation (default auto;
//                                       cudnn is accepted for vendor)
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

// hand: the hand-written kernels (a vendor library only where no hand kernel
// supports the call). vendor: the vendor library of the device (cuDNN on
// CUDA, oneDNN on the CPU) wherever it supports the call. auto: on CUDA, on
// the first call of each shape, every supporting implementation is checked
// against the highest-priority one and timed, and the fastest is kept for
// that shape; on the CPU, which is not timed, the highest-priority one
// (oneDNN where it supports the call). Cudnn is the earlier name of Vendor.
enum class KernelImpl { Hand, Vendor, Auto, Cudnn = Vendor };

// "hand", "vendor" (or its earlier name "cudnn") or "auto"; anything else
// throws a redes::Error naming the accepted values and what was given
// (`what` says where it came from).
REDES_API KernelImpl parse_kernel_impl(std::string_view text, std::string_view what = "kernel implementation");
REDES_API const char* kernel_impl_name(KernelImpl impl);

REDES_API void set_kernel_impl(KernelImpl impl);
REDES_API KernelImpl kernel_impl();

REDES_API void set_deterministic(bool deterministic);
REDES_API bool deterministic();

REDES_API void set_allow_tf32(bool allow);
REDES_API bool allow_tf32();

}  // namespace redes
