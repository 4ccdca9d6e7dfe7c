// The emulated devices: how many, their properties (an H100 SXM's, named as
// emulated), the current device of each host thread, sticky errors, and the
// runtime's error names and last-error state.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <utility>

#include "core/cuda_emulation/emulated_runtime.h"
#include "core/cuda_emulation/seeds.h"
#include "core/cuda_emulation/status_names.h"

namespace redes::cuda_emulation {
namespace {

// REDES_EMULATED_DEVICES=N (1 to 8, default 1) emulates N devices, so the
// paths between devices run too.
int configured_device_count() {
  const char* value = std::getenv("REDES_EMULATED_DEVICES");
  if (value == nullptr || *value == '\0') return 1;
  char* end = nullptr;
  const long count = std::strtol(value, &end, 10);
  if (*end != '\0' || count < 1 || count > kMaxDevices) {
    report(std::string("REDES_EMULATED_DEVICES=") + value + " is not a device count from 1 to 8; emulating 1");
    return 1;
  }
  return static_cast<int>(count);
}

// REDES_EMULATED_DEVICE_MEMORY=BYTES shrinks each device (default 80 GiB),
// so out-of-memory paths can be tested.
std::size_t configured_memory() {
  constexpr std::size_t kH100Memory = std::size_t{80} << 30;
  const char* value = std::getenv("REDES_EMULATED_DEVICE_MEMORY");
  if (value == nullptr || *value == '\0') return kH100Memory;
  char* end = nullptr;
  const unsigned long long bytes = std::strtoull(value, &end, 10);
  if (*end != '\0' || bytes == 0) {
    report(std::string("REDES_EMULATED_DEVICE_MEMORY=") + value + " is not a byte count; using 80 GiB");
    return kH100Memory;
  }
  return static_cast<std::size_t>(bytes);
}

cudaDeviceProp h100_properties(std::size_t memory) {
  cudaDeviceProp prop{};
  std::snprintf(prop.name, sizeof prop.name, "%s", "NVIDIA H100 (emulated on the host by redes)");
  prop.totalGlobalMem = memory;
  prop.sharedMemPerBlock = 48 << 10;
  prop.regsPerBlock = 65536;
  prop.warpSize = 32;
  prop.maxThreadsPerBlock = 1024;
  prop.maxThreadsDim[0] = 1024;
  prop.maxThreadsDim[1] = 1024;
  prop.maxThreadsDim[2] = 64;
  prop.maxGridSize[0] = 2147483647;
  prop.maxGridSize[1] = 65535;
  prop.maxGridSize[2] = 65535;
  prop.totalConstMem = 64 << 10;
  prop.major = 9;
  prop.minor = 0;
  prop.multiProcessorCount = 132;
  prop.concurrentKernels = 1;
  prop.asyncEngineCount = 3;
  prop.unifiedAddressing = 1;
  prop.memoryBusWidth = 5120;
  prop.l2CacheSize = 50 << 20;
  prop.maxThreadsPerMultiProcessor = 2048;
  prop.sharedMemPerMultiprocessor = 228 << 10;
  prop.sharedMemPerBlockOptin = 227 << 10;
  return prop;
}

struct Devices {
  Devices() : count(configured_device_count()), properties(h100_properties(configured_memory())) {}
  const int count;
  const cudaDeviceProp properties;
  std::atomic<int> sticky[kMaxDevices] = {};
  std::atomic<std::uint64_t> launches{0};
  const std::uint64_t seed = [] {
    const char* value = std::getenv("REDES_EMULATION_SEED");
    return value != nullptr && *value != '\0' ? std::strtoull(value, nullptr, 0) : 0x5EEDull;
  }();
};

// Never destroyed: stream workers may still use it while the process exits.
Devices& devices() {
  static auto* state = new Devices();
  return *state;
}

thread_local int current = 0;
thread_local cudaError_t last_error = cudaSuccess;

constexpr StatusName<cudaError_t> kErrors[] = {
    {cudaSuccess, "cudaSuccess", "no error"},
    {cudaErrorInvalidValue, "cudaErrorInvalidValue", "invalid argument"},
    {cudaErrorMemoryAllocation, "cudaErrorMemoryAllocation", "out of memory"},
    {cudaErrorInitializationError, "cudaErrorInitializationError", "initialization error"},
    {cudaErrorCudartUnloading, "cudaErrorCudartUnloading", "driver shutting down"},
    {cudaErrorInvalidConfiguration, "cudaErrorInvalidConfiguration", "invalid configuration argument"},
    {cudaErrorInvalidDevicePointer, "cudaErrorInvalidDevicePointer", "invalid device pointer"},
    {cudaErrorInvalidMemcpyDirection, "cudaErrorInvalidMemcpyDirection", "invalid copy direction for memcpy"},
    {cudaErrorInsufficientDriver, "cudaErrorInsufficientDriver",
     "CUDA driver version is insufficient for CUDA runtime version"},
    {cudaErrorNoDevice, "cudaErrorNoDevice", "no CUDA-capable device is detected"},
    {cudaErrorInvalidDevice, "cudaErrorInvalidDevice", "invalid device ordinal"},
    {cudaErrorInvalidResourceHandle, "cudaErrorInvalidResourceHandle", "invalid resource handle"},
    {cudaErrorNotReady, "cudaErrorNotReady", "device not ready"},
    {cudaErrorIllegalAddress, "cudaErrorIllegalAddress", "an illegal memory access was encountered"},
    {cudaErrorLaunchFailure, "cudaErrorLaunchFailure", "unspecified launch failure"},
    {cudaErrorNotSupported, "cudaErrorNotSupported", "operation not supported"},
    {cudaErrorStreamCaptureUnsupported, "cudaErrorStreamCaptureUnsupported",
     "operation not permitted when stream is capturing"},
    {cudaErrorStreamCaptureInvalidated, "cudaErrorStreamCaptureInvalidated",
     "operation failed due to a previous error during capture"},
    {cudaErrorStreamCaptureUnmatched, "cudaErrorStreamCaptureUnmatched", "capture was not initiated in this stream"},
    {cudaErrorStreamCaptureImplicit, "cudaErrorStreamCaptureImplicit",
     "operation would make the legacy stream depend on a capturing blocking stream"},
    {cudaErrorStreamCaptureWrongThread, "cudaErrorStreamCaptureWrongThread",
     "attempt to terminate a thread-local capture sequence from another thread"},
};

}  // namespace

cudaError_t record_error(cudaError_t status) {
  if (status != cudaSuccess) last_error = status;
  return status;
}

void report(const std::string& message) { std::fprintf(stderr, "redes CUDA emulation: %s\n", message.c_str()); }

int device_count() { return devices().count; }

int current_device() { return current; }

bool valid_device(int device) { return device >= 0 && device < device_count(); }

const cudaDeviceProp& device_properties(int) { return devices().properties; }

cudaError_t sticky_error(int device) {
  return static_cast<cudaError_t>(devices().sticky[device].load(std::memory_order_acquire));
}

void fail_device(int device, cudaError_t status, const std::string& why) {
  int expected = cudaSuccess;
  if (devices().sticky[device].compare_exchange_strong(expected, status, std::memory_order_acq_rel)) {
    report("cuda:" + std::to_string(device) + " stopped with " + name_of(kErrors, status, "cudaErrorUnknown") + ": " + why);
  }
}

std::uint64_t next_launch_seed() {
  Devices& state = devices();
  return mix_seed(state.seed, state.launches.fetch_add(1, std::memory_order_relaxed));
}

}  // namespace redes::cuda_emulation

