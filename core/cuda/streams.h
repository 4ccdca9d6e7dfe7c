// The raw streams behind cuda::Stream, for the runtime's own CUDA calls.
// Internal to core/cuda/.
#pragma once

#include <cuda_runtime.h>

namespace redes::detail {

// The device's default stream (created on first use, never destroyed).
// Throws a redes::Error naming `op` when the device cannot be used.
cudaStream_t default_cuda_stream(int device, const char* op);
// The calling thread's current stream for `device`.
cudaStream_t current_cuda_stream(int device, const char* op);

}  // namespace redes::detail
