// cuda::Stream, StreamGuard and Event over the CUDA runtime, and the
// per-thread current stream that ops enqueue on.
#include <cuda_runtime.h>

#include <cstdio>
#include <memory>
#include <mutex>
#include <vector>

#include "core/cuda.h"
#include "core/cuda/check.h"
#include "core/cuda/streams.h"
#include "core/cuda_stream.h"
#include "core/error.h"
#include "core/runtime.h"

namespace redes {

namespace {

// Destructors cannot throw: failures are reported. At process exit the
// runtime may already be unloaded, and its streams and events went with it.
void report_teardown(cudaError_t status, const char* what, int device) {
  if (detail::teardown_succeeded(status)) return;
  std::fprintf(stderr, "redes: cuda:%d: destroying a %s failed: %s (%s)\n", device, what, cudaGetErrorName(status),
               cudaGetErrorString(status));
}

// Query results: cudaErrorNotReady means "still running", not a failure.
bool finished(cudaError_t status, const char* op, const char* call) {
  if (status == cudaErrorNotReady) {
    cudaGetLastError();
    return false;
  }
  detail::check_cuda(status, op, call, __FILE__, __LINE__);
  return true;
}

}  // namespace

namespace cuda {

struct Stream::State {
  State(int device_in, cudaStream_t handle_in, bool owned_in)
      : device(device_in), handle(handle_in), owned(owned_in) {}
  State(const State&) = delete;
  State& operator=(const State&) = delete;
  // Waits for the stream's work before destroying it: the device allocator
  // keeps freed blocks keyed by this handle, and a stream created later may
  // get the same handle value. Once the old work is done, reuse is safe.
  ~State() {
    if (!owned) return;
    cudaError_t status = cudaSetDevice(device);
    if (status == cudaSuccess) status = cudaStreamSynchronize(handle);
    if (status == cudaSuccess) status = cudaStreamDestroy(handle);
    report_teardown(status, "stream", device);
  }

  const int device;
  const cudaStream_t handle;
  const bool owned;  // false for the default streams, which live as long as the process
};

struct Event::State {
  State(int device_in, cudaEvent_t handle_in, bool timing_in) : device(device_in), handle(handle_in), timing(timing_in) {}
  State(const State&) = delete;
  State& operator=(const State&) = delete;
  ~State() { report_teardown(cudaEventDestroy(handle), "event", device); }

