// Kernel launches in the emulated runtime: the configuration is checked as
// the driver checks it, against the emulated H100's limits, then the grid is
// queued on its stream and run there by block_runner.
#include <mutex>
#include <string>
#include <unordered_map>

#include "core/cuda_emulation/block_runner.h"
#include "core/cuda_emulation/emulated_runtime.h"

namespace redes::cuda_emulation {
namespace {

// Per kernel: the dynamic shared memory it opted in to
// (cudaFuncAttributeMaxDynamicSharedMemorySize); 48 KiB otherwise.
struct KernelAttributes {
  std::mutex mutex;
  std::unordered_map<const void*, std::size_t> max_dynamic_shared;
};

KernelAttributes& attributes() {
  static auto* state = new KernelAttributes();
  return *state;
}

std::size_t dynamic_shared_limit(const void* kernel) {
  KernelAttributes& state = attributes();
  std::lock_guard lock(state.mutex);
  const auto found = state.max_dynamic_shared.find(kernel);
  return found != state.max_dynamic_shared.end() ? found->second : device_properties(0).sharedMemPerBlock;
}

cudaError_t check_configuration(const cudaLaunchConfig_t& config, const void* kernel) {
  const cudaDeviceProp& limits = device_properties(current_device());
  const dim3 grid = config.gridDim, block = config.blockDim;
  if (grid.x == 0 || grid.y == 0 || grid.z == 0 || block.x == 0 || block.y == 0 || block.z == 0) {
    return cudaErrorInvalidConfiguration;
  }
  if (grid.x > static_cast<unsigned>(limits.maxGridSize[0]) || grid.y > static_cast<unsigned>(limits.maxGridSize[1]) ||
      grid.z > static_cast<unsigned>(limits.maxGridSize[2])) {
    return cudaErrorInvalidConfiguration;
  }
  if (block.x > static_cast<unsigned>(limits.maxThreadsDim[0]) ||
      block.y > static_cast<unsigned>(limits.maxThreadsDim[1]) ||
      block.z > static_cast<unsigned>(limits.maxThreadsDim[2]) ||
      std::uint64_t{block.x} * block.y * block.z > static_cast<std::uint64_t>(limits.maxThreadsPerBlock)) {
    return cudaErrorInvalidConfiguration;
  }
  if (config.dynamicSmemBytes > dynamic_shared_limit(kernel)) return cudaErrorInvalidConfiguration;
  if (config.numAttrs != 0) return cudaErrorNotSupported;
  return cudaSuccess;
}

}  // namespace

cudaError_t launch_grid(const cudaLaunchConfig_t& config, const void* kernel, std::function<void()> thread_body) {
  if (kernel == nullptr) return record_error(cudaErrorInvalidValue);
  if (const cudaError_t status = check_configuration(config, kernel); status != cudaSuccess) {
    return record_error(status);
  }
  CUstream_st* stream = resolve_stream(config.stream);
  if (stream == nullptr) return record_error(cudaErrorInvalidResourceHandle);
  if (const cudaError_t sticky = sticky_error(stream->device); sticky != cudaSuccess) return record_error(sticky);
  auto launch = std::make_shared<GridLaunch>(
      GridLaunch{config.gridDim, config.blockDim, config.dynamicSmemBytes, next_launch_seed(), std::move(thread_body)});
  const int device = stream->device;
  // A captured launch keeps its seed: each replay runs the threads in the
  // same order, as it runs the same arguments.
  return record_error(enqueue(*stream, [launch, device] {
    const std::string failure = run_grid(*launch);
    if (!failure.empty()) fail_device(device, cudaErrorLaunchFailure, "a kernel failed: " + failure);
  }));
}

}  // namespace redes::cuda_emulation

using namespace redes::cuda_emulation;

extern "C" cudaError_t cudaFuncSetAttribute(const void* func, cudaFuncAttribute attribute, int value) {
  if (func == nullptr || attribute != cudaFuncAttributeMaxDynamicSharedMemorySize) {
    return record_error(cudaErrorInvalidValue);
  }
  const cudaDeviceProp& limits = device_properties(current_device());
  if (value < 0 || static_cast<std::size_t>(value) > limits.sharedMemPerBlockOptin) {
    return record_error(cudaErrorInvalidValue);
  }
  KernelAttributes& state = attributes();
  std::lock_guard lock(state.mutex);
  state.max_dynamic_shared[func] = static_cast<std::size_t>(value);
  return cudaSuccess;
}
