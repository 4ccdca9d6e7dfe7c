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
// theirs for earlier work on the legacy stream.
std::uint64_t enqueue(CUstream_st& stream, std::function<void()> work);
// Waits for all work queued so far on every stream of `device`.
void synchronize_device(int device);

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