using namespace redes::cuda_emulation;

extern "C" {

cudaError_t cudaGetLastError() { return std::exchange(last_error, cudaSuccess); }

cudaError_t cudaPeekAtLastError() { return last_error; }

const char* cudaGetErrorName(cudaError_t error) { return name_of(kErrors, error, "cudaErrorUnknown"); }

const char* cudaGetErrorString(cudaError_t error) { return text_of(kErrors, error, "unrecognized error code"); }

cudaError_t cudaDriverGetVersion(int* version) {
  if (version == nullptr) return record_error(cudaErrorInvalidValue);
  *version = CUDART_VERSION;
  return cudaSuccess;
}

cudaError_t cudaRuntimeGetVersion(int* version) {
  if (version == nullptr) return record_error(cudaErrorInvalidValue);
  *version = CUDART_VERSION;
  return cudaSuccess;
}

cudaError_t cudaGetDeviceCount(int* count) {
  if (count == nullptr) return record_error(cudaErrorInvalidValue);
  *count = device_count();
  return cudaSuccess;
}

cudaError_t cudaSetDevice(int device) {
  if (!valid_device(device)) return record_error(cudaErrorInvalidDevice);
  current = device;
  return cudaSuccess;
}

cudaError_t cudaGetDevice(int* device) {
  if (device == nullptr) return record_error(cudaErrorInvalidValue);
  *device = current;
  return cudaSuccess;
}

cudaError_t cudaGetDeviceProperties(cudaDeviceProp* prop, int device) {
  if (prop == nullptr) return record_error(cudaErrorInvalidValue);
  if (!valid_device(device)) return record_error(cudaErrorInvalidDevice);
  *prop = device_properties(device);
  return cudaSuccess;
}

cudaError_t cudaDeviceGetAttribute(int* value, cudaDeviceAttr attribute, int device) {
  if (value == nullptr) return record_error(cudaErrorInvalidValue);
  if (!valid_device(device)) return record_error(cudaErrorInvalidDevice);
  const cudaDeviceProp& prop = device_properties(device);
  switch (attribute) {
    case cudaDevAttrMultiProcessorCount:
      *value = prop.multiProcessorCount;
      return cudaSuccess;
    case cudaDevAttrMaxSharedMemoryPerBlockOptin:
      *value = static_cast<int>(prop.sharedMemPerBlockOptin);
      return cudaSuccess;
  }
  return record_error(cudaErrorInvalidValue);
}

cudaError_t cudaDeviceSynchronize() {
  if (const cudaError_t refused = refuse_device_wait(current); refused != cudaSuccess) return record_error(refused);
  synchronize_device(current);
  return record_error(sticky_error(current));
}

}  // extern "C"
