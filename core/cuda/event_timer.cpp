// redes::cuda::EventTimer in builds with the CUDA backend.
#include <cuda_runtime.h>

#include "core/cuda/check.h"
#include "core/cuda_timer.h"
#include "core/runtime.h"

namespace redes::cuda {

namespace {
cudaEvent_t as_event(void* event) { return static_cast<cudaEvent_t>(event); }
}  // namespace

EventTimer::EventTimer(int device) : device_(device) {
  detail::current_stream(Device::cuda(device));  // checks the device and makes it current
  cudaEvent_t start = nullptr, stop = nullptr;
  REDES_CUDA_CHECK(cudaEventCreate(&start), "cuda::EventTimer");
  start_ = start;
  const cudaError_t status = cudaEventCreate(&stop);
  if (status != cudaSuccess) cudaEventDestroy(start);
  REDES_CUDA_CHECK(status, "cuda::EventTimer");
  stop_ = stop;
}

EventTimer::~EventTimer() {
  cudaEventDestroy(as_event(start_));
  cudaEventDestroy(as_event(stop_));
}

void EventTimer::start() {
  auto* stream = static_cast<cudaStream_t>(detail::current_stream(Device::cuda(device_)));
  REDES_CUDA_CHECK(cudaEventRecord(as_event(start_), stream), "cuda::EventTimer::start");
}

double EventTimer::stop() {
  auto* stream = static_cast<cudaStream_t>(detail::current_stream(Device::cuda(device_)));
  REDES_CUDA_CHECK(cudaEventRecord(as_event(stop_), stream), "cuda::EventTimer::stop");
  REDES_CUDA_CHECK(cudaEventSynchronize(as_event(stop_)), "cuda::EventTimer::stop");
  float milliseconds = 0;
  REDES_CUDA_CHECK(cudaEventElapsedTime(&milliseconds, as_event(start_), as_event(stop_)), "cuda::EventTimer::stop");
  return static_cast<double>(milliseconds);
}

}  // namespace redes::cuda
