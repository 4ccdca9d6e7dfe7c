// Page-locked host memory for Tensor::pin_memory. Internal to core/cuda/.
//
// Every request is one cudaHostAlloc (no cache yet: pinning is for staging
// buffers that live long, and each pin_memory call pays the system call).
// A non-blocking host-to-device copy may still be reading a block when its
// tensor is freed, so copies record an event on the block (record_use), and
// a freed block goes back to cudaFreeHost only once its events have fired;
// until then it is counted in reserved_bytes.
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <map>
#include <mutex>
#include <vector>

#include "core/allocator.h"

namespace redes::detail {

class PinnedAllocator final : public Allocator {
 public:
  void* allocate(std::size_t bytes) override;
  void deallocate(void* ptr, std::size_t bytes) override;
  AllocatorStats stats() const override;
  void reset_peak() override;
  // Waits for the copies still reading freed blocks, then frees those blocks.
  void empty_cache() override;

  // A copy queued on `stream` reads the block that holds `ptr`.
  void record_use(const void* ptr, cudaStream_t stream);

 private:
  struct Block {
    std::size_t bytes = 0;
    std::vector<cudaEvent_t> uses;  // one per queued copy not yet known to be done
    bool freed = false;             // its tensor is gone; waiting for `uses`
  };
  // Drops the events that have fired; true when none is left.
  static bool uses_done(Block& block);
  // Frees the freed blocks whose copies are done (with mutex_ held).
  void release_finished();
  void release(const char* ptr, std::size_t bytes);  // with mutex_ held

  mutable std::mutex mutex_;  // guards everything below
  std::map<const char*, Block> blocks_;  // every block from cudaHostAlloc, by address
  AllocatorStats stats_;
};

// The process-wide pinned allocator (never destroyed).
PinnedAllocator& pinned_host_allocator();

}  // namespace redes::detail
