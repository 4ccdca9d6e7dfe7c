// Page-locked host memory with deferred reuse (see pinned_allocator.h).
#include "core/cuda/pinned_allocator.h"

#include <cstdio>
#include <memory>

#include "core/cuda/check.h"
#include "core/error.h"

namespace redes::detail {
namespace {

// Called where throwing is not possible (frees) or another error is already
// on its way; a failure leaks what it names, so it is reported and cleared.
void report(cudaError_t status, const char* call) {
  if (teardown_succeeded(status)) return;
  std::fprintf(stderr, "redes: pinned allocator: %s failed: %s (%s)\n", call, cudaGetErrorName(status),
               cudaGetErrorString(status));
}

// A copy that reads a pinned block: an event recorded after it on its stream.
class CopyEvent final : public PendingUse {
 public:
  explicit CopyEvent(cudaStream_t stream) {
    REDES_CUDA_CHECK(cudaEventCreateWithFlags(&event_, cudaEventDisableTiming), "copy");
    const cudaError_t status = cudaEventRecord(event_, stream);
    if (status != cudaSuccess) report(cudaEventDestroy(event_), "cudaEventDestroy");
    check_cuda(status, "copy", "cudaEventRecord", __FILE__, __LINE__);
  }
  ~CopyEvent() override { report(cudaEventDestroy(event_), "cudaEventDestroy"); }
  CopyEvent(const CopyEvent&) = delete;
  CopyEvent& operator=(const CopyEvent&) = delete;

  bool done() override {
    const cudaError_t status = cudaEventQuery(event_);
    if (status == cudaErrorNotReady) {
      cudaGetLastError();
      return false;
    }
    // A failed query means the device faulted: no copy will read the block any more.
    if (status != cudaSuccess) cudaGetLastError();
    return true;
  }
  void wait() override { REDES_CUDA_CHECK(cudaEventSynchronize(event_), "pinned allocator"); }

 private:
  cudaEvent_t event_ = nullptr;
};

HostBlockBackend cuda_host_backend() {
  HostBlockBackend backend;
  backend.allocate = [](std::size_t bytes) -> void* {
    void* ptr = nullptr;
    // Portable: the memory is page-locked for every device's context, so a
    // pinned tensor can feed any GPU.
    const cudaError_t status = cudaHostAlloc(&ptr, bytes, cudaHostAllocPortable);
    if (status == cudaErrorMemoryAllocation) {
      cudaGetLastError();
      return nullptr;
    }
    check_cuda(status, "pin_memory", "cudaHostAlloc", __FILE__, __LINE__);
    return ptr;
  };
  backend.free = [](void* ptr) { report(cudaFreeHost(ptr), "cudaFreeHost"); };
  return backend;
}

}  // namespace

PinnedAllocator::PinnedAllocator() : cache_("pin_memory", cuda_host_backend()) {}

void* PinnedAllocator::allocate(std::size_t bytes) { return cache_.allocate(bytes); }

void PinnedAllocator::deallocate(void* ptr, std::size_t) { cache_.deallocate(ptr); }

void PinnedAllocator::record_use(const void* ptr, cudaStream_t stream) {
  cache_.record_use(ptr, std::make_unique<CopyEvent>(stream));
}

AllocatorStats PinnedAllocator::stats() const { return cache_.stats(); }

void PinnedAllocator::reset_peak() { cache_.reset_peak(); }

void PinnedAllocator::empty_cache() { cache_.empty_cache(); }

PinnedAllocator& pinned_host_allocator() {
  // Never destroyed: pinned tensors in static objects may outlive any
  // destruction order.
  static auto* allocator = new PinnedAllocator();
  return *allocator;
}

}  // namespace redes::detail
