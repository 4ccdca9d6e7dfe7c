// Page-locked host memory for Tensor::pin_memory and the DataLoader's
// staging buffers: a HostBlockCache (core/host_block_cache.h) over
// cudaHostAlloc/cudaFreeHost, whose pending uses are CUDA events recorded
// after each non-blocking copy that reads a block. Internal to core/cuda/.
#pragma once

#include <cuda_runtime.h>

#include <cstddef>

#include "core/allocator.h"
#include "core/host_block_cache.h"

namespace redes::detail {

class PinnedAllocator final : public Allocator {
 public:
  PinnedAllocator();
  void* allocate(std::size_t bytes) override;
  void deallocate(void* ptr, std::size_t bytes) override;
  AllocatorStats stats() const override;
  void reset_peak() override;
  // Waits for the copies still reading freed blocks, then frees every cached block.
  void empty_cache() override;

  // A copy queued on `stream` reads the block that holds `ptr`.
  void record_use(const void* ptr, cudaStream_t stream);

 private:
  HostBlockCache cache_;
};

// The process-wide pinned allocator (never destroyed).
PinnedAllocator& pinned_host_allocator();

}  // namespace redes::detail
