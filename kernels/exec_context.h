// What a kernel gets besides its params and tensors: where to run and
// scratch memory.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/device.h"
#include "core/error.h"

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

// Scratch for `elements` values of type T from ctx's workspace (room for one
// at least, so that even an empty buffer has an address); a redes::Error
// naming `op` when the call has no workspace.
template <class T>
T* workspace_elements(const ExecContext& ctx, std::int64_t elements, const char* op) {
  REDES_CHECK(ctx.workspace != nullptr, op, ": the kernel needs a workspace for its scratch buffers");
  return static_cast<T*>(ctx.workspace->request(static_cast<std::size_t>(elements > 0 ? elements : 1) * sizeof(T)));
}

}  // namespace redes
