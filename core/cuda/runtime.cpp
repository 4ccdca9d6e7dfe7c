// The device runtime of a build with the CUDA backend (the twin of
// core/no_cuda.cpp): which devices exist, copies between devices, and the
// stream each device's work is queued on (core/cuda/stream.cpp keeps it).
#include <cuda_runtime.h>

#include <cstring>
#include <string>

#include "core/cuda.h"
#include "core/cuda/check.h"
#include "core/cuda/pinned_allocator.h"
#include "core/cuda/streams.h"
#include "core/error.h"
#include "core/runtime.h"

namespace redes {

namespace {

struct DeviceCensus {
  int count = 0;
  std::string reason;  // why count is 0; empty otherwise
};

std::string version_str(int version) {
  return std::to_string(version / 1000) + "." + std::to_string(version % 1000 / 10);
}

// The runtime reports a missing driver, or one older than the runtime we were
// built with, by the same code; the driver version (0 when none is installed)
// tells the two apart.
std::string insufficient_driver_reason() {
  int driver = 0;
  if (cudaDriverGetVersion(&driver) != cudaSuccess || driver == 0) return "no CUDA driver is installed";
  return "the CUDA driver supports CUDA " + version_str(driver) + ", older than the CUDA runtime " +
         version_str(CUDART_VERSION) + " redes was built with (update the driver)";
}

DeviceCensus take_census() {
  DeviceCensus census;
  const cudaError_t status = cudaGetDeviceCount(&census.count);
  if (status == cudaSuccess) {
    if (census.count == 0) census.reason = "no CUDA device is present";
    return census;
  }
  // A machine without a GPU is an answer, not a failure: "no devices". The
  // runtime keeps the status as its last error, which the first launch check
  // would otherwise report.
  cudaGetLastError();
  census.count = 0;
  switch (status) {
    case cudaErrorInsufficientDriver: census.reason = insufficient_driver_reason(); break;
    case cudaErrorNoDevice: census.reason = "no CUDA device is present"; break;
    default:
      census.reason = std::string("CUDA could not be initialised: ") + cudaGetErrorName(status) + " (" +
                      cudaGetErrorString(status) + ")";
      break;
  }
  return census;
}

// Asked once per process: the answer cannot change while the process runs,
// and Device::best() asks often.
const DeviceCensus& census() {
  static const DeviceCensus answer = take_census();
  return answer;
}

// Makes `device` current for this thread and returns the thread's current
// stream on it; every CUDA entry point goes through here, so kernels and
// copies always run on the device their memory lives on.
cudaStream_t use_device(Device device, const char* op) {
  detail::require_device(device, op);
  REDES_CUDA_CHECK(cudaSetDevice(device.index), op);
  return detail::current_cuda_stream(device.index, op);
}

}  // namespace

namespace cuda {

bool is_available() { return census().count > 0; }

int device_count() { return census().count; }

std::string unavailable_reason() { return census().reason; }

DeviceProperties properties(int device) {
  detail::require_device(Device::cuda(device), "cuda::properties");
  cudaDeviceProp prop{};
  REDES_CUDA_CHECK(cudaGetDeviceProperties(&prop, device), "cuda::properties");
  return DeviceProperties{prop.name, prop.major, prop.minor, prop.totalGlobalMem, prop.multiProcessorCount};
}

void synchronize(int device) {
  // With no device nothing can have been queued, as in the build without CUDA.
  if (device_count() == 0) return;
  use_device(Device::cuda(device), "cuda::synchronize");
  REDES_CUDA_CHECK(cudaDeviceSynchronize(), "cuda::synchronize");
}

}  // namespace cuda

namespace detail {

void require_device(Device device, const char* op) {
  if (device.is_cpu()) return;
  const DeviceCensus& devices = census();
  REDES_CHECK(devices.count > 0, op, ": cannot use ", device.str(), ": ", devices.reason);
  REDES_CHECK(device.index >= 0 && device.index < devices.count, op, ": cannot use ", device.str(),
              ": this machine has ", devices.count, " CUDA device", devices.count == 1 ? "" : "s", " (cuda:0",
              devices.count == 1 ? "" : " to cuda:" + std::to_string(devices.count - 1), ")");
}

void copy_bytes(void* dst, Device dst_device, const void* src, Device src_device, std::size_t bytes) {
  require_device(dst_device, "copy");
  require_device(src_device, "copy");
  if (bytes == 0) return;
  if (dst_device.is_cpu() && src_device.is_cpu()) {
    std::memcpy(dst, src, bytes);
    return;
  }
  // Each copy is queued on the current stream of the GPU side, behind the
  // kernels that produce or last used that memory, then waited for: callers
  // read or free the memory right after, and pageable host memory would be
  // staged synchronously by the driver anyway.
  if (src_device.is_cpu() || dst_device.is_cpu()) {
    const bool to_device = src_device.is_cpu();
    cudaStream_t stream = use_device(to_device ? dst_device : src_device, "copy");
    REDES_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, to_device ? cudaMemcpyHostToDevice : cudaMemcpyDeviceToHost,
                                     stream),
                     "copy");
    REDES_CUDA_CHECK(cudaStreamSynchronize(stream), "copy");
    return;
  }
  if (dst_device == src_device) {
    cudaStream_t stream = use_device(dst_device, "copy");
    REDES_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, stream), "copy");
    REDES_CUDA_CHECK(cudaStreamSynchronize(stream), "copy");
    return;
  }
  // Between two GPUs: the source's queued work must finish before the copy
  // reads it. cudaMemcpyPeerAsync works with or without peer access (the
  // driver stages through the host when the GPUs cannot reach each other).
  REDES_CUDA_CHECK(cudaStreamSynchronize(use_device(src_device, "copy")), "copy");
  cudaStream_t stream = use_device(dst_device, "copy");
  REDES_CUDA_CHECK(cudaMemcpyPeerAsync(dst, dst_device.index, src, src_device.index, bytes, stream), "copy");
  REDES_CUDA_CHECK(cudaStreamSynchronize(stream), "copy");
}

void copy_to_device_async(void* dst, Device dst_device, const void* pinned_src, std::size_t bytes) {
  if (bytes == 0) return;
  cudaStream_t stream = use_device(dst_device, "copy");
  REDES_CUDA_CHECK(cudaMemcpyAsync(dst, pinned_src, bytes, cudaMemcpyHostToDevice, stream), "copy");
  // The host may free the source right away; its block must not be handed
  // out again (and overwritten) before the queued copy has read it.
  pinned_host_allocator().record_use(pinned_src, stream);
}

Allocator& pinned_allocator() {
  REDES_CHECK(cuda::is_available(), "pin_memory: page-locked host memory needs a usable CUDA device: ",
              cuda::unavailable_reason());
  return pinned_host_allocator();
}

void* current_stream(Device device) {
  if (device.is_cpu()) return nullptr;
  return use_device(device, "current_stream");
}

}  // namespace detail
}  // namespace redes
