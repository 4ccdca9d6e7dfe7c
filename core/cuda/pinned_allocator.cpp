// Page-locked host memory with deferred frees (see pinned_allocator.h).
#include "core/cuda/pinned_allocator.h"

#include <algorithm>
#include <cstdio>
#include <iterator>

#include "core/cuda/check.h"
#include "core/error.h"

namespace redes::detail {
namespace {

// Called where throwing is not possible (frees) or another error is already
// on its way; a failure leaks one event, so it is reported and cleared.
void destroy_event(cudaEvent_t event) {
  const cudaError_t status = cudaEventDestroy(event);
  if (status == cudaSuccess || status == cudaErrorCudartUnloading) return;
  cudaGetLastError();
  std::fprintf(stderr, "redes: pinned allocator: cudaEventDestroy failed: %s (%s)\n", cudaGetErrorName(status),
               cudaGetErrorString(status));
}

}  // namespace

void* PinnedAllocator::allocate(std::size_t bytes) {
  if (bytes == 0) return nullptr;
  std::lock_guard lock(mutex_);
  release_finished();
  void* ptr = nullptr;
  // Portable: the memory is page-locked for every device's context, so a
  // pinned tensor can feed any GPU.
  const cudaError_t status = cudaHostAlloc(&ptr, bytes, cudaHostAllocPortable);
  if (status == cudaErrorMemoryAllocation) {
    cudaGetLastError();
    fail("pin_memory: cannot allocate ", bytes, " bytes of page-locked host memory (pinned tensors hold ",
         stats_.live_bytes, " bytes; page-locked memory is limited by the system, see ulimit -l)");
  }
  check_cuda(status, "pin_memory", "cudaHostAlloc", __FILE__, __LINE__);
  blocks_.emplace(static_cast<const char*>(ptr), Block{bytes, {}, false});
  ++stats_.allocations;
  ++stats_.system_allocations;
  stats_.reserved_bytes += bytes;
  stats_.live_bytes += bytes;
  stats_.peak_live_bytes = std::max(stats_.peak_live_bytes, stats_.live_bytes);
  return ptr;
}

// Runs inside Storage's destructor: failures are reported, not thrown.
void PinnedAllocator::deallocate(void* ptr, std::size_t bytes) {
  if (ptr == nullptr) return;
  std::lock_guard lock(mutex_);
  const auto found = blocks_.find(static_cast<const char*>(ptr));
  if (found == blocks_.end() || found->second.freed) {
    std::fprintf(stderr, "redes: pinned allocator: cannot free %p (%zu bytes): not a live pinned block\n", ptr,
                 bytes);
    return;
  }
  ++stats_.frees;
  stats_.live_bytes -= found->second.bytes;
  found->second.freed = true;
  release_finished();
}

void PinnedAllocator::record_use(const void* ptr, cudaStream_t stream) {
  const auto* byte = static_cast<const char*>(ptr);
  std::lock_guard lock(mutex_);
  auto found = blocks_.upper_bound(byte);
  REDES_CHECK(found != blocks_.begin(), "copy: ", ptr, " is not in page-locked memory from pin_memory");
  --found;
  REDES_CHECK(byte < found->first + found->second.bytes, "copy: ", ptr,
              " is not in page-locked memory from pin_memory");
  // A staging buffer reused for many copies keeps only the unfinished ones.
  uses_done(found->second);
  cudaEvent_t event = nullptr;
  REDES_CUDA_CHECK(cudaEventCreateWithFlags(&event, cudaEventDisableTiming), "copy");
  const cudaError_t status = cudaEventRecord(event, stream);
  if (status != cudaSuccess) destroy_event(event);
  check_cuda(status, "copy", "cudaEventRecord", __FILE__, __LINE__);
  found->second.uses.push_back(event);
}

bool PinnedAllocator::uses_done(Block& block) {
  std::erase_if(block.uses, [](cudaEvent_t event) {
    const cudaError_t status = cudaEventQuery(event);
    if (status == cudaErrorNotReady) {
      cudaGetLastError();
      return false;
    }
    // A failed query means the device faulted: no copy will read the block any more.
    if (status != cudaSuccess) cudaGetLastError();
    destroy_event(event);
    return true;
  });
  return block.uses.empty();
}

void PinnedAllocator::release_finished() {
  for (auto it = blocks_.begin(); it != blocks_.end();) {
    const auto next = std::next(it);
    if (it->second.freed && uses_done(it->second)) release(it->first, it->second.bytes);
    it = next;
  }
}

void PinnedAllocator::release(const char* ptr, std::size_t bytes) {
  const cudaError_t status = cudaFreeHost(const_cast<char*>(ptr));
  blocks_.erase(ptr);
  stats_.reserved_bytes -= bytes;
  ++stats_.system_frees;
  if (status == cudaSuccess || status == cudaErrorCudartUnloading) return;
  cudaGetLastError();
  std::fprintf(stderr, "redes: pinned allocator: cudaFreeHost(%p) failed: %s (%s)\n", static_cast<const void*>(ptr),
               cudaGetErrorName(status), cudaGetErrorString(status));
}

AllocatorStats PinnedAllocator::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

void PinnedAllocator::reset_peak() {
  std::lock_guard lock(mutex_);
  stats_.peak_live_bytes = stats_.live_bytes;
}

void PinnedAllocator::empty_cache() {
  std::lock_guard lock(mutex_);
  for (auto& [ptr, block] : blocks_) {
    if (!block.freed) continue;
    for (cudaEvent_t event : block.uses) REDES_CUDA_CHECK(cudaEventSynchronize(event), "pinned allocator");
  }
  release_finished();
}

PinnedAllocator& pinned_host_allocator() {
  // Never destroyed: pinned tensors in static objects may outlive any
  // destruction order.
  static auto* allocator = new PinnedAllocator();
  return *allocator;
}

}  // namespace redes::detail
