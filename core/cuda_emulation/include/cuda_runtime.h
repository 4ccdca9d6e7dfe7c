// The CUDA runtime API as the emulated CUDA build (REDES_CUDA_EMULATION=ON)
// sees it: the types, constants and functions redes uses, with the CUDA
// runtime's names, values and documented semantics, implemented on the host
// by libredes_cuda_emulation (core/cuda_emulation/). Only that build puts
// this folder on the include path, ahead of the toolkit's headers, so the
// unchanged sources of core/cuda/ and kernels/cuda/ compile with the host
// compiler and run here, launch by launch.
//
// What differs from a GPU, on purpose: device memory is host heap memory (so
// AddressSanitizer sees every device buffer), each stream is a queue worked
// off by its own host thread, and the threads of a block run as fibers in a
// seeded, varied order (core/cuda_emulation/block_runner.h). The device
// reports an H100's properties and limits, and its name says it is emulated.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <tuple>
#include <type_traits>
#include <utility>

#define REDES_CUDA_EMULATION_API __attribute__((visibility("default")))

// The CUDA runtime version these headers stand in for (CUDA 13.0).
#define CUDART_VERSION 13000

enum cudaError {
  cudaSuccess = 0,
  cudaErrorInvalidValue = 1,
  cudaErrorMemoryAllocation = 2,
  cudaErrorInitializationError = 3,
  cudaErrorCudartUnloading = 4,
  cudaErrorInvalidConfiguration = 9,
  cudaErrorInvalidDevicePointer = 17,
  cudaErrorInvalidMemcpyDirection = 21,
  cudaErrorInsufficientDriver = 35,
  cudaErrorNoDevice = 100,
  cudaErrorInvalidDevice = 101,
  cudaErrorInvalidResourceHandle = 400,
  cudaErrorNotReady = 600,
  cudaErrorIllegalAddress = 700,
  cudaErrorLaunchFailure = 719,
  cudaErrorNotSupported = 801,
  cudaErrorStreamCaptureUnsupported = 900,
  cudaErrorStreamCaptureInvalidated = 901,
  cudaErrorStreamCaptureUnmatched = 903,
  cudaErrorStreamCaptureImplicit = 906,
  cudaErrorStreamCaptureWrongThread = 908,
};
typedef enum cudaError cudaError_t;

struct uint3 {
  unsigned int x, y, z;
};

struct dim3 {
  unsigned int x = 1, y = 1, z = 1;
  constexpr dim3(unsigned int x_in = 1, unsigned int y_in = 1, unsigned int z_in = 1) : x(x_in), y(y_in), z(z_in) {}
  constexpr dim3(uint3 v) : x(v.x), y(v.y), z(v.z) {}
  constexpr operator uint3() const { return uint3{x, y, z}; }
};

typedef struct CUstream_st* cudaStream_t;
typedef struct CUevent_st* cudaEvent_t;
typedef struct CUgraph_st* cudaGraph_t;
typedef struct CUgraphExec_st* cudaGraphExec_t;

// The legacy default stream by its explicit name (the null stream means the same).
#define cudaStreamLegacy (reinterpret_cast<cudaStream_t>(0x1))
#define cudaStreamPerThread (reinterpret_cast<cudaStream_t>(0x2))

#define cudaStreamDefault 0x00
#define cudaStreamNonBlocking 0x01

#define cudaEventDefault 0x00
#define cudaEventBlockingSync 0x01
#define cudaEventDisableTiming 0x02

#define cudaHostAllocDefault 0x00
#define cudaHostAllocPortable 0x01
#define cudaHostAllocMapped 0x02
#define cudaHostAllocWriteCombined 0x04

// Which calls an open stream capture forbids: Global, any thread's capture
// forbids the calls that are unsafe in capture (cudaMalloc, a synchronous
// copy) to every thread; ThreadLocal, to the thread that began it; Relaxed,
// to none.
enum cudaStreamCaptureMode {
  cudaStreamCaptureModeGlobal = 0,
  cudaStreamCaptureModeThreadLocal = 1,
  cudaStreamCaptureModeRelaxed = 2,
};

enum cudaStreamCaptureStatus {
  cudaStreamCaptureStatusNone = 0,
  cudaStreamCaptureStatusActive = 1,
  cudaStreamCaptureStatusInvalidated = 2,  // a call the capture cannot hold was made; it ends with an error
};

enum cudaMemcpyKind {
  cudaMemcpyHostToHost = 0,
  cudaMemcpyHostToDevice = 1,
  cudaMemcpyDeviceToHost = 2,
  cudaMemcpyDeviceToDevice = 3,
  cudaMemcpyDefault = 4,
};

