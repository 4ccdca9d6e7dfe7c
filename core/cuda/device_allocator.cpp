// The CUDA device allocator: a BlockCache (core/block_cache.h) over plain
// cudaMalloc/cudaFree, one per device. Blocks are keyed by the stream that
// is current when they are allocated, so a freed block is reused in that
// stream's order without waiting for the device (see block_cache.h).
#include <cuda_runtime.h>

#include <cstdio>
#include <mutex>
#include <string>

#include "core/allocator.h"
#include "core/block_cache.h"
#include "core/cuda.h"
#include "core/cuda/check.h"
#include "core/error.h"
#include "core/runtime.h"

namespace redes {
namespace {

detail::BlockCacheBackend cuda_backend(int device) {
  detail::BlockCacheBackend backend;
  backend.allocate = [device](std::size_t bytes) -> void* {
    REDES_CUDA_CHECK(cudaSetDevice(device), "cuda allocator");
    // cudaMalloc aligns to at least 256 bytes; blocks are multiples of 512
    // from there, so every block keeps the 64-byte alignment promised.
    void* ptr = nullptr;
    const cudaError_t status = cudaMalloc(&ptr, bytes);
    if (status == cudaErrorMemoryAllocation) {
      cudaGetLastError();  // an answer for the cache, not an error for the next launch check
      return nullptr;
    }
    detail::check_cuda(status, "cuda allocator", "cudaMalloc", __FILE__, __LINE__);
    return ptr;
  };
  backend.free = [device](void* ptr, std::size_t) {
    REDES_CUDA_CHECK(cudaSetDevice(device), "cuda allocator");
    REDES_CUDA_CHECK(cudaFree(ptr), "cuda allocator");
  };
  // Cached blocks were freed in stream order: kernels queued on any stream
  // before the free may still use them. cudaFree does not promise to wait
  // for work on non-blocking streams, so the whole device is waited for.
  backend.synchronize = [device] {
    REDES_CUDA_CHECK(cudaSetDevice(device), "cuda allocator");
    REDES_CUDA_CHECK(cudaDeviceSynchronize(), "cuda allocator");
  };
  backend.describe_memory = [] {
    std::size_t free_bytes = 0, total_bytes = 0;
    if (cudaMemGetInfo(&free_bytes, &total_bytes) != cudaSuccess) {
      cudaGetLastError();
      return std::string();
    }
    return "the device has " + std::to_string(free_bytes) + " of " + std::to_string(total_bytes) + " bytes free";
  };
  return backend;
}

class CudaAllocator final : public Allocator {
 public:
  explicit CudaAllocator(int device)
      : device_(device), cache_("cuda:" + std::to_string(device) + " allocator", cuda_backend(device)) {}

  void* allocate(std::size_t bytes) override {
    if (bytes == 0) return nullptr;
    return cache_.allocate(bytes, detail::current_stream(Device::cuda(device_)));
  }

  // Runs inside destructors (Storage, kernel workspaces): a pointer the cache
  // does not know is reported instead of thrown. No CUDA call happens here,
  // so a free never waits for the device.
  void deallocate(void* ptr, std::size_t bytes) override {
    try {
      cache_.deallocate(ptr);
    } catch (const Error& error) {
      std::fprintf(stderr, "redes: freeing %zu bytes: %s\n", bytes, error.what());
    }
  }

  AllocatorStats stats() const override { return cache_.stats(); }
  void reset_peak() override { cache_.reset_peak(); }
  void empty_cache() override { cache_.empty_cache(); }

 private:
  int device_;
  detail::BlockCache cache_;
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
