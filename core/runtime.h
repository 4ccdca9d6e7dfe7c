// The seams between the device-agnostic core and the device runtimes
// (core/cuda/ with CUDA, core/no_cuda.cpp without). Internal.
#pragma once

#include <cstddef>
#include <string>

#include "core/allocator.h"
#include "core/device.h"

namespace redes::detail {

Allocator& cpu_allocator();
// Throws a redes::Error naming `why` when the device cannot be used.
Allocator& cuda_allocator(int device);
// Checks that `device` exists and can run work; `op` names the caller.
void require_device(Device device, const char* op);
// Copies `bytes` between any two devices (synchronous with respect to the host).
void copy_bytes(void* dst, Device dst_device, const void* src, Device src_device, std::size_t bytes);
// The stream ops on `device` enqueue on (cudaStream_t as void*); nullptr on the CPU.
REDES_API void* current_stream(Device device);  // exported for the CUDA-event timing in bench/

// The cuDNN library's version ("9.1.0"); defined by kernels/cudnn/ in builds with cuDNN.
std::string cudnn_library_version();

}  // namespace redes::detail
