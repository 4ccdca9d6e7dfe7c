// Streams and events of the emulated runtime. Each stream is a queue worked
// off by its own host thread; an event record is an item in that queue that
// stamps the time and wakes those who wait for it. A capturing stream
// records the work offered to it instead of queuing it (graphs.cpp makes
// the graph that replays it).
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <unordered_map>
#include <utility>

#include "core/cuda_emulation/emulated_runtime.h"

CUstream_st::CUstream_st(int device_in, unsigned flags_in, bool legacy_in)
    : device(device_in), flags(flags_in), legacy(legacy_in), worker_([this] { work_off(); }) {}

CUstream_st::~CUstream_st() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  worker_.join();
}

std::uint64_t CUstream_st::submit(std::function<void()> work) {
  std::uint64_t position = 0;
  {
    std::lock_guard lock(mutex_);
    queue_.push_back(std::move(work));
    position = ++submitted_;
  }
  changed_.notify_all();
  return position;
}

std::uint64_t CUstream_st::submitted() const {
  std::lock_guard lock(mutex_);
  return submitted_;
}

bool CUstream_st::reached(std::uint64_t position) const {
  std::lock_guard lock(mutex_);
  return completed_ >= position;
}

void CUstream_st::wait_for(std::uint64_t position) const {
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [&] { return completed_ >= position; });
}

// Work queued after the device failed is dropped, as a GPU context that
// faulted runs nothing more; every later call reports the sticky error.
void CUstream_st::work_off() {
  for (;;) {
    std::function<void()> work;
    {
      std::unique_lock lock(mutex_);
      changed_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;
      work = std::move(queue_.front());
      queue_.pop_front();
    }
    if (redes::cuda_emulation::sticky_error(device) == cudaSuccess) {
      try {
        work();
      } catch (const std::exception& error) {
        redes::cuda_emulation::fail_device(device, cudaErrorLaunchFailure, error.what());
      }
    }
    {
      std::lock_guard lock(mutex_);
      ++completed_;
    }
    changed_.notify_all();
  }
}

