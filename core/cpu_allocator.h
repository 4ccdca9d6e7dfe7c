// The CPU allocator (internal; exported so tests can build private
// instances). A training loop frees and re-requests the same sizes every
// step, so freed blocks wait in per-size-class free lists and the system
// allocator is called only until the loop's working set is cached.
#pragma once

#include <array>
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
  // Freed blocks by size class. The classes up to 8 MiB (64 of them, every
  // tensor of a small model) are found by index, the larger ones by hashing.
  class FreeLists {
   public:
    static constexpr std::size_t kIndexed = 64;
    // The list of class `block` (a block_size result), made if missing.
    std::vector<void*>& at(std::size_t block);
    // Calls visit(block, list) for every class that has a list.
    template <class Visit>
    void for_each(Visit&& visit) {
      for (std::size_t i = 0; i < kIndexed; ++i) visit(indexed_size(i), indexed_[i]);
      for (auto& [block, list] : large_) visit(block, list);
    }

   private:
    static std::size_t indexed_size(std::size_t index);
    std::array<std::vector<void*>, kIndexed> indexed_;
    std::unordered_map<std::size_t, std::vector<void*>> large_;
  };

  void* system_allocate(std::size_t bytes);
  void count_allocation(std::size_t bytes);  // with mutex_ held

  const bool caching_;
  mutable std::mutex mutex_;  // guards everything below
  AllocatorStats stats_;
  FreeLists free_blocks_;
};

// The REDES_CPU_CACHE switch (read once, when the process-wide allocator is
// made): unset (null) or "1" caches, "0" does not; any other value throws a
// redes::Error naming the variable and the value.
REDES_API bool parse_cpu_cache(const char* value);

}  // namespace redes::detail
