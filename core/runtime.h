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
// Queues a copy from page-locked host memory (a pinned_allocator block) to a
// CUDA device on its current stream and returns without waiting; the source
// block is not reused before the copy has read it.
void copy_to_device_async(void* dst, Device dst_device, const void* pinned_src, std::size_t bytes);
// Page-locked host memory (cudaHostAlloc); throws a redes::Error saying why
// when no CUDA device can be used.
Allocator& pinned_allocator();
// The calling thread's current stream on `device` (cudaStream_t as void*;
// cuda::Stream::set_current changes it); nullptr on the CPU.
void* current_stream(Device device);

// The loaded cuDNN library's version ("9.1.0"), or "" when none could be loaded;
// defined by kernels/cudnn/ in builds with cuDNN.
std::string cudnn_library_version();
// The file that cuDNN library was loaded from, or "".
std::string cudnn_library_path();
// The linked oneDNN library's version ("2.6.3"), or "" in builds without
// oneDNN; defined by kernels/onednn/ in builds with it.
std::string onednn_library_version();
// The instruction set oneDNN's CPU kernels use here and how bfloat16 runs
// ("avx512_core_bf16; bfloat16 native"), or "" without oneDNN.
std::string onednn_cpu_description();

}  // namespace redes::detail