namespace redes::cuda_emulation {

bool StreamCapture::begin(cudaStreamCaptureMode mode) {
  std::lock_guard lock(mutex_);
  if (open_) return false;
  open_ = true;
  invalidated_ = false;
  mode_ = mode;
  owner_ = std::this_thread::get_id();
  nodes_.clear();
  return true;
}

StreamCapture::Ended StreamCapture::end() {
  std::lock_guard lock(mutex_);
  if (!open_) return {cudaErrorInvalidValue, {}};
  if (mode_ != cudaStreamCaptureModeRelaxed && owner_ != std::this_thread::get_id()) {
    return {cudaErrorStreamCaptureWrongThread, {}};
  }
  open_ = false;
  if (invalidated_) return {cudaErrorStreamCaptureInvalidated, {}};
  return {cudaSuccess, std::exchange(nodes_, {})};
}

cudaStreamCaptureStatus StreamCapture::status() const {
  std::lock_guard lock(mutex_);
  if (!open_) return cudaStreamCaptureStatusNone;
  return invalidated_ ? cudaStreamCaptureStatusInvalidated : cudaStreamCaptureStatusActive;
}

cudaStreamCaptureStatus StreamCapture::record(std::function<void()>& work) {
  std::lock_guard lock(mutex_);
  if (!open_) return cudaStreamCaptureStatusNone;
  if (invalidated_) return cudaStreamCaptureStatusInvalidated;
  nodes_.push_back(std::move(work));
  return cudaStreamCaptureStatusActive;
}

cudaStreamCaptureStatus StreamCapture::invalidate() {
  std::lock_guard lock(mutex_);
  if (!open_) return cudaStreamCaptureStatusNone;
  const cudaStreamCaptureStatus before =
      invalidated_ ? cudaStreamCaptureStatusInvalidated : cudaStreamCaptureStatusActive;
  invalidated_ = true;
  nodes_.clear();  // they will never run
  return before;
}

bool StreamCapture::invalidate_if_forbidding_unsafe_calls() {
  std::lock_guard lock(mutex_);
  const bool forbids = open_ && (mode_ == cudaStreamCaptureModeGlobal ||
                                 (mode_ == cudaStreamCaptureModeThreadLocal && owner_ == std::this_thread::get_id()));
  if (forbids) {
    invalidated_ = true;
    nodes_.clear();
  }
  return forbids;
}

namespace {

using StreamPtr = std::shared_ptr<CUstream_st>;

// Every live stream and event, so a destroyed or made-up handle is refused
// (cudaErrorInvalidResourceHandle) instead of being used. Shared ownership:
// a device synchronisation or a legacy-stream wait that holds a stream keeps
// it alive while another thread destroys its handle.
struct Handles {
  std::mutex mutex;
  std::unordered_map<CUstream_st*, StreamPtr> streams;
  std::unordered_map<CUevent_st*, std::shared_ptr<CUevent_st>> events;  // queued work holds them too
  std::vector<StreamPtr> legacy;  // per device, created on first use, never destroyed
};

void finish_all_work();

Handles& handles() {
  static auto* state = [] {
    // A process that exits with kernels still queued lets them finish first,
    // so no kernel runs while the process is torn down (and the sanitizers,
    // which cannot see fiber stacks, never find work half done).
    std::atexit(finish_all_work);
    return new Handles();
  }();
  return *state;
}

// Waits until the event's stream has reached `generation`, or its device has
// failed (a failed device drops queued work, so the record would never run).
void wait_reached(CUevent_st& event, std::uint64_t generation) {
  std::unique_lock lock(event.mutex);
  while (event.reached < generation && sticky_error(event.device) == cudaSuccess) {
    event.reached_cv.wait_for(lock, std::chrono::milliseconds(10));
  }
}

std::shared_ptr<CUevent_st> resolve_event(cudaEvent_t handle) {
  Handles& state = handles();
  std::lock_guard lock(state.mutex);
  const auto found = state.events.find(handle);
  return found != state.events.end() ? found->second : nullptr;
}

// The streams of `device`, the legacy one included.
std::vector<StreamPtr> device_streams(int device) {
  Handles& state = handles();
  std::lock_guard lock(state.mutex);
  std::vector<StreamPtr> result;
  for (const auto& [handle, stream] : state.streams) {
    if (stream->device == device) result.push_back(stream);
  }
  if (static_cast<std::size_t>(device) < state.legacy.size() && state.legacy[device] != nullptr) {
    result.push_back(state.legacy[device]);
  }
  return result;
}

// The streams of every device (the legacy streams never capture).
std::vector<StreamPtr> created_streams() {
  Handles& state = handles();
  std::lock_guard lock(state.mutex);
  std::vector<StreamPtr> result;
  result.reserve(state.streams.size());
  for (const auto& [handle, stream] : state.streams) result.push_back(stream);
  return result;
}

// The blocking streams of `device` that capture: the legacy stream and they
// wait for each other's work, so the legacy stream cannot be used meanwhile.
std::vector<StreamPtr> capturing_blocking_streams(int device) {
  std::vector<StreamPtr> result;
  for (StreamPtr& stream : device_streams(device)) {
    if (!stream->legacy && (stream->flags & cudaStreamNonBlocking) == 0 &&
        stream->capture.status() != cudaStreamCaptureStatusNone) {
      result.push_back(std::move(stream));
    }
  }
  return result;
}

// cudaErrorStreamCaptureImplicit, invalidating the captures, when blocking
// streams of `device` capture; cudaSuccess otherwise.
cudaError_t refuse_legacy_stream_use(int device) {
  const std::vector<StreamPtr> capturing = capturing_blocking_streams(device);
  for (const StreamPtr& stream : capturing) stream->capture.invalidate();
  return capturing.empty() ? cudaSuccess : cudaErrorStreamCaptureImplicit;
}

const StreamPtr& legacy_stream(int device) {
  Handles& state = handles();
  std::lock_guard lock(state.mutex);
  if (state.legacy.size() <= static_cast<std::size_t>(device)) state.legacy.resize(device + 1);
  if (state.legacy[device] == nullptr)
    state.legacy[device] = std::make_shared<CUstream_st>(device, cudaStreamDefault, true);
  return state.legacy[device];
}

cudaError_t create_stream(cudaStream_t* stream, unsigned flags) {
  if (stream == nullptr || (flags & ~unsigned{cudaStreamNonBlocking}) != 0) return cudaErrorInvalidValue;
  const int device = current_device();
  if (const cudaError_t sticky = sticky_error(device); sticky != cudaSuccess) return sticky;
  auto created = std::make_shared<CUstream_st>(device, flags, false);
  Handles& state = handles();
  std::lock_guard lock(state.mutex);
  state.streams.emplace(created.get(), created);
  *stream = created.get();
  return cudaSuccess;
}

// Queues `work` on `stream` behind the earlier work the legacy stream's
// implicit synchronisation orders it after; returns its position.
std::uint64_t submit_after_implicit_dependencies(CUstream_st& stream, std::function<void()> work) {
  std::vector<std::pair<StreamPtr, std::uint64_t>> before;
  if (stream.legacy) {
    for (StreamPtr& other : device_streams(stream.device)) {
      if (other.get() != &stream && (other->flags & cudaStreamNonBlocking) == 0) {
        const std::uint64_t position = other->submitted();
        before.emplace_back(std::move(other), position);
      }
    }
  } else if ((stream.flags & cudaStreamNonBlocking) == 0) {
    const StreamPtr& legacy = legacy_stream(stream.device);
    before.emplace_back(legacy, legacy->submitted());
  }
  if (before.empty()) return stream.submit(std::move(work));
  return stream.submit([before = std::move(before), work = std::move(work)] {
    for (const auto& [other, position] : before) other->wait_for(position);
    work();
  });
}

void finish_all_work() {
  for (int device = 0; device < device_count(); ++device) synchronize_device(device);
}

}  // namespace

CUstream_st* resolve_stream(cudaStream_t handle) {
  if (handle == nullptr || handle == cudaStreamLegacy) return legacy_stream(current_device()).get();
  Handles& state = handles();
  std::lock_guard lock(state.mutex);
  return state.streams.count(handle) != 0 ? handle : nullptr;
}

cudaError_t enqueue(CUstream_st& stream, std::function<void()> work, std::uint64_t* position) {
  if (position != nullptr) *position = 0;
  switch (stream.capture.record(work)) {
    case cudaStreamCaptureStatusActive: return cudaSuccess;
    case cudaStreamCaptureStatusInvalidated: return cudaErrorStreamCaptureInvalidated;
    case cudaStreamCaptureStatusNone: break;
  }
  if (stream.legacy) {
    if (const cudaError_t refused = refuse_legacy_stream_use(stream.device); refused != cudaSuccess) return refused;
  }
  const std::uint64_t queued = submit_after_implicit_dependencies(stream, std::move(work));
  if (position != nullptr) *position = queued;
  return cudaSuccess;
}

void synchronize_device(int device) {
  for (const StreamPtr& stream : device_streams(device)) stream->synchronize();
}

cudaError_t refuse_while_capturing(CUstream_st& stream) {
  if (stream.legacy) return refuse_legacy_stream_use(stream.device);
  switch (stream.capture.invalidate()) {
    case cudaStreamCaptureStatusNone: return cudaSuccess;
    case cudaStreamCaptureStatusActive: return cudaErrorStreamCaptureUnsupported;
    case cudaStreamCaptureStatusInvalidated: return cudaErrorStreamCaptureInvalidated;
  }
  return cudaErrorStreamCaptureUnsupported;
}

cudaError_t refuse_device_wait(int device) {
  bool capturing = false;
  for (const StreamPtr& stream : device_streams(device)) {
    capturing |= stream->capture.invalidate() != cudaStreamCaptureStatusNone;
  }
  return capturing ? cudaErrorStreamCaptureUnsupported : cudaSuccess;
}

cudaError_t refuse_unsafe_call() {
  bool forbidden = false;
  for (const StreamPtr& stream : created_streams()) forbidden |= stream->capture.invalidate_if_forbidding_unsafe_calls();
  return forbidden ? cudaErrorStreamCaptureUnsupported : cudaSuccess;
}

}  // namespace redes::cuda_emulation