// The device attributes redes reads (the runtime's values).
enum cudaDeviceAttr {
  cudaDevAttrMultiProcessorCount = 16,
  cudaDevAttrMaxSharedMemoryPerBlockOptin = 97,
};

enum cudaFuncAttribute {
  cudaFuncAttributeMaxDynamicSharedMemorySize = 8,
};

// The fields of the runtime's cudaDeviceProp that redes and its tests read.
struct cudaDeviceProp {
  char name[256];
  std::size_t totalGlobalMem;
  std::size_t sharedMemPerBlock;
  int regsPerBlock;
  int warpSize;
  int maxThreadsPerBlock;
  int maxThreadsDim[3];
  int maxGridSize[3];
  std::size_t totalConstMem;
  int major;
  int minor;
  int multiProcessorCount;
  int concurrentKernels;
  int asyncEngineCount;
  int unifiedAddressing;
  int memoryBusWidth;
  int l2CacheSize;
  int maxThreadsPerMultiProcessor;
  std::size_t sharedMemPerMultiprocessor;
  std::size_t sharedMemPerBlockOptin;
};

struct cudaLaunchAttribute;
struct cudaLaunchConfig_t {
  dim3 gridDim;
  dim3 blockDim;
  std::size_t dynamicSmemBytes;
  cudaStream_t stream;
  cudaLaunchAttribute* attrs;
  unsigned int numAttrs;
};

extern "C" {
REDES_CUDA_EMULATION_API cudaError_t cudaGetLastError();
REDES_CUDA_EMULATION_API cudaError_t cudaPeekAtLastError();
REDES_CUDA_EMULATION_API const char* cudaGetErrorName(cudaError_t error);
REDES_CUDA_EMULATION_API const char* cudaGetErrorString(cudaError_t error);

REDES_CUDA_EMULATION_API cudaError_t cudaDriverGetVersion(int* version);
REDES_CUDA_EMULATION_API cudaError_t cudaRuntimeGetVersion(int* version);
REDES_CUDA_EMULATION_API cudaError_t cudaGetDeviceCount(int* count);
REDES_CUDA_EMULATION_API cudaError_t cudaSetDevice(int device);
REDES_CUDA_EMULATION_API cudaError_t cudaGetDevice(int* device);
REDES_CUDA_EMULATION_API cudaError_t cudaGetDeviceProperties(cudaDeviceProp* prop, int device);
REDES_CUDA_EMULATION_API cudaError_t cudaDeviceGetAttribute(int* value, cudaDeviceAttr attribute, int device);
REDES_CUDA_EMULATION_API cudaError_t cudaDeviceSynchronize();

REDES_CUDA_EMULATION_API cudaError_t cudaMalloc(void** ptr, std::size_t bytes);
REDES_CUDA_EMULATION_API cudaError_t cudaFree(void* ptr);
REDES_CUDA_EMULATION_API cudaError_t cudaHostAlloc(void** ptr, std::size_t bytes, unsigned int flags);
REDES_CUDA_EMULATION_API cudaError_t cudaMallocHost(void** ptr, std::size_t bytes);
REDES_CUDA_EMULATION_API cudaError_t cudaFreeHost(void* ptr);
REDES_CUDA_EMULATION_API cudaError_t cudaMemGetInfo(std::size_t* free_bytes, std::size_t* total_bytes);
REDES_CUDA_EMULATION_API cudaError_t cudaMemcpy(void* dst, const void* src, std::size_t bytes, cudaMemcpyKind kind);
REDES_CUDA_EMULATION_API cudaError_t cudaMemcpyAsync(void* dst, const void* src, std::size_t bytes,
                                                     cudaMemcpyKind kind, cudaStream_t stream);
REDES_CUDA_EMULATION_API cudaError_t cudaMemcpyPeerAsync(void* dst, int dst_device, const void* src, int src_device,
                                                         std::size_t bytes, cudaStream_t stream);
REDES_CUDA_EMULATION_API cudaError_t cudaMemset(void* ptr, int value, std::size_t bytes);
REDES_CUDA_EMULATION_API cudaError_t cudaMemsetAsync(void* ptr, int value, std::size_t bytes, cudaStream_t stream);

REDES_CUDA_EMULATION_API cudaError_t cudaStreamCreate(cudaStream_t* stream);
REDES_CUDA_EMULATION_API cudaError_t cudaStreamCreateWithFlags(cudaStream_t* stream, unsigned int flags);
REDES_CUDA_EMULATION_API cudaError_t cudaStreamDestroy(cudaStream_t stream);
REDES_CUDA_EMULATION_API cudaError_t cudaStreamSynchronize(cudaStream_t stream);
REDES_CUDA_EMULATION_API cudaError_t cudaStreamQuery(cudaStream_t stream);
REDES_CUDA_EMULATION_API cudaError_t cudaStreamWaitEvent(cudaStream_t stream, cudaEvent_t event, unsigned int flags);

// Stream capture and graphs: the work queued on a capturing stream is
// recorded in order instead of run, and each launch of the instantiated
// graph queues it again (the same kernels with the same arguments).
REDES_CUDA_EMULATION_API cudaError_t cudaStreamBeginCapture(cudaStream_t stream, cudaStreamCaptureMode mode);
REDES_CUDA_EMULATION_API cudaError_t cudaStreamEndCapture(cudaStream_t stream, cudaGraph_t* graph);
REDES_CUDA_EMULATION_API cudaError_t cudaStreamIsCapturing(cudaStream_t stream, cudaStreamCaptureStatus* status);
REDES_CUDA_EMULATION_API cudaError_t cudaGraphInstantiate(cudaGraphExec_t* exec, cudaGraph_t graph,
                                                          unsigned long long flags = 0);
REDES_CUDA_EMULATION_API cudaError_t cudaGraphLaunch(cudaGraphExec_t exec, cudaStream_t stream);
REDES_CUDA_EMULATION_API cudaError_t cudaGraphExecDestroy(cudaGraphExec_t exec);
REDES_CUDA_EMULATION_API cudaError_t cudaGraphDestroy(cudaGraph_t graph);

REDES_CUDA_EMULATION_API cudaError_t cudaEventCreate(cudaEvent_t* event);
REDES_CUDA_EMULATION_API cudaError_t cudaEventCreateWithFlags(cudaEvent_t* event, unsigned int flags);
REDES_CUDA_EMULATION_API cudaError_t cudaEventDestroy(cudaEvent_t event);
REDES_CUDA_EMULATION_API cudaError_t cudaEventRecord(cudaEvent_t event, cudaStream_t stream);
REDES_CUDA_EMULATION_API cudaError_t cudaEventQuery(cudaEvent_t event);
REDES_CUDA_EMULATION_API cudaError_t cudaEventSynchronize(cudaEvent_t event);
REDES_CUDA_EMULATION_API cudaError_t cudaEventElapsedTime(float* ms, cudaEvent_t start, cudaEvent_t end);

REDES_CUDA_EMULATION_API cudaError_t cudaFuncSetAttribute(const void* func, cudaFuncAttribute attribute, int value);
}

