// The CPU caching allocator: 64-byte aligned blocks from the system, kept in
// per-size-class free lists once freed (see block_size for the classes).
//
// Design:
//   - A request is rounded up to its size class and served from that class's
//     free list when it has a block (a cache hit), else from the system.
//     Blocks are never split or merged: a training step repeats the same
//     shapes, so exact classes hit every step after the first, and the cache
//     needs no fragmentation bookkeeping.
//   - The cache is unbounded, like PyTorch's CUDA caching allocator: it holds
//     at most the blocks of the largest working set seen per class.
//     empty_cache() hands them back, and so does a failed system allocation
//     before it retries once.
//   - One mutex guards the free lists and the statistics. An uncontended lock
//     costs tens of nanoseconds; a system allocation of a large block costs
//     page faults on every first touch, which is what the cache saves.
//   - REDES_CPU_CACHE=0 turns caching off (sanitizer runs: a freed block goes
//     back to the system at once, so AddressSanitizer reports a use after
//     free). With caching on under AddressSanitizer, cached blocks are
//     poisoned, and a reused block exposes only the bytes requested.
#include "core/cpu_allocator.h"

#include <sanitizer/asan_interface.h>

#include <algorithm>
#include <bit>
#include <cstdlib>
#include <limits>
#include <new>
#include <string_view>

#include "core/error.h"
#include "core/runtime.h"

