// What a kernel gets besides its params and tensors: where to run and
// scratch memory.
#pragma once

#include <cstddef>

#include "core/device.h"

namespace redes {

// Scratch memory for one kernel call, freed when the call's context ends.
class Workspace {
 public:
  virtual ~Workspace() = default;
  virtual void* request(std::size_t bytes) = 0;
};

struct ExecContext {
  Device device;
  void* stream = nullptr;  // cudaStream_t on CUDA devices; unused on the CPU
  Workspace* workspace = nullptr;
};

}  // namespace redes
