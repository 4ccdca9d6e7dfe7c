// Memory for tensor storage. Each device has one allocator; statistics let
// tests and users see leaks, peaks and how well the cache serves requests.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/device.h"
#include "core/export.h"

namespace redes {

struct AllocatorStats {
  std::size_t live_bytes = 0;       // handed out and not yet returned
  std::size_t peak_live_bytes = 0;  // highest live_bytes since the last reset_peak()
  std::uint64_t allocations = 0;    // allocate() calls answered
  std::uint64_t frees = 0;          // deallocate() calls
  std::uint64_t system_allocations = 0;  // times the system allocator (malloc/cudaMalloc) was called
  std::uint64_t system_frees = 0;   // blocks or segments handed back to the system
  std::size_t reserved_bytes = 0;   // held from the system: live blocks and cached ones, full sizes
  std::size_t cached_bytes = 0;     // of those, free for reuse (their full, rounded-up sizes)
  std::uint64_t cache_hits = 0;     // allocate() calls served without a system allocation
};

class REDES_API Allocator {
 public:
  virtual ~Allocator();
  // Returns at least `bytes` bytes, 64-byte aligned; nullptr for 0 bytes.
  virtual void* allocate(std::size_t bytes) = 0;
  // `bytes` must be the size given to allocate().
  virtual void deallocate(void* ptr, std::size_t bytes) = 0;
  virtual AllocatorStats stats() const = 0;
  virtual void reset_peak() = 0;
  // Returns every cached block to the system (live blocks are untouched).
  virtual void empty_cache() = 0;
};

// The allocator serving a device; throws for a CUDA device when CUDA is unavailable.
REDES_API Allocator& allocator_for(Device device);
// The allocator of page-locked host memory (Tensor::pin_memory, the
// DataLoader's staging buffers), which caches freed blocks; throws when CUDA
// is unavailable.
REDES_API Allocator& pinned_memory_allocator();

}  // namespace redes