  const int device;
  const cudaEvent_t handle;
  const bool timing;
  bool recorded = false;
};

}  // namespace cuda

namespace {

using StreamState = std::shared_ptr<cuda::Stream::State>;

// One default stream per device, non-blocking so that queued work never
// synchronises with the legacy NULL stream other libraries may use. Never
// destroyed: tensors in static objects may be freed after the CUDA runtime
// has already torn its streams down at exit.
const StreamState& default_state(int device, const char* op) {
  detail::require_device(Device::cuda(device), op);
  static std::mutex mutex;
  static auto* states = new std::vector<StreamState>(static_cast<std::size_t>(cuda::device_count()));
  std::lock_guard lock(mutex);
  StreamState& state = (*states)[static_cast<std::size_t>(device)];
  if (state == nullptr) {
    REDES_CUDA_CHECK(cudaSetDevice(device), op);
    cudaStream_t handle = nullptr;
    REDES_CUDA_CHECK(cudaStreamCreateWithFlags(&handle, cudaStreamNonBlocking), op);
    state = std::make_shared<cuda::Stream::State>(device, handle, false);
  }
  return state;
}

// Per thread, like the device a thread has made current with cudaSetDevice:
// a guard on one thread never redirects another thread's work. Empty slots
// mean the default stream.
std::vector<StreamState>& current_states() {
  thread_local std::vector<StreamState> states;
  return states;
}

const StreamState& current_state(int device, const char* op) {
  const std::vector<StreamState>& states = current_states();
  const auto slot = static_cast<std::size_t>(device);
  if (device >= 0 && slot < states.size() && states[slot] != nullptr) return states[slot];
  return default_state(device, op);
}

}  // namespace

namespace detail {

cudaStream_t default_cuda_stream(int device, const char* op) { return default_state(device, op)->handle; }

cudaStream_t current_cuda_stream(int device, const char* op) { return current_state(device, op)->handle; }

}  // namespace detail

namespace cuda {

Stream::Stream(std::shared_ptr<State> state) : state_(std::move(state)) {}

Stream Stream::create(int device) {
  detail::require_device(Device::cuda(device), "Stream::create");
  REDES_CUDA_CHECK(cudaSetDevice(device), "Stream::create");
  cudaStream_t handle = nullptr;
  REDES_CUDA_CHECK(cudaStreamCreateWithFlags(&handle, cudaStreamNonBlocking), "Stream::create");
  return Stream(std::make_shared<State>(device, handle, true));
}

Stream Stream::default_stream(int device) { return Stream(default_state(device, "Stream::default_stream")); }

Stream Stream::current(int device) { return Stream(current_state(device, "Stream::current")); }

void Stream::set_current(const Stream& stream) {
  std::vector<StreamState>& states = current_states();
  states.resize(static_cast<std::size_t>(device_count()));
  states[static_cast<std::size_t>(stream.device())] = stream.state_;
}

int Stream::device() const { return state_->device; }

void* Stream::handle() const { return state_->handle; }

void Stream::synchronize() const { REDES_CUDA_CHECK(cudaStreamSynchronize(state_->handle), "Stream::synchronize"); }

bool Stream::query() const { return finished(cudaStreamQuery(state_->handle), "Stream::query", "cudaStreamQuery"); }

void Stream::wait(const Event& event) const {
  REDES_CHECK(event.device() == device(), "Stream::wait: the event is on cuda:", event.device(),
              " but the stream is on cuda:", device(), " (expected both on one device)");
  REDES_CUDA_CHECK(cudaStreamWaitEvent(state_->handle, event.state_->handle, 0), "Stream::wait");
}

StreamGuard::StreamGuard(const Stream& stream) : previous_(Stream::current(stream.device())) {
  Stream::set_current(stream);
}

StreamGuard::~StreamGuard() { Stream::set_current(previous_); }

Event::Event(int device, bool enable_timing) {
  detail::require_device(Device::cuda(device), "Event");
  REDES_CUDA_CHECK(cudaSetDevice(device), "Event");
  cudaEvent_t handle = nullptr;
  REDES_CUDA_CHECK(cudaEventCreateWithFlags(&handle, enable_timing ? cudaEventDefault : cudaEventDisableTiming),
                   "Event");
  state_ = std::make_shared<State>(device, handle, enable_timing);
}

int Event::device() const { return state_->device; }

bool Event::timing_enabled() const { return state_->timing; }

void Event::record(const Stream& stream) {
  REDES_CHECK(stream.device() == device(), "Event::record: the event is on cuda:", device(),
              " but the stream is on cuda:", stream.device(), " (expected both on one device)");
  REDES_CUDA_CHECK(cudaEventRecord(state_->handle, static_cast<cudaStream_t>(stream.handle())), "Event::record");
  state_->recorded = true;
}

void Event::record() { record(Stream::current(device())); }

void Event::synchronize() const { REDES_CUDA_CHECK(cudaEventSynchronize(state_->handle), "Event::synchronize"); }

bool Event::query() const { return finished(cudaEventQuery(state_->handle), "Event::query", "cudaEventQuery"); }

float Event::elapsed_ms(const Event& end) const {
  REDES_CHECK(timing_enabled() && end.timing_enabled(), "Event::elapsed_ms: expected both events created with "
              "timing enabled (Event(device, true)), but the ", timing_enabled() ? "end" : "start",
              " event has timing disabled");
  REDES_CHECK(state_->recorded && end.state_->recorded, "Event::elapsed_ms: expected both events recorded, but the ",
              state_->recorded ? "end" : "start", " event was never recorded");
  REDES_CHECK(end.device() == device(), "Event::elapsed_ms: the start event is on cuda:", device(),
              " but the end event is on cuda:", end.device(), " (expected both on one device)");
  REDES_CUDA_CHECK(cudaEventSynchronize(end.state_->handle), "Event::elapsed_ms");
  float ms = 0;
  REDES_CUDA_CHECK(cudaEventElapsedTime(&ms, state_->handle, end.state_->handle), "Event::elapsed_ms");
  return ms;
}

}  // namespace cuda
}  // namespace redes