namespace redes::cuda_emulation {

// One launch: the kernel's address (for its attributes) and a body that runs
// the kernel, with its arguments bound, as the calling CUDA thread. Checks the
// configuration as the driver does and queues the grid on the stream.
REDES_CUDA_EMULATION_API cudaError_t launch_grid(const cudaLaunchConfig_t& config, const void* kernel,
                                                 std::function<void()> thread_body);

}  // namespace redes::cuda_emulation

// cudaLaunchKernelEx as the runtime's C++ template declares it: the arguments
// are converted to the kernel's parameter types at the call, and each CUDA
// thread receives its own copies, as kernel parameters are on a device.
template <class... Expected, class... Actual>
cudaError_t cudaLaunchKernelEx(const cudaLaunchConfig_t* config, void (*kernel)(Expected...), Actual&&... args) {
  if (config == nullptr) return redes::cuda_emulation::launch_grid(cudaLaunchConfig_t{}, nullptr, {});
  return [&](Expected... coerced) {
    return redes::cuda_emulation::launch_grid(
        *config, reinterpret_cast<const void*>(kernel),
        [kernel, bound = std::tuple<std::decay_t<Expected>...>(coerced...)] { std::apply(kernel, bound); });
  }(std::forward<Actual>(args)...);
}

// The runtime's typed conveniences for its void** allocators.
template <class T>
cudaError_t cudaMalloc(T** ptr, std::size_t bytes) {
  return cudaMalloc(reinterpret_cast<void**>(ptr), bytes);
}
template <class T>
cudaError_t cudaHostAlloc(T** ptr, std::size_t bytes, unsigned int flags) {
  return cudaHostAlloc(reinterpret_cast<void**>(ptr), bytes, flags);
}

template <class... Expected>
cudaError_t cudaFuncSetAttribute(void (*kernel)(Expected...), cudaFuncAttribute attribute, int value) {
  return cudaFuncSetAttribute(reinterpret_cast<const void*>(kernel), attribute, value);
}

#include "redes_cuda_emulation/device_code.h"
