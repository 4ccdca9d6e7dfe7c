// Questions about CUDA devices that any program may ask, in every build.
// A build without CUDA, or a machine without a driver or GPU, answers
// "no devices" here; only requests to *use* a CUDA device throw.
#pragma once

#include <cstddef>
#include <string>

#include "core/export.h"

namespace redes::cuda {

struct DeviceProperties {
  std::string name;
  int major = 0;
  int minor = 0;
  std::size_t total_memory = 0;
  int multiprocessors = 0;
};

REDES_API bool is_available();
REDES_API int device_count();
// Why no device is usable ("this build has no CUDA backend", "no CUDA driver
// is installed", ...); empty when a device is available.
REDES_API std::string unavailable_reason();
REDES_API DeviceProperties properties(int device);
// Waits until all work queued on the device has finished.
REDES_API void synchronize(int device = 0);

}  // namespace redes::cuda
