// The emulated CUDA runtime's state: devices, streams, events and the map of
// device and pinned allocations. Internal to core/cuda_emulation/.
#pragma once

#include <cuda_runtime.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace redes::cuda_emulation {

// The work of a graph, in the order it was queued: each item runs as one
// item of a stream's queue did.
using GraphNodes = std::vector<std::function<void()>>;

// A stream's capture sequence, from cudaStreamBeginCapture to
// cudaStreamEndCapture: the work queued on the stream meanwhile is recorded
// here instead of run. A call the capture cannot hold invalidates it: later
// work is dropped, and ending it gives no graph.
class StreamCapture {
 public:
  // False when a capture is open already.
  bool begin(cudaStreamCaptureMode mode);

  struct Ended {
    cudaError_t status;  // cudaSuccess, or why no graph came of it
    GraphNodes nodes;
  };
  // Closes the capture, except when none is open (cudaErrorInvalidValue) or
  // a Global or ThreadLocal capture is ended by another thread than the one
  // that began it (cudaErrorStreamCaptureWrongThread): those leave it open.
  Ended end();

  cudaStreamCaptureStatus status() const;
  // While a capture is open, takes `work` as its next node (Active) or drops
  // it (Invalidated); without one, leaves `work` alone (None).
  cudaStreamCaptureStatus record(std::function<void()>& work);
  // Invalidates the open capture; returns its status before.
  cudaStreamCaptureStatus invalidate();
  // Invalidates the open capture when it forbids the calling thread the calls
  // that are unsafe in capture; returns whether it did.
  bool invalidate_if_forbidding_unsafe_calls();

 private:
  mutable std::mutex mutex_;
  bool open_ = false;
  bool invalidated_ = false;
  cudaStreamCaptureMode mode_ = cudaStreamCaptureModeGlobal;
  std::thread::id owner_;  // the thread that began it
  GraphNodes nodes_;
};

}  // namespace redes::cuda_emulation

// A stream: an ordered queue of work that one host thread works off, so work
// on two streams runs concurrently, as on a device.
struct CUstream_st {
  CUstream_st(int device_in, unsigned flags_in, bool legacy_in);
  CUstream_st(const CUstream_st&) = delete;
  CUstream_st& operator=(const CUstream_st&) = delete;
  // Finishes the queued work, then stops the worker.
  ~CUstream_st();

  // Queues `work`; returns its position (1 for the first item).
  std::uint64_t submit(std::function<void()> work);
  std::uint64_t submitted() const;
  bool reached(std::uint64_t position) const;
  void wait_for(std::uint64_t position) const;
  void synchronize() const { wait_for(submitted()); }

  const int device;
  const unsigned flags;
  const bool legacy;  // the device's legacy default stream (the null stream)
  redes::cuda_emulation::StreamCapture capture;

 private:
  void work_off();

  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;
  std::deque<std::function<void()>> queue_;
  std::uint64_t submitted_ = 0;
  std::uint64_t completed_ = 0;
  bool stopping_ = false;
  std::thread worker_;
};

// An event: a marker in a stream. Each record is a new generation; queries
// and waits concern the generation recorded last when they are made.
struct CUevent_st {
  CUevent_st(int device_in, unsigned flags_in) : device(device_in), flags(flags_in) {}

  const int device;
  const unsigned flags;
  std::mutex mutex;
  std::condition_variable reached_cv;
  std::uint64_t recorded = 0;  // generations recorded
  std::uint64_t reached = 0;   // generations their stream has reached
  std::chrono::steady_clock::time_point when{};
};

namespace redes::cuda_emulation {

// The calling host thread's last error: errors are recorded, as the runtime does.
cudaError_t record_error(cudaError_t status);
// Writes "redes CUDA emulation: <message>" to stderr.
void report(const std::string& message);

// REDES_EMULATED_DEVICES may ask for up to this many devices.
inline constexpr int kMaxDevices = 8;

int device_count();
int current_device();
bool valid_device(int device);
const cudaDeviceProp& device_properties(int device);
// The error that stopped the device (a failed kernel), sticky as on a GPU;
// cudaSuccess while the device works.
cudaError_t sticky_error(int device);
void fail_device(int device, cudaError_t status, const std::string& why);
// A 64-bit number for the next launch's thread order (REDES_EMULATION_SEED varies it).
std::uint64_t next_launch_seed();

// The stream `handle` names (null and cudaStreamLegacy: the current device's
// legacy stream), or null when it names none.
CUstream_st* resolve_stream(cudaStream_t handle);
// Queues work with the legacy stream's implicit synchronisation: work on the
// legacy stream waits for earlier work on the device's blocking streams, and
// theirs for earlier work on the legacy stream. Every kernel, copy, memset,
// event operation, cuBLAS product and graph launch reaches a stream through
// here, so this is where a capture takes the work instead: then nothing is
// queued and *position (the work's place in the queue, to wait for) is 0.
// Fails, queuing nothing, with cudaErrorStreamCaptureInvalidated on an
// invalidated capture, and with cudaErrorStreamCaptureImplicit for work on
// the legacy stream while a blocking stream of its device captures (it would
// wait for work that is never queued), which invalidates those captures.
cudaError_t enqueue(CUstream_st& stream, std::function<void()> work, std::uint64_t* position = nullptr);
// Waits for all work queued so far on every stream of `device`.
void synchronize_device(int device);

// The checks of the calls that stream capture restricts. Each returns
// cudaSuccess when the call may go ahead, or the error it fails with, having
// invalidated the captures it conflicts with, as the runtime does.
//
// A call that waits for `stream` or that a capture on it cannot record
// (cudaStreamSynchronize, cudaStreamQuery, cudaEventRecord,
// cudaStreamWaitEvent, cudaGraphLaunch): refused while the stream captures,
// or, for the legacy stream, while a blocking stream of its device does.
cudaError_t refuse_while_capturing(CUstream_st& stream);
// cudaDeviceSynchronize: refused while any stream of `device` captures.
cudaError_t refuse_device_wait(int device);
// A call that is unsafe in capture (cudaMalloc, cudaFree, a synchronous copy
// or memset): refused while the calling thread has a capture of its own open
// in Global or ThreadLocal mode, or any thread has one open in Global mode.
// (The calling thread's own mode is Global, the runtime's default.)
cudaError_t refuse_unsafe_call();

// A new graph of `device` holding `nodes` (cudaStreamEndCapture's result).
cudaGraph_t make_graph(int device, GraphNodes nodes);

enum class MemoryKind { Device, Pinned };
struct Allocation {
  char* base = nullptr;
  std::size_t bytes = 0;
  MemoryKind kind = MemoryKind::Device;
  int device = 0;
};
// The allocation that holds all of [ptr, ptr + bytes); nothing when no
// allocation holds ptr, or when the range runs past the end of the one that does.
std::optional<Allocation> find_allocation(const void* ptr, std::size_t bytes);

}  // namespace redes::cuda_emulation
