// The CUDA device allocator: plain cudaMalloc/cudaFree per device, with the
// same statistics as the CPU allocator. Every allocation goes to the system;
// a caching allocator replaces this once the plain one is known correct.
#include <cuda_runtime.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <mutex>

#include "core/allocator.h"
#include "core/cuda.h"
#include "core/cuda/check.h"
#include "core/error.h"
#include "core/runtime.h"

namespace redes {
namespace {

class CudaAllocator final : public Allocator {
 public:
  explicit CudaAllocator(int device)
      : device_(device), stream_(static_cast<cudaStream_t>(detail::current_stream(Device::cuda(device)))) {}

  void* allocate(std::size_t bytes) override {
    if (bytes == 0) return nullptr;
    REDES_CUDA_CHECK(cudaSetDevice(device_), "cuda allocator");
    // cudaMalloc aligns to at least 256 bytes, more than the 64 promised.
    void* ptr = nullptr;
    const cudaError_t status = cudaMalloc(&ptr, bytes);
    if (status == cudaErrorMemoryAllocation) report_out_of_memory(bytes);
    detail::check_cuda(status, "cuda allocator", "cudaMalloc", __FILE__, __LINE__);
    const std::size_t live = live_bytes_.fetch_add(bytes) + bytes;
    std::size_t peak = peak_bytes_.load();
    while (live > peak && !peak_bytes_.compare_exchange_weak(peak, live)) {
    }
    allocations_.fetch_add(1);
    system_allocations_.fetch_add(1);
    return ptr;
  }

  // Runs inside destructors (Storage, kernel workspaces), so it reports
  // failures instead of throwing.
  void deallocate(void* ptr, std::size_t bytes) override {
    if (ptr == nullptr) return;
    live_bytes_.fetch_sub(bytes);
    frees_.fetch_add(1);
    const cudaError_t status = release(ptr);
    // At process exit the runtime may already be unloaded; the memory went with it.
    if (status == cudaSuccess || status == cudaErrorCudartUnloading) return;
    cudaGetLastError();
    std::fprintf(stderr, "redes: cuda:%d allocator: freeing %zu bytes failed: %s (%s)\n", device_, bytes,
                 cudaGetErrorName(status), cudaGetErrorString(status));
  }

  AllocatorStats stats() const override {
    AllocatorStats stats;
    stats.live_bytes = live_bytes_.load();
    stats.peak_live_bytes = peak_bytes_.load();
    stats.allocations = allocations_.load();
    stats.frees = frees_.load();
    stats.system_allocations = system_allocations_.load();
    return stats;
  }

  void reset_peak() override { peak_bytes_.store(live_bytes_.load()); }

  // Nothing to release: every block already goes back to cudaFree when freed
  // (cached_bytes and cache_hits stay 0 until this allocator caches).
  void empty_cache() override {}

 private:
  cudaError_t release(void* ptr) const {
    cudaError_t status = cudaSetDevice(device_);
    // Kernels are queued asynchronously: one still waiting on the stream may
    // read or write this block, and cudaFree does not promise to wait for
    // work on a non-blocking stream.
    if (status == cudaSuccess) status = cudaStreamSynchronize(stream_);
    if (status == cudaSuccess) status = cudaFree(ptr);
    return status;
  }

  [[noreturn]] void report_out_of_memory(std::size_t bytes) const {
    cudaGetLastError();
    std::size_t free_bytes = 0, total_bytes = 0;
    if (cudaMemGetInfo(&free_bytes, &total_bytes) != cudaSuccess) cudaGetLastError();
    detail::fail("cuda:", device_, " allocator: out of memory allocating ", bytes, " bytes (redes tensors hold ",
                 live_bytes_.load(), " bytes; the device has ", free_bytes, " of ", total_bytes, " bytes free)");
  }

  int device_;
  cudaStream_t stream_;  // the device's stream, which outlives every allocator
  std::atomic<std::size_t> live_bytes_{0};
  std::atomic<std::size_t> peak_bytes_{0};
  std::atomic<std::uint64_t> allocations_{0};
  std::atomic<std::uint64_t> frees_{0};
  std::atomic<std::uint64_t> system_allocations_{0};
};

}  // namespace

Allocator& detail::cuda_allocator(int device) {
  require_device(Device::cuda(device), "cuda allocator");
  struct Slot {
    std::once_flag created;
    CudaAllocator* allocator = nullptr;
  };
  // Never destroyed, like the CPU allocator: tensors in static objects may
  // outlive any destruction order. Sized once: the device count never changes.
  static Slot* slots = new Slot[static_cast<std::size_t>(cuda::device_count())];
  Slot& slot = slots[device];
  std::call_once(slot.created, [&] { slot.allocator = new CudaAllocator(device); });
  return *slot.allocator;
}

}  // namespace redes