using namespace redes::cuda_emulation;

extern "C" {

cudaError_t cudaStreamCreate(cudaStream_t* stream) { return record_error(create_stream(stream, cudaStreamDefault)); }

cudaError_t cudaStreamCreateWithFlags(cudaStream_t* stream, unsigned int flags) {
  return record_error(create_stream(stream, flags));
}

cudaError_t cudaStreamDestroy(cudaStream_t stream) {
  if (stream == nullptr || stream == cudaStreamLegacy) return record_error(cudaErrorInvalidResourceHandle);
  Handles& state = handles();
  StreamPtr destroyed;
  {
    std::lock_guard lock(state.mutex);
    const auto found = state.streams.find(stream);
    if (found == state.streams.end()) return record_error(cudaErrorInvalidResourceHandle);
    destroyed = std::move(found->second);
    state.streams.erase(found);
  }
  // The last owner's release finishes the queued work first, as the runtime
  // does before releasing a stream.
  destroyed.reset();
  return cudaSuccess;
}

cudaError_t cudaStreamSynchronize(cudaStream_t handle) {
  CUstream_st* stream = resolve_stream(handle);
  if (stream == nullptr) return record_error(cudaErrorInvalidResourceHandle);
  if (const cudaError_t refused = refuse_while_capturing(*stream); refused != cudaSuccess) return record_error(refused);
  stream->synchronize();
  return record_error(sticky_error(stream->device));
}

cudaError_t cudaStreamQuery(cudaStream_t handle) {
  CUstream_st* stream = resolve_stream(handle);
  if (stream == nullptr) return record_error(cudaErrorInvalidResourceHandle);
  if (const cudaError_t refused = refuse_while_capturing(*stream); refused != cudaSuccess) return record_error(refused);
  if (const cudaError_t sticky = sticky_error(stream->device); sticky != cudaSuccess) return record_error(sticky);
  return stream->reached(stream->submitted()) ? cudaSuccess : record_error(cudaErrorNotReady);
}

cudaError_t cudaStreamWaitEvent(cudaStream_t handle, cudaEvent_t event_handle, unsigned int flags) {
  CUstream_st* stream = resolve_stream(handle);
  std::shared_ptr<CUevent_st> event = resolve_event(event_handle);
  if (stream == nullptr || event == nullptr) return record_error(cudaErrorInvalidResourceHandle);
  if (flags != 0) return record_error(cudaErrorInvalidValue);
  // A capture would hold the wait as a dependency between graph nodes, which
  // the emulated graphs (one ordered list of nodes) do not have.
  if (const cudaError_t refused = refuse_while_capturing(*stream); refused != cudaSuccess) return record_error(refused);
  std::uint64_t generation = 0;
  {
    std::lock_guard lock(event->mutex);
    generation = event->recorded;
  }
  if (generation == 0) return cudaSuccess;  // never recorded: nothing to wait for
  return record_error(enqueue(*stream, [event, generation] { wait_reached(*event, generation); }));
}

cudaError_t cudaStreamBeginCapture(cudaStream_t handle, cudaStreamCaptureMode mode) {
  CUstream_st* stream = resolve_stream(handle);
  if (stream == nullptr) return record_error(cudaErrorInvalidResourceHandle);
  // Every blocking stream's work is ordered against the legacy stream's, so
  // capturing it would tie all of them to the capture.
  if (stream->legacy) return record_error(cudaErrorStreamCaptureImplicit);
  if (mode != cudaStreamCaptureModeGlobal && mode != cudaStreamCaptureModeThreadLocal &&
      mode != cudaStreamCaptureModeRelaxed) {
    return record_error(cudaErrorInvalidValue);
  }
  if (const cudaError_t sticky = sticky_error(stream->device); sticky != cudaSuccess) return record_error(sticky);
  if (!stream->capture.begin(mode)) return record_error(cudaErrorInvalidValue);  // capturing already
  return cudaSuccess;
}

cudaError_t cudaStreamEndCapture(cudaStream_t handle, cudaGraph_t* graph) {
  if (graph == nullptr) return record_error(cudaErrorInvalidValue);
  *graph = nullptr;
  CUstream_st* stream = resolve_stream(handle);
  if (stream == nullptr) return record_error(cudaErrorInvalidResourceHandle);
  StreamCapture::Ended ended = stream->capture.end();
  if (ended.status != cudaSuccess) return record_error(ended.status);
  *graph = make_graph(stream->device, std::move(ended.nodes));
  return cudaSuccess;
}

cudaError_t cudaStreamIsCapturing(cudaStream_t handle, cudaStreamCaptureStatus* status) {
  if (status == nullptr) return record_error(cudaErrorInvalidValue);
  CUstream_st* stream = resolve_stream(handle);
  if (stream == nullptr) return record_error(cudaErrorInvalidResourceHandle);
  // The legacy stream never captures, but cannot be used while blocking
  // streams do; asking says so without invalidating their captures.
  if (stream->legacy && !capturing_blocking_streams(stream->device).empty()) {
    return record_error(cudaErrorStreamCaptureImplicit);
  }
  *status = stream->capture.status();
  return cudaSuccess;
}

cudaError_t cudaEventCreate(cudaEvent_t* event) { return cudaEventCreateWithFlags(event, cudaEventDefault); }

cudaError_t cudaEventCreateWithFlags(cudaEvent_t* event, unsigned int flags) {
  if (event == nullptr || (flags & ~unsigned{cudaEventBlockingSync | cudaEventDisableTiming}) != 0) {
    return record_error(cudaErrorInvalidValue);
  }
  auto created = std::make_shared<CUevent_st>(current_device(), flags);
  Handles& state = handles();
  std::lock_guard lock(state.mutex);
  state.events.emplace(created.get(), created);
  *event = created.get();
  return cudaSuccess;
}

// Returns at once; queued records and waits keep the event alive until they have run.
cudaError_t cudaEventDestroy(cudaEvent_t event) {
  Handles& state = handles();
  std::lock_guard lock(state.mutex);
  if (state.events.erase(event) == 0) return record_error(cudaErrorInvalidResourceHandle);
  return cudaSuccess;
}

cudaError_t cudaEventRecord(cudaEvent_t event_handle, cudaStream_t handle) {
  std::shared_ptr<CUevent_st> event = resolve_event(event_handle);
  CUstream_st* stream = resolve_stream(handle);
  if (event == nullptr || stream == nullptr) return record_error(cudaErrorInvalidResourceHandle);
  if (event->device != stream->device) return record_error(cudaErrorInvalidResourceHandle);
  // Refused before the generation is counted, so the event is never left
  // waiting for a record that no stream will reach. (In a capture, a record
  // would mark a point for other streams to join the capture at, which the
  // emulated graphs do not model.)
  if (const cudaError_t refused = refuse_while_capturing(*stream); refused != cudaSuccess) return record_error(refused);
  std::uint64_t generation = 0;
  {
    std::lock_guard lock(event->mutex);
    generation = ++event->recorded;
  }
  return record_error(enqueue(*stream, [event, generation] {
    {
      std::lock_guard lock(event->mutex);
      event->when = std::chrono::steady_clock::now();
      event->reached = std::max(event->reached, generation);
    }
    event->reached_cv.notify_all();
  }));
}

cudaError_t cudaEventQuery(cudaEvent_t event_handle) {
  std::shared_ptr<CUevent_st> event = resolve_event(event_handle);
  if (event == nullptr) return record_error(cudaErrorInvalidResourceHandle);
  if (const cudaError_t sticky = sticky_error(event->device); sticky != cudaSuccess) return record_error(sticky);
  std::lock_guard lock(event->mutex);
  return event->reached >= event->recorded ? cudaSuccess : record_error(cudaErrorNotReady);
}

cudaError_t cudaEventSynchronize(cudaEvent_t event_handle) {
  std::shared_ptr<CUevent_st> event = resolve_event(event_handle);
  if (event == nullptr) return record_error(cudaErrorInvalidResourceHandle);
  std::uint64_t generation = 0;
  {
    std::lock_guard lock(event->mutex);
    generation = event->recorded;
  }
  wait_reached(*event, generation);
  return record_error(sticky_error(event->device));
}

cudaError_t cudaEventElapsedTime(float* ms, cudaEvent_t start_handle, cudaEvent_t end_handle) {
  std::shared_ptr<CUevent_st> start = resolve_event(start_handle);
  std::shared_ptr<CUevent_st> end = resolve_event(end_handle);
  if (ms == nullptr) return record_error(cudaErrorInvalidValue);
  if (start == nullptr || end == nullptr) return record_error(cudaErrorInvalidResourceHandle);
  if (((start->flags | end->flags) & cudaEventDisableTiming) != 0) return record_error(cudaErrorInvalidResourceHandle);
  std::chrono::steady_clock::time_point from, to;
  for (auto [event, stamp] : {std::pair{start.get(), &from}, std::pair{end.get(), &to}}) {
    std::lock_guard lock(event->mutex);
    if (event->recorded == 0) return record_error(cudaErrorInvalidResourceHandle);
    if (event->reached < event->recorded) return record_error(cudaErrorNotReady);
    *stamp = event->when;
  }
  *ms = std::chrono::duration<float, std::milli>(to - from).count();
  return cudaSuccess;
}

}  // extern "C"