namespace redes::detail {
namespace {

constexpr std::size_t kAlignment = 64;
// Larger requests cannot be rounded up without overflow, and no system has the memory.
constexpr std::size_t kMaxRequest = std::numeric_limits<std::size_t>::max() / 2;

// Under AddressSanitizer, only the requested bytes of a block are addressable.
void expose(void* ptr, std::size_t bytes, std::size_t block) {
  ASAN_UNPOISON_MEMORY_REGION(ptr, bytes);
  ASAN_POISON_MEMORY_REGION(static_cast<char*>(ptr) + bytes, block - bytes);
}

void system_free(void* ptr, std::size_t bytes) {
  ASAN_UNPOISON_MEMORY_REGION(ptr, bytes);
  ::operator delete(ptr, std::align_val_t{kAlignment});
}

}  // namespace

CpuAllocator::CpuAllocator(bool caching) : caching_(caching) {}

CpuAllocator::~CpuAllocator() { empty_cache(); }

// Size classes: a request in (2^(k-1), 2^k] rounds up to a multiple of
// 2^(k-3), clamped to [64 B, 1 MiB]. That is four classes per power of two,
// each a multiple of the 64-byte alignment. Requests up to 512 bytes round to
// the next multiple of 64; larger ones waste under 25% of the request, and
// above 4 MiB, where the step stays 1 MiB, under 1 MiB.
std::size_t CpuAllocator::block_size(std::size_t bytes) {
  constexpr std::size_t kMinStep = kAlignment, kMaxStep = std::size_t{1} << 20;
  if (bytes <= kMinStep) return kMinStep;
  const auto k = std::bit_width(bytes - 1);  // 2^(k-1) < bytes <= 2^k, k >= 7
  const std::size_t step = std::clamp(std::size_t{1} << (k - 3), kMinStep, kMaxStep);
  return (bytes + step - 1) / step * step;
}

// Classes up to 512 B are 64 B apart (indices 0-7); above, the four classes
// of (2^(k-1), 2^k] are 5, 6, 7 and 8 steps of 2^(k-3), for k = 10 .. 23.
namespace {

constexpr std::size_t kNotIndexed = ~std::size_t{0};

std::size_t indexed_class(std::size_t block) {
  if (block <= 512) return block / 64 - 1;
  const auto k = static_cast<std::size_t>(std::bit_width(block - 1));
  if (k > 23) return kNotIndexed;
  const std::size_t steps = block >> (k - 3);
  return 8 + (k - 10) * 4 + (steps - 5);
}

}  // namespace

std::size_t CpuAllocator::FreeLists::indexed_size(std::size_t index) {
  if (index < 8) return 64 * (index + 1);
  const std::size_t k = 10 + (index - 8) / 4, steps = 5 + (index - 8) % 4;
  return steps << (k - 3);
}

std::vector<void*>& CpuAllocator::FreeLists::at(std::size_t block) {
  const std::size_t index = indexed_class(block);
  return index == kNotIndexed ? large_[block] : indexed_[index];
}

void* CpuAllocator::allocate(std::size_t bytes) {
  if (bytes == 0) return nullptr;
  REDES_CHECK(bytes <= kMaxRequest, "cpu allocator: cannot allocate ", bytes, " bytes");
  // Without the cache, the block is exactly the request, so AddressSanitizer
  // catches an overrun by a single byte.
  const std::size_t block = caching_ ? block_size(bytes) : bytes;
  if (caching_) {
    // A hit takes one lock: this path runs for every op's output.
    std::lock_guard lock(mutex_);
    std::vector<void*>& list = free_blocks_.at(block);
    if (!list.empty()) {
      void* ptr = list.back();
      list.pop_back();
      stats_.cached_bytes -= block;
      ++stats_.cache_hits;
      count_allocation(bytes);
      expose(ptr, bytes, block);
      return ptr;
    }
  }
  void* ptr = system_allocate(block);
  expose(ptr, bytes, block);
  std::lock_guard lock(mutex_);
  ++stats_.system_allocations;
  stats_.reserved_bytes += block;
  count_allocation(bytes);
  return ptr;
}

void CpuAllocator::count_allocation(std::size_t bytes) {
  stats_.live_bytes += bytes;
  stats_.peak_live_bytes = std::max(stats_.peak_live_bytes, stats_.live_bytes);
  ++stats_.allocations;
}

void* CpuAllocator::system_allocate(std::size_t bytes) {
  void* ptr = ::operator new(bytes, std::align_val_t{kAlignment}, std::nothrow);
  if (ptr == nullptr) {
    // Blocks of other classes may be what the system is missing.
    empty_cache();
    ptr = ::operator new(bytes, std::align_val_t{kAlignment}, std::nothrow);
  }
  REDES_CHECK(ptr != nullptr, "cpu allocator: out of memory allocating ", bytes, " bytes (redes tensors hold ",
              stats().live_bytes, " bytes)");
  return ptr;
}

void CpuAllocator::deallocate(void* ptr, std::size_t bytes) {
  if (ptr == nullptr) return;
  const std::size_t block = caching_ ? block_size(bytes) : bytes;
  {
    std::lock_guard lock(mutex_);
    stats_.live_bytes -= bytes;
    ++stats_.frees;
    if (caching_) {
      // Runs inside destructors: when the free list cannot grow, the block
      // goes back to the system instead of throwing.
      try {
        free_blocks_.at(block).push_back(ptr);
        stats_.cached_bytes += block;
        ASAN_POISON_MEMORY_REGION(ptr, block);
        return;
      } catch (const std::bad_alloc&) {
      }
    }
    stats_.reserved_bytes -= block;
    ++stats_.system_frees;
  }
  system_free(ptr, block);
}

AllocatorStats CpuAllocator::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

void CpuAllocator::reset_peak() {
  std::lock_guard lock(mutex_);
  stats_.peak_live_bytes = stats_.live_bytes;
}

void CpuAllocator::empty_cache() {
  FreeLists blocks;
  {
    std::lock_guard lock(mutex_);
    std::swap(blocks, free_blocks_);
    stats_.reserved_bytes -= stats_.cached_bytes;
    stats_.cached_bytes = 0;
    blocks.for_each([&](std::size_t, const std::vector<void*>& ptrs) { stats_.system_frees += ptrs.size(); });
  }
  blocks.for_each([](std::size_t block, const std::vector<void*>& ptrs) {
    for (void* ptr : ptrs) system_free(ptr, block);
  });
}

bool parse_cpu_cache(const char* value) {
  if (value == nullptr) return true;
  const std::string_view text(value);
  REDES_CHECK(text == "0" || text == "1", "REDES_CPU_CACHE: expected 0 (no caching) or 1 (caching), got '", text,
              "'");
  return text == "1";
}

Allocator& cpu_allocator() {
  // Never destroyed: tensors in static objects may outlive any destruction
  // order. REDES_CPU_CACHE is read here, once.
  static CpuAllocator* allocator = new CpuAllocator(parse_cpu_cache(std::getenv("REDES_CPU_CACHE")));
  return *allocator;
}

}  // namespace redes::detail
