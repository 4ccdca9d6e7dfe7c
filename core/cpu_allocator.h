// The CPU allocator (internal; exported so tests can build private
// instances). A training loop frees and re-requests the same sizes every
// step, so freed blocks wait in per-size-class free lists and the system
// allocator is called only until the loop's working set is cached.
#pragma once

#include <cstddef>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "core/allocator.h"
#include "core/export.h"

namespace redes::detail {

class REDES_API CpuAllocator final : public Allocator {
 public:
  // caching = false sends every freed block straight back to the system, so
  // AddressSanitizer sees each use after free and each leak.
  explicit CpuAllocator(bool caching);
  // Releases the cached blocks; live blocks must have been freed already.
  ~CpuAllocator() override;
  CpuAllocator(const CpuAllocator&) = delete;
  CpuAllocator& operator=(const CpuAllocator&) = delete;

  void* allocate(std::size_t bytes) override;
  void deallocate(void* ptr, std::size_t bytes) override;
  AllocatorStats stats() const override;
  void reset_peak() override;
  void empty_cache() override;
  bool caching() const { return caching_; }

  // The size class of a request: the block size a caching allocator takes
  // from the system and files the block under.
  static std::size_t block_size(std::size_t bytes);

 private:
  void* system_allocate(std::size_t bytes);
  void count_allocation(std::size_t bytes);  // with mutex_ held

  const bool caching_;
  mutable std::mutex mutex_;  // guards everything below
  AllocatorStats stats_;
  std::unordered_map<std::size_t, std::vector<void*>> free_blocks_;  // by block size
};

// The REDES_CPU_CACHE switch (read once, when the process-wide allocator is
// made): unset (null) or "1" caches, "0" does not; any other value throws a
// redes::Error naming the variable and the value.
REDES_API bool parse_cpu_cache(const char* value);

}  // namespace redes::detail
